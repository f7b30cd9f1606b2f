//! Rotation jobs on the Keys screen (and the Overview's tile): every process's jobs from
//! the jobs table (polled), and for jobs this console runs, the live counters of the
//! rotation service's events (rate, ETA, failures, conflicts).

use super::KeysState;
use crate::rotation::{JobState, JobStatus, RotationEvent};
use crate::tui::widgets::job_gauge::JobProgress;

/// One rotation job's progress.
#[derive(Clone, Debug, PartialEq)]
pub struct JobView {
    pub id: String,
    pub table: String,
    pub status: JobState,
    /// `None` when the jobs table does not report progress to this build.
    pub rows_total: Option<u64>,
    /// Rows the job has dealt with: done + skipped + failed (the gauges' one count, on
    /// every screen; failures are also in `rows_failed`).
    pub rows_handled: Option<u64>,
    pub rows_failed: u64,
    /// Its workers and chunks (`3 workers · chunks 12/30 done, 3 leased, 15 left`), for a job split
    /// into chunks; empty otherwise.
    pub fleet: String,
    /// Each worker holding a live lease and its rate on its chunk (`vm:2883/w1 1200/s`),
    /// shown for the selected job.
    pub workers: Vec<String>,
}

/// A job this console runs, as its last event told.
#[derive(Clone, Debug, PartialEq)]
pub struct LiveJob {
    pub job: i64,
    pub model: String,
    pub table: String,
    pub status: JobStatus,
    /// Started as a resume (or takeover) of an earlier run.
    pub resumed: bool,
    pub total: u64,
    pub handled: u64,
    pub failed: u64,
    pub conflicts: u64,
    pub rate: f64,
    pub eta_seconds: Option<f64>,
    /// The job's rate limit in rows per second, shown on its gauge.
    pub max_rate: Option<u64>,
}

impl KeysState {
    /// Folds one event of a rotation this console runs into its live job.
    pub fn apply_event(&mut self, event: &RotationEvent) {
        match event {
            RotationEvent::Started {
                job,
                model,
                table,
                total,
                resumed,
                max_rate,
                ..
            } => {
                self.live.retain(|l| l.job != *job);
                self.live.insert(
                    0,
                    LiveJob {
                        job: *job,
                        model: model.clone(),
                        table: table.clone(),
                        status: JobStatus::Running,
                        resumed: *resumed,
                        total: *total,
                        handled: 0,
                        failed: 0,
                        conflicts: 0,
                        rate: 0.0,
                        eta_seconds: None,
                        max_rate: *max_rate,
                    },
                );
            }
            RotationEvent::Batch {
                job,
                total,
                done,
                skipped,
                failed,
                conflicts,
                rate,
                eta_seconds,
                ..
            } => {
                if let Some(live) = self.live.iter_mut().find(|l| l.job == *job) {
                    live.total = *total;
                    live.handled = done + skipped + failed;
                    live.failed = *failed;
                    live.conflicts = *conflicts;
                    live.rate = *rate;
                    live.eta_seconds = *eta_seconds;
                }
            }
            RotationEvent::Done(summary) => {
                if let Some(live) = self.live.iter_mut().find(|l| l.job == summary.job) {
                    live.status = summary.status;
                    live.total = summary.rows_total;
                    live.handled = summary.rows_done + summary.rows_skipped + summary.rows_failed;
                    live.failed = summary.rows_failed;
                    live.conflicts = summary.conflicts;
                    live.eta_seconds = None;
                }
            }
            RotationEvent::RateChanged { job, max_rate } => {
                if let Some(live) = self.live.iter_mut().find(|l| l.job == *job) {
                    live.max_rate = *max_rate;
                }
            }
            // Said on the message row (see `update`); its `Started` follows. Chunk
            // takeovers and fences show in the jobs table's workers column.
            RotationEvent::Adopted { .. }
            | RotationEvent::ChunkTakenOver { .. }
            | RotationEvent::Fenced { .. }
            | RotationEvent::Lagging { .. } => {}
            RotationEvent::Failed { job, .. } => {
                if let Some(live) = self.live.iter_mut().find(|l| l.job == *job) {
                    live.status = JobStatus::Failed;
                }
            }
        }
    }

    /// The live counters of `job` when this console runs it.
    pub fn live_job(&self, job: &JobView) -> Option<&LiveJob> {
        let id: i64 = job.id.trim_start_matches('#').parse().ok()?;
        self.live.iter().find(|l| l.job == id)
    }

    /// The id of the selected job of the jobs table.
    pub fn selected_job(&self) -> Option<(i64, JobState)> {
        let jobs = self.jobs.ready()?;
        let job = jobs.get(self.job_cursor)?;
        let id = job.id.trim_start_matches('#').parse().ok()?;
        Some((id, job.status))
    }

    pub fn move_job(&mut self, delta: isize) {
        let len = self.jobs.ready().map_or(0, Vec::len);
        self.job_cursor = self
            .job_cursor
            .saturating_add_signed(delta)
            .min(len.saturating_sub(1));
    }
}

/// What a job's gauge shows: from the jobs table, or from this console's live events while
/// it runs the job (they are newer than the last poll); `None` when the table does not
/// report progress.
pub fn progress_of(job: &JobView, live: Option<&LiveJob>) -> Option<JobProgress> {
    match live {
        Some(l) if !job.status.has_ended() => Some(JobProgress {
            handled: l.handled,
            total: l.total,
            failed: l.failed,
        }),
        _ => Some(JobProgress {
            handled: job.rows_handled?,
            total: job.rows_total?,
            failed: job.rows_failed,
        }),
    }
}
