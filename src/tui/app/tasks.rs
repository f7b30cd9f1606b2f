//! Background work. Every query, scan and audited action runs as a tokio task that sends
//! exactly one [`TaskResult`] over a channel (and maybe progress results before it); the
//! event loop applies it. Nothing here draws, and the UI never waits on a task. The work
//! itself is each screen's loaders; a result is that screen's message, wrapped.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures_util::FutureExt;
use tokio::sync::mpsc;

use crate::access::Access;
use crate::config::ModelDef;
use crate::crypto::KeyRing;
use crate::store::{PageRequest, Store, StoreConfig};
use crate::tui::context::{Progress, SharedLog, Task};
use crate::tui::screens::{audit, data, health, keys, overview};

/// One finished piece of background work: a screen's message, or one of the root's.
#[derive(Debug)]
pub enum TaskResult {
    Connected(Result<Store, String>),
    Overview(overview::Msg),
    Data(data::Msg),
    Audit(audit::Msg),
    Keys(keys::Msg),
    Health(health::Msg),
    /// `:report` finished: the message row's text (where it was written), or why not.
    Report(Result<String, String>),
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
    /// Runs a screen's task; its messages (progress, then its answer) arrive wrapped.
    pub fn spawn_task(&mut self, task: Task<TaskResult>) {
        let progress = self.progress();
        let progress = Progress::new(move |result| progress.send(result));
        self.spawn(task.name, (task.work)(progress));
    }

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

pub async fn connect(config: StoreConfig) -> TaskResult {
    TaskResult::Connected(Store::connect(config).await.map_err(|e| e.to_string()))
}

/// One page of the Data screen (for benchmarks that time a page without the event loop).
pub async fn page(
    store: Store,
    ring: Arc<KeyRing>,
    access: Arc<Access>,
    log: SharedLog,
    model: ModelDef,
    request: PageRequest,
    generation: u64,
) -> TaskResult {
    let msg = data::loaders::page(store, ring, access, log, model, request, generation).await;
    TaskResult::Data(msg)
}
