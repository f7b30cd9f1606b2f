//! On SQLite a rotation walks a table in rowid order (the order its pages are in), not
//! key order: a Timber table's keys are uuid4s, and in key order every batch touched pages
//! all over the table (issue 17). Its chunk bounds and cursors are then rowids, written by
//! key with the same compare-and-set. A table without a rowid is walked by key as before.
//!
//! Attacked here: keys inserted in an order unrelated to their sort order, two chunks
//! (a bound in the middle), small batches (many cursors), and a `WITHOUT ROWID` table.

use crate::rotation_support;
use crate::store_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::fixture::models;
use futures_util::FutureExt;
use rotation_support::{env_dir_with, json_lines, ring_new_only, ring_old, ring_rotating, timber};
use store_support::{Kind, TestDb};
use timber::config::ModelDef;
use timber::crypto::{KeyId, KeyRing};
use timber::rotation::{JobOptions, JobStatus, JobSummary, RowOrder, RunOptions, Runner};
use timber::store::{Cell, PageRequest, Store};
use timber::value::Value;

const MODELS: &str = r#"
models:
  - name: Code
    table_name: codes
    columns:
      - { name: id, type: String(36), primary_key: true }
      - { name: email, type: String(255), encrypted: true }
"#;

/// More than one chunk (10 000 rows each).
const ROWS: usize = 12_345;

/// Row i's key: its sort order is unrelated to i (as uuid4 keys are to insertion order).
fn key(i: usize) -> String {
    format!(
        "{:08x}-0000-4000-8000-{i:012}",
        (i as u64 * 2_654_435_761) % 4_294_967_291
    )
}

fn email(i: usize) -> Value {
    Value::Text(format!("code.{i}@example.com"))
}

/// Rows `1..=n` (text keys, `email(i)`), written under `ring`'s primary key.
async fn seed(store: &Store, model: &ModelDef, ring: &KeyRing, n: usize) {
    let rows: Vec<_> = (1..=n)
        .map(|i| {
            vec![
                ("id".into(), Value::Text(key(i))),
                ("email".into(), email(i)),
            ]
        })
        .collect();
    store
        .insert_many(model, ring, &rows, None)
        .await
        .expect("seed rows");
}

/// Every row's id, and its `email` as `ring` reads it: plaintext and key.
async fn emails(store: &Store, model: &ModelDef, ring: &KeyRing) -> Vec<(String, Value, KeyId)> {
    let mut out = Vec::new();
    let mut request = Some(PageRequest::first(1000));
    while let Some(req) = request {
        let page = store.page(model, ring, &req).await.expect("page");
        for record in &page.records {
            let Value::Text(id) = &record.id else {
                panic!("text ids")
            };
            match record.cell(model, "email") {
                Some(Cell::Decrypted { value, key, .. }) => {
                    out.push((id.clone(), value.clone(), key.clone()))
                }
                other => panic!("row {id}: unreadable: {other:?}"),
            }
        }
        request = page.next(1000);
    }
    out
}

/// The row number a seeded key names.
fn row_of(id: &str) -> usize {
    id[24..].parse().expect("seeded key")
}

