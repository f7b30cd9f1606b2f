//! Screen 3, Audit: a live tail of the log (who, what, which table, record and fields),
//! narrowed by a filter pushed down to SQL (`/`), the chain's badge with an on-demand
//! verify (`V`) that jumps to the first broken link, and a detail pane (enter) with its
//! audited reveal. The list never shows an entry's detail, which may hold values.
//!
//! - this file: the state and its messages; `feed.rs`: what is listed, and the loaders;
//! - `actions.rs`: keys, the filter input, verify, the tick; `detail.rs`: the detail pane;
//! - `update.rs`: applying messages; `view.rs`, `detail_view.rs`: drawing.

mod actions;
mod detail;
pub mod detail_view;
pub mod feed;
mod update;
pub mod view;

use std::time::Instant;

use chrono::{DateTime, Utc};
use ratatui_textarea::TextArea;

use crate::access::EntryView;
use crate::audit::{AuditFilter, VerifyReport};
use crate::tui::context::Loadable;

pub use feed::{AuditLine, AuditView, ChainStatus, RECENT_ENTRIES, SPARK_MINUTES, SignedStatus};
pub use view::{chain_line, hints};

/// What this screen asks the root to do (it has no popup of its own: its input is drawn
/// over the screen and takes the keys while open).
pub type Effect = crate::tui::context::Effect<Msg, std::convert::Infallible>;

/// Inner width from which the detail pane sits beside the list instead of over it.
pub const SPLIT_WIDTH: u16 = 120;

/// A filter in force: as typed (shown in the title) and as parsed.
#[derive(Clone, Debug, PartialEq)]
pub struct ActiveFilter {
    pub text: String,
    pub filter: AuditFilter,
}

/// The detail pane of one entry.
#[derive(Clone, Debug)]
pub struct DetailPane {
    pub id: i64,
    /// As shown now: masked, or revealed until `revealed_until`.
    pub view: Loadable<EntryView>,
    /// The masked view, shown again when a reveal times out.
    pub masked: Option<EntryView>,
    pub revealed_until: Option<DateTime<Utc>>,
}

/// What the one-line input of this screen is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputKind {
    Filter,
    /// The reason of a reveal of the detail pane's values.
    Reason,
}

#[derive(Clone, Debug)]
pub struct AuditInput {
    pub kind: InputKind,
    pub text: TextArea<'static>,
    pub error: Option<String>,
    /// The audited reveal is running.
    pub busy: bool,
    /// Opened holding the current filter: the first character typed replaces it.
    pub prefilled: bool,
}

/// Answers of this screen's background work.
#[derive(Debug)]
pub enum Msg {
    /// The Overview's feed: recent entries, the rate and the chain's state at load.
    Feed(Result<AuditView, String>),
    /// A page of entries; `focus` selects that entry (the jump to a broken link).
    List {
        generation: u64,
        focus: Option<i64>,
        result: Result<Vec<AuditLine>, String>,
    },
    Detail {
        id: i64,
        revealed: bool,
        /// Boxed: an entry view is much larger than the other answers.
        result: Result<Box<EntryView>, String>,
    },
    Verified(Result<VerifyReport, String>),
    /// A checkpoint was written: its id and size.
    Checkpointed(Result<(i64, u64), String>),
    /// The check after a feed: a checkpoint written because one was due, or none.
    CheckpointDue(Result<Option<(i64, u64)>, String>),
}

