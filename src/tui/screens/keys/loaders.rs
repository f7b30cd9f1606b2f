//! The Keys screen's background work, each answering with the screen's own [`Msg`]: the
//! jobs table, the key registry, the wizard's plan, a rotation run (rotate many models
//! with progress), the census of a key before its retirement (refuse while in use) and the
//! audited retirement. The use cases are in `rotation` (and, for the CLI too, `service`):
//! these are the console's adapters, one function each.

use tokio::sync::mpsc::unbounded_channel;

use std::sync::Arc;

use super::retire::{RetireUpdate, RetireUse};
use super::{JobView, Msg};
use crate::access::ActionRefused;
use crate::audit::AuditLog;
use crate::config::ModelSet;
use crate::crypto::{KeyId, KeyRing};
use crate::rotation::{JobRequest, JobState, RotationError, RunOptions, plan_model, retire_key};
use crate::service::{CensusProgress, RotateRequest, key_census, rotate_many};
use crate::store::ROTATION_JOBS;
use crate::store::Store;
use crate::tui::context::{Progress, SharedLog};

/// Jobs listed on the Overview and Keys screens.
pub const JOBS_SHOWN: u32 = 20;

/// The rotation jobs table (every process's jobs), newest first; none before `timber init`.
pub async fn jobs(store: Store) -> Msg {
    let result = async {
        if !store
            .table_exists(ROTATION_JOBS)
            .await
            .map_err(|e| e.to_string())?
        {
            return Ok(Vec::new());
        }
        let jobs = store
            .rotation_jobs(JOBS_SHOWN)
            .await
            .map_err(|e| e.to_string())?;
        let ids: Vec<i64> = jobs.iter().map(|j| j.id).collect();
        let fleets = crate::rotation::job_fleets(&store, &ids)
            .await
            .map_err(|e| e.to_string())?;
        Ok(jobs
            .into_iter()
            .map(|j| JobView {
                fleet: fleets
                    .get(&j.id)
                    .filter(|f| f.chunks_total > 1 || f.workers.len() > 1)
                    .map(|f| f.summary())
                    .unwrap_or_default(),
                workers: fleets.get(&j.id).map_or_else(Vec::new, |f| {
                    f.workers
                        .iter()
                        .map(|w| format!("{} {:.0}/s", w.owner, w.rows_per_second))
                        .collect()
                }),
                id: format!("#{}", j.id),
                // A job the table calls running whose worker is gone (a killed console
                // or CLI) shows as interrupted, not as live work; `p` takes it over.
                status: match JobState::of(&j) {
                    // Its first worker is gone but workers joined from elsewhere hold chunks.
                    JobState::Interrupted(s)
                        if fleets.get(&j.id).is_some_and(|f| !f.workers.is_empty()) =>
                    {
                        JobState::Recorded(s)
                    }
                    state => state,
                },
                table: j.table_name,
                rows_total: Some(j.rows_total.max(0) as u64),
                rows_handled: Some((j.rows_done + j.rows_skipped + j.rows_failed).max(0) as u64),
                rows_failed: j.rows_failed.max(0) as u64,
            })
            .collect())
    }
    .await;
    Msg::Jobs(result)
}

/// Each key's status from the registry (`timber_keys`), read through the rotation service.
pub async fn key_registry(store: Store, ring: Arc<KeyRing>) -> Msg {
    let result = crate::rotation::key_listing(&store, &ring)
        .await
        .map_err(|e| e.to_string());
    Msg::Registry(result)
}

/// The plan of each named model (reads only).
pub async fn plan(
    store: Store,
    ring: Arc<KeyRing>,
    models: Arc<ModelSet>,
    names: Vec<String>,
    encrypt_plaintext: bool,
) -> Msg {
    let mut plans = Vec::new();
    for name in names {
        let Some(model) = models.find(&name) else {
            continue;
        };
        match plan_model(&store, &ring, model, encrypt_plaintext).await {
            Ok(plan) => plans.push(plan),
            Err(e) => return Msg::Plan(Err(e.to_string())),
        }
    }
    Msg::Plan(Ok(plans))
}

/// Asks job `id`'s worker (of any process) to pause or cancel after its current batch.
pub async fn request_job(store: Store, id: i64, request: JobRequest) -> Msg {
    let result = store
        .rotation_request(id, request)
        .await
        .map_err(|e| e.to_string());
    Msg::JobRequested {
        id,
        request,
        result,
    }
}

/// Sets job `id`'s rate limit in the jobs table (its worker, of any process, runs at it
/// within a second), as `timber jobs set` does.
pub async fn set_rate(store: Store, id: i64, rate: Option<u64>) -> Msg {
    let result = crate::rotation::set_max_rate(&store, id, rate)
        .await
        .map(|before| {
            let was = crate::rotation::JobOptions::parse(before.options.as_deref()).max_rate;
            (before.table_name, was)
        })
        .map_err(|e| e.to_string());
    Msg::RateSet { id, rate, result }
}

