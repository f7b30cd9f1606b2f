//! Screen 3, Audit: a live tail of the log (who, what, which table, record and fields),
//! narrowed by a filter pushed down to SQL (`/`), the chain's badge with an on-demand
//! verify (`V`) that jumps to the first broken link, and a detail pane (enter) drawn by
//! [`super::audit_detail`]. The list never shows an entry's detail, which may hold values.

use std::time::Instant;

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Row, Table, TableState, Wrap};
use ratatui_textarea::TextArea;

use super::Loadable;
use crate::access::EntryView;
use crate::audit::{AuditFilter, VerifyReport};
use crate::tui::overview_data::{AuditLine, AuditView, ChainStatus};
use crate::tui::state::State;
use crate::tui::theme::Theme;
use crate::tui::widgets::{fit, tile};

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
}

/// Background answers for this screen (wrapped in `TaskResult::AuditScreen`).
#[derive(Debug)]
pub enum AuditResult {
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

    /// The chain's state: this screen's last verify, else the state found at load.
    pub fn chain_status(&self) -> Option<&ChainStatus> {
        self.chain
            .as_ref()
            .or_else(|| self.view.ready().map(|v| &v.chain))
    }
}

/// One line saying whether the chain is intact.
pub fn chain_line<'a>(chain: &ChainStatus, theme: &Theme) -> Line<'a> {
    match chain {
        ChainStatus::Intact { entries } => {
            Line::styled(format!("✓ chain intact, {entries} entries"), theme.ok)
        }
        ChainStatus::Broken {
            first_broken,
            reason,
        } => {
            let at = first_broken
                .map(|id| format!(" at #{id}"))
                .unwrap_or_default();
            Line::styled(format!("✗ chain broken{at}: {reason}"), theme.fail)
        }
        ChainStatus::Unchecked(why) => {
            Line::styled(format!("? chain not verified: {why}"), theme.warn)
        }
    }
}

/// The badge line: verifying, or the chain's state and when this screen verified it.
fn badge<'a>(state: &State) -> Line<'a> {
    let (audit, theme) = (&state.audit, &state.theme);
    let verify_key = state.keymap.label(crate::tui::keymap::Action::Verify);
    if audit.verifying {
        return Line::styled("⟳ verifying the chain…", theme.accent);
    }
    let Some(chain) = audit.chain_status() else {
        return Line::styled("… chain state loading", theme.muted);
    };
    let mut line = chain_line(chain, theme);
    if let Some(at) = audit.verified_at {
        line.push_span(Span::styled(
            format!(" (verified {})", at.format("%H:%M:%S")),
            theme.muted,
        ));
    }
    line.push_span(Span::styled(
        format!("  · {verify_key} verify"),
        theme.muted,
    ));
    line
}

pub fn draw(frame: &mut Frame, area: Rect, state: &State) {
    let audit = &state.audit;
    let tail = if audit.anchor.is_some() {
        "⏸ around a broken link (g follows the newest)".to_string()
    } else if audit.following() {
        format!("▶ live · {:.1} entries/s", audit.rate)
    } else {
        "⏸ paused while scrolled (g follows again)".to_string()
    };
    let mut title = " Audit log".to_string();
    if let Some(filter) = &audit.filter {
        title.push_str(&format!(" · filter: {}", filter.text));
    }
    title.push_str(&format!(" · {tail} "));
    if audit.write_audit_off {
        title.push_str(
            "· ENABLE_AUDIT_LOG=false: application writes are not audited (reveals are) ",
        );
    }
    let Some((inner, entries)) = tile(
        frame,
        area,
        &title,
        &audit.list,
        "audit log",
        &state.theme,
        true,
    ) else {
        super::audit_detail::draw_input(frame, area, state);
        return;
    };
    // A broken chain's reason is long: it gets two lines rather than being cut.
    let badge = badge(state);
    let lines = if badge.width() > inner.width as usize {
        2
    } else {
        1
    };
    let [status, body] =
        Layout::vertical([Constraint::Length(lines), Constraint::Fill(1)]).areas(inner);
    frame.render_widget(Paragraph::new(badge).wrap(Wrap { trim: true }), status);
    match &audit.detail {
        Some(pane) if inner.width >= SPLIT_WIDTH => {
            let [list, detail] =
                Layout::horizontal([Constraint::Percentage(52), Constraint::Fill(1)])
                    .spacing(1)
                    .areas(body);
            draw_list(frame, list, entries, audit.selected, &state.theme);
            super::audit_detail::draw(frame, detail, pane, state);
        }
        Some(pane) => super::audit_detail::draw(frame, body, pane, state),
        None => draw_list(frame, body, entries, audit.selected, &state.theme),
    }
    super::audit_detail::draw_input(frame, area, state);
}

