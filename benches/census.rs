//! The key census over SQLite: wall time for 100k, 1M and 2M encrypted values, the rate
//! per core (one classification worker vs two), and the floor of reading the same rows
//! without classifying them. Target: 1M values under 2 s on the 2-core machine.
//!
//! Layouts: four encrypted columns per row (the shape of Timber's models: 1M values =
//! 250k rows), and one encrypted column per row (1M values = 1M rows, the per-row worst
//! case). About one row in seven is under ENCRYPTION_KEY_OLD, so identification tries a
//! second key's HMAC for those. Databases are generated once through `Store::insert_many`
//! (real tokens) and cached in target/bench-data/census_*.db.
//!
//! Run: `cargo bench --bench census` (a plain timing harness; prints a table).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use timber::config::Flags;
use timber::config::{ModelDef, Settings, parse_models};
use timber::crypto::KeyRing;
use timber::health::table_job;
use timber::health::{Classifier, Depth};
use timber::health::{KeyConfig, ScanOptions, take_census};
use timber::store::{Store, StoreConfig};
use timber::value::Value;

const PRIMARY: &str = "YzpZgClxLl3CBp3nBLueMYrq95oNaQFcXsF3P122yPw=";
const OLD: &str = "fOND_spZ8wI-KrYha05MCmNPnCFRDjgkOwnancajTEQ=";
const BATCH: usize = 20_000;
const RUNS: usize = 3;

const FOUR: &str = r#"
models:
  - name: Wide
    table_name: census_wide
    columns:
      - { name: id, type: Integer, primary_key: true }
      - { name: email, type: String(255), encrypted: true }
      - { name: phone, type: String(64), encrypted: true }
      - { name: notes, type: Text, encrypted: true }
      - { name: memo, type: Text, encrypted: true }
"#;

const ONE: &str = r#"
models:
  - name: Narrow
    table_name: census_narrow
    columns:
      - { name: id, type: Integer, primary_key: true }
      - { name: email, type: String(255), encrypted: true }
"#;

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

fn value_of(column: &str, n: i64) -> Value {
    Value::Text(match column {
        "email" => format!("person.{n}@example.com"),
        "phone" => format!("+1-555-{:04}", n % 10_000),
        "notes" => format!("account {n}: renewal due, prefers email"),
        _ => format!("memo {n}"),
    })
}

/// The cached database of `rows` rows, generated on first use.
async fn database(model: &ModelDef, rows: i64) -> Store {
    let dir = data_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("census_{}_{rows}.db", model.table_name));
    if path.exists() {
        let store = open(&path, false).await;
        if store.count_rows(model).await.map(|c| c.rows).unwrap_or(0) == rows as u64 {
            return store;
        }
        store.close().await;
        std::fs::remove_file(&path).unwrap();
    }
    let building = path.with_extension("building");
    let _ = std::fs::remove_file(&building);
    let store = open(&building, true).await;
    store.init(std::slice::from_ref(model)).await.unwrap();
    let current = KeyRing::builder()
        .primary(PRIMARY, "ENCRYPTION_KEY")
        .unwrap()
        .build()
        .unwrap();
    let old = KeyRing::builder()
        .primary(OLD, "ENCRYPTION_KEY")
        .unwrap()
        .build()
        .unwrap();
    let columns: Vec<&str> = model.encrypted_columns().map(|c| c.name.as_str()).collect();
    let started = Instant::now();
    for start in (1..=rows).step_by(BATCH) {
        let end = (start + BATCH as i64).min(rows + 1);
        let row = |n: i64| -> Vec<(String, Value)> {
            let mut r = vec![("id".to_string(), Value::Int(n))];
            r.extend(columns.iter().map(|c| (c.to_string(), value_of(c, n))));
            r
        };
        let (olds, news): (Vec<i64>, Vec<i64>) = (start..end).partition(|n| n % 7 == 0);
        let news: Vec<_> = news.into_iter().map(row).collect();
        let olds: Vec<_> = olds.into_iter().map(row).collect();
        store
            .insert_many(model, &current, &news, None)
            .await
            .unwrap();
        store.insert_many(model, &old, &olds, None).await.unwrap();
    }
    eprintln!(
        "generated {rows} rows of {} in {:.1} s",
        model.table_name,
        started.elapsed().as_secs_f64()
    );
    store.close().await;
    std::fs::rename(&building, &path).unwrap();
    open(&path, false).await
}

