//! The SQL of key rotation (DESIGN §7, §8): the jobs, failures and key-registry tables, the
//! pages a rotation reads, and the per-batch transaction in which compare-and-set updates,
//! failures and the job's cursor are committed together, so that a process killed at any
//! moment either applied a whole batch (and moved the cursor past it) or nothing of it.
//!
//! Compare-and-set: one joined `UPDATE` per column and batch on SQLite and MySQL (`cas.rs`),
//! one for all columns on PostgreSQL (`cas_pg.rs`), with one extra SELECT only when some
//! rows did not match, to name them.
//!
//! Files: `jobs.rs` (the jobs and failures tables), `keys.rs` (the key registry),
//! `page.rs` (the pages a rotation reads), `batch.rs` (the per-batch transaction),
//! `cas.rs` and `cas_pg.rs` (the compare-and-set statements).

mod batch;
mod cas;
mod cas_pg;
mod cas_rows;
mod chunk_claim;
mod chunk_lease;
mod chunks;
mod job_status;
mod jobs;
mod key_status;
mod keys;
mod page;

pub use batch::RotationTx;
pub use chunks::{ChunkLease, ChunkProgress, ChunkRow, ChunkStatus};
pub use job_status::{JobRequest, JobStatus};
pub use key_status::KeyStatus;

use chrono::NaiveDateTime;

use super::Store;
use super::backend::SqlValue;
use super::dialect::Wire;
use super::error::StoreError;
use crate::value::Value;

/// One row of `timber_rotation_jobs`.
#[derive(Clone, Debug, PartialEq)]
pub struct JobRow {
    pub id: i64,
    pub table_name: String,
    /// JSON list of the column names the job rotates.
    pub columns: String,
    pub target_fp: String,
    pub status: JobStatus,
    /// The last primary key committed, as text (`None` before the first batch).
    pub cursor: Option<String>,
    pub rows_total: i64,
    pub rows_done: i64,
    pub rows_skipped: i64,
    pub rows_failed: i64,
    pub started_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub heartbeat_at: Option<NaiveDateTime>,
    pub worker: Option<String>,
    pub error: Option<String>,
    /// JSON object: the options the job runs with, and its conflict count.
    pub options: Option<String>,
}

pub(super) const JOB_COLUMNS: [&str; 16] = [
    "id",
    "table_name",
    "columns",
    "target_fp",
    "status",
    "cursor",
    "rows_total",
    "rows_done",
    "rows_skipped",
    "rows_failed",
    "started_at",
    "updated_at",
    "heartbeat_at",
    "worker",
    "error",
    "options",
];

pub(super) const JOB_WIRES: [Wire; 16] = [
    Wire::Int,
    Wire::Text,
    Wire::Text,
    Wire::Text,
    Wire::Text,
    Wire::Text,
    Wire::Int,
    Wire::Int,
    Wire::Int,
    Wire::Int,
    Wire::DateTime,
    Wire::DateTime,
    Wire::DateTime,
    Wire::Text,
    Wire::Text,
    Wire::Text,
];

/// What one batch adds to its job: counts (increments, not totals: many workers add to
/// one job) and the batch's last key.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct JobProgress {
    pub cursor: Option<String>,
    pub rows_done: i64,
    pub rows_skipped: i64,
    pub rows_failed: i64,
    pub conflicts: u64,
}

/// A job's status and totals as a batch's progress statement left them.
#[derive(Clone, Debug, PartialEq)]
pub struct JobTotals {
    pub status: JobStatus,
    pub rows_done: i64,
    pub rows_skipped: i64,
    pub rows_failed: i64,
    /// The options text (its `conflicts` and the operator's `max_rate`).
    pub options: Option<String>,
}

/// A value a rotation could not handle; the value itself is never recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FailureRow {
    pub record_id: String,
    pub column_name: String,
    pub reason: String,
}

/// One row of `timber_keys`.
#[derive(Clone, Debug, PartialEq)]
pub struct KeyRow {
    pub key_id: String,
    pub fingerprint: String,
    pub wrapped_key: Option<String>,
    pub status: KeyStatus,
    pub created_at: NaiveDateTime,
    pub activated_at: Option<NaiveDateTime>,
    pub retired_at: Option<NaiveDateTime>,
}

