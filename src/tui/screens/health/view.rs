//! Drawing of screen 5 (Health): every finding, worst first, with its evidence and remedy;
//! while the checks run, their progress ([`super::progress_view`]).

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Row, Table, TableState, Wrap};

use super::HealthState;
use crate::tui::context::Loadable;
use crate::tui::theme::Theme;
use crate::tui::widgets::tile;

pub fn draw(frame: &mut Frame, area: Rect, state: &HealthState, theme: &Theme) {
    let title = format!(
        " Health checks · {} · v severity · e export · enter open record ",
        state.severity.unwrap_or("all")
    );
    if let (Some(run), Loadable::Loading) = (&state.run, &state.view) {
        super::progress_view::draw(frame, area, run, " Health checks · running ", theme);
        return;
    }
    let Some((inner, _)) = tile(
        frame,
        area,
        &title,
        &state.view,
        "health checks",
        theme,
        true,
    ) else {
        return;
    };
    let findings = state.sorted();
    let [list, detail] =
        Layout::vertical([Constraint::Fill(1), Constraint::Length(5)]).areas(inner);
    let rows = findings.iter().map(|f| {
        let (glyph, style) = match f.severity.as_str() {
            "fail" => ("✗ fail", theme.fail),
            "warn" => ("! warn", theme.warn),
            _ => ("✓ ok", theme.ok),
        };
        Row::new(vec![
            Span::styled(glyph, style),
            Span::styled(f.family.to_uppercase(), theme.muted),
            Span::raw(f.id.clone()),
            Span::raw(f.finding.clone()),
        ])
    });
    let table = Table::new(
        rows,
        [
            Constraint::Length(7),
            Constraint::Length(7),
            Constraint::Length(22),
            Constraint::Fill(1),
        ],
    )
    .header(Row::new(["", "family", "check", "finding"]).style(theme.header))
    .row_highlight_style(theme.selection)
    .highlight_symbol("▶ ");
    let mut table_state = TableState::default().with_selected(Some(state.selected));
    frame.render_stateful_widget(table, list, &mut table_state);
    if let Some(f) = findings.get(state.selected) {
        let text = vec![
            Line::styled(f.title.clone(), theme.accent),
            Line::from(vec![
                Span::styled("evidence: ", theme.muted),
                Span::raw(if f.evidence.is_empty() {
                    "–".to_string()
                } else {
                    f.evidence.clone()
                }),
            ]),
            Line::from(vec![
                Span::styled("remedy: ", theme.muted),
                Span::raw(f.remedy.clone()),
            ]),
        ];
        frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }), detail);
    }
}