/// Sets job `id`'s replication-lag limit (its workers follow within a second), as `timber
/// jobs set --max-lag` does.
pub async fn set_lag(store: Store, id: i64, lag: Option<f64>) -> Msg {
    let result = crate::rotation::set_job_limits(&store, id, None, Some(lag))
        .await
        .map(|before| {
            let was = crate::rotation::JobOptions::parse(before.options.as_deref()).max_lag;
            (before.table_name, was)
        })
        .map_err(|e| e.to_string());
    Msg::LagSet { id, lag, result }
}

/// Rotate many models with progress: the console's adapter over `rotation::Runner`.
pub struct RotationWork {
    pub store: Store,
    pub ring: Arc<KeyRing>,
    pub models: Arc<ModelSet>,
    pub names: Vec<String>,
    pub resume: Option<i64>,
    pub actor: String,
    pub log: SharedLog,
    pub progress: Progress<Msg>,
    pub max_rate: Option<u64>,
    /// The role's `takeover_job` grant: the runner refuses a takeover without it.
    pub takeover: Result<(), ActionRefused>,
    /// Plaintext values are encrypted too (the plan's `e`).
    pub encrypt_plaintext: bool,
}

/// Runs (or resumes) jobs one model at a time through `service::rotate_many` (the use case
/// `timber rotate` runs too), forwarding every event as progress.
pub async fn run_rotation(work: RotationWork) -> Msg {
    let RotationWork {
        store,
        ring,
        models,
        names,
        resume,
        actor,
        log,
        progress,
        max_rate,
        takeover,
        encrypt_plaintext,
    } = work;
    let log = match log.get_or_try_init(|| AuditLog::open(&store, &ring)).await {
        Ok(log) => log,
        Err(e) => {
            let error = RotationError::Audit(e).to_string();
            return Msg::RotationFinished {
                jobs: Vec::new(),
                errors: vec![error],
            };
        }
    };
    let mut errors = Vec::new();
    let mut selected = Vec::new();
    for name in &names {
        match models.find(name) {
            Some(model) => selected.push(model),
            None => errors.push(format!("no model named `{name}`")),
        }
    }
    let (sender, mut receiver) = unbounded_channel();
    let forward = tokio::spawn(async move {
        while let Some(event) = receiver.recv().await {
            progress.send(Msg::Rotation(event));
        }
    });
    let request = RotateRequest {
        models: &models.models,
        selected,
        resume,
        join: None,
        workers: None,
        lease: crate::rotation::DEFAULT_LEASE,
        options: RunOptions {
            encrypt_plaintext,
            ..RunOptions::default()
        },
        actor: &actor,
        max_rate,
        max_lag: None,
        lag_from: None,
        rate_is_explicit: false,
        takeover,
    };
    let outcome = rotate_many(&store, &ring, log, request, sender).await;
    let _ = forward.await;
    errors.extend(outcome.errors);
    Msg::RotationFinished {
        jobs: outcome.jobs,
        errors,
    }
}

/// Refuse retirement while the key is in use: the census that gates it.
pub struct CensusWork {
    pub store: Store,
    pub ring: Arc<KeyRing>,
    pub models: Arc<ModelSet>,
    pub id: KeyId,
    pub key: String,
    pub progress: Progress<Msg>,
}

/// Counts the values under the key through `service::key_census` (the gate `timber keys
/// retire` passes too), one model at a time so progress can be shown.
pub async fn census(work: CensusWork) -> Msg {
    let CensusWork {
        store,
        ring,
        models,
        id,
        key,
        progress,
    } = work;
    let report = |p: CensusProgress| {
        progress.send(Msg::Retire(RetireUpdate::Progress {
            key: key.clone(),
            done: p.done,
            total: p.total,
            model: p.model,
            rows: p.rows,
            found: p.found,
        }))
    };
    let result = key_census(&store, &ring, &models.models, &id, &report)
        .await
        .map(|places| {
            places
                .into_iter()
                .map(|p| RetireUse {
                    model: p.model,
                    table: p.table,
                    column: p.column,
                    count: p.count,
                })
                .collect()
        })
        .map_err(|e| e.to_string());
    Msg::Retire(RetireUpdate::Census { key, result })
}

/// The audited retirement (it proves the census again before it writes).
pub async fn retire(
    store: &Store,
    ring: &KeyRing,
    models: &ModelSet,
    log: &SharedLog,
    actor: &str,
    key: &str,
) -> Result<(), String> {
    let log = log
        .get_or_try_init(|| AuditLog::open(store, ring))
        .await
        .map_err(|e| RotationError::Audit(e).to_string())?;
    retire_key(store, ring, &models.models, log, actor, key)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}
