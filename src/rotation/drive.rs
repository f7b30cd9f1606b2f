//! One process's run of a job: audit the start, split the job into chunks if it has none,
//! run this process's workers over them (`workers.rs`), record how the run ended, audit the
//! end. Each batch is ONE transaction (compare-and-set writes, failures, the chunk's cursor
//! under its fencing generation, the job's counts), so a kill between batches loses
//! nothing and a kill inside one rolls it back whole; the chunk is then redone from its
//! last committed position (key, or rowid on SQLite) by whoever claims it next.

use std::time::Instant;

use super::RotationError;
use super::events::{JobSummary, RotationEvent};
use super::job::{JobOptions, JobStatus, RowOrder, key_text};
use super::run::{Live, Runner};
use super::scope::rotated_columns;
use crate::audit::Action;
use crate::value::Value;

/// Rows per chunk (at least): large enough that a chunk holds many batches, small enough
/// that a worker lost with its lease costs little to redo and four workers share a 200k-row
/// table evenly.
const CHUNK_ROWS: u64 = 10_000;
/// Chunks per job (at most): a billion-row table gets 100k-row chunks, not 100 000 rows in
/// the chunks table.
const MAX_CHUNKS: u64 = 10_000;

impl Runner<'_> {
    /// Audits the start, runs the workers, records how it ended, audits the end.
    pub(crate) async fn drive(
        &self,
        live: Live<'_>,
        resumed: bool,
    ) -> Result<JobSummary, RotationError> {
        let (id, table) = (live.row.id, live.model.table_name.clone());
        tracing::info!(job = id, table = %table, resumed, workers = self.workers, "rotation job started");
        let outcome = self.drive_job(live, resumed).await;
        match &outcome {
            Ok(s) => tracing::info!(
                job = id,
                table = %table,
                status = ?s.status,
                rows_done = s.rows_done,
                rows_skipped = s.rows_skipped,
                rows_failed = s.rows_failed,
                conflicts = s.conflicts,
                seconds = s.seconds,
                "rotation job ended"
            ),
            Err(e) => tracing::error!(job = id, table = %table, error = %e, "rotation job failed"),
        }
        outcome
    }

    async fn drive_job(
        &self,
        mut live: Live<'_>,
        resumed: bool,
    ) -> Result<JobSummary, RotationError> {
        let id = live.row.id;
        let table = live.model.table_name.clone();
        let fields: Vec<String> = rotated_columns(live.model)?
            .iter()
            .map(|c| c.name.clone())
            .collect();
        if let Some(audit) = self.audit {
            let facts = serde_json::json!({
                "job": id, "target": live.row.target_fp, "resumed": resumed,
                "workers": self.workers, "joined": live.joined,
            });
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
                if !live.joined {
                    let message = e.to_string();
                    self.store
                        .rotation_end_job(id, &ACTIVE, JobStatus::Failed, Some(&message))
                        .await?;
                }
                return Err(e.into());
            }
        }
        self.events.send(RotationEvent::Started {
            job: id,
            model: live.model.name.clone(),
            table: table.clone(),
            total: live.row.rows_total.max(0) as u64,
            resumed,
            joined: live.joined,
            max_rate: live.options.max_rate,
        });
        let started = Instant::now();
        let result = match self.ensure_chunks(&live).await {
            Ok(()) => self.run_workers(&live, started).await,
            Err(e) => Err(e),
        };
        let status = self.record_end(&live, &result).await?;
        let result = result.map(|(status, _)| status);
        if let Some(row) = self.store.rotation_job(id).await? {
            live.options.conflicts = JobOptions::parse(row.options.as_deref()).conflicts;
            live.row = row;
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

    /// Records how this process's run ended, as a compare-and-set on the job's status (other
    /// processes may be running the same job). Returns the status the job has now.
    /// - Completed: only once every chunk is done (also from `pausing`: a pause asked just
    ///   after the last batch finds nothing left to pause).
    /// - A pause or cancel asked here (this process's control) moves the job from running;
    ///   one read from the row only finishes the request (`pausing` to `paused`), so a stale
    ///   stop never undoes a resume that came after it.
    /// - A failure fails the job only when no other process holds a live lease on it: a
    ///   worker that fails beside others leaves (its chunks given back) and they go on.
    async fn record_end(
        &self,
        live: &Live<'_>,
        result: &Result<(JobStatus, bool), RotationError>,
    ) -> Result<JobStatus, RotationError> {
        const RUNNING_OR_PAUSING: [JobStatus; 2] = [JobStatus::Running, JobStatus::Pausing];
        let id = live.row.id;
        let (from, to, error): (&[JobStatus], JobStatus, Option<String>) = match result {
            Ok((JobStatus::Completed, _)) => (&RUNNING_OR_PAUSING, JobStatus::Completed, None),
            Ok((JobStatus::Paused, true)) => (&RUNNING_OR_PAUSING, JobStatus::Paused, None),
            Ok((JobStatus::Paused, false)) => (&[JobStatus::Pausing], JobStatus::Paused, None),
            Ok((JobStatus::Cancelled, true)) => (&ACTIVE, JobStatus::Cancelled, None),
            Ok((JobStatus::Cancelled, false)) => {
                (&[JobStatus::Cancelling], JobStatus::Cancelled, None)
            }
            Ok((other, _)) => return self.status_now(id, *other).await,
            Err(_) if self.others_hold_leases(live).await => {
                tracing::warn!(
                    job = id,
                    "this process's workers failed; the job's other workers go on"
                );
                return self.status_now(id, JobStatus::Running).await;
            }
            Err(e) => (&ACTIVE, JobStatus::Failed, Some(e.to_string())),
        };
        self.store
            .rotation_end_job(id, from, to, error.as_deref())
            .await?;
        let now = self.store.rotation_job(id).await?;
        Ok(now.map_or(to, |row| match row.status {
            // Another worker's process still holds chunks: the job is theirs to finish.
            JobStatus::Running if to == JobStatus::Completed => JobStatus::Running,
            status => status,
        }))
    }

    /// The job's status as its row says now (`fallback` if the row is gone).
    async fn status_now(&self, id: i64, fallback: JobStatus) -> Result<JobStatus, RotationError> {
        Ok(self
            .store
            .rotation_job(id)
            .await?
            .map_or(fallback, |row| row.status))
    }

    /// Whether a process other than this one holds a live lease on the job's chunks.
    async fn others_hold_leases(&self, live: &Live<'_>) -> bool {
        let now = crate::store::utc_now();
        let Ok(chunks) = self.store.rotation_chunks(live.row.id).await else {
            return false;
        };
        chunks.iter().any(|c| {
            c.leased_at(now)
                && c.lease_owner
                    .as_deref()
                    .is_some_and(|o| super::job::owner_process(o) != live.worker)
        })
    }

    /// Splits the job into ranges (of keys, or of rowids for a job in rowid order) if it has
    /// none yet: a new job, or one started before
    /// chunks existed (split from its cursor, so what it committed is not redone).
    async fn ensure_chunks(&self, live: &Live<'_>) -> Result<(), RotationError> {
        if !self.store.rotation_chunks(live.row.id).await?.is_empty() {
            return Ok(());
        }
        let total = live.row.rows_total.max(0) as u64;
        let every = CHUNK_ROWS.max(total / MAX_CHUNKS);
        let bounds = match live.options.order {
            RowOrder::Key => {
                self.store
                    .rotation_chunk_bounds(live.model, live.cursor.as_ref(), every)
                    .await?
            }
            RowOrder::Rowid => {
                let after = match &live.cursor {
                    Some(Value::Int(n)) => Some(*n),
                    _ => None,
                };
                self.store
                    .rotation_rowid_bounds(live.model, after, every, total)
                    .await?
                    .into_iter()
                    .map(Value::Int)
                    .collect()
            }
        };
        let mut ranges = Vec::with_capacity(bounds.len() + 1);
        let mut lo = live.cursor.as_ref().map(key_text);
        for bound in &bounds {
            let hi = key_text(bound);
            ranges.push((lo.take(), Some(hi.clone())));
            lo = Some(hi);
        }
        // The last range is open: rows the application adds past the last bound meanwhile
        // belong to it.
        ranges.push((lo, None));
        self.store
            .rotation_create_chunks(live.row.id, &ranges)
            .await?;
        Ok(())
    }
}

/// The statuses a job has while some worker may still be running it.
const ACTIVE: [JobStatus; 3] = [
    JobStatus::Running,
    JobStatus::Pausing,
    JobStatus::Cancelling,
];

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
