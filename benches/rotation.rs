//! Rotation throughput against a raw rewrite, and rotation's peak memory.
//!
//! For each backend (SQLite in a temp file; PostgreSQL when TIMBER_TEST_POSTGRES_URL is
//! set), N rows with two encrypted columns are written under an old key, then:
//! - rotation: `Runner::start` with fixed batches (decrypt, re-encrypt, compare-and-set,
//!   cursor and counters in the batch's transaction);
//! - raw rewrite: the same rows and columns, the same pages and batch size, the same
//!   compare-and-set statements in one transaction per batch, with no crypto (each stored
//!   token written back as it is) and no job bookkeeping. It runs once before and once
//!   after the rotation and the two are averaged, so cache warmth and table bloat do not
//!   favour either side.
//!
//! Rotation's peak resident memory is measured by resetting the process's high-water mark
//! (`/proc/self/clear_refs`) after seeding and reading `VmHWM` after the rotation.
//!
//! `cargo bench --bench rotation` (TIMBER_BENCH_ROWS=100000 by default, comma list allowed,
//! TIMBER_BENCH_BATCH=2000). Results are recorded in BENCHMARKS.md.

use std::time::Instant;

use sqlx::Connection;
use timber::config::{ModelDef, parse_models};
use timber::crypto::KeyRing;
use timber::rotation::{RunOptions, Runner};
use timber::store::ColumnCas;
use timber::store::{Store, StoreConfig};
use timber::value::Value;

const OLD_KEY: &str = "YzpZgClxLl3CBp3nBLueMYrq95oNaQFcXsF3P122yPw=";
const NEW_KEY: &str = "80JmBCWN2hWg9fUDOdWEpVRhucxuJkgGDaLaqT5K5c4=";
const MODEL: &str = r#"
models:
  - name: Bench
    table_name: bench_rotation
    columns:
      - { name: id, type: Integer, primary_key: true }
      - { name: email, type: String(255), encrypted: true }
      - { name: notes, type: Text, encrypted: true }
"#;

