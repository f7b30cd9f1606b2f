//! Drawing of the record popup: every visible field of the selected row, one per line,
//! masked exactly as in the table (a live reveal shows as revealed), with its own field
//! cursor; its title names the keys that act on the selected field, from the live keymap.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

use super::table::TableView;
use crate::tui::context::Ui;
use crate::tui::keymap::Action;
use crate::tui::widgets::masked_cell;
use crate::tui::widgets::{block, centered, fit};

pub fn draw(frame: &mut Frame, area: Rect, table: &TableView, ui: &Ui, field: usize) {
    let Some(row) = table.rows.get(table.row) else {
        return;
    };
    let theme = ui.theme;
    let popup = centered(
        area,
        area.width.saturating_sub(6).min(100),
        area.height.saturating_sub(4),
    );
    frame.render_widget(Clear, popup);
    let name_width = table
        .columns
        .iter()
        .map(|c| c.name.chars().count())
        .max()
        .unwrap_or(4);
    let value_width = (popup.width as usize).saturating_sub(name_width + 6).max(4);
    let lines: Vec<Line> = table
        .columns
        .iter()
        .enumerate()
        .map(|(i, column)| {
            let (text, kind) = match table.cell(row, column) {
                Some(cell) => masked_cell::render(cell, column.secret),
                None => (String::new(), masked_cell::CellKind::Null),
            };
            let selected = i == field;
            let mut value = masked_cell::style(kind, theme);
            let mut name = theme.header;
            if selected {
                value = value.patch(theme.selection);
                name = name.patch(theme.selection);
            }
            Line::from(vec![
                Span::styled(if selected { "▶ " } else { "  " }, theme.accent),
                Span::styled(format!("{:>name_width$}  ", column.name), name),
                Span::styled(fit::truncate(&text, value_width), value),
            ])
        })
        .collect();
    let id = match row.id.to_json() {
        serde_json::Value::String(s) => s,
        other => other.to_string(),
    };
    let title = format!(" {} {id} · {} ", table.model, keys(ui).join(" · "));
    // The selected field stays in view.
    let rows = popup.height.saturating_sub(2) as usize;
    let scroll = field.saturating_sub(rows.saturating_sub(1)) as u16;
    let widget = Paragraph::new(lines)
        .block(block(title, theme, true))
        .scroll((scroll, 0));
    frame.render_widget(widget, popup);
}

/// The record popup's keys, as its title and the hint row name them (the live keymap's).
pub fn keys(ui: &Ui) -> Vec<String> {
    let k = |action| ui.keymap.short_label(action);
    let mut keys = vec![format!("{}/{} field", k(Action::Down), k(Action::Up))];
    keys.extend(ui.reveal_hint());
    keys.push(format!("{} copy", k(Action::Copy)));
    keys.push(format!("{} copy id", k(Action::CopyId)));
    keys.push(format!("{} closes", k(Action::Back)));
    keys
}
