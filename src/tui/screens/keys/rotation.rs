//! Rotation from the Keys screen: the wizard (scope, plan, type-to-confirm), the
//! background run whose events stream back as progress, and pause/resume/cancel of the
//! selected job (through the jobs table, so jobs of other processes obey too). A
//! read-only session refuses every one of these writes, saying why.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui_textarea::TextArea;

use super::loaders::{self, RotationWork};
use super::{Effect, KeysState, Popup};
use crate::config::PolicyAction;
use crate::rotation::{JobRequest, JobState, JobStatus, JobSummary, ModelPlan};
use crate::tui::context::{Ctx, Loadable, Refresh, Task};
use crate::tui::keymap::Action;

/// Why a write action is disabled in a read-only session (short enough for the message line
/// at 80 columns, remedy included).
pub const READ_ONLY_REASON: &str =
    "read-only session: rotation writes to the database; restart with --write";

/// Rows per batch the plan assumes (the runner adapts its batch size; this is for the ETA).
pub const PLAN_BATCH: u64 = 500;
/// Rows per second the plan's ETA assumes before a job has reported its own rate.
pub const PLAN_RATE: u64 = 2000;

#[derive(Debug)]
pub enum WizardStep {
    /// Choosing `all` (index 0) or one model.
    Scope {
        cursor: usize,
    },
    Plan(Loadable<Vec<ModelPlan>>),
    Confirm {
        plans: Vec<ModelPlan>,
        /// Boxed: a text area is large next to the other steps.
        input: Box<TextArea<'static>>,
        error: Option<String>,
    },
}

#[derive(Debug)]
pub struct WizardState {
    /// Models with encrypted columns, in model order.
    pub models: Vec<String>,
    /// `None` for all models.
    pub scope: Option<String>,
    pub step: WizardStep,
    /// `ROTATION_MAX_ROWS_PER_SECOND`: the plan shows it and its ETA honours it.
    pub max_rate: Option<u64>,
    /// Where the limit comes from (`env ROTATION_MAX_ROWS_PER_SECOND`, the demo's .env…).
    pub max_rate_source: Option<String>,
    /// `e` in the plan: plaintext values are encrypted too (`--encrypt-plaintext`).
    pub encrypt_plaintext: bool,
    /// The plan's first shown row (j/k, pgup/pgdn scroll it).
    pub scroll: usize,
}

impl WizardState {
    pub fn new(models: Vec<String>) -> WizardState {
        WizardState {
            models,
            scope: None,
            step: WizardStep::Scope { cursor: 0 },
            max_rate: None,
            max_rate_source: None,
            encrypt_plaintext: false,
            scroll: 0,
        }
    }

    /// What must be typed to confirm: the model's name, or `all`.
    pub fn confirm_word(&self) -> &str {
        self.scope.as_deref().unwrap_or("all")
    }

    /// The models the chosen scope covers.
    pub fn selected_models(&self) -> Vec<String> {
        match &self.scope {
            Some(model) => vec![model.clone()],
            None => self.models.clone(),
        }
    }
}

/// Rows of the plan's table (one per model and column).
pub fn plan_rows(plans: &[ModelPlan]) -> usize {
    plans.iter().map(|p| p.columns.len()).sum()
}

/// Rows to write, batches and the ETA at the assumed rate, or at the rate limit when it is
/// lower (a limited job's batches are at most one second of the limit).
pub fn plan_totals(plans: &[ModelPlan], max_rate: Option<u64>) -> (u64, u64, u64) {
    let rows: u64 = plans.iter().map(|p| p.estimated_rows_to_change()).sum();
    let batch = max_rate.map_or(PLAN_BATCH, |r| r.clamp(1, PLAN_BATCH));
    let rate = max_rate.map_or(PLAN_RATE, |r| r.clamp(1, PLAN_RATE));
    let batches: u64 = plans.iter().map(|p| p.rows_total.div_ceil(batch)).sum();
    (rows, batches, rows.div_ceil(rate))
}

