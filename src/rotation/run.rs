//! Starting and resuming rotation jobs: the checks before a job may run (an unfinished job
//! on the same table, a job still held by a live worker, a final job) and the claim that
//! makes one worker the owner. The loop itself is in `drive.rs`, one batch in `batch.rs`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use futures_util::future::BoxFuture;
use tokio::sync::mpsc::UnboundedSender;

use super::RotationError;
use super::events::{EventSink, JobSummary, RotationEvent};
use super::job::{JobOptions, JobStatus, RowOrder, heartbeat_age, worker_alive, worker_id};
use super::scope::{rotated_columns, target_label};
use crate::access::ActionRefused;
use crate::audit::AuditLog;
use crate::config::ModelDef;
use crate::crypto::KeyRing;
use crate::store::JobRow;
use crate::store::Store;
use crate::store::parse_for_column;
use crate::value::Value;

/// How a new job runs.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunOptions {
    /// Rows per batch; `None` adapts to keep each batch around a quarter second.
    pub batch: Option<u32>,
    pub encrypt_plaintext: bool,
}

/// Pause or cancel a running job from the same process (the console). Other processes
/// use `Store::rotation_request` on the jobs table; the worker honours both after a batch.
#[derive(Clone, Default)]
pub struct RotationControl(Arc<AtomicU8>);

impl RotationControl {
    pub fn pause(&self) {
        self.0.store(1, Ordering::SeqCst);
    }
    pub fn cancel(&self) {
        self.0.store(2, Ordering::SeqCst);
    }
    pub(crate) fn requested(&self) -> Option<JobStatus> {
        match self.0.load(Ordering::SeqCst) {
            1 => Some(JobStatus::Paused),
            2 => Some(JobStatus::Cancelled),
            _ => None,
        }
    }
}

/// Called with a batch's record ids after the batch is read and before its transaction
/// opens: the window in which a live application's write makes a compare-and-set miss.
/// The console may show the batch; tests write there to prove such writes are never lost.
pub type BatchHook = Arc<dyn Fn(Vec<Value>) -> BoxFuture<'static, ()> + Send + Sync>;

/// Runs rotation jobs.
pub struct Runner<'a> {
    pub store: &'a Store,
    pub ring: &'a KeyRing,
    /// Start and end of every run are audited; `None` only for library callers (tests,
    /// benches) that audit themselves.
    pub audit: Option<&'a AuditLog>,
    pub actor: String,
    pub events: EventSink,
    pub control: RotationControl,
    pub after_read: Option<BatchHook>,
    /// Rows per second for the jobs this runner starts (`None`: unlimited). A resumed job
    /// keeps the rate it was started with unless `rate_explicit` says the operator named one.
    pub max_rate: Option<u64>,
    /// Replication lag in seconds past which the jobs this runner starts wait (PostgreSQL);
    /// given on a resume, it replaces the job's.
    pub max_lag: Option<f64>,
    /// Where a MySQL/MariaDB job's lag is read (`--lag-from`: a replica); PostgreSQL reads
    /// it on the primary and needs none.
    pub lag_from: Option<Store>,
    /// The rate was asked for on this run (`--max-rate`), not inherited from settings: it then
    /// replaces a resumed job's stored rate too (an operator slowing down or speeding up a
    /// job mid-way means it).
    pub rate_explicit: bool,
    /// Why this runner may not take over a job whose worker is gone (the role lacks the
    /// `takeover_job` action); `None`: it may. Checked on the row the claim compares with.
    pub takeover_refused: Option<ActionRefused>,
    /// Workers this process runs on a job (`--workers N`; tasks on separate connections).
    pub workers: usize,
    /// How long a claimed chunk stays this process's without a commit or renewal; after
    /// that another worker may take it over.
    pub lease: Duration,
    /// A rerun that finds the table's job held by a live worker joins it (`--workers`)
    /// instead of refusing.
    pub join_live: bool,
}

/// A lease outlives a few slow batches and a pause in the network, and a crash costs at
/// most this long before a survivor takes the chunk over.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(30);

/// A job being worked on by this process.
pub(crate) struct Live<'m> {
    pub(crate) row: JobRow,
    pub(crate) model: &'m ModelDef,
    pub(crate) options: JobOptions,
    pub(crate) worker: String,
    pub(crate) cursor: Option<Value>,
    /// This process joined a job another process runs (`--join`): it works on chunks but
    /// does not own the job row.
    pub(crate) joined: bool,
}

