//! Tampering with a real audit log on each backend (SQLite always; PostgreSQL and MariaDB
//! when TIMBER_TEST_POSTGRES_URL / TIMBER_TEST_MYSQL_URL are set): each kind of damage done
//! with plain SQL, as someone with database access but no keys would, is named by verify at
//! the right entry; an untouched log verifies; two writers at once do not fork the chain.

use crate::store_support;

use crate::fixture_ring::ring;
use sqlx::Connection;
use store_support::{Kind, TestDb};
use timber::audit::query::verify;
use timber::audit::seal;
use timber::audit::{Action, AuditLog, Damage, EntryContent, VerifyReport};
use timber::crypto::{AuditKey, Key};

/// Runs raw SQL as an attacker with database access would.
pub(crate) async fn tamper(db: &TestDb, statements: &[String]) {
    macro_rules! run {
        ($conn:ty) => {{
            let mut conn = <$conn>::connect(&db.url).await.expect("connect to tamper");
            for sql in statements {
                sqlx::raw_sql(sqlx::AssertSqlSafe(sql.clone()))
                    .execute(&mut conn)
                    .await
                    .unwrap_or_else(|e| panic!("{sql}: {e}"));
            }
        }};
    }
    match db.kind {
        Kind::Sqlite => run!(sqlx::SqliteConnection),
        Kind::Postgres => run!(sqlx::PgConnection),
        Kind::Mysql => run!(sqlx::MySqlConnection),
    }
}

/// A fresh database with ten audit entries; returns it with its log.
pub(crate) async fn ten_entries(kind: Kind) -> Option<(TestDb, timber::store::Store, AuditLog)> {
    let db = TestDb::new(kind).await?;
    let store = db.store().await;
    store.init(&[]).await.expect("init system tables");
    let log = AuditLog::open(&store, &ring())
        .await
        .expect("open audit log");
    for i in 1..=10 {
        let fields = vec!["email".to_string()];
        let facts = serde_json::json!({ "reason": format!("ticket {i}") });
        let id = log
            .record(
                "ana",
                Action::Reveal,
                Some("patients"),
                Some(&i.to_string()),
                &fields,
                Some(facts),
            )
            .await
            .expect("append");
        assert_eq!(id, i, "ids are assigned in order");
    }
    Some((db, store, log))
}

async fn verified(store: &timber::store::Store, log: &AuditLog) -> VerifyReport {
    verify(store, log.key(), None).await.expect("verify runs")
}

fn assert_damage(kind: Kind, report: &VerifyReport, id: Option<i64>, damage: Damage) {
    assert!(!report.ok, "{kind:?}: {report:?}");
    assert_eq!(report.damage, Some(damage), "{kind:?}: {report:?}");
    assert_eq!(report.first_broken, id, "{kind:?}: {report:?}");
}

pub(crate) const LOG: &str = "timber_audit_log";

/// `statement` as an attacker runs it to store an id of 0: MySQL otherwise takes 0 in an
/// AUTO_INCREMENT column as "the next id", unless the session's sql_mode says not to.
pub(crate) fn zero_id_allowed(kind: Kind, statement: String) -> Vec<String> {
    match kind {
        Kind::Mysql => vec![
            "SET SESSION sql_mode = CONCAT(@@sql_mode, ',NO_AUTO_VALUE_ON_ZERO')".into(),
            statement,
        ],
        _ => vec![statement],
    }
}

/// Ten fresh entries, the attacker's statements, then verify must name `id` and `damage`.
async fn damage_is_named(kind: Kind, statements: &[String], id: i64, damage: Damage) {
    let (db, store, log) = ten_entries(kind).await.expect("backend available");
    tamper(&db, statements).await;
    assert_damage(kind, &verified(&store, &log).await, Some(id), damage);
    store.close().await;
    db.drop_all().await;
}

