//! Text reports for people: readable at a glance, grouped by family, one line per finding
//! with counts right-aligned in their own column. `--format json` uses `to_json` instead.
//!
//! ```text
//! timber health: FAIL  (sqlite://timber.db, 4 models, 2000 rows read)
//!
//! KEY
//!   ok    key.primary          primary fp:1a2b3c4d5e6f from env ENCRYPTION_KEY is a valid Fernet key
//!   WARN  key.weak             primary fp:1a2b… from ENCRYPTION_KEY is a demo key …
//!         fix: Replace ENCRYPTION_KEY with a new key …
//! DATA
//!   FAIL  data.plaintext       UserProfile.phone             3  3 values are stored in clear …  [ids: a, b, c]
//! ```

use std::fmt::Write;

use super::census::Census;
use super::report::{Finding, HealthReport, Severity, family};
use crate::plural::count;

fn badge(severity: Severity) -> &'static str {
    match severity {
        Severity::Ok => "ok  ",
        Severity::Warn => "WARN",
        Severity::Fail => "FAIL",
    }
}

/// The health report as text. `ok` findings are listed too (one line each), so the report
/// shows what was checked, not only what failed.
pub fn health_text(report: &HealthReport) -> String {
    let mut out = String::new();
    let facts = &report.facts;
    let sample = facts.sample.map_or(String::new(), |n| {
        format!(", sampled: at most {n} rows per table")
    });
    let _ = writeln!(
        out,
        "timber health: {}  ({}, {}, {} read{sample})",
        report.status().as_str().to_uppercase(),
        facts.database,
        count(facts.models as u64, "model"),
        count(facts.rows_scanned, "row"),
    );
    let id_width = report
        .findings
        .iter()
        .map(|f| f.id.len())
        .max()
        .unwrap_or(0);
    let place_width = report
        .findings
        .iter()
        .map(|f| f.evidence.place().chars().count())
        .max()
        .unwrap_or(0)
        .min(40);
    let count_width = report
        .findings
        .iter()
        .filter_map(|f| f.evidence.count)
        .map(|c| c.to_string().len())
        .max()
        .unwrap_or(1);
    let mut current = "";
    for finding in &report.findings {
        let fam = family(finding.id);
        if fam != current {
            let _ = writeln!(out, "\n{}", fam.to_uppercase());
            current = fam;
        }
        let _ = writeln!(
            out,
            "{}",
            finding_line(finding, id_width, place_width, count_width)
        );
        if finding.severity != Severity::Ok && !finding.remedy.is_empty() {
            let _ = writeln!(out, "  {:4}  {:id_width$}  fix: {}", "", "", finding.remedy);
        }
    }
    let counts = |s: Severity| report.findings.iter().filter(|f| f.severity == s).count();
    let _ = writeln!(
        out,
        "\n{} fail, {} warn, {} ok",
        counts(Severity::Fail),
        counts(Severity::Warn),
        counts(Severity::Ok)
    );
    out
}

fn finding_line(f: &Finding, id_width: usize, place_width: usize, count_width: usize) -> String {
    let place: String = f.evidence.place().chars().take(place_width).collect();
    let count = f.evidence.count.map_or(String::new(), |c| c.to_string());
    let mut line = format!(
        "  {}  {:id_width$}  {:place_width$}  {:>count_width$}  {}",
        badge(f.severity),
        f.id,
        place,
        count,
        f.finding
    );
    if !f.evidence.record_ids.is_empty() {
        let _ = write!(line, "  [ids: {}]", f.evidence.record_ids.join(", "));
    }
    line.trim_end().to_string()
}

/// The census as text: the keys, then one line per column with counts aligned.
pub fn census_text(census: &Census) -> String {
    let mut out = String::from("KEYS\n");
    let id_w = census.keys.iter().map(|k| k.id.len()).max().unwrap_or(2);
    let fp_w = census
        .keys
        .iter()
        .map(|k| k.fingerprint.len())
        .max()
        .unwrap_or(2);
    let st_w = census
        .keys
        .iter()
        .map(|k| k.status.as_str().len())
        .max()
        .unwrap_or(2);
    for k in &census.keys {
        let _ = writeln!(
            out,
            "  {:id_w$}  {:fp_w$}  {:st_w$}  {}",
            k.id, k.fingerprint, k.status, k.source
        );
    }
    if census.keys.is_empty() {
        out.push_str("  (no keys configured)\n");
    }
    let place = |c: &super::census::CensusColumn| format!("{}.{}", c.model, c.column);
    let place_w = census
        .columns
        .iter()
        .map(|c| place(c).len())
        .max()
        .unwrap_or(6)
        .max(6);
    let mut labels: Vec<&str> = Vec::new();
    for c in &census.columns {
        for (label, _) in &c.by_key {
            if !labels.contains(&label.as_str()) {
                labels.push(label);
            }
        }
    }
    let num_w = |title: &str| title.len().max(7);
    let mut header = format!(
        "\nCOLUMNS\n  {:place_w$}  {:>7}  {:>7}",
        "column", "rows", "null"
    );
    for label in &labels {
        let _ = write!(header, "  {:>w$}", label, w = num_w(label));
    }
    let _ = write!(
        header,
        "  {:>9}  {:>11}  {:>9}",
        "plaintext", "unknown_key", "malformed"
    );
    out.push_str(header.trim_end());
    out.push('\n');
    for c in &census.columns {
        let mut line = format!("  {:place_w$}  {:>7}  {:>7}", place(c), c.rows, c.null);
        for label in &labels {
            let n = c
                .by_key
                .iter()
                .find(|(l, _)| l == label)
                .map_or(0, |(_, n)| *n);
            let _ = write!(line, "  {:>w$}", n, w = num_w(label));
        }
        let _ = write!(
            line,
            "  {:>9}  {:>11}  {:>9}",
            c.plaintext, c.unknown_key, c.malformed
        );
        if c.sampled {
            line.push_str("  (sampled)");
        }
        out.push_str(&line);
        out.push('\n');
    }
    if census.columns.is_empty() {
        out.push_str("  (no encrypted columns)\n");
    }
    out
}