fn draw_list(frame: &mut Frame, area: Rect, entries: &[AuditLine], selected: usize, theme: &Theme) {
    // Narrow (80 columns, or beside the detail pane): the year and shorter columns go, so
    // the time stays whole.
    let compact = area.width < 110;
    let time_format = if compact {
        "%m-%d %H:%M:%S"
    } else {
        "%Y-%m-%d %H:%M:%S"
    };
    // The action names what happened, so it gets the width it needs (`rotation.started`
    // was cut to `rotation.st`) before the free-text columns (actor, table, record), which
    // give up room, and show `…` where they are cut; the fields take what is left.
    let action_width = entries
        .iter()
        .map(|e| fit::width(&e.action))
        .max()
        .unwrap_or(0)
        .max(6);
    let (time_width, wanted) = if compact {
        (14, [10, 12, 7])
    } else {
        (19, [12, 18, 12])
    };
    let natural = [
        entries
            .iter()
            .map(|e| fit::width(&e.actor))
            .max()
            .unwrap_or(0)
            .clamp(5, wanted[0]),
        entries
            .iter()
            .map(|e| e.table.as_deref().map_or(0, fit::width))
            .max()
            .unwrap_or(0)
            .clamp(5, wanted[1]),
        wanted[2],
    ];
    // Borders are outside `area`; the ▶ mark takes 2, the gaps 6, the fields at least 6.
    let free = (area.width as usize).saturating_sub(2 + 6 + 6 + 6 + time_width + action_width);
    let [actor_w, table_w, record_w]: [usize; 3] = fit::column_widths(&natural, &[5, 5, 6], free)
        .try_into()
        .unwrap_or(natural);
    let rows = entries.iter().map(|e| {
        Row::new(vec![
            format!("#{}", e.id),
            e.at.format(time_format).to_string(),
            fit::cut_end(&e.actor, actor_w),
            e.action.clone(),
            fit::cut_end(e.table.as_deref().unwrap_or_default(), table_w),
            fit::cut_end(e.record_id.as_deref().unwrap_or_default(), record_w),
            e.fields.join(","),
        ])
    });
    let table = Table::new(
        rows,
        [6, time_width, actor_w, action_width, table_w, record_w]
            .map(|w| Constraint::Length(w as u16))
            .into_iter()
            .chain([Constraint::Fill(1)]),
    )
    .header(
        Row::new([
            "id",
            "time (UTC)",
            "actor",
            "action",
            "table",
            "record",
            "fields",
        ])
        .style(theme.header),
    )
    .row_highlight_style(theme.selection)
    .highlight_symbol("▶ ");
    let mut table_state = TableState::default().with_selected(Some(selected));
    frame.render_stateful_widget(table, area, &mut table_state);
    if entries.is_empty() && area.height > 1 {
        let below_header = Rect {
            y: area.y + 1,
            height: 1,
            ..area
        };
        frame.render_widget(Line::styled("no entries", theme.muted), below_header);
    }
}

/// Key hints for the message line, from the live keymap.
pub fn hints(state: &State) -> Vec<String> {
    use crate::tui::keymap::Action;
    let k = |action| state.keymap.label(action);
    let mut parts = vec![
        format!("{} filter", k(Action::Filter)),
        format!("{} detail", k(Action::Open)),
        format!("{} verify", k(Action::Verify)),
    ];
    if state.audit.detail.is_some() {
        parts.extend(crate::tui::widgets::status_bar::reveal_hint(state));
    }
    if state.audit.filter.is_some() || state.audit.detail.is_some() {
        parts.push(format!("{} back", k(Action::Back)));
    }
    parts
}