impl<'a> Runner<'a> {
    pub fn new(store: &'a Store, ring: &'a KeyRing, actor: &str) -> Runner<'a> {
        Runner {
            store,
            ring,
            audit: None,
            actor: actor.to_string(),
            events: EventSink::default(),
            control: RotationControl::default(),
            after_read: None,
            max_rate: None,
            max_lag: None,
            lag_from: None,
            rate_explicit: false,
            takeover_refused: None,
            workers: 1,
            lease: DEFAULT_LEASE,
            join_live: false,
        }
    }

    /// Runs `workers` workers on each job (at least one). SQLite has one writer: more than
    /// one is refused there when a job starts.
    pub fn with_workers(mut self, workers: usize) -> Self {
        self.workers = workers.max(1);
        self
    }

    /// Leases chunks for `lease` at a time (at least one second).
    pub fn with_lease(mut self, lease: Duration) -> Self {
        self.lease = lease.max(Duration::from_secs(1));
        self
    }

    /// A rerun joins a job held by a live worker instead of refusing it.
    pub fn joining_live_jobs(mut self, join: bool) -> Self {
        self.join_live = join;
        self
    }

    /// A lag limit needs a lag to read: PostgreSQL's primary knows its replicas' lag; a
    /// MySQL/MariaDB job reads a replica (`--lag-from`); SQLite has no replicas.
    pub(crate) fn check_lag_source(&self) -> Result<(), RotationError> {
        lag_source(self.store.dialect(), self.lag_from.is_some())
    }

    /// More than one worker on SQLite (one writer at a time) is refused before anything
    /// is written.
    fn check_workers(&self) -> Result<(), RotationError> {
        if self.max_lag.is_some() {
            self.check_lag_source()?;
        }
        if self.workers > 1 && self.store.dialect() == crate::store::Dialect::Sqlite {
            return Err(RotationError::OneWriter {
                workers: self.workers,
            });
        }
        Ok(())
    }

    /// Refuses takeovers when `allowed` is the acting role's refusal of `takeover_job`.
    pub fn with_takeover(mut self, allowed: Result<(), ActionRefused>) -> Self {
        self.takeover_refused = allowed.err();
        self
    }

    /// Caps the jobs this runner starts at `rate` rows per second (`None` or 0: unlimited).
    pub fn with_max_rate(mut self, rate: Option<u64>) -> Self {
        self.max_rate = rate.filter(|r| *r > 0);
        self
    }

    /// Makes the jobs this runner starts (and resumes) wait while replication lag is over
    /// `seconds`. Only PostgreSQL can tell its replicas' lag: elsewhere a job with a lag
    /// limit is refused before it starts.
    pub fn with_max_lag(mut self, seconds: Option<f64>) -> Self {
        self.max_lag = seconds.filter(|s| *s > 0.0);
        self
    }

    /// Reads replication lag on `replica` (a MySQL/MariaDB replica's store) instead of the
    /// database the job writes.
    pub fn with_lag_from(mut self, replica: Option<Store>) -> Self {
        self.lag_from = replica;
        self
    }

    /// As [`Runner::with_max_rate`], for a rate the operator asked for on this run: it also
    /// replaces the rate a resumed job was started with (0: unlimited from now on).
    pub fn with_explicit_max_rate(mut self, rate: Option<u64>) -> Self {
        self.max_rate = rate.filter(|r| *r > 0);
        self.rate_explicit = true;
        self
    }

    pub fn with_events(mut self, sender: UnboundedSender<RotationEvent>) -> Self {
        self.events = EventSink::new(Some(sender));
        self
    }

    pub fn with_audit(mut self, audit: &'a AuditLog) -> Self {
        self.audit = Some(audit);
        self
    }

    /// Starts a new job for `model` and runs it to the end (or a pause or cancel).
    pub async fn start(
        &self,
        model: &ModelDef,
        options: &RunOptions,
    ) -> Result<JobSummary, RotationError> {
        self.check_workers()?;
        let columns = rotated_columns(model)?;
        let target_fp = target_label(self.ring, model)?;
        for job in self.store.rotation_jobs(500).await? {
            if job.table_name == model.table_name
                && (job.status.is_active() || job.status == JobStatus::Paused)
            {
                return self.adopt(model, job, &target_fp).await;
            }
        }
        let total = self.store.count_rows(model).await?.rows;
        let names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
        let job_options = JobOptions {
            batch: options.batch,
            encrypt_plaintext: options.encrypt_plaintext,
            conflicts: 0,
            max_rate: self.max_rate,
            max_lag: self.max_lag,
            order: if self.store.rotation_rowid_order(model).await? {
                RowOrder::Rowid
            } else {
                RowOrder::Key
            },
        };
        let worker = worker_id();
        let id = self
            .store
            .rotation_create_job(
                &model.table_name,
                &serde_json::to_string(&names).unwrap_or_default(),
                &target_fp,
                i64::try_from(total).unwrap_or(i64::MAX),
                &worker,
                &job_options.to_json(),
            )
            .await?;
        let row = self
            .store
            .rotation_job(id)
            .await?
            .ok_or(RotationError::NoSuchJob(id))?;
        self.drive(
            Live {
                row,
                model,
                options: job_options,
                worker,
                cursor: None,
                joined: false,
            },
            false,
        )
        .await
    }

    /// A rerun of `rotate` found `job` unfinished on the model's table. A job still marked
    /// running for the same target key whose worker is gone (killed, its host lost, no
    /// heartbeat for [`STALE_AFTER_SECONDS`](super::job::STALE_AFTER_SECONDS)) is adopted:
    /// resumed from its cursor as `--resume` would (a takeover, so it needs `takeover_job`),
    /// saying so first. One whose worker is alive is refused naming the worker; a paused
    /// job (someone stopped it on purpose) or one for another target key is refused with
    /// the explicit `--resume` to use.
    async fn adopt(
        &self,
        model: &ModelDef,
        job: JobRow,
        target_fp: &str,
    ) -> Result<JobSummary, RotationError> {
        let now = chrono::Utc::now().naive_utc();
        if job.status == JobStatus::Running
            && worker_alive(&job)
            && self.join_live
            && job.target_fp == target_fp
        {
            return self.join_row(model, job).await;
        }
        if job.status.is_active() && worker_alive(&job) {
            let age_seconds = heartbeat_age(&job, now);
            return Err(RotationError::HeldBy {
                table: job.table_name,
                id: job.id,
                worker: job.worker.unwrap_or_default(),
                age_seconds,
                stale: super::job::STALE_AFTER_SECONDS,
            });
        }
        if job.status != JobStatus::Running || job.target_fp != target_fp {
            return Err(RotationError::Unfinished {
                table: job.table_name,
                id: job.id,
                status: job.status,
            });
        }
        if let Some(refused) = &self.takeover_refused {
            return Err(RotationError::NotGranted(refused.clone()));
        }
        let adopted = RotationEvent::Adopted {
            job: job.id,
            table: job.table_name.clone(),
            worker: job.worker.clone(),
            heartbeat_age_seconds: heartbeat_age(&job, now),
        };
        tracing::info!(job = job.id, table = %job.table_name, "rotation job adopted");
        self.events.send(adopted);
        self.resume_row(model, job).await
    }

    /// Joins job `id`, which another process runs (`timber rotate --join JOB`): this
    /// process's workers claim its chunks beside theirs. A job that is not running is
    /// refused (resume it instead).
    pub async fn join(&self, models: &'a [ModelDef], id: i64) -> Result<JobSummary, RotationError> {
        let row = self
            .store
            .rotation_job(id)
            .await?
            .ok_or(RotationError::NoSuchJob(id))?;
        let model = models
            .iter()
            .find(|m| m.table_name == row.table_name)
            .ok_or_else(|| RotationError::UnknownTable {
                job: id,
                table: row.table_name.clone(),
            })?;
        self.join_row(model, row).await
    }

    async fn join_row(&self, model: &ModelDef, row: JobRow) -> Result<JobSummary, RotationError> {
        self.check_workers()?;
        if row.status != JobStatus::Running {
            return Err(RotationError::NotJoinable {
                id: row.id,
                status: row.status,
            });
        }
        let options = JobOptions::parse(row.options.as_deref());
        // Only used if the job has no chunks yet (one started before chunks existed): its
        // split then starts after what it committed, whoever splits it.
        let cursor = job_cursor(model, &row, options.order)?;
        self.drive(
            Live {
                row,
                model,
                options,
                worker: worker_id(),
                cursor,
                joined: true,
            },
            true,
        )
        .await
    }

    /// Resumes job `id` from its cursor, taking it over if its worker is gone.
    pub async fn resume(
        &self,
        models: &'a [ModelDef],
        id: i64,
    ) -> Result<JobSummary, RotationError> {
        let row = self
            .store
            .rotation_job(id)
            .await?
            .ok_or(RotationError::NoSuchJob(id))?;
        let model = models
            .iter()
            .find(|m| m.table_name == row.table_name)
            .ok_or_else(|| RotationError::UnknownTable {
                job: id,
                table: row.table_name.clone(),
            })?;
        self.resume_row(model, row).await
    }

    /// Resumes the job `row` of `model` from its cursor (a takeover if its worker is gone).
    async fn resume_row(&self, model: &ModelDef, row: JobRow) -> Result<JobSummary, RotationError> {
        self.check_workers()?;
        let id = row.id;
        match row.status {
            s if s.is_final() => {
                return Err(RotationError::NotResumable {
                    id,
                    status: row.status,
                });
            }
            s if s.is_active() && worker_alive(&row) => {
                return Err(RotationError::Busy {
                    id,
                    worker: row.worker.clone().unwrap_or_default(),
                    age_seconds: heartbeat_age(&row, chrono::Utc::now().naive_utc()),
                    stale: super::job::STALE_AFTER_SECONDS,
                });
            }
            // Still marked active, its worker gone: continuing it is a takeover.
            s if s.is_active() => {
                if let Some(refused) = &self.takeover_refused {
                    return Err(RotationError::NotGranted(refused.clone()));
                }
            }
            _ => {}
        }
        let worker = worker_id();
        if !self
            .store
            .rotation_claim_job(id, row.status, row.worker.as_deref(), &worker)
            .await?
        {
            return Err(RotationError::TakenOver { id });
        }
        let mut options = JobOptions::parse(row.options.as_deref());
        let cursor = job_cursor(model, &row, options.order)?;
        let new_lag = self.max_lag.is_some() && self.max_lag != options.max_lag;
        if new_lag {
            options.max_lag = self.max_lag;
        }
        if new_lag || self.rate_explicit || !JobOptions::records_max_rate(row.options.as_deref()) {
            if self.rate_explicit || !JobOptions::records_max_rate(row.options.as_deref()) {
                options.max_rate = self.max_rate;
            }
            // The table holds the job's rate (each batch keeps the row's, which an operator
            // may change while it runs), so a new one is written there before it runs.
            self.store
                .rotation_replace_options(id, row.options.as_deref(), &options.to_json())
                .await?;
        }
        let row = self
            .store
            .rotation_job(id)
            .await?
            .ok_or(RotationError::NoSuchJob(id))?;
        self.drive(
            Live {
                row,
                model,
                options,
                worker,
                cursor,
                joined: false,
            },
            true,
        )
        .await
    }
}

