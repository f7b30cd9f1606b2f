//! The Audit screen's detail pane (one entry: its facts, short hashes, plain detail and
//! changed values as the role sees them, with the glyphs of the Data screen's cells) and its
//! one-line input (the `/` filter, or the reason of a reveal). Drawing only: the values
//! arrive masked from `access`, and a reveal is an audited task of the screen (`detail.rs`).

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};

use super::{AuditState, DetailPane, InputKind};
use crate::access::{Cell, ChangedField, EntryValues, EntryView};
use crate::audit::FILTER_FIELDS;
use crate::tui::context::{Loadable, Ui};
use crate::tui::keymap::Action;
use crate::tui::widgets::masked_cell::{self, CellKind, one_line};
use crate::tui::widgets::{block, centered, not_ready};

pub fn draw(frame: &mut Frame, area: Rect, pane: &DetailPane, audit: &AuditState, ui: &Ui) {
    let theme = ui.theme;
    let title = match (&pane.view, pane.revealed_until) {
        (Loadable::Ready(_), Some(until)) => format!(
            " Entry #{} · ◉ revealed until {} ",
            pane.id,
            until.format("%H:%M:%S")
        ),
        _ => format!(" Entry #{} ", pane.id),
    };
    let outer = block(title, theme, true);
    let inner = outer.inner(area);
    frame.render_widget(outer, area);
    if let Some(text) = not_ready(&pane.view, "entry", theme) {
        frame.render_widget(text, inner);
        return;
    }
    let Some(view) = pane.view.ready() else {
        return;
    };
    let [body, foot] = Layout::vertical([Constraint::Fill(1), Constraint::Length(2)]).areas(inner);
    frame.render_widget(
        Paragraph::new(lines(view, ui)).wrap(Wrap { trim: false }),
        body,
    );
    frame.render_widget(
        Paragraph::new(reveal_line(view, audit, ui)).wrap(Wrap { trim: true }),
        foot,
    );
}

fn lines(view: &EntryView, ui: &Ui) -> Vec<Line<'static>> {
    let theme = ui.theme;
    let c = &view.entry.content;
    let fact = |name: &str, value: String| {
        Line::from(vec![
            Span::styled(format!("{name:<8}"), theme.header),
            Span::raw(one_line(&value)),
        ])
    };
    let mut out = vec![
        fact(
            "time",
            format!("{} UTC", c.created_at.format("%Y-%m-%d %H:%M:%S%.6f")),
        ),
        fact("actor", c.actor.clone()),
        fact("action", c.action.clone()),
        fact("table", c.table_name.clone().unwrap_or_else(|| "-".into())),
        fact("record", c.record_id.clone().unwrap_or_else(|| "-".into())),
        fact("fields", c.fields.join(", ")),
        fact("prev", short(&view.entry.prev_hash)),
        fact("hash", short(&view.entry.entry_hash)),
    ];
    if let Some(facts) = &view.facts {
        out.push(fact("detail", facts_text(facts)));
    }
    match &view.values {
        EntryValues::None => {}
        EntryValues::Unreadable(why) => {
            out.push(Line::styled(format!("⚠ values: {why}"), theme.error));
        }
        EntryValues::Changes(changes) => {
            let how = if view.revealed_by.is_some() {
                "revealed".to_string()
            } else {
                format!("as role {} sees them", ui.role)
            };
            out.push(Line::raw(""));
            out.push(Line::styled(
                format!("Changed values ({how})"),
                theme.header,
            ));
            out.extend(changes.iter().map(|ch| change_line(ch, ui)));
        }
    }
    out
}

/// `email  ◼ ••••••  →  ◼ ••••••`: old then new, each with its cell glyph.
fn change_line(change: &ChangedField, ui: &Ui) -> Line<'static> {
    let theme = ui.theme;
    let side = |cell: &Option<Cell>| match cell {
        None => Span::styled("–".to_string(), theme.muted),
        Some(cell) => {
            let (text, kind) = masked_cell::render(cell, change.secret);
            let text = if kind == CellKind::Null {
                masked_cell::GLYPH_NULL.to_string()
            } else {
                text
            };
            Span::styled(text, masked_cell::style(kind, theme))
        }
    };
    Line::from(vec![
        Span::styled(format!("  {:<12} ", change.field), theme.base),
        side(&change.old),
        Span::styled("  →  ", theme.muted),
        side(&change.new),
    ])
}

