//! Connection guarantees that come from the database session, not from us: a read-only
//! store's session refuses writes (PostgreSQL default_transaction_read_only, MySQL/MariaDB
//! READ ONLY transactions, SQLite query_only) while the separate audit connection still
//! appends; REQUIRE_SSL refuses a server without TLS with a clear message and does not
//! apply to a local SQLite file; raw rows and compare-and-set never overwrite a value that
//! changed meanwhile.

mod store_support;

use store_support::{Kind, TestDb, models, ring};
use timber::store::{
    AuditHead, AuditRange, AuditRow, CasUpdate, Store, StoreConfig, StoreError, TlsMode,
    WriteContext,
};
use timber::value::Value;

const MODELS: &str = r#"
models:
  - name: Secret
    table_name: secrets
    columns:
      - { name: id, type: Integer, primary_key: true }
      - { name: owner, type: String(64) }
      - { name: value, type: String(100), encrypted: true }
"#;

fn entry(prev: Option<&AuditHead>, n: i64) -> AuditRow {
    AuditRow {
        created_at: chrono::NaiveDate::from_ymd_opt(2026, 1, 1)
            .unwrap()
            .and_hms_opt(0, 0, n as u32)
            .unwrap(),
        actor: "tester".into(),
        action: "reveal".into(),
        table_name: Some("secrets".into()),
        record_id: Some(n.to_string()),
        fields: Some("[\"value\"]".into()),
        detail: None,
        prev_hash: prev.map(|h| h.entry_hash.clone()).unwrap_or_default(),
        entry_hash: format!("hash-{n}"),
    }
}

