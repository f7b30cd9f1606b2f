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
    /// The check's family (`key`, `data`, `schema`, ...): KEY findings come first within a
    /// severity.
    pub family: String,
    /// Where: `Customer.email` (model.column), a model, a table; empty when nowhere.
    pub place: String,
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
    /// The selected row of [`HealthState::rows`].
    pub selected: usize,
    /// Only findings of this severity (`v` cycles fail, warn, ok, all).
    pub severity: Option<&'static str>,
    /// Where `e` writes the JSON report (empty: the working directory).
    pub export_dir: std::path::PathBuf,
    /// The run in progress, if one is (a second one is refused meanwhile).
    pub run: Option<HealthRun>,
    /// Groups of repeated findings (check id, severity) shown expanded.
    pub expanded: std::collections::BTreeSet<(String, String)>,
}

/// One row of the findings list.
#[derive(Clone, Debug, PartialEq)]
pub enum HealthRow<'a> {
    /// A finding alone, or (`member`) one of an expanded group's.
    Finding { finding: &'a Finding, member: bool },
    /// Several findings of one check at one severity (`data.old_key ×10`): `enter` expands
    /// and collapses it.
    Group {
        findings: Vec<&'a Finding>,
        expanded: bool,
    },
}

impl<'a> HealthRow<'a> {
    /// The finding the detail pane describes: the row's, or a group's first.
    pub fn finding(&self) -> Option<&'a Finding> {
        match self {
            HealthRow::Finding { finding, .. } => Some(finding),
            HealthRow::Group { findings, .. } => findings.first().copied(),
        }
    }
}

impl HealthState {
    /// Findings worst first (fail, warn, ok), KEY findings first within a severity, then
    /// the other families, the findings of one check together, in check order; only the
    /// chosen severity when filtered. At 80x24 a KEY failure is on the first rows.
    pub fn sorted(&self) -> Vec<&Finding> {
        let all: Vec<&Finding> = self
            .view
            .ready()
            .map(|v| v.findings.iter().collect())
            .unwrap_or_default();
        let first_of = |id: &str| all.iter().position(|f| f.id == id).unwrap_or(0);
        let mut keyed: Vec<(u8, u8, usize, usize, &Finding)> = all
            .iter()
            .enumerate()
            .filter(|(_, f)| self.severity.is_none_or(|s| f.severity == s))
            .map(|(i, f)| {
                (
                    rank(&f.severity),
                    family_rank(&f.family),
                    first_of(&f.id),
                    i,
                    *f,
                )
            })
            .collect();
        keyed.sort_by_key(|(a, b, c, d, _)| (*a, *b, *c, *d));
        keyed.into_iter().map(|(.., f)| f).collect()
    }

    /// The list's rows: repeats of a check at one severity as one group row (its members
    /// under it when expanded), every other finding on its own row.
    pub fn rows(&self) -> Vec<HealthRow<'_>> {
        let sorted = self.sorted();
        let mut rows = Vec::new();
        let mut i = 0;
        while i < sorted.len() {
            let f = sorted[i];
            let run = sorted[i..]
                .iter()
                .take_while(|g| g.id == f.id && g.severity == f.severity)
                .count();
            if run == 1 {
                rows.push(HealthRow::Finding {
                    finding: f,
                    member: false,
                });
            } else {
                let expanded = self.expanded.contains(&(f.id.clone(), f.severity.clone()));
                let members = sorted[i..i + run].to_vec();
                rows.push(HealthRow::Group {
                    findings: members.clone(),
                    expanded,
                });
                if expanded {
                    rows.extend(members.into_iter().map(|finding| HealthRow::Finding {
                        finding,
                        member: true,
                    }));
                }
            }
            i += run;
        }
        rows
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

    /// The finding of the selected row (a group's first).
    pub fn selected_finding(&self) -> Option<&Finding> {
        self.rows().get(self.selected).and_then(HealthRow::finding)
    }

    pub fn move_by(&mut self, delta: isize) {
        let len = self.rows().len();
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

/// Families in the order an on-call engineer reads them: keys, then the data they protect.
fn family_rank(family: &str) -> u8 {
    match family.to_ascii_lowercase().as_str() {
        "key" => 0,
        "data" => 1,
        "schema" => 2,
        "audit" => 3,
        "rotation" => 4,
        "conn" => 5,
        "env" => 6,
        _ => 7,
    }
}