impl KeysState {
    /// `R`: the wizard, or the reason it cannot run.
    pub(super) fn open_rotation_wizard(&mut self, ctx: &Ctx) -> Effect {
        if ctx.read_only {
            return Effect::error(READ_ONLY_REASON);
        }
        let models = ctx
            .services
            .encrypted_models()
            .map(|m| m.name.clone())
            .collect();
        let mut wizard = WizardState::new(models);
        wizard.max_rate = ctx.services.max_rotation_rate();
        wizard.max_rate_source = ctx.services.max_rotation_rate_source();
        Effect::Popup(Popup::Rotate(wizard))
    }

    /// A key while the wizard is open.
    pub fn wizard_key(&mut self, wizard: &mut WizardState, key: KeyEvent, ctx: &Ctx) -> Effect {
        if key.code == KeyCode::Esc {
            return Effect::ClosePopup;
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
                    return self.spawn_plan(wizard.selected_models(), false, ctx);
                }
                _ => {}
            },
            WizardStep::Plan(plan) => {
                let rows = match plan {
                    Loadable::Ready(plans) => plan_rows(plans),
                    _ => 0,
                };
                match key.code {
                    KeyCode::Down | KeyCode::Char('j') => {
                        wizard.scroll = (wizard.scroll + 1).min(rows.saturating_sub(1))
                    }
                    KeyCode::Up | KeyCode::Char('k') => {
                        wizard.scroll = wizard.scroll.saturating_sub(1)
                    }
                    KeyCode::PageDown => {
                        wizard.scroll = (wizard.scroll + 8).min(rows.saturating_sub(1))
                    }
                    KeyCode::PageUp => wizard.scroll = wizard.scroll.saturating_sub(8),
                    // Opt in (or out) to encrypting plaintext: the plan is made again.
                    KeyCode::Char('e') if matches!(plan, Loadable::Ready(_)) => {
                        wizard.encrypt_plaintext = !wizard.encrypt_plaintext;
                        wizard.step = WizardStep::Plan(Loadable::Loading);
                        return self.spawn_plan(
                            wizard.selected_models(),
                            wizard.encrypt_plaintext,
                            ctx,
                        );
                    }
                    KeyCode::Enter => {
                        let Loadable::Ready(plans) = plan else {
                            return Effect::None;
                        };
                        // An empty plan starts nothing: a job would only scan the table.
                        if plan_totals(plans, None).0 == 0 {
                            let current: u64 = plans
                                .iter()
                                .flat_map(|p| &p.columns)
                                .map(|c| c.current)
                                .sum();
                            return Effect::ClosePopup.then(Effect::notice(format!(
                                "nothing to rotate: {current} value(s) already under their target key; no job started"
                            )));
                        }
                        let mut input = TextArea::default();
                        input.set_cursor_line_style(ratatui::style::Style::default());
                        input.set_placeholder_text(word);
                        wizard.step = WizardStep::Confirm {
                            plans: std::mem::take(plans),
                            input: Box::new(input),
                            error: None,
                        };
                    }
                    _ => {}
                }
            }
            WizardStep::Confirm { input, error, .. } => {
                if key.code != KeyCode::Enter {
                    crate::tui::widgets::line_input::edit(input, &mut false, key);
                    return Effect::None;
                }
                let typed = input.lines().join("").trim().to_string();
                if typed != word {
                    *error = Some(format!(
                        "type `{word}` exactly to start (you typed `{typed}`)"
                    ));
                    return Effect::None;
                }
                let names = match scope {
                    Some(model) => vec![model],
                    None => models,
                };
                let encrypt = wizard.encrypt_plaintext;
                return Effect::ClosePopup.then(self.spawn_rotation(names, None, encrypt, ctx));
            }
        }
        Effect::None
    }

    /// `p`: pause the selected running job, resume a paused or failed one, or take over an
    /// interrupted one (its worker, a console or CLI, was killed).
    pub(super) fn pause_or_resume_job(&mut self, ctx: &Ctx) -> Effect {
        if ctx.read_only {
            return Effect::error(READ_ONLY_REASON);
        }
        let Some((id, status)) = self.selected_job() else {
            return Effect::notice("no rotation job selected");
        };
        // An interrupted job's worker is gone: continuing it is a takeover.
        if matches!(status, JobState::Interrupted(_))
            && let Err(refused) = ctx.grants().check(PolicyAction::TakeoverJob)
        {
            return Effect::error(refused.short());
        }
        match status {
            // A running job pauses, this console's or another live process's: its worker
            // reads the request in the jobs table after its batch.
            JobState::Recorded(JobStatus::Running) => self.request_job(id, JobRequest::Pause, ctx),
            // Taking over another worker's job asks first.
            JobState::Interrupted(_) => self.ask(super::PendingJobAction::Takeover(id)),
            JobState::Recorded(JobStatus::Paused | JobStatus::Failed) => Effect::notice(format!(
                "resuming job {id}…"
            ))
            .then(self.spawn_rotation(Vec::new(), Some(id), false, ctx)),
            other => Effect::notice(format!(
                "job {id} is {other}; only running, paused, interrupted or failed jobs change"
            )),
        }
    }

    /// `:rate N`: the selected job's rate limit (0: unlimited), changed in the jobs table as
    /// `timber jobs set JOB --max-rate N` does; its worker runs at it within a second. Needs
    /// the `rotate` grant, as pausing does.
    pub fn set_rate(&mut self, rate: u64, ctx: &Ctx) -> Effect {
        if ctx.read_only {
            return Effect::error(READ_ONLY_REASON);
        }
        if let Some(refused) = ctx.not_granted(Action::PauseJob) {
            return Effect::error(refused);
        }
        let Some((id, _)) = self.selected_job() else {
            return Effect::notice("no rotation job selected");
        };
        let Some(store) = ctx.services.store.clone() else {
            return Effect::error(ctx.services.not_connected());
        };
        let rate = Some(rate).filter(|r| *r > 0);
        Effect::spawn("job rate", loaders::set_rate(store, id, rate))
    }

    /// `:lag S`: the selected job's replication-lag limit (0: not watched), as `timber jobs
    /// set JOB --max-lag S`; its workers follow within a second. The `rotate` grant, as
    /// `:rate`.
    pub fn set_lag(&mut self, seconds: f64, ctx: &Ctx) -> Effect {
        if ctx.read_only {
            return Effect::error(READ_ONLY_REASON);
        }
        if let Some(refused) = ctx.not_granted(Action::PauseJob) {
            return Effect::error(refused);
        }
        let Some((id, _)) = self.selected_job() else {
            return Effect::notice("no rotation job selected");
        };
        let Some(store) = ctx.services.store.clone() else {
            return Effect::error(ctx.services.not_connected());
        };
        let lag = Some(seconds).filter(|s| *s > 0.0);
        Effect::spawn("job lag limit", loaders::set_lag(store, id, lag))
    }

    /// `x`: ask the selected job's worker to cancel after its current batch.
    pub(super) fn cancel_job(&mut self, ctx: &Ctx) -> Effect {
        if ctx.read_only {
            return Effect::error(READ_ONLY_REASON);
        }
        match self.selected_job() {
            Some((id, _)) => self.ask(super::PendingJobAction::Cancel(id)),
            None => Effect::notice("no rotation job selected"),
        }
    }

    /// Holds `pending` until the next key, saying what `enter` will do.
    fn ask(&mut self, pending: super::PendingJobAction) -> Effect {
        self.pending = Some(pending);
        Effect::notice(pending.question("enter", "esc"))
    }

    /// `enter` after a question: the cancel or the takeover, as asked.
    pub(super) fn confirmed(&mut self, pending: super::PendingJobAction, ctx: &Ctx) -> Effect {
        match pending {
            super::PendingJobAction::Cancel(id) => self.request_job(id, JobRequest::Cancel, ctx),
            super::PendingJobAction::Takeover(id) => Effect::notice(format!(
                "taking over job {id}…"
            ))
            .then(self.spawn_rotation(Vec::new(), Some(id), false, ctx)),
        }
    }

    fn request_job(&mut self, id: i64, request: JobRequest, ctx: &Ctx) -> Effect {
        let Some(store) = ctx.services.store.clone() else {
            return Effect::error(ctx.services.not_connected());
        };
        Effect::notice(format!(
            "{} job {id} after its current batch…",
            request_verb(request, true)
        ))
        .then(Effect::spawn(
            "job request",
            loaders::request_job(store, id, request),
        ))
    }

    /// The jobs table's answer to a pause or cancel of job `id`: recorded (its worker
    /// honours it after its batch; what became of it is said when the job stops), or not,
    /// because the job had stopped already.
    pub(super) fn apply_job_request(
        &mut self,
        id: i64,
        request: JobRequest,
        result: Result<bool, String>,
    ) -> Effect {
        match result {
            Ok(true) => {
                // A job this console runs reports its end itself (`RotationFinished`).
                let ours = self.live.iter().any(|l| l.job == id);
                if !ours {
                    self.requests.retain(|(j, _)| *j != id);
                    self.requests.push((id, request));
                }
                Effect::None
            }
            Ok(false) => {
                let now = self
                    .jobs
                    .ready()
                    .and_then(|jobs| jobs.iter().find(|j| j.id == format!("#{id}")))
                    .map(|j| format!(" (it is {})", j.status))
                    .unwrap_or_default();
                Effect::error(format!(
                    "job {id} was not {}: it is no longer running{now}",
                    request_verb(request, false)
                ))
            }
            Err(e) => Effect::error(format!(
                "job {id} could not be {}: {e}",
                request_verb(request, false)
            )),
        }
    }

    /// After a poll of the jobs table: what became of the jobs other processes run that a
    /// pause or cancel was asked of, once they stopped (`paused job 2`).
    pub(super) fn answered_requests(&mut self) -> Effect {
        let Some(jobs) = self.jobs.ready() else {
            return Effect::None;
        };
        let mut said = Vec::new();
        self.requests.retain(|(id, request)| {
            let Some(job) = jobs.iter().find(|j| j.id == format!("#{id}")) else {
                return true;
            };
            let status = job.status.status();
            if status.is_active() && !matches!(job.status, JobState::Interrupted(_)) {
                return true;
            }
            let wanted = match request {
                JobRequest::Pause => JobStatus::Paused,
                JobRequest::Cancel => JobStatus::Cancelled,
            };
            said.push(if job.status == JobState::Recorded(wanted) {
                format!("{wanted} job {id} ({})", job.table)
            } else {
                let asked = match request {
                    JobRequest::Pause => "pause",
                    JobRequest::Cancel => "cancel",
                };
                format!(
                    "job {id} ({}) is {}, not {} (asked to {asked})",
                    job.table,
                    job.status,
                    request_verb(*request, false)
                )
            });
            false
        });
        if said.is_empty() {
            Effect::None
        } else {
            Effect::notice(said.join("; "))
        }
    }

    fn spawn_plan(&mut self, names: Vec<String>, encrypt_plaintext: bool, ctx: &Ctx) -> Effect {
        let s = ctx.services;
        let Some(store) = s.store.clone() else {
            return Effect::error("not connected: the plan needs the database");
        };
        let work = loaders::plan(
            store,
            s.ring.clone(),
            s.models.clone(),
            names,
            encrypt_plaintext,
        );
        Effect::spawn("rotation plan", work)
    }

    fn spawn_rotation(
        &mut self,
        names: Vec<String>,
        resume: Option<i64>,
        encrypt_plaintext: bool,
        ctx: &Ctx,
    ) -> Effect {
        if let Err(refused) = ctx.grants().check(PolicyAction::Rotate) {
            return Effect::error(refused.short());
        }
        let s = ctx.services;
        let Some(store) = s.store.clone() else {
            return Effect::error("not connected: rotation needs the database");
        };
        let (ring, models, log) = (s.ring.clone(), s.models.clone(), s.audit_log.clone());
        let actor = s.access.identity().user.clone();
        let max_rate = s.max_rotation_rate();
        let takeover = ctx.grants().check(PolicyAction::TakeoverJob);
        let limit = max_rate.map_or(String::new(), |r| format!(", limited to {r} rows/s"));
        let task = Task::with_progress("rotation", move |progress| {
            loaders::run_rotation(RotationWork {
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
            })
        });
        Effect::notice(format!("rotation started{limit}; progress below")).then(Effect::Spawn(task))
    }

    /// A plan for the open wizard (dropped if the operator closed it).
    pub(super) fn apply_plan(
        &mut self,
        wizard: Option<&mut WizardState>,
        result: Result<Vec<ModelPlan>, String>,
    ) {
        if let Some(wizard) = wizard
            && matches!(wizard.step, WizardStep::Plan(_))
        {
            wizard.step = WizardStep::Plan(Loadable::from_result(result));
        }
    }

    /// A rotation run of this console ended: the message row says how each of its jobs
    /// ended, by number (`paused job 2 (Customer) at 30/60 rows`), and why any did not run.
    pub(super) fn apply_rotation_finished(
        &mut self,
        jobs: Vec<JobSummary>,
        errors: Vec<String>,
    ) -> Effect {
        for job in &jobs {
            self.requests.retain(|(id, _)| *id != job.job);
        }
        let mut parts: Vec<String> = jobs.iter().map(job_outcome).collect();
        if jobs.is_empty() && errors.is_empty() {
            parts.push("rotation: no job ran".into());
        }
        let failed = jobs.iter().any(|j| j.status == JobStatus::Failed);
        let message = if errors.is_empty() && !failed {
            Effect::notice(parts.join("; "))
        } else {
            parts.extend(errors.iter().map(|e| format!("rotation: {e}")));
            Effect::error(parts.join("; "))
        };
        // Census, health and jobs all change with a rotation.
        message.then(Effect::Refresh(Refresh::All))
    }
}

