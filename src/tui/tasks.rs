//! Background work. Every query, scan and audited action runs as a tokio task that sends
//! exactly one [`TaskResult`] over a channel; the event loop applies it to state. Nothing
//! here draws, and the UI never waits on a task.
//!
//! The functions below are thin adapters over the services (`store`, `access`, `audit`):
//! they fetch, mask (so plaintext a role may not see never reaches the UI) and turn errors
//! into one-line messages.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures_util::FutureExt;
use tokio::sync::mpsc;

use super::overview_data::{AuditView, HealthView, JobView};
use crate::access::{Access, Cell, RevealGrant, RowsRequest, SearchAudit, ViewRow};
use crate::audit::AuditLog;
use crate::config::{ModelDef, ModelSet};
use crate::crypto::KeyRing;
use crate::health::CensusColumn;
use crate::rotation::{KeyListing, ModelPlan, RotationEvent};
use crate::store::{PageRequest, Record, RowEstimate, Store, StoreConfig};
use crate::value::Value;

/// Rows fetched by one search or filter (they are then paged on screen).
pub const MATCH_LIMIT: u32 = 500;

/// A page of masked rows, and how it was asked for.
#[derive(Clone, Debug)]
pub struct PageView {
    pub model: String,
    pub rows: Vec<ViewRow>,
    pub more_after: bool,
    pub more_before: bool,
    pub request: PageRequest,
    /// Why the operator's own rows are shown masked (their reveal could not be audited).
    pub note: Option<String>,
}

/// The console's append-only audit connection, opened on first use and shared.
pub type SharedLog = Arc<tokio::sync::OnceCell<AuditLog>>;

/// Which cell a reveal is for.
#[derive(Clone, Debug, PartialEq)]
pub struct CellRef {
    pub model: String,
    pub id: Value,
    pub column: String,
}

/// One finished piece of background work.
#[derive(Debug)]
pub enum TaskResult {
    Connected(Result<Store, String>),
    Estimates(Vec<(String, Result<RowEstimate, String>)>),
    /// A keyset page; `generation` drops answers to requests the operator moved past.
    Page {
        generation: u64,
        result: Result<PageView, String>,
    },
    /// Matches of a search (blind index) or filter (plain column), masked; with a note
    /// when the operator's own rows among them are shown masked.
    Matches {
        generation: u64,
        model: String,
        result: Result<(Vec<ViewRow>, Option<String>), String>,
    },
    Revealed {
        cell: CellRef,
        result: Result<Cell, String>,
    },
    Census(Result<Vec<CensusColumn>, String>),
    Audit(Result<AuditView, String>),
    /// The Audit screen's own work: filtered pages, an entry's detail, a verify.
    AuditScreen(super::screens::audit::AuditResult),
    Health(Result<HealthView, String>),
    /// Where a running health check is (many per run, before its `Health` result).
    HealthProgress(super::screens::health_progress::HealthTick),
    Jobs(Result<Vec<JobView>, String>),
    /// The key registry (`timber_keys`) joined with the configured keys.
    KeyRegistry(Result<Vec<KeyListing>, String>),
    /// The plan of the rotation wizard's scope (reads only).
    RotationPlan(Result<Vec<ModelPlan>, String>),
    /// Progress of a rotation this console runs (many per job).
    Rotation(RotationEvent),
    /// A rotation run of this console ended; one line per model or job that did not run.
    RotationFinished {
        errors: Vec<String>,
    },
    /// The key-retirement dialog's census progress, plan and result.
    Retire(super::screens::retire::RetireUpdate),
    /// A task panicked (a bug); the console reports it and quits.
    Crashed {
        task: &'static str,
    },
}

/// Spawns tasks and collects their results.
pub struct TaskRunner {
    tx: mpsc::UnboundedSender<TaskResult>,
    rx: mpsc::UnboundedReceiver<TaskResult>,
    /// Shared with [`ProgressSender`]s: a progress message counts as pending until applied,
    /// so `settle()` also waits for a running rotation's events.
    pending: Arc<AtomicUsize>,
    /// Every task not known to be finished, so quitting can stop them all at once.
    running: Vec<tokio::task::AbortHandle>,
}

