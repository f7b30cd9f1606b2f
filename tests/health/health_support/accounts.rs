//! The Account model of the health tests, and twelve clean rows written through the store.

use chrono::Utc;
use timber::config::{ModelSet, Settings};
use timber::crypto::KeyRing;
use timber::store::Store;
use timber::value::Value;

use super::{models, new_key, settings};
use crate::store_support::TestDb;

pub const ACCOUNTS: &str = r#"
models:
  - name: Account
    table_name: hc_accounts
    classification: sensitive
    columns:
      - {name: id, type: String(36), primary_key: true}
      - {name: user_id, type: String(36)}
      - {name: email, type: String(255), encrypted: true, blind_index: email_hash}
      - {name: email_hash, type: String(64), indexed: true}
      - {name: phone, type: String(120), encrypted: true}
      - {name: notes, type: Text, encrypted: true}
      - {name: born, type: Date, encrypted: true}
      - {name: profile, type: JSON, encrypted: true}
    mixins: [TimestampMixin, EncryptedFieldMixin, AuditMixin]
"#;

/// Models whose tables are made by hand (raw SQL) or not at all: schema problems.
pub const SCHEMA_PROBLEMS: &str = r#"
  - name: Legacy
    table_name: hc_legacy
    classification: critical
    columns:
      - {name: id, type: String(36), primary_key: true}
      - {name: secret, type: String(100), encrypted: true, blind_index: secret_hash}
      - {name: secret_hash, type: String(64)}
      - {name: gone, type: String(10)}
  - name: Ghost
    table_name: hc_ghost
    columns:
      - {name: id, type: Integer, primary_key: true}
"#;

pub fn id(n: usize) -> String {
    format!("a{n:02}")
}

pub fn email(n: usize) -> String {
    format!("user{n}@example.com")
}

pub struct Setup {
    pub _dir: tempfile::TempDir,
    pub settings: Settings,
    pub models: ModelSet,
    pub store: Store,
    pub ring: KeyRing,
}

/// Twelve clean Account rows, written through the store (tokens, keyed blind indexes).
pub async fn setup(db: &TestDb, yaml: &str, with_old_key: bool) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let models = models(dir.path(), yaml);
    let today = Utc::now().date_naive() - chrono::Duration::days(10);
    let mut vars = vec![
        ("DATABASE_URL", db.url.clone()),
        ("ENCRYPTION_KEY", new_key()),
        ("MASTER_ENCRYPTION_KEY", new_key()),
        ("KEY_ROTATION_DATE", today.to_string()),
    ];
    if with_old_key {
        vars.push(("ENCRYPTION_KEY_OLD", new_key()));
    }
    let settings = settings(&vars, dir.path());
    let ring = KeyRing::from_settings(&settings).unwrap();
    let store = db.store().await;
    let account = models.find("Account").unwrap();
    store.init(std::slice::from_ref(account)).await.unwrap();
    // As `timber init` does: the audit log begins with its genesis entry.
    let log = timber::audit::AuditLog::open(&store, &ring).await.unwrap();
    timber::audit::genesis::begin(&store, &log, None, "test")
        .await
        .unwrap();
    let rows: Vec<Vec<(String, Value)>> = (1..=12)
        .map(|n| {
            vec![
                ("id".into(), Value::Text(id(n))),
                ("user_id".into(), Value::Text(format!("u{n}"))),
                ("email".into(), Value::Text(email(n))),
                ("phone".into(), Value::Text(format!("+1-555-01{n:02}"))),
                ("notes".into(), Value::Text(format!("note {n}"))),
                (
                    "born".into(),
                    Value::Date(chrono::NaiveDate::from_ymd_opt(1980, 1, n as u32).unwrap()),
                ),
                ("profile".into(), Value::Json(serde_json::json!({"n": n}))),
            ]
        })
        .collect();
    store
        .insert_many(account, &ring, &rows, Some("test"))
        .await
        .unwrap();
    Setup {
        _dir: dir,
        settings,
        models,
        store,
        ring,
    }
}
