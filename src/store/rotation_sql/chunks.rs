//! The chunks of a rotation job (`timber_rotation_chunks`, DESIGN §8): key ranges split up
//! front, each leased to one worker at a time, so that many workers (in one process or on
//! many machines) share a job through the database alone.
//!
//! - A claim takes a pending chunk, or one whose lease expired (or whose owner's process
//!   is known gone on this host), and moves its `generation` on. PostgreSQL and MySQL pick
//!   the candidate with `FOR UPDATE SKIP LOCKED`, so claimers never queue on each other;
//!   SQLite has one writer and needs no lock clause.
//! - A batch commits its chunk's cursor and counts in the batch's own transaction, only
//!   while the chunk still holds the claimed generation (`RotationTx::save_chunk`): a
//!   worker stopped past its lease and taken over cannot commit anything afterwards.
//!
//! Times are the client's clock (as the jobs table's heartbeat). A skewed clock can only
//! make a takeover early or late; it cannot make two commits of one chunk succeed, because
//! the generation, not the clock, decides who may commit.

use chrono::NaiveDateTime;

use super::batch::RotationTx;
use super::{datetime, int, now, opt_text, opt_time, text};
use crate::config::ModelDef;
use crate::store::Store;
use crate::store::backend::{Backend, BackendTx, SqlValue};
use crate::store::convert::to_value;
use crate::store::dialect::{Dialect, Wire, wire_for};
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