#[derive(Clone, Debug, Default)]
pub struct AuditState {
    /// The Overview's feed (unfiltered, with the chain's state at load).
    pub view: Loadable<AuditView>,
    /// What this screen lists: the tail, filtered when a filter is set.
    pub list: Loadable<Vec<AuditLine>>,
    /// `ENABLE_AUDIT_LOG`: when false, application writes are not audited (reveals still are).
    pub write_audit_off: bool,
    pub selected: usize,
    /// A poll of the tail is out (ticks do not pile up polls).
    pub polling: bool,
    /// New entries per second between the last two polls.
    pub rate: f64,
    /// The newest id and when it was seen (the rate's base).
    pub last_seen: Option<(i64, Instant)>,
    pub filter: Option<ActiveFilter>,
    /// A page loaded around this entry (verify's jump) rather than the newest: no tail.
    pub anchor: Option<i64>,
    /// Drops list answers of a filter the operator has since changed.
    pub generation: u64,
    pub detail: Option<DetailPane>,
    pub input: Option<AuditInput>,
    pub verifying: bool,
    /// The chain's state from the last verify of this screen (newer than `view.chain`).
    pub chain: Option<ChainStatus>,
    pub verified_at: Option<DateTime<Utc>>,
    /// Why a reveal cannot be offered (no MASTER_ENCRYPTION_KEY: it could not be audited).
    pub reveal_blocked: Option<String>,
    pub read_only: bool,
}

impl AuditState {
    /// The tail follows new entries unless the operator scrolled away from the newest or
    /// is looking at the page around a broken link.
    pub fn following(&self) -> bool {
        self.selected == 0 && self.anchor.is_none()
    }

    /// Applies the Overview's feed; the unfiltered tail shows the same entries.
    pub fn apply_view(&mut self, view: Loadable<AuditView>) {
        if self.filter.is_none() && self.anchor.is_none() {
            let list = match &view {
                Loadable::Ready(v) => Loadable::Ready(v.recent.clone()),
                Loadable::Loading => Loadable::Loading,
                Loadable::Failed(e) => Loadable::Failed(e.clone()),
                Loadable::Unavailable(e) => Loadable::Unavailable(e.clone()),
            };
            self.apply_list(list);
        }
        self.view = view;
    }

    /// Applies a fresh page: counts what is new since the last one for the rate.
    pub fn apply_list(&mut self, list: Loadable<Vec<AuditLine>>) {
        self.polling = false;
        if let Some(entries) = list.ready() {
            let newest = entries.first().map_or(0, |e| e.id);
            let now = Instant::now();
            if let Some((before, at)) = self.last_seen {
                let seconds = now.duration_since(at).as_secs_f64();
                let new = entries.iter().filter(|e| e.id > before).count();
                if seconds > 0.0 {
                    self.rate = new as f64 / seconds;
                }
            }
            self.last_seen = Some((newest, now));
            self.selected = self.selected.min(entries.len().saturating_sub(1));
        }
        self.list = list;
    }

    pub fn move_by(&mut self, delta: isize) {
        let len = self.list.ready().map_or(0, Vec::len);
        self.selected = self
            .selected
            .saturating_add_signed(delta)
            .min(len.saturating_sub(1));
    }

    pub fn selected_line(&self) -> Option<&AuditLine> {
        self.list.ready().and_then(|l| l.get(self.selected))
    }

    /// The signed checkpoints' state found at the last load of the feed.
    pub fn signed_status(&self) -> Option<&SignedStatus> {
        self.view.ready().map(|v| &v.signed)
    }

    /// The log is known broken (the chain or the signed checkpoints): the status bar turns
    /// red on every screen.
    pub fn known_broken(&self) -> bool {
        matches!(self.chain_status(), Some(ChainStatus::Broken { .. }))
            || matches!(self.signed_status(), Some(SignedStatus::Failed(r)) if !r.starts_with("unverified"))
    }

    /// The chain's state: this screen's last verify, else the state found at load.
    pub fn chain_status(&self) -> Option<&ChainStatus> {
        self.chain
            .as_ref()
            .or_else(|| self.view.ready().map(|v| &v.chain))
    }
}

impl AuditState {
    /// The state at start: nothing loaded; what the configuration says about reveals.
    pub fn new(write_audit_off: bool, reveal_blocked: Option<String>, read_only: bool) -> Self {
        AuditState {
            write_audit_off,
            reveal_blocked,
            read_only,
            ..Default::default()
        }
    }
}
