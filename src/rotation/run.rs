//! The job loop: read a batch in key order, decide every value, then in ONE transaction
//! compare-and-set the writes, retry the rows that changed meanwhile, record failures and
//! move the cursor and counters. A kill between batches loses nothing; a kill inside one
//! rolls it back whole, and the resumed job redoes exactly that batch.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Instant;

use tokio::sync::mpsc::UnboundedSender;

use super::RotationError;
use super::decide::{Decider, Outcome, hash_column, reason};
use super::events::{EventSink, JobSummary, RotationEvent, rate_and_eta};
use super::job::{JobOptions, JobStatus, heartbeat_age, key_text, worker_alive, worker_id};
use crate::audit::{Action, AuditLog};
use crate::config::{ColumnDef, ModelDef};
use crate::crypto::{KeyId, KeyRing};
use crate::store::Store;
use crate::store::convert::parse_for_column;
use crate::store::rotation_sql::{
    ColumnCas, FailureRow, JobProgress, JobRow, RotationRow, RotationTx,
};
use crate::value::Value;

const FIRST_BATCH: u32 = 250;
const MIN_BATCH: u32 = 50;
const MAX_BATCH: u32 = 4000;
/// Re-reads of a row whose value keeps changing under us, before it is recorded as a
/// `conflict` failure (left untouched, for a later run).
const CONFLICT_RETRIES: usize = 5;

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
    fn requested(&self) -> Option<JobStatus> {
        match self.0.load(Ordering::SeqCst) {
            1 => Some(JobStatus::Paused),
            2 => Some(JobStatus::Cancelled),
            _ => None,
        }
    }
}

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
}

/// A job being worked on by this process.
struct Live<'m> {
    row: JobRow,
    model: &'m ModelDef,
    options: JobOptions,
    worker: String,
    cursor: Option<Value>,
}