/// Rotates `model` in batches of `batch` with the rotating ring while, between each batch's
/// read and its write, `moves` (given the batch's text keys) returns SQL that moves rows and
/// how many rows it moves. The rotation completes with no failure, and every moved row is a
/// counted conflict. Returns the summary and the rows moved.
async fn rotate_while_moving(
    store: &Store,
    db: &TestDb,
    model: &ModelDef,
    batch: u32,
    moves: fn(&[&str]) -> Option<(String, u64)>,
) -> (JobSummary, u64) {
    let moved = Arc::new(AtomicU64::new(0));
    let hook = {
        let (url, moved) = (db.url.clone(), moved.clone());
        move |ids: Vec<Value>| {
            let (url, moved) = (url.clone(), moved.clone());
            async move {
                let keys: Vec<&str> = ids
                    .iter()
                    .filter_map(|v| match v {
                        Value::Text(t) if t.len() == 36 => Some(t.as_str()),
                        _ => None,
                    })
                    .collect();
                if let Some((sql, rows)) = moves(&keys) {
                    store_support::exec(Kind::Sqlite, &url, sql).await;
                    moved.fetch_add(rows, Ordering::SeqCst);
                }
            }
            .boxed()
        }
    };
    let ring = ring_rotating();
    let mut runner = Runner::new(store, &ring, "rotation-test");
    runner.after_read = Some(Arc::new(hook));
    let options = RunOptions {
        batch: Some(batch),
        encrypt_plaintext: false,
    };
    let summary = runner.start(model, &options).await.expect("rotation runs");
    assert_eq!(summary.status, JobStatus::Completed);
    assert_eq!(
        summary.rows_failed, 0,
        "a moved row is retried by key, not failed"
    );
    let moved = moved.load(Ordering::SeqCst);
    assert!(
        summary.conflicts >= moved,
        "every moved row missed its write by rowid: {} < {moved}",
        summary.conflicts
    );
    (summary, moved)
}