/// The job row's cursor (`None` before its first batch): a key of `model`, or a rowid for a
/// job in rowid order.
fn job_cursor(
    model: &ModelDef,
    row: &JobRow,
    order: RowOrder,
) -> Result<Option<Value>, RotationError> {
    row.cursor
        .as_deref()
        .map(|text| position_of(text, model, order))
        .transpose()
        .map_err(|reason| RotationError::Model {
            model: model.name.clone(),
            reason: format!("job {} has an unreadable cursor: {reason}", row.id),
        })
}

/// Whether a rotation on `dialect` can read its replicas' lag (with a `--lag-from` replica
/// or without): the refusal a `--max-lag` run and its `--dry-run` both give.
pub fn lag_source(dialect: crate::store::Dialect, lag_from: bool) -> Result<(), RotationError> {
    match dialect {
        crate::store::Dialect::Postgres => Ok(()),
        crate::store::Dialect::Mysql if lag_from => Ok(()),
        crate::store::Dialect::Mysql => Err(RotationError::LagUnknown {
            database: "MySQL/MariaDB primary",
            remedy: "give --lag-from with a replica's URL (its Seconds_Behind_Source is read)",
        }),
        crate::store::Dialect::Sqlite => Err(RotationError::LagUnknown {
            database: "SQLite database",
            remedy: "leave out --max-lag, or cap the pace with --max-rate",
        }),
    }
}