/// What one batch did.
#[derive(Default)]
struct Tally {
    done: i64,
    skipped: i64,
    failed: i64,
    conflicts: u64,
    failures: Vec<FailureRow>,
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
        }
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
        let columns = rotated_columns(model)?;
        let target_fp = target_label(self.ring, model)?;
        for job in self.store.rotation_jobs(500).await? {
            let status = JobStatus::parse(&job.status);
            if job.table_name == model.table_name
                && status.is_some_and(|s| s.is_active() || s == JobStatus::Paused)
            {
                return Err(RotationError::Unfinished {
                    table: job.table_name,
                    id: job.id,
                    status: job.status,
                });
            }
        }
        let total = self.store.count_rows(model).await?.rows;
        let names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
        let job_options = JobOptions {
            batch: options.batch,
            encrypt_plaintext: options.encrypt_plaintext,
            conflicts: 0,
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
            },
            false,
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
        let status = JobStatus::parse(&row.status);
        match status {
            Some(s) if s.is_final() => {
                return Err(RotationError::NotResumable {
                    id,
                    status: row.status,
                });
            }
            Some(s) if s.is_active() && worker_alive(&row) => {
                return Err(RotationError::Busy {
                    id,
                    worker: row.worker.clone().unwrap_or_default(),
                    age_seconds: heartbeat_age(&row, chrono::Utc::now().naive_utc()),
                    stale: super::job::STALE_AFTER_SECONDS,
                });
            }
            None => {
                return Err(RotationError::NotResumable {
                    id,
                    status: row.status,
                });
            }
            _ => {}
        }
        let worker = worker_id();
        if !self
            .store
            .rotation_claim_job(id, &row.status, row.worker.as_deref(), &worker)
            .await?
        {
            return Err(RotationError::TakenOver { id });
        }
        let pk = model.primary_key();
        let cursor = match row.cursor.as_deref() {
            None => None,
            Some(text) => {
                Some(
                    parse_for_column(text, pk).map_err(|reason| RotationError::Model {
                        model: model.name.clone(),
                        reason: format!("job {id} has an unreadable cursor: {reason}"),
                    })?,
                )
            }
        };
        let options = JobOptions::parse(row.options.as_deref());
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
            },
            true,
        )
        .await
    }

    /// Audits the start, runs the loop, records how it ended, audits the end.
    async fn drive(&self, mut live: Live<'_>, resumed: bool) -> Result<JobSummary, RotationError> {
        let id = live.row.id;
        let table = live.model.table_name.clone();
        let fields: Vec<String> = rotated_columns(live.model)?
            .iter()
            .map(|c| c.name.clone())
            .collect();
        if let Some(audit) = self.audit {
            let facts =
                serde_json::json!({ "job": id, "target": live.row.target_fp, "resumed": resumed });
            if let Err(e) = audit
                .record(
                    &self.actor,
                    Action::RotationStart,
                    Some(&table),
                    None,
                    &fields,
                    Some(facts),
                )
                .await
            {
                let message = e.to_string();
                self.store
                    .rotation_finish_job(id, &live.worker, "failed", Some(&message))
                    .await?;
                return Err(e.into());
            }
        }
        self.events.send(RotationEvent::Started {
            job: id,
            model: live.model.name.clone(),
            table: table.clone(),
            total: live.row.rows_total.max(0) as u64,
            resumed,
        });
        let started = Instant::now();
        let result = self.run_loop(&mut live, started).await;
        let (status, error) = match &result {
            Ok(status) => (*status, None),
            Err(RotationError::TakenOver { .. }) => (JobStatus::Failed, None),
            Err(e) => (JobStatus::Failed, Some(e.to_string())),
        };
        if !matches!(result, Err(RotationError::TakenOver { .. })) {
            self.store
                .rotation_finish_job(id, &live.worker, status.as_str(), error.as_deref())
                .await?;
        }
        let summary = summary(&live, status, started.elapsed().as_secs_f64());
        if let Some(audit) = self.audit {
            let facts = serde_json::json!({
                "job": id, "status": status.as_str(), "rows_done": summary.rows_done,
                "rows_skipped": summary.rows_skipped, "rows_failed": summary.rows_failed,
                "conflicts": summary.conflicts,
            });
            audit
                .record(
                    &self.actor,
                    Action::RotationEnd,
                    Some(&table),
                    None,
                    &fields,
                    Some(facts),
                )
                .await?;
        }
        match result {
            Ok(_) => {
                self.events.send(RotationEvent::Done(summary.clone()));
                Ok(summary)
            }
            Err(e) => {
                self.events.send(RotationEvent::Failed {
                    job: id,
                    error: e.to_string(),
                });
                Err(e)
            }
        }
    }

    async fn run_loop(
        &self,
        live: &mut Live<'_>,
        started: Instant,
    ) -> Result<JobStatus, RotationError> {
        let model = live.model;
        let columns = rotated_columns(model)?;
        let hashes: Vec<Option<&ColumnDef>> =
            columns.iter().map(|c| hash_column(model, c)).collect();
        let mut read: Vec<&ColumnDef> = columns.clone();
        read.extend(hashes.iter().flatten().copied());
        let owner = owner_column(model);
        let decider = Decider::new(self.ring, model, live.options.encrypt_plaintext);
        let mut batch = live.options.batch.unwrap_or(FIRST_BATCH).clamp(1, 20_000);
        let mut rows_this_run: u64 = 0;
        loop {
            if let Some(stop) = self.control.requested() {
                return Ok(stop);
            }
            let rows = self
                .store
                .rotation_page(model, &read, owner, live.cursor.as_ref(), batch)
                .await?;
            let Some(last) = rows.last().map(|r| r.id.clone()) else {
                return Ok(JobStatus::Completed);
            };
            let batch_started = Instant::now();
            let mut tx = self.store.rotation_begin(model).await?;
            let tally =
                apply_batch(&mut tx, &decider, &columns, &hashes, &read, owner, &rows).await?;
            tx.add_failures(live.row.id, &tally.failures).await?;
            let mut options = live.options.clone();
            options.conflicts += tally.conflicts;
            let progress = JobProgress {
                cursor: Some(key_text(&last)),
                rows_done: live.row.rows_done + tally.done,
                rows_skipped: live.row.rows_skipped + tally.skipped,
                rows_failed: live.row.rows_failed + tally.failed,
                options: Some(options.to_json()),
            };
            let Some(status) = tx
                .save_progress(live.row.id, &live.worker, &progress)
                .await?
            else {
                // Dropping `tx` rolls the batch back: the job belongs to another worker now.
                return Err(RotationError::TakenOver { id: live.row.id });
            };
            tx.commit().await?;
            live.row.rows_done = progress.rows_done;
            live.row.rows_skipped = progress.rows_skipped;
            live.row.rows_failed = progress.rows_failed;
            live.options = options;
            live.cursor = Some(last);
            rows_this_run += rows.len() as u64;
            let handled =
                (live.row.rows_done + live.row.rows_skipped + live.row.rows_failed).max(0) as u64;
            let left = (live.row.rows_total.max(0) as u64).saturating_sub(handled);
            let (rate, eta_seconds) =
                rate_and_eta(rows_this_run, started.elapsed().as_secs_f64(), left);
            self.events.send(RotationEvent::Batch {
                job: live.row.id,
                total: live.row.rows_total.max(0) as u64,
                done: live.row.rows_done.max(0) as u64,
                skipped: live.row.rows_skipped.max(0) as u64,
                failed: live.row.rows_failed.max(0) as u64,
                conflicts: live.options.conflicts,
                rate,
                eta_seconds,
            });
            if live.options.batch.is_none() {
                batch = adapt(batch, batch_started.elapsed().as_secs_f64());
            }
            match JobStatus::parse(&status) {
                Some(JobStatus::Pausing) => return Ok(JobStatus::Paused),
                Some(JobStatus::Cancelling) => return Ok(JobStatus::Cancelled),
                _ => {}
            }
        }
    }
}

