//! Rotation from the Keys screen: the wizard's keys (scope, plan, type-to-confirm), the
//! background run whose events stream back as progress, pause/resume/cancel of the selected
//! job (through the jobs table, so jobs of other processes obey too), and the polling of
//! the jobs table. A read-only session refuses every one of these writes, saying why.

use std::sync::Arc;

use crossterm::event::{KeyCode, KeyEvent};
use ratatui_textarea::TextArea;
use tokio::sync::OnceCell;
use tokio::sync::mpsc::unbounded_channel;

use super::app::App;
use super::screens::Loadable;
use super::screens::rotation_wizard::{WizardState, WizardStep};
use super::state::Popup;
use super::tasks::{ProgressSender, TaskResult};
use crate::access::ActionRefused;
use crate::audit::AuditLog;
use crate::config::{ModelSet, PolicyAction};
use crate::crypto::KeyRing;
use crate::rotation::{JobRequest, RotationError, RunOptions, Runner, plan_model};
use crate::store::Store;

/// Why a write action is disabled in a read-only session (short enough for the message line
/// at 80 columns, remedy included).
pub const READ_ONLY_REASON: &str =
    "read-only session: rotation writes to the database; restart with --write";

impl App {
    /// `R` on the Keys screen: the wizard, or the reason it cannot run.
    pub(super) fn open_rotation_wizard(&mut self) {
        if self.state.status.read_only {
            self.state.error(READ_ONLY_REASON);
            return;
        }
        let models = self
            .setup
            .models
            .models
            .iter()
            .filter(|m| m.encrypted_columns().next().is_some())
            .map(|m| m.name.clone())
            .collect();
        let mut wizard = WizardState::new(models);
        wizard.max_rate = self.max_rotation_rate();
        self.state.popup = Popup::Rotate(wizard);
    }

    pub(super) fn wizard_key(&mut self, key: KeyEvent) {
        let Popup::Rotate(wizard) = &mut self.state.popup else {
            return;
        };
        if key.code == KeyCode::Esc {
            self.state.popup = Popup::None;
            return;
        }
        let word = wizard.confirm_word().to_string();
        let models = wizard.models.clone();
        let scope = wizard.scope.clone();
        match &mut wizard.step {
            WizardStep::Scope { cursor } => match key.code {
                KeyCode::Up | KeyCode::Char('k') => *cursor = cursor.saturating_sub(1),
                KeyCode::Down | KeyCode::Char('j') => {
                    *cursor = (*cursor + 1).min(wizard.models.len())
                }
                KeyCode::Enter => {
                    let chosen = cursor.checked_sub(1).and_then(|i| models.get(i).cloned());
                    wizard.scope = chosen;
                    wizard.step = WizardStep::Plan(Loadable::Loading);
                    let names = wizard.selected_models();
                    self.spawn_plan(names);
                }
                _ => {}
            },
            WizardStep::Plan(plan) => {
                if key.code == KeyCode::Enter
                    && let Loadable::Ready(plans) = plan
                {
                    let mut input = TextArea::default();
                    input.set_cursor_line_style(ratatui::style::Style::default());
                    input.set_placeholder_text(word);
                    wizard.step = WizardStep::Confirm {
                        plans: std::mem::take(plans),
                        input: Box::new(input),
                        error: None,
                    };
                }
            }
            WizardStep::Confirm { input, error, .. } => {
                if key.code != KeyCode::Enter {
                    input.input(key);
                    return;
                }
                let typed = input.lines().join("").trim().to_string();
                if typed != word {
                    *error = Some(format!(
                        "type `{word}` exactly to start (you typed `{typed}`)"
                    ));
                    return;
                }
                let names = match scope {
                    Some(model) => vec![model],
                    None => models,
                };
                self.state.popup = Popup::None;
                self.spawn_rotation(names, None);
            }
        }
    }

    /// `p`: pause the selected running job, resume a paused or failed one, or take over an
    /// interrupted one (its worker, a console or CLI, was killed).
    pub(super) fn pause_or_resume_job(&mut self) {
        if self.state.status.read_only {
            self.state.error(READ_ONLY_REASON);
            return;
        }
        let Some((id, status)) = self.state.keys.selected_job() else {
            self.state.notice("no rotation job selected");
            return;
        };
        let ours = self
            .state
            .keys
            .live
            .iter()
            .any(|l| l.job == id && matches!(l.status.as_str(), "running" | "resumed"));
        // An interrupted job's worker is gone: continuing it is a takeover.
        if status == "interrupted"
            && let Err(refused) = self.state.grants.check(PolicyAction::TakeoverJob)
        {
            self.state.error(refused.short());
            return;
        }
        match status.as_str() {
            "running" if ours => self.request_job(id, JobRequest::Pause),
            "running" | "paused" | "interrupted" | "failed" => {
                self.state.notice(format!("resuming job {id}…"));
                self.spawn_rotation(Vec::new(), Some(id));
            }
            other => self.state.notice(format!(
                "job {id} is {other}; only running, paused, interrupted or failed jobs change"
            )),
        }
    }

