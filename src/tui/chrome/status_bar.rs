//! The status bar (database, environment, role, user, the read-only badge, the connection)
//! and, above it, the message line: the last error, else the latest notice (wrapped onto
//! up to three rows), else key hints for the current screen.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use crate::tui::state::{Connection, State};

pub fn draw(frame: &mut Frame, area: Rect, state: &State) {
    let theme = &state.theme;
    let status = &state.status;
    let sep = Span::styled(" │ ", theme.status_bg);
    let mut spans = vec![
        Span::styled(format!(" {}", status.database), theme.status_bg),
        sep.clone(),
        Span::styled(format!("env {}", status.environment), theme.status_bg),
        sep.clone(),
        Span::styled(format!("role {}", status.role), theme.status_bg),
        sep.clone(),
        Span::styled(format!("user {}", status.user), theme.status_bg),
        Span::styled(" ", theme.status_bg),
    ];
    if status.read_only {
        spans.push(Span::styled(" READ-ONLY ", theme.badge));
        spans.push(Span::styled(" ", theme.status_bg));
    }
    match &status.connection {
        Connection::Connecting => spans.push(Span::styled("connecting… ", theme.status_bg)),
        Connection::Connected => {}
        Connection::Failed(_) => spans.push(Span::styled("✗ not connected ", theme.error)),
    }
    let hint = format!(
        " {} help ",
        state.keymap.label(crate::tui::keymap::Action::Help)
    );
    let used: usize = spans.iter().map(|s| s.width()).sum();
    let pad = (area.width as usize).saturating_sub(used + hint.chars().count());
    spans.push(Span::styled(" ".repeat(pad), theme.status_bg));
    if pad > 0 {
        spans.push(Span::styled(hint, theme.status_bg));
    }
    frame.render_widget(Line::from(spans).style(theme.status_bg), area);
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

/// Rows the message line needs at `width` columns (1 to [`MESSAGE_ROWS`]).
pub fn message_rows(state: &State, width: u16) -> u16 {
    let rows = message(state).map_or(1, |line| {
        let text: String = line.spans.iter().map(|s| s.content.as_ref()).collect();
        crate::tui::widgets::wrapped_rows(&text, width.max(1) as usize)
    });
    rows.clamp(1, MESSAGE_ROWS) as u16
}

/// The line(s) above the status bar: the last error, else the latest notice, else hints.
pub fn draw_message(frame: &mut Frame, area: Rect, state: &State) {
    let paragraph = match message(state) {
        Some(line) => Paragraph::new(line).wrap(Wrap { trim: false }),
        None => Paragraph::new(Line::styled(
            format!(" {}", hints(state)),
            state.theme.muted,
        )),
    };
    frame.render_widget(paragraph, area);
}

/// Key hints for the current screen, from the live keymap.
fn hints(state: &State) -> String {
    use crate::tui::keymap::Action;
    use crate::tui::screens::ScreenId;
    let ui = state.ui();
    let k = |action| state.keymap.label(action);
    let mut parts = vec![format!("{} palette", k(Action::Palette))];
    match (state.screen, &state.data.table) {
        (ScreenId::Data, Some(_)) => {
            parts.extend(ui.reveal_hint());
            parts.push(format!("{} search", k(Action::Search)));
            parts.push(format!("{} filter", k(Action::Filter)));
            parts.push(format!("{} record", k(Action::Open)));
            parts.push(format!("{} back", k(Action::Back)));
        }
        (ScreenId::Data, None) => parts.push(format!("{} open", k(Action::Open))),
        (ScreenId::Audit, _) => parts.extend(crate::tui::screens::audit::hints(&state.audit, &ui)),
        // Write actions: listed, or listed as disabled with the reason.
        (ScreenId::Keys, _) if state.status.read_only => parts.push(format!(
            "read-only session: {}, {}, {}, {} disabled",
            k(Action::Rotate),
            k(Action::RetireKey),
            k(Action::PauseJob),
            k(Action::CancelJob)
        )),
        // Writes the role is not granted: listed together as such.
        (ScreenId::Keys, _) => {
            let writes = [
                (Action::Rotate, "rotate"),
                (Action::RetireKey, "retire"),
                (Action::PauseJob, "pause"),
                (Action::CancelJob, "cancel"),
            ];
            for (action, what) in writes {
                if ui.disabled(action).is_none() {
                    parts.push(format!("{} {what}", k(action)));
                }
            }
            let refused = ui.not_granted_keys(&writes.map(|(a, _)| a));
            if !refused.is_empty() {
                parts.push(format!(
                    "{} not granted to role {}",
                    refused.join(", "),
                    state.grants.role()
                ));
            }
        }
        _ => parts.push(format!("{} refresh", k(Action::Refresh))),
    }
    parts.push(format!("{} quit", k(Action::Quit)));
    parts.join("  ")
}
