//! Claiming a chunk of a rotation job (see `chunks.rs`): the candidate picked, then taken
//! with a compare-and-set on its generation and on the lease it was read with.

use chrono::NaiveDateTime;

use super::chunks::{CHUNK_WIRES, ChunkLease, ChunkStatus, chunk_from};
use super::{int, now, opt_text, text};
use crate::store::Store;
use crate::store::backend::{Backend, BackendTx, SqlValue};
use crate::store::dialect::{Dialect, Wire};
use crate::store::error::StoreError;
use crate::store::system_tables::ROTATION_CHUNKS;

impl Store {
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
        // What a claim reads of a chunk, in the order of `wires` below.
        let read = ["chunk", "generation", "lease_owner", "status"]
            .map(q)
            .join(", ");
        let pick = format!(
            "SELECT {read} FROM {} WHERE {} = {} AND ({} = {} OR ({} = {} AND {} < {})) \
             ORDER BY {} LIMIT 1{lock}",
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
            "SELECT {read} FROM {} WHERE {} = {} AND {} = {} ORDER BY {}",
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
