//! Screen 3, Audit: the chain's state and the most recent entries (who, what, which table,
//! record and fields; never an entry's detail, which may hold values). Part 2 of the console
//! adds filtering and following; this view lists what the audit service returns.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Row, Table, TableState};

use super::Loadable;
use crate::tui::overview_data::{AuditView, ChainStatus};
use crate::tui::theme::Theme;
use crate::tui::widgets::tile;

#[derive(Clone, Debug, Default)]
pub struct AuditState {
    pub view: Loadable<AuditView>,
    /// `ENABLE_AUDIT_LOG`: when false, application writes are not audited (reveals still are).
    pub write_audit_off: bool,
    pub selected: usize,
    /// A poll of the tail is out (ticks do not pile up polls).
    pub polling: bool,
    /// New entries per second between the last two polls.
    pub rate: f64,
    /// The newest id and when it was seen (the rate's base).
    pub last_seen: Option<(i64, std::time::Instant)>,
}

impl AuditState {
    /// The tail follows new entries unless the operator scrolled away from the newest.
    pub fn following(&self) -> bool {
        self.selected == 0
    }

    /// Applies a fresh view: counts what is new since the last one for the rate.
    pub fn apply_view(&mut self, view: Loadable<AuditView>) {
        self.polling = false;
        if let Some(v) = view.ready() {
            let newest = v.recent.first().map_or(0, |e| e.id);
            let now = std::time::Instant::now();
            if let Some((before, at)) = self.last_seen {
                let seconds = now.duration_since(at).as_secs_f64();
                let new = v.recent.iter().filter(|e| e.id > before).count();
                if seconds > 0.0 {
                    self.rate = new as f64 / seconds;
                }
            }
            self.last_seen = Some((newest, now));
        }
        self.view = view;
    }

    pub fn move_by(&mut self, delta: isize) {
        let len = self.view.ready().map(|v| v.recent.len()).unwrap_or(0);
        self.selected = self
            .selected
            .saturating_add_signed(delta)
            .min(len.saturating_sub(1));
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

pub fn draw(frame: &mut Frame, area: Rect, state: &AuditState, theme: &Theme) {
    let tail = if state.following() {
        format!("▶ live · {:.1} entries/s", state.rate)
    } else {
        "⏸ paused while scrolled (g follows again)".to_string()
    };
    let title = if state.write_audit_off {
        format!(
            " Audit log · {tail} · ENABLE_AUDIT_LOG=false: application writes are not audited (reveals are) "
        )
    } else {
        format!(" Audit log · {tail} ")
    };
    let Some((inner, view)) = tile(frame, area, &title, &state.view, "audit log", theme, true)
    else {
        return;
    };
    let [status, list] =
        Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(inner);
    frame.render_widget(chain_line(&view.chain, theme), status);
    let rows = view.recent.iter().map(|e| {
        Row::new(vec![
            format!("#{}", e.id),
            e.at.format("%Y-%m-%d %H:%M:%S").to_string(),
            e.actor.clone(),
            e.action.clone(),
            e.table.clone().unwrap_or_default(),
            e.record_id.clone().unwrap_or_default(),
            e.fields.join(","),
        ])
    });
    let table = Table::new(
        rows,
        [
            Constraint::Length(6),
            Constraint::Length(19),
            Constraint::Length(12),
            Constraint::Length(12),
            Constraint::Length(18),
            Constraint::Length(12),
            Constraint::Fill(1),
        ],
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
    let mut table_state = TableState::default().with_selected(Some(state.selected));
    frame.render_stateful_widget(table, list, &mut table_state);
}
