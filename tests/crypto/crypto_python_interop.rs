//! Tokens we write must open in Python: a batch of our tokens (text with unicode, JSON
//! values, a per-user token) is decrypted by `cryptography.fernet.Fernet` in python3, and
//! Python's own `json.dumps` / `repr` must spell our JSON plaintexts and floats exactly.
//! Skipped, with a SKIP line on stderr, when python3 with `cryptography` is missing.

use crate::crypto_fixture;

use std::io::Write;
use std::process::{Command, Stdio};

use crypto_fixture::{column, python_timber_env, python_with_cryptography};
use serde_json::{Value as Json, json};
use timber::config::ColumnType;
use timber::crypto::float_repr;
use timber::crypto::{KeyChoice, KeyRing, encode_plaintext, unwrap_stored};
use timber::value::Value;

/// Decrypts each token with Python and re-dumps JSON plaintexts with Python's json.dumps.
const PYTHON: &str = r#"
import base64, hashlib, json, sys
from cryptography.fernet import Fernet
job = json.load(sys.stdin)
f = Fernet(job["key"].encode())
out = {"plain": [], "redumped": [], "user_plain": [], "floats": []}
for t in job["tokens"]:
    p = f.decrypt(t.encode())
    out["plain"].append(base64.b64encode(p).decode())
for t in job["json_tokens"]:
    p = f.decrypt(t.encode()).decode()
    out["redumped"].append(json.dumps(json.loads(p)))
for u in job["user_tokens"]:
    raw = hashlib.pbkdf2_hmac("sha256", job["master"].encode(), u["user"].encode(), 100000, 32)
    uf = Fernet(base64.urlsafe_b64encode(raw))
    out["user_plain"].append(uf.decrypt(u["token"].encode()).decode())
out["floats"] = [repr(float.fromhex(x)) for x in job["floats"]]
json.dump(out, sys.stdout)
"#;

fn run_python(job: &Json) -> Json {
    let mut child = Command::new("python3")
        .args(["-c", PYTHON])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 starts");
    // Keys go over stdin, never argv (argv is visible to other users in `ps`).
    child
        .stdin
        .take()
        .unwrap()
        .write_all(job.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("python printed JSON")
}

/// Floats written as C99 hex so Python receives the exact bits.
fn hex_float(x: f64) -> String {
    if x == 0.0 {
        return if x.is_sign_negative() {
            "-0x0p+0".into()
        } else {
            "0x0p+0".into()
        };
    }
    let bits = x.to_bits();
    let sign = if bits >> 63 == 1 { "-" } else { "" };
    let exp = ((bits >> 52) & 0x7ff) as i64;
    let mantissa = bits & ((1u64 << 52) - 1);
    if exp == 0 {
        format!("{sign}0x0.{mantissa:013x}p-1022")
    } else {
        format!("{sign}0x1.{mantissa:013x}p{}", exp - 1023)
    }
}

#[test]
fn python_decrypts_our_tokens_and_spells_our_json_the_same() {
    if !python_with_cryptography() {
        return;
    }
    let env = python_timber_env();
    let ring = KeyRing::builder()
        .primary(&env["ENCRYPTION_KEY"], "ENCRYPTION_KEY")
        .unwrap()
        .master(&env["MASTER_ENCRYPTION_KEY"], "MASTER_ENCRYPTION_KEY")
        .unwrap()
        .build()
        .unwrap();

    let texts = [
        "",
        "plain",
        "zoë & josé",
        "🚀 multi\nline\ttab",
        "\"quoted\" \\ back",
        "x".repeat(1000).leak(),
    ];
    let text_col = column(ColumnType::Text);
    let mut tokens = Vec::new();
    for t in texts {
        tokens.push(
            ring.encrypt_value(&Value::Text(t.to_string()), &text_col, KeyChoice::Primary)
                .unwrap(),
        );
    }
    let typed = [
        (Value::Int(-42), ColumnType::Integer),
        (Value::Float(150.0), ColumnType::Float),
        (Value::Bool(false), ColumnType::Boolean),
    ];
    for (v, ty) in &typed {
        tokens.push(
            ring.encrypt_value(v, &column(ty.clone()), KeyChoice::Primary)
                .unwrap(),
        );
    }

    let json_values = [
        json!({"a": [1, 2, null], "ü": "ß", "emoji": "🚀", "nested": {"f": 0.1, "big": 1e16}}),
        json!([1, "two", 3.5, true, false, null, -0.0, 1e-7]),
        json!({"entry_price": 150.0, "stop_loss": null, "ctl": "\u{1}\u{7f}"}),
        json!({}),
        json!([]),
    ];
    let json_col = column(ColumnType::Json);
    let mut json_tokens = Vec::new();
    for v in &json_values {
        let stored = ring
            .encrypt_value(&Value::Json(v.clone()), &json_col, KeyChoice::Primary)
            .unwrap();
        assert!(
            stored.starts_with("\"gAAAAA") && stored.ends_with('"'),
            "JSON columns store quoted tokens"
        );
        json_tokens.push(unwrap_stored(&stored).to_string());
    }

    let user_token = ring
        .encrypt_value(
            &Value::Text("owned by ünï-7".into()),
            &text_col,
            KeyChoice::User("ünï-7".into()),
        )
        .unwrap();

    let floats = [
        0.1,
        1.0 / 3.0,
        2.5e-8,
        123456789012345680.0,
        1e22,
        -7.0,
        5e-324,
        0.30000000000000004,
        9007199254740993.0,
        1e16,
        999999999999999.9,
    ];

    let job = json!({
        "key": env["ENCRYPTION_KEY"],
        "master": env["MASTER_ENCRYPTION_KEY"],
        "tokens": tokens,
        "json_tokens": json_tokens,
        "user_tokens": [{"user": "ünï-7", "token": user_token}],
        "floats": floats.iter().map(|x| hex_float(*x)).collect::<Vec<_>>(),
    });
    let out = run_python(&job);

    use base64::Engine;
    let plain: Vec<Vec<u8>> = out["plain"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            base64::engine::general_purpose::STANDARD
                .decode(p.as_str().unwrap())
                .unwrap()
        })
        .collect();
    for (i, t) in texts.iter().enumerate() {
        assert_eq!(plain[i], t.as_bytes(), "text {i}");
    }
    for (j, (v, ty)) in typed.iter().enumerate() {
        let want = encode_plaintext(v, ty).unwrap();
        assert_eq!(plain[texts.len() + j], want.as_bytes(), "typed {j}");
    }
    assert_eq!(
        &plain[texts.len()..],
        [b"-42".to_vec(), b"150.0".to_vec(), b"false".to_vec()]
    );

    // Python re-dumping what it decrypted gives back exactly our plaintext.
    for (i, v) in json_values.iter().enumerate() {
        let ours = encode_plaintext(&Value::Json(v.clone()), &ColumnType::Json).unwrap();
        assert_eq!(
            out["redumped"][i].as_str().unwrap(),
            ours.as_str(),
            "JSON value {i}"
        );
    }
    assert_eq!(out["user_plain"][0], "owned by ünï-7");
    for (i, x) in floats.iter().enumerate() {
        assert_eq!(
            out["floats"][i].as_str().unwrap(),
            float_repr(*x),
            "repr of {x:e}"
        );
    }
}
