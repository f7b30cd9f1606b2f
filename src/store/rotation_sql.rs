//! The SQL of key rotation (DESIGN §7, §8): the jobs, failures and key-registry tables, the
//! pages a rotation reads, and the per-batch transaction in which compare-and-set updates,
//! failures and the job's cursor are committed together, so that a process killed at any
//! moment either applied a whole batch (and moved the cursor past it) or nothing of it.
//!
//! Compare-and-set per dialect: PostgreSQL gets one `UPDATE ... FROM (VALUES ...) RETURNING`
//! per column and batch (one round trip); SQLite and MySQL run one prepared `UPDATE` per
//! value inside the same transaction (SQLite has no `UPDATE ... FROM` before 3.33 and
//! MySQL's multi-table form cannot report which rows matched).

use chrono::NaiveDateTime;

use super::Store;
use super::backend::{BackendTx, SqlValue};
use super::cells::owner_text;
use super::convert::to_value;
use super::dialect::{Dialect, Wire, wire_for};
use super::error::StoreError;
use super::records::key_bind;
use super::system_tables::{KEYS, ROTATION_FAILURES, ROTATION_JOBS};
use crate::config::{ColumnDef, ColumnType, ModelDef};
use crate::value::Value;

/// One row of `timber_rotation_jobs`.
#[derive(Clone, Debug, PartialEq)]
pub struct JobRow {
    pub id: i64,
    pub table_name: String,
    /// JSON list of the column names the job rotates.
    pub columns: String,
    pub target_fp: String,
    pub status: String,
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

const JOB_COLUMNS: [&str; 16] = [
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

const JOB_WIRES: [Wire; 16] = [
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

/// A job's counters and cursor after a batch (absolute values, not deltas).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct JobProgress {
    pub cursor: Option<String>,
    pub rows_done: i64,
    pub rows_skipped: i64,
    pub rows_failed: i64,
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
    pub status: String,
    pub created_at: NaiveDateTime,
    pub activated_at: Option<NaiveDateTime>,
    pub retired_at: Option<NaiveDateTime>,
}

/// A row as rotation reads it: key, stored text of the asked columns, owner as text.
#[derive(Clone, Debug, PartialEq)]
pub struct RotationRow {
    pub id: Value,
    pub values: Vec<Option<String>>,
    pub owner: Option<String>,
}

/// One compare-and-set of a value column (and, optionally, its blind-index column).
#[derive(Clone, Debug, PartialEq)]
pub struct ColumnCas {
    pub id: Value,
    pub expected: String,
    pub new: String,
    /// New blind-index hash; `None` leaves the hash column as it is.
    pub hash: Option<String>,
}

fn now() -> NaiveDateTime {
    super::write_prep::now()
}

fn int(v: &SqlValue) -> i64 {
    match v {
        SqlValue::Int(i) => *i,
        _ => 0,
    }
}

fn text(v: &SqlValue) -> Option<String> {
    v.clone().into_text()
}

fn datetime(v: &SqlValue) -> Option<NaiveDateTime> {
    match v {
        SqlValue::DateTime(t) => Some(*t),
        _ => None,
    }
}

fn job_from(row: Vec<SqlValue>) -> JobRow {
    let at = |i: usize| row.get(i).cloned().unwrap_or(SqlValue::Null(Wire::Text));
    JobRow {
        id: int(&at(0)),
        table_name: text(&at(1)).unwrap_or_default(),
        columns: text(&at(2)).unwrap_or_default(),
        target_fp: text(&at(3)).unwrap_or_default(),
        status: text(&at(4)).unwrap_or_default(),
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
    }
}

fn opt_text(v: Option<&str>) -> SqlValue {
    v.map_or(SqlValue::Null(Wire::Text), |s| {
        SqlValue::Text(s.to_string())
    })
}

fn opt_time(v: Option<NaiveDateTime>) -> SqlValue {
    v.map_or(SqlValue::Null(Wire::DateTime), SqlValue::DateTime)
}

impl Store {
    fn system_error(&self, what: &str, table: &str, err: sqlx::Error) -> StoreError {
        if super::error::is_missing_table(&err) {
            return StoreError::Query {
                what: what.to_string(),
                table: table.to_string(),
                reason: format!(
                    "the system table is missing in {} (run `timber init`)",
                    self.url_redacted()
                ),
            };
        }
        StoreError::query(what, table, err)
    }

    fn refuse_system_write(&self, what: &str, table: &str) -> Result<(), StoreError> {
        if self.is_read_only() {
            return Err(StoreError::ReadOnly {
                what: what.to_string(),
                table: table.to_string(),
            });
        }
        Ok(())
    }

    /// Creates a job in status `running`, owned by `worker`; returns its id.
    pub async fn rotation_create_job(
        &self,
        table_name: &str,
        columns: &str,
        target_fp: &str,
        rows_total: i64,
        worker: &str,
        options: &str,
    ) -> Result<i64, StoreError> {
        self.refuse_system_write("create rotation job", ROTATION_JOBS)?;
        let d = self.dialect();
        let names = [
            "table_name",
            "columns",
            "target_fp",
            "status",
            "rows_total",
            "started_at",
            "updated_at",
            "heartbeat_at",
            "worker",
            "options",
        ];
        let at = now();
        let binds = vec![
            SqlValue::Text(table_name.into()),
            SqlValue::Text(columns.into()),
            SqlValue::Text(target_fp.into()),
            SqlValue::Text("running".into()),
            SqlValue::Int(rows_total),
            SqlValue::DateTime(at),
            SqlValue::DateTime(at),
            SqlValue::DateTime(at),
            SqlValue::Text(worker.into()),
            SqlValue::Text(options.into()),
        ];
        let marks: Vec<String> = (1..=names.len()).map(|n| d.param(n)).collect();
        let mut sql = format!(
            "INSERT INTO {} ({}) VALUES ({})",
            d.quote(ROTATION_JOBS),
            names
                .iter()
                .map(|n| d.quote(n))
                .collect::<Vec<_>>()
                .join(", "),
            marks.join(", ")
        );
        let fail = |e| self.system_error("create rotation job", ROTATION_JOBS, e);
        if d == Dialect::Postgres {
            sql.push_str(" RETURNING \"id\"");
            let rows = self
                .backend
                .fetch(&sql, &binds, &[Wire::Int])
                .await
                .map_err(fail)?;
            return Ok(rows.first().and_then(|r| r.first()).map(int).unwrap_or(0));
        }
        let done = self.backend.execute(&sql, &binds).await.map_err(fail)?;
        Ok(done.last_insert_id.unwrap_or(0))
    }

    fn job_select(&self) -> String {
        let d = self.dialect();
        format!(
            "SELECT {} FROM {}",
            JOB_COLUMNS
                .iter()
                .map(|c| d.quote(c))
                .collect::<Vec<_>>()
                .join(", "),
            d.quote(ROTATION_JOBS)
        )
    }

    pub async fn rotation_job(&self, id: i64) -> Result<Option<JobRow>, StoreError> {
        let sql = format!(
            "{} WHERE {} = {}",
            self.job_select(),
            self.quote("id"),
            self.dialect().param(1)
        );
        let rows = self
            .backend
            .fetch(&sql, &[SqlValue::Int(id)], &JOB_WIRES)
            .await
            .map_err(|e| self.system_error("read rotation job", ROTATION_JOBS, e))?;
        Ok(rows.into_iter().next().map(job_from))
    }

    /// The newest `limit` jobs, newest first.
    pub async fn rotation_jobs(&self, limit: u32) -> Result<Vec<JobRow>, StoreError> {
        let sql = format!(
            "{} ORDER BY {} DESC LIMIT {}",
            self.job_select(),
            self.quote("id"),
            limit.max(1)
        );
        let rows = self
            .backend
            .fetch(&sql, &[], &JOB_WIRES)
            .await
            .map_err(|e| self.system_error("list rotation jobs", ROTATION_JOBS, e))?;
        Ok(rows.into_iter().map(job_from).collect())
    }

    /// Takes a job over for `worker` only if it is still in `status` with `previous_worker`
    /// (a compare-and-set, so two workers resuming at once cannot both win).
    pub async fn rotation_claim_job(
        &self,
        id: i64,
        status: &str,
        previous_worker: Option<&str>,
        worker: &str,
    ) -> Result<bool, StoreError> {
        self.refuse_system_write("claim rotation job", ROTATION_JOBS)?;
        let d = self.dialect();
        let q = |s: &str| d.quote(s);
        let worker_cond = match previous_worker {
            Some(_) => format!("{} = {}", q("worker"), d.param(6)),
            None => format!("{} IS NULL", q("worker")),
        };
        let sql = format!(
            "UPDATE {} SET {} = {}, {} = {}, {} = {}, {} = NULL WHERE {} = {} AND {} = {} AND {worker_cond}",
            q(ROTATION_JOBS),
            q("status"),
            d.param(1),
            q("worker"),
            d.param(2),
            q("heartbeat_at"),
            d.param(3),
            q("error"),
            q("id"),
            d.param(4),
            q("status"),
            d.param(5),
        );
        let mut binds = vec![
            SqlValue::Text("running".into()),
            SqlValue::Text(worker.into()),
            SqlValue::DateTime(now()),
            SqlValue::Int(id),
            SqlValue::Text(status.into()),
        ];
        if let Some(prev) = previous_worker {
            binds.push(SqlValue::Text(prev.into()));
        }
        let done = self
            .backend
            .execute(&sql, &binds)
            .await
            .map_err(|e| self.system_error("claim rotation job", ROTATION_JOBS, e))?;
        Ok(done.rows_affected == 1)
    }

    /// Sets a job's status (and error) if `worker` still owns it; false when it does not.
    pub async fn rotation_finish_job(
        &self,
        id: i64,
        worker: &str,
        status: &str,
        error: Option<&str>,
    ) -> Result<bool, StoreError> {
        self.refuse_system_write("update rotation job", ROTATION_JOBS)?;
        let d = self.dialect();
        let q = |s: &str| d.quote(s);
        let sql = format!(
            "UPDATE {} SET {} = {}, {} = {}, {} = {} WHERE {} = {} AND {} = {}",
            q(ROTATION_JOBS),
            q("status"),
            d.param(1),
            q("error"),
            d.param(2),
            q("updated_at"),
            d.param(3),
            q("id"),
            d.param(4),
            q("worker"),
            d.param(5),
        );
        let binds = [
            SqlValue::Text(status.into()),
            opt_text(error),
            SqlValue::DateTime(now()),
            SqlValue::Int(id),
            SqlValue::Text(worker.into()),
        ];
        let done = self
            .backend
            .execute(&sql, &binds)
            .await
            .map_err(|e| self.system_error("update rotation job", ROTATION_JOBS, e))?;
        Ok(done.rows_affected == 1)
    }

    /// Asks the worker running a job to stop after its current batch (`pausing` or
    /// `cancelling`); the worker records the final status. False when the job is not running.
    pub async fn rotation_request(&self, id: i64, request: &str) -> Result<bool, StoreError> {
        self.refuse_system_write("update rotation job", ROTATION_JOBS)?;
        let d = self.dialect();
        let sql = format!(
            "UPDATE {} SET {} = {} WHERE {} = {} AND {} = {}",
            d.quote(ROTATION_JOBS),
            d.quote("status"),
            d.param(1),
            d.quote("id"),
            d.param(2),
            d.quote("status"),
            d.param(3),
        );
        let binds = [
            SqlValue::Text(request.into()),
            SqlValue::Int(id),
            SqlValue::Text("running".into()),
        ];
        let done = self
            .backend
            .execute(&sql, &binds)
            .await
            .map_err(|e| self.system_error("update rotation job", ROTATION_JOBS, e))?;
        Ok(done.rows_affected == 1)
    }

    /// The failures recorded for a job, oldest first.
    pub async fn rotation_failures(
        &self,
        job_id: i64,
        limit: u32,
    ) -> Result<Vec<FailureRow>, StoreError> {
        let d = self.dialect();
        let sql = format!(
            "SELECT {}, {}, {} FROM {} WHERE {} = {} ORDER BY {} LIMIT {}",
            d.quote("record_id"),
            d.quote("column_name"),
            d.quote("reason"),
            d.quote(ROTATION_FAILURES),
            d.quote("job_id"),
            d.param(1),
            d.quote("id"),
            limit.max(1)
        );
        let rows = self
            .backend
            .fetch(
                &sql,
                &[SqlValue::Int(job_id)],
                &[Wire::Text, Wire::Text, Wire::Text],
            )
            .await
            .map_err(|e| self.system_error("read rotation failures", ROTATION_FAILURES, e))?;
        Ok(rows
            .into_iter()
            .map(|r| FailureRow {
                record_id: r.first().and_then(text).unwrap_or_default(),
                column_name: r.get(1).and_then(text).unwrap_or_default(),
                reason: r.get(2).and_then(text).unwrap_or_default(),
            })
            .collect())
    }

    /// Every row of the key registry.
    pub async fn key_registry(&self) -> Result<Vec<KeyRow>, StoreError> {
        let d = self.dialect();
        let names = [
            "key_id",
            "fingerprint",
            "wrapped_key",
            "status",
            "created_at",
            "activated_at",
            "retired_at",
        ];
        let sql = format!(
            "SELECT {} FROM {} ORDER BY {}",
            names
                .iter()
                .map(|n| d.quote(n))
                .collect::<Vec<_>>()
                .join(", "),
            d.quote(KEYS),
            d.quote("key_id")
        );
        let wires = [
            Wire::Text,
            Wire::Text,
            Wire::Text,
            Wire::Text,
            Wire::DateTime,
            Wire::DateTime,
            Wire::DateTime,
        ];
        let rows = self
            .backend
            .fetch(&sql, &[], &wires)
            .await
            .map_err(|e| self.system_error("read key registry", KEYS, e))?;
        Ok(rows
            .into_iter()
            .map(|r| KeyRow {
                key_id: text(&r[0]).unwrap_or_default(),
                fingerprint: text(&r[1]).unwrap_or_default(),
                wrapped_key: text(&r[2]),
                status: text(&r[3]).unwrap_or_default(),
                created_at: datetime(&r[4]).unwrap_or_default(),
                activated_at: datetime(&r[5]),
                retired_at: datetime(&r[6]),
            })
            .collect())
    }

    /// Inserts or replaces one registry row (delete + insert in one transaction).
    pub async fn key_registry_put(&self, row: &KeyRow) -> Result<(), StoreError> {
        self.refuse_system_write("update key registry", KEYS)?;
        let d = self.dialect();
        let fail = |e| self.system_error("update key registry", KEYS, e);
        let mut tx = self.backend.begin().await.map_err(fail)?;
        let delete = format!(
            "DELETE FROM {} WHERE {} = {}",
            d.quote(KEYS),
            d.quote("key_id"),
            d.param(1)
        );
        tx.execute(&delete, &[SqlValue::Text(row.key_id.clone())])
            .await
            .map_err(fail)?;
        let names = [
            "key_id",
            "fingerprint",
            "wrapped_key",
            "status",
            "created_at",
            "activated_at",
            "retired_at",
        ];
        let insert = format!(
            "INSERT INTO {} ({}) VALUES ({})",
            d.quote(KEYS),
            names
                .iter()
                .map(|n| d.quote(n))
                .collect::<Vec<_>>()
                .join(", "),
            (1..=names.len())
                .map(|n| d.param(n))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let binds = [
            SqlValue::Text(row.key_id.clone()),
            SqlValue::Text(row.fingerprint.clone()),
            opt_text(row.wrapped_key.as_deref()),
            SqlValue::Text(row.status.clone()),
            SqlValue::DateTime(row.created_at),
            opt_time(row.activated_at),
            opt_time(row.retired_at),
        ];
        tx.execute(&insert, &binds).await.map_err(fail)?;
        tx.commit().await.map_err(fail)
    }

    /// Up to `limit` rows after `after` in key order: the stored text of `columns` and the
    /// owner column's value as text.
    pub async fn rotation_page(
        &self,
        model: &ModelDef,
        columns: &[&ColumnDef],
        owner: Option<&ColumnDef>,
        after: Option<&Value>,
        limit: u32,
    ) -> Result<Vec<RotationRow>, StoreError> {
        let (select, wires) = row_select(self.dialect(), model, columns, owner);
        let pk = model.primary_key();
        let d = self.dialect();
        let mut binds = Vec::new();
        let mut condition = String::new();
        if let Some(after) = after {
            binds.push(key_bind(model, after)?);
            condition = format!(" WHERE {} > {}", d.quote(&pk.name), d.placeholder(1, pk));
        }
        let sql = format!(
            "{select}{condition} ORDER BY {} LIMIT {}",
            d.quote(&pk.name),
            limit.max(1)
        );
        let rows = self
            .backend
            .fetch(&sql, &binds, &wires)
            .await
            .map_err(|e| self.read_error("read rows to rotate", model, e))?;
        rows.into_iter()
            .map(|r| rotation_row(model, owner, r))
            .collect()
    }

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

fn row_select(
    d: Dialect,
    model: &ModelDef,
    columns: &[&ColumnDef],
    owner: Option<&ColumnDef>,
) -> (String, Vec<Wire>) {
    let pk = model.primary_key();
    let mut exprs = vec![d.select_expr(pk)];
    let mut wires = vec![wire_for(pk)];
    for column in columns {
        exprs.push(d.stored_text_expr(column));
        wires.push(Wire::Text);
    }
    if let Some(owner) = owner {
        exprs.push(d.select_expr(owner));
        wires.push(wire_for(owner));
    }
    (
        format!(
            "SELECT {} FROM {}",
            exprs.join(", "),
            d.quote(&model.table_name)
        ),
        wires,
    )
}

fn rotation_row(
    model: &ModelDef,
    owner: Option<&ColumnDef>,
    row: Vec<SqlValue>,
) -> Result<RotationRow, StoreError> {
    let pk = model.primary_key();
    let invalid = |column: &ColumnDef, reason| StoreError::InvalidValue {
        model: model.name.clone(),
        field: column.name.clone(),
        reason,
    };
    let mut values: Vec<SqlValue> = row;
    let owner_value = match owner {
        Some(column) => {
            let raw = values.pop().unwrap_or(SqlValue::Null(Wire::Text));
            let v = to_value(raw, column).map_err(|r| invalid(column, r))?;
            owner_text(&v)
        }
        None => None,
    };
    let mut iter = values.into_iter();
    let id = to_value(iter.next().unwrap_or(SqlValue::Null(Wire::Text)), pk)
        .map_err(|r| invalid(pk, r))?;
    Ok(RotationRow {
        id,
        values: iter.map(SqlValue::into_text).collect(),
        owner: owner_value,
    })
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
            return self.cas_values_pg(column, hash_column, updates).await;
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
