//! Fetching and decrypting one 50-row page (three encrypted fields) from a 1M-row SQLite
//! table, at the start, the middle and the end; target under 5 ms. The baseline is the same
//! page read raw (keys and tokens, no decryption) in the same run.
//!
//! The table is generated once (bulk insert through the store, so the tokens are real) and
//! cached in target/bench-data/; reruns reuse it.
//!
//! Run: `cargo bench --bench page_fetch`

use std::path::PathBuf;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use timber::config::{ModelDef, parse_models};
use timber::crypto::KeyRing;
use timber::store::{Cursor, PageRequest, Store, StoreConfig};
use timber::value::Value;

const ROWS: i64 = 1_000_000;
const PAGE: u32 = 50;
const BATCH: i64 = 20_000;
/// Every column but the key, so the raw baseline reads what the decrypted page reads.
const RAW_COLUMNS: [&str; 5] = ["user_id", "email", "phone", "notes", "created_at"];

const MODEL: &str = r#"
models:
  - name: Account
    table_name: accounts
    columns:
      - { name: id, type: Integer, primary_key: true }
      - { name: user_id, type: String(36), nullable: false }
      - { name: email, type: String(255), encrypted: true }
      - { name: phone, type: String(64), encrypted: true }
      - { name: notes, type: Text, encrypted: true }
      - { name: created_at, type: DateTime }
"#;

fn ring() -> KeyRing {
    KeyRing::builder()
        .primary(
            "YzpZgClxLl3CBp3nBLueMYrq95oNaQFcXsF3P122yPw=",
            "ENCRYPTION_KEY",
        )
        .and_then(|b| b.build())
        .expect("bench key")
}

fn model() -> ModelDef {
    parse_models(MODEL, std::path::Path::new("bench.yaml"))
        .expect("bench model")
        .remove(0)
}

fn data_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("bench-data")
}

async fn open(path: &std::path::Path, create: bool) -> Store {
    let mut config = StoreConfig::from_url(&format!("sqlite://{}", path.display())).unwrap();
    config.create_if_missing = create;
    Store::connect(config).await.expect("open bench database")
}

/// The cached 1M-row database, generated on first use.
async fn database(model: &ModelDef, ring: &KeyRing) -> Store {
    let dir = data_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("page_fetch_1m.db");
    if path.exists() {
        let store = open(&path, false).await;
        if store.count_rows(model).await.map(|c| c.rows).unwrap_or(0) == ROWS as u64 {
            return store;
        }
        store.close().await;
        std::fs::remove_file(&path).unwrap();
    }
    eprintln!("generating {ROWS} rows in {} (once)", path.display());
    let building = dir.join("page_fetch_1m.db.building");
    let _ = std::fs::remove_file(&building);
    let store = open(&building, true).await;
    store.init(std::slice::from_ref(model)).await.unwrap();
    let started = std::time::Instant::now();
    for start in (1..=ROWS).step_by(BATCH as usize) {
        let rows: Vec<Vec<(String, Value)>> = (start..start + BATCH)
            .map(|n| {
                vec![
                    ("id".into(), Value::Int(n)),
                    ("user_id".into(), Value::Text(format!("user-{}", n % 5000))),
                    (
                        "email".into(),
                        Value::Text(format!("person.{n}@example.com")),
                    ),
                    (
                        "phone".into(),
                        Value::Text(format!("+1-555-{:04}", n % 10_000)),
                    ),
                    (
                        "notes".into(),
                        Value::Text(format!("account {n}: renewal due, prefers email")),
                    ),
                ]
            })
            .collect();
        store.insert_many(model, ring, &rows, None).await.unwrap();
    }
    // The bulk-insert figure of BENCHMARKS.md: rows encrypted (three fields each) and written.
    eprintln!(
        "bulk insert: {ROWS} rows in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    store.close().await;
    std::fs::rename(&building, &path).unwrap();
    open(&path, false).await
}

fn page_fetch(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let model = model();
    let ring = ring();
    let store = rt.block_on(database(&model, &ring));
    let positions = [
        ("start", Cursor::First),
        ("middle", Cursor::After(Value::Int(ROWS / 2))),
        ("end", Cursor::After(Value::Int(ROWS - PAGE as i64))),
    ];
    let mut group = c.benchmark_group("page_fetch");
    group.measurement_time(Duration::from_secs(5));
    for (name, cursor) in &positions {
        let request = PageRequest {
            cursor: cursor.clone(),
            limit: PAGE,
        };
        let page = rt.block_on(store.page(&model, &ring, &request)).unwrap();
        assert_eq!(page.records.len(), PAGE as usize);
        assert!(
            page.records
                .iter()
                .all(|r| r.cells.iter().all(|c| c.value().is_some()))
        );
        group.bench_function(format!("decrypted/{name}"), |b| {
            b.iter(|| rt.block_on(store.page(&model, &ring, &request)).unwrap())
        });
        let after = match cursor {
            Cursor::After(v) => Some(v.clone()),
            _ => None,
        };
        group.bench_function(format!("raw/{name}"), |b| {
            b.iter(|| {
                rt.block_on(store.raw_page(&model, &RAW_COLUMNS, after.as_ref(), PAGE))
                    .unwrap()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, page_fetch);
criterion_main!(benches);
