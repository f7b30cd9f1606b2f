//! `?` help, generated from the live keymap (so remapped keys show as remapped), with the
//! cell legend and any problem found at start (keymap conflicts, theme files).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};

use crate::tui::app::state::State;
use crate::tui::context::Disabled;
use crate::tui::keymap::Action;
use crate::tui::widgets::masked_cell::LEGEND;
use crate::tui::widgets::{block, centered};

/// The lines of the help popup.
pub fn lines(state: &State) -> Vec<Line<'static>> {
    let theme = &state.theme;
    let mut lines = Vec::new();
    for action in Action::ALL {
        // `✗` marks an action the role is not granted, in the gap after the key so no line
        // grows (and wraps) for it; the reason follows the list once.
        let not_granted = matches!(state.ui().disabled(*action), Some(Disabled::NotGranted(_)));
        let mut spans = vec![
            Span::styled(format!("{:>14}", state.keymap.label(*action)), theme.key),
            Span::styled(if not_granted { " ✗ " } else { "  " }, theme.muted),
            Span::raw(action.help()),
        ];
        match state.ui().disabled(*action) {
            Some(Disabled::ReadOnly) => spans.push(Span::styled(
                "  (disabled: read-only session; start with --write)",
                theme.muted,
            )),
            Some(Disabled::NotGranted(_)) | None => {}
        }
        lines.push(Line::from(spans));
    }
    // One line (the help must fit where it did): the missing grants are in `?`-less places
    // too (titles, the refusal when pressed).
    if Action::ALL
        .iter()
        .any(|a| matches!(state.ui().disabled(*a), Some(Disabled::NotGranted(_))))
    {
        lines.push(Line::styled(
            format!(
                "✗ not granted to role {} by the policy's actions",
                state.grants.role()
            ),
            theme.muted,
        ));
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
    lines.push(Line::raw(crate::tui::app::commands::summary()));
    if !state.warnings.is_empty() {
        lines.push(Line::raw(""));
        lines.push(Line::styled("Problems found at start", theme.warn));
        for w in &state.warnings {
            lines.push(Line::styled(format!("! {w}"), theme.warn));
        }
    }
    lines
}

/// The popup's place in `area` (the screen between the tab bar and the message line).
fn popup_area(area: Rect) -> Rect {
    centered(area, 84, area.height.saturating_sub(2))
}

/// How far `j` may scroll: until the last line is at the bottom (unbounded, `j` scrolled the
/// help away into a blank box and `k` had to climb back as many times). Rows are counted by
/// a greedy word wrap like the paragraph's, plus one row of slack.
pub fn max_scroll(state: &State) -> u16 {
    let (w, h) = state.size;
    let popup = popup_area(Rect::new(0, 0, w, h.saturating_sub(4)));
    let (width, height) = (
        popup.width.saturating_sub(2).max(1) as usize,
        popup.height.saturating_sub(2) as usize,
    );
    let rows: usize = lines(state)
        .iter()
        .map(|line| {
            let text: String = line.spans.iter().map(|s| s.content.as_ref()).collect();
            crate::tui::widgets::wrapped_rows(&text, width)
        })
        .sum();
    (rows + 1).saturating_sub(height).min(u16::MAX as usize) as u16
}

pub fn draw(frame: &mut Frame, area: Rect, state: &State, scroll: u16) {
    let popup = popup_area(area);
    let scroll = scroll.min(max_scroll(state));
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
