//! The `timber health` and `timber census` commands as an operator runs them: exit codes
//! 0 / 1 / 2, text worst first with aligned counts, repeats grouped and wrapped to the width, the JSON shapes of DESIGN §12,
//! `--only` (ids and families; an unknown id is one clear error), `--sample` saying so in
//! the evidence, and `census --model`.

use crate::health_support;

use health_support::*;
use serde_json::Value as Json;
use timber::crypto::{KeyId, KeyRing};
use timber::value::Value;

const MODELS: &str = r#"
models:
  - name: Ledger
    table_name: cli_ledger
    classification: standard
    columns:
      - {name: id, type: String(36), primary_key: true}
      - {name: iban, type: String(40), encrypted: true}
      - {name: memo, type: Text, encrypted: true}
    mixins: [EncryptedFieldMixin]
"#;

fn json_of(out: &std::process::Output) -> Json {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_codes_formats_only_and_sample() {
    let dir = tempfile::tempdir().unwrap();
    let (models, store, mut vars) = sqlite_world(dir.path(), MODELS).await;
    // The model's String(40) is narrower than any token: a warning from the model alone.
    // Keep it out of the clean run with --only, and look at it below.
    let settings = settings(&vars, dir.path());
    let ring = KeyRing::from_settings(&settings).unwrap();
    let ledger = models.find("Ledger").unwrap();
    let rows: Vec<Vec<(String, Value)>> = (1..=6)
        .map(|n| {
            vec![
                ("id".into(), Value::Text(format!("l{n}"))),
                ("iban".into(), Value::Text(format!("DE{n:020}"))),
                ("memo".into(), Value::Text(format!("memo {n}"))),
            ]
        })
        .collect();
    store.insert_many(ledger, &ring, &rows, None).await.unwrap();
    let old = ring.key(&KeyId::Old(1)).unwrap();
    set_stored(
        &store,
        &models,
        "Ledger",
        "l2",
        "memo",
        &old.encrypt(b"memo 2"),
    )
    .await;
    let d = dir.path();

    let clean = timber_cli(
        d,
        &["health", "--only", "key.primary,data.plaintext,conn"],
        &vars,
    );
    assert_eq!(clean.status.code(), Some(0), "{}", text(&clean.stderr));
    let out = text(&clean.stdout);
    assert!(out.starts_with("timber health: OK"), "{out}");
    // All ok: one line each, in check order.
    let checks: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("ok "))
        .filter_map(|l| l.split_whitespace().nth(1))
        .collect();
    assert_eq!(
        checks,
        ["key.primary", "data.plaintext", "conn.tls"],
        "{out}"
    );
    assert!(out.contains("0 fail, 0 warn, 3 ok"), "{out}");

    // One value under the old key: a warning, exit 1.
    let warn = timber_cli(
        d,
        &["health", "--only", "data.old_key", "--format", "json"],
        &vars,
    );
    assert_eq!(warn.status.code(), Some(1), "{}", text(&warn.stderr));
    let j = json_of(&warn);
    assert_eq!(j["status"], "warn");
    let check = &j["checks"][0];
    for key in ["id", "severity", "title", "finding", "evidence", "remedy"] {
        assert!(check.get(key).is_some(), "missing {key}: {check}");
    }
    for key in ["model", "table", "column", "count", "record_ids"] {
        assert!(
            check["evidence"].get(key).is_some(),
            "missing evidence.{key}: {check}"
        );
    }
    assert_eq!(
        (
            check["evidence"]["column"].as_str(),
            check["evidence"]["record_ids"].clone()
        ),
        (Some("memo"), serde_json::json!(["l2"]))
    );
    assert!(check["remedy"].as_str().unwrap().contains("timber rotate"));

    // Plaintext: a failure, exit 2; the text report names the place and aligns the count.
    set_stored(
        &store,
        &models,
        "Ledger",
        "l4",
        "iban",
        "DE00000000000000000004",
    )
    .await;
    let fail = timber_cli(d, &["health", "--only", "data"], &vars);
    assert_eq!(fail.status.code(), Some(2));
    let out = text(&fail.stdout);
    let lines: Vec<&str> = out.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.contains("data.plaintext"))
        .unwrap();
    let line = lines[at];
    assert!(
        line.starts_with("FAIL") && line.contains("Ledger.iban"),
        "{line}"
    );
    // The evidence on its own indented lines under the header.
    assert!(
        lines[at + 1].starts_with("      ") && lines[at + 1].contains("clear"),
        "{out}"
    );
    assert_eq!(lines[at + 2], "      ids: l4", "{out}");
    let old_line = out.lines().find(|l| l.contains("data.old_key")).unwrap();
    assert!(old_line.starts_with("WARN"), "{out}");
    let col = |l: &str| l.trim_end().len();
    assert_eq!(col(line), col(old_line), "counts aligned:\n{out}");
    assert!(
        out.contains("fix: `timber rotate --model Ledger --encrypt-plaintext`"),
        "{out}"
    );

    // The model-level width warning is there in a full run.
    let full = json_of(&timber_cli(d, &["health", "--format", "json"], &vars));
    let width: Vec<&Json> = full["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["id"] == "schema.column_width")
        .collect();
    assert_eq!(
        (width.len(), width[0]["severity"].as_str()),
        (1, Some("warn"))
    );
    let oks = full["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["severity"] == "ok")
        .count();
    assert!(oks >= 15, "passing checks are listed as ok entries: {full}");

    // --sample reads at most N rows per table and says so.
    let sampled = json_of(&timber_cli(
        d,
        &[
            "health",
            "--only",
            "data.plaintext",
            "--sample",
            "3",
            "--format",
            "json",
        ],
        &vars,
    ));
    let c = &sampled["checks"][0];
    assert_eq!(c["evidence"]["sampled"], 3, "{c}");
    assert_eq!(c["severity"], "ok", "l4 is past the sample: {c}");

    let bad = timber_cli(d, &["health", "--only", "key.agee"], &vars);
    assert_eq!(bad.status.code(), Some(2));
    let err = text(&bad.stderr);
    assert!(
        err.starts_with("timber: unknown check `key.agee`") && err.lines().count() == 1,
        "{err}"
    );

    vars.retain(|(k, _)| *k != "ENCRYPTION_KEY_OLD");
    let unknown = json_of(&timber_cli(
        d,
        &["health", "--only", "data.undecryptable", "--format", "json"],
        &vars,
    ));
    assert_eq!(
        unknown["checks"][0]["evidence"]["kind"], "unknown_key",
        "without the old key its value is unknown"
    );
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn census_command_text_json_and_model_filter() {
    let dir = tempfile::tempdir().unwrap();
    let two = format!(
        "{MODELS}  - {{name: Other, table_name: cli_other, columns: [{{name: id, type: Integer, primary_key: true}}, {{name: x, type: Text, encrypted: true}}], mixins: [EncryptedFieldMixin]}}\n"
    );
    let (models, store, vars) = sqlite_world(dir.path(), &two).await;
    let ring = KeyRing::from_settings(&settings(&vars, dir.path())).unwrap();
    let ledger = models.find("Ledger").unwrap();
    let rows: Vec<Vec<(String, Value)>> = (1..=3)
        .map(|n| {
            vec![
                ("id".into(), Value::Text(format!("l{n}"))),
                ("iban".into(), Value::Text("DE1".into())),
                ("memo".into(), Value::Null),
            ]
        })
        .collect();
    store.insert_many(ledger, &ring, &rows, None).await.unwrap();
    let fp = ring.fingerprint(&KeyId::Primary).unwrap().to_string();
    let d = dir.path();

    let out = timber_cli(
        d,
        &["census", "--model", "Ledger", "--format", "json"],
        &vars,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let j = json_of(&out);
    let columns = j["columns"].as_array().unwrap();
    assert_eq!(columns.len(), 2, "only Ledger's columns");
    assert_eq!(columns[0]["column"], "iban");
    assert_eq!(columns[0]["by_key"], serde_json::json!({fp.clone(): 3}));
    assert_eq!(
        (columns[1]["rows"].clone(), columns[1]["null"].clone()),
        (serde_json::json!(3), serde_json::json!(3))
    );

    let out = text(&timber_cli(d, &["census"], &vars).stdout);
    assert!(out.starts_with("KEYS\n"), "{out}");
    let header = out
        .lines()
        .find(|l| l.trim_start().starts_with("column"))
        .unwrap();
    let iban = out.lines().find(|l| l.contains("Ledger.iban")).unwrap();
    assert!(out.contains("Other.x"), "{out}");
    // The fingerprint column's count ends where its header ends.
    let end = header.find(&fp).unwrap() + fp.len();
    assert_eq!(&iban[end - 1..end], "3", "{header}\n{iban}");

    let bad = timber_cli(d, &["census", "--model", "Nope"], &vars);
    assert_eq!(bad.status.code(), Some(2));
    assert!(text(&bad.stderr).contains("unknown model `Nope`; the models are: Ledger, Other"));
    store.close().await;
}

/// `conn.tls` through the binary against this machine's PostgreSQL (self-signed snakeoil
/// certificate for `localhost`): `verified` when REQUIRE_SSL checks it under its CA and name,
/// `encrypted, not verified` when the URL's default mode takes any certificate (a warning in
/// production), and with REQUIRE_SSL but no CA no session at all: one line naming the cause
/// and the remedy, exit 2.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conn_tls_says_verified_encrypted_or_refuses() {
    const SNAKEOIL: &str = "/etc/ssl/certs/ssl-cert-snakeoil.pem";
    let Ok(url) = std::env::var("TIMBER_TEST_POSTGRES_URL") else {
        eprintln!("SKIP: TIMBER_TEST_POSTGRES_URL not set; conn.tls not tested");
        return;
    };
    if !url.contains("@127.0.0.1:") || !std::path::Path::new(SNAKEOIL).exists() {
        eprintln!("SKIP: needs the server at 127.0.0.1 with {SNAKEOIL}");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (_models, store, vars) = sqlite_world(dir.path(), MODELS).await;
    store.close().await;
    let with = |extra: &[(&'static str, &str)]| {
        let mut all: Vec<(&str, String)> = vars
            .iter()
            .filter(|(k, _)| *k != "DATABASE_URL")
            .cloned()
            .collect();
        all.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
        all
    };
    let conn_tls = |vars: &[(&str, String)]| {
        let out = timber_cli(
            dir.path(),
            &["health", "--only", "conn.tls", "--format", "json"],
            vars,
        );
        (out.status.code(), json_of(&out)["checks"][0].clone())
    };

    let by_name = url.replace("@127.0.0.1:", "@localhost:");
    let (code, check) = conn_tls(&with(&[
        ("DATABASE_URL", &by_name),
        ("REQUIRE_SSL", "true"),
        ("SSL_ROOT_CERT_PATH", SNAKEOIL),
    ]));
    assert_eq!(
        (code, check["severity"].as_str()),
        (Some(0), Some("ok")),
        "{check}"
    );
    assert!(
        check["finding"].as_str().unwrap().starts_with("verified:"),
        "{check}"
    );
    assert_eq!(check["evidence"]["tls"], "verified", "{check}");

    let (_, check) = conn_tls(&with(&[("DATABASE_URL", &url)]));
    assert!(
        check["finding"]
            .as_str()
            .unwrap()
            .starts_with("encrypted, not verified:"),
        "{check}"
    );
    assert_eq!(
        check["evidence"]["tls"], "encrypted, not verified",
        "{check}"
    );
    let (code, check) = conn_tls(&with(&[("DATABASE_URL", &url), ("OAK_ENV", "production")]));
    assert_eq!(
        (code, check["severity"].as_str()),
        (Some(1), Some("warn")),
        "{check}"
    );
    assert!(
        check["remedy"]
            .as_str()
            .unwrap()
            .contains("REQUIRE_SSL=true"),
        "{check}"
    );

    let refused = timber_cli(
        dir.path(),
        &["health", "--only", "conn.tls"],
        &with(&[("DATABASE_URL", &url), ("REQUIRE_SSL", "true")]),
    );
    let err = text(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("certificate not trusted"), "{err}");
    assert!(err.contains("SSL_ROOT_CERT_PATH"), "{err}");
}

/// The text report reads worst first (fail, warn, ok), groups the findings of one check
/// (`data.old_key ×2`, one line per place), puts the evidence on indented lines of its own
/// and fits the width it is given (COLUMNS); the JSON keeps every finding and its fields.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_is_worst_first_grouped_and_wrapped_to_the_width() {
    let dir = tempfile::tempdir().unwrap();
    let (models, store, vars) = sqlite_world(dir.path(), MODELS).await;
    let settings = settings(&vars, dir.path());
    let ring = KeyRing::from_settings(&settings).unwrap();
    let ledger = models.find("Ledger").unwrap();
    let rows: Vec<Vec<(String, Value)>> = (1..=4)
        .map(|n| {
            vec![
                ("id".into(), Value::Text(format!("l{n}"))),
                ("iban".into(), Value::Text(format!("DE{n:020}"))),
                ("memo".into(), Value::Text(format!("memo {n}"))),
            ]
        })
        .collect();
    store.insert_many(ledger, &ring, &rows, None).await.unwrap();
    let old = ring.key(&KeyId::Old(1)).unwrap();
    // Old-key values in two columns (a warning each: one group), plaintext in a third row.
    set_stored(
        &store,
        &models,
        "Ledger",
        "l1",
        "iban",
        &old.encrypt(b"DE1"),
    )
    .await;
    set_stored(&store, &models, "Ledger", "l2", "memo", &old.encrypt(b"m")).await;
    set_stored(&store, &models, "Ledger", "l3", "memo", "written in clear").await;
    let d = dir.path();
    let run = |columns: &str| {
        let mut with = vars.clone();
        with.push(("COLUMNS", columns.to_string()));
        let out = timber_cli(d, &["health", "--only", "key,data"], &with);
        assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
        text(&out.stdout)
    };

    let narrow = run("60");
    let badges: Vec<&str> = narrow
        .lines()
        .skip(1)
        .filter_map(|l| {
            ["FAIL", "WARN", "ok "]
                .into_iter()
                .find(|b| l.starts_with(b))
        })
        .collect();
    let first_warn = badges.iter().position(|b| *b == "WARN").unwrap();
    let first_ok = badges.iter().position(|b| *b == "ok ").unwrap();
    assert!(
        badges[0] == "FAIL"
            && badges[first_warn..first_ok].iter().all(|b| *b == "WARN")
            && badges[first_ok..].iter().all(|b| *b == "ok "),
        "fail, then warn, then ok:\n{narrow}"
    );
    let lines: Vec<&str> = narrow.lines().collect();
    let group = lines
        .iter()
        .position(|l| l.starts_with("WARN  data.old_key ×2"))
        .unwrap_or_else(|| panic!("the two old-key findings are one group:\n{narrow}"));
    assert!(
        lines[group + 1].starts_with("      Ledger.iban")
            && lines[group + 1..]
                .iter()
                .any(|l| l.starts_with("      Ledger.memo")),
        "one indented line per place:\n{narrow}"
    );
    for line in narrow.lines().skip(1) {
        assert!(
            line.chars().count() <= 60,
            "wider than COLUMNS=60: {line:?}\n{narrow}"
        );
    }
    let fix = lines
        .iter()
        .position(|l| l.starts_with("      fix: `timber rotate --model Ledger"))
        .unwrap_or_else(|| panic!("the fix on its own line:\n{narrow}"));
    assert!(
        lines[fix + 1].starts_with("           "),
        "a long fix continues under its text:\n{narrow}"
    );

    let wide = run("200");
    assert!(
        wide.lines().count() < narrow.lines().count(),
        "a wider terminal needs fewer lines:\n{wide}"
    );
    assert!(wide.lines().any(|l| l.chars().count() > 60), "{wide}");

    // The JSON is unchanged in shape: every finding, in check order, with its fields.
    let mut with = vars.clone();
    with.push(("COLUMNS", "60".to_string()));
    let json = json_of(&timber_cli(
        d,
        &["health", "--only", "data.old_key", "--format", "json"],
        &with,
    ));
    let checks = json["checks"].as_array().unwrap();
    assert_eq!(checks.len(), 2, "{json}");
    for check in checks {
        assert_eq!(check["id"], "data.old_key");
        for key in ["severity", "title", "finding", "evidence", "remedy"] {
            assert!(check.get(key).is_some(), "missing {key}: {check}");
        }
    }
}