const CHUNK_COLUMNS: [&str; 15] = [
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

const CHUNK_WIRES: [Wire; 15] = [
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

fn chunk_from(row: Vec<SqlValue>) -> ChunkRow {
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
    fn chunk_select(&self) -> String {
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

    fn chunk_error(&self, what: &str, err: sqlx::Error) -> StoreError {
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

    /// Claims a chunk of job `job_id` for `owner` until `lease_until`: a pending one first,
    /// else one whose lease has expired, else one leased by an owner `gone` says is gone.
    /// `None` when every chunk left is done or held by a live lease.
    pub async fn rotation_claim_chunk(
        &self,
        job_id: i64,
        owner: &str,
        lease_until: NaiveDateTime,
        gone: &(dyn Fn(&str) -> bool + Sync),
    ) -> Result<Option<ChunkLease>, StoreError> {
        self.refuse_system_write("claim rotation chunk", ROTATION_CHUNKS)?;
        let d = self.dialect();
        let q = |s: &str| d.quote(s);
        let at = now();
        let lock = match d {
            Dialect::Sqlite => "",
            Dialect::Postgres | Dialect::Mysql => " FOR UPDATE SKIP LOCKED",
        };
        let pick = format!(
            "SELECT {}, {}, {}, {} FROM {} WHERE {} = {} AND ({} = {} OR ({} = {} AND {} < {})) \
             ORDER BY {} LIMIT 1{lock}",
            q("chunk"),
            q("generation"),
            q("lease_owner"),
            q("status"),
            q(ROTATION_CHUNKS),
            q("job_id"),
            d.param(1),
            q("status"),
            d.param(2),
            q("status"),
            d.param(3),
            q("lease_expires_at"),
            d.param(4),
            q("chunk"),
        );
        let binds = [
            SqlValue::Int(job_id),
            SqlValue::Text(ChunkStatus::Pending.as_str().into()),
            SqlValue::Text(ChunkStatus::Leased.as_str().into()),
            SqlValue::DateTime(at),
        ];
        let fail = |e| self.chunk_error("claim rotation chunk", e);
        let wires = [Wire::Int, Wire::Int, Wire::Text, Wire::Text];
        // SQLite: no transaction. A deferred one that reads and then writes cannot wait for
        // another writer (SQLite answers "database is locked" at once rather than risk a
        // deadlock); the claim's UPDATE is a compare-and-set on the generation and the lease
        // it read, so it needs none. Servers: one transaction, the pick locked.
        let mut tx = match d {
            Dialect::Sqlite => Claim::Auto(self.backend.as_ref()),
            _ => Claim::Tx(self.backend.begin().await.map_err(fail)?),
        };
        // First a chunk whose lease names a process known gone (same host, no such pid):
        // it was in progress, and a rerun after `kill -9` need not wait out the lease.
        let held = format!(
            "SELECT {}, {}, {}, {} FROM {} WHERE {} = {} AND {} = {} ORDER BY {}",
            q("chunk"),
            q("generation"),
            q("lease_owner"),
            q("status"),
            q(ROTATION_CHUNKS),
            q("job_id"),
            d.param(1),
            q("status"),
            d.param(2),
            q("chunk"),
        );
        let leased = [
            SqlValue::Int(job_id),
            SqlValue::Text(ChunkStatus::Leased.as_str().into()),
        ];
        let mut found: Vec<Vec<SqlValue>> = tx
            .fetch(&held, &leased, &wires)
            .await
            .map_err(fail)?
            .into_iter()
            .filter(|r| r.get(2).and_then(text).is_some_and(|o| gone(&o)))
            .take(1)
            .collect();
        if found.is_empty() {
            found = tx.fetch(&pick, &binds, &wires).await.map_err(fail)?;
        }
        let Some(row) = found.into_iter().next() else {
            return Ok(None);
        };
        let chunk = row.first().map(int).unwrap_or(0);
        let generation = row.get(1).map(int).unwrap_or(0);
        let previous = row.get(2).and_then(text);
        let was_leased = row.get(3).and_then(text).as_deref() == Some("leased");
        let claim = format!(
            "UPDATE {} SET {} = {}, {} = {}, {} = {}, {} = {} + 1, {} = {}, {} = {} + {} + {} \
             WHERE {} = {} AND {} = {} AND {} = {} AND ({} = {} OR {} < {} OR {} = {})",
            q(ROTATION_CHUNKS),
            q("status"),
            d.param(1),
            q("lease_owner"),
            d.param(2),
            q("lease_expires_at"),
            d.param(3),
            q("generation"),
            q("generation"),
            q("claimed_at"),
            d.param(4),
            q("claimed_rows"),
            q("rows_done"),
            q("rows_skipped"),
            q("rows_failed"),
            q("job_id"),
            d.param(5),
            q("chunk"),
            d.param(6),
            q("generation"),
            d.param(7),
            q("status"),
            d.param(8),
            q("lease_expires_at"),
            d.param(9),
            q("lease_owner"),
            d.param(10),
        );
        // Still as it was read: pending, or its lease expired, or (the owner known gone) still
        // that owner's. A lease renewed meanwhile is not taken.
        let binds = [
            SqlValue::Text(ChunkStatus::Leased.as_str().into()),
            SqlValue::Text(owner.into()),
            SqlValue::DateTime(lease_until),
            SqlValue::DateTime(at),
            SqlValue::Int(job_id),
            SqlValue::Int(chunk),
            SqlValue::Int(generation),
            SqlValue::Text(ChunkStatus::Pending.as_str().into()),
            SqlValue::DateTime(at),
            opt_text(previous.as_deref().filter(|p| gone(p))),
        ];
        let done = tx.execute(&claim, &binds).await.map_err(fail)?;
        if done != 1 {
            // Someone else claimed it between our read and our write (SQLite, or the
            // known-gone path without a lock): the caller simply asks again.
            return Ok(None);
        }
        let read = format!(
            "{} WHERE {} = {} AND {} = {}",
            self.chunk_select(),
            q("job_id"),
            d.param(1),
            q("chunk"),
            d.param(2)
        );
        let rows = tx
            .fetch(
                &read,
                &[SqlValue::Int(job_id), SqlValue::Int(chunk)],
                &CHUNK_WIRES,
            )
            .await
            .map_err(fail)?;
        tx.commit().await.map_err(fail)?;
        let Some(row) = rows.into_iter().next().map(chunk_from) else {
            return Ok(None);
        };
        Ok(Some(ChunkLease {
            job_id,
            chunk,
            generation: row.generation,
            owner: owner.to_string(),
            lo: row.lo,
            hi: row.hi,
            cursor: row.cursor,
            took_over_from: if was_leased { previous } else { None },
        }))
    }

    /// Extends `lease` to `until`; false when its generation is no longer the chunk's (the
    /// chunk was taken over: this worker must stop writing it).
    pub async fn rotation_renew_lease(
        &self,
        lease: &ChunkLease,
        until: NaiveDateTime,
    ) -> Result<bool, StoreError> {
        let d = self.dialect();
        let q = |s: &str| d.quote(s);
        let sql = format!(
            "UPDATE {} SET {} = {} WHERE {} = {} AND {} = {} AND {} = {} AND {} = {}",
            q(ROTATION_CHUNKS),
            q("lease_expires_at"),
            d.param(1),
            q("job_id"),
            d.param(2),
            q("chunk"),
            d.param(3),
            q("generation"),
            d.param(4),
            q("status"),
            d.param(5),
        );
        let binds = [
            SqlValue::DateTime(until),
            SqlValue::Int(lease.job_id),
            SqlValue::Int(lease.chunk),
            SqlValue::Int(lease.generation),
            SqlValue::Text(ChunkStatus::Leased.as_str().into()),
        ];
        let done = self
            .backend
            .execute(&sql, &binds)
            .await
            .map_err(|e| self.chunk_error("renew rotation lease", e))?;
        Ok(done.rows_affected == 1)
    }

    /// Gives `lease` back (a pause, a cancel, a failure): the chunk is pending again with
    /// its cursor, for the next claim. False when it had been taken over already.
    pub async fn rotation_release_chunk(&self, lease: &ChunkLease) -> Result<bool, StoreError> {
        let d = self.dialect();
        let q = |s: &str| d.quote(s);
        let sql = format!(
            "UPDATE {} SET {} = {}, {} = NULL, {} = NULL WHERE {} = {} AND {} = {} AND {} = {} AND {} = {}",
            q(ROTATION_CHUNKS),
            q("status"),
            d.param(1),
            q("lease_owner"),
            q("lease_expires_at"),
            q("job_id"),
            d.param(2),
            q("chunk"),
            d.param(3),
            q("generation"),
            d.param(4),
            q("status"),
            d.param(5),
        );
        let binds = [
            SqlValue::Text(ChunkStatus::Pending.as_str().into()),
            SqlValue::Int(lease.job_id),
            SqlValue::Int(lease.chunk),
            SqlValue::Int(lease.generation),
            SqlValue::Text(ChunkStatus::Leased.as_str().into()),
        ];
        let done = self
            .backend
            .execute(&sql, &binds)
            .await
            .map_err(|e| self.chunk_error("release rotation chunk", e))?;
        Ok(done.rows_affected == 1)
    }
}

/// Where a claim runs: a transaction (servers) or single statements (SQLite).
enum Claim<'b> {
    Tx(Box<dyn BackendTx>),
    Auto(&'b dyn Backend),
}

impl Claim<'_> {
    async fn fetch(
        &mut self,
        sql: &str,
        binds: &[SqlValue],
        wires: &[Wire],
    ) -> Result<Vec<Vec<SqlValue>>, sqlx::Error> {
        match self {
            Claim::Tx(tx) => tx.fetch(sql, binds, wires).await,
            Claim::Auto(backend) => backend.fetch(sql, binds, wires).await,
        }
    }

    async fn execute(&mut self, sql: &str, binds: &[SqlValue]) -> Result<u64, sqlx::Error> {
        match self {
            Claim::Tx(tx) => tx.execute(sql, binds).await.map(|d| d.rows_affected),
            Claim::Auto(backend) => backend.execute(sql, binds).await.map(|d| d.rows_affected),
        }
    }

    async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            Claim::Tx(tx) => tx.commit().await,
            Claim::Auto(_) => Ok(()),
        }
    }
}

impl RotationTx<'_> {
    /// Commits a batch's place in its chunk: the cursor, the counts and a renewed lease,
    /// only while the chunk still holds `lease.generation`. False when it does not: the
    /// chunk was taken over, and the caller must drop this transaction (rolling back the
    /// batch's writes) and stop writing that chunk.
    pub async fn save_chunk(
        &mut self,
        lease: &ChunkLease,
        progress: &ChunkProgress,
        lease_until: Option<NaiveDateTime>,
    ) -> Result<bool, StoreError> {
        let d = self.store.dialect();
        let q = |s: &str| d.quote(s);
        let add = |c: &str| format!("{} = {} + ", q(c), q(c));
        let sql = format!(
            "UPDATE {} SET {} = {}, {}{}, {}{}, {}{}, {}{}, {} = {}, {} = {} \
             WHERE {} = {} AND {} = {} AND {} = {} AND {} = {}",
            q(ROTATION_CHUNKS),
            q("cursor"),
            d.param(1),
            add("rows_done"),
            d.param(2),
            add("rows_skipped"),
            d.param(3),
            add("rows_failed"),
            d.param(4),
            add("conflicts"),
            d.param(5),
            q("lease_expires_at"),
            d.param(6),
            q("status"),
            d.param(7),
            q("job_id"),
            d.param(8),
            q("chunk"),
            d.param(9),
            q("generation"),
            d.param(10),
            q("status"),
            d.param(11),
        );
        let status = if progress.finished {
            ChunkStatus::Done
        } else {
            ChunkStatus::Leased
        };
        let binds = [
            opt_text(progress.cursor.as_deref()),
            SqlValue::Int(progress.rows_done),
            SqlValue::Int(progress.rows_skipped),
            SqlValue::Int(progress.rows_failed),
            SqlValue::Int(progress.conflicts),
            opt_time(lease_until),
            SqlValue::Text(status.as_str().into()),
            SqlValue::Int(lease.job_id),
            SqlValue::Int(lease.chunk),
            SqlValue::Int(lease.generation),
            SqlValue::Text(ChunkStatus::Leased.as_str().into()),
        ];
        let done = self.tx.execute(&sql, &binds).await.map_err(|e| {
            self.store
                .system_error("save rotation chunk", ROTATION_CHUNKS, e)
        })?;
        Ok(done.rows_affected == 1)
    }
}
