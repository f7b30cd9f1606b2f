//! Which key the store writes under and reads with: per-user keys (`user_<owner>`, derived
//! as Python Timber derives them, checked against cases.json with the `fernet` oracle),
//! moving a record to a new owner re-encrypts it, a model's named key, and blind-index
//! search that finds both keyed and legacy `sha256(lower(v))` hashes.

use crate::store_support;

use std::path::Path;

use crate::fixture::models;
use crate::fixture_ring::ring;
use store_support::{Kind, TestDb};
use timber::crypto::{KeyId, KeyRing};
use timber::store::{CasUpdate, Cell, Store, WriteContext};
use timber::value::Value;

const MODELS: &str = r#"
models:
  - name: Journal
    table_name: journals
    encryption: { per_user: true }
    columns:
      - { name: id, type: Integer, primary_key: true }
      - { name: user_id, type: String(36), nullable: false }
      - { name: entry, type: Text, encrypted: true }
  - name: Report
    table_name: reports
    encryption: { key_identifier: reports }
    columns:
      - { name: id, type: Integer, primary_key: true }
      - { name: body, type: Text, encrypted: true }
  - name: Contact
    table_name: contacts
    columns:
      - { name: id, type: Integer, primary_key: true }
      - { name: email, type: String(255), encrypted: true, blind_index: email_hash }
      - { name: email_hash, type: String(64) }
"#;

const REPORTS_KEY: &str = "x3mUu0Z4QH2bOZ1R8nJ3rPCf6kq2d1mH7vS5aT9wE0c=";