async fn read_only_sessions(kind: Kind) {
    let Some(db) = TestDb::new(kind).await else {
        return;
    };
    let model = &models(MODELS)[0];
    let ring = ring();
    let writer = db.store().await;
    writer.init(std::slice::from_ref(model)).await.unwrap();
    let fields = vec![
        ("owner".to_string(), Value::Text("a".into())),
        ("value".to_string(), Value::Text("s3cret".into())),
    ];
    let id = writer
        .insert(model, &ring, &fields, WriteContext::default())
        .await
        .unwrap();
    assert!(!writer.session_read_only().await.unwrap());

    let mut config = StoreConfig::from_url(&db.url).unwrap();
    config.read_only = true;
    let reader = Store::connect(config).await.unwrap();
    assert!(
        reader.session_read_only().await.unwrap(),
        "{kind:?}: the server enforces read-only"
    );
    let got = reader.get(model, &ring, &id).await.unwrap().unwrap();
    assert_eq!(
        got.cell(model, "value").unwrap().value(),
        Some(&Value::Text("s3cret".into()))
    );
    let refused = reader
        .insert(model, &ring, &fields, WriteContext::default())
        .await
        .unwrap_err();
    assert!(matches!(refused, StoreError::ReadOnly { .. }), "{refused}");
    assert!(refused.to_string().contains("read-only"));

    // The audit connection is separate and may append even beside a read-only session.
    let audit = reader.audit_writer().await.unwrap();
    let first = audit.append(|prev| Ok(entry(prev, 1)), head).await.unwrap();
    let second = audit.append(|prev| Ok(entry(prev, 2)), head).await.unwrap();
    assert!(second > first);
    let entries = reader
        .audit_entries(&AuditRange {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(
        entries[1].row.prev_hash, "hash-1",
        "chained to the previous head"
    );
    assert_eq!(reader.audit_head().await.unwrap().unwrap().entry_id, second);
    let refused = audit.append(|_| Err("no audit key".into()), head).await;
    assert!(refused.unwrap_err().to_string().contains("no audit key"));
    assert_eq!(
        reader
            .audit_entries(&AuditRange {
                limit: 10,
                ..Default::default()
            })
            .await
            .unwrap()
            .len(),
        2
    );

    // Compare-and-set: applies where the stored value is as read, reports the rest.
    let raw = writer.raw_page(model, &["value"], None, 10).await.unwrap();
    let stored = raw[0].values[0].clone().unwrap();
    let replacement = writer
        .insert(model, &ring, &fields, WriteContext::default())
        .await
        .unwrap();
    let fresh = writer
        .raw_page(model, &["value"], Some(&id), 10)
        .await
        .unwrap();
    let new_token = fresh[0].values[0].clone().unwrap();
    let updates = vec![
        CasUpdate {
            id: id.clone(),
            column: "value".into(),
            expected: stored.clone(),
            new: new_token.clone(),
        },
        CasUpdate {
            id: id.clone(),
            column: "value".into(),
            expected: stored,
            new: "gAAAAA-never".into(),
        },
    ];
    assert!(
        reader.compare_and_set(model, &updates).await.is_err(),
        "read-only refuses CAS too"
    );
    let outcome = writer.compare_and_set(model, &updates).await.unwrap();
    assert_eq!(outcome.applied, 1);
    assert_eq!(outcome.conflicts, vec![(id.clone(), "value".to_string())]);
    let after = writer.raw_page(model, &["value"], None, 1).await.unwrap();
    assert_eq!(after[0].values[0].as_deref(), Some(new_token.as_str()));
    assert_ne!(replacement, id);

    reader.close().await;
    writer.close().await;
    db.drop_all().await;
}

fn head(id: i64, row: &AuditRow) -> AuditHead {
    AuditHead {
        entry_id: id,
        entry_hash: row.entry_hash.clone(),
        mac: format!("mac-{id}"),
        updated_at: row.created_at,
    }
}

#[tokio::test]
async fn read_only_sessions_on_sqlite() {
    read_only_sessions(Kind::Sqlite).await;
}

#[tokio::test]
async fn read_only_sessions_on_postgres() {
    read_only_sessions(Kind::Postgres).await;
}

#[tokio::test]
async fn read_only_sessions_on_mysql() {
    read_only_sessions(Kind::Mysql).await;
}

/// With REQUIRE_SSL the session is TLS or there is no session: a server that offers TLS
/// (this machine's PostgreSQL) gives an encrypted session, one that does not (its MariaDB)
/// is refused with a message naming REQUIRE_SSL.
#[tokio::test]
async fn require_ssl_gives_tls_or_a_clear_refusal() {
    for (var, kind) in [
        ("TIMBER_TEST_POSTGRES_URL", "postgres"),
        ("TIMBER_TEST_MYSQL_URL", "mysql"),
    ] {
        let Ok(url) = std::env::var(var) else {
            eprintln!("SKIP: {var} not set; REQUIRE_SSL against {kind} not run");
            continue;
        };
        let plain = Store::connect_url(&url).await.unwrap();
        let plain_tls = plain.session_uses_tls().await.unwrap();
        plain.close().await;
        let mut config = StoreConfig::from_url(&url).unwrap();
        config.require_ssl = true;
        assert_eq!(config.tls_mode(), TlsMode::Required);
        match Store::connect(config).await {
            Ok(store) => {
                assert_eq!(
                    store.session_uses_tls().await.unwrap(),
                    Some(true),
                    "{kind}"
                );
                store.close().await;
            }
            Err(err) => {
                let err = err.to_string();
                assert!(
                    err.starts_with("REQUIRE_SSL=true but the connection to"),
                    "{kind}: {err}"
                );
                assert_eq!(err.lines().count(), 1);
                assert_eq!(
                    plain_tls,
                    Some(false),
                    "{kind}: refused although the server does TLS"
                );
            }
        }
    }
    let db = TestDb::new(Kind::Sqlite).await.unwrap();
    let mut config = StoreConfig::from_url(&db.url).unwrap();
    config.require_ssl = true;
    config.create_if_missing = true;
    assert_eq!(config.tls_mode(), TlsMode::NotApplicable);
    let store = Store::connect(config)
        .await
        .expect("REQUIRE_SSL does not apply to a local file");
    assert_eq!(store.tls_mode(), TlsMode::NotApplicable);
    assert_eq!(store.session_uses_tls().await.unwrap(), None);
}
