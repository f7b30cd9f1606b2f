//! Reading the whole audit log at the speed of SQLite itself (issue 15 item 8, issue 17):
//! verification reads every row, and through sqlx each row costs a hand-off between its
//! worker thread and the reader plus a copy of every cell (BENCHMARKS.md "audit_verify":
//! the read, not the hashing, held verify at ~190k entries/s). On a SQLite file the scan
//! steps one read-only statement with `rusqlite` on a blocking thread and copies each row's
//! cells, as SQLite stored them, into one reusable buffer per batch: no allocation per row
//! or cell, one wake-up per batch, and batches go back to the reader to be refilled. The
//! caller decodes cells from that buffer as borrowed texts ([`AuditRowRef`]), so reading
//! and hashing run on two cores and verification hashes straight from the bytes read
//! (issue 17: "hash from borrowed bytes").
//!
//! The connection is opened read-only (`SQLITE_OPEN_READ_ONLY` and `query_only`), sees
//! what is committed when its statement starts (SQLite's snapshot per statement), and the
//! caller reads anything appended after that through the ordinary path. Rows decode exactly
//! as [`super::audit_log`] decodes them (the same column list and time parser), so both
//! paths feed verification the same entries; a test compares them.

use std::borrow::Cow;
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Duration;

use chrono::NaiveDateTime;
use rusqlite::types::ValueRef;

use super::audit_log::{AuditEntry, AuditRow, ENTRY_COLUMNS};
use super::convert::parse_datetime;
use super::{AUDIT_LOG, Store, StoreError, sqlite};

/// Entries per hand-over between the reading thread and the caller.
const BATCH: usize = 2048;
/// Batches the reader may run ahead.
const AHEAD: usize = 4;
/// Columns after the id (`created_at` to `entry_hash`), in [`ENTRY_COLUMNS`] order.
const CELLS: usize = 9;

/// One cell as SQLite stored it; texts and blobs are ranges of the batch's bytes.
#[derive(Clone, Copy, Debug)]
enum Slot {
    Null,
    Integer(i64),
    Real(f64),
    Bytes { start: u32, len: u32 },
}

/// A row whose id is an integer, its cells in the batch's bytes.
#[derive(Clone, Copy, Debug)]
struct RawRow {
    id: i64,
    cells: [Slot; CELLS],
}

/// Rows as the reading thread copied them: every text of the batch in one buffer.
#[derive(Default)]
pub struct AuditScanBatch {
    bytes: Vec<u8>,
    rows: Vec<RawRow>,
}

impl AuditScanBatch {
    /// The rows [`super::audit_log`]'s reader would return, in id order: a row whose time
    /// does not parse is skipped there too (verification counts rows first and names any
    /// it did not read).
    pub fn rows(&self) -> impl Iterator<Item = AuditRowRef<'_>> {
        self.rows.iter().filter_map(|raw| {
            let created_at = match self.cell(raw.cells[0]) {
                Cell::Bytes(t) => std::str::from_utf8(t).ok().and_then(parse_datetime),
                _ => None,
            }?;
            Some(AuditRowRef {
                id: raw.id,
                created_at,
                batch: self,
                raw,
            })
        })
    }

    fn cell(&self, slot: Slot) -> Cell<'_> {
        match slot {
            Slot::Null => Cell::Null,
            Slot::Integer(n) => Cell::Integer(n),
            Slot::Real(r) => Cell::Real(r),
            Slot::Bytes { start, len } => {
                Cell::Bytes(&self.bytes[start as usize..start as usize + len as usize])
            }
        }
    }

    fn clear(&mut self) {
        self.bytes.clear();
        self.rows.clear();
    }

    fn push(&mut self, row: &rusqlite::Row<'_>) -> Result<(), rusqlite::Error> {
        let ValueRef::Integer(id) = row.get_ref(0)? else {
            return Ok(()); // skipped, as the page reader skips it
        };
        let mut cells = [Slot::Null; CELLS];
        for (i, cell) in cells.iter_mut().enumerate() {
            *cell = match row.get_ref(i + 1)? {
                ValueRef::Null => Slot::Null,
                ValueRef::Integer(n) => Slot::Integer(n),
                ValueRef::Real(r) => Slot::Real(r),
                ValueRef::Text(t) | ValueRef::Blob(t) => {
                    let start = self.bytes.len() as u32;
                    self.bytes.extend_from_slice(t);
                    Slot::Bytes {
                        start,
                        len: t.len() as u32,
                    }
                }
            };
        }
        self.rows.push(RawRow { id, cells });
        Ok(())
    }
}

enum Cell<'a> {
    Null,
    Integer(i64),
    Real(f64),
    Bytes(&'a [u8]),
}

/// One row of the log, its texts borrowed from the batch where valid UTF-8 (every genuine
/// row); decoded exactly as the page reader decodes it.
pub struct AuditRowRef<'a> {
    pub id: i64,
    pub created_at: NaiveDateTime,
    batch: &'a AuditScanBatch,
    raw: &'a RawRow,
}

