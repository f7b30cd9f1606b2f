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
use crate::rotation::retire::key_usage_with_progress;
use crate::rotation::{RotationError, RunOptions, Runner, plan_model, retire_key};
use crate::store::Store;
use crate::store::system_tables::ROTATION_JOBS;
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
        Ok(jobs
            .into_iter()
            .map(|j| JobView {
                id: format!("#{}", j.id),
                status: shown_status(&j),
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

/// The job's status as the operator should read it: a job the table calls running whose
/// worker is gone (a killed console or CLI) is `interrupted`, so it is not mistaken for
/// live work; `p` takes it over.
fn shown_status(job: &crate::store::rotation_sql::JobRow) -> String {
    use crate::rotation::job::{JobStatus, worker_alive};
    match JobStatus::parse(&job.status) {
        Some(s) if s.is_active() && !worker_alive(job) => "interrupted".to_string(),
        _ => job.status.clone(),
    }
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
) -> Msg {
    let mut plans = Vec::new();
    for name in names {
        let Some(model) = models.find(&name) else {
            continue;
        };
        match plan_model(&store, &ring, model, false).await {
            Ok(plan) => plans.push(plan),
            Err(e) => return Msg::Plan(Err(e.to_string())),
        }
    }
    Msg::Plan(Ok(plans))
}

/// Asks job `id`'s worker (of any process) to pause or cancel after its current batch.
pub async fn request_job(store: Store, id: i64, request: &'static str) -> Msg {
    let errors = match store.rotation_request(id, request).await {
        Ok(true) => Vec::new(),
        Ok(false) => vec![format!("job {id} is no longer running")],
        Err(e) => vec![e.to_string()],
    };
    Msg::RotationFinished { errors }
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
}

/// Runs (or resumes) jobs one model at a time, forwarding every event as progress.
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
    } = work;
    let log = match log.get_or_try_init(|| AuditLog::open(&store, &ring)).await {
        Ok(log) => log,
        Err(e) => {
            let error = RotationError::Audit(e).to_string();
            return Msg::RotationFinished {
                errors: vec![error],
            };
        }
    };
    let (sender, mut receiver) = unbounded_channel();
    let forward = tokio::spawn(async move {
        while let Some(event) = receiver.recv().await {
            progress.send(Msg::Rotation(event));
        }
    });
    let runner = Runner::new(&store, &ring, &actor)
        .with_events(sender)
        .with_audit(log)
        .with_max_rate(max_rate)
        .with_takeover(takeover);
    let mut errors = Vec::new();
    if let Some(id) = resume
        && let Err(e) = runner.resume(&models.models, id).await
    {
        errors.push(e.to_string());
    }
    for name in &names {
        let Some(model) = models.find(name) else {
            errors.push(format!("no model named `{name}`"));
            continue;
        };
        if let Err(e) = runner.start(model, &RunOptions::default()).await {
            errors.push(format!("{name}: {e}"));
        }
    }
    drop(runner);
    let _ = forward.await;
    Msg::RotationFinished { errors }
}

/// Models with encrypted columns: the ones a census reads.
pub(super) fn surveyed(models: &ModelSet) -> Vec<&crate::config::ModelDef> {
    models
        .models
        .iter()
        .filter(|m| m.encrypted_columns().next().is_some())
        .collect()
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

/// Counts the values under the key, one model at a time so progress can be shown.
pub async fn census(work: CensusWork) -> Msg {
    let CensusWork {
        store,
        ring,
        models,
        id,
        key,
        progress,
    } = work;
    let scanned = surveyed(&models);
    let mut uses = Vec::new();
    let mut found = 0;
    let total = scanned.len();
    for (done, model) in scanned.iter().enumerate() {
        let report = |name: &str, rows: u64| {
            progress.send(Msg::Retire(RetireUpdate::Progress {
                key: key.clone(),
                done,
                total,
                model: name.to_string(),
                rows,
                found,
            }))
        };
        report(&model.name, 0);
        let one = std::slice::from_ref(*model);
        match key_usage_with_progress(&store, &ring, one, &id, &report).await {
            Ok(counted) => {
                for u in counted {
                    found += u.count;
                    uses.push(RetireUse {
                        model: model.name.clone(),
                        table: u.table,
                        column: u.column,
                        count: u.count,
                    });
                }
            }
            Err(e) => {
                let result = Err(format!("{}: {e}", model.name));
                return Msg::Retire(RetireUpdate::Census { key, result });
            }
        }
    }
    Msg::Retire(RetireUpdate::Census {
        key,
        result: Ok(uses),
    })
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