fn keys() -> KeyConfig {
    let env: BTreeMap<String, String> = [("ENCRYPTION_KEY", PRIMARY), ("ENCRYPTION_KEY_OLD", OLD)]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let settings = Settings::from_sources(&Flags::default(), &env, &std::env::temp_dir()).unwrap();
    KeyConfig::from_settings(&settings)
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

/// Median wall time of a census with `workers` classification threads, checking its counts.
async fn census_time(store: &Store, model: &ModelDef, workers: usize, values: u64) -> Duration {
    let mut times = Vec::new();
    for _ in 0..RUNS {
        let keys = keys();
        let options = ScanOptions {
            workers,
            ..ScanOptions::default()
        };
        let started = Instant::now();
        let census = take_census(store, &[model], &keys, &options).await.unwrap();
        times.push(started.elapsed());
        let counted: u64 = census
            .columns
            .iter()
            .flat_map(|c| c.by_key.iter().map(|(_, n)| *n))
            .sum();
        assert_eq!(counted, values, "every value identified");
    }
    median(times)
}

/// Median wall time of reading the same rows raw (keyset pages, no classification).
async fn read_floor(store: &Store, model: &ModelDef) -> Duration {
    let columns: Vec<&str> = model.encrypted_columns().map(|c| c.name.as_str()).collect();
    let mut times = Vec::new();
    for _ in 0..RUNS {
        let started = Instant::now();
        let mut after: Option<Value> = None;
        loop {
            let page = store
                .raw_page(model, &columns, after.as_ref(), 4000)
                .await
                .unwrap();
            match page.last() {
                Some(last) => after = Some(last.id.clone()),
                None => break,
            }
        }
        times.push(started.elapsed());
    }
    median(times)
}

/// Median time of classifying rows already in memory on one thread: the per-core rate of
/// identification alone (base64 decode and HMAC per candidate key), without the read.
async fn classify_only(store: &Store, model: &ModelDef) -> Duration {
    let existing = store.table_columns(&model.table_name).await.unwrap();
    let job = table_job(model, &existing, false).unwrap();
    let fetch: Vec<&str> = job.fetch.iter().map(String::as_str).collect();
    let mut rows = Vec::new();
    let mut after: Option<Value> = None;
    loop {
        let page = store
            .raw_page(model, &fetch, after.as_ref(), 4000)
            .await
            .unwrap();
        match page.last() {
            Some(last) => after = Some(last.id.clone()),
            None => break,
        }
        rows.extend(page);
    }
    let mut times = Vec::new();
    for _ in 0..RUNS {
        let classifier = Classifier {
            ring: keys().ring.clone(),
            blind_key: None,
            depth: Depth::Census,
            now: 0,
        };
        let started = Instant::now();
        let stats = classifier.chunk(&job, &rows, 0);
        times.push(started.elapsed());
        assert!(stats.columns.iter().all(|c| c.unknown_key.count == 0));
    }
    median(times)
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let filter = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let cases: [(&str, &str, u64); 4] = [
        ("4 columns", FOUR, 100_000),
        ("4 columns", FOUR, 1_000_000),
        ("4 columns", FOUR, 2_000_000),
        ("1 column", ONE, 1_000_000),
    ];
    println!(
        "| layout | values | rows | read only | classify only, 1 core | census, 1 worker | census, 2 workers | values/s (census, 2 workers) | values/s per core (classify only) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for (layout, yaml, values) in cases {
        let label = format!("{layout} {values}");
        if filter.as_deref().is_some_and(|f| !label.contains(f)) {
            continue;
        }
        let model = parse_models(yaml, std::path::Path::new("bench.yaml"))
            .unwrap()
            .remove(0);
        let per_row = model.encrypted_columns().count() as u64;
        let rows = (values / per_row) as i64;
        rt.block_on(async {
            let store = database(&model, rows).await;
            let floor = read_floor(&store, &model).await;
            let classify = classify_only(&store, &model).await;
            let one = census_time(&store, &model, 1, values).await;
            let two = census_time(&store, &model, 2, values).await;
            let rate = |d: Duration| values as f64 / d.as_secs_f64();
            println!(
                "| {layout} | {values} | {rows} | {:.2} s | {:.2} s | {:.2} s | {:.2} s | {:.0} | {:.0} |",
                floor.as_secs_f64(),
                classify.as_secs_f64(),
                one.as_secs_f64(),
                two.as_secs_f64(),
                rate(two),
                rate(classify)
            );
            store.close().await;
        });
    }
}