impl<'a> AuditRowRef<'a> {
    /// Cell `i` of [`ENTRY_COLUMNS`] as the page reader's text: `None` for NULL.
    fn text(&self, i: usize) -> Option<Cow<'a, str>> {
        Some(match self.batch.cell(self.raw.cells[i - 1]) {
            // Valid UTF-8 (every genuine row) is borrowed as is; the lossy path is left
            // for damaged rows.
            Cell::Bytes(t) => String::from_utf8_lossy(t),
            Cell::Integer(n) => Cow::Owned(n.to_string()),
            Cell::Real(r) => Cow::Owned(r.to_string()),
            Cell::Null => return None,
        })
    }

    pub fn actor(&self) -> Cow<'a, str> {
        self.text(2).unwrap_or_default()
    }
    pub fn action(&self) -> Cow<'a, str> {
        self.text(3).unwrap_or_default()
    }
    pub fn table_name(&self) -> Option<Cow<'a, str>> {
        self.text(4)
    }
    pub fn record_id(&self) -> Option<Cow<'a, str>> {
        self.text(5)
    }
    /// JSON list of field names.
    pub fn fields(&self) -> Option<Cow<'a, str>> {
        self.text(6)
    }
    pub fn detail(&self) -> Option<Cow<'a, str>> {
        self.text(7)
    }
    pub fn prev_hash(&self) -> Cow<'a, str> {
        self.text(8).unwrap_or_default()
    }
    pub fn entry_hash(&self) -> Cow<'a, str> {
        self.text(9).unwrap_or_default()
    }

    /// The owned entry, as the page reader returns it.
    pub fn to_entry(&self) -> AuditEntry {
        let owned = |t: Option<Cow<'a, str>>| t.map(Cow::into_owned);
        AuditEntry {
            id: self.id,
            row: AuditRow {
                created_at: self.created_at,
                actor: self.actor().into_owned(),
                action: self.action().into_owned(),
                table_name: owned(self.table_name()),
                record_id: owned(self.record_id()),
                fields: owned(self.fields()),
                detail: owned(self.detail()),
                prev_hash: self.prev_hash().into_owned(),
                entry_hash: self.entry_hash().into_owned(),
            },
        }
    }
}

impl Store {
    /// Feeds every audit entry with an id above `after` (every entry when `None`) to `sink`
    /// in id order, read by a dedicated read-only SQLite connection; returns how many and the
    /// last id. `Ok(None)` when the store is not a SQLite file (the caller reads by pages).
    pub async fn audit_scan(
        &self,
        after: Option<i64>,
        sink: &mut (dyn FnMut(AuditEntry) + Send),
    ) -> Result<Option<(u64, Option<i64>)>, StoreError> {
        self.audit_scan_rows(after, &mut |row| sink(row.to_entry()))
            .await
    }

    /// [`audit_scan`](Self::audit_scan) with each row borrowed from the batch it was read
    /// into (no allocation per row): what verification hashes from.
    pub async fn audit_scan_rows(
        &self,
        after: Option<i64>,
        sink: &mut (dyn FnMut(&AuditRowRef<'_>) + Send),
    ) -> Result<Option<(u64, Option<i64>)>, StoreError> {
        let Some(path) = self.sqlite_file() else {
            return Ok(None);
        };
        let busy = self.config.busy_timeout;
        let (tx, mut rx) = tokio::sync::mpsc::channel::<AuditScanBatch>(AHEAD);
        // Batches the caller is done with go back to be refilled (their buffers kept).
        let (back, returned) = mpsc::channel::<AuditScanBatch>();
        let reader = tokio::task::spawn_blocking(move || scan(&path, after, busy, &tx, &returned));
        let (mut count, mut last) = (0u64, None);
        while let Some(mut batch) = rx.recv().await {
            for row in batch.rows() {
                count += 1;
                last = Some(row.id);
                sink(&row);
            }
            batch.clear();
            let _ = back.send(batch);
        }
        // A missing table says to run `timber init`, as every other system-table read does.
        let failed = |reason: String| {
            if reason.contains("no such table") {
                return self.missing_system_table("read audit log", AUDIT_LOG);
            }
            StoreError::Query {
                what: "read audit log".into(),
                table: AUDIT_LOG.into(),
                reason,
            }
        };
        reader
            .await
            .map_err(|e| failed(format!("the reading thread stopped: {e}")))?
            .map_err(|e| failed(e.to_string()))?;
        Ok(Some((count, last)))
    }

    /// The SQLite file this store reads, when it is one (not in memory, not a server).
    pub(super) fn sqlite_file(&self) -> Option<PathBuf> {
        let url = self.config.url.expose();
        if !url.starts_with("sqlite:") {
            return None;
        }
        sqlite::file_path(url).filter(|p| p.is_file())
    }
}

/// Steps the whole range on this (blocking) thread, sending batches until the caller stops
/// listening.
fn scan(
    path: &std::path::Path,
    after: Option<i64>,
    busy: Duration,
    tx: &tokio::sync::mpsc::Sender<AuditScanBatch>,
    returned: &mpsc::Receiver<AuditScanBatch>,
) -> Result<(), rusqlite::Error> {
    let conn = super::sqlite_file_read::open_read_only(path, busy)?;
    let columns: Vec<String> = ENTRY_COLUMNS.iter().map(|c| format!("\"{c}\"")).collect();
    let sql = format!(
        "SELECT {} FROM \"{AUDIT_LOG}\" WHERE \"id\" > ?1 ORDER BY \"id\"",
        columns.join(", ")
    );
    let mut statement = conn.prepare(&sql)?;
    let mut rows = statement.query([after.unwrap_or(i64::MIN)])?;
    let fresh = || AuditScanBatch {
        bytes: Vec::with_capacity(BATCH * 512),
        rows: Vec::with_capacity(BATCH),
    };
    let mut batch = fresh();
    let mut stepped = 0usize;
    while let Some(row) = rows.next()? {
        batch.push(row)?;
        stepped += 1;
        if stepped == BATCH {
            stepped = 0;
            let next = returned.try_recv().unwrap_or_else(|_| fresh());
            let full = std::mem::replace(&mut batch, next);
            if tx.blocking_send(full).is_err() {
                return Ok(()); // the caller stopped reading
            }
        }
    }
    if !batch.rows.is_empty() {
        let _ = tx.blocking_send(batch);
    }
    Ok(())
}
