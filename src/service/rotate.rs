//! Rotate many models: the job `timber rotate --all | --model M [--resume JOB]` and the
//! console's rotation wizard (and its `p` resume) both run.

use tokio::sync::mpsc::UnboundedSender;

use crate::access::ActionRefused;
use crate::audit::AuditLog;
use crate::config::ModelDef;
use crate::crypto::KeyRing;
use crate::rotation::{JobStatus, JobSummary, RotationEvent, RunOptions, Runner};
use crate::store::Store;

/// What to rotate, and how.
pub struct RotateRequest<'a> {
    /// Every loaded model: a resumed job is matched to its model by table.
    pub models: &'a [ModelDef],
    /// The models to start a job for, in order.
    pub selected: Vec<&'a ModelDef>,
    /// A job to resume (or take over) first.
    pub resume: Option<i64>,
    /// A running job to join (`--join`): this process's workers claim its chunks too.
    pub join: Option<i64>,
    /// Workers per job in this process (`--workers`); `None`: one, and a job held by a
    /// live worker is refused rather than joined.
    pub workers: Option<usize>,
    /// How long a claimed chunk stays this process's without a commit.
    pub lease: std::time::Duration,
    /// Batch size and whether plaintext values are encrypted too.
    pub options: RunOptions,
    /// Who the audit log names.
    pub actor: &'a str,
    /// Rows per second; `None` unlimited.
    pub max_rate: Option<u64>,
    /// Seconds of replication lag past which workers wait (PostgreSQL); `None`: not watched.
    pub max_lag: Option<f64>,
    /// The replica a MySQL/MariaDB job reads its lag on (`--lag-from`).
    pub lag_from: Option<Store>,
    /// Whether `max_rate` was asked for on this run (`--max-rate`): it then holds even for a
    /// resumed job, which otherwise keeps the rate it was started with.
    pub rate_is_explicit: bool,
    /// The role's `takeover_job` grant: continuing a job whose worker is gone needs it.
    pub takeover: Result<(), ActionRefused>,
}

/// What happened: one summary per job that ran, one message per model (or resume) refused
/// or failed, each naming what it was about.
#[derive(Debug, Default)]
pub struct RotateOutcome {
    /// The jobs that ran (to the end, a pause or a cancel), in the order they ran.
    pub jobs: Vec<JobSummary>,
    /// `model: reason` for each model refused or failed, and the resume's refusal.
    pub errors: Vec<String>,
}

impl RotateOutcome {
    /// Every job completed with no value left as a failure, and nothing was refused.
    pub fn is_clean(&self) -> bool {
        self.errors.is_empty() && self.jobs.iter().all(|j| j.rows_failed == 0)
    }
}

/// Resumes `request.resume` (if any), then starts and runs one job per selected model, in
/// turn. A model whose table has an unfinished job of a worker that is gone (a killed
/// `timber rotate`, a closed console) adopts that job instead of starting one (rerunning
/// the command finishes the work; `Runner::start` decides). One model's refusal (a job
/// held by a live worker, a missing table) is recorded and the others still run: an
/// operator rotating everything wants everything that can be rotated rotated, and a list of
/// what could not.
pub async fn rotate_many(
    store: &Store,
    ring: &KeyRing,
    audit: &AuditLog,
    request: RotateRequest<'_>,
    events: UnboundedSender<RotationEvent>,
) -> RotateOutcome {
    // Every event passes this process's metrics (batch seconds, adoptions) on its way to
    // the CLI or the console.
    let (tap, mut tapped) = tokio::sync::mpsc::unbounded_channel();
    let forward = tokio::spawn(async move {
        while let Some(event) = tapped.recv().await {
            crate::metrics::observe(&event);
            let _ = events.send(event);
        }
    });
    let outcome = run_jobs(store, ring, audit, request, tap).await;
    // The runner and its sender are gone: the forwarder ends once it has passed everything.
    let _ = forward.await;
    outcome
}

async fn run_jobs(
    store: &Store,
    ring: &KeyRing,
    audit: &AuditLog,
    request: RotateRequest<'_>,
    events: UnboundedSender<RotationEvent>,
) -> RotateOutcome {
    let runner = Runner::new(store, ring, request.actor)
        .with_events(events)
        .with_audit(audit)
        .with_takeover(request.takeover)
        .with_workers(request.workers.unwrap_or(1))
        .with_lease(request.lease)
        .with_max_lag(request.max_lag)
        .with_lag_from(request.lag_from)
        .joining_live_jobs(request.workers.is_some());
    let runner = if request.rate_is_explicit {
        runner.with_explicit_max_rate(request.max_rate)
    } else {
        runner.with_max_rate(request.max_rate)
    };
    let mut outcome = RotateOutcome::default();
    if let Some(job) = request.join {
        match runner.join(request.models, job).await {
            Ok(summary) => outcome.jobs.push(summary),
            Err(e) => outcome.errors.push(e.to_string()),
        }
    }
    if let Some(job) = request.resume {
        match runner.resume(request.models, job).await {
            Ok(summary) => outcome.jobs.push(summary),
            Err(e) => outcome.errors.push(e.to_string()),
        }
    }
    for model in &request.selected {
        // A job paused or cancelled (by `p`, `x`, another process, or a console stopping
        // on a signal) ends the run: the operator asked the rotation to stop, not to move
        // on to the next model.
        if outcome
            .jobs
            .last()
            .is_some_and(|j| stopped_on_request(j.status))
        {
            break;
        }
        match runner.start(model, &request.options).await {
            Ok(summary) => outcome.jobs.push(summary),
            Err(e) => outcome.errors.push(format!("{}: {e}", model.name)),
        }
    }
    outcome
}

/// The job stopped because it was asked to (paused or cancelled), not because it ended.
fn stopped_on_request(status: JobStatus) -> bool {
    matches!(status, JobStatus::Paused | JobStatus::Cancelled)
}
