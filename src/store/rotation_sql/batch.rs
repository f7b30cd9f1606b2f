//! The transaction of one rotation batch: compare-and-set (in `cas.rs`), re-reads of rows
//! that changed, failures, and the job's progress, committed together or not at all.

use super::page::{rotation_row, row_select};
use super::{FailureRow, JobProgress, JobStatus, JobTotals, RotationRow, now, opt_text, text};
use crate::config::{ColumnDef, ModelDef};
use crate::store::Store;
use crate::store::backend::{BackendTx, SqlValue};
use crate::store::dialect::{Dialect, Wire};
use crate::store::error::StoreError;
use crate::store::records::key_bind;
use crate::store::system_tables::{ROTATION_FAILURES, ROTATION_JOBS};
use crate::value::Value;

impl Store {
    /// Opens the transaction of one rotation batch.
    pub async fn rotation_begin<'m>(
        &self,
        model: &'m ModelDef,
    ) -> Result<RotationTx<'m>, StoreError> {
        self.refuse_if_read_only("rotation batch", model)?;
        let begun = match self.dialect() {
            Dialect::Postgres => self.backend.begin_with(PG_BATCH_BEGIN).await,
            Dialect::Sqlite | Dialect::Mysql => self.backend.begin().await,
        };
        let tx = begun.map_err(|e| self.write_error("begin transaction", model, e))?;
        Ok(RotationTx {
            store: self.clone(),
            tx,
            model,
        })
    }
}

/// A PostgreSQL batch's transaction prices a random page read as a sequential one nearly
/// is, so its rows are found by the key's index, one probe each.
///
/// Why: the compare-and-set joins a batch's 4 000 rows to their table by key. At the
/// default `random_page_cost` (4, a spinning disk's) PostgreSQL preferred, on a table of a
/// few tens of thousands of rows, hashing the whole table for every batch (read end to end
/// and spilled to disk at the default `work_mem`): 121 ms against 79 ms for one
/// 4 000-row statement (`EXPLAIN ANALYZE`), and 1.45-1.71 s against 1.09-1.30 s for
/// `rotate --all` of the 30 000-row Timber shape. On 300 000 rows it
/// already probed the index. A cost, not a ban on hash joins: a table without an index
/// on its key is still joined by hashing (a ban would scan it once per row). `SET LOCAL`
/// ends with the transaction.
const PG_BATCH_BEGIN: &str = "BEGIN; SET LOCAL random_page_cost = 1.1";

/// The transaction of one batch: compare-and-set updates, re-reads of rows that changed
/// meanwhile, failures and the job's progress, committed together or not at all.
pub struct RotationTx<'m> {
    pub(super) store: Store,
    pub(super) tx: Box<dyn BackendTx>,
    pub(super) model: &'m ModelDef,
}

