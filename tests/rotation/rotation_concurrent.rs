//! A live application keeps writing while a rotation runs: some writes land exactly between
//! a batch's read and its transaction (the batch hook), others at random. None is lost:
//! every row ends with the application's last value, all under the new key; the writes
//! that made a compare-and-set miss are counted as conflicts and the rows re-read and
//! retried, and no row is recorded as failed. SQLite and PostgreSQL.

use crate::rotation_support;
use crate::store_support;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::rotation_only::*;
use futures_util::FutureExt;
use rand::Rng;
use rotation_support::*;
use store_support::Kind;
use timber::rotation::{JobStatus, RunOptions, Runner};
use timber::store::{Store, WriteContext};
use timber::value::Value;

pub(crate) type Written = Arc<Mutex<HashMap<i64, Vec<(String, Value)>>>>;

/// The application's update of row `id` (under its primary, the new key), remembered;
/// `notes_only` changes one column and leaves the other as it was (still to be rotated).
pub(crate) async fn app_write(
    store: &Store,
    written: &Written,
    id: i64,
    tag: u64,
    notes_only: bool,
) {
    let ring = ring_new_only();
    let mut values = row_values(id);
    for (name, value) in values.iter_mut() {
        match name.as_str() {
            "email" if !notes_only => {
                *value = Value::Text(format!("changed.{id}.{tag}@example.com"))
            }
            "notes" => *value = Value::Text(format!("app wrote {tag}")),
            _ => {}
        }
    }
    let changes: Vec<(String, Value)> = values
        .iter()
        .filter(|(n, _)| (n == "email" && !notes_only) || n == "notes")
        .cloned()
        .collect();
    // SQLite refuses a deferred transaction's upgrade to a writer while another holds the
    // write lock ("database is locked", without waiting): an application retries, as here.
    let mut attempts = 0;
    while let Err(e) = store
        .update(
            &model(),
            &ring,
            &Value::Int(id),
            &changes,
            WriteContext::default(),
        )
        .await
    {
        attempts += 1;
        assert!(
            attempts < 200 && e.to_string().contains("locked"),
            "application write: {e}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    written.lock().unwrap().insert(id, values);
}

async fn writes_survive(kind: Kind) {
    let Some(db) = new_db(kind).await else { return };
    let rows = 1500;
    let store = db.store().await;
    seed(&store, rows, 0).await;
    let written: Written = Arc::default();
    let hook_writes = Arc::new(AtomicU64::new(0));
    let one_column_writes = Arc::new(AtomicU64::new(0));
    let hook = {
        let (store, written, hook_writes, one_column_writes) = (
            store.clone(),
            written.clone(),
            hook_writes.clone(),
            one_column_writes.clone(),
        );
        move |ids: Vec<Value>| {
            let (store, written, hook_writes, one_column_writes) = (
                store.clone(),
                written.clone(),
                hook_writes.clone(),
                one_column_writes.clone(),
            );
            async move {
                // Two odd rows of every batch change after the batch was read (the
                // background writer only touches even rows, so these were under the old
                // key when read: each must make both columns' compare-and-set miss).
                let odd: Vec<i64> = ids
                    .iter()
                    .filter_map(|v| match v {
                        Value::Int(i) if i % 2 == 1 => Some(*i),
                        _ => None,
                    })
                    .collect();
                for pick in [0, odd.len() / 2] {
                    if let Some(id) = odd.get(pick) {
                        let tag = hook_writes.fetch_add(1, Ordering::SeqCst);
                        app_write(&store, &written, *id, tag, false).await;
                    }
                }
                // A third changes one column only: a row is written with all its columns
                // or none, so its email (unchanged, still under the old key) is retried
                // and rotated, and the application's notes are kept.
                if let Some(id) = odd.get(odd.len() / 2 + 1) {
                    let tag = hook_writes.fetch_add(1, Ordering::SeqCst);
                    one_column_writes.fetch_add(1, Ordering::SeqCst);
                    app_write(&store, &written, *id, tag, true).await;
                }
            }
            .boxed()
        }
    };
    let stop = Arc::new(AtomicBool::new(false));
    let background = {
        let (store, written, stop) = (store.clone(), written.clone(), stop.clone());
        tokio::spawn(async move {
            let mut tag = 1_000_000;
            while !stop.load(Ordering::SeqCst) {
                let id = rand::rng().random_range(1..=rows / 2) * 2;
                app_write(&store, &written, id, tag, false).await;
                tag += 1;
                tokio::task::yield_now().await;
            }
        })
    };
    let ring = ring_rotating();
    let mut runner = Runner::new(&store, &ring, "rotation-test");
    runner.after_read = Some(Arc::new(hook));
    let options = RunOptions {
        batch: Some(50),
        encrypt_plaintext: false,
    };
    let summary = runner
        .start(&model(), &options)
        .await
        .expect("rotation runs");
    stop.store(true, Ordering::SeqCst);
    background.await.unwrap();
    assert_eq!(summary.status, JobStatus::Completed);
    assert_eq!(summary.rows_failed, 0, "conflicts are retried, not failed");
    // Both columns of a row both writes changed miss; of a one-column write at least that
    // column (SQLite and MySQL write a row whole, so both count there).
    let one_column = one_column_writes.load(Ordering::SeqCst);
    let least = 2 * (hook_writes.load(Ordering::SeqCst) - one_column) + one_column;
    assert!(
        one_column > 0 && summary.conflicts >= least,
        "every write between read and update is a counted conflict: {} < {least}",
        summary.conflicts,
    );
    assert_eq!(summary.rows_done + summary.rows_skipped, rows as u64);
    let written = written.lock().unwrap().clone();
    assert!(
        written.len() > 30,
        "the application wrote during the rotation"
    );
    assert_all_under_new_key(&store, rows, &written).await;
    store.close().await;
    db.drop_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_concurrent_writes_are_never_overwritten() {
    writes_survive(Kind::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_concurrent_writes_are_never_overwritten() {
    writes_survive(Kind::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mariadb_concurrent_writes_are_never_overwritten() {
    writes_survive(Kind::Mysql).await;
}

/// The same on a current-thread runtime, where a batch is decided in its turn instead of
/// while the batch before it is written (that overlap needs `block_in_place`, which a
/// current-thread runtime does not have): both paths keep the compare-and-set.
#[tokio::test]
async fn sqlite_concurrent_writes_are_never_overwritten_on_one_thread() {
    writes_survive(Kind::Sqlite).await;
}
