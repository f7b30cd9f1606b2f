//! Everything the console draws, in one place. Drawing reads a `&State` and nothing else;
//! only the app's event and result handlers change it.

use chrono::{DateTime, Utc};
use ratatui_textarea::TextArea;

use super::keymap::Keymap;
use super::screens::ScreenId;
use super::screens::audit::AuditState;
use super::screens::data::{DataState, MatchKind};
use super::screens::health::HealthState;
use super::screens::keys::KeysState;
use super::screens::overview::OverviewState;
use super::tasks::CellRef;
use super::theme::Theme;

/// Smallest terminal the console draws in; below it, a message says so.
pub const MIN_WIDTH: u16 = 60;
pub const MIN_HEIGHT: u16 = 15;

/// Where the database connection stands.
#[derive(Clone, Debug, PartialEq)]
pub enum Connection {
    Connecting,
    Connected,
    Failed(String),
}

/// The status bar's facts.
#[derive(Clone, Debug)]
pub struct Status {
    pub database: String,
    pub environment: String,
    pub role: String,
    pub user: String,
    pub read_only: bool,
    pub connection: Connection,
    /// The last error, until the next message (error or notice) or until cleared by Esc.
    pub last_error: Option<String>,
    /// A short notice (reveal done, theme changed); replaced by the next message.
    pub message: Option<String>,
}

/// The `:` command palette.
#[derive(Debug)]
pub struct PaletteState {
    pub input: TextArea<'static>,
    /// Completions for what is typed, best first.
    pub completions: Vec<String>,
    pub selected: usize,
}

/// The one-line input of a search (`s`) or filter (`/`).
#[derive(Debug)]
pub struct PromptState {
    pub kind: MatchKind,
    pub input: TextArea<'static>,
    /// Fields this prompt accepts (`field=value`; the value alone when there is one field).
    pub fields: Vec<String>,
    pub error: Option<String>,
}

/// The reveal dialog: which cell, and the reason the policy asks for.
#[derive(Debug)]
pub struct RevealState {
    pub cell: CellRef,
    pub reason: TextArea<'static>,
    pub error: Option<String>,
    /// True while the audited reveal runs.
    pub busy: bool,
}

/// At most one overlay at a time.
#[derive(Debug, Default)]
pub enum Popup {
    #[default]
    None,
    Help {
        scroll: u16,
    },
    Palette(PaletteState),
    Prompt(PromptState),
    Reveal(RevealState),
    /// The rotation wizard (Keys screen).
    Rotate(super::screens::rotation_wizard::WizardState),
    /// Key retirement: census, plan or refusal, type-the-id confirmation (Keys screen).
    Retire(super::screens::retire::RetireState),
    /// The selected record of the data table, one field a line.
    Detail {
        scroll: u16,
    },
}

/// The root state.
#[derive(Debug)]
pub struct State {
    pub screen: ScreenId,
    /// Terminal size (columns, rows).
    pub size: (u16, u16),
    pub now: DateTime<Utc>,
    pub theme: Theme,
    pub keymap: Keymap,
    pub status: Status,
    pub popup: Popup,
    pub overview: OverviewState,
    pub data: DataState,
    pub audit: AuditState,
    pub keys: KeysState,
    pub health: HealthState,
    /// Problems found at start (keymap, themes), listed in help.
    pub warnings: Vec<String>,
    /// Reveal timeout of the policy, for hints.
    pub reveal_timeout_seconds: u64,
    /// The actions the acting role is granted (what `disabled` shows and refuses).
    pub grants: crate::access::Grants,
    pub quit: bool,
}

impl State {
    pub fn too_small(&self) -> bool {
        self.size.0 < MIN_WIDTH || self.size.1 < MIN_HEIGHT
    }

    /// Rows of data the table shows at the current size: the screen less the tab bar,
    /// the message line, the status bar, the table's borders, header and footer.
    pub fn page_size(&self) -> usize {
        self.size.1.saturating_sub(7).max(1) as usize
    }

    /// Sets the last error. The message line shows the newest message only: an old error
    /// kept on screen would hide every later notice (QA: a refused `x` hid "health checks
    /// started"), so an error replaces the notice and a notice replaces the error.
    pub fn error(&mut self, message: impl Into<String>) {
        self.status.message = None;
        self.status.last_error = Some(message.into());
    }

    /// Sets the notice, replacing any earlier error (see [`State::error`]).
    pub fn notice(&mut self, message: impl Into<String>) {
        self.status.last_error = None;
        self.status.message = Some(message.into());
    }
}