/// What `r` does here, or why it is not offered.
fn reveal_line(view: &EntryView, audit: &AuditState, ui: &Ui) -> Line<'static> {
    let theme = ui.theme;
    let key = ui.keymap.label(Action::Reveal);
    let back = ui.keymap.label(Action::Back);
    let masked = matches!(&view.values, EntryValues::Changes(c) if c.iter().any(|ch| {
        [&ch.old, &ch.new].iter().any(|cell| matches!(cell, Some(Cell::Masked { .. })))
    }));
    if view.revealed_by.is_some() {
        let by = view.revealed_by.unwrap_or_default();
        return Line::styled(
            format!("◉ revealed under audit entry #{by}; masks again on timeout · {back} closes"),
            theme.muted,
        );
    }
    if !masked {
        return Line::styled(format!("nothing masked here · {back} closes"), theme.muted);
    }
    if let Some(why) = &audit.reveal_blocked {
        return Line::styled(format!("{key} reveal unavailable: {why}"), theme.muted);
    }
    if let Some(note) = ui.grant_note(Action::Reveal) {
        return Line::styled(format!("{key} reveal unavailable: {note}"), theme.muted);
    }
    if view.revealable.is_empty() {
        return Line::styled(
            format!(
                "{key} reveal unavailable: role {} may not reveal these values",
                ui.role
            ),
            theme.muted,
        );
    }
    // Read-only sessions may still reveal: the entry is appended on the audit connection.
    let read_only = if audit.read_only {
        ", read-only: via the audit connection"
    } else {
        ""
    };
    Line::styled(
        format!(
            "{key} reveal {} (audited{read_only}) · {back} closes",
            view.revealable.join(", ")
        ),
        theme.accent,
    )
}

/// `{"reason": "T-7", "role": "security_admin"}` as `reason=T-7 role=security_admin`.
fn facts_text(facts: &serde_json::Value) -> String {
    match facts.as_object() {
        Some(map) => map
            .iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| match v {
                serde_json::Value::String(s) => format!("{k}={s}"),
                other => format!("{k}={other}"),
            })
            .collect::<Vec<_>>()
            .join(" "),
        None => facts.to_string(),
    }
}

/// The first 16 hex digits of a hash: enough to compare by eye.
pub fn short(hash: &str) -> String {
    match hash.get(..16) {
        Some(head) if hash.len() > 16 => format!("{head}…"),
        _ => hash.to_string(),
    }
}

/// The input overlay of the Audit screen, when one is open.
pub fn draw_input(frame: &mut Frame, area: Rect, audit: &AuditState, ui: &Ui) {
    let Some(input) = &audit.input else {
        return;
    };
    let theme = ui.theme;
    // The box grows to fit its error (a fixed height lost the end of a long one).
    let inner_width = 76u16.min(area.width).saturating_sub(2).max(1) as usize;
    let error_rows = input.error.as_ref().map_or(0, |e| {
        crate::tui::widgets::wrapped_rows(&format!("✗ {e}"), inner_width) as u16
    });
    let popup = centered(area, 76, 6 + error_rows.max(2));
    frame.render_widget(Clear, popup);
    let (title, hint) = match input.kind {
        InputKind::Filter => (
            " Filter the audit log (in the database) ",
            format!(
                "{FILTER_FIELDS}; a bare word searches text. Quote values with spaces. \
                 Empty clears · enter applies · esc cancels"
            ),
        ),
        InputKind::Reason => (
            " Reveal the entry's values (audited) ",
            format!(
                "The reveal is written to the audit log first; it masks again after {} s. Type the reason:",
                ui.reveal_timeout_seconds
            ),
        ),
    };
    let outer = block(title, theme, true);
    let inner = outer.inner(popup);
    frame.render_widget(outer, popup);
    let [hint_area, text, error] = Layout::vertical([
        Constraint::Length(3),
        Constraint::Length(1),
        Constraint::Fill(1),
    ])
    .areas(inner);
    frame.render_widget(
        Paragraph::new(hint)
            .style(theme.muted)
            .wrap(Wrap { trim: true }),
        hint_area,
    );
    frame.render_widget(&input.text, text);
    let line = match (&input.error, input.busy) {
        (Some(e), _) => Line::styled(format!("✗ {e}"), theme.error),
        (None, true) => Line::styled("writing the audit entry…", theme.muted),
        (None, false) => Line::raw(""),
    };
    frame.render_widget(Paragraph::new(line).wrap(Wrap { trim: true }), error);
}
