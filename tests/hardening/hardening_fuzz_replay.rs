//! The fuzz targets' checks, replayed in the normal test suite (fuzzing itself runs outside
//! CI) over every committed input: the seeds (`fuzz/seeds/<target>/`) and every input a
//! fuzzing run found to crash (`fuzz/regressions/<target>/`, kept after the fix). Each
//! check here is the same as in `fuzz/fuzz_targets/<target>.rs`.

use std::path::{Path, PathBuf};

use timber::config::{ColumnDef, ColumnType};
use timber::config::{parse_models, parse_policy};
use timber::crypto::fernet::FernetKey;
use timber::crypto::{Key, KeyRing, decode_plaintext, encode_plaintext, inspect};
use timber::tui::{Action, Keymap, ThemeSet};
use timber::value::Value;

const SECRET: &str = "cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=";

/// Every committed input of `target` (seeds and regressions).
fn inputs(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut out = Vec::new();
    for kind in ["seeds", "regressions"] {
        let Ok(entries) = std::fs::read_dir(root.join(kind).join(target)) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            let bytes = std::fs::read(&path).unwrap();
            out.push((path, bytes));
        }
    }
    assert!(!out.is_empty(), "no committed inputs for {target}");
    out
}

fn column(ty: ColumnType) -> ColumnDef {
    ColumnDef {
        name: "fuzz".into(),
        ty,
        primary_key: false,
        nullable: true,
        encrypted: true,
        indexed: false,
        unique: false,
        default: None,
        foreign_key: None,
        blind_index: None,
        from_mixin: false,
    }
}

#[test]
fn token_inputs() {
    let key = Key::from_base64(SECRET).unwrap();
    let fernet = FernetKey::new(&key);
    let ring = KeyRing::from_key(key);
    for (path, data) in inputs("token") {
        let text = String::from_utf8_lossy(&data);
        let unquoted = inspect::unquote(&text);
        if let Ok(info) = inspect::inspect(unquoted) {
            let _ = (
                info.datetime(),
                info.is_future(u64::MAX),
                info.seconds_ahead(0),
            );
            assert!(
                inspect::decode_token(unquoted).is_some(),
                "{}",
                path.display()
            );
        }
        let _ = fernet.decrypt(unquoted);
        let _ = fernet.decrypt_with_ttl(&text, u64::MAX, u64::MAX);
        let _ = ring.classify(&text, None);
        let _ = ring.decrypt_token(&text, None);
        for ty in [ColumnType::Text, ColumnType::Json, ColumnType::Integer] {
            let _ = ring.decrypt_value(&text, &column(ty), None);
        }
    }
}

#[test]
fn codec_inputs() {
    let types = [
        ColumnType::String(Some(255)),
        ColumnType::Text,
        ColumnType::Integer,
        ColumnType::BigInteger,
        ColumnType::Float,
        ColumnType::Numeric(10, 2),
        ColumnType::Boolean,
        ColumnType::Date,
        ColumnType::DateTime,
        ColumnType::Json,
        ColumnType::LargeBinary,
    ];
    let mut decoded = 0;
    for (path, data) in inputs("codec") {
        for ty in &types {
            let Ok(value) = decode_plaintext(&data, ty) else {
                continue;
            };
            // Timber stores a string in a JSON column as-is, so a string that is itself JSON text
            // (`"1.50"` decodes to the string `1.50`) reads back as that JSON: the same ambiguity
            // as in Python, by design, not a codec bug.
            if let Value::Json(serde_json::Value::String(s)) = &value
                && serde_json::from_str::<serde_json::Value>(s).is_ok()
            {
                continue;
            }
            decoded += 1;
            let plaintext = encode_plaintext(&value, ty).expect("a decoded value encodes");
            let again = decode_plaintext(plaintext.as_bytes(), ty).expect("re-encoded decodes");
            let same = match (&value, &again) {
                (Value::Float(x), Value::Float(y)) => x == y || (x.is_nan() && y.is_nan()),
                _ => value == again,
            };
            assert!(
                same,
                "{}: {ty:?}: {value:?} became {again:?}",
                path.display()
            );
        }
    }
    assert!(decoded > 20, "the seeds exercise the decoders ({decoded})");
}

#[test]
fn model_and_policy_inputs() {
    for (path, data) in inputs("model_yaml") {
        let Ok(text) = std::str::from_utf8(&data) else {
            continue;
        };
        if let Err(e) = parse_models(text, Path::new("fuzz/models.yaml")) {
            assert!(
                e.to_string().contains("fuzz/models.yaml"),
                "{}: {e}",
                path.display()
            );
        }
    }
    for (path, data) in inputs("policy_yaml") {
        let Ok(text) = std::str::from_utf8(&data) else {
            continue;
        };
        if let Err(e) = parse_policy(text, Path::new("fuzz/policy.yaml")) {
            assert!(
                e.to_string().contains("fuzz/policy.yaml"),
                "{}: {e}",
                path.display()
            );
        }
    }
}

#[test]
fn theme_and_keymap_inputs() {
    for (path, data) in inputs("theme_yaml") {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("fuzzed.yaml"), &data).unwrap();
        let set = ThemeSet::load(Some(dir.path()));
        for warning in &set.warnings {
            assert!(
                warning.contains("fuzzed.yaml"),
                "{}: {warning}",
                path.display()
            );
        }
        assert!(set.get("dark").is_ok(), "{}", path.display());
    }
    for (path, data) in inputs("keymap_yaml") {
        let Ok(text) = std::str::from_utf8(&data) else {
            continue;
        };
        let map = Keymap::parse(text, Path::new("fuzz/keymap.yaml"));
        for warning in &map.warnings {
            assert!(
                warning.contains("fuzz/keymap.yaml"),
                "{}: {warning}",
                path.display()
            );
        }
        assert!(!map.label(Action::Quit).is_empty(), "{}", path.display());
    }
}
