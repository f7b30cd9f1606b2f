//! Reading the whole audit log at the speed of SQLite itself (issue 15 item 8, issue 17):
//! verification reads every row, and through sqlx each row costs a hand-off between its
//! worker thread and the reader plus a copy of every cell (BENCHMARKS.md "audit_verify":
//! the read, not the hashing, held verify at ~190k entries/s). On a SQLite file the scan
//! steps one read-only statement with `rusqlite` on a blocking thread, building entries
//! from borrowed column bytes and handing them over in batches, so reading and hashing run
//! on two cores with one wake-up per batch.
//!
//! The connection is opened read-only (`SQLITE_OPEN_READ_ONLY` and `query_only`), sees
//! what is committed when its statement starts (SQLite's snapshot per statement), and the
//! caller reads anything appended after that through the ordinary path. Rows decode exactly
//! as [`super::audit_log`] decodes them (the same column list and time parser), so both
//! paths feed verification the same entries; a test compares them.

use std::path::PathBuf;
use std::time::Duration;

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};

use super::audit_log::{AuditEntry, AuditRow, ENTRY_COLUMNS};
use super::convert::parse_datetime;
use super::{AUDIT_LOG, Store, StoreError, sqlite};

/// Entries per hand-over between the reading thread and the caller.
const BATCH: usize = 2048;
/// Batches the reader may run ahead.
const AHEAD: usize = 4;

impl Store {
    /// Feeds every audit entry with an id above `after` (every entry when `None`) to `sink`
    /// in id order, read by a dedicated read-only SQLite connection; returns how many and the
    /// last id. `Ok(None)` when the store is not a SQLite file (the caller reads by pages).
    pub async fn audit_scan(
        &self,
        after: Option<i64>,
        sink: &mut (dyn FnMut(AuditEntry) + Send),
    ) -> Result<Option<(u64, Option<i64>)>, StoreError> {
        let Some(path) = self.sqlite_file() else {
            return Ok(None);
        };
        let busy = self.config.busy_timeout;
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<AuditEntry>>(AHEAD);
        let reader = tokio::task::spawn_blocking(move || scan(&path, after, busy, &tx));
        let (mut count, mut last) = (0u64, None);
        while let Some(batch) = rx.recv().await {
            for entry in batch {
                count += 1;
                last = Some(entry.id);
                sink(entry);
            }
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
    tx: &tokio::sync::mpsc::Sender<Vec<AuditEntry>>,
) -> Result<(), rusqlite::Error> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(busy)?;
    conn.pragma_update(None, "query_only", "ON")?;
    let columns: Vec<String> = ENTRY_COLUMNS.iter().map(|c| format!("\"{c}\"")).collect();
    let sql = format!(
        "SELECT {} FROM \"{AUDIT_LOG}\" WHERE \"id\" > ?1 ORDER BY \"id\"",
        columns.join(", ")
    );
    let mut statement = conn.prepare(&sql)?;
    let mut rows = statement.query([after.unwrap_or(i64::MIN)])?;
    let mut batch = Vec::with_capacity(BATCH);
    while let Some(row) = rows.next()? {
        if let Some(entry) = entry_from(row)? {
            batch.push(entry);
        }
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

/// One row as [`super::audit_log`]'s reader decodes it: a row whose id is not an integer or
/// whose time does not parse is skipped there too (verification counts rows first and
/// names any it did not read).
fn entry_from(row: &rusqlite::Row<'_>) -> Result<Option<AuditEntry>, rusqlite::Error> {
    let ValueRef::Integer(id) = row.get_ref(0)? else {
        return Ok(None);
    };
    let created_at = match row.get_ref(1)? {
        ValueRef::Text(t) => std::str::from_utf8(t).ok().and_then(parse_datetime),
        _ => None,
    };
    let Some(created_at) = created_at else {
        return Ok(None);
    };
    let text = |i: usize| -> Result<Option<String>, rusqlite::Error> {
        Ok(match row.get_ref(i)? {
            // Valid UTF-8 (every genuine row) is copied as is; the lossy path (7% of a
            // verify's profile when taken for every cell) is left for damaged rows.
            ValueRef::Text(t) | ValueRef::Blob(t) => Some(match std::str::from_utf8(t) {
                Ok(text) => text.to_owned(),
                Err(_) => String::from_utf8_lossy(t).into_owned(),
            }),
            ValueRef::Integer(n) => Some(n.to_string()),
            ValueRef::Real(r) => Some(r.to_string()),
            ValueRef::Null => None,
        })
    };
    Ok(Some(AuditEntry {
        id,
        row: AuditRow {
            created_at,
            actor: text(2)?.unwrap_or_default(),
            action: text(3)?.unwrap_or_default(),
            table_name: text(4)?,
            record_id: text(5)?,
            fields: text(6)?,
            detail: text(7)?,
            prev_hash: text(8)?.unwrap_or_default(),
            entry_hash: text(9)?.unwrap_or_default(),
        },
    }))
}
