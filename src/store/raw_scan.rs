//! Reading a whole table's stored values at the speed of SQLite itself (issue 17): the
//! census and health read every encrypted value, and through sqlx each row costs a hand-off
//! between its worker thread and the reader plus a copy of every cell into a `SqlValue` and
//! then a `String`, with a keyset page (a new statement) per 4 000 rows. On a SQLite file the
//! scan instead steps ONE read-only statement with `rusqlite` on a blocking thread, decoding
//! rows exactly as [`Store::raw_page`] does (the same SQL, the same `coerce` and
//! `to_value`) and handing them over in batches, so reading and classifying run on two
//! cores with one wake-up per batch. A test compares the two readers row for row.
//!
//! The connection is read-only (`SQLITE_OPEN_READ_ONLY` and `query_only`) and sees what was
//! committed when its statement started (SQLite's snapshot per statement).
//!
//! On PostgreSQL and MySQL the scan is one statement whose rows are streamed as the server
//! sends them, decoded by the backend's own decoder: over a link with 50 ms of latency the
//! census had paid a round trip per 4 000-row page.

use std::time::Duration;

use rusqlite::types::ValueRef;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use futures_util::StreamExt;

use super::backend::SqlValue;
use super::convert::{coerce, to_value};
use super::dialect::{Dialect, Wire};
use super::raw::{RawRow, raw_row, raw_row_into};
use super::{Store, StoreError};
use crate::config::ModelDef;

/// Rows per hand-over between the reading thread and the caller.
const BATCH: usize = 4096;
/// Batches the reader may run ahead (memory stays bounded).
const AHEAD: usize = 4;

/// The rows of one table (a whole table in the database's order, a sample in key order), in
/// batches, from a reading thread.
pub struct RawStream {
    rows: mpsc::Receiver<Vec<RawRow>>,
    reader: Option<JoinHandle<Result<(), String>>>,
    what: (String, String),
    recycler: Recycler,
}

/// Where spent batches go back to the reading thread, which refills their rows' strings
/// instead of allocating new ones.
///
/// Why: a batch is read on one thread and freed on the threads that classified it, and
/// glibc's malloc pays for every cross-thread free (a census profile showed malloc and free
/// at 12% of the whole, most of it on the reading thread, which is the scan's slowest
/// stage). Returned, a batch of 4 096 rows costs one allocation per row (its key) instead of
/// six. A server's rows are decoded by sqlx into new values either way; they are copied into
/// the spent rows and freed on the reading thread.
#[derive(Clone)]
pub struct Recycler(std::sync::mpsc::Sender<Vec<RawRow>>);

impl Recycler {
    /// Hands a spent batch back (or drops it here, when its reader is gone).
    pub fn give_back(&self, rows: Vec<RawRow>) {
        let _ = self.0.send(rows);
    }
}

impl RawStream {
    /// Where this stream's spent batches go (see [`Recycler`]).
    pub fn recycler(&self) -> Recycler {
        self.recycler.clone()
    }

    /// The next batch; `None` at the end of the table (or of the limit).
    pub async fn next(&mut self) -> Option<Result<Vec<RawRow>, StoreError>> {
        if let Some(batch) = self.rows.recv().await {
            return Some(Ok(batch));
        }
        let reader = self.reader.take()?;
        let reason = match reader.await {
            Ok(Ok(())) => return None,
            Ok(Err(reason)) => reason,
            Err(e) => format!("the reading thread stopped: {e}"),
        };
        Some(Err(StoreError::Query {
            what: "read raw rows".into(),
            table: format!("{} ({})", self.what.1, self.what.0),
            reason,
        }))
    }
}

