//! The transaction of one rotation batch: compare-and-set (in `cas.rs`), re-reads of rows
//! that changed, failures, and the job's progress, committed together or not at all.

use super::page::{rotation_row, row_select};
use super::{FailureRow, JobProgress, JobStatus, RotationRow, now, opt_text, text};
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
        Ok(RotationTx {
            store: self.clone(),
            tx: self.begin(model).await?,
            model,
        })
    }
}

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
        let sql = format!(
            "{select} WHERE {} IN ({})",
            d.quote(&pk.name),
            marks.join(", ")
        );
        let rows = self
            .tx
            .fetch(&sql, &binds, &wires)
            .await
            .map_err(|e| self.fail("re-read rows", e))?;
        rows.into_iter()
            .map(|r| rotation_row(self.model, owner, r))
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

    /// Moves the job's cursor and counters and beats its heartbeat, only while `worker` owns
    /// it. Returns the job's status as it is now (`pausing` / `cancelling` ask the worker to
    /// stop), or `None` when another worker has taken the job over: the caller must then
    /// drop this transaction, which rolls the batch back.
    pub async fn save_progress(
        &mut self,
        job_id: i64,
        worker: &str,
        progress: &JobProgress,
    ) -> Result<Option<JobStatus>, StoreError> {
        let d = self.store.dialect();
        let q = |s: &str| d.quote(s);
        let at = now();
        let sql = format!(
            "UPDATE {} SET {} = {}, {} = {}, {} = {}, {} = {}, {} = {}, {} = {}, {} = {} WHERE {} = {} AND {} = {}",
            q(ROTATION_JOBS),
            q("cursor"),
            d.param(1),
            q("rows_done"),
            d.param(2),
            q("rows_skipped"),
            d.param(3),
            q("rows_failed"),
            d.param(4),
            q("options"),
            options_keeping_max_rate(d, &d.param(5)),
            q("updated_at"),
            d.param(6),
            q("heartbeat_at"),
            d.param(7),
            q("id"),
            d.param(8),
            q("worker"),
            d.param(9),
        );
        let binds = [
            opt_text(progress.cursor.as_deref()),
            SqlValue::Int(progress.rows_done),
            SqlValue::Int(progress.rows_skipped),
            SqlValue::Int(progress.rows_failed),
            opt_text(progress.options.as_deref()),
            SqlValue::DateTime(at),
            SqlValue::DateTime(at),
            SqlValue::Int(job_id),
            SqlValue::Text(worker.into()),
        ];
        let fail = |e| {
            self.store
                .system_error("save rotation progress", ROTATION_JOBS, e)
        };
        if d != Dialect::Mysql {
            // PostgreSQL and SQLite return the status from the same statement (one round
            // trip per batch fewer); no row back means another worker owns the job.
            let sql = format!("{sql} RETURNING {}", q("status"));
            let rows = self
                .tx
                .fetch(&sql, &binds, &[Wire::Text])
                .await
                .map_err(fail)?;
            return status_of(job_id, &rows);
        }
        let done = self.tx.execute(&sql, &binds).await.map_err(fail)?;
        if done.rows_affected != 1 {
            return Ok(None);
        }
        let read = format!(
            "SELECT {} FROM {} WHERE {} = {}",
            q("status"),
            q(ROTATION_JOBS),
            q("id"),
            d.param(1)
        );
        let rows = self
            .tx
            .fetch(&read, &[SqlValue::Int(job_id)], &[Wire::Text])
            .await
            .map_err(|e| {
                self.store
                    .system_error("save rotation progress", ROTATION_JOBS, e)
            })?;
        status_of(job_id, &rows)
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

/// The worker's options text (`param`) with the `max_rate` the row holds now: the rate is
/// the operator's (`timber jobs set JOB --max-rate N`, the console) and may change while
/// the job runs, so a batch's progress never writes back the rate its worker last read.
fn options_keeping_max_rate(d: Dialect, param: &str) -> String {
    let options = d.quote("options");
    match d {
        Dialect::Sqlite => format!(
            "json_set({param}, '$.max_rate', CASE WHEN json_valid({options}) \
             THEN json_extract({options}, '$.max_rate') END)"
        ),
        Dialect::Postgres => format!(
            "CAST(jsonb_set(CAST({param} AS jsonb), '{{max_rate}}', \
             COALESCE(CAST({options} AS jsonb) -> 'max_rate', 'null'::jsonb)) AS text)"
        ),
        Dialect::Mysql => {
            format!("JSON_SET({param}, '$.max_rate', JSON_EXTRACT({options}, '$.max_rate'))")
        }
    }
}

/// The status a progress statement read back; `None` (no row) means another worker owns the
/// job now.
fn status_of(job_id: i64, rows: &[Vec<SqlValue>]) -> Result<Option<JobStatus>, StoreError> {
    let Some(found) = rows.first().and_then(|r| r.first()).and_then(text) else {
        return Ok(None);
    };
    JobStatus::parse(&found)
        .map(Some)
        .ok_or_else(|| StoreError::Query {
            what: "save rotation progress".into(),
            table: ROTATION_JOBS.into(),
            reason: format!("job {job_id} has status `{found}`, which this version does not know"),
        })
}
