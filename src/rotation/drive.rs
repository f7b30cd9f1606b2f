//! The job loop: read a batch in key order, then in ONE transaction compare-and-set the
//! writes, record failures and move the cursor and counters. A kill between batches loses
//! nothing; a kill inside one rolls it back whole, and the resumed job redoes exactly that
//! batch. Start and end are audited; progress goes out as events.

use std::time::Instant;

use super::RotationError;
use super::batch::{FIRST_BATCH, adapt, apply_batch};
use super::decide::Decider;
use super::events::{JobSummary, RotationEvent, rate_and_eta};
use super::job::{JobOptions, JobStatus, key_text};
use super::pace::{Pacer, RATE_POLL, TABLE_POLL};
use super::run::{Live, Runner};
use super::scope::{Scope, rotated_columns};
use crate::audit::Action;
use crate::store::{JobProgress, JobRow, RotationRow};

impl Runner<'_> {
    /// Audits the start, runs the loop, records how it ended, audits the end.
    pub(crate) async fn drive(
        &self,
        live: Live<'_>,
        resumed: bool,
    ) -> Result<JobSummary, RotationError> {
        let (id, table) = (live.row.id, live.model.table_name.clone());
        tracing::info!(job = id, table = %table, resumed, "rotation job started");
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
                    .rotation_finish_job(id, &live.worker, JobStatus::Failed, Some(&message))
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
            max_rate: live.options.max_rate,
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
                .rotation_finish_job(id, &live.worker, status, error.as_deref())
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
        let scope = Scope::of(model)?;
        let decider = Decider::new(self.ring, model, live.options.encrypt_plaintext);
        let mut pacer = Pacer::new(live.options.max_rate, started);
        let mut batch = pacer.cap(live.options.batch.unwrap_or(FIRST_BATCH).clamp(1, 20_000));
        let mut rows_this_run: u64 = 0;
        let mut rate_read = Instant::now();
        // The page after the batch being written, read while it is decided and written (on
        // another connection): reading no longer waits for the previous commit, and the
        // database reads while the cores decide (issue 17). It is only ever the next page
        // in key order, disjoint from the batch in flight, and each of its writes is still
        // a compare-and-set against what it read.
        let mut prefetched: Option<Vec<RotationRow>> = None;
        loop {
            if let Some(stop) = self.control.requested() {
                return Ok(stop);
            }
            let rows = match prefetched.take() {
                // Read at the batch size then: a smaller one since (a lower rate) keeps
                // its first rows, and the cursor rereads the rest.
                Some(mut rows) => {
                    rows.truncate(batch as usize);
                    rows
                }
                None => {
                    self.store
                        .rotation_page(model, &scope.read, scope.owner, live.cursor.as_ref(), batch)
                        .await?
                }
            };
            let Some(last) = rows.last().map(|r| r.id.clone()) else {
                return Ok(JobStatus::Completed);
            };
            let batch_started = Instant::now();
            if let Some(hook) = &self.after_read {
                hook(rows.iter().map(|r| r.id.clone()).collect()).await;
            }
            let mut options = live.options.clone();
            let write = async {
                let mut tx = self.store.rotation_begin(model).await?;
                let tally = apply_batch(&mut tx, &decider, &scope, &rows).await?;
                tx.add_failures(live.row.id, &tally.failures).await?;
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
                    // Dropping `tx` rolls the batch back: the job belongs to another
                    // worker now.
                    return Err(RotationError::TakenOver { id: live.row.id });
                };
                tx.commit().await?;
                Ok::<_, RotationError>((progress, status))
            };
            let next =
                self.store
                    .rotation_page(model, &scope.read, scope.owner, Some(&last), batch);
            let (written, next) = tokio::join!(write, next);
            let (progress, status) = written?;
            // A page that could not be read is read again next time round.
            prefetched = next.ok();
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
                rate_and_eta(rows_this_run, pacer.paced_seconds(rows_this_run), left);
            self.events.send(RotationEvent::Batch {
                job: live.row.id,
                total: live.row.rows_total.max(0) as u64,
                done: live.row.rows_done.max(0) as u64,
                skipped: live.row.rows_skipped.max(0) as u64,
                failed: live.row.rows_failed.max(0) as u64,
                conflicts: live.options.conflicts,
                rate,
                eta_seconds,
                batch_seconds: batch_started.elapsed().as_secs_f64(),
            });
            if live.options.batch.is_none() {
                batch = pacer.cap(adapt(batch, batch_started.elapsed().as_secs_f64()));
            }
            match status {
                JobStatus::Pausing => return Ok(JobStatus::Paused),
                JobStatus::Cancelling => return Ok(JobStatus::Cancelled),
                _ => {}
            }
            // The rate is the operator's, changeable while the job runs (`timber jobs set`).
            if rate_read.elapsed() >= RATE_POLL {
                rate_read = Instant::now();
                if let Some(row) = self.store.rotation_job(live.row.id).await? {
                    self.follow_rate(live, &mut pacer, &row, rows_this_run, &mut batch);
                }
            }
            // Over the rate: wait the difference. A pause or cancel ends the wait: this
            // process's at once, another's (or the console's, through the table) at the
            // next look at the jobs table.
            while !pacer.owed(rows_this_run).is_zero() {
                let waited = pacer.wait(rows_this_run, &self.control, TABLE_POLL);
                if let Some(stop) = waited.await {
                    return Ok(stop);
                }
                let row = self.store.rotation_job(live.row.id).await?;
                match row.as_ref().map(|r| r.status) {
                    Some(JobStatus::Pausing) => return Ok(JobStatus::Paused),
                    Some(JobStatus::Cancelling) => return Ok(JobStatus::Cancelled),
                    _ => {}
                }
                if let Some(row) = &row {
                    rate_read = Instant::now();
                    self.follow_rate(live, &mut pacer, row, rows_this_run, &mut batch);
                }
            }
        }
    }

    /// Runs at the rate the jobs table holds now, if an operator changed it (`timber jobs
    /// set JOB --max-rate N`, the console), and says so.
    fn follow_rate(
        &self,
        live: &mut Live<'_>,
        pacer: &mut Pacer,
        row: &JobRow,
        rows_this_run: u64,
        batch: &mut u32,
    ) {
        let stored = JobOptions::parse(row.options.as_deref()).max_rate;
        if stored == pacer.rate() {
            return;
        }
        tracing::info!(job = row.id, max_rate = ?stored, "rotation job rate changed");
        live.options.max_rate = stored;
        pacer.set_rate(stored, rows_this_run);
        *batch = pacer.cap(live.options.batch.unwrap_or(FIRST_BATCH).clamp(1, 20_000));
        self.events.send(RotationEvent::RateChanged {
            job: row.id,
            max_rate: stored,
        });
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
