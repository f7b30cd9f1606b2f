//! Verifying a 1M-entry audit chain; target at least 500k entries/s.
//!
//! - `chain_1m_in_memory`: the verifier alone (canonical encoding + HMAC-SHA256 per entry,
//!   link checks) over entries already in memory: the CPU cost of verification.
//! - `read_1m_sqlite_baseline`: the store's ordinary keyset pages (sqlx), nothing verified.
//! - `raw_read_1m_sqlite_floor`: the same rows stepped by SQLite itself (rusqlite, borrowed
//!   bytes): the database's own floor.
//! - `scan_1m_sqlite`: `Store::audit_scan`, the read verification uses on a SQLite file.
//! - `stored_1m_sqlite`: `timber audit --verify`'s path end to end: the scan, verified,
//!   then the head compared.
//! - `stored_1m_sqlite_chain_and_signed`: the console's and `--verify --public-key`'s path:
//!   one reading feeding the keyed chain and the Merkle tree checked against a signed
//!   checkpoint of all 1M entries.
//!
//! The SQLite log is generated once (the chain sealed in memory with the real audit key,
//! bulk-inserted in large transactions) and cached in target/bench-data/; reruns reuse it.
//!
//! Run: `cargo bench --bench audit_verify`

use std::path::PathBuf;
use std::time::Duration;

use chrono::NaiveDate;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sqlx::Connection;
use timber::audit::{AuditEntry, ChainVerifier, EntryContent};
use timber::audit::{AuditKey, GENESIS, from_hex, head_for, seal};
use timber::crypto::Key;
use timber::store::AuditRange;
use timber::store::{Store, StoreConfig};

const ENTRIES: i64 = 1_000_000;

fn key() -> AuditKey {
    AuditKey::from_master(&Key::from_bytes([0x24; 32]))
}

/// Realistic entries: a reveal with a reason, or an update with an encrypted-looking detail.
fn content(i: i64) -> EntryContent {
    let at = NaiveDate::from_ymd_opt(2026, 1, 1)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap()
        + chrono::Duration::milliseconds(i * 250);
    let (action, fields, detail) = if i % 3 == 0 {
        (
            "update",
            vec!["notes".to_string(), "email".to_string()],
            format!("gAAAAAB{:0>120}", i),
        )
    } else {
        (
            "reveal",
            vec!["email".to_string()],
            format!("{{\"reason\":\"ticket {i}\",\"role\":\"support\",\"scope\":\"cell\"}}"),
        )
    };
    EntryContent {
        created_at: at,
        actor: format!("user{}", i % 97),
        action: action.into(),
        table_name: Some("user_profiles".into()),
        record_id: Some(format!("{:08x}-4c1e-4b7a-9f00-{:012}", i % 5000, i)),
        fields,
        detail: Some(detail),
    }
}

fn chain(key: &AuditKey) -> Vec<AuditEntry> {
    let mut prev = GENESIS;
    (1..=ENTRIES)
        .map(|id| {
            let e = seal(key, &prev, id, content(id));
            prev = from_hex(&e.entry_hash).unwrap();
            e
        })
        .collect()
}

fn bench_in_memory(c: &mut Criterion) {
    let key = key();
    let entries = chain(&key);
    let last = entries.last().unwrap();
    let head = head_for(&key, last.id, &from_hex(&last.entry_hash).unwrap());
    let mut group = c.benchmark_group("audit_verify");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    group.throughput(Throughput::Elements(ENTRIES as u64));
    group.bench_function("chain_1m_in_memory", |b| {
        b.iter(|| {
            let mut v = ChainVerifier::new(&key, None);
            for e in &entries {
                v.push(e);
            }
            let report = v.finish(Some(&head));
            assert!(report.ok && report.entries == ENTRIES as u64);
        })
    });
    group.finish();
}

/// The cached 1M-entry SQLite log, generated on first use.
fn sqlite_log(rt: &tokio::runtime::Runtime) -> String {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-data");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("audit-1m-v1.db");
    let url = format!("sqlite://{}", path.display());
    if path.exists() {
        return url;
    }
    let partial = dir.join("audit-1m-v1.db.partial");
    let _ = std::fs::remove_file(&partial);
    let partial_url = format!("sqlite://{}", partial.display());
    rt.block_on(async {
        let mut config = StoreConfig::from_url(&partial_url).unwrap();
        config.create_if_missing = true;
        let store = Store::connect(config).await.unwrap();
        store.init(&[]).await.unwrap();
        store.close().await;
        let key = key();
        let entries = chain(&key);
        let mut conn = sqlx::SqliteConnection::connect(&partial_url).await.unwrap();
        for batch in entries.chunks(50_000) {
            let mut tx = conn.begin().await.unwrap();
            for e in batch {
                let c = &e.content;
                sqlx::query(
                    "INSERT INTO timber_audit_log (id, created_at, actor, action, table_name, \
                     record_id, fields, detail, prev_hash, entry_hash) VALUES (?,?,?,?,?,?,?,?,?,?)",
                )
                .bind(e.id)
                .bind(c.created_at)
                .bind(&c.actor)
                .bind(&c.action)
                .bind(&c.table_name)
                .bind(&c.record_id)
                .bind(serde_json::Value::from(c.fields.clone()).to_string())
                .bind(&c.detail)
                .bind(&e.prev_hash)
                .bind(&e.entry_hash)
                .execute(&mut *tx)
                .await
                .unwrap();
            }
            tx.commit().await.unwrap();
        }
        let last = entries.last().unwrap();
        let head = head_for(&key, last.id, &from_hex(&last.entry_hash).unwrap());
        sqlx::query(
            "INSERT INTO timber_audit_head (id, entry_id, entry_hash, mac, updated_at) VALUES (1, ?, ?, ?, ?)",
        )
        .bind(head.last_id)
        .bind(&head.last_hash)
        .bind(&head.head_mac)
        .bind(last.content.created_at)
        .execute(&mut conn)
        .await
        .unwrap();
        conn.close().await.unwrap();
    });
    std::fs::rename(&partial, &path).unwrap();
    url
}