impl Default for TaskRunner {
    fn default() -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        TaskRunner {
            tx,
            rx,
            pending: Arc::new(AtomicUsize::new(0)),
            running: Vec::new(),
        }
    }
}

/// Sends extra results (progress) from inside a running task.
#[derive(Clone)]
pub struct ProgressSender {
    tx: mpsc::UnboundedSender<TaskResult>,
    pending: Arc<AtomicUsize>,
}

impl ProgressSender {
    pub fn send(&self, result: TaskResult) {
        self.pending.fetch_add(1, Ordering::SeqCst);
        if self.tx.send(result).is_err() {
            self.pending.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

impl TaskRunner {
    /// Runs `work` in the background; its result arrives through [`TaskRunner::next`].
    pub fn spawn<F>(&mut self, name: &'static str, work: F)
    where
        F: Future<Output = TaskResult> + Send + 'static,
    {
        self.pending.fetch_add(1, Ordering::SeqCst);
        let tx = self.tx.clone();
        let handle = tokio::spawn(async move {
            let started = std::time::Instant::now();
            tracing::debug!(task = name, "task started");
            let result = AssertUnwindSafe(work)
                .catch_unwind()
                .await
                .unwrap_or(TaskResult::Crashed { task: name });
            let elapsed_ms = started.elapsed().as_millis() as u64;
            if matches!(result, TaskResult::Crashed { .. }) {
                tracing::error!(task = name, elapsed_ms, "task crashed");
            } else {
                tracing::debug!(task = name, elapsed_ms, "task finished");
            }
            let _ = tx.send(result);
        });
        self.running.retain(|h| !h.is_finished());
        self.running.push(handle.abort_handle());
    }

    /// Stops every running task (a connection attempt to an unreachable server, a census,
    /// a health scan): quitting must not wait for them. Their results never arrive, so
    /// nothing is pending after.
    pub fn abort_all(&mut self) {
        tracing::debug!(tasks = self.running.len(), "aborting background tasks");
        for handle in self.running.drain(..) {
            handle.abort();
        }
        self.pending.store(0, Ordering::SeqCst);
    }

    /// Tasks spawned and not yet collected.
    pub fn pending(&self) -> usize {
        self.pending.load(Ordering::SeqCst)
    }

    /// A sender for progress results of a task about to be spawned.
    pub fn progress(&self) -> ProgressSender {
        ProgressSender {
            tx: self.tx.clone(),
            pending: self.pending.clone(),
        }
    }

    /// The next finished task's result (waits; `None` only if nothing is pending).
    pub async fn next(&mut self) -> Option<TaskResult> {
        if self.pending() == 0 {
            return None;
        }
        let result = self.rx.recv().await;
        self.pending.fetch_sub(1, Ordering::SeqCst);
        result
    }

    /// A result that is ready now, without waiting.
    pub fn try_next(&mut self) -> Option<TaskResult> {
        let result = self.rx.try_recv().ok()?;
        self.pending.fetch_sub(1, Ordering::SeqCst);
        Some(result)
    }
}

/// Each key's status from the registry (`timber_keys`), read through the rotation service.
pub async fn key_registry(store: Store, ring: Arc<KeyRing>) -> TaskResult {
    let result = crate::rotation::key_listing(&store, &ring)
        .await
        .map_err(|e| e.to_string());
    TaskResult::KeyRegistry(result)
}

pub async fn connect(config: StoreConfig) -> TaskResult {
    TaskResult::Connected(Store::connect(config).await.map_err(|e| e.to_string()))
}

/// Row estimates for the model list (cheap statistics where the backend has them).
pub async fn estimates(store: Store, models: Arc<ModelSet>) -> TaskResult {
    let mut out = Vec::with_capacity(models.models.len());
    for model in &models.models {
        let estimate = store.estimate_rows(model).await.map_err(|e| e.to_string());
        out.push((model.name.clone(), estimate));
    }
    TaskResult::Estimates(out)
}

/// One page: fetched, decrypted (only these rows) and masked for the role; the operator's
/// own rows (owner rule) revealed under ONE audit entry for the page.
pub async fn page(
    store: Store,
    ring: Arc<KeyRing>,
    access: Arc<Access>,
    log: SharedLog,
    model: ModelDef,
    request: PageRequest,
    generation: u64,
) -> TaskResult {
    let result = match store.page(&model, &ring, &request).await {
        Ok(page) => {
            let filter = serde_json::json!({ "limit": request.limit });
            let (grant, note) = owner_grant(
                &store,
                &ring,
                &access,
                &log,
                &model,
                &page.records,
                "page",
                filter,
            )
            .await;
            Ok(PageView {
                model: model.name.clone(),
                rows: page
                    .records
                    .iter()
                    .map(|r| access.mask_row(&model, r, grant.as_ref()))
                    .collect(),
                more_after: page.more_after,
                more_before: page.more_before,
                request,
                note,
            })
        }
        Err(e) => Err(e.to_string()),
    };
    TaskResult::Page { generation, result }
}

/// The audited reveal of the operator's own rows among `records` (`None` when there are
/// none). When its entry cannot be written the rows stay masked, and the note says why.
#[allow(clippy::too_many_arguments)]
async fn owner_grant(
    store: &Store,
    ring: &Arc<KeyRing>,
    access: &Access,
    log: &SharedLog,
    model: &ModelDef,
    records: &[Record],
    scope: &str,
    filter: serde_json::Value,
) -> (Option<RevealGrant>, Option<String>) {
    if access.owner_fields(model).is_empty() || !records.iter().any(|r| access.is_own_row(model, r))
    {
        return (None, None);
    }
    let request = RowsRequest {
        scope: scope.to_string(),
        export: false,
        reason: None,
        filter,
    };
    let result = match log.get_or_try_init(|| AuditLog::open(store, ring)).await {
        Ok(log) => access
            .reveal_rows(log, model, records, &request)
            .await
            .map_err(|e| e.to_string()),
        Err(e) => Err(format!("the audit log cannot be opened ({e})")),
    };
    match result {
        Ok(grant) => (grant, None),
        Err(why) => (None, Some(format!("your own rows are shown masked: {why}"))),
    }
}

/// Exact matches on `field` (blind index for an encrypted field, `=` for a plain one). A
/// search by a secret field is checked against the role and audited (field, match count;
/// never the value) before any match is shown.
#[allow(clippy::too_many_arguments)]
pub async fn matches(
    store: Store,
    ring: Arc<KeyRing>,
    access: Arc<Access>,
    log: SharedLog,
    model: ModelDef,
    field: String,
    value: Value,
    generation: u64,
) -> TaskResult {
    let result = async {
        let audit = access
            .authorize_search(&model, &field)
            .map_err(|e| e.to_string())?;
        let records = store
            .find(&model, &ring, &field, &value, MATCH_LIMIT)
            .await
            .map_err(|e| e.to_string())?;
        if audit == SearchAudit::Required {
            let log = log
                .get_or_try_init(|| AuditLog::open(&store, &ring))
                .await
                .map_err(|e| {
                    format!("search refused: its audit entry could not be written ({e})")
                })?;
            access
                .audit_search(
                    log,
                    &model,
                    std::slice::from_ref(&field),
                    records.len(),
                    MATCH_LIMIT,
                    "search",
                )
                .await
                .map_err(|e| e.to_string())?;
        }
        let filter = serde_json::json!({ "find": [field.clone()], "limit": MATCH_LIMIT });
        let (grant, note) = owner_grant(
            &store, &ring, &access, &log, &model, &records, "search", filter,
        )
        .await;
        let rows = records
            .iter()
            .map(|r| access.mask_row(&model, r, grant.as_ref()))
            .collect();
        Ok((rows, note))
    }
    .await;
    TaskResult::Matches {
        generation,
        model: model.name.clone(),
        result,
    }
}
