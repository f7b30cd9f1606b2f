//! The SQLite-file side of a bulk insert: a writing thread with its own rusqlite connection
//! that holds one `BEGIN IMMEDIATE` transaction and steps one prepared single-row INSERT
//! per row, from borrowed values. Rows arrive in batches over a bounded channel (memory
//! stays at a few batches however many rows are loaded); the transaction commits only when
//! the caller says so, and rolls back if the caller goes away or any row fails.
//!
//! The connection has the session settings of the store's own SQLite connections
//! (`sqlite.rs`): foreign keys on, the busy timeout, the 16 MiB page cache, and the
//! store's `max_page_count` cap. The journal mode is left as the file has it.

use std::path::PathBuf;
use std::time::Duration;

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, OpenFlags, ToSql, TransactionBehavior};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::StoreConfig;
use super::backend::{SQLITE_DATETIME, SqlValue};
use super::sqlite::SESSION_CACHE_KIB;

/// Batches the caller may run ahead of the writer.
const AHEAD: usize = 2;

enum Message {
    Rows(Vec<Vec<SqlValue>>),
    Commit,
}

/// Why the writing thread stopped: SQLite's own words (never a value).
#[derive(Debug)]
pub(super) struct FileWriteError(pub String);

pub(super) struct FileWriter {
    rows: mpsc::Sender<Message>,
    /// Batches the writer is done with, freed here: a row's many small allocations freed on
    /// the thread that made them, not the writer's. Freed there, each free took the lock of
    /// the allocating thread's malloc arena while this thread was allocating in it (13% of
    /// a demo's time was futex waits on that lock).
    spent: std::sync::mpsc::Receiver<Vec<Vec<SqlValue>>>,
    thread: Option<JoinHandle<Result<u64, FileWriteError>>>,
}

/// What the writing thread needs of the store's configuration.
struct Session {
    busy: Duration,
    max_page_count: Option<u32>,
}

impl FileWriter {
    /// Starts the writing thread for `sql` (an INSERT of one row) into the file at `path`.
    pub(super) fn start(path: PathBuf, sql: String, config: &StoreConfig) -> FileWriter {
        let (tx, rx) = mpsc::channel(AHEAD);
        let (spent_tx, spent) = std::sync::mpsc::channel();
        let session = Session {
            busy: config.busy_timeout,
            max_page_count: config.max_page_count,
        };
        let thread =
            tokio::task::spawn_blocking(move || write(&path, &sql, &session, rx, &spent_tx));
        FileWriter {
            rows: tx,
            spent,
            thread: Some(thread),
        }
    }

    /// Hands a batch to the writer; waits while it is `AHEAD` batches behind. If the writer
    /// has stopped, its error.
    pub(super) async fn send(&mut self, rows: Vec<Vec<SqlValue>>) -> Result<(), FileWriteError> {
        while let Ok(batch) = self.spent.try_recv() {
            drop(batch);
        }
        if self.rows.send(Message::Rows(rows)).await.is_ok() {
            return Ok(());
        }
        // The writer only stops early on an error; the join says which (once: a finished
        // thread is not awaited again).
        let Some(thread) = self.thread.take() else {
            return Err(FileWriteError("the writing thread has stopped".into()));
        };
        Err(match thread.await {
            Ok(Err(e)) => e,
            Ok(Ok(_)) => FileWriteError("the writing thread stopped early".into()),
            Err(e) => FileWriteError(format!("the writing thread stopped: {e}")),
        })
    }

    /// Commits every row sent; the number written.
    pub(super) async fn commit(self) -> Result<u64, FileWriteError> {
        // A send that fails means the writer has stopped: its result says why.
        let _ = self.rows.send(Message::Commit).await;
        let Some(thread) = self.thread else {
            return Err(FileWriteError("the writing thread has stopped".into()));
        };
        match thread.await {
            Ok(result) => result,
            Err(e) => Err(FileWriteError(format!("the writing thread stopped: {e}"))),
        }
    }
}

/// The writing thread: every row of every batch, then a commit when told; a rollback (the
/// transaction dropped) on any error or if the caller goes away.
fn write(
    path: &std::path::Path,
    sql: &str,
    session: &Session,
    mut rows: mpsc::Receiver<Message>,
    spent: &std::sync::mpsc::Sender<Vec<Vec<SqlValue>>>,
) -> Result<u64, FileWriteError> {
    let mut conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(reason)?;
    conn.busy_timeout(session.busy).map_err(reason)?;
    conn.pragma_update(None, "foreign_keys", "ON")
        .map_err(reason)?;
    conn.pragma_update(None, "cache_size", SESSION_CACHE_KIB)
        .map_err(reason)?;
    if let Some(pages) = session.max_page_count {
        // `PRAGMA max_page_count = N` answers with the limit it set: read it as a query.
        conn.query_row(&format!("PRAGMA max_page_count = {pages}"), [], |_| Ok(()))
            .map_err(reason)?;
    }
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(reason)?;
    let mut written = 0u64;
    let committed = {
        let mut insert = tx.prepare(sql).map_err(reason)?;
        loop {
            match rows.blocking_recv() {
                Some(Message::Rows(batch)) => {
                    for row in &batch {
                        let binds = row.iter().map(Bind);
                        written += insert
                            .execute(rusqlite::params_from_iter(binds))
                            .map_err(reason)? as u64;
                    }
                    // Back to the caller's thread to be freed (it may have gone: then here).
                    let _ = spent.send(batch);
                }
                Some(Message::Commit) => break true,
                None => break false,
            }
        }
    };
    if !committed {
        return Err(FileWriteError(
            "the bulk insert was abandoned before it finished; nothing was kept".into(),
        ));
    }
    tx.commit().map_err(reason)?;
    Ok(written)
}

/// SQLite's message and extended code, as sqlx words a database error.
fn reason(e: rusqlite::Error) -> FileWriteError {
    FileWriteError(match &e {
        rusqlite::Error::SqliteFailure(code, Some(message)) => {
            format!("{message} (code {})", code.extended_code)
        }
        rusqlite::Error::SqliteFailure(code, None) => {
            format!("{code} (code {})", code.extended_code)
        }
        other => other.to_string(),
    })
}

/// A stored value bound as the store's sqlx connections bind it (`sqlite.rs`'s `bind`):
/// booleans as integers, dates and times as text in SQLite's format.
pub(super) struct Bind<'a>(pub(super) &'a SqlValue);

impl ToSql for Bind<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self.0 {
            SqlValue::Null(_) => ToSqlOutput::Borrowed(ValueRef::Null),
            SqlValue::Bool(b) => ToSqlOutput::from(i64::from(*b)),
            SqlValue::Int(i) => ToSqlOutput::from(*i),
            SqlValue::Float(f) => ToSqlOutput::from(*f),
            SqlValue::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
            SqlValue::Date(d) => ToSqlOutput::from(d.format("%Y-%m-%d").to_string()),
            SqlValue::DateTime(t) => ToSqlOutput::from(t.format(SQLITE_DATETIME).to_string()),
            SqlValue::Bytes(b) => ToSqlOutput::Borrowed(ValueRef::Blob(b)),
            SqlValue::IntArray(_) | SqlValue::TextArray(_) => {
                return Err(rusqlite::Error::ToSqlConversionFailure(
                    "an array is a PostgreSQL-only parameter".into(),
                ));
            }
        })
    }
}
