//! Reusable drawing pieces that take explicit arguments (never a screen's or the root's
//! state): blocks and tiles, widths that fit, masked cells, a job's gauge, the command
//! palette.

pub mod fit;
pub mod job_gauge;
pub mod line_input;
pub mod masked_cell;
pub mod palette;

use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, BorderType, Paragraph};

use super::context::Loadable;
use super::theme::Theme;

/// A bordered block with a title, in the theme's colours.
pub fn block<'a>(title: impl Into<Line<'a>>, theme: &Theme, focused: bool) -> Block<'a> {
    Block::bordered()
        .border_type(BorderType::Rounded)
        .border_style(if focused {
            theme.border_focus
        } else {
            theme.border
        })
        .title(title.into().style(theme.title))
        .style(theme.base)
}

/// A centred rectangle of at most `width` x `height` inside `area`.
pub fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let [row] = Layout::vertical([Constraint::Length(height.min(area.height))])
        .flex(Flex::Center)
        .areas(area);
    let [cell] = Layout::horizontal([Constraint::Length(width.min(area.width))])
        .flex(Flex::Center)
        .areas(row);
    cell
}

/// A bordered tile for data loaded in the background: draws the block, and either the
/// "loading…" / failure text (returning `None`) or hands back the inner area and the data.
pub fn tile<'t, T>(
    frame: &mut Frame,
    area: Rect,
    title: &str,
    loadable: &'t Loadable<T>,
    what: &str,
    theme: &Theme,
    focused: bool,
) -> Option<(Rect, &'t T)> {
    let outer = block(title.to_string(), theme, focused);
    let inner = outer.inner(area);
    frame.render_widget(outer, area);
    if let Some(text) = not_ready(loadable, what, theme) {
        frame.render_widget(text, inner);
        return None;
    }
    loadable.ready().map(|value| (inner, value))
}

/// The text shown in place of data that is not ready (or a failure, in the error style).
pub fn not_ready<'a, T>(
    loadable: &Loadable<T>,
    what: &str,
    theme: &Theme,
) -> Option<Paragraph<'a>> {
    let (text, style) = match loadable {
        Loadable::Ready(_) => return None,
        Loadable::Loading => (format!("loading {what}…"), theme.muted),
        Loadable::Failed(message) => (format!("✗ {what}: {message}"), theme.error),
        Loadable::Unavailable(why) => (format!("– {why}"), theme.muted),
    };
    Some(
        Paragraph::new(text)
            .style(style)
            .wrap(ratatui::widgets::Wrap { trim: true }),
    )
}

/// Rows `text` takes when word-wrapped to `width` columns (greedy, like a `Paragraph`'s
/// wrap): popups and the message line size themselves to fit their text with it.
pub fn wrapped_rows(text: &str, width: usize) -> usize {
    let (mut rows, mut col) = (1, 0);
    for (i, word) in text.split(' ').enumerate() {
        let len = word.chars().count();
        let need = if i == 0 || col == 0 { len } else { len + 1 };
        if col + need <= width {
            col += need;
        } else {
            rows += 1 + len.saturating_sub(1) / width;
            col = len % width;
        }
    }
    rows
}

/// Rows `lines` take when a `Paragraph` wraps them (`trim: false`) at `width` columns:
/// drawn into a scratch buffer and counted, so a scroll limit matches what is drawn exactly
/// (a word-count estimate was off by a row or two for indented or long-word lines).
pub fn rendered_rows(lines: &[Line], width: u16) -> usize {
    use ratatui::buffer::Buffer;
    use ratatui::widgets::{Widget, Wrap};
    let width = width.max(1);
    // At most every character on its own row, plus one per line.
    let most: usize = lines.iter().map(|l| l.width() + 1).sum::<usize>().max(1);
    let height = most.min(u16::MAX as usize) as u16;
    let area = Rect::new(0, 0, width, height);
    let mut buffer = Buffer::empty(area);
    Paragraph::new(lines.to_vec())
        .wrap(Wrap { trim: false })
        .render(area, &mut buffer);
    let used = (0..height)
        .rev()
        .find(|&y| (0..width).any(|x| buffer[(x, y)].symbol() != " "));
    used.map_or(0, |y| y as usize + 1)
}
