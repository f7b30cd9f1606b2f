//! `timber health` against real databases: every problem the checks look for is planted
//! (as a bad writer, a wrong key, an operator or an attacker with database access would
//! leave it), and each finding is asserted by check id, severity, count and record ids, on
//! SQLite, PostgreSQL and MySQL/MariaDB. A clean database is all `ok` and exits 0.

use crate::health_support;
use crate::store_support;

use chrono::Utc;
use health_support::accounts::{ACCOUNTS, SCHEMA_PROBLEMS, email, id, setup};
use health_support::*;
use store_support::{Kind, TestDb};
use timber::audit::{Action, AuditLog, Detail, NewEntry};
use timber::config::ColumnType;
use timber::crypto::blind_index::legacy_sha256;
use timber::crypto::{FernetKey, Key, KeyId, wrap_for_column};
use timber::health::CHECK_IDS;
use timber::health::{HealthReport, Severity};

async fn clean_database_is_ok(kind: Kind) {
    let Some(db) = TestDb::new(kind).await else {
        return;
    };
    let s = setup(&db, ACCOUNTS, false).await;
    let report: HealthReport = health(&s.settings, &s.models, &s.store).await;
    all_ok(&report, CHECK_IDS);
    assert_eq!(report.status(), Severity::Ok, "{}", dump(&report));
    assert_eq!(report.exit_code(), 0);
    assert_eq!(report.facts.rows_scanned, 12);
    s.store.close().await;
    db.drop_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clean_database_is_ok_sqlite() {
    clean_database_is_ok(Kind::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clean_database_is_ok_postgres() {
    clean_database_is_ok(Kind::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clean_database_is_ok_mysql() {
    clean_database_is_ok(Kind::Mysql).await;
}

/// Plants every data, schema, audit and rotation problem, then checks each finding.
async fn planted_problems_are_found(kind: Kind) {
    let Some(db) = TestDb::new(kind).await else {
        return;
    };
    let s = setup(&db, &format!("{ACCOUNTS}{SCHEMA_PROBLEMS}"), true).await;
    let (store, models, ring) = (&s.store, &s.models, &s.ring);
    let plant = |n: usize, column: &'static str, new: String| async move {
        set_stored(store, models, "Account", &id(n), column, &new).await
    };
    let primary = ring.key(&KeyId::Primary).unwrap();
    let old = ring.key(&KeyId::Old(1)).unwrap();
    let stranger = FernetKey::new(&Key::generate());

    // DATA
    plant(2, "phone", "+1-555-0102".into()).await;
    plant(5, "phone", "+1-555-0105".into()).await;
    let token = stored(store, models, "Account", &id(3), "notes")
        .await
        .unwrap();
    plant(3, "notes", token[..token.len() - 12].to_string()).await;
    plant(4, "email", stranger.encrypt(b"x@example.com")).await;
    plant(6, "email", stranger.encrypt(b"y@example.com")).await;
    plant(7, "born", primary.encrypt(b"\"not a date\"")).await;
    for n in [8, 9, 10] {
        plant(n, "notes", old.encrypt(format!("note {n}").as_bytes())).await;
    }
    let future = primary.encrypt_at(
        b"{\"n\": 11}",
        timber::crypto::fernet::unix_now() + 3600,
        [7; 16],
    );
    plant(11, "profile", wrap_for_column(&future, &ColumnType::Json)).await;
    let ancient = primary.encrypt_at(b"{\"n\": 12}", 1_000_000_000, [9; 16]);
    plant(12, "profile", wrap_for_column(&ancient, &ColumnType::Json)).await;
    let copied = stored(store, models, "Account", &id(1), "notes")
        .await
        .unwrap();
    plant(11, "notes", copied).await;
    // SCHEMA: legacy and stale search hashes; a hand-made narrow table with an index on
    // ciphertext, an extra column and a missing one; a model whose table does not exist.
    plant(9, "email_hash", legacy_sha256(&email(9))).await;
    plant(10, "email_hash", legacy_sha256(&email(10))).await;
    plant(12, "email_hash", "0".repeat(64)).await;
    exec(
        &db,
        "CREATE TABLE hc_legacy (id VARCHAR(36) PRIMARY KEY, secret VARCHAR(120), \
               secret_hash VARCHAR(64), extra_col VARCHAR(10))",
    )
    .await;
    exec(&db, "CREATE INDEX hc_legacy_secret ON hc_legacy (secret)").await;
    // ROTATION: a running job whose worker went quiet 10 minutes ago, and a failed one.
    let quiet = (Utc::now() - chrono::Duration::minutes(10))
        .naive_utc()
        .format("%Y-%m-%d %H:%M:%S");
    exec(&db, &format!(
        "INSERT INTO timber_rotation_jobs (table_name, columns, target_fp, status, started_at, \
         updated_at, heartbeat_at, rows_failed) VALUES \
         ('hc_accounts', '[\"notes\"]', 'fp:000000000000', 'running', '{quiet}', '{quiet}', '{quiet}', 0), \
         ('hc_accounts', '[\"email\"]', 'fp:000000000000', 'failed', '{quiet}', '{quiet}', '{quiet}', 4)")).await;
    // AUDIT: three entries, then the second one edited in place.
    let log = AuditLog::open(store, ring).await.unwrap();
    for n in 1..=3 {
        log.append(NewEntry {
            actor: "alice".into(),
            action: Action::Reveal,
            table_name: Some("hc_accounts".into()),
            record_id: Some(id(n)),
            fields: vec!["email".into()],
            detail: Detail::None,
        })
        .await
        .unwrap();
    }
    exec(
        &db,
        "UPDATE timber_audit_log SET actor = 'mallory' WHERE id = 2",
    )
    .await;

    let r = health(&s.settings, models, store).await;
    let m = Some("Account");
    use Severity::{Fail, Ok, Warn};
    expect(
        at(&r, "data.plaintext", m, Some("phone")),
        Fail,
        Some(2),
        &["a02", "a05"],
    );
    let undecryptable = of(&r, "data.undecryptable");
    assert_eq!(undecryptable.len(), 3, "{}", dump(&r));
    expect(
        at(&r, "data.undecryptable", m, Some("notes")),
        Fail,
        Some(1),
        &["a03"],
    );
    assert_eq!(
        at(&r, "data.undecryptable", m, Some("notes"))
            .evidence
            .to_json()["kind"],
        "malformed"
    );
    expect(
        at(&r, "data.undecryptable", m, Some("email")),
        Fail,
        Some(2),
        &["a04", "a06"],
    );
    assert_eq!(
        at(&r, "data.undecryptable", m, Some("email"))
            .evidence
            .to_json()["kind"],
        "unknown_key"
    );
    expect(
        at(&r, "data.undecryptable", m, Some("born")),
        Fail,
        Some(1),
        &["a07"],
    );
    assert_eq!(
        at(&r, "data.undecryptable", m, Some("born"))
            .evidence
            .to_json()["kind"],
        "corrupted"
    );
    // Counts agree with their nouns and verbs: one value is "1 token", not "1 tokens".
    assert_eq!(
        at(&r, "data.undecryptable", m, Some("born")).finding,
        "1 token authenticates under a configured key but does not decrypt to the column's type"
    );
    assert_eq!(
        at(&r, "data.undecryptable", m, Some("notes")).finding,
        "1 value is malformed: not a readable token (truncated, altered, not base64, or not text)"
    );
    assert_eq!(
        at(&r, "data.plaintext", m, Some("phone")).finding,
        "2 values are stored in clear, not as Fernet tokens"
    );
    expect(
        at(&r, "data.old_key", m, Some("notes")),
        Warn,
        Some(3),
        &["a08", "a09", "a10"],
    );
    expect(at(&r, "key.old_needed", None, None), Ok, Some(3), &[]);
    let stamps = of(&r, "data.timestamps");
    assert_eq!(stamps.len(), 2, "{}", dump(&r));
    for f in &stamps {
        assert_eq!(f.evidence.column.as_deref(), Some("profile"));
    }
    let kind_of = |f: &&timber::health::Finding| f.evidence.to_json()["kind"].clone();
    let future_f = stamps.iter().find(|f| kind_of(f) == "future").unwrap();
    expect(future_f, Warn, Some(1), &["a11"]);
    let ancient_f = stamps.iter().find(|f| kind_of(f) == "implausible").unwrap();
    expect(ancient_f, Warn, Some(1), &["a12"]);
    expect(
        at(&r, "data.duplicate_token", m, Some("notes")),
        Warn,
        Some(2),
        &["a01", "a11"],
    );

    let legacy = of(&r, "schema.legacy_hash");
    assert_eq!(legacy.len(), 2, "{}", dump(&r));
    let legacy_f = legacy.iter().find(|f| f.severity == Fail).unwrap();
    expect(legacy_f, Fail, Some(2), &["a09", "a10"]);
    assert_eq!(legacy_f.evidence.column.as_deref(), Some("email_hash"));
    let stale = legacy.iter().find(|f| f.severity == Warn).unwrap();
    expect(stale, Warn, Some(1), &["a12"]);

    let width = at(&r, "schema.column_width", Some("Legacy"), Some("secret"));
    let narrow = if kind == Kind::Sqlite { Warn } else { Fail };
    expect(width, narrow, None, &[]);
    let ev = width.evidence.to_json();
    assert_eq!(
        (ev["width"].as_u64(), ev["needed"].as_u64()),
        (Some(120), Some(228))
    );
    assert_eq!(of(&r, "schema.column_width").len(), 1, "{}", dump(&r));
    let indexed = at(
        &r,
        "schema.encrypted_indexed",
        Some("Legacy"),
        Some("secret"),
    );
    expect(indexed, Warn, None, &[]);
    assert!(
        indexed.finding.contains("hc_legacy_secret"),
        "{}",
        indexed.finding
    );
    expect(
        at(
            &r,
            "schema.blind_index_unindexed",
            Some("Legacy"),
            Some("secret_hash"),
        ),
        Warn,
        None,
        &[],
    );
    assert_eq!(of(&r, "schema.blind_index_unindexed").len(), 1);
    let drift: Vec<_> = of(&r, "schema.drift");
    let ghost = drift
        .iter()
        .find(|f| f.evidence.model.as_deref() == Some("Ghost"))
        .unwrap();
    expect(ghost, Fail, None, &[]);
    let gone = drift
        .iter()
        .find(|f| f.evidence.model.as_deref() == Some("Legacy") && f.severity == Fail)
        .unwrap();
    expect(gone, Fail, Some(1), &[]);
    assert!(gone.finding.contains("gone"));
    let extra = drift
        .iter()
        .find(|f| f.evidence.model.as_deref() == Some("Legacy") && f.severity == Ok)
        .unwrap();
    assert!(extra.finding.contains("extra_col"), "{}", extra.finding);
    expect(
        at(&r, "schema.mixin", Some("Legacy"), None),
        Warn,
        Some(1),
        &[],
    );
    expect(
        at(&r, "audit.coverage", Some("Legacy"), None),
        Warn,
        None,
        &[],
    );
    assert_eq!(of(&r, "audit.coverage").len(), 1, "Account is audited");

    let chain = at(&r, "audit.chain", None, None);
    expect(chain, Fail, Some(4), &["2"]); // the genesis and three entries
    assert_eq!(chain.evidence.to_json()["damage"], "altered");
    let jobs = of(&r, "rotation.stalled");
    assert_eq!(jobs.len(), 2, "{}", dump(&r));
    assert!(
        jobs.iter()
            .all(|f| f.severity == Warn && f.evidence.table.as_deref() == Some("hc_accounts"))
    );
    assert!(
        jobs.iter()
            .any(|f| f.finding.contains("running") && f.evidence.count == Some(0))
    );
    assert!(
        jobs.iter()
            .any(|f| f.finding.contains("failed") && f.evidence.count == Some(4))
    );

    // What was not planted stays ok, and the whole report fails (exit 2).
    all_ok(
        &r,
        &[
            "key.primary",
            "key.master",
            "key.distinct",
            "key.age",
            "key.weak",
            "conn.tls",
            "env.plaintext_secret",
            "audit.enabled",
        ],
    );
    assert_eq!((r.status(), r.exit_code()), (Fail, 2));
    // Planting did not go through the writer: the rows are still where they were.
    assert_eq!(r.facts.rows_scanned, 12);
    s.store.close().await;
    db.drop_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn planted_problems_are_found_sqlite() {
    planted_problems_are_found(Kind::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn planted_problems_are_found_postgres() {
    planted_problems_are_found(Kind::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn planted_problems_are_found_mysql() {
    planted_problems_are_found(Kind::Mysql).await;
}