/// Doubles a fast batch, halves a slow one (aiming at 0.1 to 0.5 s per transaction, so row
/// locks are short for the live application).
fn adapt(batch: u32, seconds: f64) -> u32 {
    if seconds < 0.1 {
        (batch * 2).min(MAX_BATCH)
    } else if seconds > 0.5 {
        (batch / 2).max(MIN_BATCH)
    } else {
        batch
    }
}

/// Decides and writes one batch inside `tx`; rows that changed since they were read are
/// re-read inside the transaction and decided again.
async fn apply_batch(
    tx: &mut RotationTx<'_>,
    decider: &Decider<'_>,
    columns: &[&ColumnDef],
    hashes: &[Option<&ColumnDef>],
    read: &[&ColumnDef],
    owner: Option<&ColumnDef>,
    rows: &[RotationRow],
) -> Result<Tally, RotationError> {
    let mut tally = Tally::default();
    let mut wrote = vec![false; rows.len()];
    let mut failed = vec![false; rows.len()];
    let index_of = |id: &Value| rows.iter().position(|r| &r.id == id);
    for (ci, column) in columns.iter().enumerate() {
        let hash_at = hashes[ci].and_then(|h| read.iter().position(|c| c.name == h.name));
        let mut pending: Vec<RotationRow> = rows.to_vec();
        for attempt in 0..=CONFLICT_RETRIES {
            let mut updates = Vec::new();
            for row in &pending {
                let stored = row.values[ci].as_deref();
                let hash = hash_at.map(|h| row.values[h].as_deref());
                match decider.decide(column, stored, hash, row.owner.as_deref()).0 {
                    Outcome::Write { new, hash, .. } => updates.push(ColumnCas {
                        id: row.id.clone(),
                        expected: stored.unwrap_or_default().to_string(),
                        new,
                        hash,
                    }),
                    Outcome::Fail(why) => {
                        if let Some(i) = index_of(&row.id) {
                            failed[i] = true;
                        }
                        tally.failures.push(failure(&row.id, column, why));
                    }
                    Outcome::Null | Outcome::Current | Outcome::Plaintext => {}
                }
            }
            let conflicts = tx
                .compare_and_set_column(column, hashes[ci], &updates)
                .await?;
            for update in updates.iter().filter(|u| !conflicts.contains(&u.id)) {
                if let Some(i) = index_of(&update.id) {
                    wrote[i] = true;
                }
            }
            if conflicts.is_empty() {
                break;
            }
            tally.conflicts += conflicts.len() as u64;
            if attempt == CONFLICT_RETRIES {
                for id in &conflicts {
                    if let Some(i) = index_of(id) {
                        failed[i] = true;
                    }
                    tally.failures.push(failure(id, column, reason::CONFLICT));
                }
                break;
            }
            // Rows deleted meanwhile do not come back: nothing left to rotate there.
            pending = tx.read_rows(read, owner, &conflicts).await?;
        }
    }
    for i in 0..rows.len() {
        if failed[i] {
            tally.failed += 1;
        } else if wrote[i] {
            tally.done += 1;
        } else {
            tally.skipped += 1;
        }
    }
    Ok(tally)
}

