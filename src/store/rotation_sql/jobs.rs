//! The jobs table (create, read, claim, finish, pause/cancel requests) and the failures
//! recorded for a job.

use super::{
    FailureRow, JOB_COLUMNS, JOB_WIRES, JobRequest, JobRow, JobStatus, int, job_from, now,
    opt_text, text,
};
use crate::store::Store;
use crate::store::backend::SqlValue;
use crate::store::dialect::{Dialect, Wire};
use crate::store::error::StoreError;
use crate::store::system_tables::{ROTATION_CHUNKS, ROTATION_FAILURES, ROTATION_JOBS};

impl Store {
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
            SqlValue::Text(JobStatus::Running.as_str().into()),
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
        rows.into_iter().next().map(job_from).transpose()
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
        rows.into_iter().map(job_from).collect()
    }

    /// Takes a job over for `worker` only if it is still in `status` with `previous_worker`
    /// (a compare-and-set, so two workers resuming at once cannot both win).
    pub async fn rotation_claim_job(
        &self,
        id: i64,
        status: JobStatus,
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
            SqlValue::Text(JobStatus::Running.as_str().into()),
            SqlValue::Text(worker.into()),
            SqlValue::DateTime(now()),
            SqlValue::Int(id),
            SqlValue::Text(status.as_str().into()),
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
        status: JobStatus,
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
            SqlValue::Text(status.as_str().into()),
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

    /// Moves a job to `status` (with `error`) if it is in one of `from` (a compare-and-set
    /// on the status, not on a worker: the job may have many). False when it is not.
    /// Completing also needs every chunk done, in the same statement, so two processes
    /// finishing their last chunks at once complete the job once, and a process cannot
    /// complete a job whose chunks another worker still holds.
    pub async fn rotation_end_job(
        &self,
        id: i64,
        from: &[JobStatus],
        status: JobStatus,
        error: Option<&str>,
    ) -> Result<bool, StoreError> {
        self.refuse_system_write("update rotation job", ROTATION_JOBS)?;
        let d = self.dialect();
        let q = |s: &str| d.quote(s);
        let marks: Vec<String> = (0..from.len()).map(|i| d.param(5 + i)).collect();
        let mut sql = format!(
            "UPDATE {} SET {} = {}, {} = {}, {} = {} WHERE {} = {} AND {} IN ({})",
            q(ROTATION_JOBS),
            q("status"),
            d.param(1),
            q("error"),
            d.param(2),
            q("updated_at"),
            d.param(3),
            q("id"),
            d.param(4),
            q("status"),
            marks.join(", "),
        );
        let mut binds = vec![
            SqlValue::Text(status.as_str().into()),
            opt_text(error),
            SqlValue::DateTime(now()),
            SqlValue::Int(id),
        ];
        binds.extend(from.iter().map(|s| SqlValue::Text(s.as_str().into())));
        if status == JobStatus::Completed {
            sql.push_str(&format!(
                " AND NOT EXISTS (SELECT 1 FROM {} WHERE {} = {} AND {} <> {})",
                q(ROTATION_CHUNKS),
                q("job_id"),
                d.param(binds.len() + 1),
                q("status"),
                d.param(binds.len() + 2),
            ));
            binds.push(SqlValue::Int(id));
            binds.push(SqlValue::Text("done".into()));
        }
        let done = self
            .backend
            .execute(&sql, &binds)
            .await
            .map_err(|e| self.system_error("update rotation job", ROTATION_JOBS, e))?;
        Ok(done.rows_affected == 1)
    }

    /// Moves a job's heartbeat to now (a worker waiting, not batching, is still there).
    pub async fn rotation_heartbeat(&self, id: i64) -> Result<(), StoreError> {
        self.refuse_system_write("update rotation job", ROTATION_JOBS)?;
        let d = self.dialect();
        let sql = format!(
            "UPDATE {} SET {} = {} WHERE {} = {}",
            d.quote(ROTATION_JOBS),
            d.quote("heartbeat_at"),
            d.param(1),
            d.quote("id"),
            d.param(2),
        );
        self.backend
            .execute(&sql, &[SqlValue::DateTime(now()), SqlValue::Int(id)])
            .await
            .map_err(|e| self.system_error("update rotation job", ROTATION_JOBS, e))?;
        Ok(())
    }

    /// Replaces a job's `options` text only if it still is `expected` (a compare-and-set:
    /// `timber jobs set` reads, changes one option and writes back, and a worker's batch
    /// committed in between makes it read again). False when the row changed or is gone.
    pub async fn rotation_replace_options(
        &self,
        id: i64,
        expected: Option<&str>,
        options: &str,
    ) -> Result<bool, StoreError> {
        self.refuse_system_write("update rotation job", ROTATION_JOBS)?;
        let d = self.dialect();
        let q = |s: &str| d.quote(s);
        let expected_cond = match expected {
            Some(_) => format!("{} = {}", q("options"), d.param(3)),
            None => format!("{} IS NULL", q("options")),
        };
        let sql = format!(
            "UPDATE {} SET {} = {} WHERE {} = {} AND {expected_cond}",
            q(ROTATION_JOBS),
            q("options"),
            d.param(1),
            q("id"),
            d.param(2),
        );
        let mut binds = vec![SqlValue::Text(options.into()), SqlValue::Int(id)];
        if let Some(old) = expected {
            binds.push(SqlValue::Text(old.into()));
        }
        let done = self
            .backend
            .execute(&sql, &binds)
            .await
            .map_err(|e| self.system_error("update rotation job", ROTATION_JOBS, e))?;
        Ok(done.rows_affected == 1)
    }

    /// Asks the worker running a job to stop after its current batch (`pausing` or
    /// `cancelling`); the worker records the final status. False when the job is not running.
    pub async fn rotation_request(&self, id: i64, request: JobRequest) -> Result<bool, StoreError> {
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
            SqlValue::Text(request.status().as_str().into()),
            SqlValue::Int(id),
            SqlValue::Text(JobStatus::Running.as_str().into()),
        ];
        let done = self
            .backend
            .execute(&sql, &binds)
            .await
            .map_err(|e| self.system_error("update rotation job", ROTATION_JOBS, e))?;
        Ok(done.rows_affected == 1)
    }

    /// Seconds the slowest replica is behind this server (the largest write, flush or replay
    /// lag of `pg_stat_replication`; 0 with no replica streaming from it). `None` where the
    /// server cannot tell: SQLite has no replicas, and a MySQL/MariaDB primary does not know
    /// its replicas' lag (each replica reports its own).
    pub async fn replication_lag(&self) -> Result<Option<f64>, StoreError> {
        if self.dialect() != Dialect::Postgres {
            return Ok(None);
        }
        // PostgreSQL shows the lag columns only to members of pg_read_all_stats (pg_monitor
        // and superusers are): to anyone else they read NULL, which must not pass for "no
        // lag". -1 says so.
        let sql = "SELECT CAST(CASE WHEN pg_has_role(current_user, 'pg_read_all_stats', 'USAGE') \
                   THEN COALESCE((SELECT MAX(EXTRACT(EPOCH FROM \
                   GREATEST(write_lag, flush_lag, replay_lag))) FROM pg_stat_replication), 0) \
                   ELSE -1 END AS float8)";
        let rows = self
            .backend
            .fetch(sql, &[], &[Wire::Float])
            .await
            .map_err(|e| StoreError::query("read replication lag", "pg_stat_replication", e))?;
        match rows.first().and_then(|r| r.first()) {
            Some(SqlValue::Float(lag)) if *lag < 0.0 => Err(StoreError::Query {
                what: "read replication lag".into(),
                table: "pg_stat_replication".into(),
                reason: "this role cannot see its replicas' lag (PostgreSQL hides it from \
                         roles outside pg_read_all_stats); grant it pg_monitor"
                    .into(),
            }),
            Some(SqlValue::Float(lag)) => Ok(Some(*lag)),
            _ => Ok(Some(0.0)),
        }
    }

    /// How far behind its source this server is, asked of a MySQL/MariaDB replica (`SHOW
    /// REPLICA STATUS`: `Seconds_Behind_Source`, MariaDB's `Seconds_Behind_Master`).
    /// `Ok(None)` when its replication is stopped or broken (the server reports NULL): the
    /// lag is unknown, and a job waiting on it keeps waiting. An error when the server is no
    /// replica, or not MySQL/MariaDB (PostgreSQL's lag is read on the primary).
    pub async fn replica_lag(&self) -> Result<Option<f64>, StoreError> {
        let what = "read replication lag";
        let where_ = "SHOW REPLICA STATUS";
        if self.dialect() != Dialect::Mysql {
            return Err(StoreError::Query {
                what: what.into(),
                table: where_.into(),
                reason: format!(
                    "{} is not MySQL/MariaDB; only a MySQL/MariaDB replica is asked for its lag \
                     (PostgreSQL's is read on the primary, without --lag-from)",
                    self.url_redacted()
                ),
            });
        }
        // `SHOW REPLICA STATUS` since MySQL 8.0.22 and MariaDB 10.5.1; the older spelling
        // before that.
        let rows = match self.backend.fetch_named("SHOW REPLICA STATUS").await {
            Ok(rows) => rows,
            Err(_) => self
                .backend
                .fetch_named("SHOW SLAVE STATUS")
                .await
                .map_err(|e| StoreError::query(what, where_, e))?,
        };
        let Some(row) = rows.first() else {
            return Err(StoreError::Query {
                what: what.into(),
                table: where_.into(),
                reason: format!(
                    "{} is not a replica (it reports no replication status)",
                    self.url_redacted()
                ),
            });
        };
        let lag = row
            .iter()
            .find(|(name, _)| name == "Seconds_Behind_Source" || name == "Seconds_Behind_Master")
            .and_then(|(_, value)| value.as_deref())
            .and_then(|v| v.trim().parse::<f64>().ok());
        Ok(lag)
    }

    /// Every rotation job (newest first, at most 1000); empty when the table does not exist
    /// (a database never rotated is not a failed check).
    pub async fn rotation_jobs_if_any(&self) -> Result<Vec<JobRow>, StoreError> {
        if !self.table_exists(ROTATION_JOBS).await? {
            return Ok(Vec::new());
        }
        self.rotation_jobs(1000).await
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
}
