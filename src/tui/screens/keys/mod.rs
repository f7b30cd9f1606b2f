//! Screen 4, Keys & Rotation: the key ring by fingerprint (never a key), the primary key's
//! age, the next rotation each classification asks for, and rotation jobs with gauges.
//! Key facts come from the loaded ring (no I/O); jobs arrive from a background task.
//! j/k move in the focused list (the jobs, or the key ring, where `X` retires a key);
//! h/l move the focus between them. `R` opens the rotation wizard, `X` the retirement
//! dialog; `p` and `x` pause, resume or cancel the selected job; `c` (`:census`) shows
//! which key encrypts what in place of the jobs.
//!
//! - this file: the state and its messages; `jobs.rs`: the jobs and their live counters;
//! - `actions.rs`: keys and applying messages; `rotation.rs`: the wizard and the jobs'
//!   controls; `retire.rs`: the retirement dialog; `loaders.rs`: the background work;
//! - `view.rs`, `jobs_view.rs`, `census_view.rs`, `rotation_view.rs`, `retire_view.rs`:
//!   drawing.

mod actions;
pub mod census_view;
pub mod jobs;
pub mod jobs_view;
pub mod loaders;
pub mod retire;
pub mod retire_view;
pub mod rotation;
pub mod rotation_view;
pub mod view;

use chrono::NaiveDate;

use crate::config::{Classification, ModelSet};
use crate::crypto::KeyInfo;
use crate::rotation::{JobRequest, JobSummary, KeyListing, ModelPlan, RotationEvent};
use crate::store::KeyStatus;
use crate::tui::context::Loadable;

pub use jobs::{JobView, LiveJob};
pub use retire::{RetireState, RetireStep, RetireUpdate, RetireUse};
pub use rotation::{WizardState, WizardStep};
pub use view::draw_jobs;

/// What this screen asks the root to do.
pub type Effect = crate::tui::context::Effect<Msg, Popup>;

/// This screen's popups.
#[derive(Debug)]
pub enum Popup {
    /// The rotation wizard.
    Rotate(WizardState),
    /// Key retirement: census, plan or refusal, type-the-id confirmation.
    Retire(RetireState),
}

/// Answers of this screen's background work.
#[derive(Debug)]
pub enum Msg {
    /// The jobs table (every process's jobs), newest first.
    Jobs(Result<Vec<JobView>, String>),
    /// The key registry (`timber_keys`) joined with the configured keys.
    Registry(Result<Vec<KeyListing>, String>),
    /// The plan of the rotation wizard's scope (reads only).
    Plan(Result<Vec<ModelPlan>, String>),
    /// Progress of a rotation this console runs (many per job).
    Rotation(RotationEvent),
    /// A rotation run of this console ended: how each job it ran ended (completed, paused,
    /// cancelled), and one line per model or job that did not run.
    RotationFinished {
        jobs: Vec<JobSummary>,
        errors: Vec<String>,
    },
    /// The answer to a pause or cancel asked of job `id` through the jobs table: `Ok(true)`
    /// when the request was recorded (the job's worker honours it after its batch),
    /// `Ok(false)` when the job was no longer running.
    JobRequested {
        id: i64,
        request: JobRequest,
        result: Result<bool, String>,
    },
    /// The answer to `:rate N` on job `id`: its table and the rate it had before, or why
    /// it was refused.
    RateSet {
        id: i64,
        rate: Option<u64>,
        result: Result<(String, Option<u64>), String>,
    },
    /// The answer to `:lag S` on job `id`: its table and the limit it had before, or why it
    /// was refused.
    LagSet {
        id: i64,
        lag: Option<f64>,
        result: Result<(String, Option<f64>), String>,
    },
    /// The key-retirement dialog's census progress, plan and result.
    Retire(RetireUpdate),
}

/// A job action that asks first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PendingJobAction {
    /// `x`: cancelling cannot be undone (the job's remaining rows stay as they are).
    Cancel(i64),
    /// `p` on an interrupted job: this console takes over another worker's job.
    Takeover(i64),
}

impl PendingJobAction {
    /// The question, for the jobs' title and the message row.
    pub fn question(self, open: &str, back: &str) -> String {
        match self {
            PendingJobAction::Cancel(id) => {
                format!("cancel job {id}? it cannot be undone: {open} confirms, {back} keeps it")
            }
            PendingJobAction::Takeover(id) => format!(
                "take over job {id} from its gone worker? {open} confirms, {back} leaves it"
            ),
        }
    }
}

/// One key of the ring, as shown.
#[derive(Clone, Debug, PartialEq)]
pub struct KeyRow {
    pub id: String,
    pub fingerprint: String,
    pub role: String,
    pub source: String,
    /// Days since `KEY_ROTATION_DATE`, for the primary key only.
    pub age_days: Option<i64>,
    /// `active`, `decrypt_only`, `retired`, `destroyed` once the registry (`timber_keys`)
    /// has been read; `None` while it loads.
    pub status: Option<KeyStatus>,
}