fn failure(id: &Value, column: &ColumnDef, why: &str) -> FailureRow {
    FailureRow {
        record_id: key_text(id),
        column_name: column.name.clone(),
        reason: why.to_string(),
    }
}

fn summary(live: &Live<'_>, status: JobStatus, seconds: f64) -> JobSummary {
    JobSummary {
        job: live.row.id,
        model: live.model.name.clone(),
        table: live.model.table_name.clone(),
        status,
        rows_total: live.row.rows_total.max(0) as u64,
        rows_done: live.row.rows_done.max(0) as u64,
        rows_skipped: live.row.rows_skipped.max(0) as u64,
        rows_failed: live.row.rows_failed.max(0) as u64,
        conflicts: live.options.conflicts,
        seconds,
    }
}

/// The encrypted columns of a model; a model without any has nothing to rotate.
pub fn rotated_columns(model: &ModelDef) -> Result<Vec<&ColumnDef>, RotationError> {
    let columns: Vec<&ColumnDef> = model.encrypted_columns().collect();
    if columns.is_empty() {
        return Err(RotationError::Model {
            model: model.name.clone(),
            reason: "no encrypted columns to rotate".into(),
        });
    }
    Ok(columns)
}

/// The owner column for per-user models (its value names the key).
pub fn owner_column(model: &ModelDef) -> Option<&ColumnDef> {
    if !model.encryption.per_user {
        return None;
    }
    model.column(&model.owner_column).filter(|c| !c.encrypted)
}

/// The target key as the jobs table records it; refuses when the key is not configured.
pub fn target_label(ring: &KeyRing, model: &ModelDef) -> Result<String, RotationError> {
    let missing = |what: &str| RotationError::Model {
        model: model.name.clone(),
        reason: format!("cannot rotate: {what}"),
    };
    if model.encryption.per_user {
        if owner_column(model).is_none() {
            return Err(missing(&format!(
                "per-user owner column `{}` is missing or encrypted",
                model.owner_column
            )));
        }
        let master = ring.master().ok_or_else(|| {
            missing("per-user keys derive from MASTER_ENCRYPTION_KEY, which is not set")
        })?;
        return Ok(format!("user:{}", master.fingerprint()));
    }
    let id = match &model.encryption.key_identifier {
        Some(name) => KeyId::Named(name.clone()),
        None => KeyId::Primary,
    };
    ring.fingerprint(&id)
        .map(|fp| fp.to_string())
        .ok_or_else(|| {
            missing(&format!(
                "the target key `{id}` is not configured (ENCRYPTION_KEY or TIMBER_KEY_<NAME>)"
            ))
        })
}
