//! Everything the console draws, in one place: each screen's state, and the root's own
//! (the screen shown, the size, the status bar, the one popup). Drawing reads a `&State`
//! and nothing else; only the app's event and result handlers change it.

use chrono::{DateTime, Utc};

use crate::tui::context::Ui;
use crate::tui::keymap::Keymap;
use crate::tui::screens::ScreenId;
use crate::tui::screens::audit::AuditState;
use crate::tui::screens::data::{self, DataState};
use crate::tui::screens::health::HealthState;
use crate::tui::screens::keys::{self, KeysState};
use crate::tui::screens::overview::OverviewState;
use crate::tui::theme::Theme;

pub use crate::tui::screens::data::{PromptState, RevealState};
pub use crate::tui::widgets::palette::PaletteState;

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
    /// The last error, until the next message (error or notice), until it expires
    /// ([`ERROR_SECONDS`]) or until cleared by Esc.
    pub last_error: Option<String>,
    /// A short notice (reveal done, theme changed); replaced by the next message, gone after
    /// [`NOTICE_SECONDS`].
    pub message: Option<String>,
    /// When the message shown (error or notice) was set, by the console's clock.
    pub message_at: Option<DateTime<Utc>>,
}

/// Seconds a notice stays on the message row (by the console's clock, read at each tick).
pub const NOTICE_SECONDS: i64 = 5;
/// Seconds an error stays on the message row: longer, it usually asks for something.
pub const ERROR_SECONDS: i64 = 10;
/// Messages `:messages` keeps (the oldest are dropped first).
pub const HISTORY: usize = 200;

/// A message as the history (`:messages`) keeps it.
#[derive(Clone, Debug, PartialEq)]
pub struct LoggedMessage {
    pub at: DateTime<Utc>,
    pub error: bool,
    pub text: String,
}

/// At most one overlay at a time.
#[derive(Debug, Default)]
pub enum Popup {
    #[default]
    None,
    Help(crate::tui::app::help::HelpState),
    Palette(PaletteState),
    Prompt(PromptState),
    Reveal(RevealState),
    /// The rotation wizard (Keys screen).
    Rotate(keys::WizardState),
    /// Key retirement: census, plan or refusal, type-the-id confirmation (Keys screen).
    Retire(keys::RetireState),
    /// The selected record of the data table, one field a line, `field` selected.
    Detail {
        field: usize,
    },
    /// The message history (`:messages`), newest first.
    Messages {
        scroll: u16,
    },
}

impl From<data::Popup> for Popup {
    fn from(popup: data::Popup) -> Popup {
        match popup {
            data::Popup::Prompt(p) => Popup::Prompt(p),
            data::Popup::Reveal(r) => Popup::Reveal(r),
            data::Popup::Detail { field } => Popup::Detail { field },
        }
    }
}

impl From<keys::Popup> for Popup {
    fn from(popup: keys::Popup) -> Popup {
        match popup {
            keys::Popup::Rotate(w) => Popup::Rotate(w),
            keys::Popup::Retire(r) => Popup::Retire(r),
        }
    }
}

impl Popup {
    /// The Data screen's popup when that is what is open, else `None` and `self` back.
    pub fn split_data(self) -> (Option<data::Popup>, Popup) {
        match self {
            Popup::Prompt(p) => (Some(data::Popup::Prompt(p)), Popup::None),
            Popup::Reveal(r) => (Some(data::Popup::Reveal(r)), Popup::None),
            Popup::Detail { field } => (Some(data::Popup::Detail { field }), Popup::None),
            other => (None, other),
        }
    }

    /// The Keys screen's popup when that is what is open, else `None` and `self` back.
    pub fn split_keys(self) -> (Option<keys::Popup>, Popup) {
        match self {
            Popup::Rotate(w) => (Some(keys::Popup::Rotate(w)), Popup::None),
            Popup::Retire(r) => (Some(keys::Popup::Retire(r)), Popup::None),
            other => (None, other),
        }
    }
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
    /// Every message shown this session, oldest first (at most [`HISTORY`]).
    pub history: Vec<LoggedMessage>,
    /// Where `ctrl-s` writes the screen (empty: the working directory).
    pub dump_dir: std::path::PathBuf,
    /// Where `:report` writes the evidence report (empty: the working directory).
    pub report_dir: std::path::PathBuf,
    pub quit: bool,
}

impl State {
    pub fn too_small(&self) -> bool {
        self.size.0 < MIN_WIDTH || self.size.1 < MIN_HEIGHT
    }

    /// Rows of data the table shows at the current size: the screen less the tab bar,
    /// the message row, the hint row, the status bar, the table's borders, header and footer.
    pub fn page_size(&self) -> usize {
        self.ui().page_size()
    }

    /// What the screens' views read besides their own state.
    pub fn ui(&self) -> Ui<'_> {
        Ui {
            theme: &self.theme,
            keymap: &self.keymap,
            grants: &self.grants,
            read_only: self.status.read_only,
            role: &self.status.role,
            reveal_timeout_seconds: self.reveal_timeout_seconds,
            size: self.size,
            now: self.now,
        }
    }

    /// Sets the last error. The message row shows the newest message only: an old error
    /// kept on screen would hide every later notice (QA: a refused `x` hid "health checks
    /// started"), so an error replaces the notice and a notice replaces the error. Every
    /// message is kept in the history `:messages` shows.
    pub fn error(&mut self, message: impl Into<String>) {
        let text = message.into();
        self.log(true, &text);
        self.status.message = None;
        self.status.last_error = Some(text);
        self.status.message_at = Some(self.now);
    }

    /// Sets the notice, replacing any earlier error (see [`State::error`]).
    pub fn notice(&mut self, message: impl Into<String>) {
        let text = message.into();
        self.log(false, &text);
        self.status.last_error = None;
        self.status.message = Some(text);
        self.status.message_at = Some(self.now);
    }

    /// Clears the message row (the history keeps what it showed).
    pub fn clear_message(&mut self) {
        self.status.last_error = None;
        self.status.message = None;
        self.status.message_at = None;
    }

    /// Clears the message row once its message is older than its time on screen
    /// ([`NOTICE_SECONDS`], [`ERROR_SECONDS`]); the console calls it at every tick.
    pub fn expire_message(&mut self) {
        let Some(at) = self.status.message_at else {
            return;
        };
        let seconds = if self.status.last_error.is_some() {
            ERROR_SECONDS
        } else {
            NOTICE_SECONDS
        };
        if self.now - at >= chrono::Duration::seconds(seconds) {
            self.clear_message();
        }
    }

    fn log(&mut self, error: bool, text: &str) {
        if self.history.len() >= HISTORY {
            self.history.remove(0);
        }
        self.history.push(LoggedMessage {
            at: self.now,
            error,
            text: text.to_string(),
        });
    }
}
