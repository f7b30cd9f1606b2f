//! Drawing of screen 4 (Keys & Rotation): the key ring, the rotation schedule and the jobs,
//! with titles that say what `R`, `X`, `p`, `x` do here, or why they are disabled.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Row, Table, TableState};

use super::KeysState;
use crate::health::CensusColumn;
use crate::store::KeyStatus;
use crate::tui::context::{Disabled, Loadable, Ui};
use crate::tui::keymap::Action;
use crate::tui::theme::Theme;
use crate::tui::widgets::fit;
use crate::tui::widgets::job_gauge;
use crate::tui::widgets::{block, tile};

pub fn draw(
    frame: &mut Frame,
    area: Rect,
    state: &KeysState,
    census: &Loadable<Vec<CensusColumn>>,
    ui: &Ui,
) {
    let theme = ui.theme;
    let key_rows = state.keys.len() as u16 + 3;
    let schedule_rows = state.schedule.len().max(1) as u16 + 3;
    let [keys_area, schedule_area, jobs_area] = Layout::vertical([
        Constraint::Length(key_rows),
        Constraint::Length(schedule_rows),
        Constraint::Min(3),
    ])
    .areas(area);
    draw_keys(frame, keys_area, state, theme, ring_title(state, ui));
    draw_schedule(frame, schedule_area, state, theme);
    if state.show_census {
        super::census_view::draw(frame, jobs_area, state, census, theme);
    } else {
        // A question waiting for `enter` heads the jobs, where the operator looks.
        let title = match state.pending {
            Some(pending) => format!(" {} ", pending.question("enter", "esc")),
            None => jobs_title(ui),
        };
        super::jobs_view::draw_jobs(frame, jobs_area, state, theme, title);
    }
}

fn draw_keys(frame: &mut Frame, area: Rect, state: &KeysState, theme: &Theme, title: String) {
    let cells: Vec<[String; 5]> = state
        .keys
        .iter()
        .map(|k| {
            let age = k
                .age_days
                .map(|d| format!("{d} d"))
                .unwrap_or_else(|| "–".into());
            let status = k.status.map_or_else(|| "…".into(), |s| s.to_string());
            [
                k.id.clone(),
                k.fingerprint.clone(),
                k.role.clone(),
                status,
                age,
            ]
        })
        .collect();
    // Columns as wide as their text, so the source (the rest: borders, the ▶ mark and six
    // gaps aside) has room for its variable and the end of its path at 80 columns.
    let headers = ["key", "fingerprint", "role", "status", "age"];
    let widths: Vec<u16> = (0..5)
        .map(|i| {
            let cells = cells.iter().map(|c| fit::width(&c[i]));
            cells.chain([headers[i].len()]).max().unwrap_or(0) as u16
        })
        .collect();
    let mark = if state.ring_focus { 2 } else { 0 };
    let fixed: u16 = widths.iter().sum::<u16>() + 5 + mark + 2;
    let source_width = area.width.saturating_sub(fixed).max(8) as usize;
    let rows = state
        .keys
        .iter()
        .zip(cells)
        .map(|(k, [id, fp, role, status, age])| {
            let style = match k.status {
                None => theme.muted,
                Some(KeyStatus::Active | KeyStatus::DecryptOnly) => theme.base,
                Some(KeyStatus::Retired | KeyStatus::Destroyed) => theme.warn,
            };
            Row::new(vec![
                Span::raw(id),
                Span::raw(fp),
                Span::raw(role),
                Span::styled(status, style),
                Span::raw(age),
                Span::raw(fit::key_source(&k.source, source_width)),
            ])
        });
    let table = Table::new(
        rows,
        widths
            .iter()
            .map(|w| Constraint::Length(*w))
            .chain([Constraint::Fill(1)]),
    )
    .header(Row::new(["key", "fingerprint", "role", "status", "age", "source"]).style(theme.header))
    .block(block(title, theme, state.ring_focus))
    .row_highlight_style(theme.selection)
    .highlight_symbol("▶ ");
    // The selection shows only while the ring has the focus (j/k move the jobs otherwise).
    let mut selected =
        TableState::default().with_selected(state.ring_focus.then_some(state.key_cursor));
    frame.render_stateful_widget(table, area, &mut selected);
}

/// The ring's title says what `X` does here, or why it cannot.
fn ring_title(state: &KeysState, ui: &Ui) -> String {
    match (ui.disabled(Action::RetireKey), state.ring_focus) {
        (Some(Disabled::ReadOnly), _) => {
            " Key ring · read-only session: X retire disabled (start with --write) ".into()
        }
        (Some(Disabled::NotGranted(refused)), _) => format!(
            " Key ring · X retire disabled: role {} lacks {} ",
            refused.role,
            refused.action.as_str()
        ),
        (None, true) => " Key ring · j/k select · X retire the selected key · h/l to jobs ".into(),
        (None, false) => " Key ring · h/l select a key · X retire ".into(),
    }
}

