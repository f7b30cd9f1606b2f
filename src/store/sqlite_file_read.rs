//! One read-only statement on a SQLite file through `rusqlite`, on a blocking thread, its rows
//! decoded as the sqlx backend decodes them (issue 17).
//!
//! Why not sqlx: its SQLite driver runs statements on a worker thread and hands each row
//! over a channel, with a wake-up and a copy of every cell per row. A rotation in rowid
//! order reads a page of up to 4 000 rows per batch: through sqlx that was 420 000 futex
//! calls for a Timber-shaped table of 450 000 rows, on the thread that also writes the
//! batches. Here a page is one hand-over.
//!
//! The connection is opened read-only (`SQLITE_OPEN_READ_ONLY`, `query_only`) for the one
//! statement, and closed when it is done: it sees what was committed when the statement
//! started, and holds no lock once it returns, so a writer's commit is never kept waiting
//! by it for longer than the read.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use super::backend::SqlValue;
use super::bulk_file::Bind;
use super::convert::coerce;
use super::dialect::Wire;
use super::raw_scan::cell;
use super::{Store, StoreError};
use crate::config::ModelDef;

impl Store {
    /// Runs the read-only `sql` with `binds` on this store's SQLite file and decodes its rows
    /// by `wires`, as [`BackendTx::fetch`](super::backend) would. `None` when the store is
    /// not a SQLite file (an in-memory database, a server): the caller reads through sqlx.
    pub(super) async fn sqlite_file_fetch(
        &self,
        what: &str,
        model: &ModelDef,
        sql: String,
        binds: Vec<SqlValue>,
        wires: Vec<Wire>,
    ) -> Option<Result<Vec<Vec<SqlValue>>, StoreError>> {
        let path = self.sqlite_file()?;
        let busy = self.config.busy_timeout;
        let read = tokio::task::spawn_blocking(move || fetch(&path, busy, &sql, &binds, &wires));
        let reason = match read.await {
            Ok(Ok(rows)) => return Some(Ok(rows)),
            Ok(Err(reason)) => reason,
            Err(e) => format!("the reading thread stopped: {e}"),
        };
        // As `read_error` says it for sqlx's readers: a missing table names `timber init`.
        if reason.starts_with("no such table") {
            return Some(Err(StoreError::MissingTable {
                model: model.name.clone(),
                table: model.table_name.clone(),
                url: self.url_redacted(),
            }));
        }
        Some(Err(StoreError::Query {
            what: what.into(),
            table: model.table_name.clone(),
            reason,
        }))
    }
}

/// A read-only connection to the SQLite file at `path` (every rusqlite reader here: the
/// audit scan, the census and health scans, rotation pages): opened `SQLITE_OPEN_READ_ONLY`
/// and `query_only`, waiting up to `busy` for a writer's lock as the store's own
/// connections do.
pub(super) fn open_read_only(path: &Path, busy: Duration) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(busy)?;
    conn.pragma_update(None, "query_only", "ON")?;
    Ok(conn)
}

fn fetch(
    path: &Path,
    busy: Duration,
    sql: &str,
    binds: &[SqlValue],
    wires: &[Wire],
) -> Result<Vec<Vec<SqlValue>>, String> {
    let conn = open_read_only(path, busy).map_err(|e| e.to_string())?;
    let mut statement = conn.prepare(sql).map_err(|e| e.to_string())?;
    let mut rows = statement
        .query(rusqlite::params_from_iter(binds.iter().map(Bind)))
        .map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(|e| e.to_string())? {
        let mut cells = Vec::with_capacity(wires.len());
        for (index, wire) in wires.iter().enumerate() {
            let value = row.get_ref(index).map_err(|e| e.to_string())?;
            cells.push(coerce(cell(value, *wire), *wire, index).map_err(|e| e.to_string())?);
        }
        out.push(cells);
    }
    Ok(out)
}
