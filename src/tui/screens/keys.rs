//! Screen 4, Keys & Rotation: the key ring by fingerprint (never a key), the primary key's
//! age, the next rotation each classification asks for, and rotation jobs with gauges.
//! Key facts come from the loaded ring (no I/O); jobs arrive from a background task.
//! j/k move in the focused list (the jobs, or the key ring, where `X` retires a key);
//! h/l move the focus between them.

use chrono::NaiveDate;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Row, Table, TableState};

use super::Loadable;
use crate::config::{Classification, ModelSet};
use crate::crypto::KeyInfo;
use crate::rotation::KeyListing;
use crate::tui::disabled::Disabled;
use crate::tui::keymap::Action;
use crate::tui::overview_data::JobView;
use crate::tui::state::State;
use crate::tui::theme::Theme;
use crate::tui::widgets::fit;
use crate::tui::widgets::job_gauge::{self, JobProgress};
use crate::tui::widgets::{block, tile};

/// One key of the ring, as shown.
#[derive(Clone, Debug, PartialEq)]
pub struct KeyRow {
    pub id: String,
    pub fingerprint: String,
    pub role: String,
    pub source: String,
    /// Days since `KEY_ROTATION_DATE`, for the primary key only.
    pub age_days: Option<i64>,
    /// `active`, `decrypt_only`, `retired`, `destroyed` once the registry (`timber_keys`)
    /// has been read; `None` while it loads.
    pub status: Option<String>,
}

/// When a classification's keys are next due for rotation.
#[derive(Clone, Debug, PartialEq)]
pub struct ScheduleRow {
    pub classification: &'static str,
    pub every_days: i64,
    pub models: Vec<String>,
    pub due: Option<NaiveDate>,
    pub overdue: bool,
}

#[derive(Clone, Debug, Default)]
pub struct KeysState {
    pub keys: Vec<KeyRow>,
    pub rotation_date: Option<NaiveDate>,
    pub schedule: Vec<ScheduleRow>,
    pub jobs: Loadable<Vec<JobView>>,
    /// Jobs this console runs, newest first, from the rotation service's events.
    pub live: Vec<super::keys_live::LiveJob>,
    /// The selected row of the jobs list (pause, resume, cancel act on it).
    pub job_cursor: usize,
    /// The selected key of the ring (retire acts on it).
    pub key_cursor: usize,
    /// True when j/k move in the key ring rather than the jobs.
    pub ring_focus: bool,
}

impl KeysState {
    /// Builds the key facts from the ring's entries, the models and `KEY_ROTATION_DATE`.
    pub fn new(
        entries: &[KeyInfo],
        models: &ModelSet,
        rotation_date: Option<NaiveDate>,
        today: NaiveDate,
    ) -> KeysState {
        let keys = entries
            .iter()
            .map(|k| KeyRow {
                id: k.id.to_string(),
                fingerprint: k.fingerprint.to_string(),
                role: k.role.as_str().to_string(),
                source: k.source.clone(),
                age_days: (k.id == crate::crypto::KeyId::Primary)
                    .then(|| rotation_date.map(|d| (today - d).num_days()))
                    .flatten(),
                status: None,
            })
            .collect();
        let classes = [
            Classification::Critical,
            Classification::Sensitive,
            Classification::Standard,
        ];
        let schedule = classes
            .into_iter()
            .filter_map(|class| {
                let models: Vec<String> = models
                    .models
                    .iter()
                    .filter(|m| m.classification == Some(class))
                    .map(|m| m.name.clone())
                    .collect();
                if models.is_empty() {
                    return None;
                }
                let due = rotation_date.map(|d| d + chrono::Duration::days(class.rotation_days()));
                Some(ScheduleRow {
                    classification: class.as_str(),
                    every_days: class.rotation_days(),
                    models,
                    due,
                    overdue: due.is_some_and(|d| d < today),
                })
            })
            .collect();
        KeysState {
            keys,
            rotation_date,
            schedule,
            jobs: Loadable::Loading,
            live: Vec::new(),
            job_cursor: 0,
            key_cursor: 0,
            ring_focus: false,
        }
    }

    pub fn ring_focused(&self) -> bool {
        self.ring_focus
    }

    pub fn focus_ring(&mut self) {
        self.ring_focus = true;
    }

    /// h/l: the focus moves between the key ring and the jobs.
    pub fn toggle_focus(&mut self) {
        self.ring_focus = !self.ring_focus;
    }

    pub fn selected_key(&self) -> Option<&KeyRow> {
        self.keys.get(self.key_cursor)
    }

    /// j/k in the focused list.
    pub fn move_cursor(&mut self, delta: isize) {
        if self.ring_focus {
            self.key_cursor = self
                .key_cursor
                .saturating_add_signed(delta)
                .min(self.keys.len().saturating_sub(1));
        } else {
            self.move_job(delta);
        }
    }

    /// Adds the registry's status to each configured key, and lists registered keys that
    /// are no longer configured (a retired key, say).
    pub fn apply_registry(&mut self, listing: Vec<KeyListing>) {
        for entry in listing {
            match self
                .keys
                .iter_mut()
                .find(|k| k.fingerprint == entry.fingerprint)
            {
                Some(row) => row.status = Some(entry.status.to_string()),
                None => self.keys.push(KeyRow {
                    id: entry.id,
                    fingerprint: entry.fingerprint,
                    role: entry.role,
                    source: entry.source,
                    age_days: None,
                    status: Some(entry.status.to_string()),
                }),
            }
        }
    }
}

pub fn draw(frame: &mut Frame, area: Rect, root: &State) {
    let (state, theme) = (&root.keys, &root.theme);
    let key_rows = state.keys.len() as u16 + 3;
    let schedule_rows = state.schedule.len().max(1) as u16 + 3;
    let [keys_area, schedule_area, jobs_area] = Layout::vertical([
        Constraint::Length(key_rows),
        Constraint::Length(schedule_rows),
        Constraint::Min(3),
    ])
    .areas(area);
    draw_keys(frame, keys_area, state, theme, ring_title(root));
    draw_schedule(frame, schedule_area, state, theme);
    super::keys_live::draw_jobs(frame, jobs_area, state, theme, jobs_title(root));
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
            let status = k.status.clone().unwrap_or_else(|| "…".into());
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
            let style = match k.status.as_deref() {
                None => theme.muted,
                Some("active" | "decrypt_only") => theme.base,
                Some(_) => theme.warn,
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
fn ring_title(root: &State) -> String {
    match (root.disabled(Action::RetireKey), root.keys.ring_focus) {
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
fn jobs_title(root: &State) -> String {
    let writes = [
        (Action::Rotate, "R rotate", "R"),
        (Action::PauseJob, "p pause/resume", "p"),
        (Action::CancelJob, "x cancel", "x"),
    ];
    if writes
        .iter()
        .any(|(a, ..)| root.disabled(*a) == Some(Disabled::ReadOnly))
    {
        return " Rotation jobs · read-only session: R, p, x disabled (start with --write) ".into();
    }
    let mut parts = vec!["Rotation jobs".to_string()];
    let mut keys = Vec::new();
    let mut lacks: Vec<&str> = Vec::new();
    for (action, what, key) in writes {
        match root.disabled(action) {
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
            root.grants.role(),
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
        job_gauge::draw(frame, gauge, JobProgress::of(job, live), "", theme);
    }
}