async fn every_kind_of_damage_is_named(kind: Kind) {
    // Untouched.
    let Some((db, store, log)) = ten_entries(kind).await else {
        return;
    };
    let report = verified(&store, &log).await;
    assert!(report.ok, "{kind:?}: {report:?}");
    assert_eq!(report.entries, 10);
    store.close().await;
    db.drop_all().await;

    let reason = "'{\"reason\":\"routine\"}'";
    // A copy of entry 3 under another actor and a chosen id, hashes and all.
    let copy_of_3 = |id: i64| {
        let columns = "created_at, actor, action, table_name, record_id, fields, detail, prev_hash, entry_hash";
        format!(
            "INSERT INTO {LOG} (id, {columns}) SELECT {id}, created_at, 'mallory', action, table_name, record_id, fields, detail, prev_hash, entry_hash FROM {LOG} WHERE id = 3"
        )
    };
    let cases: [(Vec<String>, i64, Damage); 7] = [
        // Rows below the chain's first id (they were never read, yet listed as real).
        (zero_id_allowed(kind, copy_of_3(0)), 0, Damage::Inserted),
        (vec![copy_of_3(-7)], -7, Damage::Inserted),
        // One entry's detail changed.
        (
            vec![format!("UPDATE {LOG} SET detail = {reason} WHERE id = 5")],
            5,
            Damage::Altered,
        ),
        // A middle entry deleted.
        (
            vec![format!("DELETE FROM {LOG} WHERE id = 6")],
            7,
            Damage::Deleted,
        ),
        // The newest entries deleted (the chain that remains is intact; the head is not).
        (
            vec![format!("DELETE FROM {LOG} WHERE id >= 9")],
            9,
            Damage::NewestRemoved,
        ),
        // Two entries swapped (their ids exchanged).
        (
            vec![
                format!("UPDATE {LOG} SET id = 1000 WHERE id = 4"),
                format!("UPDATE {LOG} SET id = 4 WHERE id = 7"),
                format!("UPDATE {LOG} SET id = 7 WHERE id = 1000"),
            ],
            4,
            Damage::Reordered,
        ),
        // The newest entry moved to a huge id: named, and verify does not scan the gap.
        (
            vec![format!(
                "UPDATE {LOG} SET id = 9000000000000000 WHERE id = 10"
            )],
            9_000_000_000_000_000,
            Damage::Altered,
        ),
    ];
    for (statements, id, damage) in cases {
        damage_is_named(kind, &statements, id, damage).await;
    }

    // A forged entry inserted after entry 5 (later ids moved up to make room), linked to
    // entry 5 and hashed with a key that is not the audit key.
    let (db, store, log) = ten_entries(kind).await.unwrap();
    let entries = timber::audit::query::list(&store, &Default::default(), None, 100)
        .await
        .unwrap();
    let fifth = entries.iter().find(|e| e.id == 5).unwrap();
    let prev = timber::audit::from_hex(&fifth.entry_hash).unwrap();
    let forger = AuditKey::from_master(&Key::generate());
    let forged = seal(
        &forger,
        &prev,
        6,
        EntryContent {
            actor: "mallory".into(),
            ..fifth.content.clone()
        },
    );
    tamper(
        &db,
        &[
            format!("UPDATE {LOG} SET id = id + 100 WHERE id > 5"),
            format!(
                "INSERT INTO {LOG} (id, created_at, actor, action, table_name, record_id, fields, \
                 detail, prev_hash, entry_hash) SELECT 6, created_at, 'mallory', action, \
                 table_name, record_id, fields, detail, '{}', '{}' FROM {LOG} WHERE id = 5",
                forged.prev_hash, forged.entry_hash
            ),
        ],
    )
    .await;
    assert_damage(
        kind,
        &verified(&store, &log).await,
        Some(6),
        Damage::Inserted,
    );
    store.close().await;
    db.drop_all().await;
}