fn ring(primary: &str, old: Option<&str>) -> KeyRing {
    let mut b = KeyRing::builder()
        .primary(primary, "ENCRYPTION_KEY")
        .unwrap();
    if let Some(old) = old {
        b = b.old(old, "ENCRYPTION_KEY_OLD").unwrap();
    }
    b.build().unwrap()
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

async fn seed(store: &Store, model: &ModelDef, rows: i64) {
    store.init(std::slice::from_ref(model)).await.unwrap();
    let old = ring(OLD_KEY, None);
    let mut chunk = Vec::with_capacity(5000);
    for i in 1..=rows {
        chunk.push(vec![
            ("id".to_string(), Value::Int(i)),
            (
                "email".to_string(),
                Value::Text(format!("person.{i}@example.com")),
            ),
            (
                "notes".to_string(),
                Value::Text(format!("note {i}: some longer free text about the account")),
            ),
        ]);
        if chunk.len() == 5000 || i == rows {
            store.insert_many(model, &old, &chunk, None).await.unwrap();
            chunk.clear();
        }
    }
}

/// The same pages, batches and compare-and-set statements as rotation, without crypto.
async fn raw_rewrite(store: &Store, model: &ModelDef, batch: u32) -> u64 {
    let columns: Vec<_> = model.encrypted_columns().collect();
    let mut after: Option<Value> = None;
    let mut rows = 0u64;
    loop {
        let page = store
            .rotation_page(model, &columns, None, after.as_ref(), batch)
            .await
            .unwrap();
        let Some(last) = page.last() else { break };
        after = Some(last.id.clone());
        let mut tx = store.rotation_begin(model).await.unwrap();
        for (ci, column) in columns.iter().enumerate() {
            let updates: Vec<ColumnCas> = page
                .iter()
                .filter_map(|r| {
                    // The stored text written back as it is: still a full row write on
                    // every backend (SQLite rewrites the page, PostgreSQL a new tuple), and
                    // non-destructive, so it can run before and after the rotation.
                    let old = r.values[ci].clone()?;
                    Some(ColumnCas {
                        id: r.id.clone(),
                        expected: old.clone(),
                        new: old,
                        hash: None,
                        rowid: None,
                    })
                })
                .collect();
            tx.compare_and_set_column(column, None, &updates)
                .await
                .unwrap();
        }
        tx.commit().await.unwrap();
        rows += page.len() as u64;
    }
    rows
}

async fn bench(name: &str, url: &str, rows: i64, batch: u32) {
    let model = parse_models(MODEL, std::path::Path::new("bench.yaml"))
        .unwrap()
        .remove(0);
    let mut config = StoreConfig::from_url(url).unwrap();
    config.create_if_missing = true;
    let store = Store::connect(config).await.unwrap();
    seed(&store, &model, rows).await;
    let start = Instant::now();
    let rewritten = raw_rewrite(&store, &model, batch).await;
    let mut raw_secs = start.elapsed().as_secs_f64();
    assert_eq!(rewritten, rows as u64);
    let rotating = ring(NEW_KEY, Some(OLD_KEY));
    reset_peak_rss();
    let start = Instant::now();
    let summary = Runner::new(&store, &rotating, "bench")
        .start(
            &model,
            &RunOptions {
                batch: Some(batch),
                encrypt_plaintext: false,
            },
        )
        .await
        .unwrap();
    let rotate_secs = start.elapsed().as_secs_f64();
    let peak = peak_rss_kib();
    assert_eq!(summary.rows_done, rows as u64, "{summary:?}");
    let start = Instant::now();
    raw_rewrite(&store, &model, batch).await;
    raw_secs = (raw_secs + start.elapsed().as_secs_f64()) / 2.0;
    let (rot_rate, raw_rate) = (rows as f64 / rotate_secs, rows as f64 / raw_secs);
    println!(
        "{name:<8} rows={rows:<8} batch={batch:<5} rotate={rot_rate:>9.0} rows/s ({rotate_secs:.2} s)  \
         raw={raw_rate:>9.0} rows/s ({raw_secs:.2} s)  ratio={:.2}  rotation peak RSS={} MiB",
        rot_rate / raw_rate,
        peak / 1024
    );
    store.close().await;
}

fn main() {
    // `cargo test --benches` runs bench targets with no arguments but `--bench` absent;
    // only measure when asked to (cargo bench passes `--bench`).
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let sizes: Vec<i64> = std::env::var("TIMBER_BENCH_ROWS")
        .unwrap_or_else(|_| "100000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let batch: u32 = std::env::var("TIMBER_BENCH_BATCH")
        .ok()
        .and_then(|b| b.parse().ok())
        .unwrap_or(2000);
    let backends: Vec<String> = std::env::var("TIMBER_BENCH_BACKENDS")
        .unwrap_or_else(|_| "sqlite,postgres".into())
        .split(',')
        .map(str::to_string)
        .collect();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    for rows in sizes {
        if backends.iter().any(|b| b == "sqlite") {
            let dir = tempfile::tempdir().unwrap();
            let url = format!("sqlite://{}", dir.path().join("bench.db").display());
            rt.block_on(bench("sqlite", &url, rows, batch));
        }
        if backends.iter().any(|b| b == "postgres") {
            let Ok(admin) = std::env::var("TIMBER_TEST_POSTGRES_URL") else {
                eprintln!("SKIP: TIMBER_TEST_POSTGRES_URL not set; PostgreSQL not measured");
                continue;
            };
            let schema = format!("timber_bench_{}", std::process::id());
            rt.block_on(async {
                let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap();
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
                    .execute(&mut conn)
                    .await
                    .unwrap();
                let sep = if admin.contains('?') { '&' } else { '?' };
                let url = format!("{admin}{sep}options=-c%20search_path%3D{schema}");
                bench("postgres", &url, rows, batch).await;
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
                    .execute(&mut conn)
                    .await
                    .unwrap();
            });
        }
    }
}
