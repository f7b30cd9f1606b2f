//! The values an audit entry records survive data-key rotation and retirement (issue 15):
//! new entries encrypt them under the audit data key derived from the master, so after
//! `ENCRYPTION_KEY` is rotated and the old key removed, `audit --show` still reads them;
//! entries an older version encrypted under a data key keep that key from being retired
//! (the census names `timber_audit_log.detail`), since nothing can re-encrypt them.

use crate::rotation_support;
use crate::store_support;

use crate::rotation_only::*;
use rotation_support::*;
use sqlx::Connection;
use store_support::Kind;
use timber::audit::{Action, AuditLog, Detail, NewEntry, read_detail};
use timber::crypto::{Key, KeyRing};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_values_outlive_a_data_key_and_pin_a_legacy_one() {
    let db = new_db(Kind::Sqlite).await.expect("sqlite");
    let store = db.store().await;
    seed(&store, 8, 1).await;
    let log = AuditLog::open(&store, &ring_rotating()).await.unwrap();
    let written = log
        .append(NewEntry {
            actor: "ana".into(),
            action: Action::Update,
            table_name: Some("secrets".into()),
            record_id: Some("1".into()),
            fields: vec!["email".into()],
            detail: Detail::Values(serde_json::json!({"email": ["old@x.io", "new@x.io"]})),
        })
        .await
        .unwrap();
    let token = written.content.detail.clone().unwrap();
    // Not under any data key of the ring: under the key derived from the master.
    assert!(ring_rotating().classify(&token, None).is_err());

    // ENCRYPTION_KEY rotated to a brand-new key, every old data key removed: still read.
    let fresh = Key::generate();
    let after = KeyRing::builder()
        .primary(fresh.to_base64().as_str(), "ENCRYPTION_KEY")
        .and_then(|b| b.master(MASTER_KEY, "MASTER_ENCRYPTION_KEY"))
        .and_then(|b| b.build())
        .unwrap();
    let read = read_detail(&after, &written).unwrap().unwrap();
    assert_eq!(read["email"][1], "new@x.io");

    // An entry an older version wrote under ENCRYPTION_KEY_OLD (the data key): retiring
    // that key is refused, naming the log, until nothing needs it.
    let old_data = timber::crypto::FernetKey::new(&Key::from_base64(OLD_KEY).unwrap());
    let legacy = old_data.encrypt(br#"{"email":["a@x.io","b@x.io"]}"#);
    let mut conn = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
    sqlx::query("UPDATE timber_audit_log SET detail = ? WHERE id = ?")
        .bind(&legacy)
        .bind(written.id)
        .execute(&mut conn)
        .await
        .unwrap();
    let dir = env_dir(&db.url);
    let out = timber(dir.path(), &["rotate", "--all"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = timber(dir.path(), &["keys", "retire", "old_1"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("audit log.detail 1"), "{err}");
    store.close().await;
}
