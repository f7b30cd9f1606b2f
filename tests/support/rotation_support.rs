//! Shared set-up of the rotation tests: keys (the Python fixture's as the old generation,
//! fixed test keys as the new one), a model with a plain, a blind-indexed, a text and a JSON
//! encrypted column, seeding through the store, an env dir for the real binary, and the
//! check that every value reads back, under the new key only, as what was written.

use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Output};

use timber::config::ModelDef;
use timber::crypto::{KeyId, KeyRing};
use timber::store::{Cell, PageRequest, Store};
use timber::value::Value;

/// The fixture's keys are the old generation (tests/fixtures/python-timber/fixture.env).
pub const OLD_KEY: &str = crate::fixture::ENCRYPTION_KEY;
pub const MASTER_KEY: &str = crate::fixture::MASTER_KEY;
/// A test-only key made with `timber keygen` for these tests; nothing else uses it.
pub const NEW_KEY: &str = "80JmBCWN2hWg9fUDOdWEpVRhucxuJkgGDaLaqT5K5c4=";

pub const MODELS: &str = r#"
models:
  - name: Secret
    table_name: secrets
    columns:
      - { name: id, type: Integer, primary_key: true }
      - { name: user_id, type: String(36) }
      - { name: email, type: String(255), encrypted: true, blind_index: email_bidx }
      - { name: email_bidx, type: String(64), indexed: true }
      - { name: notes, type: Text, encrypted: true }
      - { name: profile, type: JSON, encrypted: true }
"#;

pub fn model() -> ModelDef {
    crate::fixture::models(MODELS).remove(0)
}

fn ring_with(primary: &str, old: Option<&str>) -> KeyRing {
    let mut builder = KeyRing::builder()
        .primary(primary, "ENCRYPTION_KEY")
        .unwrap();
    if let Some(old) = old {
        builder = builder.old(old, "ENCRYPTION_KEY_OLD").unwrap();
    }
    builder
        .master(MASTER_KEY, "MASTER_ENCRYPTION_KEY")
        .unwrap()
        .build()
        .unwrap()
}

/// What the application wrote with before the rotation.
pub fn ring_old() -> KeyRing {
    ring_with(OLD_KEY, None)
}

/// The rotation's configuration: new primary, the previous one as ENCRYPTION_KEY_OLD.
pub fn ring_rotating() -> KeyRing {
    ring_with(NEW_KEY, Some(OLD_KEY))
}

/// Only the new key: what must read everything after the rotation.
pub fn ring_new_only() -> KeyRing {
    ring_with(NEW_KEY, None)
}

/// The plaintexts of row `i`.
pub fn row_values(i: i64) -> Vec<(String, Value)> {
    vec![
        ("id".into(), Value::Int(i)),
        ("user_id".into(), Value::Text(format!("u{}", i % 7))),
        (
            "email".into(),
            Value::Text(format!("Person.{i}@Example.com")),
        ),
        (
            "notes".into(),
            Value::Text(format!("note {i}: ünïcode \"quoted\"\nline two")),
        ),
        (
            "profile".into(),
            Value::Json(serde_json::json!({"n": i, "tags": ["a", "b"], "ok": i % 2 == 0})),
        ),
    ]
}

/// Creates the tables and writes rows 1..=n: every `current_every`-th row already under the
/// new key (so a rotation must skip it), the rest under the old one.
pub async fn seed(store: &Store, n: i64, current_every: i64) {
    let model = model();
    store
        .init(std::slice::from_ref(&model))
        .await
        .expect("init");
    let (mut old, mut new) = (Vec::new(), Vec::new());
    for i in 1..=n {
        if current_every > 0 && i % current_every == 0 {
            new.push(row_values(i))
        } else {
            old.push(row_values(i))
        }
    }
    for chunk in old.chunks(2000) {
        store
            .insert_many(&model, &ring_old(), chunk, None)
            .await
            .expect("seed old rows");
    }
    for chunk in new.chunks(2000) {
        store
            .insert_many(&model, &ring_new_only(), chunk, None)
            .await
            .expect("seed new rows");
    }
}

