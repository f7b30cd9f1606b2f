//! `?` help, generated from the live keymap (so remapped keys show as remapped, in the lines
//! and in the title), with the cell legend, the palette's commands and any problem found at
//! start (keymap conflicts, theme files). `/` searches it (only the lines holding the text,
//! any case; enter keeps the search, esc clears it), `j`/`k` scroll, `pgdn`/`pgup` page,
//! `g`/`G` go to the top and the bottom.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};
use ratatui_textarea::TextArea;

use crate::tui::app::state::State;
use crate::tui::context::Disabled;
use crate::tui::keymap::Action;
use crate::tui::widgets::line_input;
use crate::tui::widgets::masked_cell::LEGEND;
use crate::tui::widgets::{block, centered};

/// The help popup: where it is scrolled, and the search.
#[derive(Debug, Default)]
pub struct HelpState {
    pub scroll: u16,
    /// The search: only lines holding it (any case) are shown; empty shows all.
    pub query: String,
    /// The search being typed (`/`); `None` while the keys scroll.
    pub input: Option<TextArea<'static>>,
}

/// The note under the keys when the role lacks some of their actions.
fn grant_note(state: &State) -> Option<Line<'static>> {
    Action::ALL
        .iter()
        .any(|a| matches!(state.ui().disabled(*a), Some(Disabled::NotGranted(_))))
        .then(|| {
            Line::styled(
                format!(
                    "✗ not granted to role {} by the policy's actions",
                    state.grants.role()
                ),
                state.theme.muted,
            )
        })
}

/// Every line of the help.
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
    lines.extend(grant_note(state));
    lines.push(Line::raw(""));
    lines.push(Line::styled("Cells", theme.header));
    lines.push(Line::raw(LEGEND));
    lines.push(Line::raw(format!(
        "A revealed cell masks itself again after {} s; every reveal is audited.",
        state.reveal_timeout_seconds
    )));
    lines.push(Line::raw(""));
    lines.push(Line::styled("Palette (:)", theme.header));
    // Packed by whole commands, so none is cut across two rows.
    let width = inner_width(state).max(20) as usize;
    let mut row = String::new();
    for command in crate::tui::app::commands::summary().split(" :") {
        let command = if command.starts_with(':') {
            command.to_string()
        } else {
            format!(":{command}")
        };
        if !row.is_empty() && row.chars().count() + 1 + command.chars().count() > width {
            lines.push(Line::raw(std::mem::take(&mut row)));
        }
        if !row.is_empty() {
            row.push(' ');
        }
        row.push_str(&command);
    }
    lines.push(Line::raw(row));
    if !state.warnings.is_empty() {
        lines.push(Line::raw(""));
        lines.push(Line::styled("Problems found at start", theme.warn));
        for w in &state.warnings {
            lines.push(Line::styled(format!("! {w}"), theme.warn));
        }
    }
    lines
}

fn text_of(line: &Line) -> String {
    line.spans.iter().map(|s| s.content.as_ref()).collect()
}

/// The lines shown: all, or those holding the search (any case), with the grant note when a
/// line it explains (`✗`) is among them.
pub fn shown_lines(state: &State, help: &HelpState) -> Vec<Line<'static>> {
    let all = lines(state);
    let query = help.query.trim().to_lowercase();
    if query.is_empty() {
        return all;
    }
    let mut shown: Vec<Line<'static>> = all
        .into_iter()
        .filter(|l| text_of(l).to_lowercase().contains(&query))
        .collect();
    let marked = shown.iter().any(|l| text_of(l).contains(" ✗ "));
    if marked
        && let Some(note) = grant_note(state)
        && !shown.iter().any(|l| text_of(l) == text_of(&note))
    {
        shown.push(note);
    }
    shown
}

/// The popup's place in `area` (the screen between the tab bar and the message row).
fn popup_area(area: Rect) -> Rect {
    centered(area, 84, area.height.saturating_sub(2))
}

/// The rows of help text the popup shows at once (less the search line while searching).
fn text_rows(state: &State, help: &HelpState) -> usize {
    let (w, h) = state.size;
    let popup = popup_area(Rect::new(0, 0, w, h.saturating_sub(4)));
    let search = usize::from(help.input.is_some() || !help.query.is_empty());
    (popup.height.saturating_sub(2) as usize).saturating_sub(search)
}

