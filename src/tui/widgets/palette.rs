//! The `:` command palette: its state (the input and its completions) and its drawing.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Clear, List, ListItem, ListState};

use ratatui_textarea::TextArea;

use super::block;
use crate::tui::theme::Theme;

/// The `:` command palette.
#[derive(Debug)]
pub struct PaletteState {
    pub input: TextArea<'static>,
    /// Completions for what is typed, best first.
    pub completions: Vec<String>,
    pub selected: usize,
}

/// Completions shown at once.
pub const SHOWN: usize = 8;

pub fn draw(frame: &mut Frame, area: Rect, palette: &PaletteState, theme: &Theme) {
    let height = 3 + palette.completions.len().min(SHOWN) as u16;
    let width = area.width.saturating_sub(8).min(70);
    let popup = Rect {
        x: area.x + (area.width.saturating_sub(width)) / 2,
        y: area.y + 2.min(area.height),
        width,
        height: height.min(area.height.saturating_sub(2)),
    };
    frame.render_widget(Clear, popup);
    let outer = block(
        " : command (tab completes, enter runs, esc closes) ",
        theme,
        true,
    );
    let inner = outer.inner(popup);
    frame.render_widget(outer, popup);
    let [input, list] = Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(inner);
    let [colon, text] =
        Layout::horizontal([Constraint::Length(1), Constraint::Fill(1)]).areas(input);
    frame.render_widget(Line::styled(":", theme.accent), colon);
    frame.render_widget(&palette.input, text);
    let items: Vec<ListItem> = palette
        .completions
        .iter()
        .map(|c| ListItem::new(c.clone()))
        .collect();
    let widget = List::new(items)
        .style(theme.muted)
        .highlight_style(theme.selection)
        .highlight_symbol("▶ ");
    let mut state = ListState::default().with_selected(Some(palette.selected));
    frame.render_stateful_widget(widget, list, &mut state);
}