/// Seeds `ROWS` rows under the old key, rotates them with `timber rotate --all` in batches
/// of 500, and checks every value; returns the job's options and its final cursor.
async fn rotate(db: &TestDb, table: Option<&str>) -> (JobOptions, Option<String>) {
    let model = models(MODELS).remove(0);
    let store = db.store().await;
    if let Some(table) = table {
        store_support::exec(Kind::Sqlite, &db.url, table.to_string()).await;
    }
    store
        .init(std::slice::from_ref(&model))
        .await
        .expect("init");
    seed(&store, &model, &ring_old(), ROWS).await;

    let dir = env_dir_with(&db.url, MODELS);
    let out = timber(
        dir.path(),
        &["rotate", "--all", "--batch", "500", "--format", "json"],
    );
    assert!(
        out.status.success(),
        "rotate failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    let done = json_lines(&out)
        .into_iter()
        .find(|e| e["event"] == "done")
        .expect("a done event");
    assert_eq!(done["rows_done"], ROWS, "every row rotated: {done}");

    // Read with the new key alone: a row still under the old key is unreadable.
    let read = emails(&store, &model, &ring_new_only()).await;
    for (id, value, key) in &read {
        assert_eq!(value, &email(row_of(id)), "row {id}: plaintext changed");
        assert_eq!(key, &KeyId::Primary, "row {id}: still under the old key");
    }
    assert_eq!(read.len(), ROWS, "every row still there, none twice");
    let job = done["job"].as_i64().expect("job id");
    let row = store.rotation_job(job).await.unwrap().expect("the job");
    let chunks = store.rotation_chunks(job).await.unwrap();
    assert_eq!(chunks.len(), 2, "12 345 rows make two chunks");
    store.close().await;
    (JobOptions::parse(row.options.as_deref()), row.cursor)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_rotation_walks_the_table_in_rowid_order() {
    let Some(db) = TestDb::new(Kind::Sqlite).await else {
        return;
    };
    let (options, cursor) = rotate(&db, None).await;
    assert_eq!(options.order, RowOrder::Rowid);
    // The last rowid, not the last key: rows were inserted 1..=ROWS.
    assert_eq!(cursor.as_deref(), Some(ROWS.to_string().as_str()));
    db.drop_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_table_without_rowid_is_walked_by_key() {
    let Some(db) = TestDb::new(Kind::Sqlite).await else {
        return;
    };
    let table = "CREATE TABLE codes (id VARCHAR(36) NOT NULL PRIMARY KEY, email VARCHAR(1444)) \
                 WITHOUT ROWID";
    let (options, cursor) = rotate(&db, Some(table)).await;
    assert_eq!(options.order, RowOrder::Key);
    let last_key = (1..=ROWS).map(key).max().unwrap();
    assert_eq!(cursor.as_deref(), Some(last_key.as_str()));
    db.drop_all().await;
}

/// A column the model does not declare, named `rowid`, is what `rowid` means in SQL: such
/// a table is walked by key (its `rowid` column may repeat or be NULL).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_column_named_rowid_keeps_key_order() {
    let Some(db) = TestDb::new(Kind::Sqlite).await else {
        return;
    };
    let table = "CREATE TABLE codes (id VARCHAR(36) NOT NULL PRIMARY KEY, \
                 email VARCHAR(1444), rowid INTEGER DEFAULT 7)";
    let (options, _) = rotate(&db, Some(table)).await;
    assert_eq!(options.order, RowOrder::Key);
    db.drop_all().await;
}

/// Integer keys an application chooses can be sparse: 300 rows and one at 2^62 span 2^62
/// rowids, which must make chunks by rows (here one), not by span (billions), and every row
/// is still rotated.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_sparse_rowids_make_a_bounded_number_of_chunks() {
    let Some(db) = TestDb::new(Kind::Sqlite).await else {
        return;
    };
    const SPARSE: &str = r#"
models:
  - name: Code
    table_name: codes
    columns:
      - { name: id, type: Integer, primary_key: true }
      - { name: email, type: String(255), encrypted: true }
"#;
    let model = models(SPARSE).remove(0);
    let store = db.store().await;
    store.init(std::slice::from_ref(&model)).await.unwrap();
    let far = 1_i64 << 62;
    let ids: Vec<i64> = (1..=300).chain([far]).collect();
    let rows: Vec<_> = ids
        .iter()
        .map(|&i| {
            vec![
                ("id".into(), Value::Int(i)),
                ("email".into(), email(i as usize)),
            ]
        })
        .collect();
    store
        .insert_many(&model, &ring_old(), &rows, None)
        .await
        .unwrap();
    let dir = env_dir_with(&db.url, SPARSE);
    let out = timber(dir.path(), &["rotate", "--all", "--format", "json"]);
    assert!(
        out.status.success(),
        "rotate failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let done = json_lines(&out)
        .into_iter()
        .find(|e| e["event"] == "done")
        .expect("a done event");
    assert_eq!(done["rows_done"], 301, "every row rotated: {done}");
    let job = done["job"].as_i64().unwrap();
    let chunks = store.rotation_chunks(job).await.unwrap();
    assert_eq!(
        chunks.len(),
        1,
        "301 rows make one chunk, whatever their span"
    );
    let ring = ring_new_only();
    let page = store
        .page(&model, &ring, &PageRequest::first(500))
        .await
        .unwrap();
    assert_eq!(page.records.len(), 301);
    for record in &page.records {
        let Value::Int(i) = record.id else {
            panic!("integer ids")
        };
        match record.cell(&model, "email") {
            Some(Cell::Decrypted { value, key, .. }) => {
                assert_eq!(value, &email(i as usize));
                assert_eq!(key, &KeyId::Primary);
            }
            other => panic!("row {i}: {other:?}"),
        }
    }
    store.close().await;
    db.drop_all().await;
}

/// The compare-and-set finds a row by the rowid it was read at, and still requires its key.
/// Attacked between each batch's read and its write (the batch hook), as a `VACUUM` or an
/// application would: one row moves to another rowid (its key and value unchanged), and a
/// second row moves away while a new row takes the rowid it left, holding a copy of its
/// stored value (so the expected value alone would match it). The moved rows are conflicts,
/// re-read by key and rotated; the row that took over a rowid is never written (the
/// rotation has passed its rowid, so it stays as it was, under the old key). Two chunks, so
/// a chunk's first page is also read ahead of its claim.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_row_that_changed_rowid_is_written_by_key_and_no_other_row_in_its_place() {
    let Some(db) = TestDb::new(Kind::Sqlite).await else {
        return;
    };
    let model = models(MODELS).remove(0);
    let store = db.store().await;
    store.init(std::slice::from_ref(&model)).await.unwrap();
    seed(&store, &model, &ring_old(), ROWS).await;
    let (_, moved) = rotate_while_moving(&store, &db, &model, 500, |keys| {
        let [first, second, ..] = keys[..] else {
            return None;
        };
        let sql = format!(
            "UPDATE codes SET rowid = (SELECT max(rowid) FROM codes) + 1 WHERE id = '{first}';
             CREATE TEMP TABLE left_at (r INTEGER);
             INSERT INTO left_at SELECT rowid FROM codes WHERE id = '{second}';
             UPDATE codes SET rowid = (SELECT max(rowid) FROM codes) + 1 WHERE id = '{second}';
             INSERT INTO codes (rowid, id, email) VALUES ((SELECT r FROM left_at),
                 'intruder-{second}', (SELECT email FROM codes WHERE id = '{second}'));"
        );
        Some((sql, 2))
    })
    .await;
    assert!(moved >= 40, "rows were moved under the rotation: {moved}");

    let (mut seeded, mut intruders) = (0, 0);
    for (id, value, key) in emails(&store, &model, &ring_rotating()).await {
        if let Some(copied) = id.strip_prefix("intruder-") {
            assert_eq!(value, email(row_of(copied)), "row {id}: plaintext changed");
            assert_eq!(
                key,
                KeyId::Old(1),
                "row {id} was written in another row's place"
            );
            intruders += 1;
        } else {
            assert_eq!(value, email(row_of(&id)), "row {id}: plaintext changed");
            assert_eq!(key, KeyId::Primary, "row {id}: still under the old key");
            seeded += 1;
        }
    }
    assert_eq!(seeded, ROWS, "every seeded row still there, none twice");
    assert_eq!(intruders as u64, moved / 2);
    store.close().await;
    db.drop_all().await;
}

/// A value already under the new key whose blind index is stale is written with its token
/// unchanged and its hash recomputed: its new value is its old one. Moved to another rowid
/// between the batch's read and its write, such a row holds everything the write expected
/// and its "new" value, yet the write by rowid missed it: it must still be found unwritten
/// (it is not at the rowid it was read at), re-read by key and rehashed. Found by its value
/// alone, it had looked written and kept its stale hash.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_moved_row_whose_hash_alone_is_stale_is_still_rehashed() {
    use sqlx::Connection;

    const INDEXED: &str = r#"
models:
  - name: Code
    table_name: codes
    columns:
      - { name: id, type: String(36), primary_key: true }
      - { name: email, type: String(255), encrypted: true, blind_index: email_bidx }
      - { name: email_bidx, type: String(64), indexed: true }
"#;
    const N: usize = 1_200;
    let Some(db) = TestDb::new(Kind::Sqlite).await else {
        return;
    };
    let model = models(INDEXED).remove(0);
    let store = db.store().await;
    store.init(std::slice::from_ref(&model)).await.unwrap();
    // Under the new key already; only the hashes need work.
    seed(&store, &model, &ring_rotating(), N).await;
    let stale = |url: String| async move {
        let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM codes WHERE email_bidx = 'stale'")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        n
    };
    store_support::exec(
        Kind::Sqlite,
        &db.url,
        "UPDATE codes SET email_bidx = 'stale'".into(),
    )
    .await;
    assert_eq!(stale(db.url.clone()).await, N as i64);

    let (_, moved) = rotate_while_moving(&store, &db, &model, 100, |keys| {
        let first = keys.first()?;
        // Behind the sweep: the rotation never meets the row again, so only the retry of
        // this batch can rehash it.
        let sql = format!(
            "UPDATE codes SET rowid = (SELECT min(rowid) FROM codes) - 1 WHERE id = '{first}'"
        );
        Some((sql, 1))
    })
    .await;
    assert!(moved >= 10, "rows were moved under the rotation: {moved}");
    assert_eq!(
        stale(db.url.clone()).await,
        0,
        "every stale hash recomputed, the moved rows' too"
    );
    store.close().await;
    db.drop_all().await;
}