    /// `x`: ask the selected job's worker to cancel after its current batch.
    pub(super) fn cancel_job(&mut self) {
        if self.state.status.read_only {
            self.state.error(READ_ONLY_REASON);
            return;
        }
        match self.state.keys.selected_job() {
            Some((id, _)) => self.request_job(id, JobRequest::Cancel),
            None => self.state.notice("no rotation job selected"),
        }
    }

    fn request_job(&mut self, id: i64, request: JobRequest) {
        let Some(store) = self.store.clone() else {
            return;
        };
        self.state.notice(format!(
            "job {id}: {} after the current batch",
            request.status()
        ));
        self.tasks.spawn("job request", async move {
            let errors = match store.rotation_request(id, request).await {
                Ok(true) => Vec::new(),
                Ok(false) => vec![format!("job {id} is no longer running")],
                Err(e) => vec![e.to_string()],
            };
            TaskResult::RotationFinished { errors }
        });
    }

    /// Polls the jobs table (jobs of every process) unless a poll is already out.
    pub(super) fn poll_jobs(&mut self) {
        if self.jobs_polling {
            return;
        }
        if let Some(store) = self.store.clone() {
            self.jobs_polling = true;
            self.tasks.spawn("jobs", super::overview_data::jobs(store));
        }
    }

    fn spawn_plan(&mut self, names: Vec<String>) {
        let Some(store) = self.store.clone() else {
            self.state
                .error("not connected: the plan needs the database");
            return;
        };
        let (ring, models) = (self.setup.ring.clone(), self.setup.models.clone());
        self.tasks.spawn("rotation plan", async move {
            let mut plans = Vec::new();
            for name in names {
                let Some(model) = models.find(&name) else {
                    continue;
                };
                match plan_model(&store, &ring, model, false).await {
                    Ok(plan) => plans.push(plan),
                    Err(e) => return TaskResult::RotationPlan(Err(e.to_string())),
                }
            }
            TaskResult::RotationPlan(Ok(plans))
        });
    }

    fn spawn_rotation(&mut self, names: Vec<String>, resume: Option<i64>) {
        if let Err(refused) = self.state.grants.check(PolicyAction::Rotate) {
            self.state.error(refused.short());
            return;
        }
        let Some(store) = self.store.clone() else {
            self.state
                .error("not connected: rotation needs the database");
            return;
        };
        let work = run_rotation(RotationWork {
            store,
            ring: self.setup.ring.clone(),
            models: self.setup.models.clone(),
            names,
            resume,
            actor: self.access.identity().user.clone(),
            log: self.audit_log.clone(),
            progress: self.tasks.progress(),
            max_rate: self.max_rotation_rate(),
            takeover: self.state.grants.check(PolicyAction::TakeoverJob),
        });
        let limit = self
            .max_rotation_rate()
            .map_or(String::new(), |r| format!(", limited to {r} rows/s"));
        self.state
            .notice(format!("rotation started{limit}; progress below"));
        self.tasks.spawn("rotation", work);
    }

    /// `ROTATION_MAX_ROWS_PER_SECOND` as loaded: the rate jobs started here are held to.
    fn max_rotation_rate(&self) -> Option<u64> {
        self.setup
            .settings
            .rotation_max_rows_per_second
            .as_ref()
            .map(|r| r.value)
    }

    /// A plan for the open wizard (dropped if the operator closed it).
    pub(super) fn apply_plan(&mut self, result: Result<Vec<crate::rotation::ModelPlan>, String>) {
        if let Popup::Rotate(wizard) = &mut self.state.popup
            && matches!(wizard.step, WizardStep::Plan(_))
        {
            wizard.step = WizardStep::Plan(Loadable::from_result(result));
        }
    }

    pub(super) fn apply_rotation_finished(&mut self, errors: Vec<String>) {
        if errors.is_empty() {
            self.state.notice("rotation: done");
        } else {
            self.state.error(format!("rotation: {}", errors.join("; ")));
        }
        // Census, health and jobs all change with a rotation.
        self.load_overview();
    }
}

struct RotationWork {
    store: Store,
    ring: Arc<KeyRing>,
    models: Arc<ModelSet>,
    names: Vec<String>,
    resume: Option<i64>,
    actor: String,
    log: Arc<OnceCell<AuditLog>>,
    progress: ProgressSender,
    max_rate: Option<u64>,
    /// The role's `takeover_job` grant: the runner refuses a takeover without it.
    takeover: Result<(), ActionRefused>,
}

/// Runs (or resumes) jobs one model at a time, forwarding every event as progress.
async fn run_rotation(work: RotationWork) -> TaskResult {
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
            return TaskResult::RotationFinished {
                errors: vec![error],
            };
        }
    };
    let (sender, mut receiver) = unbounded_channel();
    let forward = tokio::spawn(async move {
        while let Some(event) = receiver.recv().await {
            progress.send(TaskResult::Rotation(event));
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
    TaskResult::RotationFinished { errors }
}
