//! `:messages` (or its key): every message of the session, newest first, with the time it
//! was shown (the console's clock) and `✗` for an error. The message row shows a message for
//! a few seconds only; this is where an operator reads one that went by.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};

use crate::tui::app::state::State;
use crate::tui::keymap::Action;
use crate::tui::widgets::{block, centered};

/// The history's lines, newest first.
pub fn lines(state: &State) -> Vec<Line<'static>> {
    if state.history.is_empty() {
        return vec![Line::styled("no messages yet", state.theme.muted)];
    }
    state
        .history
        .iter()
        .rev()
        .map(|m| {
            let (glyph, style) = if m.error {
                ("✗ ", state.theme.error)
            } else {
                ("  ", state.theme.base)
            };
            Line::from(vec![
                Span::styled(format!("{} ", m.at.format("%H:%M:%S")), state.theme.muted),
                Span::styled(glyph, style),
                Span::styled(m.text.clone(), style),
            ])
        })
        .collect()
}

fn popup_area(area: Rect) -> Rect {
    centered(area, 100, area.height.saturating_sub(2))
}

/// How far the list may scroll: until its last line is at the bottom.
pub fn max_scroll(state: &State) -> u16 {
    let (w, h) = state.size;
    let popup = popup_area(Rect::new(0, 0, w, h.saturating_sub(4)));
    let rows = crate::tui::widgets::rendered_rows(&lines(state), popup.width.saturating_sub(2));
    rows.saturating_sub(popup.height.saturating_sub(2) as usize)
        .min(u16::MAX as usize) as u16
}

pub fn draw(frame: &mut Frame, area: Rect, state: &State, scroll: u16) {
    let popup = popup_area(area);
    frame.render_widget(Clear, popup);
    let k = |action| state.keymap.short_label(action);
    let title = format!(
        " Messages, newest first ({} closes, {}/{} scroll) ",
        k(Action::Back),
        k(Action::Down),
        k(Action::Up)
    );
    let widget = Paragraph::new(lines(state))
        .block(block(title, &state.theme, true))
        .wrap(Wrap { trim: false })
        .scroll((scroll.min(max_scroll(state)), 0));
    frame.render_widget(widget, popup);
}
