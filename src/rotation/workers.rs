//! This process's workers of one job (`--workers N`, DESIGN §8): each claims a chunk,
//! rotates it batch by batch, and claims the next, until every chunk is done or the job is
//! asked to stop. Workers of other processes (`timber rotate --join JOB` on other machines)
//! do the same on the same chunks; the database hands each chunk to one of them.
//!
//! A batch reads a page of its chunk in the job's order (key, or rowid on SQLite:
//! `RowOrder`), decides it, then in ONE transaction compare-and-sets
//! the writes, records failures, commits the chunk's cursor under the generation it was
//! claimed with (refused if the chunk was taken over) and adds its counts to the job. While
//! the batch is written the next page of the chunk is read on another connection (and, for
//! a lone worker, decided: `write_deciding_next`).
//!
//! The job's rate limit is shared: this process's workers pace their rows together, at the
//! job's rate divided among the processes holding its leases.

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::NaiveDateTime;
use futures_util::future::join_all;

use super::RotationError;
use super::batch::{FIRST_BATCH, adapt, apply_batch, decide_batch};
use super::decide::Decider;
use super::events::{RotationEvent, rate_and_eta};
use super::job::{JobOptions, JobStatus, RowOrder, key_text, owner_gone, owner_process};
use super::next_page::{CarriedPage, Page, write_deciding_next};
use super::pace::{Pacer, RATE_POLL, TABLE_POLL};
use super::run::{Live, Runner, chunk_span};
use super::scope::Scope;
use super::split::Cores;
use crate::store::{ChunkLease, ChunkProgress, ChunkStatus, JobProgress, JobTotals};
use crate::value::Value;

/// How often an idle worker (every chunk left is leased by others) looks again.
const IDLE_POLL: Duration = Duration::from_millis(500);

/// What this process's workers of one job share.
pub(super) struct JobRun<'r> {
    pub(super) live: &'r Live<'r>,
    scope: Scope<'r>,
    decider: Decider<'r>,
    pacer: Mutex<Pacer>,
    /// Rows this process handled in this run (all its workers).
    pub(super) rows: AtomicU64,
    /// Why this process's workers stop (the first worker to learn it sets it), and whether
    /// it was asked here (this process's control, or its own failure) rather than read from
    /// the job's row (another process's request).
    stop: Mutex<Option<(JobStatus, bool)>>,
    /// The job's rate as the jobs table last said (the operator's; `None`: unlimited).
    job_rate: Mutex<Option<u64>>,
    /// The job's replication-lag limit as the jobs table last said (`None`: not watched).
    pub(super) max_lag: Mutex<Option<f64>>,
    /// When this process last found the lag under the limit (read at most every
    /// `lag_hold::LAG_POLL`, not once per batch).
    pub(super) lag_ok_at: Mutex<Option<Instant>>,
    /// This process's workers are waiting on lag (said once for all of them).
    pub(super) lag_waiting: std::sync::atomic::AtomicBool,
}

impl JobRun<'_> {
    pub(super) fn stopping(&self) -> Option<JobStatus> {
        self.stop
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .map(|(status, _)| status)
    }

    pub(super) fn stop_with(&self, status: JobStatus, here: bool) {
        let mut stop = self.stop.lock().unwrap_or_else(|e| e.into_inner());
        stop.get_or_insert((status, here));
    }

    pub(super) fn pacer(&self) -> std::sync::MutexGuard<'_, Pacer> {
        self.pacer.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// What the job's row asks of its workers: to stop (and why), or nothing.
pub(super) fn stop_asked(status: JobStatus) -> Option<JobStatus> {
    match status {
        JobStatus::Pausing | JobStatus::Paused => Some(JobStatus::Paused),
        JobStatus::Cancelling | JobStatus::Cancelled => Some(JobStatus::Cancelled),
        JobStatus::Failed => Some(JobStatus::Failed),
        _ => None,
    }
}

/// How a worker's time on one chunk ended.
pub(super) enum ChunkEnd {
    /// Every row of the chunk is handled (the chunk is `done`).
    Done,
    /// The job was asked to stop; the lease was given back.
    Stopped,
    /// Another worker holds the chunk now; nothing of the refused batch was written.
    Fenced,
}

