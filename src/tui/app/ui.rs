//! The root of drawing: tab bar, the current screen, the status bar and at most one popup.
//! Reads `&State` only; never does I/O. Below 60x15 it draws only a message saying so.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use crate::tui::app::state::{MIN_HEIGHT, MIN_WIDTH, Popup, State};
use crate::tui::screens::{self, ScreenId};
use crate::tui::widgets::{self, centered};

pub fn draw(frame: &mut Frame, state: &State) {
    let area = frame.area();
    frame.render_widget(ratatui::widgets::Block::new().style(state.theme.base), area);
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        // (`State::too_small` is the same test, from the last Resize, for input.)
        let text = format!(
            "Terminal too small: need at least {MIN_WIDTH}x{MIN_HEIGHT} (now {}x{})",
            area.width, area.height
        );
        let message = Paragraph::new(text)
            .style(state.theme.warn)
            .wrap(Wrap { trim: true });
        frame.render_widget(message, centered(area, area.width, 3));
        return;
    }
    let message_rows = crate::tui::app::status_bar::message_rows(state, area.width);
    let [tabs, body, message, hints, status] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(message_rows),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    frame.render_widget(tab_line(state), tabs);
    draw_screen(frame, body, state);
    crate::tui::app::status_bar::draw_message(frame, message, state);
    crate::tui::app::status_bar::draw_hints(frame, hints, state);
    crate::tui::app::status_bar::draw(frame, status, state);
    draw_popup(frame, body, state);
}

/// The current screen, from its own state (the Overview from those it summarises).
fn draw_screen(frame: &mut Frame, area: Rect, state: &State) {
    let (ui, theme) = (state.ui(), &state.theme);
    match state.screen {
        ScreenId::Overview => screens::overview::view::draw(
            frame,
            area,
            &state.overview,
            &state.keys,
            &state.health.view,
            &state.audit.view,
            theme,
        ),
        ScreenId::Data => screens::data::view::draw(frame, area, &state.data, &ui),
        ScreenId::Audit => screens::audit::view::draw(frame, area, &state.audit, &ui),
        ScreenId::Keys => {
            screens::keys::view::draw(frame, area, &state.keys, &state.overview.census, &ui)
        }
        ScreenId::Health => screens::health::view::draw(frame, area, &state.health, &ui),
    }
}

fn draw_popup(frame: &mut Frame, area: Rect, state: &State) {
    let theme = &state.theme;
    match &state.popup {
        Popup::None => {}
        Popup::Help(help) => crate::tui::app::help::draw(frame, area, state, help),
        Popup::Palette(palette) => widgets::palette::draw(frame, area, palette, theme),
        Popup::Prompt(prompt) => screens::data::prompt_view::draw(frame, area, prompt, theme),
        Popup::Reveal(dialog) => screens::data::reveal_view::draw(
            frame,
            area,
            dialog,
            theme,
            state.reveal_timeout_seconds,
        ),
        Popup::Rotate(wizard) => screens::keys::rotation_view::draw(frame, area, wizard, theme),
        Popup::Retire(dialog) => screens::keys::retire_view::draw(frame, area, dialog, theme),
        Popup::Messages { scroll } => crate::tui::app::messages::draw(frame, area, state, *scroll),
        Popup::Detail { field } => {
            if let Some(table) = &state.data.table {
                screens::data::record_view::draw(frame, area, table, &state.ui(), *field);
            }
        }
    }
}

/// The label of each tab, in order: ` 1 Overview `.
fn tab_labels() -> Vec<String> {
    ScreenId::ALL
        .iter()
        .map(|s| format!(" {} {} ", s.index() + 1, s.title()))
        .collect()
}

/// The columns each tab occupies on the tab bar (for mouse clicks), in order.
pub fn tab_spans() -> Vec<(u16, u16, ScreenId)> {
    let mut x = 1u16;
    let mut out = Vec::new();
    for (label, screen) in tab_labels().iter().zip(ScreenId::ALL) {
        let width = Span::raw(label.as_str()).width() as u16;
        out.push((x, x + width, screen));
        x += width + 1;
    }
    out
}

fn tab_line(state: &State) -> Line<'static> {
    let theme = &state.theme;
    let mut spans = vec![Span::styled(" ", theme.tab)];
    for (label, screen) in tab_labels().into_iter().zip(ScreenId::ALL) {
        let style = if screen == state.screen {
            theme.tab_active
        } else {
            theme.tab
        };
        spans.push(Span::styled(label, style));
        spans.push(Span::styled("│", theme.border));
    }
    spans.push(Span::styled(" timber", theme.muted));
    Line::from(spans)
}
