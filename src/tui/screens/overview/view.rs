//! Drawing of screen 1 (Overview): tiles for encryption coverage (the census), keys,
//! health, audit and rotation jobs, each from the state of the screen it summarises.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Row, Sparkline, Table};

use super::OverviewState;
use crate::health::CensusColumn;
use crate::tui::context::Loadable;
use crate::tui::screens::audit::{AuditView, chain_line};
use crate::tui::screens::health::HealthView;
use crate::tui::screens::keys::{self, KeysState, census_view};
use crate::tui::theme::Theme;
use crate::tui::widgets::fit::truncate;
use crate::tui::widgets::{block, fit, tile};

/// The tiles; `keys`, `health` and `audit` are the states of the screens they summarise.
pub fn draw(
    frame: &mut Frame,
    area: Rect,
    overview: &OverviewState,
    keys: &KeysState,
    health: &Loadable<HealthView>,
    audit: &Loadable<AuditView>,
    theme: &Theme,
) {
    let [top, bottom] =
        Layout::vertical([Constraint::Percentage(55), Constraint::Fill(1)]).areas(area);
    let [coverage_area, keys_area] =
        Layout::horizontal([Constraint::Percentage(60), Constraint::Fill(1)]).areas(top);
    let [health_area, audit_area, jobs] = Layout::horizontal([
        Constraint::Ratio(1, 3),
        Constraint::Ratio(1, 3),
        Constraint::Ratio(1, 3),
    ])
    .areas(bottom);
    draw_coverage(frame, coverage_area, overview, keys, theme);
    draw_keys(frame, keys_area, keys, theme);
    draw_health(frame, health_area, health, theme);
    draw_audit(frame, audit_area, audit, theme);
    keys::draw_jobs(frame, jobs, keys, theme);
}

fn draw_coverage(
    frame: &mut Frame,
    area: Rect,
    overview: &OverviewState,
    keys: &KeysState,
    theme: &Theme,
) {
    // A census in progress: what it has read so far, under a line saying where it is (no
    // unused-key warning yet: a key may well match a model not read so far).
    if let (Loadable::Loading, Some(fill)) = (&overview.census, &overview.filling) {
        let outer = block(" Encryption coverage ", theme, false);
        let inner = outer.inner(area);
        frame.render_widget(outer, area);
        let [status, rest] =
            Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(inner);
        frame.render_widget(Paragraph::new(fill.status()).style(theme.muted), status);
        coverage_table(frame, rest, &fill.columns, keys, theme);
        return;
    }
    let Some((inner, columns)) = tile(
        frame,
        area,
        " Encryption coverage ",
        &overview.census,
        "census",
        theme,
        false,
    ) else {
        return;
    };
    if columns.is_empty() {
        frame.render_widget(
            Paragraph::new("no encrypted columns in the models").style(theme.muted),
            inner,
        );
        return;
    }
    // A configured key that matches no stored token (a wrong ENCRYPTION_KEY, above all)
    // is said first; `c` on the Keys screen shows the counts per key.
    let warning = census_view::warning(&census_view::unused_keys(&keys.keys, columns));
    let [warn_area, inner] = Layout::vertical([
        Constraint::Length(warning.is_some() as u16),
        Constraint::Fill(1),
    ])
    .areas(inner);
    if let Some((text, fail)) = warning {
        frame.render_widget(
            Paragraph::new(text).style(if fail { theme.fail } else { theme.warn }),
            warn_area,
        );
    }
    coverage_table(frame, inner, columns, keys, theme);
}

/// One row per column: its state, rows, share encrypted and the keys or problems.
fn coverage_table(
    frame: &mut Frame,
    inner: Rect,
    columns: &[CensusColumn],
    keys: &KeysState,
    theme: &Theme,
) {
    let (rows_width, field_width, keys_width) = coverage_widths(columns, keys, inner.width);
    let rows = columns.iter().map(|c| {
        let (glyph, style) = if c.unknown_key + c.malformed > 0 {
            ("✗", theme.fail)
        } else if c.plaintext > 0 {
            ("!", theme.warn)
        } else {
            ("✓", theme.ok)
        };
        Row::new(vec![
            Span::styled(glyph, style),
            Span::raw(fit::field(&c.model, &c.column, field_width)),
            Span::raw(c.rows.to_string()),
            Span::styled(format!("{}%", census_view::encrypted_percent(c)), style),
            Span::styled(
                fit::cut_end(&issues(c, keys), keys_width),
                if problems(c) == 0 { theme.muted } else { style },
            ),
        ])
    });
    let table = Table::new(
        rows,
        [
            Constraint::Length(1),
            Constraint::Length(field_width as u16),
            Constraint::Length(rows_width as u16),
            Constraint::Length(4),
            Constraint::Fill(1),
        ],
    )
    .header(Row::new(["", "field", "rows", "enc", "keys"]).style(theme.header));
    frame.render_widget(table, inner);
}