async fn two_writers_do_not_fork_the_chain(kind: Kind) {
    let Some(db) = TestDb::new(kind).await else {
        return;
    };
    let setup = db.store().await;
    setup.init(&[]).await.expect("init");
    // Two stores (two pools, as two processes would have), appending at the same time from
    // an empty log: the first entries race for the head too.
    let mut tasks = Vec::new();
    for writer in ["w1", "w2"] {
        let store = db.store().await;
        tasks.push(tokio::spawn(async move {
            let log = AuditLog::open(&store, &ring()).await.expect("open");
            for i in 0..15 {
                log.record(
                    writer,
                    Action::HealthRun,
                    None,
                    None,
                    &[],
                    Some(serde_json::json!({"i": i})),
                )
                .await
                .expect("append under contention");
            }
            store.close().await;
        }));
    }
    for t in tasks {
        t.await.expect("writer task");
    }
    let log = AuditLog::open(&setup, &ring()).await.unwrap();
    let report = verified(&setup, &log).await;
    assert!(report.ok, "{kind:?}: {report:?}");
    assert_eq!(report.entries, 30);
    setup.close().await;
    db.drop_all().await;
}

#[tokio::test]
async fn sqlite_tampering_is_named() {
    every_kind_of_damage_is_named(Kind::Sqlite).await;
}

#[tokio::test]
async fn postgres_tampering_is_named() {
    every_kind_of_damage_is_named(Kind::Postgres).await;
}

#[tokio::test]
async fn mysql_tampering_is_named() {
    every_kind_of_damage_is_named(Kind::Mysql).await;
}

#[tokio::test]
async fn sqlite_concurrent_writers_keep_one_chain() {
    two_writers_do_not_fork_the_chain(Kind::Sqlite).await;
}

#[tokio::test]
async fn postgres_concurrent_writers_keep_one_chain() {
    two_writers_do_not_fork_the_chain(Kind::Postgres).await;
}

#[tokio::test]
async fn mysql_concurrent_writers_keep_one_chain() {
    two_writers_do_not_fork_the_chain(Kind::Mysql).await;
}

