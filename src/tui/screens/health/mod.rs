//! Screen 5, Health: every finding of the health checks (the same checks as `timber
//! health`), worst first, with its remedy; the run in the background with its progress
//! (one at a time), export of the JSON report, and the jump from a finding to the Data
//! screen at the record its evidence names.
//!
//! - this file: the state and its messages; `progress.rs`: a run in progress;
//! - `actions.rs`: keys and applying messages; `loaders.rs`: the run;
//! - `view.rs`, `progress_view.rs`: drawing.

mod actions;
pub mod loaders;
mod progress;
pub mod progress_view;
pub mod view;

use crate::tui::context::Loadable;

pub use progress::{HealthRun, HealthTick};

/// What this screen asks the root to do (it has no popup).
pub type Effect = crate::tui::context::Effect<Msg, std::convert::Infallible>;

/// Answers of this screen's background work.
#[derive(Debug)]
pub enum Msg {
    /// Where a running health check is (many per run, before its `Finished`).
    Progress(HealthTick),
    Finished(Result<HealthView, String>),
}

/// One health finding (DESIGN §9): never a value.
#[derive(Clone, Debug, PartialEq)]
pub struct Finding {
    pub id: String,
    /// `ok`, `warn` or `fail`.
    pub severity: String,
    pub title: String,
    pub finding: String,
    pub remedy: String,
    /// `KEYS`, `DATA`, `SCHEMA`, `OPS`: findings are grouped by it.
    pub family: String,
    /// Where and how much (`Customer.email · 12 · ids 3, 9`); never a value.
    pub evidence: String,
    /// The model and first record the evidence names (the jump to the Data screen).
    pub model: Option<String>,
    pub record_id: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Default)]
pub struct HealthView {
    pub findings: Vec<Finding>,
    /// The whole report as `timber health --format json` prints it (for export).
    pub report_json: String,
}

impl HealthView {
    pub fn count(&self, severity: &str) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == severity)
            .count()
    }
}

#[derive(Clone, Debug, Default)]
pub struct HealthState {
    pub view: Loadable<HealthView>,
    pub selected: usize,
    /// Only findings of this severity (`v` cycles fail, warn, ok, all).
    pub severity: Option<&'static str>,
    /// Where `e` writes the JSON report (empty: the working directory).
    pub export_dir: std::path::PathBuf,
    /// The run in progress, if one is (a second one is refused meanwhile).
    pub run: Option<HealthRun>,
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
