//! Drawing of the Keys screen's rotation jobs: one gauge per job, with the live counters
//! (rate, ETA, conflicts) of the jobs this console runs.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::Paragraph;

use super::KeysState;
use super::jobs::{JobView, LiveJob, progress_of};
use crate::tui::theme::Theme;
use crate::tui::widgets::job_gauge;
use crate::tui::widgets::tile;

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
    // ETA and the conflicts; a job split into chunks names its workers and chunks, and the
    // selected one each worker's rate.
    let details: Vec<String> = lives
        .iter()
        .zip(&rows)
        .enumerate()
        .map(|(i, (live, job))| {
            let text = detail_of(*live, job);
            // One worker's rate is the job's: named only when several share the job.
            if i == state.job_cursor && job.workers.len() > 1 {
                format!("{text} · {}", job.workers.join(", "))
            } else {
                text
            }
        })
        .collect();
    // Columns as wide as their text: a fixed 30-column label cut the status (`completed`
    // showed as `complet`) while the counters' column stood mostly empty.
    let width = |s: &str| s.chars().count() as u16;
    let extra_width = details
        .iter()
        .map(|d| width(d))
        .max()
        .unwrap_or(0)
        .min(inner.width / 2);
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
            }) if !job.status.has_ended() => format!(" · limited to {rate} rows/s"),
            _ => String::new(),
        };
        job_gauge::draw(frame, gauge, progress_of(job, live), &limit, theme);
        frame.render_widget(Line::styled(detail, theme.muted), extra);
    }
}

/// A job's detail column: the live rate, ETA and conflicts of a job this console runs, and
/// the workers and chunks of a job split into chunks.
fn detail_of(live: Option<&LiveJob>, job: &JobView) -> String {
    let fleet = if job.fleet.is_empty() {
        String::new()
    } else {
        format!(" · {}", job.fleet)
    };
    match live {
        Some(l) => {
            let eta = l.eta_seconds.map_or("–".into(), |s| format!("{s:.0}s"));
            // Conflicts (rows the application wrote meanwhile, left for it) are named only
            // when there are some; `≠0` said nothing to anyone.
            let conflicts = match l.conflicts {
                0 => String::new(),
                1 => " · 1 conflict".into(),
                n => format!(" · {n} conflicts"),
            };
            format!(" {:.0} rows/s · eta {eta}{conflicts}{fleet}", l.rate)
        }
        None if job.fleet.is_empty() => String::new(),
        None => format!(" {}", job.fleet),
    }
}