impl RotationTx<'_> {
    pub(super) fn fail(&self, what: &str, err: sqlx::Error) -> StoreError {
        self.store.write_error(what, self.model, err)
    }

    /// Reads rows again inside the transaction (after a compare-and-set missed them).
    pub async fn read_rows(
        &mut self,
        columns: &[&ColumnDef],
        owner: Option<&ColumnDef>,
        ids: &[Value],
    ) -> Result<Vec<RotationRow>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let d = self.store.dialect();
        let pk = self.model.primary_key();
        let (select, wires) = row_select(d, self.model, columns, owner);
        let marks: Vec<String> = (1..=ids.len()).map(|n| d.placeholder(n, pk)).collect();
        let binds = ids
            .iter()
            .map(|id| key_bind(self.model, id))
            .collect::<Result<Vec<_>, _>>()?;
        // A locking read: it sees the latest committed row, not the snapshot an earlier
        // read of this transaction fixed (MySQL/MariaDB's REPEATABLE READ), and holds the row
        // until the retry's compare-and-set. Re-reading a stale snapshot made every retry
        // miss a row the application had written, until it was recorded as a conflict.
        let lock = if d == Dialect::Sqlite {
            ""
        } else {
            " FOR UPDATE"
        };
        let sql = format!(
            "{select} WHERE {} IN ({}){lock}",
            d.quote(&pk.name),
            marks.join(", ")
        );
        let rows = self
            .tx
            .fetch(&sql, &binds, &wires)
            .await
            .map_err(|e| self.fail("re-read rows", e))?;
        rows.into_iter()
            .map(|r| rotation_row(self.model, owner, r, false))
            .collect()
    }

    /// Records failures of this batch.
    pub async fn add_failures(
        &mut self,
        job_id: i64,
        failures: &[FailureRow],
    ) -> Result<(), StoreError> {
        let d = self.store.dialect();
        let sql = format!(
            "INSERT INTO {} ({}, {}, {}, {}) VALUES ({}, {}, {}, {})",
            d.quote(ROTATION_FAILURES),
            d.quote("job_id"),
            d.quote("record_id"),
            d.quote("column_name"),
            d.quote("reason"),
            d.param(1),
            d.param(2),
            d.param(3),
            d.param(4)
        );
        for f in failures {
            let binds = [
                SqlValue::Int(job_id),
                SqlValue::Text(f.record_id.clone()),
                SqlValue::Text(f.column_name.clone()),
                SqlValue::Text(f.reason.clone()),
            ];
            self.tx.execute(&sql, &binds).await.map_err(|e| {
                self.store
                    .system_error("record rotation failure", ROTATION_FAILURES, e)
            })?;
        }
        Ok(())
    }

    /// Adds a batch's counts to its job, moves the job's cursor (the last key any worker
    /// committed, for display) and beats its heartbeat. Every worker of a job adds to the
    /// same row, so the counts are increments, never values a worker last read; the
    /// conflict count lives in `options` and is incremented there, leaving the operator's
    /// `max_rate` as the row holds it. Returns the job as it is now: its status
    /// (`pausing` / `cancelling` ask every worker to stop) and totals. Fencing is the
    /// chunk's (`save_chunk`); a job row that is gone is `None`.
    pub async fn save_progress(
        &mut self,
        job_id: i64,
        progress: &JobProgress,
    ) -> Result<Option<JobTotals>, StoreError> {
        let d = self.store.dialect();
        let q = |s: &str| d.quote(s);
        let at = now();
        let add = |c: &str| format!("{} = {} + ", q(c), q(c));
        let sql = format!(
            "UPDATE {} SET {} = {}, {}{}, {}{}, {}{}, {} = {}, {} = {}, {} = {} WHERE {} = {}",
            q(ROTATION_JOBS),
            q("cursor"),
            d.param(1),
            add("rows_done"),
            d.param(2),
            add("rows_skipped"),
            d.param(3),
            add("rows_failed"),
            d.param(4),
            q("options"),
            options_adding_conflicts(d, &d.param(5)),
            q("updated_at"),
            d.param(6),
            q("heartbeat_at"),
            d.param(7),
            q("id"),
            d.param(8),
        );
        let binds = [
            opt_text(progress.cursor.as_deref()),
            SqlValue::Int(progress.rows_done),
            SqlValue::Int(progress.rows_skipped),
            SqlValue::Int(progress.rows_failed),
            SqlValue::Int(i64::try_from(progress.conflicts).unwrap_or(i64::MAX)),
            SqlValue::DateTime(at),
            SqlValue::DateTime(at),
            SqlValue::Int(job_id),
        ];
        let fail = |e| {
            self.store
                .system_error("save rotation progress", ROTATION_JOBS, e)
        };
        let back = [
            q("status"),
            q("rows_done"),
            q("rows_skipped"),
            q("rows_failed"),
            q("options"),
        ]
        .join(", ");
        let wires = [Wire::Text, Wire::Int, Wire::Int, Wire::Int, Wire::Text];
        if d != Dialect::Mysql {
            // PostgreSQL and SQLite return the job from the same statement (one round trip
            // per batch fewer).
            let sql = format!("{sql} RETURNING {back}");
            let rows = self.tx.fetch(&sql, &binds, &wires).await.map_err(fail)?;
            return totals_of(job_id, &rows);
        }
        let done = self.tx.execute(&sql, &binds).await.map_err(fail)?;
        if done.rows_affected != 1 {
            return Ok(None);
        }
        let read = format!(
            "SELECT {back} FROM {} WHERE {} = {}",
            q(ROTATION_JOBS),
            q("id"),
            d.param(1)
        );
        let rows = self
            .tx
            .fetch(&read, &[SqlValue::Int(job_id)], &wires)
            .await
            .map_err(|e| {
                self.store
                    .system_error("save rotation progress", ROTATION_JOBS, e)
            })?;
        totals_of(job_id, &rows)
    }

    pub async fn commit(self) -> Result<(), StoreError> {
        let store = self.store.clone();
        let model = self.model;
        self.tx
            .commit()
            .await
            .map_err(|e| store.write_error("commit rotation batch", model, e))
    }
}

/// The row's `options` with its `conflicts` count increased by `param` (every worker of a
/// job adds its own; nothing else in the options is touched).
fn options_adding_conflicts(d: Dialect, param: &str) -> String {
    let options = d.quote("options");
    match d {
        Dialect::Sqlite => format!(
            "json_set(COALESCE({options}, '{{}}'), '$.conflicts', \
             COALESCE(json_extract({options}, '$.conflicts'), 0) + {param})"
        ),
        Dialect::Postgres => format!(
            "CAST(jsonb_set(CAST(COALESCE({options}, '{{}}') AS jsonb), '{{conflicts}}', \
             to_jsonb(COALESCE(CAST(CAST(COALESCE({options}, '{{}}') AS jsonb) ->> 'conflicts' \
             AS bigint), 0) + CAST({param} AS bigint))) AS text)"
        ),
        // MySQL 8 adds a JSON number as a DOUBLE (`3.0`): cast back to an integer.
        Dialect::Mysql => format!(
            "JSON_SET(COALESCE({options}, '{{}}'), '$.conflicts', \
             CAST(COALESCE(JSON_EXTRACT({options}, '$.conflicts'), 0) + {param} AS SIGNED))"
        ),
    }
}

/// The job a progress statement read back; `None` (no row) when the job is gone.
fn totals_of(job_id: i64, rows: &[Vec<SqlValue>]) -> Result<Option<JobTotals>, StoreError> {
    let Some(row) = rows.first() else {
        return Ok(None);
    };
    let found = row.first().and_then(text).unwrap_or_default();
    let status = JobStatus::parse(&found).ok_or_else(|| StoreError::Query {
        what: "save rotation progress".into(),
        table: ROTATION_JOBS.into(),
        reason: format!("job {job_id} has status `{found}`, which this version does not know"),
    })?;
    let number = |i: usize| row.get(i).map(super::int).unwrap_or(0);
    Ok(Some(JobTotals {
        status,
        rows_done: number(1),
        rows_skipped: number(2),
        rows_failed: number(3),
        options: row.get(4).and_then(text),
    }))
}