/// How far `j` may scroll: until the last line is at the bottom (unbounded, `j` scrolled the
/// help away into a blank box and `k` had to climb back as many times). Rows are counted as
/// the paragraph draws them.
pub fn max_scroll(state: &State, help: &HelpState) -> u16 {
    let rows = crate::tui::widgets::rendered_rows(&shown_lines(state, help), inner_width(state));
    rows.saturating_sub(text_rows(state, help))
        .min(u16::MAX as usize) as u16
}

/// The columns inside the popup at the current size.
fn inner_width(state: &State) -> u16 {
    let (w, h) = state.size;
    popup_area(Rect::new(0, 0, w, h.saturating_sub(4)))
        .width
        .saturating_sub(2)
}

/// What a key does to the open help: `Some(true)` when it closes it.
pub fn key(state: &State, help: &mut HelpState, key: KeyEvent, action: Option<Action>) -> bool {
    if let Some(input) = &mut help.input {
        match key.code {
            KeyCode::Esc => {
                help.input = None;
                help.query.clear();
            }
            KeyCode::Enter => help.input = None,
            _ => {
                line_input::edit(input, &mut false, key);
                help.query = input.lines().join("");
            }
        }
        help.scroll = 0;
        return false;
    }
    let most = max_scroll(state, help);
    let page = text_rows(state, help).saturating_sub(1).max(1) as u16;
    match action {
        Some(Action::Down) => help.scroll = help.scroll.saturating_add(1).min(most),
        Some(Action::Up) => help.scroll = help.scroll.saturating_sub(1),
        Some(Action::PageDown) => help.scroll = help.scroll.saturating_add(page).min(most),
        Some(Action::PageUp) => help.scroll = help.scroll.saturating_sub(page),
        Some(Action::Top) => help.scroll = 0,
        Some(Action::Bottom) => help.scroll = most,
        Some(Action::Filter) => help.input = Some(line_input::with_text(&help.query)),
        // Esc clears a search first, then closes.
        Some(Action::Back) if !help.query.is_empty() => {
            help.query.clear();
            help.scroll = 0;
        }
        Some(Action::Back | Action::Help | Action::Quit | Action::Open) => return true,
        _ => {}
    }
    false
}

pub fn draw(frame: &mut Frame, area: Rect, state: &State, help: &HelpState) {
    let popup = popup_area(area);
    frame.render_widget(Clear, popup);
    let k = |action| state.keymap.short_label(action);
    let title = format!(
        " Help · {} closes · {}/{} scroll · {}/{} page · {} search ",
        k(Action::Back),
        k(Action::Down),
        k(Action::Up),
        k(Action::PageDown),
        k(Action::PageUp),
        k(Action::Filter),
    );
    let outer = block(title, &state.theme, true);
    let inner = outer.inner(popup);
    frame.render_widget(outer, popup);
    let searching = help.input.is_some() || !help.query.is_empty();
    let [search, body] = Layout::vertical([
        Constraint::Length(u16::from(searching)),
        Constraint::Fill(1),
    ])
    .areas(inner);
    if searching {
        let shown = shown_lines(state, help).len();
        let prompt = Span::styled(format!("{} ", k(Action::Filter)), state.theme.key);
        let count = Span::styled(
            format!(
                "  {shown} line{} match; {} clears",
                if shown == 1 { "" } else { "s" },
                k(Action::Back)
            ),
            state.theme.muted,
        );
        match &help.input {
            Some(input) => {
                let [left, field, right] = Layout::horizontal([
                    Constraint::Length(prompt.width() as u16),
                    Constraint::Length(30),
                    Constraint::Fill(1),
                ])
                .areas(search);
                frame.render_widget(prompt, left);
                frame.render_widget(input, field);
                frame.render_widget(count, right);
            }
            None => frame.render_widget(
                Line::from(vec![prompt, Span::raw(help.query.clone()), count]),
                search,
            ),
        }
    }
    let scroll = help.scroll.min(max_scroll(state, help));
    let widget = Paragraph::new(shown_lines(state, help))
        .wrap(Wrap { trim: false })
        .scroll((scroll, 0));
    frame.render_widget(widget, body);
}
