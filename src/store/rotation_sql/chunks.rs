//! The chunks of a rotation job (`timber_rotation_chunks`, DESIGN §8): key ranges split up
//! front, each leased to one worker at a time, so that many workers (in one process or on
//! many machines) share a job through the database alone.
//!
//! - Here: the table's rows, splitting a job into chunks, reading them.
//! - `chunk_claim.rs`: a claim takes a chunk whose owner's process is known gone on this
//!   host, else a pending one or one whose lease expired, and moves its `generation` on.
//!   PostgreSQL and MySQL pick the candidate with `FOR UPDATE SKIP LOCKED`, so claimers
//!   never queue on each other; SQLite has one writer and needs no lock clause.
//! - `chunk_lease.rs`: a batch commits its chunk's cursor and counts in the batch's own
//!   transaction, only while the chunk still holds the claimed generation
//!   (`RotationTx::save_chunk`): a worker stopped past its lease and taken over cannot
//!   commit anything afterwards. Renewing and giving a lease back are fenced the same way.
//!
//! Times are the client's clock (as the jobs table's heartbeat). A skewed clock can only
//! make a takeover early or late; it cannot make two commits of one chunk succeed, because
//! the generation, not the clock, decides who may commit.

use chrono::NaiveDateTime;

use super::{datetime, int, opt_text, text};
use crate::config::ModelDef;
use crate::store::Store;
use crate::store::backend::SqlValue;
use crate::store::convert::to_value;
use crate::store::dialect::{Wire, wire_for};
use crate::store::error::StoreError;
use crate::store::records::key_bind;
use crate::store::system_tables::ROTATION_CHUNKS;
use crate::value::Value;

/// Where a chunk stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChunkStatus {
    Pending,
    Leased,
    Done,
}

impl ChunkStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ChunkStatus::Pending => "pending",
            ChunkStatus::Leased => "leased",
            ChunkStatus::Done => "done",
        }
    }

    fn parse(text: &str) -> ChunkStatus {
        match text {
            "leased" => ChunkStatus::Leased,
            "done" => ChunkStatus::Done,
            _ => ChunkStatus::Pending,
        }
    }
}

/// One row of `timber_rotation_chunks`.
#[derive(Clone, Debug, PartialEq)]
pub struct ChunkRow {
    pub job_id: i64,
    pub chunk: i64,
    /// Exclusive lower bound (key text); `None`: from the first row.
    pub lo: Option<String>,
    /// Inclusive upper bound (key text); `None`: to the last row, including rows added later.
    pub hi: Option<String>,
    pub status: ChunkStatus,
    pub lease_owner: Option<String>,
    pub lease_expires_at: Option<NaiveDateTime>,
    pub generation: i64,
    /// The last key committed in this chunk.
    pub cursor: Option<String>,
    pub rows_done: i64,
    pub rows_skipped: i64,
    pub rows_failed: i64,
    pub conflicts: i64,
    pub claimed_at: Option<NaiveDateTime>,
    /// Rows the chunk had handled when its current lease was claimed (for a worker's rate).
    pub claimed_rows: i64,
}

impl ChunkRow {
    /// Rows handled in this chunk (rotated, unchanged or failed).
    pub fn handled(&self) -> i64 {
        self.rows_done + self.rows_skipped + self.rows_failed
    }

    /// Leased and its lease not expired at `at`.
    pub fn leased_at(&self, at: NaiveDateTime) -> bool {
        self.status == ChunkStatus::Leased && self.lease_expires_at.is_some_and(|t| t > at)
    }
}

pub(super) const CHUNK_COLUMNS: [&str; 15] = [
    "job_id",
    "chunk",
    "lo",
    "hi",
    "status",
    "lease_owner",
    "lease_expires_at",
    "generation",
    "cursor",
    "rows_done",
    "rows_skipped",
    "rows_failed",
    "conflicts",
    "claimed_at",
    "claimed_rows",
];

pub(super) const CHUNK_WIRES: [Wire; 15] = [
    Wire::Int,
    Wire::Int,
    Wire::Text,
    Wire::Text,
    Wire::Text,
    Wire::Text,
    Wire::DateTime,
    Wire::Int,
    Wire::Text,
    Wire::Int,
    Wire::Int,
    Wire::Int,
    Wire::Int,
    Wire::DateTime,
    Wire::Int,
];

