//! The one gauge of a rotation job, shared by the Overview tile and the Keys screen (they
//! had a copy each and disagreed: 1998/2000 on one, 2000/2000 on the other, for the same
//! job). Its count is always rows *handled*: done + skipped + failed, every row the job has
//! dealt with; failures are also shown apart as `✗n`. A finished job with failures is full.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::Gauge;

use crate::tui::theme::Theme;

/// What a job's gauge shows: rows handled of the total, and how many of them failed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct JobProgress {
    pub handled: u64,
    pub total: u64,
    pub failed: u64,
}

impl JobProgress {
    pub fn ratio(&self) -> f64 {
        if self.total == 0 {
            1.0
        } else {
            (self.handled as f64 / self.total as f64).clamp(0.0, 1.0)
        }
    }
}

/// Draws the gauge in `area`: `handled/total handled ✗failed` plus `note` (a rate limit),
/// dropping the word `handled`, then the note, when the area is too narrow for them.
pub fn draw(
    frame: &mut Frame,
    area: Rect,
    progress: Option<JobProgress>,
    note: &str,
    theme: &Theme,
) {
    let Some(p) = progress else {
        frame.render_widget(Line::from("progress not reported").style(theme.muted), area);
        return;
    };
    let failed = if p.failed > 0 {
        format!(" ✗{}", p.failed)
    } else {
        String::new()
    };
    let count = format!("{}/{}", p.handled, p.total);
    let width = area.width as usize;
    let label = [
        format!("{count} handled{failed}{note}"),
        format!("{count}{failed}{note}"),
        format!("{count}{failed}"),
    ]
    .into_iter()
    .find(|l| l.chars().count() <= width)
    .unwrap_or_else(|| format!("{count}{failed}"));
    frame.render_widget(
        Gauge::default()
            .ratio(p.ratio())
            .label(label)
            .gauge_style(theme.gauge),
        area,
    );
}