fn bench_stored(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let url = sqlite_log(&rt);
    let store = rt
        .block_on(Store::connect(StoreConfig::from_url(&url).unwrap()))
        .unwrap();
    let key = key();
    let mut group = c.benchmark_group("audit_verify");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(40));
    group.throughput(Throughput::Elements(ENTRIES as u64));
    // Baseline: the same pages read and decoded, nothing verified.
    group.bench_function("read_1m_sqlite_baseline", |b| {
        b.iter(|| {
            let mut after = None;
            let mut rows = 0u64;
            loop {
                let range = AuditRange {
                    after,
                    limit: 5_000,
                    ..AuditRange::default()
                };
                let page = rt.block_on(store.audit_entries(&range)).unwrap();
                rows += page.len() as u64;
                match page.last() {
                    Some(last) if page.len() == 5_000 => after = Some(last.id),
                    _ => break,
                }
            }
            assert_eq!(rows, ENTRIES as u64);
        })
    });
    // The database's own floor: the same rows and columns stepped by SQLite, each column's
    // bytes touched, nothing decoded (what the `sqlite3` shell does to print them).
    let path = url.trim_start_matches("sqlite://").to_string();
    group.bench_function("raw_read_1m_sqlite_floor", |b| {
        b.iter(|| {
            let conn = rusqlite::Connection::open_with_flags(
                &path,
                rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
            )
            .unwrap();
            let mut st = conn
                .prepare(
                    "SELECT id, created_at, actor, action, table_name, record_id, fields, detail, \
                     prev_hash, entry_hash FROM timber_audit_log ORDER BY id",
                )
                .unwrap();
            let mut rows = st.query([]).unwrap();
            let (mut n, mut bytes) = (0u64, 0usize);
            while let Some(row) = rows.next().unwrap() {
                for i in 0..10 {
                    bytes += match row.get_ref(i).unwrap() {
                        rusqlite::types::ValueRef::Text(t) => t.len(),
                        _ => 8,
                    };
                }
                n += 1;
            }
            assert_eq!(n, ENTRIES as u64);
            std::hint::black_box(bytes);
        })
    });
    // Our read alone: `Store::audit_scan`, entries decoded and handed over, not verified.
    group.bench_function("scan_1m_sqlite", |b| {
        b.iter(|| {
            let mut n = 0u64;
            let done = rt
                .block_on(store.audit_scan(None, &mut |_| n += 1))
                .unwrap();
            assert_eq!(done.map(|d| d.0), Some(ENTRIES as u64));
            assert_eq!(n, ENTRIES as u64);
        })
    });
    group.bench_function("stored_1m_sqlite", |b| {
        b.iter(|| {
            let report = rt
                .block_on(timber::audit::query::verify(&store, &key, None))
                .unwrap();
            assert!(report.ok, "{report:?}");
            assert_eq!(report.entries, ENTRIES as u64);
        })
    });
    // What the console and `--verify --public-key` do: the keyed chain and a signed
    // checkpoint over all 1M entries (Merkle tree rebuilt, signature checked), one reading.
    let signer = timber::crypto::signed_note::NoteSigner::generate("bench").unwrap();
    rt.block_on(async {
        let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
        sqlx::query("DELETE FROM timber_audit_checkpoints")
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
        timber::audit::checkpoint::write_checkpoint(&store, &signer)
            .await
            .unwrap();
    });
    let verifier = signer.verifier();
    group.bench_function("stored_1m_sqlite_chain_and_signed", |b| {
        b.iter(|| {
            let both = rt
                .block_on(timber::audit::query::verify_log(
                    &store,
                    Some((&key, None)),
                    None,
                    Some((&verifier, None)),
                ))
                .unwrap();
            let (chain, public) = (both.chain.unwrap(), both.public.unwrap());
            assert!(chain.ok && public.ok, "{chain:?} {public:?}");
            assert_eq!(public.verified_to.map(|v| v.size), Some(ENTRIES as u64));
        })
    });
    group.finish();
    rt.block_on(store.close());
}

criterion_group!(benches, bench_in_memory, bench_stored);
criterion_main!(benches);
