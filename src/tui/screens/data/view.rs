//! Drawing of screen 2 (Data): the model list, and a model's table with masked cells,
//! sideways scrolling and a footer saying where in the table the page is.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell as TableCell, Paragraph, Row, Table, TableState, Wrap};

use super::DataState;
use super::columns::{self as data_columns, CHROME};
use super::table::TableView;
use crate::store::Cursor;
use crate::tui::context::Ui;
use crate::tui::theme::Theme;
use crate::tui::widgets::masked_cell::{self, LEGEND};
use crate::tui::widgets::{block, fit};

pub fn draw(frame: &mut Frame, area: Rect, data: &DataState, ui: &Ui) {
    match &data.table {
        Some(table) => draw_table(frame, area, table, ui),
        None => draw_models(frame, area, data, ui.theme),
    }
}

fn draw_models(frame: &mut Frame, area: Rect, data: &DataState, theme: &Theme) {
    let rows = data.models.iter().map(|m| {
        let estimate = match &m.estimate {
            None => Span::styled("…", theme.muted),
            Some(Ok(e)) => Span::raw(format!(
                "{}{}",
                if e.exact { "" } else { "~" },
                group_digits(e.rows)
            )),
            Some(Err(_)) => Span::styled("✗ unreadable", theme.error),
        };
        let encrypted = if m.encrypted.is_empty() {
            "–".to_string()
        } else {
            m.encrypted.join(", ")
        };
        let search = m.searchable.join(", ");
        Row::new(vec![
            TableCell::from(m.name.clone()),
            TableCell::from(m.table.clone()),
            TableCell::from(Line::from(estimate).right_aligned()),
            TableCell::from(encrypted),
            TableCell::from(Span::styled(search, theme.muted)),
        ])
    });
    let table = Table::new(
        rows,
        [
            Constraint::Max(24),
            Constraint::Max(24),
            Constraint::Length(9),
            Constraint::Fill(3),
            Constraint::Fill(2),
        ],
    )
    .header(Row::new(["model", "table", "rows", "encrypted", "search (s)"]).style(theme.header))
    .row_highlight_style(theme.selection)
    .highlight_symbol("▶ ")
    .block(block(" Models (enter opens) ", theme, true));
    let mut table_state = TableState::default().with_selected(Some(data.cursor));
    frame.render_stateful_widget(table, area, &mut table_state);
    if let Some(error) = data
        .models
        .iter()
        .find_map(|m| m.estimate.as_ref().and_then(|e| e.as_ref().err()))
    {
        let bottom = Rect {
            y: area.bottom().saturating_sub(2),
            height: 1,
            x: area.x + 2,
            width: area.width.saturating_sub(4),
        };
        frame.render_widget(Line::styled(format!("✗ {error}"), theme.error), bottom);
    }
}

fn draw_table(frame: &mut Frame, area: Rect, table: &TableView, ui: &Ui) {
    let theme = ui.theme;
    let title = match &table.matches {
        None => format!(" {} ", table.model),
        Some(m) => format!(
            " {} · {} · {} clears ",
            table.model,
            m.label(),
            ui.keymap.label(crate::tui::keymap::Action::Back)
        ),
    };
    let outer = block(title, theme, true);
    let inner = outer.inner(area);
    frame.render_widget(outer, area);
    let [body, footer] =
        Layout::vertical([Constraint::Fill(1), Constraint::Length(1)]).areas(inner);
    if let Some(error) = &table.error {
        let text = Paragraph::new(format!("✗ {error}"))
            .style(theme.error)
            .wrap(Wrap { trim: true });
        frame.render_widget(text, body);
    } else if table.rows.is_empty() {
        let text = if table.loading {
            "loading…"
        } else {
            "no rows"
        };
        frame.render_widget(Paragraph::new(text).style(theme.muted), body);
    } else {
        draw_rows(frame, body, table, ui);
    }
    frame.render_widget(footer_line(table, ui), footer);
}