fn cases() -> serde_json::Value {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/python-timber/cases.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The derived Fernet key cases.json gives for a user id.
fn derived_key(user: &str) -> String {
    let cases = cases();
    let entry = cases["per_user_keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["user_id"] == user)
        .unwrap();
    entry["derived_key"].as_str().unwrap().to_string()
}

fn oracle_decrypts(key: &str, token: &str) -> Option<String> {
    let plain = fernet::Fernet::new(key).unwrap().decrypt(token).ok()?;
    String::from_utf8(plain).ok()
}

fn ring_with_named_key() -> KeyRing {
    KeyRing::builder()
        .primary(crate::fixture::ENCRYPTION_KEY, "ENCRYPTION_KEY")
        .and_then(|b| b.master(crate::fixture::MASTER_KEY, "MASTER_ENCRYPTION_KEY"))
        .and_then(|b| b.named("reports", REPORTS_KEY, "TIMBER_KEY_REPORTS"))
        .and_then(|b| b.build())
        .unwrap()
}

async fn stored(
    store: &Store,
    model: &timber::config::ModelDef,
    column: &str,
    id: &Value,
) -> String {
    let rows = store.raw_page(model, &[column], None, 100).await.unwrap();
    rows.into_iter().find(|r| &r.id == id).unwrap().values[0]
        .clone()
        .unwrap()
}

#[tokio::test]
async fn per_user_keys_follow_the_owner() {
    let db = TestDb::new(Kind::Sqlite).await.unwrap();
    let all = models(MODELS);
    let journal = &all[0];
    let ring = ring();
    let store = db.store().await;
    store.init(&all).await.unwrap();
    let fields = vec![
        ("user_id".to_string(), Value::Text("user-123".into())),
        ("entry".to_string(), Value::Text("dear diary".into())),
    ];
    let id = store
        .insert(journal, &ring, &fields, WriteContext::default())
        .await
        .unwrap();

    // The token is under user-123's key exactly as Python Timber derives it.
    let token = stored(&store, journal, "entry", &id).await;
    assert_eq!(
        oracle_decrypts(&derived_key("user-123"), &token).as_deref(),
        Some("dear diary")
    );
    assert_eq!(
        oracle_decrypts(crate::fixture::ENCRYPTION_KEY, &token),
        None,
        "not under the primary"
    );
    let record = store.get(journal, &ring, &id).await.unwrap().unwrap();
    match record.cell(journal, "entry").unwrap() {
        Cell::Decrypted { value, key, .. } => {
            assert_eq!(value, &Value::Text("dear diary".into()));
            assert_eq!(key, &KeyId::User("user-123".into()));
        }
        other => panic!("{other:?}"),
    }

    // Moving the record to another owner re-encrypts its fields under that owner's key.
    let changes = vec![("user_id".to_string(), Value::Text("user-456".into()))];
    store
        .update(journal, &ring, &id, &changes, WriteContext::default())
        .await
        .unwrap();
    let token = stored(&store, journal, "entry", &id).await;
    assert_eq!(
        oracle_decrypts(&derived_key("user-456"), &token).as_deref(),
        Some("dear diary")
    );
    assert_eq!(oracle_decrypts(&derived_key("user-123"), &token), None);

    // A token Python wrote under user-123's key reads back through the store.
    let cases = cases();
    let python = &cases["per_user_tokens"][0];
    let fields = vec![
        ("user_id".to_string(), Value::Text("user-123".into())),
        ("entry".to_string(), Value::Text("x".into())),
    ];
    let id2 = store
        .insert(journal, &ring, &fields, WriteContext::default())
        .await
        .unwrap();
    let current = stored(&store, journal, "entry", &id2).await;
    let update = CasUpdate {
        id: id2.clone(),
        column: "entry".into(),
        expected: current,
        new: python["token"].as_str().unwrap().into(),
    };
    assert_eq!(
        store
            .compare_and_set(journal, &[update])
            .await
            .unwrap()
            .applied,
        1
    );
    let record = store.get(journal, &ring, &id2).await.unwrap().unwrap();
    assert_eq!(
        record.cell(journal, "entry").unwrap().value(),
        Some(&Value::Text(python["plaintext"].as_str().unwrap().into()))
    );
}

#[tokio::test]
async fn a_models_named_key_encrypts_its_fields() {
    let db = TestDb::new(Kind::Sqlite).await.unwrap();
    let all = models(MODELS);
    let report = &all[1];
    let ring = ring_with_named_key();
    let store = db.store().await;
    store.init(&all).await.unwrap();
    let fields = vec![("body".to_string(), Value::Text("quarterly numbers".into()))];
    let id = store
        .insert(report, &ring, &fields, WriteContext::default())
        .await
        .unwrap();
    let token = stored(&store, report, "body", &id).await;
    assert_eq!(
        oracle_decrypts(REPORTS_KEY, &token).as_deref(),
        Some("quarterly numbers")
    );
    let record = store.get(report, &ring, &id).await.unwrap().unwrap();
    assert!(
        matches!(record.cell(report, "body"), Some(Cell::Decrypted { key: KeyId::Named(n), .. }) if n == "reports")
    );

    // Without the named key configured the write is refused, not put under another key.
    let err = store
        .insert(
            report,
            &crate::fixture_ring::ring(),
            &fields,
            WriteContext::default(),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("Report.body"), "{err}");
    assert_eq!(store.count_rows(report).await.unwrap().rows, 1);
}

#[tokio::test]
async fn search_finds_keyed_and_legacy_hashes() {
    let db = TestDb::new(Kind::Sqlite).await.unwrap();
    let all = models(MODELS);
    let contact = &all[2];
    let ring = ring();
    let store = db.store().await;
    store.init(&all).await.unwrap();
    let mut ids = Vec::new();
    for email in ["User@Example.com", "a@b.c", "other@example.com"] {
        let fields = vec![("email".to_string(), Value::Text(email.into()))];
        ids.push(
            store
                .insert(contact, &ring, &fields, WriteContext::default())
                .await
                .unwrap(),
        );
    }
    let found = store
        .find(
            contact,
            &ring,
            "email",
            &Value::Text("User@Example.com".into()),
            10,
        )
        .await
        .unwrap();
    assert_eq!(
        found.iter().map(|r| r.id.clone()).collect::<Vec<_>>(),
        vec![ids[0].clone()]
    );

    // Rewrite two rows' hashes the legacy way (as Python Timber's guide did): still found.
    let cases = cases();
    for (n, legacy) in cases["legacy_hashes"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
    {
        let current = stored(&store, contact, "email_hash", &ids[n]).await;
        let hash = legacy["sha256_lower_hex"].as_str().unwrap().to_string();
        let update = CasUpdate {
            id: ids[n].clone(),
            column: "email_hash".into(),
            expected: current,
            new: hash,
        };
        assert_eq!(
            store
                .compare_and_set(contact, &[update])
                .await
                .unwrap()
                .applied,
            1
        );
        let value = Value::Text(legacy["value"].as_str().unwrap().into());
        let found = store
            .find(contact, &ring, "email", &value, 10)
            .await
            .unwrap();
        assert_eq!(found.len(), 1, "legacy hash of {value:?}");
        assert_eq!(found[0].id, ids[n]);
    }
    let none = store
        .find(
            contact,
            &ring,
            "email",
            &Value::Text("nobody@example.com".into()),
            10,
        )
        .await
        .unwrap();
    assert!(none.is_empty());

    // The row estimate is cheap and, without deletions, exact on SQLite.
    let estimate = store.estimate_rows(contact).await.unwrap();
    assert_eq!((estimate.rows, estimate.exact), (3, false));
}
