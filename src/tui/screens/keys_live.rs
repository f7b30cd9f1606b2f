//! Rotation jobs on the Keys screen: every process's jobs from the jobs table (polled), and
//! for jobs this console runs, the live counters of the rotation service's events (rate,
//! ETA, failures, conflicts). One gauge per job; the selected job takes pause and cancel.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::Paragraph;

use super::keys::KeysState;
use crate::rotation::RotationEvent;
use crate::tui::overview_data::JobView;
use crate::tui::theme::Theme;
use crate::tui::widgets::job_gauge::{self, JobProgress, is_final};
use crate::tui::widgets::tile;

/// A job this console runs, as its last event told.
#[derive(Clone, Debug, PartialEq)]
pub struct LiveJob {
    pub job: i64,
    pub model: String,
    pub table: String,
    pub status: String,
    pub total: u64,
    pub handled: u64,
    pub failed: u64,
    pub conflicts: u64,
    pub rate: f64,
    pub eta_seconds: Option<f64>,
    /// The job's rate limit in rows per second, shown on its gauge.
    pub max_rate: Option<u64>,
}

impl KeysState {
    /// Folds one event of a rotation this console runs into its live job.
    pub fn apply_event(&mut self, event: &RotationEvent) {
        match event {
            RotationEvent::Started {
                job,
                model,
                table,
                total,
                resumed,
                max_rate,
            } => {
                self.live.retain(|l| l.job != *job);
                self.live.insert(
                    0,
                    LiveJob {
                        job: *job,
                        model: model.clone(),
                        table: table.clone(),
                        status: if *resumed { "resumed" } else { "running" }.into(),
                        total: *total,
                        handled: 0,
                        failed: 0,
                        conflicts: 0,
                        rate: 0.0,
                        eta_seconds: None,
                        max_rate: *max_rate,
                    },
                );
            }
            RotationEvent::Batch {
                job,
                total,
                done,
                skipped,
                failed,
                conflicts,
                rate,
                eta_seconds,
            } => {
                if let Some(live) = self.live.iter_mut().find(|l| l.job == *job) {
                    live.total = *total;
                    live.handled = done + skipped + failed;
                    live.failed = *failed;
                    live.conflicts = *conflicts;
                    live.rate = *rate;
                    live.eta_seconds = *eta_seconds;
                }
            }
            RotationEvent::Done(summary) => {
                if let Some(live) = self.live.iter_mut().find(|l| l.job == summary.job) {
                    live.status = summary.status.as_str().to_string();
                    live.total = summary.rows_total;
                    live.handled = summary.rows_done + summary.rows_skipped + summary.rows_failed;
                    live.failed = summary.rows_failed;
                    live.conflicts = summary.conflicts;
                    live.eta_seconds = None;
                }
            }
            RotationEvent::Failed { job, .. } => {
                if let Some(live) = self.live.iter_mut().find(|l| l.job == *job) {
                    live.status = "failed".into();
                }
            }
        }
    }

    /// The live counters of `job` when this console runs it.
    pub fn live_job(&self, job: &JobView) -> Option<&LiveJob> {
        let id: i64 = job.id.trim_start_matches('#').parse().ok()?;
        self.live.iter().find(|l| l.job == id)
    }

    /// The id of the selected job of the jobs table.
    pub fn selected_job(&self) -> Option<(i64, String)> {
        let jobs = self.jobs.ready()?;
        let job = jobs.get(self.job_cursor)?;
        let id = job.id.trim_start_matches('#').parse().ok()?;
        Some((id, job.status.clone()))
    }

    pub fn move_job(&mut self, delta: isize) {
        let len = self.jobs.ready().map_or(0, Vec::len);
        self.job_cursor = self
            .job_cursor
            .saturating_add_signed(delta)
            .min(len.saturating_sub(1));
    }
}

/// The jobs table with gauges; live counters where this console runs the job.
/// `title` says what R, p, x do, or why they are disabled (`keys::jobs_title`).
pub fn draw_jobs(frame: &mut Frame, area: Rect, state: &KeysState, theme: &Theme, title: String) {
    let Some((inner, jobs)) = tile(
        frame,
        area,
        &title,
        &state.jobs,
        "rotation jobs",
        theme,
        !state.ring_focus,
    ) else {
        return;
    };
    if jobs.is_empty() {
        frame.render_widget(Paragraph::new("no rotation jobs").style(theme.muted), inner);
        return;
    }
    let rows: Vec<_> = jobs.iter().take(inner.height as usize).collect();
    let lives: Vec<Option<&LiveJob>> = rows.iter().map(|job| state.live_job(job)).collect();
    // Failures are on the gauge (the same for every job); the live extras are the rate, the
    // ETA and the conflicts.
    let details: Vec<String> = lives
        .iter()
        .map(|live| match live {
            Some(l) => {
                let eta = l.eta_seconds.map_or("–".into(), |s| format!("{s:.0}s"));
                format!(" {:.0} r/s eta {eta} ≠{}", l.rate, l.conflicts)
            }
            None => String::new(),
        })
        .collect();
    // Columns as wide as their text: a fixed 30-column label cut the status (`completed`
    // showed as `complet`) while the counters' column stood mostly empty.
    let width = |s: &str| s.chars().count() as u16;
    let extra_width = details.iter().map(|d| width(d)).max().unwrap_or(0).min(30);
    let widest = rows
        .iter()
        .map(|j| 2 + width(&format!("{} {} {}", j.id, j.table, j.status)))
        .max()
        .unwrap_or(0);
    let label_width = widest.min(inner.width.saturating_sub(extra_width + 10));
    for (i, ((job, live), detail)) in rows.iter().zip(lives).zip(details).enumerate() {
        let row = Rect {
            y: inner.y + i as u16,
            height: 1,
            ..inner
        };
        let [label, gauge, extra] = Layout::horizontal([
            Constraint::Length(label_width),
            Constraint::Fill(1),
            Constraint::Length(extra_width),
        ])
        .areas(row);
        let mark = if i == state.job_cursor { "▶ " } else { "  " };
        let style = if i == state.job_cursor {
            theme.selection
        } else {
            theme.base
        };
        let text = format!("{mark}{} {} {}", job.id, job.table, job.status);
        frame.render_widget(Line::styled(text, style), label);
        // A limited job says so on its gauge while it runs (the gauge has the most room).
        let limit = match live {
            Some(LiveJob {
                max_rate: Some(rate),
                ..
            }) if !is_final(&job.status) => format!(" · limited to {rate} rows/s"),
            _ => String::new(),
        };
        job_gauge::draw(frame, gauge, JobProgress::of(job, live), &limit, theme);
        frame.render_widget(Line::styled(detail, theme.muted), extra);
    }
}
