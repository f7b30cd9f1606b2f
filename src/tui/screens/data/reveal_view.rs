//! Drawing of the reveal dialog: which cell, the reason (a textarea, required when the
//! role says so), and the reminder that the reveal is audited and times out.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Clear, Paragraph, Wrap};

use super::popups::RevealState;
use crate::tui::theme::Theme;
use crate::tui::widgets::{block, centered};

pub fn draw(
    frame: &mut Frame,
    area: Rect,
    dialog: &RevealState,
    theme: &Theme,
    timeout_seconds: u64,
) {
    let popup = centered(area, 72, 11);
    frame.render_widget(Clear, popup);
    let outer = block(" Reveal (audited) ", theme, true);
    let inner = outer.inner(popup);
    frame.render_widget(outer, popup);
    let [what, reason, foot] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Fill(1),
        Constraint::Length(2),
    ])
    .areas(inner);
    let id = match dialog.cell.id.to_json() {
        serde_json::Value::String(s) => s,
        other => other.to_string(),
    };
    let text = format!(
        "{}.{} of record {id}. Type the reason for the audit log; it masks again after {timeout_seconds} s.",
        dialog.cell.model, dialog.cell.column
    );
    frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }), what);
    frame.render_widget(&dialog.reason, reason);
    let line = match (&dialog.error, dialog.busy) {
        (Some(e), _) => Line::styled(format!("✗ {e}"), theme.error),
        (None, true) => Line::styled("writing the audit entry…", theme.muted),
        (None, false) => Line::styled("enter reveals · esc cancels", theme.muted),
    };
    frame.render_widget(Paragraph::new(line).wrap(Wrap { trim: true }), foot);
}