/// When a classification's keys are next due for rotation.
#[derive(Clone, Debug, PartialEq)]
pub struct ScheduleRow {
    pub classification: &'static str,
    pub every_days: i64,
    pub models: Vec<String>,
    pub due: Option<NaiveDate>,
    pub overdue: bool,
}

#[derive(Clone, Debug, Default)]
pub struct KeysState {
    pub keys: Vec<KeyRow>,
    pub rotation_date: Option<NaiveDate>,
    pub schedule: Vec<ScheduleRow>,
    pub jobs: Loadable<Vec<JobView>>,
    /// Jobs this console runs, newest first, from the rotation service's events.
    pub live: Vec<LiveJob>,
    /// The selected row of the jobs list (pause, resume, cancel act on it).
    pub job_cursor: usize,
    /// The selected key of the ring (retire acts on it).
    pub key_cursor: usize,
    /// True when j/k move in the key ring rather than the jobs.
    pub ring_focus: bool,
    /// A poll of the jobs table is out (ticks do not pile up polls).
    pub polling_jobs: bool,
    /// The lower pane shows the census (`c`, `:census`) instead of the jobs.
    pub show_census: bool,
    /// A cancel (irreversible) or a takeover of another worker's job waiting for `enter`;
    /// any other key drops it.
    pub pending: Option<PendingJobAction>,
    /// Pauses and cancels asked of jobs other processes run, until the jobs table shows
    /// what became of them (then the message row says so, naming the job).
    pub requests: Vec<(i64, JobRequest)>,
}

impl KeysState {
    /// Builds the key facts from the ring's entries, the models and `KEY_ROTATION_DATE`.
    pub fn new(
        entries: &[KeyInfo],
        models: &ModelSet,
        rotation_date: Option<NaiveDate>,
        today: NaiveDate,
    ) -> KeysState {
        let keys = entries
            .iter()
            .map(|k| KeyRow {
                id: k.id.to_string(),
                fingerprint: k.fingerprint.to_string(),
                role: k.role.as_str().to_string(),
                source: k.source.clone(),
                age_days: (k.id == crate::crypto::KeyId::Primary)
                    .then(|| rotation_date.map(|d| (today - d).num_days()))
                    .flatten(),
                status: None,
            })
            .collect();
        let classes = [
            Classification::Critical,
            Classification::Sensitive,
            Classification::Standard,
        ];
        let schedule = classes
            .into_iter()
            .filter_map(|class| {
                let models: Vec<String> = models
                    .models
                    .iter()
                    .filter(|m| m.classification == Some(class))
                    .map(|m| m.name.clone())
                    .collect();
                if models.is_empty() {
                    return None;
                }
                let due = rotation_date.map(|d| d + chrono::Duration::days(class.rotation_days()));
                Some(ScheduleRow {
                    classification: class.as_str(),
                    every_days: class.rotation_days(),
                    models,
                    due,
                    overdue: due.is_some_and(|d| d < today),
                })
            })
            .collect();
        KeysState {
            keys,
            rotation_date,
            schedule,
            jobs: Loadable::Loading,
            live: Vec::new(),
            job_cursor: 0,
            key_cursor: 0,
            ring_focus: false,
            polling_jobs: false,
            show_census: false,
            pending: None,
            requests: Vec::new(),
        }
    }

    pub fn ring_focused(&self) -> bool {
        self.ring_focus
    }

    pub fn focus_ring(&mut self) {
        self.ring_focus = true;
    }

    /// h/l: the focus moves between the key ring and the jobs.
    pub fn toggle_focus(&mut self) {
        self.ring_focus = !self.ring_focus;
    }

    pub fn selected_key(&self) -> Option<&KeyRow> {
        self.keys.get(self.key_cursor)
    }

    /// j/k in the focused list.
    pub fn move_cursor(&mut self, delta: isize) {
        if self.ring_focus {
            self.key_cursor = self
                .key_cursor
                .saturating_add_signed(delta)
                .min(self.keys.len().saturating_sub(1));
        } else {
            self.move_job(delta);
        }
    }

    /// Adds the registry's status to each configured key, and lists registered keys that
    /// are no longer configured (a retired key, say).
    pub fn apply_registry(&mut self, listing: Vec<KeyListing>) {
        for entry in listing {
            match self
                .keys
                .iter_mut()
                .find(|k| k.fingerprint == entry.fingerprint)
            {
                Some(row) => row.status = Some(entry.status),
                None => self.keys.push(KeyRow {
                    id: entry.id,
                    fingerprint: entry.fingerprint,
                    role: entry.role,
                    source: entry.source,
                    age_days: None,
                    status: Some(entry.status),
                }),
            }
        }
    }
}