fn draw_rows(frame: &mut Frame, area: Rect, table: &TableView, ui: &Ui) {
    let theme = ui.theme;
    let widths = data_columns::widths(table);
    let available = area.width.saturating_sub(CHROME - 2);
    let mut shown = data_columns::visible(&widths, table.col_offset, available);
    let mut widths: Vec<u16> = widths[shown.clone()].to_vec();
    // The next column, cut to the space left, so the table fills the screen (moving onto
    // it scrolls it fully into view).
    let used: u16 = widths.iter().sum::<u16>() + data_columns::GAP * widths.len() as u16;
    if shown.end < table.columns.len() && available.saturating_sub(used) >= 4 {
        widths.push(available - used);
        shown.end += 1;
    }
    let columns = &table.columns[shown.clone()];
    let header = Row::new(columns.iter().enumerate().map(|(i, c)| {
        let style = if shown.start + i == table.col {
            theme.accent
        } else {
            theme.header
        };
        TableCell::from(c.name.clone()).style(style)
    }))
    .style(theme.header);
    let page = ui.page_size();
    let start = table.window_start(page);
    let rows = table
        .rows
        .iter()
        .skip(start)
        .take(page)
        .enumerate()
        .map(|(n, row)| {
            Row::new(columns.iter().enumerate().map(|(i, column)| {
                let (text, kind) = match table.cell(row, column) {
                    Some(cell) => masked_cell::render(cell, column.secret),
                    None => (String::new(), masked_cell::CellKind::Null),
                };
                let mut style = masked_cell::style(kind, theme);
                if start + n == table.row && shown.start + i == table.col {
                    style = style
                        .patch(theme.selection)
                        .add_modifier(ratatui::style::Modifier::UNDERLINED);
                }
                TableCell::from(text).style(style)
            }))
        });
    let constraints: Vec<Constraint> = widths.iter().map(|w| Constraint::Length(*w)).collect();
    let widget = Table::new(rows, constraints)
        .header(header)
        .column_spacing(data_columns::GAP)
        .row_highlight_style(theme.selection)
        .highlight_symbol("▶ ");
    let mut table_state = TableState::default().with_selected(Some(table.row - start));
    frame.render_stateful_widget(widget, area, &mut table_state);
}

fn footer_line<'a>(table: &TableView, ui: &Ui) -> Line<'a> {
    let theme = ui.theme;
    let page = ui.page_size();
    let position = match &table.matches {
        Some(m) => {
            let start = table.window_start(page);
            let end = (start + page).min(table.rows.len());
            let what = if m.narrow.is_some() {
                "matches"
            } else {
                "rows"
            };
            let first = if m.more {
                format!(
                    " (the first {}; narrow it to see the rest)",
                    super::MATCH_LIMIT
                )
            } else {
                String::new()
            };
            format!(
                "{}-{} of {} {what}{first}",
                (start + 1).min(end),
                end,
                table.rows.len()
            )
        }
        None => {
            let at = match (&table.request.cursor, table.more_before, table.more_after) {
                (_, false, false) => "all rows",
                (_, false, true) | (Cursor::First, _, _) => "first page",
                (_, true, false) | (Cursor::Last, _, _) => "last page",
                _ => "page",
            };
            let ids = match (table.rows.first(), table.rows.last()) {
                (Some(a), Some(b)) => format!(" · id {}…{}", short(&a.id), short(&b.id)),
                _ => String::new(),
            };
            format!("{at}{ids}")
        }
    };
    let more = match (table.more_before, table.more_after) {
        (true, true) => " ↑↓",
        (true, false) => " ↑",
        (false, true) => " ↓",
        _ => "",
    };
    let loading = if table.loading { " · loading…" } else { "" };
    let column = table
        .columns
        .get(table.col)
        .map(|c| {
            format!(
                " · col {}/{} {}",
                table.col + 1,
                table.columns.len(),
                c.name
            )
        })
        .unwrap_or_default();
    let legend = if ui.size.0 >= 140 {
        format!("   {LEGEND}")
    } else {
        String::new()
    };
    Line::from(vec![
        Span::styled(format!("{position}{more}{column}{loading}"), theme.muted),
        Span::styled(legend, theme.muted),
    ])
}

fn short(id: &crate::value::Value) -> String {
    let text = match id.to_json() {
        serde_json::Value::String(s) => s,
        other => other.to_string(),
    };
    fit::truncate(&text, 10)
}

/// `1234567` as `1,234,567`.
pub fn group_digits(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Key hints for the message line, from the live keymap.
pub fn hints(data: &DataState, ui: &Ui) -> Vec<String> {
    use crate::tui::keymap::Action;
    let k = |action| ui.keymap.short_label(action);
    if data.table.is_none() {
        return vec![format!("{} open", k(Action::Open))];
    }
    let mut parts: Vec<String> = ui.reveal_hint().into_iter().collect();
    parts.push(format!("{} search", k(Action::Search)));
    parts.push(format!("{} filter", k(Action::Filter)));
    parts.push(format!("{} sort", k(Action::Sort)));
    parts.push(format!("{} copy", k(Action::Copy)));
    parts.push(format!("{} record", k(Action::Open)));
    parts.push(format!("{} back", k(Action::Back)));
    parts
}
