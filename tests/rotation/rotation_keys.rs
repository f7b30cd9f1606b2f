//! `timber keys retire` refuses while any value is still under the key, saying how many and
//! where, and succeeds (recorded as retired, audited) once a rotation moved everything off
//! it. A master rotation re-derives per-user keys: with MASTER_ENCRYPTION_KEY new and the
//! previous one as MASTER_ENCRYPTION_KEY_OLD, every per-user value ends under the key
//! derived from the new master, and only then may `master_old` be retired.

use crate::rotation_support;
use crate::store_support;

use crate::rotation_only::*;
use rotation_support::*;
use store_support::Kind;
use timber::crypto::{KeyId, KeyRing};
use timber::store::{AuditFilter, AuditSearch};
use timber::store::{Cell, PageRequest};
use timber::value::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retire_refuses_while_values_depend_on_the_key_then_records_it() {
    let db = new_db(Kind::Sqlite).await.expect("sqlite");
    let store = db.store().await;
    seed(&store, 40, 4).await;
    let dir = env_dir(&db.url);

    let out = timber(dir.path(), &["keys", "retire", "old_1"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("still encrypts 90 value(s)"), "{err}");
    // Places are named by model and column, as the console names them.
    assert!(
        err.contains("Secret.email 30") && err.contains("Secret.profile 30"),
        "{err}"
    );
    assert!(!err.contains("secrets.email"), "{err}");
    assert!(
        !err.contains(OLD_KEY) && !err.contains(NEW_KEY),
        "no key in messages"
    );
    let out = timber(dir.path(), &["keys", "retire", "primary"]);
    assert_eq!(out.status.code(), Some(2), "the primary is never retired");

    // A key id nobody configured is called unknown, with the known ids and fingerprints.
    let out = timber(dir.path(), &["keys", "retire", "nosuch"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("key nosuch is unknown"), "{err}");
    let listed = json_lines(&timber(dir.path(), &["keys", "list", "--format", "json"])).remove(0);
    for key in listed["keys"].as_array().unwrap() {
        let (id, fp) = (
            key["id"].as_str().unwrap(),
            key["fingerprint"].as_str().unwrap(),
        );
        assert!(err.contains(&format!("{id} ({fp})")), "{id} listed: {err}");
    }
    assert!(
        !err.contains(OLD_KEY) && !err.contains(NEW_KEY),
        "no key in messages"
    );

    let out = timber(dir.path(), &["rotate", "--all"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = timber(dir.path(), &["keys", "retire", "old_1", "--format", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(json_lines(&out)[0]["status"], "retired");

    let out = timber(dir.path(), &["keys", "list", "--format", "json"]);
    let listing = json_lines(&out).remove(0);
    let keys = listing["keys"].as_array().unwrap();
    let old = keys.iter().find(|k| k["id"] == "old_1").unwrap();
    assert_eq!(old["status"], "retired");
    assert!(old["fingerprint"].as_str().unwrap().starts_with("fp:"));
    assert_eq!(
        keys.iter().find(|k| k["id"] == "primary").unwrap()["status"],
        "active"
    );
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains(OLD_KEY),
        "keys list shows no key"
    );

    let search = AuditSearch {
        filter: AuditFilter {
            action: Some("key.retire".into()),
            ..Default::default()
        },
        limit: 10,
        ..Default::default()
    };
    let entries = store.audit_search(&search).await.unwrap();
    assert_eq!(entries.len(), 1, "one audited retirement");
    assert_eq!(entries[0].row.record_id.as_deref(), Some("old_1"));
    let search = AuditSearch {
        filter: AuditFilter {
            action: Some("rotation.end".into()),
            ..Default::default()
        },
        limit: 10,
        ..Default::default()
    };
    assert_eq!(
        store.audit_search(&search).await.unwrap().len(),
        1,
        "rotation audited"
    );
    store.close().await;
}

const PER_USER: &str = r#"
models:
  - name: Diary
    table_name: diaries
    encryption: { enabled: true, fields: [entry], per_user: true }
    columns:
      - { name: id, type: Integer, primary_key: true }
      - { name: user_id, type: String(36), nullable: false }
      - { name: entry, type: Text }
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn master_rotation_rederives_per_user_keys() {
    let db = new_db(Kind::Sqlite).await.expect("sqlite");
    let store = db.store().await;
    let model = crate::fixture::models(PER_USER).remove(0);
    store.init(std::slice::from_ref(&model)).await.unwrap();
    let before = KeyRing::builder()
        .primary(OLD_KEY, "ENCRYPTION_KEY")
        .and_then(|b| b.master(MASTER_KEY, "MASTER_ENCRYPTION_KEY"))
        .and_then(|b| b.build())
        .unwrap();
    let rows: Vec<Vec<(String, Value)>> = (1..=12)
        .map(|i| {
            vec![
                ("id".into(), Value::Int(i)),
                ("user_id".into(), Value::Text(format!("owner-{}", i % 3))),
                ("entry".into(), Value::Text(format!("dear diary {i}"))),
            ]
        })
        .collect();
    store
        .insert_many(&model, &before, &rows, None)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("models")).unwrap();
    std::fs::write(dir.path().join("models/diary.yaml"), PER_USER).unwrap();
    let policy = write_policy(dir.path());
    std::fs::write(
        dir.path().join(".env"),
        format!(
            "DATABASE_URL={}\nENCRYPTION_KEY={OLD_KEY}\nMASTER_ENCRYPTION_KEY={NEW_MASTER_KEY}\n\
             MASTER_ENCRYPTION_KEY_OLD={MASTER_KEY}\nTIMBER_MODELS=models\n{policy}",
            db.url
        ),
    )
    .unwrap();
    let refused = timber(dir.path(), &["keys", "retire", "master_old"]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        stderr(&refused).contains("Diary.entry 12"),
        "{}",
        stderr(&refused)
    );

    let out = timber(
        dir.path(),
        &["rotate", "--model", "Diary", "--format", "json"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(json_lines(&out).pop().unwrap()["rows_done"], 12);

    let after = KeyRing::builder()
        .primary(OLD_KEY, "ENCRYPTION_KEY")
        .and_then(|b| b.master(NEW_MASTER_KEY, "MASTER_ENCRYPTION_KEY"))
        .and_then(|b| b.build())
        .unwrap();
    let page = store
        .page(&model, &after, &PageRequest::first(100))
        .await
        .unwrap();
    assert_eq!(page.records.len(), 12);
    for record in &page.records {
        let Value::Int(i) = record.id else { panic!() };
        match record.cell(&model, "entry") {
            Some(Cell::Decrypted { value, key, .. }) => {
                assert_eq!(value, &Value::Text(format!("dear diary {i}")));
                assert_eq!(
                    key,
                    &KeyId::User(format!("owner-{}", i % 3)),
                    "under the new master"
                );
            }
            other => panic!("row {i}: {other:?}"),
        }
    }
    let out = timber(dir.path(), &["keys", "retire", "master_old"]);
    assert!(out.status.success(), "{}", stderr(&out));
    store.close().await;
}