pub(super) fn chunk_from(row: Vec<SqlValue>) -> ChunkRow {
    let at = |i: usize| row.get(i).cloned().unwrap_or(SqlValue::Null(Wire::Text));
    ChunkRow {
        job_id: int(&at(0)),
        chunk: int(&at(1)),
        lo: text(&at(2)),
        hi: text(&at(3)),
        status: ChunkStatus::parse(&text(&at(4)).unwrap_or_default()),
        lease_owner: text(&at(5)),
        lease_expires_at: datetime(&at(6)),
        generation: int(&at(7)),
        cursor: text(&at(8)),
        rows_done: int(&at(9)),
        rows_skipped: int(&at(10)),
        rows_failed: int(&at(11)),
        conflicts: int(&at(12)),
        claimed_at: datetime(&at(13)),
        claimed_rows: int(&at(14)),
    }
}

/// A chunk this worker holds: the range it may write and the generation its commits carry.
#[derive(Clone, Debug, PartialEq)]
pub struct ChunkLease {
    pub job_id: i64,
    pub chunk: i64,
    pub generation: i64,
    pub owner: String,
    pub lo: Option<String>,
    pub hi: Option<String>,
    pub cursor: Option<String>,
    /// The owner whose lease this claim took over (expired, or its process gone).
    pub took_over_from: Option<String>,
}

/// What one batch adds to its chunk.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ChunkProgress {
    pub cursor: Option<String>,
    pub rows_done: i64,
    pub rows_skipped: i64,
    pub rows_failed: i64,
    pub conflicts: i64,
    /// The chunk has no rows left after `cursor`: it is done with this batch.
    pub finished: bool,
}

impl Store {
    pub(super) fn chunk_select(&self) -> String {
        let d = self.dialect();
        format!(
            "SELECT {} FROM {}",
            CHUNK_COLUMNS
                .iter()
                .map(|c| d.quote(c))
                .collect::<Vec<_>>()
                .join(", "),
            d.quote(ROTATION_CHUNKS)
        )
    }

    pub(super) fn chunk_error(&self, what: &str, err: sqlx::Error) -> StoreError {
        self.system_error(what, ROTATION_CHUNKS, err)
    }

    /// Every `every`-th key of `model` after `after`, in key order: the upper bounds of a
    /// job's chunks (one window-function scan of the key index; SQLite >= 3.25, MariaDB
    /// >= 10.2, MySQL 8).
    pub async fn rotation_chunk_bounds(
        &self,
        model: &ModelDef,
        after: Option<&Value>,
        every: u64,
    ) -> Result<Vec<Value>, StoreError> {
        let d = self.dialect();
        let pk = model.primary_key();
        let key = d.quote(&pk.name);
        // Ordered by the row number, not by the key as selected: on PostgreSQL the select
        // list may cast the key (to text, for a numeric key), and text order is not key order.
        let mut binds = Vec::new();
        let condition = match after {
            Some(after) => {
                binds.push(key_bind(model, after)?);
                format!(" WHERE {key} > {}", d.placeholder(1, pk))
            }
            None => String::new(),
        };
        let sql = format!(
            "SELECT {select} FROM (SELECT {key}, ROW_NUMBER() OVER (ORDER BY {key}) AS timber_n \
             FROM {table}{condition}) timber_keys WHERE timber_n % {every} = 0 ORDER BY timber_n",
            select = d.select_expr(pk),
            table = d.quote(&model.table_name),
            every = every.max(1),
        );
        let rows = self
            .backend
            .fetch(&sql, &binds, &[wire_for(pk)])
            .await
            .map_err(|e| self.read_error("split rotation job into chunks", model, e))?;
        rows.into_iter()
            .map(|r| {
                let raw = r.into_iter().next().unwrap_or(SqlValue::Null(Wire::Text));
                to_value(raw, pk).map_err(|reason| StoreError::InvalidValue {
                    model: model.name.clone(),
                    field: pk.name.clone(),
                    reason,
                })
            })
            .collect()
    }

