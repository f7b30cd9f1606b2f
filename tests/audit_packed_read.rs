//! The packed audit read `timber audit --verify` uses (`Store::audit_chain_page`, one JSON
//! column per row on SQLite) returns exactly the entries of the ordinary read
//! (`Store::audit_entries`) on a real log, in both orders and on partial ranges, including
//! rows written by other tools in forms the packed path leaves to the ordinary read (a time
//! with three fraction digits, a NULL detail, a numeric record id, quotes and newlines in
//! texts). PostgreSQL and MariaDB (when their URLs are set) take the ordinary read and must
//! agree too.

mod store_support;

use sqlx::Connection;
use store_support::{Kind, TestDb, ring};
use timber::audit::query::verify;
use timber::audit::{Action, AuditLog};
use timber::store::Store;
use timber::store::audit_log::AuditRange;

async fn log_with_entries(kind: Kind) -> Option<(TestDb, Store, AuditLog)> {
    let db = TestDb::new(kind).await?;
    let store = db.store().await;
    store.init(&[]).await.expect("init system tables");
    let log = AuditLog::open(&store, &ring())
        .await
        .expect("open audit log");
    for i in 1..=12 {
        let fields = vec!["email".to_string(), "notes".to_string()];
        let reason = format!("ticket \"{i}\"\nline two, ünïcode ✓");
        let facts = (i % 3 != 0).then(|| serde_json::json!({ "reason": reason }));
        let table = (i % 4 != 0).then_some("patients");
        log.record(
            "ana",
            Action::Reveal,
            table,
            Some(&i.to_string()),
            &fields,
            facts,
        )
        .await
        .expect("append");
    }
    Some((db, store, log))
}

fn ranges() -> Vec<AuditRange> {
    let mut out = Vec::new();
    for newest_first in [false, true] {
        for (after, before, limit) in [
            (None, None, 100),
            (Some(3), Some(9), 100),
            (Some(0), None, 5),
        ] {
            out.push(AuditRange {
                after,
                before,
                limit,
                newest_first,
            });
        }
    }
    out
}

async fn packed_equals_ordinary(store: &Store, kind: Kind) {
    for range in ranges() {
        let ordinary = store.audit_entries(&range).await.expect("ordinary read");
        let packed = store.audit_chain_page(&range).await.expect("packed read");
        assert!(!ordinary.is_empty(), "{kind:?} {range:?}");
        assert_eq!(packed, ordinary, "{kind:?} {range:?}");
    }
}

async fn check(kind: Kind) {
    let Some((db, store, log)) = log_with_entries(kind).await else {
        eprintln!("{kind:?}: not configured, skipped");
        return;
    };
    packed_equals_ordinary(&store, kind).await;
    let report = verify(&store, log.key(), None).await.expect("verify runs");
    assert!(report.ok, "{kind:?}: {report:?}");
    assert_eq!(report.entries, 12);
    store.close().await;
    db.drop_all().await;
}

#[tokio::test]
async fn sqlite_packed_read_equals_ordinary_read() {
    check(Kind::Sqlite).await;
}

#[tokio::test]
async fn postgres_reads_agree() {
    check(Kind::Postgres).await;
}

#[tokio::test]
async fn mysql_reads_agree() {
    check(Kind::Mysql).await;
}

/// Rows as other tools leave them in SQLite: the packed read must still agree (it hands
/// anything unusual to the ordinary read), and verify must still find the edited row.
#[tokio::test]
async fn sqlite_rows_in_other_forms_read_alike() {
    let (db, store, log) = log_with_entries(Kind::Sqlite).await.expect("sqlite");
    let mut conn = sqlx::SqliteConnection::connect(&db.url)
        .await
        .expect("connect");
    for sql in [
        // sqlx's own DateTime text: three fraction digits (the hash no longer matches).
        "UPDATE timber_audit_log SET created_at = '2026-01-01 00:00:00.250' WHERE id = 4",
        // A record id stored as a number, a NULL detail.
        "UPDATE timber_audit_log SET record_id = 5 WHERE id = 5",
        "UPDATE timber_audit_log SET detail = NULL WHERE id = 6",
    ] {
        sqlx::query(sql).execute(&mut conn).await.expect(sql);
    }
    conn.close().await.expect("close");
    packed_equals_ordinary(&store, Kind::Sqlite).await;
    let report = verify(&store, log.key(), None).await.expect("verify runs");
    assert!(!report.ok);
    assert_eq!(report.first_broken, Some(4), "{report:?}");
    store.close().await;
    db.drop_all().await;
}
