//! `?` help, generated from the live keymap (so remapped keys show as remapped), with the
//! cell legend and any problem found at start (keymap conflicts, theme files).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};

use super::masked_cell::LEGEND;
use super::{block, centered};
use crate::tui::keymap::Action;
use crate::tui::state::State;

/// The lines of the help popup.
pub fn lines(state: &State) -> Vec<Line<'static>> {
    let theme = &state.theme;
    let mut lines = Vec::new();
    for action in Action::ALL {
        let mut spans = vec![
            Span::styled(format!("{:>14}  ", state.keymap.label(*action)), theme.key),
            Span::raw(action.help()),
        ];
        if state.status.read_only && action.writes() {
            spans.push(Span::styled(
                "  (disabled: read-only session; start with --write)",
                theme.muted,
            ));
        }
        lines.push(Line::from(spans));
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled("Cells", theme.header));
    lines.push(Line::raw(LEGEND));
    lines.push(Line::raw(format!(
        "A revealed cell masks itself again after {} s; every reveal is audited.",
        state.reveal_timeout_seconds
    )));
    lines.push(Line::raw(""));
    lines.push(Line::styled("Palette (:)", theme.header));
    lines.push(Line::raw(
        ":overview :data :audit :keys :health  :model NAME  :theme NAME  :role NAME  :quit",
    ));
    if !state.warnings.is_empty() {
        lines.push(Line::raw(""));
        lines.push(Line::styled("Problems found at start", theme.warn));
        for w in &state.warnings {
            lines.push(Line::styled(format!("! {w}"), theme.warn));
        }
    }
    lines
}

pub fn draw(frame: &mut Frame, area: Rect, state: &State, scroll: u16) {
    let popup = centered(area, 84, area.height.saturating_sub(2));
    frame.render_widget(Clear, popup);
    let keys = state.keymap.label(Action::Back);
    let widget = Paragraph::new(lines(state))
        .block(block(
            format!(" Help ({keys} closes, j/k scroll) "),
            &state.theme,
            true,
        ))
        .wrap(Wrap { trim: false })
        .scroll((scroll, 0));
    frame.render_widget(widget, popup);
}