/// The jobs' title: what `R`, `p`, `x` do, or which are disabled and why.
fn jobs_title(ui: &Ui) -> String {
    let writes = [
        (Action::Rotate, "R rotate", "R"),
        (Action::PauseJob, "p pause/resume", "p"),
        (Action::CancelJob, "x cancel", "x"),
    ];
    if writes
        .iter()
        .any(|(a, ..)| ui.disabled(*a) == Some(Disabled::ReadOnly))
    {
        return " Rotation jobs · read-only session: R, p, x disabled (start with --write) ".into();
    }
    let mut parts = vec!["Rotation jobs".to_string()];
    let mut keys = Vec::new();
    let mut lacks: Vec<&str> = Vec::new();
    for (action, what, key) in writes {
        match ui.disabled(action) {
            Some(Disabled::NotGranted(refused)) => {
                keys.push(key);
                if !lacks.contains(&refused.action.as_str()) {
                    lacks.push(refused.action.as_str());
                }
            }
            _ => parts.push(what.to_string()),
        }
    }
    if !keys.is_empty() {
        parts.push(format!(
            "{} disabled: role {} lacks {}",
            keys.join(", "),
            ui.grants.role(),
            lacks.join(", ")
        ));
    }
    format!(" {} ", parts.join(" · "))
}

fn draw_schedule(frame: &mut Frame, area: Rect, state: &KeysState, theme: &Theme) {
    let title = match state.rotation_date {
        Some(d) => format!(" Rotation schedule (last rotation {d}) "),
        None => " Rotation schedule (KEY_ROTATION_DATE not set) ".to_string(),
    };
    let rows = state.schedule.iter().map(|s| {
        let (due, style) = match (s.due, s.overdue) {
            (Some(d), true) => (format!("✗ overdue since {d}"), theme.fail),
            (Some(d), false) => (format!("✓ due {d}"), theme.ok),
            (None, _) => ("? unknown".to_string(), theme.warn),
        };
        Row::new(vec![
            Span::raw(s.classification),
            Span::raw(format!("{} d", s.every_days)),
            Span::styled(due, style),
            Span::raw(s.models.join(", ")),
        ])
    });
    let table = Table::new(
        rows,
        [
            Constraint::Length(10),
            Constraint::Length(6),
            Constraint::Length(27),
            Constraint::Fill(1),
        ],
    )
    .header(Row::new(["class", "every", "next rotation", "models"]).style(theme.header))
    .block(block(title, theme, false));
    frame.render_widget(table, area);
}

/// Rotation jobs as gauges, for the Overview tile: the same gauge, and the same live
/// counts while this console runs a job, as the Keys screen's list.
pub fn draw_jobs(frame: &mut Frame, area: Rect, keys: &KeysState, theme: &Theme) {
    let Some((inner, jobs)) = tile(
        frame,
        area,
        " Rotation jobs ",
        &keys.jobs,
        "rotation jobs",
        theme,
        false,
    ) else {
        return;
    };
    if jobs.is_empty() {
        frame.render_widget(Paragraph::new("no rotation jobs").style(theme.muted), inner);
        return;
    }
    // As wide as the longest `#id table status`, so the status is not cut (it was at 28:
    // `complet`), while the gauge keeps room for its `done/total` label.
    let widest = jobs
        .iter()
        .map(|j| format!("{} {} {}", j.id, j.table, j.status).chars().count())
        .max()
        .unwrap_or(0) as u16;
    let label_width = widest.min(inner.width.saturating_sub(12));
    for (i, job) in jobs.iter().take(inner.height as usize).enumerate() {
        let row = Rect {
            y: inner.y + i as u16,
            height: 1,
            ..inner
        };
        let [label, gauge] =
            Layout::horizontal([Constraint::Length(label_width), Constraint::Fill(1)]).areas(row);
        frame.render_widget(
            Line::from(format!("{} {} {}", job.id, job.table, job.status)).style(theme.base),
            label,
        );
        let live = keys.live_job(job);
        job_gauge::draw(frame, gauge, super::jobs::progress_of(job, live), "", theme);
    }
}

/// Key hints for the message line: the writes, listed, or listed as disabled with the
/// reason (a read-only session; writes the role is not granted, together).
pub fn hints(ui: &Ui) -> Vec<String> {
    let k = |action| ui.keymap.label(action);
    // The census reads only: offered in every session, first.
    let census = format!("{} census", k(Action::Census));
    if ui.read_only {
        return vec![
            census,
            format!(
                "read-only session: {}, {}, {}, {} disabled",
                k(Action::Rotate),
                k(Action::RetireKey),
                k(Action::PauseJob),
                k(Action::CancelJob)
            ),
        ];
    }
    let writes = [
        (Action::Rotate, "rotate"),
        (Action::RetireKey, "retire"),
        (Action::PauseJob, "pause"),
        (Action::CancelJob, "cancel"),
    ];
    let mut parts = vec![census];
    for (action, what) in writes {
        if ui.disabled(action).is_none() {
            parts.push(format!("{} {what}", k(action)));
        }
    }
    let refused = ui.not_granted_keys(&writes.map(|(a, _)| a));
    if !refused.is_empty() {
        parts.push(format!(
            "{} not granted to role {}",
            refused.join(", "),
            ui.grants.role()
        ));
    }
    parts
}
