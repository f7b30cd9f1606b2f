//! The transaction of one rotation batch: compare-and-set per dialect, re-reads of rows
//! that changed, failures, and the job's progress, committed together or not at all.

use super::page::{rotation_row, row_select};
use super::{ColumnCas, FailureRow, JobProgress, RotationRow, now, opt_text, text};
use crate::config::{ColumnDef, ColumnType, ModelDef};
use crate::store::Store;
use crate::store::backend::{BackendTx, SqlValue};
use crate::store::convert::to_value;
use crate::store::dialect::{Dialect, Wire};
use crate::store::error::StoreError;
use crate::store::records::key_bind;
use crate::store::system_tables::{ROTATION_FAILURES, ROTATION_JOBS};
use crate::value::Value;

/// Rows per `UPDATE ... FROM (VALUES ...)` (4 parameters each, below PostgreSQL's 65 535).
const PG_ROWS_PER_STATEMENT: usize = 10_000;

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
    store: Store,
    tx: Box<dyn BackendTx>,
    model: &'m ModelDef,
}

impl RotationTx<'_> {
    fn fail(&self, what: &str, err: sqlx::Error) -> StoreError {
        self.store.write_error(what, self.model, err)
    }

    /// Applies the updates of one column whose row still holds `expected`; returns the ids
    /// of the rows that did not (changed or deleted meanwhile).
    pub async fn compare_and_set_column(
        &mut self,
        column: &ColumnDef,
        hash_column: Option<&ColumnDef>,
        updates: &[ColumnCas],
    ) -> Result<Vec<Value>, StoreError> {
        if updates.is_empty() {
            return Ok(Vec::new());
        }
        if self.store.dialect() == Dialect::Postgres {
            // Four parameters per row; PostgreSQL allows 65 535 per statement.
            let mut conflicts = Vec::new();
            for chunk in updates.chunks(PG_ROWS_PER_STATEMENT) {
                conflicts.extend(self.cas_values_pg(column, hash_column, chunk).await?);
            }
            return Ok(conflicts);
        }
        let d = self.store.dialect();
        let pk = self.model.primary_key();
        let hash_set = hash_column
            .map(|h| format!(", {0} = COALESCE({1}, {0})", d.quote(&h.name), d.param(2)))
            .unwrap_or_default();
        let sql = format!(
            "UPDATE {} SET {} = {}{hash_set} WHERE {} = {} AND {} = {}",
            d.quote(&self.model.table_name),
            d.quote(&column.name),
            d.param(1),
            d.quote(&pk.name),
            d.param(3),
            d.stored_text_expr(column),
            d.param(4)
        );
        let mut conflicts = Vec::new();
        for update in updates {
            let mut binds = vec![SqlValue::Text(update.new.clone())];
            if hash_column.is_some() {
                binds.push(opt_text(update.hash.as_deref()));
            }
            binds.push(key_bind(self.model, &update.id)?);
            binds.push(SqlValue::Text(update.expected.clone()));
            let done = self
                .tx
                .execute(&sql, &binds)
                .await
                .map_err(|e| self.store.write_error("rotation update", self.model, e))?;
            if done.rows_affected == 0 {
                conflicts.push(update.id.clone());
            }
        }
        Ok(conflicts)
    }

    /// PostgreSQL: `UPDATE t SET c = v.new FROM (VALUES ...) v WHERE t.pk = v.id AND
    /// t.c::text = v.expected RETURNING t.pk`, one statement for the whole batch.
    async fn cas_values_pg(
        &mut self,
        column: &ColumnDef,
        hash_column: Option<&ColumnDef>,
        updates: &[ColumnCas],
    ) -> Result<Vec<Value>, StoreError> {
        let d = Dialect::Postgres;
        let pk = self.model.primary_key();
        let key_cast = match pk.ty {
            ColumnType::Integer | ColumnType::BigInteger => "int8",
            _ => "text",
        };
        let returned_wire = if key_cast == "int8" {
            Wire::Int
        } else {
            Wire::Text
        };
        let value_cast = if column.ty == ColumnType::Json {
            "json"
        } else {
            "text"
        };
        let mut binds = Vec::with_capacity(updates.len() * 4);
        let mut tuples = Vec::with_capacity(updates.len());
        for update in updates {
            let n = binds.len();
            tuples.push(format!(
                "(${}::{key_cast}, ${}::text, ${}::{value_cast}, ${}::text)",
                n + 1,
                n + 2,
                n + 3,
                n + 4
            ));
            binds.push(key_bind(self.model, &update.id)?);
            binds.push(SqlValue::Text(update.expected.clone()));
            binds.push(SqlValue::Text(update.new.clone()));
            binds.push(opt_text(update.hash.as_deref()));
        }
        let t = d.quote(&self.model.table_name);
        let hash_set = hash_column
            .map(|h| format!(", {0} = COALESCE(v.hash, t.{0})", d.quote(&h.name)))
            .unwrap_or_default();
        let stored = match column.ty {
            ColumnType::Json => format!("t.{}::text", d.quote(&column.name)),
            _ => format!("t.{}", d.quote(&column.name)),
        };
        let sql = format!(
            "UPDATE {t} AS t SET {c} = v.new{hash_set} FROM (VALUES {}) AS v(id, expected, new, hash) \
             WHERE t.{k} = v.id AND {stored} = v.expected RETURNING t.{k}::{key_cast}",
            tuples.join(", "),
            c = d.quote(&column.name),
            k = d.quote(&pk.name),
        );
        let rows = self
            .tx
            .fetch(&sql, &binds, &[returned_wire])
            .await
            .map_err(|e| self.fail("rotation update", e))?;
        let mut applied = Vec::with_capacity(rows.len());
        for row in rows {
            let raw = row.into_iter().next().unwrap_or(SqlValue::Null(Wire::Text));
            applied.push(to_value(raw, pk).unwrap_or(Value::Null));
        }
        Ok(updates
            .iter()
            .filter(|u| !applied.contains(&u.id))
            .map(|u| u.id.clone())
            .collect())
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
    ) -> Result<Option<String>, StoreError> {
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
            d.param(5),
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
        Ok(rows.first().and_then(|r| r.first()).and_then(text))
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