impl Runner<'_> {
    /// Runs this process's workers until every chunk is done (`Completed`) or the job is
    /// asked to stop (`Paused`, `Cancelled`, or `Failed` by another process); says whether a
    /// stop was asked here (this process's control) or read from the job's row.
    pub(crate) async fn run_workers(
        &self,
        live: &Live<'_>,
        started: Instant,
    ) -> Result<(JobStatus, bool), RotationError> {
        // A job that waits on replication lag needs a lag this process can read.
        if live.options.max_lag.is_some() {
            self.check_lag_source()?;
        }
        let run = JobRun {
            live,
            scope: Scope::of(live.model)?,
            decider: Decider::new(self.ring, live.model, live.options.encrypt_plaintext),
            pacer: Mutex::new(Pacer::new(live.options.max_rate, started)),
            rows: AtomicU64::new(0),
            stop: Mutex::new(None),
            job_rate: Mutex::new(live.options.max_rate),
            max_lag: Mutex::new(live.options.max_lag),
            lag_ok_at: Mutex::new(None),
            lag_waiting: std::sync::atomic::AtomicBool::new(false),
        };
        let workers = (1..=self.workers.max(1)).map(|n| self.work(&run, n));
        let results = join_all(workers).await;
        if let Some(error) = results.into_iter().find_map(Result::err) {
            return Err(error);
        }
        let stop = *run.stop.lock().unwrap_or_else(|e| e.into_inner());
        Ok(stop.unwrap_or((JobStatus::Completed, true)))
    }

    /// One worker: claim, rotate, repeat; wait while the chunks left are all leased by
    /// others (they may finish them, or die and let their leases expire).
    async fn work(&self, run: &JobRun<'_>, n: usize) -> Result<(), RotationError> {
        let owner = format!("{}/w{n}", run.live.worker);
        let job = run.live.row.id;
        // The batch size this worker has adapted to, carried from chunk to chunk: started
        // again at FIRST_BATCH for every 10 000-row chunk, a quarter of each chunk's batches
        // had been small ones.
        let mut learned = FIRST_BATCH;
        // The next chunk's first page, read while this chunk's last batch was written.
        let mut carried: Option<CarriedPage> = None;
        let outcome = async {
            loop {
                if let Some(stop) = self.control.requested() {
                    run.stop_with(stop, true);
                }
                if run.stopping().is_some() {
                    return Ok(());
                }
                let lease = self
                    .store
                    .rotation_claim_chunk(job, &owner, self.lease_until(), &owner_gone)
                    .await?;
                let Some(lease) = lease else {
                    if self.all_chunks_done(job).await? {
                        return Ok(());
                    }
                    // Nothing claimable now: whatever was read ahead may be old by the time a
                    // chunk frees up.
                    carried = None;
                    self.idle(run).await?;
                    continue;
                };
                if let Some(from) = &lease.took_over_from {
                    tracing::warn!(job, chunk = lease.chunk, from = %from, "rotation chunk taken over");
                    self.events.send(RotationEvent::ChunkTakenOver {
                        job,
                        chunk: lease.chunk,
                        from: from.clone(),
                    });
                }
                let chunk = lease.chunk;
                match self.run_chunk(run, &lease, &mut learned, &mut carried).await {
                    Ok(ChunkEnd::Done | ChunkEnd::Stopped) => {}
                    Ok(ChunkEnd::Fenced) => {
                        tracing::warn!(job, chunk, worker = %owner, "rotation chunk lost to another worker; its batch was not committed");
                        self.events.send(RotationEvent::Fenced {
                            job,
                            chunk,
                            worker: owner.clone(),
                        });
                    }
                    Err(e) => {
                        // Given back, so another worker need not wait out the lease.
                        let _ = self.store.rotation_release_chunk(&lease).await;
                        return Err(e);
                    }
                }
            }
        }
        .await;
        if outcome.is_err() {
            run.stop_with(JobStatus::Failed, true);
        }
        outcome
    }

    async fn all_chunks_done(&self, job: i64) -> Result<bool, RotationError> {
        let chunks = self.store.rotation_chunks(job).await?;
        Ok(chunks.iter().all(|c| c.status == ChunkStatus::Done))
    }

    /// Waits a moment with nothing to claim, watching for a stop.
    async fn idle(&self, run: &JobRun<'_>) -> Result<(), RotationError> {
        tokio::time::sleep(IDLE_POLL.min(self.lease / 4)).await;
        if let Some(row) = self.store.rotation_job(run.live.row.id).await?
            && let Some(stop) = stop_asked(row.status)
        {
            run.stop_with(stop, false);
        }
        Ok(())
    }

    pub(super) fn lease_until(&self) -> NaiveDateTime {
        crate::store::utc_now()
            + chrono::Duration::from_std(self.lease).unwrap_or(chrono::Duration::seconds(30))
    }

    /// Rotates one leased chunk from its cursor to its end, starting at and keeping up to
    /// date the worker's `learned` batch size. A lone worker starts from the page `carried`
    /// when it was read for this chunk, and leaves there the next chunk's first page.
    async fn run_chunk(
        &self,
        run: &JobRun<'_>,
        lease: &ChunkLease,
        learned: &mut u32,
        carried: &mut Option<CarriedPage>,
    ) -> Result<ChunkEnd, RotationError> {
        let live = run.live;
        let model = live.model;
        let scope = &run.scope;
        let order = live.options.order;
        let (mut cursor, until) = chunk_span(&lease.lo, &lease.hi, &lease.cursor, model, order)
            .map_err(|reason| RotationError::Model {
                model: model.name.clone(),
                reason: format!(
                    "job {} chunk {} has an unreadable key bound: {reason}",
                    lease.job_id, lease.chunk
                ),
            })?;
        let mut batch = run
            .pacer()
            .cap(live.options.batch.unwrap_or(*learned).clamp(1, 20_000));
        let mut rate_read = Instant::now();
        // The page after the batch being written, read (on another connection) while it is
        // written, with the limit it was read at and, when pipelined, its decision.
        let mut prefetched: Option<Page> = carried.take().and_then(|c| c.for_lease(lease));
        if prefetched.is_some() {
            tracing::debug!(
                job = lease.job_id,
                chunk = lease.chunk,
                "first page read ahead"
            );
        }
        let pipelined = self.pipelines();
        loop {
            if let Some(stop) = self.control.requested() {
                run.stop_with(stop, true);
            }
            if run.stopping().is_some() {
                self.store.rotation_release_chunk(lease).await?;
                return Ok(ChunkEnd::Stopped);
            }
            if let Some(end) = self.hold_for_lag(run, lease).await? {
                return Ok(end);
            }
            let (rows, limit, decided) = match prefetched.take() {
                // Read at the batch size then: a smaller one since (a lower rate) keeps its
                // first rows, and the cursor rereads the rest. Its decision was for the
                // whole page: decided again below.
                Some((mut rows, limit, _)) if limit > batch => {
                    rows.truncate(batch as usize);
                    (rows, batch.min(limit), None)
                }
                Some(page) => page,
                None => {
                    let rows = self
                        .read_page(live, scope, cursor.as_ref(), until.as_ref(), batch)
                        .await?;
                    (rows, batch, None)
                }
            };
            // A short page is the chunk's last: nothing after it up to the chunk's end.
            let finished = (rows.len() as u64) < u64::from(limit);
            // Where the chunk stands after this page: its last key, or its last rowid.
            let last = rows.last().map(|r| match (order, r.rowid) {
                (RowOrder::Rowid, Some(rowid)) => Value::Int(rowid),
                _ => r.id.clone(),
            });
            let batch_started = Instant::now();
            if let Some(hook) = &self.after_read
                && !rows.is_empty()
            {
                hook(rows.iter().map(|r| r.id.clone()).collect()).await;
            }
            let decided =
                decided.unwrap_or_else(|| decide_batch(&run.decider, scope, &rows, Cores::All));
            let write = async {
                let mut tx = self.store.rotation_begin(model).await?;
                let tally = if rows.is_empty() {
                    Default::default()
                } else {
                    apply_batch(&mut tx, &run.decider, scope, &rows, decided).await?
                };
                tx.add_failures(live.row.id, &tally.failures).await?;
                let chunk = ChunkProgress {
                    cursor: last
                        .as_ref()
                        .map(key_text)
                        .or_else(|| cursor.as_ref().map(key_text)),
                    rows_done: tally.done,
                    rows_skipped: tally.skipped,
                    rows_failed: tally.failed,
                    conflicts: i64::try_from(tally.conflicts).unwrap_or(i64::MAX),
                    finished,
                };
                // The fence: a worker whose chunk was taken over commits nothing. Dropping
                // `tx` rolls the batch back.
                if !tx
                    .save_chunk(lease, &chunk, Some(self.lease_until()))
                    .await?
                {
                    return Ok(None);
                }
                let progress = JobProgress {
                    cursor: last.as_ref().map(key_text),
                    rows_done: tally.done,
                    rows_skipped: tally.skipped,
                    rows_failed: tally.failed,
                    conflicts: tally.conflicts,
                };
                let Some(totals) = tx.save_progress(live.row.id, &progress).await? else {
                    // The job's row is gone (deleted by hand): nothing to record progress in.
                    return Err(RotationError::NoSuchJob(live.row.id));
                };
                tx.commit().await?;
                Ok::<_, RotationError>(Some((totals, rows.len() as u64)))
            };
            // The chunk the next page was read for, when it is the next chunk's first.
            let ahead = Mutex::new(None);
            let next = async {
                match (&last, finished) {
                    (Some(last), false) => Some(
                        self.read_page(live, scope, Some(last), until.as_ref(), batch)
                            .await,
                    ),
                    (_, true) if pipelined && run.stopping().is_none() => {
                        self.first_page_of_next_chunk(live, scope, lease, batch, &ahead)
                            .await
                    }
                    _ => None,
                }
            };
            let (written, next) = if pipelined {
                write_deciding_next(write, next, &run.decider, scope)
            } else {
                let (written, next) = tokio::join!(write, next);
                (written, next.map(|page| page.map(|rows| (rows, None))))
            };
            let Some((totals, handled)) = written? else {
                return Ok(ChunkEnd::Fenced);
            };
            // A page that could not be read is read again next time round.
            let next = next
                .and_then(Result::ok)
                .map(|(rows, decided)| (rows, batch, decided));
            if finished {
                *carried = next
                    .zip(ahead.into_inner().unwrap_or_else(|e| e.into_inner()))
                    .map(|(page, chunk)| CarriedPage::new(chunk, page));
            } else {
                prefetched = next;
            }
            if last.is_some() {
                cursor = last;
            }
            let rows_this_run = run.rows.fetch_add(handled, Ordering::SeqCst) + handled;
            self.report_batch(run, &totals, rows_this_run, batch_started);
            if live.options.batch.is_none() {
                batch = run
                    .pacer()
                    .cap(adapt(batch, batch_started.elapsed().as_secs_f64()));
                // A chunk's short last page is fast because it is short: only full pages
                // teach the next chunk.
                if !finished {
                    *learned = batch;
                }
            }
            if let Some(stop) = stop_asked(totals.status) {
                run.stop_with(stop, false);
            }
            self.follow_rate(run, totals.options.as_deref(), rows_this_run);
            if finished {
                return Ok(ChunkEnd::Done);
            }
            if run.stopping().is_some() {
                continue;
            }
            if rate_read.elapsed() >= RATE_POLL {
                rate_read = Instant::now();
                self.share_rate(run, rows_this_run).await?;
            }
            // Over the rate: wait the difference, renewing the lease and watching the jobs
            // table for a pause or cancel from another process.
            loop {
                let rows = run.rows.load(Ordering::SeqCst);
                let pacer = run.pacer().clone();
                if pacer.owed(rows).is_zero() {
                    break;
                }
                if let Some(stop) = pacer.wait(rows, &self.control, TABLE_POLL).await {
                    run.stop_with(stop, true);
                    break;
                }
                // Renewed only while the wait goes on: a worker that wakes owing nothing
                // (a debugger's stop, a suspended VM) goes straight to its next batch, whose
                // commit the chunk's generation refuses if the chunk was taken over.
                if pacer.owed(rows).is_zero() {
                    break;
                }
                if !self
                    .store
                    .rotation_renew_lease(lease, self.lease_until())
                    .await?
                {
                    return Ok(ChunkEnd::Fenced);
                }
                if let Some(row) = self.store.rotation_job(live.row.id).await? {
                    if let Some(stop) = stop_asked(row.status) {
                        run.stop_with(stop, false);
                        break;
                    }
                    self.follow_rate(run, row.options.as_deref(), rows);
                }
            }
        }
    }

    /// The `Batch` event of a committed batch: the job's totals as the batch left them,
    /// this process's rate (paced, see `Pacer::paced_seconds`) and the ETA at it.
    fn report_batch(
        &self,
        run: &JobRun<'_>,
        totals: &JobTotals,
        rows_this_run: u64,
        batch_started: Instant,
    ) {
        let total = run.live.row.rows_total.max(0) as u64;
        let handled = (totals.rows_done + totals.rows_skipped + totals.rows_failed).max(0) as u64;
        let left = total.saturating_sub(handled);
        let seconds = run.pacer().paced_seconds(rows_this_run);
        let (rate, eta_seconds) = rate_and_eta(rows_this_run, seconds, left);
        self.events.send(RotationEvent::Batch {
            job: run.live.row.id,
            total,
            done: totals.rows_done.max(0) as u64,
            skipped: totals.rows_skipped.max(0) as u64,
            failed: totals.rows_failed.max(0) as u64,
            conflicts: JobOptions::parse(totals.options.as_deref()).conflicts,
            rate,
            eta_seconds,
            batch_seconds: batch_started.elapsed().as_secs_f64(),
        });
    }

    /// Runs at the rate (and lag limit) the jobs table holds now, if an operator changed it
    /// (`timber jobs set JOB --max-rate N --max-lag S`, the console), and says so.
    pub(super) fn follow_rate(&self, run: &JobRun<'_>, options: Option<&str>, rows: u64) {
        let parsed = JobOptions::parse(options);
        {
            let mut lag = run.max_lag.lock().unwrap_or_else(|e| e.into_inner());
            if *lag != parsed.max_lag {
                tracing::info!(job = run.live.row.id, max_lag = ?parsed.max_lag, "rotation job lag limit changed");
                *lag = parsed.max_lag;
            }
        }
        let stored = parsed.max_rate;
        {
            let mut known = run.job_rate.lock().unwrap_or_else(|e| e.into_inner());
            if *known == stored {
                return;
            }
            *known = stored;
        }
        tracing::info!(job = run.live.row.id, max_rate = ?stored, "rotation job rate changed");
        run.pacer().set_rate(stored, rows);
        self.events.send(RotationEvent::RateChanged {
            job: run.live.row.id,
            max_rate: stored,
        });
    }

    /// The job's rate divided among the processes holding its leases now, so two machines
    /// working one job keep it at the rate together, not at twice it.
    async fn share_rate(&self, run: &JobRun<'_>, rows: u64) -> Result<(), RotationError> {
        let Some(rate) = *run.job_rate.lock().unwrap_or_else(|e| e.into_inner()) else {
            return Ok(());
        };
        let now = crate::store::utc_now();
        let chunks = self.store.rotation_chunks(run.live.row.id).await?;
        let processes: BTreeSet<&str> = chunks
            .iter()
            .filter(|c| c.leased_at(now))
            .filter_map(|c| c.lease_owner.as_deref().map(owner_process))
            .collect();
        let share = (rate / processes.len().max(1) as u64).max(1);
        let mut pacer = run.pacer();
        if pacer.rate() != Some(share) {
            pacer.set_rate(Some(share), rows);
        }
        Ok(())
    }
}