/// A master-key rotation (MASTER_ENCRYPTION_KEY=new, MASTER_ENCRYPTION_KEY_OLD=old) keeps
/// the whole log verifiable: the old entries under the old key, the new ones under the new
/// key (it once read `BROKEN at entry 1: altered`). The chain moves to the new key once:
/// an entry forged with the old key after the new-key entries is named.
async fn a_master_key_rotation_keeps_the_log_verifiable(kind: Kind) {
    let Some((db, store, _log)) = ten_entries(kind).await else {
        return;
    };
    let new_master = Key::generate();
    let rotated = timber::crypto::KeyRing::builder()
        .primary(crate::fixture::ENCRYPTION_KEY, "ENCRYPTION_KEY")
        .and_then(|b| b.master(new_master.to_base64().as_str(), "MASTER_ENCRYPTION_KEY"))
        .and_then(|b| b.master_old(crate::fixture::MASTER_KEY, "MASTER_ENCRYPTION_KEY_OLD"))
        .and_then(|b| b.build())
        .unwrap();
    let (new_key, old_key) = (
        rotated.audit_key().unwrap(),
        rotated.audit_key_old().unwrap(),
    );
    // Verifiable right after the rotation (the head is still sealed by the old key)...
    let report = timber::audit::query::verify_rotated(&store, &new_key, Some(&old_key), None)
        .await
        .unwrap();
    assert!(report.ok, "{kind:?}: {report:?}");
    // ...and after entries appended under the new key. Opening the log with both keys
    // writes the handover first: an entry of its own, hashed under the new key and sealed
    // by the old one.
    let log = AuditLog::open(&store, &rotated).await.unwrap();
    let handover = timber::audit::lookup::entry(&store, 11)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(handover.content.action, "audit.master_key");
    assert!(
        handover
            .content
            .detail
            .as_deref()
            .unwrap()
            .contains("old_key_seal"),
        "{handover:?}"
    );
    // Opening again does not hand over twice.
    drop(AuditLog::open(&store, &rotated).await.unwrap());
    for i in 12..=14 {
        let id = log
            .record(
                "ana",
                Action::Reveal,
                Some("patients"),
                Some(&i.to_string()),
                &[],
                None,
            )
            .await
            .unwrap();
        assert_eq!(id, i);
    }
    let report = timber::audit::query::verify_rotated(&store, &new_key, Some(&old_key), None)
        .await
        .unwrap();
    assert!(report.ok, "{kind:?}: {report:?}");
    assert_eq!(report.entries, 14);
    // Without the old key the old entries cannot be checked: named, not passed.
    let without = verify(&store, &new_key, None).await.unwrap();
    assert!(!without.ok, "{kind:?}: {without:?}");

    // Someone holding only the OLD master key appends an entry after the new-key entries.
    let entries = timber::audit::query::list(&store, &Default::default(), None, 100)
        .await
        .unwrap();
    let last = entries.iter().find(|e| e.id == 14).unwrap();
    let prev = timber::audit::from_hex(&last.entry_hash).unwrap();
    let forged = seal(
        &old_key,
        &prev,
        15,
        EntryContent {
            actor: "mallory".into(),
            ..last.content.clone()
        },
    );
    tamper(
        &db,
        &[format!(
            "INSERT INTO {LOG} (id, created_at, actor, action, table_name, record_id, fields, \
             detail, prev_hash, entry_hash) SELECT 15, created_at, 'mallory', action, \
             table_name, record_id, fields, detail, '{}', '{}' FROM {LOG} WHERE id = 14",
            forged.prev_hash, forged.entry_hash
        )],
    )
    .await;
    let report = timber::audit::query::verify_rotated(&store, &new_key, Some(&old_key), None)
        .await
        .unwrap();
    assert!(!report.ok, "{kind:?}: {report:?}");
    assert_eq!(report.first_broken, Some(15), "{kind:?}: {report:?}");
    store.close().await;
    db.drop_all().await;

    // An insider holding only the NEW master key re-hashes the history from entry 6 on
    // (here: rewriting who revealed), and re-seals the head: every hash and link checks
    // out under the new key, but the move to it carries no seal of the old key.
    let Some((db, store, _log)) = ten_entries(kind).await else {
        return;
    };
    let entries = timber::audit::query::list(&store, &Default::default(), None, 100)
        .await
        .unwrap();
    let mut prev =
        timber::audit::from_hex(&entries.iter().find(|e| e.id == 5).unwrap().entry_hash).unwrap();
    let mut statements = Vec::new();
    for id in 6..=10 {
        let original = entries.iter().find(|e| e.id == id).unwrap();
        let rewritten = seal(
            &new_key,
            &prev,
            id,
            EntryContent {
                actor: "nobody".into(),
                ..original.content.clone()
            },
        );
        statements.push(format!(
            "UPDATE {LOG} SET actor = 'nobody', prev_hash = '{}', entry_hash = '{}' WHERE id = {id}",
            rewritten.prev_hash, rewritten.entry_hash
        ));
        prev = timber::audit::from_hex(&rewritten.entry_hash).unwrap();
    }
    let head = timber::audit::head_for(&new_key, 10, &prev);
    statements.push(format!(
        "UPDATE timber_audit_head SET entry_hash = '{}', mac = '{}'",
        head.last_hash, head.head_mac
    ));
    tamper(&db, &statements).await;
    let report = timber::audit::query::verify_rotated(&store, &new_key, Some(&old_key), None)
        .await
        .unwrap();
    assert_damage(kind, &report, Some(6), Damage::UnsealedKeySwitch);
    store.close().await;
    db.drop_all().await;
}

#[tokio::test]
async fn sqlite_master_key_rotation_keeps_the_log_verifiable() {
    a_master_key_rotation_keeps_the_log_verifiable(Kind::Sqlite).await;
}

#[tokio::test]
async fn postgres_master_key_rotation_keeps_the_log_verifiable() {
    a_master_key_rotation_keeps_the_log_verifiable(Kind::Postgres).await;
}

#[tokio::test]
async fn mysql_master_key_rotation_keeps_the_log_verifiable() {
    a_master_key_rotation_keeps_the_log_verifiable(Kind::Mysql).await;
}