/// A row as rotation reads it: key, stored text of the asked columns, owner as text.
#[derive(Clone, Debug, PartialEq)]
pub struct RotationRow {
    pub id: Value,
    /// `None` for NULL and for a value that is not text (listed in `not_text`).
    pub values: Vec<Option<String>>,
    /// Indexes into `values` of stored bytes that are not UTF-8 (see `RawRow::not_text`).
    pub not_text: Vec<usize>,
    pub owner: Option<String>,
    /// The row's SQLite rowid, when it was read in rowid order
    /// ([`Store::rotation_rowid_page`]).
    pub rowid: Option<i64>,
}

/// One compare-and-set of a value column (and, optionally, its blind-index column).
#[derive(Clone, Debug, PartialEq)]
pub struct ColumnCas {
    pub id: Value,
    pub expected: String,
    pub new: String,
    /// New blind-index hash; `None` leaves the hash column as it is.
    pub hash: Option<String>,
    /// The row's SQLite rowid as it was read ([`RotationRow::rowid`]): the write finds the
    /// row by it instead of through the key's index, and still requires the key (a row
    /// whose rowid changed meanwhile is a conflict, re-read by key).
    pub rowid: Option<i64>,
}

pub(super) fn now() -> NaiveDateTime {
    super::write_prep::now()
}

pub(super) fn int(v: &SqlValue) -> i64 {
    match v {
        SqlValue::Int(i) => *i,
        _ => 0,
    }
}

pub(super) fn text(v: &SqlValue) -> Option<String> {
    v.clone().into_text()
}

pub(super) fn datetime(v: &SqlValue) -> Option<NaiveDateTime> {
    match v {
        SqlValue::DateTime(t) => Some(*t),
        _ => None,
    }
}

/// A jobs-table row; a status this version does not know is an error naming the job (a
/// job read as something it is not could be resumed or taken over wrongly).
pub(super) fn job_from(row: Vec<SqlValue>) -> Result<JobRow, StoreError> {
    let at = |i: usize| row.get(i).cloned().unwrap_or(SqlValue::Null(Wire::Text));
    let id = int(&at(0));
    let status_text = text(&at(4)).unwrap_or_default();
    let status = JobStatus::parse(&status_text).ok_or_else(|| StoreError::Query {
        what: "read rotation job".into(),
        table: super::system_tables::ROTATION_JOBS.into(),
        reason: format!(
            "job {id} has status `{status_text}`, which this version does not know (one of {})",
            JobStatus::ALL.map(JobStatus::as_str).join(", ")
        ),
    })?;
    Ok(JobRow {
        id,
        table_name: text(&at(1)).unwrap_or_default(),
        columns: text(&at(2)).unwrap_or_default(),
        target_fp: text(&at(3)).unwrap_or_default(),
        status,
        cursor: text(&at(5)),
        rows_total: int(&at(6)),
        rows_done: int(&at(7)),
        rows_skipped: int(&at(8)),
        rows_failed: int(&at(9)),
        started_at: datetime(&at(10)).unwrap_or_default(),
        updated_at: datetime(&at(11)).unwrap_or_default(),
        heartbeat_at: datetime(&at(12)),
        worker: text(&at(13)),
        error: text(&at(14)),
        options: text(&at(15)),
    })
}

pub(super) fn opt_text(v: Option<&str>) -> SqlValue {
    v.map_or(SqlValue::Null(Wire::Text), |s| {
        SqlValue::Text(s.to_string())
    })
}

pub(super) fn opt_time(v: Option<NaiveDateTime>) -> SqlValue {
    v.map_or(SqlValue::Null(Wire::DateTime), SqlValue::DateTime)
}

impl Store {
    pub(super) fn refuse_system_write(&self, what: &str, table: &str) -> Result<(), StoreError> {
        if self.is_read_only() {
            return Err(StoreError::ReadOnly {
                what: what.to_string(),
                table: table.to_string(),
            });
        }
        Ok(())
    }
}
