//! Drawing of the one-line prompt for search (`s`, blind index) and filter (`/`, as you
//! type). The typed value of a search is masked on screen: it is a secret's plaintext.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Clear, Paragraph, Wrap};

use super::popups::PromptState;
use super::table::MatchKind;
use crate::tui::theme::Theme;
use crate::tui::widgets::{block, centered};

pub fn draw(frame: &mut Frame, area: Rect, prompt: &PromptState, theme: &Theme) {
    // The box grows to fit its error: a fixed height cut the list of fields a filter takes.
    let error_text = prompt
        .error
        .as_ref()
        .map(|e| format!("✗ {e}"))
        .or_else(|| prompt.note.clone());
    let inner_width = 70u16.min(area.width).saturating_sub(2).max(1) as usize;
    let error_rows = error_text.as_deref().map_or(0, |e| {
        crate::tui::widgets::wrapped_rows(e, inner_width) as u16
    });
    let popup = centered(area, 70, 5 + error_rows.max(2));
    frame.render_widget(Clear, popup);
    let title = match prompt.kind {
        MatchKind::Search => " Search a blind-indexed field (exact match) ",
        MatchKind::Filter => " Filter (narrows as you type) ",
    };
    let outer = block(title, theme, true);
    let inner = outer.inner(popup);
    frame.render_widget(outer, popup);
    let [hint, input, error] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Length(1),
        Constraint::Fill(1),
    ])
    .areas(inner);
    let fields = prompt.fields.join(", ");
    let text = match prompt.kind {
        MatchKind::Search if prompt.fields.len() == 1 => {
            format!("value of {fields}; enter searches, esc cancels")
        }
        MatchKind::Search => format!("field=value, fields: {fields}"),
        MatchKind::Filter => {
            format!("a word: any plain column (any case); or field=value, fields: {fields}")
        }
    };
    frame.render_widget(
        Paragraph::new(text)
            .style(theme.muted)
            .wrap(Wrap { trim: true }),
        hint,
    );
    frame.render_widget(&prompt.input, input);
    if let Some(e) = error_text {
        let style = if prompt.error.is_some() {
            theme.error
        } else {
            theme.muted
        };
        frame.render_widget(
            Paragraph::new(Line::styled(e, style)).wrap(Wrap { trim: true }),
            error,
        );
    }
}
