//! `timber report` and the console's `:report` (issue 19): evidence for auditors, made from
//! the data itself. [`generate`] gathers the facts into one [`Report`] (and records the
//! report in the audit log); [`to_html`] renders the self-contained HTML page from it, and
//! [`to_json`] serialises the same struct, so both formats hold the same facts.
//!
//! - [`model`]: the facts (serde), which hold no value and no key;
//! - `gather`: the use case, over `health`, `audit`, `access` and the store's rotation
//!   and key tables;
//! - [`charts`]: the charts, inline SVG drawn by plotters;
//! - [`html`]: the page.
//!
//! Who may make a report: every role. A report only shows what `timber health`,
//! `census`, `jobs` and `audit` already show every role (counts, fingerprints, primary
//! keys, reveal reasons), so it needs no grant of its own; it is audited instead
//! (`report.generate`, with the role), and refused when that entry cannot be written.

pub mod charts;
mod gather;
pub mod html;
pub mod model;

pub use gather::{ReportError, ReportRequest, generate};
pub use model::Report;

/// The report as one HTML page.
pub fn to_html(report: &Report) -> String {
    html::render(report)
}

/// The report as pretty JSON (the same struct the HTML is drawn from).
pub fn to_json(report: &Report) -> String {
    // Every field is a string, number, bool, date or list of them: serialising cannot fail.
    serde_json::to_string_pretty(report).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

/// The file name a report gets when none is given: `timber-report-20261206T141500Z.html`.
pub fn default_file_name(now: &chrono::NaiveDateTime, format: &str) -> String {
    format!("timber-report-{}.{format}", now.format("%Y%m%dT%H%M%SZ"))
}
