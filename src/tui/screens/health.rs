//! Screen 5, Health: every finding of the health checks, worst first, with its remedy.
//! The checks run in the background; while they run this screen shows their progress
//! ([`super::health_progress`]), then lists what they report.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Row, Table, TableState, Wrap};

use super::Loadable;
use crate::tui::overview_data::{Finding, HealthView};
use crate::tui::theme::Theme;
use crate::tui::widgets::tile;

#[derive(Clone, Debug, Default)]
pub struct HealthState {
    pub view: Loadable<HealthView>,
    pub selected: usize,
    /// Only findings of this severity (`v` cycles fail, warn, ok, all).
    pub severity: Option<&'static str>,
    /// Where `e` writes the JSON report (empty: the working directory).
    pub export_dir: std::path::PathBuf,
    /// The run in progress, if one is (a second one is refused meanwhile).
    pub run: Option<super::health_progress::HealthRun>,
}

impl HealthState {
    /// Findings grouped by family, worst first within a family, in check order within a
    /// severity; only the chosen severity when filtered.
    pub fn sorted(&self) -> Vec<&Finding> {
        let mut all: Vec<&Finding> = self
            .view
            .ready()
            .map(|v| v.findings.iter().collect())
            .unwrap_or_default();
        all.retain(|f| self.severity.is_none_or(|s| f.severity == s));
        all.sort_by(|a, b| {
            (a.family.as_str(), rank(&a.severity)).cmp(&(b.family.as_str(), rank(&b.severity)))
        });
        all
    }

    /// The next severity filter: all, fail, warn, ok, all...
    pub fn cycle_severity(&mut self) {
        self.severity = match self.severity {
            None => Some("fail"),
            Some("fail") => Some("warn"),
            Some("warn") => Some("ok"),
            _ => None,
        };
        self.selected = 0;
    }

    pub fn selected_finding(&self) -> Option<&Finding> {
        self.sorted().get(self.selected).copied()
    }

    pub fn move_by(&mut self, delta: isize) {
        let len = self.sorted().len();
        self.selected = self
            .selected
            .saturating_add_signed(delta)
            .min(len.saturating_sub(1));
    }
}

fn rank(severity: &str) -> u8 {
    match severity {
        "fail" => 0,
        "warn" => 1,
        _ => 2,
    }
}

pub fn draw(frame: &mut Frame, area: Rect, state: &HealthState, theme: &Theme) {
    let title = format!(
        " Health checks · {} · v severity · e export · enter open record ",
        state.severity.unwrap_or("all")
    );
    if let (Some(run), Loadable::Loading) = (&state.run, &state.view) {
        super::health_progress::draw(frame, area, run, " Health checks · running ", theme);
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