/// Reads every row with the new key only and checks each encrypted value is under it and
/// equals `expected` (row id -> field -> value; rows absent there hold `row_values`).
pub async fn assert_all_under_new_key(
    store: &Store,
    n: i64,
    expected: &HashMap<i64, Vec<(String, Value)>>,
) {
    let model = model();
    let ring = ring_new_only();
    let mut request = Some(PageRequest::first(500));
    let mut seen = 0;
    while let Some(req) = request {
        let page = store.page(&model, &ring, &req).await.expect("page");
        for record in &page.records {
            let Value::Int(id) = record.id else {
                panic!("integer ids")
            };
            let want = expected.get(&id).cloned().unwrap_or_else(|| row_values(id));
            for (name, value) in want
                .iter()
                .filter(|(n, _)| ["email", "notes", "profile"].contains(&n.as_str()))
            {
                match record.cell(&model, name) {
                    Some(Cell::Decrypted {
                        value: got, key, ..
                    }) => {
                        assert_eq!(got, value, "row {id} {name}: plaintext changed");
                        assert_eq!(
                            key,
                            &KeyId::Primary,
                            "row {id} {name}: not under the new key"
                        );
                    }
                    other => {
                        panic!("row {id} {name}: not readable with the new key alone: {other:?}")
                    }
                }
            }
            seen += 1;
        }
        request = page.next(500);
    }
    assert_eq!(seen, n, "every row still there");
}

/// The policy of [`env_dir`]: its default role `operator` may rotate, take over, cancel,
/// retire and init; `rotator` may rotate but not take over a job whose worker is gone;
/// `support` (as the demo's) may only reveal.
pub const POLICY: &str = "default_role: operator\nroles:\n  operator:\n    default: redact\n    actions: [rotate, takeover_job, cancel_job, retire, init]\n  rotator:\n    actions: [rotate]\n  support:\n    default: partial\n    actions: [reveal]\n";

/// Writes [`POLICY`] as `dir/policy.yaml`; returns the `.env` line that selects it.
pub fn write_policy(dir: &Path) -> &'static str {
    std::fs::write(dir.join("policy.yaml"), POLICY).unwrap();
    "TIMBER_POLICY=policy.yaml\n"
}

/// A temp dir with models/, policy.yaml and a .env for the binary: new primary, old as
/// _OLD, role `operator` (see [`POLICY`]).
pub fn env_dir(url: &str) -> tempfile::TempDir {
    env_dir_with(url, MODELS)
}

/// [`env_dir`] with other models (`models_yaml`).
pub fn env_dir_with(url: &str, models_yaml: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir(dir.path().join("models")).unwrap();
    std::fs::write(dir.path().join("models/models.yaml"), models_yaml).unwrap();
    let policy = write_policy(dir.path());
    let env = format!(
        "DATABASE_URL={url}\nENCRYPTION_KEY={NEW_KEY}\nENCRYPTION_KEY_OLD={OLD_KEY}\nMASTER_ENCRYPTION_KEY={MASTER_KEY}\nTIMBER_MODELS=models\n{policy}TIMBER_USER=rotation-test\n"
    );
    std::fs::write(dir.path().join(".env"), env).unwrap();
    dir
}

/// The binary with a clean environment (only the dir's .env configures it).
pub fn timber_cmd(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_timber"));
    cmd.current_dir(dir).env_clear().args(args);
    if let Ok(path) = std::env::var("PATH") {
        cmd.env("PATH", path);
    }
    cmd
}

pub fn timber(dir: &Path, args: &[&str]) -> Output {
    timber_cmd(dir, args).output().expect("run timber")
}

/// JSON lines of stdout.
pub fn json_lines(out: &Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect()
}