    /// Creates job `job_id`'s chunks from `ranges` (`(lo, hi)` key text) in one transaction,
    /// unless it has chunks already. False when another worker split it first (the chunks
    /// then are theirs, and as good).
    pub async fn rotation_create_chunks(
        &self,
        job_id: i64,
        ranges: &[(Option<String>, Option<String>)],
    ) -> Result<bool, StoreError> {
        self.refuse_system_write("split rotation job", ROTATION_CHUNKS)?;
        if !self.rotation_chunks(job_id).await?.is_empty() {
            return Ok(false);
        }
        let d = self.dialect();
        let q = |s: &str| d.quote(s);
        let sql = format!(
            "INSERT INTO {} ({}, {}, {}, {}, {}, {}) VALUES ({}, {}, {}, {}, {}, 0)",
            q(ROTATION_CHUNKS),
            q("job_id"),
            q("chunk"),
            q("lo"),
            q("hi"),
            q("status"),
            q("generation"),
            d.param(1),
            d.param(2),
            d.param(3),
            d.param(4),
            d.param(5),
        );
        let fail = |e| self.chunk_error("split rotation job", e);
        let mut tx = self.backend.begin().await.map_err(fail)?;
        for (i, (lo, hi)) in ranges.iter().enumerate() {
            let binds = [
                SqlValue::Int(job_id),
                SqlValue::Int(i as i64 + 1),
                opt_text(lo.as_deref()),
                opt_text(hi.as_deref()),
                SqlValue::Text(ChunkStatus::Pending.as_str().into()),
            ];
            if let Err(e) = tx.execute(&sql, &binds).await {
                drop(tx);
                // Two workers splitting at once: the primary key (job, chunk) lets one win.
                if !self.rotation_chunks(job_id).await?.is_empty() {
                    return Ok(false);
                }
                return Err(fail(e));
            }
        }
        match tx.commit().await {
            Ok(()) => Ok(true),
            Err(e) => {
                if !self.rotation_chunks(job_id).await?.is_empty() {
                    return Ok(false);
                }
                Err(fail(e))
            }
        }
    }

    /// Job `job_id`'s chunks in order; empty when it has none (a job started before chunks
    /// existed). A missing chunks table is an error naming `timber init`.
    pub async fn rotation_chunks(&self, job_id: i64) -> Result<Vec<ChunkRow>, StoreError> {
        let sql = format!(
            "{} WHERE {} = {} ORDER BY {}",
            self.chunk_select(),
            self.quote("job_id"),
            self.dialect().param(1),
            self.quote("chunk")
        );
        let rows = self
            .backend
            .fetch(&sql, &[SqlValue::Int(job_id)], &CHUNK_WIRES)
            .await
            .map_err(|e| self.chunk_error("read rotation chunks", e))?;
        Ok(rows.into_iter().map(chunk_from).collect())
    }

    /// The first pending chunk of job `job_id` after chunk `after`: the one a claim would
    /// most likely take next (a claim prefers a chunk left by a gone process, or an expired
    /// lease, so this is a guess, and its reader checks what it then claims).
    pub async fn rotation_next_pending_chunk(
        &self,
        job_id: i64,
        after: i64,
    ) -> Result<Option<ChunkRow>, StoreError> {
        let d = self.dialect();
        let sql = format!(
            "{} WHERE {} = {} AND {} = {} AND {} > {} ORDER BY {} LIMIT 1",
            self.chunk_select(),
            d.quote("job_id"),
            d.param(1),
            d.quote("status"),
            d.param(2),
            d.quote("chunk"),
            d.param(3),
            d.quote("chunk")
        );
        let binds = [
            SqlValue::Int(job_id),
            SqlValue::Text(ChunkStatus::Pending.as_str().into()),
            SqlValue::Int(after),
        ];
        let rows = self
            .backend
            .fetch(&sql, &binds, &CHUNK_WIRES)
            .await
            .map_err(|e| self.chunk_error("read rotation chunks", e))?;
        Ok(rows.into_iter().map(chunk_from).next())
    }

    /// The chunks of every job in `job_ids` (for `timber jobs`, the console, metrics); empty
    /// when the chunks table does not exist (a database initialised before chunks).
    pub async fn rotation_chunks_of(&self, job_ids: &[i64]) -> Result<Vec<ChunkRow>, StoreError> {
        if job_ids.is_empty() || !self.table_exists(ROTATION_CHUNKS).await? {
            return Ok(Vec::new());
        }
        let d = self.dialect();
        let marks: Vec<String> = (1..=job_ids.len()).map(|n| d.param(n)).collect();
        let sql = format!(
            "{} WHERE {} IN ({}) ORDER BY {}, {}",
            self.chunk_select(),
            d.quote("job_id"),
            marks.join(", "),
            d.quote("job_id"),
            d.quote("chunk")
        );
        let binds: Vec<SqlValue> = job_ids.iter().map(|id| SqlValue::Int(*id)).collect();
        let rows = self
            .backend
            .fetch(&sql, &binds, &CHUNK_WIRES)
            .await
            .map_err(|e| self.chunk_error("read rotation chunks", e))?;
        Ok(rows.into_iter().map(chunk_from).collect())
    }
}