impl Store {
    /// Every row of `model` (at most `limit`, the first by key): its key and `columns'`
    /// stored text, as [`Store::raw_page`] gives them, in batches; a whole table (no
    /// `limit`) in the database's own order, not by key. A SQLite file is read by a
    /// dedicated read-only connection on a blocking thread; a server by one streamed
    /// statement (its rows arrive as the server sends them: one round trip per scan, not
    /// one per page). `Ok(None)` for an in-memory SQLite database (the caller reads by
    /// pages).
    pub fn raw_stream(
        &self,
        model: &ModelDef,
        columns: &[&str],
        limit: Option<u64>,
    ) -> Result<Option<RawStream>, StoreError> {
        let (sql, binds, wires) = match limit {
            Some(n) => {
                let n = u32::try_from(n).unwrap_or(u32::MAX);
                self.raw_page_query(model, columns, None, n)?
            }
            // A whole table in the database's own order. Why not key order: a Timber
            // table's keys are uuid4s, so key order is not the order rows were written in,
            // and a read by key visits the table's pages at random (on SQLite one page read
            // through the key's index per row; on PostgreSQL an index scan of a table larger
            // than its buffers). The Timber-shaped 300 000-row census took 1.6 s in key order
            // and 0.6 s in table order (SQLite's own read of the same columns: 0.33 s). A
            // whole table needs no order; a sample (`--sample N`, the first N by key) keeps it.
            None => {
                let (sql, wires) = self.raw_select(model, columns)?;
                (sql, Vec::new(), wires)
            }
        };
        let (tx, rx) = mpsc::channel(AHEAD);
        let model_owned = model.clone();
        let (reader, recycler) = if self.dialect() == Dialect::Sqlite {
            let Some(path) = self.sqlite_file() else {
                return Ok(None);
            };
            let busy = self.config.busy_timeout;
            let (back, spent) = std::sync::mpsc::channel();
            let reader = tokio::task::spawn_blocking(move || {
                scan(&path, &sql, &wires, &model_owned, busy, &tx, &spent)
                    .map_err(|e| e.to_string())
            });
            (reader, Recycler(back))
        } else {
            let store = self.clone();
            let (back, spent) = std::sync::mpsc::channel();
            let reader = tokio::spawn(async move {
                stream_server(&store, &sql, &binds, &wires, &model_owned, &tx, spent).await
            });
            (reader, Recycler(back))
        };
        Ok(Some(RawStream {
            rows: rx,
            reader: Some(reader),
            what: (model.name.clone(), model.table_name.clone()),
            recycler,
        }))
    }
}

/// A server's rows as they arrive, in batches, until the caller stops listening.
async fn stream_server(
    store: &Store,
    sql: &str,
    binds: &[SqlValue],
    wires: &[Wire],
    model: &ModelDef,
    tx: &mpsc::Sender<Vec<RawRow>>,
    spent: std::sync::mpsc::Receiver<Vec<RawRow>>,
) -> Result<(), String> {
    let pk = model.primary_key();
    let mut rows = store.backend.stream(sql, binds, wires);
    let mut batch = Vec::with_capacity(BATCH);
    let mut spare: Vec<RawRow> = Vec::new();
    while let Some(row) = rows.next().await {
        let row = row.map_err(|e| e.to_string())?;
        if spare.is_empty()
            && let Ok(back) = spent.try_recv()
        {
            spare = back;
        }
        let row = match spare.pop() {
            Some(into) => raw_row_into(model, pk, row, into),
            None => raw_row(model, pk, row),
        };
        batch.push(row.map_err(|e| e.to_string())?);
        if batch.len() == BATCH {
            let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
            if tx.send(full).await.is_err() {
                return Ok(()); // the caller stopped reading
            }
        }
    }
    if !batch.is_empty() {
        let _ = tx.send(batch).await;
    }
    Ok(())
}

/// Steps the statement on this (blocking) thread, sending batches until the caller stops
/// listening; rows of `spent` batches are refilled before new ones are allocated.
fn scan(
    path: &std::path::Path,
    sql: &str,
    wires: &[Wire],
    model: &ModelDef,
    busy: Duration,
    tx: &mpsc::Sender<Vec<RawRow>>,
    spent: &std::sync::mpsc::Receiver<Vec<RawRow>>,
) -> Result<(), ScanError> {
    let conn = super::sqlite_file_read::open_read_only(path, busy)?;
    let mut statement = conn.prepare(sql)?;
    let mut rows = statement.query([])?;
    let mut batch = Vec::with_capacity(BATCH);
    let mut spare: Vec<RawRow> = Vec::new();
    while let Some(row) = rows.next()? {
        if spare.is_empty()
            && let Ok(back) = spent.try_recv()
        {
            spare = back;
        }
        batch.push(sqlite_row(row, wires, model, spare.pop())?);
        if batch.len() == BATCH {
            let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
            if tx.blocking_send(full).is_err() {
                return Ok(()); // the caller stopped reading
            }
        }
    }
    if !batch.is_empty() {
        let _ = tx.blocking_send(batch);
    }
    Ok(())
}

