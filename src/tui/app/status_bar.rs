//! The status bar (database, environment, role, user, the read-only badge, the connection)
//! and, above it, the key hints for the current screen (always shown, never replaced) and
//! above those the message row: the last error, else the latest notice (wrapped onto up to
//! three rows), empty once the message has expired (`:messages` keeps them all).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use crate::tui::app::state::{Connection, Popup, State};

pub fn draw(frame: &mut Frame, area: Rect, state: &State) {
    let theme = &state.theme;
    let status = &state.status;
    // A broken audit log (the chain, or the signed checkpoints) turns the whole bar to the
    // failure colour on every screen, and says so first.
    let broken = state.audit.known_broken();
    let bg = if broken { theme.error } else { theme.status_bg };
    let sep = Span::styled(" │ ", bg);
    let mut spans = Vec::new();
    if broken {
        spans.push(Span::styled(" ✗ AUDIT LOG BROKEN (3 audit) ", bg));
        spans.push(sep.clone());
    }
    spans.extend([
        Span::styled(format!(" {}", status.database), bg),
        sep.clone(),
        Span::styled(format!("env {}", status.environment), bg),
        sep.clone(),
        Span::styled(format!("role {}", status.role), bg),
        sep.clone(),
        Span::styled(format!("user {}", status.user), bg),
        Span::styled(" ", bg),
    ]);
    if status.read_only {
        spans.push(Span::styled(" READ-ONLY ", theme.badge));
        spans.push(Span::styled(" ", bg));
    }
    match &status.connection {
        Connection::Connecting => spans.push(Span::styled("connecting… ", bg)),
        Connection::Connected => {}
        Connection::Failed(_) => spans.push(Span::styled("✗ not connected ", theme.error)),
    }
    let hint = format!(
        " {} help ",
        state.keymap.label(crate::tui::keymap::Action::Help)
    );
    let used: usize = spans.iter().map(|s| s.width()).sum();
    let pad = (area.width as usize).saturating_sub(used + hint.chars().count());
    spans.push(Span::styled(" ".repeat(pad), bg));
    if pad > 0 {
        spans.push(Span::styled(hint, bg));
    }
    frame.render_widget(Line::from(spans).style(bg), area);
}

/// Most rows the message line takes: a long error (the roles a policy defines, a path)
/// wraps instead of losing its end at 80 columns; hints stay on one row.
const MESSAGE_ROWS: usize = 3;

/// The text above the status bar: the last error, else the latest notice, else hints.
fn message(state: &State) -> Option<Line<'static>> {
    let (theme, status) = (&state.theme, &state.status);
    if let Some(error) = &status.last_error {
        Some(Line::styled(format!(" ✗ {error}"), theme.error))
    } else {
        status
            .message
            .as_ref()
            .map(|message| Line::styled(format!(" {message}"), theme.accent))
    }
}

/// Rows the message row needs at `width` columns (1 to [`MESSAGE_ROWS`]).
pub fn message_rows(state: &State, width: u16) -> u16 {
    let rows = message(state).map_or(1, |line| {
        let text: String = line.spans.iter().map(|s| s.content.as_ref()).collect();
        crate::tui::widgets::wrapped_rows(&text, width.max(1) as usize)
    });
    rows.clamp(1, MESSAGE_ROWS) as u16
}

/// The message row(s) above the hints: the last error, else the latest notice, else empty.
pub fn draw_message(frame: &mut Frame, area: Rect, state: &State) {
    if let Some(line) = message(state) {
        frame.render_widget(Paragraph::new(line).wrap(Wrap { trim: false }), area);
    }
}

/// The key hints of the current screen, on their own row above the status bar.
pub fn draw_hints(frame: &mut Frame, area: Rect, state: &State) {
    let line = Line::styled(
        format!(" {}", hints(state, area.width as usize)),
        state.theme.muted,
    );
    frame.render_widget(line, area);
}

/// Key hints for the current screen, from the live keymap, as many as fit in `width`
/// (the last, quit, always; help lists every key).
fn hints(state: &State, width: usize) -> String {
    use crate::tui::keymap::Action;
    use crate::tui::screens::{self, ScreenId};
    let ui = state.ui();
    let k = |action| state.keymap.short_label(action);
    // An open popup takes the keys: the row names its own.
    let popup = match &state.popup {
        Popup::None => None,
        Popup::Detail { .. } => Some(screens::data::record_view::keys(&ui)),
        Popup::Help(_) => Some(vec![
            format!("{} search", k(Action::Filter)),
            format!("{}/{} scroll", k(Action::Down), k(Action::Up)),
            format!("{}/{} page", k(Action::PageDown), k(Action::PageUp)),
            format!("{} closes", k(Action::Back)),
        ]),
        Popup::Messages { .. } => Some(vec![
            format!("{}/{} scroll", k(Action::Down), k(Action::Up)),
            format!("{} closes", k(Action::Back)),
        ]),
        Popup::Palette(_) => Some(vec![
            "tab completes".to_string(),
            "enter runs".to_string(),
            "esc cancels".to_string(),
        ]),
        Popup::Prompt(_) | Popup::Reveal(_) => Some(vec![
            "enter confirms".to_string(),
            "esc cancels".to_string(),
            "ctrl-u/ctrl-w erase".to_string(),
            "ctrl-a/ctrl-e start/end".to_string(),
        ]),
        Popup::Rotate(_) | Popup::Retire(_) => Some(vec![
            "enter continues".to_string(),
            "esc cancels".to_string(),
        ]),
    };
    if let Some(keys) = popup {
        return keys.join("  ");
    }
    let mut parts = vec![format!("{} palette", k(Action::Palette))];
    parts.extend(match state.screen {
        ScreenId::Data => screens::data::view::hints(&state.data, &ui),
        ScreenId::Audit => screens::audit::hints(&state.audit, &ui),
        ScreenId::Keys => screens::keys::view::hints(&ui),
        ScreenId::Health => screens::health::view::hints(&ui),
        ScreenId::Overview => vec![format!("{} refresh", k(Action::Refresh))],
    });
    parts.push(format!("{} quit", k(Action::Quit)));
    let fits = |parts: &[String]| {
        let text = parts.join("  ");
        ratatui::text::Span::raw(text.as_str()).width() < width
    };
    while parts.len() > 2 && !fits(&parts) {
        parts.remove(parts.len() - 2);
    }
    parts.join("  ")
}