/// Where a chunk's reading starts (after its cursor, else after its lower bound) and where
/// it ends (its upper bound, inclusive), as positions of the job's `order`: the bounds of
/// its first page, for the worker that claimed it and for a read ahead of the claim alike.
pub(crate) fn chunk_span(
    lo: &Option<String>,
    hi: &Option<String>,
    cursor: &Option<String>,
    model: &ModelDef,
    order: RowOrder,
) -> Result<(Option<Value>, Option<Value>), String> {
    let bound = |text: &Option<String>| {
        text.as_deref()
            .map(|t| position_of(t, model, order))
            .transpose()
    };
    let start = match bound(cursor)? {
        Some(c) => Some(c),
        None => bound(lo)?,
    };
    Ok((start, bound(hi)?))
}

/// A chunk bound or cursor as stored (`key_text`): a key of `model`, or in rowid order a
/// rowid (`Value::Int`).
pub(crate) fn position_of(text: &str, model: &ModelDef, order: RowOrder) -> Result<Value, String> {
    match order {
        RowOrder::Key => parse_for_column(text, model.primary_key()),
        RowOrder::Rowid => text
            .trim()
            .parse::<i64>()
            .map(Value::Int)
            .map_err(|_| format!("{text:?} is not a rowid")),
    }
}