/// `pausing` or `paused` (or the cancel's words), for messages about a request.
fn request_verb(request: JobRequest, going: bool) -> &'static str {
    match (request, going) {
        (JobRequest::Pause, true) => "pausing",
        (JobRequest::Pause, false) => "paused",
        (JobRequest::Cancel, true) => "cancelling",
        (JobRequest::Cancel, false) => "cancelled",
    }
}

/// How one job of this console's run ended, naming it: `completed job 1 (Customer, 60/60
/// rows)`, `paused job 2 (Ticket) at 10/25 rows`.
pub fn job_outcome(job: &JobSummary) -> String {
    let handled = job.rows_done + job.rows_skipped + job.rows_failed;
    let (id, model, total) = (job.job, &job.model, job.rows_total);
    let failed = if job.rows_failed > 0 {
        format!(", {} failed", job.rows_failed)
    } else {
        String::new()
    };
    match job.status {
        JobStatus::Completed => {
            format!("completed job {id} ({model}, {handled}/{total} rows{failed})")
        }
        JobStatus::Paused => {
            format!("paused job {id} ({model}) at {handled}/{total} rows")
        }
        JobStatus::Cancelled => format!("cancelled job {id} ({model}) at {handled}/{total} rows"),
        JobStatus::Failed => format!("job {id} ({model}) failed at {handled}/{total} rows"),
        other => format!("job {id} ({model}) is {other} at {handled}/{total} rows"),
    }
}
