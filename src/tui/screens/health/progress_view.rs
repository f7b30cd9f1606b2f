//! Drawing of a health run in progress: which family of checks runs, which model the
//! survey of stored values is reading, the rows read so far, and a gauge over the table's
//! estimated rows. The run's result replaces it when it ends.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Gauge, Paragraph, Wrap};

use super::HealthRun;
use crate::tui::theme::Theme;
use crate::tui::widgets::block;

/// The phases in the order a run goes through them.
const PHASES: [&str; 5] = ["keys", "data", "schema", "audit", "ops"];

/// `✓ keys  ▶ data  · schema  · audit  · ops`: done, running, to come.
fn phase_line(current: &str) -> String {
    let at = PHASES.iter().position(|p| *p == current);
    PHASES
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let mark = match at {
                Some(at) if i < at => "✓",
                Some(at) if i == at => "▶",
                _ => "·",
            };
            format!("{mark} {p}")
        })
        .collect::<Vec<_>>()
        .join("  ")
}

/// What a phase does, for the progress line.
fn phase_label(phase: &str) -> &str {
    match phase {
        "keys" => "KEYS: key configuration, age and strength",
        "data" => "DATA: every stored encrypted value, by HMAC (nothing decrypted)",
        "schema" => "SCHEMA: column widths and indexes from the catalogue",
        "audit" => "AUDIT: the audit log and its hash chain",
        "ops" => "CONN, ROTATION, ENV: connection, rotation jobs, environment",
        other => other,
    }
}

pub fn draw(frame: &mut Frame, area: Rect, run: &HealthRun, title: &str, theme: &Theme) {
    let outer = block(title.to_string(), theme, true);
    let inner = outer.inner(area);
    frame.render_widget(outer, area);
    let [head, model, gauge, total, _] = Layout::vertical([
        Constraint::Length(4),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Fill(1),
    ])
    .areas(inner);
    let text = vec![
        Line::styled(
            "Health checks running in the background; results replace this when done.",
            theme.accent,
        ),
        Line::styled(phase_line(&run.phase), theme.muted),
        Line::styled(format!("now: {}", phase_label(&run.phase)), theme.base),
    ];
    frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }), head);
    let Some(name) = &run.model else {
        let waiting = if run.models_total == 0 {
            "no model has encrypted columns: nothing to survey".to_string()
        } else {
            format!("survey of {} model(s) not started yet", run.models_total)
        };
        frame.render_widget(Line::styled(waiting, theme.muted), model);
        return;
    };
    let where_ = format!(
        "model {name} ({} of {}): {} row(s) read",
        run.model_index,
        run.models_total.max(run.model_index),
        run.rows_done
    );
    frame.render_widget(Line::styled(where_, theme.base), model);
    match run.ratio() {
        Some(ratio) => frame.render_widget(
            Gauge::default()
                .ratio(ratio)
                .label(format!("{}/~{} rows", run.rows_done, run.rows_expected))
                .gauge_style(theme.gauge),
            gauge,
        ),
        None => frame.render_widget(
            Line::styled("table size unknown: no gauge", theme.muted),
            gauge,
        ),
    }
    let scanned = format!("{} row(s) scanned so far", run.rows_scanned());
    frame.render_widget(Line::styled(scanned, theme.muted), total);
}
