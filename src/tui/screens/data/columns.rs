//! Which table columns fit, and how wide each is. Columns keep their natural width (up to
//! a cap) and the table scrolls sideways rather than squeezing them unreadable; the
//! selected column is always on screen. Used by both the key handler and the drawing, so
//! what moves is what is drawn.

use std::ops::Range;

use ratatui::text::Span;

use super::table::TableView;
use crate::tui::widgets::masked_cell;

/// No column is drawn wider than this; longer values are cut with `…`.
pub const MAX_WIDTH: u16 = 36;
/// Space between columns.
pub const GAP: u16 = 1;
/// Borders (2) and the row marker (2) take this much of the screen width.
pub const CHROME: u16 = 4;

/// The natural width of every column: its header or its widest cell, capped.
pub fn widths(table: &TableView) -> Vec<u16> {
    table
        .columns
        .iter()
        .map(|column| {
            let header = Span::raw(column.name.as_str()).width() as u16;
            let widest = table
                .rows
                .iter()
                .filter_map(|row| table.cell(row, column))
                .map(|cell| Span::raw(masked_cell::render(cell, column.secret).0).width() as u16)
                .max()
                .unwrap_or(0);
            header.max(widest).clamp(3, MAX_WIDTH)
        })
        .collect()
}

/// The columns drawn from `offset` in `available` cells of width (always at least one).
pub fn visible(widths: &[u16], offset: usize, available: u16) -> Range<usize> {
    let start = offset.min(widths.len());
    let mut used = 0u16;
    let mut end = start;
    for width in &widths[start..] {
        let need = if end == start {
            *width
        } else {
            used + GAP + width
        };
        if end > start && need > available {
            break;
        }
        used = need;
        end += 1;
    }
    start..end
}

/// The offset that keeps the selected column visible with as little movement as possible.
pub fn keep_visible(table: &TableView, screen_width: u16) -> usize {
    let widths = widths(table);
    let available = screen_width.saturating_sub(CHROME);
    let mut offset = table.col_offset.min(table.col);
    while offset < table.col && !visible(&widths, offset, available).contains(&table.col) {
        offset += 1;
    }
    offset
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_that_do_not_fit_are_left_for_scrolling() {
        assert_eq!(visible(&[10, 10, 10], 0, 21), 0..2);
        assert_eq!(visible(&[10, 10, 10], 1, 21), 1..3);
        assert_eq!(visible(&[40], 0, 10), 0..1, "one column is always drawn");
        assert_eq!(visible(&[5, 5], 2, 80), 2..2);
    }
}
