//! Drawing of screen 5 (Health): every finding, worst first (fail, warn, ok; KEY first within
//! a severity, so a key failure is on the first rows at 80x24), with the place it is about
//! (model.column), repeats of a check grouped (`data.old_key ×10`, `enter` expands), and the
//! selected finding's evidence and remedy; while the checks run, their progress
//! ([`super::progress_view`]).

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Row, Table, TableState, Wrap};

use super::{Finding, HealthRow, HealthState};
use crate::tui::context::{Loadable, Ui};
use crate::tui::keymap::Action;
use crate::tui::theme::Theme;
use crate::tui::widgets::tile;

pub fn draw(frame: &mut Frame, area: Rect, state: &HealthState, ui: &Ui) {
    let theme = ui.theme;
    let k = |action| ui.keymap.short_label(action);
    let title = format!(
        " Health checks · {} · {} severity · {} export · {} open/expand ",
        state.severity.unwrap_or("all"),
        k(Action::Severity),
        k(Action::Export),
        k(Action::Open),
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
    let rows = state.rows();
    let [list, detail] =
        Layout::vertical([Constraint::Fill(1), Constraint::Length(5)]).areas(inner);
    let place_width = rows
        .iter()
        .map(|row| match row {
            HealthRow::Finding { finding, .. } => finding.place.chars().count(),
            HealthRow::Group { findings, .. } => places(findings).chars().count(),
        })
        .max()
        .unwrap_or(5)
        .clamp(5, 24) as u16;
    // The check column as wide as its widest label (a group's `▸ id ×N`, a member's `└ id`).
    let check_width = rows
        .iter()
        .map(|row| match row {
            HealthRow::Finding { finding, member } => {
                finding.id.chars().count() + if *member { 4 } else { 0 }
            }
            HealthRow::Group { findings, .. } => {
                findings[0].id.chars().count() + 3 + findings.len().to_string().len()
            }
        })
        .max()
        .unwrap_or(10)
        // Narrow screens keep room for the finding (a longer id is cut).
        .clamp(10, if inner.width < 120 { 24 } else { 30 }) as u16;
    let table_rows = rows.iter().map(|row| {
        let (glyph, style) = severity_glyph(row.finding().map_or("ok", |f| &f.severity), theme);
        match row {
            HealthRow::Finding { finding, member } => {
                let check = if *member {
                    format!("  └ {}", finding.id)
                } else {
                    finding.id.clone()
                };
                Row::new(vec![
                    Span::styled(if *member { "" } else { glyph }, style),
                    Span::raw(check),
                    Span::styled(finding.place.clone(), theme.muted),
                    Span::raw(finding.finding.clone()),
                ])
            }
            HealthRow::Group { findings, expanded } => {
                let first = findings[0];
                let marker = if *expanded { "▾" } else { "▸" };
                Row::new(vec![
                    Span::styled(glyph, style),
                    Span::raw(format!("{marker} {} ×{}", first.id, findings.len())),
                    Span::styled(places(findings), theme.muted),
                    Span::raw(first.finding.clone()),
                ])
            }
        }
    });
    let table = Table::new(
        table_rows,
        [
            Constraint::Length(6),
            Constraint::Length(check_width),
            Constraint::Length(place_width),
            Constraint::Fill(1),
        ],
    )
    .header(Row::new(["", "check", "place", "finding"]).style(theme.header))
    .row_highlight_style(theme.selection)
    .highlight_symbol("▶ ");
    let mut table_state = TableState::default().with_selected(Some(state.selected));
    frame.render_stateful_widget(table, list, &mut table_state);
    if let Some(row) = rows.get(state.selected) {
        frame.render_widget(
            Paragraph::new(detail_lines(row, ui)).wrap(Wrap { trim: true }),
            detail,
        );
    }
}

fn severity_glyph<'a>(severity: &str, theme: &Theme) -> (&'a str, ratatui::style::Style) {
    match severity {
        "fail" => ("✗ fail", theme.fail),
        "warn" => ("! warn", theme.warn),
        _ => ("✓ ok", theme.ok),
    }
}

/// A group's places: the one, or the first and how many more.
fn places(findings: &[&Finding]) -> String {
    let mut distinct: Vec<&str> = Vec::new();
    for f in findings {
        if !f.place.is_empty() && !distinct.contains(&f.place.as_str()) {
            distinct.push(&f.place);
        }
    }
    match distinct.as_slice() {
        [] => String::new(),
        [one] => one.to_string(),
        [first, rest @ ..] => format!("{first} +{}", rest.len()),
    }
}

/// The detail pane: what the check looks at, the evidence (a group: where each is), the
/// remedy.
fn detail_lines<'a>(row: &HealthRow, ui: &Ui) -> Vec<Line<'a>> {
    let theme = ui.theme;
    let Some(f) = row.finding() else {
        return Vec::new();
    };
    let evidence = match row {
        HealthRow::Group { findings, expanded } => {
            let all: Vec<&str> = findings.iter().map(|f| f.place.as_str()).collect();
            let action = if *expanded { "collapses" } else { "lists them" };
            format!(
                "{} findings: {} ({} {action})",
                findings.len(),
                all.join(", "),
                ui.keymap.short_label(Action::Open)
            )
        }
        HealthRow::Finding { .. } if f.evidence.is_empty() => "–".to_string(),
        HealthRow::Finding { .. } => f.evidence.clone(),
    };
    vec![
        Line::styled(f.title.clone(), theme.accent),
        Line::from(vec![
            Span::styled("evidence: ", theme.muted),
            Span::raw(evidence),
        ]),
        Line::from(vec![
            Span::styled("remedy: ", theme.muted),
            Span::raw(f.remedy.clone()),
        ]),
    ]
}

/// The Health screen's key hints, from the live keymap.
pub fn hints(ui: &Ui) -> Vec<String> {
    let k = |action| ui.keymap.short_label(action);
    vec![
        format!("{} open/expand", k(Action::Open)),
        format!("{} severity", k(Action::Severity)),
        format!("{} export", k(Action::Export)),
        format!("{} run again", k(Action::Refresh)),
    ]
}
