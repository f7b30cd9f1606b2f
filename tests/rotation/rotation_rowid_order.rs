//! On SQLite a rotation walks a table in rowid order (the order its pages are in), not
//! key order: a Timber table's keys are uuid4s, and in key order every batch touched pages
//! all over the table (issue 17). Its chunk bounds and cursors are then rowids, written by
//! key with the same compare-and-set. A table without a rowid is walked by key as before.
//!
//! Attacked here: keys inserted in an order unrelated to their sort order, two chunks
//! (a bound in the middle), small batches (many cursors), and a `WITHOUT ROWID` table.

use crate::rotation_support;
use crate::store_support;

use crate::fixture::models;
use rotation_support::{
    MASTER_KEY, NEW_KEY, OLD_KEY, json_lines, ring_new_only, ring_old, timber, write_policy,
};
use store_support::{Kind, TestDb};
use timber::crypto::KeyId;
use timber::rotation::{JobOptions, RowOrder};
use timber::store::{Cell, PageRequest};
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

/// Seeds `ROWS` rows under the old key, rotates them with `timber rotate --all` in batches
/// of 500, and checks every value; returns the job's options and its final cursor.
async fn rotate(db: &TestDb, without_rowid: bool) -> (JobOptions, Option<String>) {
    let model = models(MODELS).remove(0);
    let store = db.store().await;
    if without_rowid {
        store_support::exec(
            Kind::Sqlite,
            &db.url,
            "CREATE TABLE codes (id VARCHAR(36) NOT NULL PRIMARY KEY, email VARCHAR(1444)) \
             WITHOUT ROWID"
                .to_string(),
        )
        .await;
    }
    store
        .init(std::slice::from_ref(&model))
        .await
        .expect("init");
    let rows: Vec<_> = (1..=ROWS)
        .map(|i| {
            vec![
                ("id".into(), Value::Text(key(i))),
                ("email".into(), email(i)),
            ]
        })
        .collect();
    store
        .insert_many(&model, &ring_old(), &rows, None)
        .await
        .expect("seed rows under the old key");

    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir(dir.path().join("models")).unwrap();
    std::fs::write(dir.path().join("models/codes.yaml"), MODELS).unwrap();
    let policy = write_policy(dir.path());
    let env = format!(
        "DATABASE_URL={}\nENCRYPTION_KEY={NEW_KEY}\nENCRYPTION_KEY_OLD={OLD_KEY}\nMASTER_ENCRYPTION_KEY={MASTER_KEY}\nTIMBER_MODELS=models\n{policy}TIMBER_USER=rotation-test\n",
        db.url
    );
    std::fs::write(dir.path().join(".env"), env).unwrap();
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

    let ring = ring_new_only();
    let mut request = Some(PageRequest::first(1000));
    let mut seen = 0;
    while let Some(req) = request {
        let page = store.page(&model, &ring, &req).await.expect("page");
        for record in &page.records {
            let Value::Text(id) = &record.id else {
                panic!("text ids")
            };
            let i: usize = id[24..].parse().expect("seeded key");
            match record.cell(&model, "email") {
                Some(Cell::Decrypted { value, key, .. }) => {
                    assert_eq!(value, &email(i), "row {id}: plaintext changed");
                    assert_eq!(key, &KeyId::Primary, "row {id}: still under the old key");
                }
                other => panic!("row {id}: unreadable with the new key alone: {other:?}"),
            }
            seen += 1;
        }
        request = page.next(1000);
    }
    assert_eq!(seen, ROWS, "every row still there, none twice");
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
    let (options, cursor) = rotate(&db, false).await;
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
    let (options, cursor) = rotate(&db, true).await;
    assert_eq!(options.order, RowOrder::Key);
    let last_key = (1..=ROWS).map(key).max().unwrap();
    assert_eq!(cursor.as_deref(), Some(last_key.as_str()));
    db.drop_all().await;
}
