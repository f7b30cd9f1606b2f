//! SQLite under faults a real deployment meets: another process holding the write lock
//! (busy), and a full disk. Each must end in a clear message naming the operation and the
//! table, with no half-written batch, and a retry after the fault clears must succeed.
//!
//! The lock is held by a real `sqlite3` process (`BEGIN IMMEDIATE`); the full disk is
//! SQLite's own size limit (`PRAGMA max_page_count`, the store's `max_page_count` knob),
//! which fails exactly as a full file system does (SQLITE_FULL).

use crate::store_support;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::fixture::models;
use crate::fixture_ring::ring;
use store_support::{Kind, TestDb};
use timber::config::ModelDef;
use timber::store::{Store, StoreConfig};
use timber::value::Value;

const MODELS: &str = r#"
models:
  - name: Note
    table_name: notes
    columns:
      - { name: id, type: Integer, primary_key: true }
      - { name: body, type: Text, encrypted: true }
"#;

fn model() -> ModelDef {
    models(MODELS).remove(0)
}

fn rows(from: i64, n: i64, size: usize) -> Vec<Vec<(String, Value)>> {
    (from..from + n)
        .map(|i| {
            vec![
                ("id".to_string(), Value::Int(i)),
                (
                    "body".to_string(),
                    Value::Text(format!("note {i} {}", "x".repeat(size))),
                ),
            ]
        })
        .collect()
}

fn config(url: &str, busy: Duration, max_pages: Option<u32>) -> StoreConfig {
    let mut config = StoreConfig::from_url(url).expect("sqlite url");
    config.busy_timeout = busy;
    config.max_page_count = max_pages;
    config
}

/// A database with the table and `n` rows.
async fn seeded(n: i64) -> (TestDb, Store) {
    let db = TestDb::new(Kind::Sqlite).await.expect("sqlite always runs");
    let mut create = StoreConfig::from_url(&db.url).unwrap();
    create.create_if_missing = true;
    let store = Store::connect(create).await.expect("create");
    store.init(&[model()]).await.expect("init");
    store
        .insert_many(&model(), &ring(), &rows(1, n, 10), None)
        .await
        .expect("seed");
    store.close().await;
    let store = Store::connect_url(&db.url).await.expect("reopen");
    (db, store)
}

async fn count(url: &str) -> u64 {
    let store = Store::connect_url(url).await.expect("open for count");
    let n = store.count_rows(&model()).await.expect("count").rows;
    store.close().await;
    n
}

/// A `sqlite3` process holding the database's write lock until released.
struct LockHolder(Child);

impl LockHolder {
    fn hold(path: &Path) -> LockHolder {
        let mut child = Command::new("sqlite3")
            .arg(path)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("sqlite3 runs");
        let stdin = child.stdin.as_mut().unwrap();
        // The row it writes inside the open transaction must never become visible.
        writeln!(
            stdin,
            "BEGIN IMMEDIATE;\nINSERT INTO notes (id, body) VALUES (999999, 'uncommitted');\n.print LOCKED"
        )
        .unwrap();
        stdin.flush().unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.as_mut().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "LOCKED", "sqlite3 took the lock");
        LockHolder(child)
    }

    fn release(mut self) {
        let stdin = self.0.stdin.as_mut().unwrap();
        writeln!(stdin, "ROLLBACK;\n.quit").unwrap();
        stdin.flush().unwrap();
        self.0.wait().unwrap();
    }
}

fn file_of(url: &str) -> &Path {
    Path::new(url.strip_prefix("sqlite://").unwrap())
}

#[tokio::test]
async fn a_write_while_another_process_holds_the_lock_fails_cleanly_and_retries() {
    let (db, store) = seeded(5).await;
    store.close().await;
    let impatient = Store::connect(config(&db.url, Duration::from_millis(200), None))
        .await
        .unwrap();

    let lock = LockHolder::hold(file_of(&db.url));
    let err = impatient
        .insert_many(&model(), &ring(), &rows(100, 50, 10), None)
        .await
        .expect_err("the lock is held past the busy timeout");
    let message = err.to_string();
    assert!(message.contains("database is locked"), "{message}");
    assert!(message.contains("`notes`"), "names the table: {message}");
    assert!(
        !message.contains("note 1"),
        "no value in the message: {message}"
    );
    // Nothing of the batch, nor of the other process's open transaction, is visible.
    lock.release();
    assert_eq!(count(&db.url).await, 5, "no half-written batch");

    // The same batch, retried once the lock is gone, is written whole.
    let written = impatient
        .insert_many(&model(), &ring(), &rows(100, 50, 10), None)
        .await
        .expect("retry after the lock is released");
    assert_eq!(written, 50);
    assert_eq!(count(&db.url).await, 55);
    impatient.close().await;
}

