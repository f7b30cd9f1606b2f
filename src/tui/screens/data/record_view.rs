//! Drawing of the record popup: every visible field of the selected row, one per line,
//! masked exactly as in the table (a live reveal shows as revealed).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};

use super::table::TableView;
use crate::tui::theme::Theme;
use crate::tui::widgets::masked_cell;
use crate::tui::widgets::{block, centered};

pub fn draw(frame: &mut Frame, area: Rect, table: &TableView, theme: &Theme, scroll: u16) {
    let Some(row) = table.rows.get(table.row) else {
        return;
    };
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
    let lines: Vec<Line> = table
        .columns
        .iter()
        .map(|column| {
            let (text, kind) = match table.cell(row, column) {
                Some(cell) => masked_cell::render(cell, column.secret),
                None => (String::new(), masked_cell::CellKind::Null),
            };
            Line::from(vec![
                Span::styled(format!("{:>name_width$}  ", column.name), theme.header),
                Span::styled(text, masked_cell::style(kind, theme)),
            ])
        })
        .collect();
    let id = match row.id.to_json() {
        serde_json::Value::String(s) => s,
        other => other.to_string(),
    };
    let title = format!(
        " {} {id} (esc closes, r reveals the selected column) ",
        table.model
    );
    let widget = Paragraph::new(lines)
        .block(block(title, theme, true))
        .wrap(Wrap { trim: false })
        .scroll((scroll, 0));
    frame.render_widget(widget, popup);
}
