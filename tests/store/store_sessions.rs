//! Connection guarantees that come from the database session, not from us: a read-only
//! store's session refuses writes (PostgreSQL default_transaction_read_only, MySQL/MariaDB
//! READ ONLY transactions, SQLite query_only) while the separate audit connection still
//! appends; REQUIRE_SSL means verified TLS (a self-signed certificate or a wrong host name
//! is refused with its cause, a server without TLS too) and does not apply to a local
//! SQLite file; raw rows and compare-and-set never overwrite a value that
//! changed meanwhile.

use crate::store_support;

use crate::fixture::models;
use crate::fixture_ring::ring;
use store_support::{Kind, TestDb};
use timber::store::{
    AuditHead, AuditRange, AuditRow, CasUpdate, Store, StoreConfig, StoreError, TlsCheck, TlsMode,
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

/// This machine's PostgreSQL serves Debian's self-signed snakeoil certificate (CN and SAN
/// `localhost`), exactly what a man in the middle would present: not signed by any trusted
/// root. REQUIRE_SSL must refuse it unless its CA is named, and refuse it for any other
/// host name even then; a stricter mode in the URL survives REQUIRE_SSL.
const SNAKEOIL: &str = "/etc/ssl/certs/ssl-cert-snakeoil.pem";

async fn connect_tls(url: &str, require_ssl: bool, ca: Option<&str>) -> Result<Store, String> {
    let mut config = StoreConfig::from_url(url).unwrap();
    config.require_ssl = require_ssl;
    config.ssl_root_cert_path = ca.map(std::path::PathBuf::from);
    Store::connect(config).await.map_err(|e| e.to_string())
}

fn refused(result: Result<Store, String>, what: &str) -> String {
    let err = result
        .err()
        .unwrap_or_else(|| panic!("{what}: connected, the certificate was not verified"));
    assert_eq!(err.lines().count(), 1, "{what}: {err}");
    err
}

#[tokio::test]
async fn require_ssl_means_verified_tls_on_postgres() {
    let Ok(url) = std::env::var("TIMBER_TEST_POSTGRES_URL") else {
        eprintln!("SKIP: TIMBER_TEST_POSTGRES_URL not set; verified TLS not tested");
        return;
    };
    if !url.contains("@127.0.0.1:") || !std::path::Path::new(SNAKEOIL).exists() {
        eprintln!("SKIP: needs the server at 127.0.0.1 with {SNAKEOIL}");
        return;
    }
    let by_name = url.replace("@127.0.0.1:", "@localhost:");

    let err = refused(connect_tls(&url, true, None).await, "no CA");
    assert!(err.contains("certificate not trusted"), "{err}");
    assert!(err.contains("set SSL_ROOT_CERT_PATH"), "{err}");
    // `sslmode=require` in the URL does not lower REQUIRE_SSL's verification.
    let lax = format!("{by_name}?sslmode=require");
    let err = refused(connect_tls(&lax, true, None).await, "URL says require");
    assert!(err.contains("certificate not trusted"), "{err}");
    // Nor does REQUIRE_SSL lower the URL's `verify-full` (it used to become `require`).
    let strict = format!("{url}?sslmode=verify-full");
    refused(
        connect_tls(&strict, true, None).await,
        "URL says verify-full",
    );
    refused(
        connect_tls(&strict, false, None).await,
        "URL says verify-full, no REQUIRE_SSL",
    );

    let err = refused(
        connect_tls(&url, true, Some(SNAKEOIL)).await,
        "CA given, wrong host name",
    );
    assert!(err.contains("host name mismatch"), "{err}");
    assert!(err.contains("localhost"), "{err}");
    assert!(
        err.contains("connect by the name in the certificate"),
        "{err}"
    );

    let store = connect_tls(&by_name, true, Some(SNAKEOIL))
        .await
        .expect("the certificate verifies under its own CA and name");
    assert_eq!(store.session_uses_tls().await.unwrap(), Some(true));
    assert_eq!(store.tls_check(), Some(TlsCheck::Verified));
    assert_eq!(store.tls_mode(), TlsMode::Required);
    store.close().await;

    // Without REQUIRE_SSL the URL's default mode encrypts but checks nothing, and says so.
    let plain = connect_tls(&url, false, None).await.unwrap();
    assert_eq!(plain.session_uses_tls().await.unwrap(), Some(true));
    assert_eq!(plain.tls_check(), Some(TlsCheck::Opportunistic));
    plain.close().await;
}

/// A server that takes no more of a role's connections answers `too_many_connections`
/// (53300), which sqlx's pool retries until its acquire timeout and then reports only as a
/// timeout. The store opens its pool without a probe connection first (one connection per
/// command over a slow link), so it must still name the server's reason when the pool
/// gives up: an on-call engineer reads "too many connections", not "timed out".
#[tokio::test]
async fn a_server_taking_no_more_connections_is_reported_with_its_reason_on_postgres() {
    let Ok(url) = std::env::var("TIMBER_TEST_POSTGRES_URL") else {
        eprintln!("SKIP: TIMBER_TEST_POSTGRES_URL not set; connection limits not tested");
        return;
    };
    let Some(at) = url.find("://").map(|i| i + 3) else {
        panic!("TIMBER_TEST_POSTGRES_URL is not a URL");
    };
    let Some(end) = url[at..].find('@').map(|i| at + i) else {
        eprintln!("SKIP: TIMBER_TEST_POSTGRES_URL names no user to replace");
        return;
    };
    if url[at..end].contains(':') {
        eprintln!("SKIP: a test role would need the URL's password; connection limits not tested");
        return;
    }
    let role = format!("timber_full_{}", std::process::id());
    let admin = sqlx::PgPool::connect(&url).await.unwrap();
    let create = format!("CREATE ROLE {role} LOGIN CONNECTION LIMIT 0");
    if let Err(e) = sqlx::query(sqlx::AssertSqlSafe(create))
        .execute(&admin)
        .await
    {
        eprintln!("SKIP: cannot create a test role ({e}); connection limits not tested");
        return;
    }
    let limited = format!("{}{role}{}", &url[..at], &url[end..]);
    let mut config = StoreConfig::from_url(&limited).unwrap();
    config.acquire_timeout = std::time::Duration::from_millis(600);
    let result = Store::connect(config).await.map(|s| s.dialect());
    let drop = format!("DROP ROLE {role}");
    sqlx::query(sqlx::AssertSqlSafe(drop))
        .execute(&admin)
        .await
        .unwrap();
    let err = result.expect_err("a role with CONNECTION LIMIT 0 cannot connect");
    let err = err.to_string();
    assert!(err.contains("too many connections"), "{err}");
    assert!(!err.contains("timed out"), "{err}");
}

/// A pooled connection goes back to the pool settled but without a round trip (the
/// vendored sqlx-core's `flush` instead of a `ping` on release, vendor/README.md): a
/// transaction dropped without commit is rolled back before the connection idles, so its
/// row lock is gone and another session can write the row. The pool checks nothing on
/// checkout (`test_before_acquire(false)`, as the store's pools do), so only the release
/// can have sent the ROLLBACK.
///
/// The check for one server: `$pool` and `$conn` are its sqlx pool options and connection,
/// `wait` the session setting that bounds a lock wait at two seconds.
macro_rules! check_released_connection_is_settled {
    ($url:expr, $pool:ty, $conn:ty, $wait:expr) => {{
        let sql = |s: &str| sqlx::AssertSqlSafe(s.to_string());
        let url: &str = $url;
        let pool = <$pool>::new()
            .max_connections(1)
            .test_before_acquire(false)
            .connect(url)
            .await
            .unwrap();
        for statement in [
            "CREATE TABLE held (id INT PRIMARY KEY, v TEXT)",
            "INSERT INTO held VALUES (1, 'a'), (2, 'b')",
        ] {
            sqlx::query(sql(statement)).execute(&pool).await.unwrap();
        }
        let mut tx = pool.begin().await.unwrap();
        sqlx::query(sql("UPDATE held SET v = 'locked' WHERE id = 1"))
            .execute(&mut *tx)
            .await
            .unwrap();
        drop(tx);
        // The pool's one connection is handed out again only once it is settled.
        let idle = pool.acquire().await.unwrap();
        let mut other = <$conn as sqlx::Connection>::connect(url).await.unwrap();
        sqlx::query(sql($wait)).execute(&mut other).await.unwrap();
        sqlx::query(sql("UPDATE held SET v = 'other' WHERE id = 1"))
            .execute(&mut other)
            .await
            .expect("the dropped transaction's lock is gone: it was rolled back");
        drop(idle);
    }};
}

#[tokio::test]
async fn a_dropped_transaction_is_rolled_back_when_its_connection_is_released() {
    if let Some(db) = TestDb::new(Kind::Postgres).await {
        check_released_connection_is_settled!(
            &db.url,
            sqlx::postgres::PgPoolOptions,
            sqlx::PgConnection,
            "SET lock_timeout = '2s'"
        );
        db.drop_all().await;
    }
    if let Some(db) = TestDb::new(Kind::Mysql).await {
        check_released_connection_is_settled!(
            &db.url,
            sqlx::mysql::MySqlPoolOptions,
            sqlx::MySqlConnection,
            "SET SESSION innodb_lock_wait_timeout = 2"
        );
        db.drop_all().await;
    }
}

/// This machine's MariaDB has TLS off: REQUIRE_SSL refuses it in one line that says so.
#[tokio::test]
async fn require_ssl_refuses_a_server_without_tls() {
    let Ok(url) = std::env::var("TIMBER_TEST_MYSQL_URL") else {
        eprintln!("SKIP: TIMBER_TEST_MYSQL_URL not set; REQUIRE_SSL against MySQL not run");
        return;
    };
    let err = refused(connect_tls(&url, true, None).await, "MariaDB without TLS");
    assert!(err.contains("does not offer TLS"), "{err}");
    assert!(err.contains("REQUIRE_SSL=true"), "{err}");
    assert!(err.contains("enable TLS on the server"), "{err}");
}

/// REQUIRE_SSL does not apply to a local SQLite file.
#[tokio::test]
async fn require_ssl_does_not_apply_to_sqlite() {
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