/// One row as `raw_page` decodes it: each cell by its storage class, coerced to its wire
/// (the same `coerce`, `to_value` and `stored_texts` rules; a test compares the two readers).
/// A text cell is copied into `reuse`'s string in its place when there is one.
fn sqlite_row(
    row: &rusqlite::Row<'_>,
    wires: &[Wire],
    model: &ModelDef,
    reuse: Option<RawRow>,
) -> Result<RawRow, ScanError> {
    let pk = model.primary_key();
    let key_wire = wires.first().copied().unwrap_or(Wire::Text);
    let key = coerce(cell(row.get_ref(0)?, key_wire), key_wire, 0)
        .map_err(|e| ScanError(e.to_string()))?;
    let id = to_value(key, pk)
        .map_err(|reason| ScanError(format!("{}.{}: {reason}", model.name, pk.name)))?;
    let columns = wires.len().saturating_sub(1);
    let mut out = match reuse {
        Some(mut spare) => {
            spare.id = id;
            spare.not_text.clear();
            spare.values.resize_with(columns, || None);
            spare
        }
        None => RawRow {
            id,
            values: vec![None; columns],
            not_text: Vec::new(),
        },
    };
    for (at, (wire, slot)) in wires.iter().skip(1).zip(out.values.iter_mut()).enumerate() {
        let index = at + 1;
        match (wire, row.get_ref(index)?) {
            (_, ValueRef::Null) => *slot = None,
            (Wire::Text, ValueRef::Text(t)) => match std::str::from_utf8(t) {
                Ok(text) => refill(slot, text),
                // Not UTF-8: the reader says the cell is not text.
                Err(_) => {
                    *slot = None;
                    out.not_text.push(at);
                }
            },
            (_, value) => {
                match coerce(cell(value, *wire), *wire, index)
                    .map_err(|e| ScanError(e.to_string()))?
                {
                    SqlValue::Bytes(_) => {
                        *slot = None;
                        out.not_text.push(at);
                    }
                    other => *slot = other.into_text(),
                }
            }
        }
    }
    Ok(out)
}

/// Puts `text` in `slot`, in the string already there when it is not much larger than
/// needed: a string keeps the largest capacity it ever held, and one long value in a column
/// must not make every refilled row hold that much from then on.
pub(crate) fn refill(slot: &mut Option<String>, text: &str) {
    match slot {
        Some(kept) if kept.capacity() <= (2 * text.len()).max(4096) => {
            kept.clear();
            kept.push_str(text);
        }
        _ => *slot = Some(text.to_owned()),
    }
}

/// A cell by its storage class, before `coerce` (invalid UTF-8 arrives as bytes).
pub(super) fn cell(value: ValueRef<'_>, wire: Wire) -> SqlValue {
    match value {
        ValueRef::Null => SqlValue::Null(wire),
        ValueRef::Integer(i) => SqlValue::Int(i),
        ValueRef::Real(f) => SqlValue::Float(f),
        ValueRef::Blob(b) => SqlValue::Bytes(b.to_vec()),
        ValueRef::Text(t) => match std::str::from_utf8(t) {
            Ok(text) => SqlValue::Text(text.to_owned()),
            Err(_) => SqlValue::Bytes(t.to_vec()),
        },
    }
}

/// Why the reading thread stopped (its text goes into the store error).
struct ScanError(String);

impl From<rusqlite::Error> for ScanError {
    fn from(e: rusqlite::Error) -> Self {
        ScanError(e.to_string())
    }
}

impl std::fmt::Display for ScanError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