#[tokio::test]
async fn a_lock_released_within_the_busy_timeout_is_waited_for() {
    let (db, store) = seeded(5).await;
    store.close().await;
    let patient = Store::connect(config(&db.url, Duration::from_secs(20), None))
        .await
        .unwrap();
    let lock = LockHolder::hold(file_of(&db.url));
    let writer = tokio::spawn(async move {
        let result = patient
            .insert_many(&model(), &ring(), &rows(100, 10, 10), None)
            .await
            .map_err(|e| e.to_string());
        patient.close().await;
        result
    });
    // Let the writer start waiting on the lock, then give the lock up.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !writer.is_finished(),
        "the writer waits while the lock is held"
    );
    lock.release();
    let written = writer
        .await
        .unwrap()
        .expect("written once the lock is free");
    assert_eq!(written, 10);
    assert_eq!(count(&db.url).await, 15);
}

#[tokio::test]
async fn a_full_disk_fails_the_batch_whole_with_a_clear_message() {
    let (db, store) = seeded(20).await;
    store.close().await;
    // SQLite clamps the limit to the current size: the file may not grow at all.
    let full = Store::connect(config(&db.url, Duration::from_secs(5), Some(1)))
        .await
        .unwrap();
    let err = full
        .insert_many(&model(), &ring(), &rows(1000, 200, 2000), None)
        .await
        .expect_err("no room for 200 rows of 2 kB");
    let message = err.to_string();
    assert!(message.contains("database or disk is full"), "{message}");
    assert!(message.contains("`notes`"), "names the table: {message}");
    assert!(
        !message.contains("xxxx"),
        "no value in the message: {message}"
    );
    full.close().await;
    assert_eq!(count(&db.url).await, 20, "none of the batch was kept");

    // Every row written before the fault still reads back.
    let store = Store::connect_url(&db.url).await.unwrap();
    let page = store
        .page(&model(), &ring(), &timber::store::PageRequest::first(100))
        .await
        .expect("page");
    assert_eq!(page.records.len(), 20);
    for record in &page.records {
        let body = crate::store_only::value(&model(), record, "body");
        assert!(matches!(body, Value::Text(t) if t.starts_with("note ")));
    }
    // Space freed (no limit): the same batch goes in whole.
    let written = store
        .insert_many(&model(), &ring(), &rows(1000, 200, 2000), None)
        .await
        .expect("room again");
    assert_eq!(written, 200);
    store.close().await;
    assert_eq!(count(&db.url).await, 220);
}

/// A bulk load stopped part-way (the loader failed, or was dropped) keeps none of its rows,
/// even those its writing thread had already stepped.
#[tokio::test]
async fn a_bulk_insert_dropped_before_finish_keeps_nothing() {
    let (db, store) = seeded(5).await;
    let model = model();
    let mut bulk = store.bulk_insert(&model, None).expect("open");
    bulk.push(&ring(), &rows(100, 3000, 10))
        .await
        .expect("first batch");
    bulk.push(&ring(), &rows(3100, 3000, 10))
        .await
        .expect("second batch");
    drop(bulk);
    // A write needs the lock the dropped load held: it waits (busy timeout) until the
    // writing thread has rolled back, then goes in.
    store
        .insert_many(&model, &ring(), &rows(9000, 1, 10), None)
        .await
        .expect("the lock is given back");
    store.close().await;
    assert_eq!(count(&db.url).await, 6, "nothing of the dropped load");

    // The same load finished is kept whole.
    let store = Store::connect_url(&db.url).await.unwrap();
    let mut bulk = store.bulk_insert(&model, None).expect("open");
    bulk.push(&ring(), &rows(100, 3000, 10)).await.unwrap();
    bulk.push(&ring(), &rows(3100, 3000, 10)).await.unwrap();
    assert_eq!(bulk.finish().await.expect("finish"), 6000);
    store.close().await;
    assert_eq!(count(&db.url).await, 6006);
}

/// A load one of whose batches fails keeps nothing, even if its caller goes on: the failure
/// is reported by that push or a later one (the file's writer runs behind the caller),
/// every push after it and the finish refuse, and the batches before it are not committed.
#[tokio::test]
async fn a_bulk_insert_with_a_failed_batch_keeps_nothing_and_says_so() {
    let (db, store) = seeded(5).await;
    let model = model();
    let mut bulk = store.bulk_insert(&model, None).expect("open");
    bulk.push(&ring(), &rows(100, 50, 10))
        .await
        .expect("first batch");
    // Key 1 is taken by the seeded rows: the writer fails on it.
    let mut reported = bulk.push(&ring(), &rows(1, 10, 10)).await.err();
    for n in 0..200 {
        if reported.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        reported = bulk.push(&ring(), &rows(1000 + n, 1, 10)).await.err();
    }
    let reported = reported.expect("the duplicate key is reported");
    assert!(
        reported.to_string().contains("UNIQUE") && reported.to_string().contains("`notes`"),
        "names the constraint and the table: {reported}"
    );
    let again = bulk
        .push(&ring(), &rows(500, 10, 10))
        .await
        .expect_err("a push after a failure is refused");
    assert!(
        again.to_string().contains("earlier batch"),
        "says why: {again}"
    );
    let finish = bulk.finish().await.expect_err("finish after a failure");
    assert!(
        finish.to_string().contains("`notes`"),
        "names the table: {finish}"
    );
    store.close().await;
    assert_eq!(
        count(&db.url).await,
        5,
        "nothing of the failed load is kept"
    );
}