fn draw_keys(frame: &mut Frame, area: Rect, keys: &KeysState, theme: &Theme) {
    let outer = block(" Keys ", theme, false);
    let inner = outer.inner(area);
    frame.render_widget(outer, area);
    let mut lines: Vec<Line> = keys
        .keys
        .iter()
        .map(|k| {
            let age = k.age_days.map(|d| format!(" {d}d")).unwrap_or_default();
            Line::from(vec![
                Span::styled(format!("{:<8} ", truncate(&k.id, 8)), theme.accent),
                Span::raw(k.fingerprint.clone()),
                Span::styled(age, theme.muted),
            ])
        })
        .collect();
    if lines.is_empty() {
        lines.push(Line::styled(
            "✗ no keys configured (ENCRYPTION_KEY)",
            theme.fail,
        ));
    }
    for row in &keys.schedule {
        let (text, style) = match (row.due, row.overdue) {
            (Some(d), true) => (format!("✗ {} overdue {d}", row.classification), theme.fail),
            (Some(d), false) => (format!("✓ {} due {d}", row.classification), theme.ok),
            (None, _) => (format!("? {} due: unknown", row.classification), theme.warn),
        };
        lines.push(Line::styled(text, style));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

fn draw_health(frame: &mut Frame, area: Rect, health: &Loadable<HealthView>, theme: &Theme) {
    let Some((inner, view)) = tile(frame, area, " Health ", health, "health", theme, false) else {
        return;
    };
    let mut lines = vec![Line::from(vec![
        Span::styled(format!("✓{} ", view.count("ok")), theme.ok),
        Span::styled(format!("!{} ", view.count("warn")), theme.warn),
        Span::styled(format!("✗{}", view.count("fail")), theme.fail),
    ])];
    let mut worst: Vec<_> = view
        .findings
        .iter()
        .filter(|f| f.severity != "ok")
        .collect();
    worst.sort_by_key(|f| if f.severity == "fail" { 0 } else { 1 });
    for f in worst {
        let style = if f.severity == "fail" {
            theme.fail
        } else {
            theme.warn
        };
        let glyph = if f.severity == "fail" { "✗" } else { "!" };
        lines.push(Line::styled(format!("{glyph} {}", f.id), style));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

fn draw_audit(frame: &mut Frame, area: Rect, audit: &Loadable<AuditView>, theme: &Theme) {
    let Some((inner, view)) = tile(frame, area, " Audit ", audit, "audit log", theme, false) else {
        return;
    };
    let [status, spark, recent] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(2),
        Constraint::Fill(1),
    ])
    .areas(inner);
    frame.render_widget(chain_line(&view.chain, theme), status);
    let total: u64 = view.per_minute.iter().sum();
    frame.render_widget(
        Sparkline::default()
            .data(&view.per_minute)
            .style(theme.sparkline)
            .max(view.per_minute.iter().copied().max().unwrap_or(1).max(1)),
        spark,
    );
    let mut lines = vec![Line::styled(
        format!("{total} in the last 30 min"),
        theme.muted,
    )];
    for entry in &view.recent {
        lines.push(Line::from(format!(
            "{} {} {}",
            entry.at.format("%H:%M"),
            entry.action,
            entry.table.as_deref().unwrap_or("")
        )));
    }
    frame.render_widget(Paragraph::new(lines), recent);
}

/// A column's keys by id (`primary old_1`), or the counts that need attention.
fn issues(c: &CensusColumn, keys: &KeysState) -> String {
    if problems(c) == 0 {
        c.by_key
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|(label, _)| {
                keys.keys
                    .iter()
                    .find(|k| &k.fingerprint == label)
                    .map_or_else(|| label.clone(), |k| k.id.clone())
            })
            .collect::<Vec<_>>()
            .join(" ")
    } else {
        // Only the counts that are not zero: short enough for a narrow column.
        [
            ("plain", c.plaintext),
            ("unk", c.unknown_key),
            ("bad", c.malformed),
        ]
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(what, n)| format!("{what} {n}"))
        .collect::<Vec<_>>()
        .join(" ")
    }
}

/// The widths of the rows, field and keys columns in `width` cells.
fn coverage_widths(
    columns: &[CensusColumn],
    keys: &KeysState,
    width: u16,
) -> (usize, usize, usize) {
    // The field takes the width it needs first (a Fill split cut `SecureResearchSession.…`
    // to `SecureResearchSessi` while `1 key` had room to spare), then the keys column; a
    // field still too long loses the end of its model name, not its column.
    let rows_width = columns
        .iter()
        .map(|c| fit::width(&c.rows.to_string()))
        .max()
        .unwrap_or(0)
        .max(4);
    let free = (width as usize).saturating_sub(1 + rows_width + 4 + 4);
    let natural = [
        columns
            .iter()
            .map(|c| fit::width(&c.model) + 1 + fit::width(&c.column))
            .max()
            .unwrap_or(0)
            .max(5),
        columns
            .iter()
            .map(|c| fit::width(&issues(c, keys)))
            .max()
            .unwrap_or(0)
            .max(4),
    ];
    let (field_width, keys_width) = match fit::column_widths(&natural, &[12, 6], free)[..] {
        [field, keys] => (field.min(free.saturating_sub(keys)), keys),
        _ => (natural[0], natural[1]),
    };
    (rows_width, field_width, keys_width)
}

/// Values that need attention: plaintext, unknown key or malformed.
fn problems(c: &CensusColumn) -> u64 {
    c.plaintext + c.unknown_key + c.malformed
}
