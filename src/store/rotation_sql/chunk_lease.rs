//! A held chunk's fenced writes (see `chunks.rs`): a batch's progress, a renewed lease, a
//! lease given back. Each is one UPDATE that applies only while the chunk is still leased
//! under the generation its worker claimed it with.

use chrono::NaiveDateTime;

use super::batch::RotationTx;
use super::chunks::{ChunkLease, ChunkProgress, ChunkStatus};
use super::{opt_text, opt_time};
use crate::store::Store;
use crate::store::backend::SqlValue;
use crate::store::dialect::Dialect;
use crate::store::error::StoreError;
use crate::store::system_tables::ROTATION_CHUNKS;

/// `UPDATE chunks SET <sets> WHERE <lease's fence>`, where `sets` binds parameters 1 to
/// `used` and the fence the four after them ([`fence_binds`]).
fn fenced_update(d: Dialect, sets: &str, used: usize) -> String {
    let q = |s: &str| d.quote(s);
    format!(
        "UPDATE {} SET {sets} WHERE {} = {} AND {} = {} AND {} = {} AND {} = {}",
        q(ROTATION_CHUNKS),
        q("job_id"),
        d.param(used + 1),
        q("chunk"),
        d.param(used + 2),
        q("generation"),
        d.param(used + 3),
        q("status"),
        d.param(used + 4),
    )
}

/// The fence's parameters: the lease's job, chunk and generation, still `leased`.
fn fence_binds(lease: &ChunkLease) -> [SqlValue; 4] {
    [
        SqlValue::Int(lease.job_id),
        SqlValue::Int(lease.chunk),
        SqlValue::Int(lease.generation),
        SqlValue::Text(ChunkStatus::Leased.as_str().into()),
    ]
}

impl Store {
    /// Extends `lease` to `until`; false when its generation is no longer the chunk's (the
    /// chunk was taken over: this worker must stop writing it).
    pub async fn rotation_renew_lease(
        &self,
        lease: &ChunkLease,
        until: NaiveDateTime,
    ) -> Result<bool, StoreError> {
        let d = self.dialect();
        let sets = format!("{} = {}", d.quote("lease_expires_at"), d.param(1));
        let mut binds = vec![SqlValue::DateTime(until)];
        binds.extend(fence_binds(lease));
        let done = self
            .backend
            .execute(&fenced_update(d, &sets, 1), &binds)
            .await
            .map_err(|e| self.chunk_error("renew rotation lease", e))?;
        Ok(done.rows_affected == 1)
    }

    /// Gives `lease` back (a pause, a cancel, a failure): the chunk is pending again with
    /// its cursor, for the next claim. False when it had been taken over already.
    pub async fn rotation_release_chunk(&self, lease: &ChunkLease) -> Result<bool, StoreError> {
        let d = self.dialect();
        let q = |s: &str| d.quote(s);
        let sets = format!(
            "{} = {}, {} = NULL, {} = NULL",
            q("status"),
            d.param(1),
            q("lease_owner"),
            q("lease_expires_at"),
        );
        let mut binds = vec![SqlValue::Text(ChunkStatus::Pending.as_str().into())];
        binds.extend(fence_binds(lease));
        let done = self
            .backend
            .execute(&fenced_update(d, &sets, 1), &binds)
            .await
            .map_err(|e| self.chunk_error("release rotation chunk", e))?;
        Ok(done.rows_affected == 1)
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
        let add = |c: &str, n: usize| format!("{} = {} + {}", q(c), q(c), d.param(n));
        let sets = [
            format!("{} = {}", q("cursor"), d.param(1)),
            add("rows_done", 2),
            add("rows_skipped", 3),
            add("rows_failed", 4),
            add("conflicts", 5),
            format!("{} = {}", q("lease_expires_at"), d.param(6)),
            format!("{} = {}", q("status"), d.param(7)),
        ]
        .join(", ");
        let status = if progress.finished {
            ChunkStatus::Done
        } else {
            ChunkStatus::Leased
        };
        let mut binds = vec![
            opt_text(progress.cursor.as_deref()),
            SqlValue::Int(progress.rows_done),
            SqlValue::Int(progress.rows_skipped),
            SqlValue::Int(progress.rows_failed),
            SqlValue::Int(progress.conflicts),
            opt_time(lease_until),
            SqlValue::Text(status.as_str().into()),
        ];
        binds.extend(fence_binds(lease));
        let done = self
            .tx
            .execute(&fenced_update(d, &sets, 7), &binds)
            .await
            .map_err(|e| {
                self.store
                    .system_error("save rotation chunk", ROTATION_CHUNKS, e)
            })?;
        Ok(done.rows_affected == 1)
    }
}
