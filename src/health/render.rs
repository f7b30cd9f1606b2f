//! Text reports for people: worst first, one header line per finding (or group of
//! findings of one check), the evidence on its own indented lines, wrapped to the width
//! given (the terminal's). `--format json` uses `to_json` instead.
//!
//! ```text
//! timber health: FAIL  (sqlite://timber.db, 4 models, 2000 rows read)
//!
//! FAIL  data.plaintext         UserProfile.phone      3
//!       3 values are stored in clear …
//!       ids: a, b, c
//!       fix: `timber rotate --model UserProfile --encrypt-plaintext`
//!
//! WARN  data.old_key ×2
//!       UserProfile.email    312  312 values are still under old_1 …
//!       UserProfile.phone     40  40 values are still under old_1 …
//!       fix: `timber rotate --all` …
//!
//! ok    key.primary                                   primary fp:1a2b3c4d5e6f … is valid
//! ```

use std::fmt::Write;

use super::census::Census;
use super::report::{Finding, FindingGroup, HealthReport, Severity};
use crate::plural::count;

fn badge(severity: Severity) -> &'static str {
    match severity {
        Severity::Ok => "ok  ",
        Severity::Warn => "WARN",
        Severity::Fail => "FAIL",
    }
}

/// Where evidence lines start: under the check id.
const INDENT: usize = 6;
/// The narrowest width the report is laid out for; below it lines simply run longer.
const MIN_WIDTH: usize = 40;

/// `text` broken at spaces into lines of at most `width` characters: the first line starts
/// with `first`, the others with `rest` (a word longer than a line is kept whole).
fn wrap(text: &str, first: &str, rest: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = first.to_string();
    let mut empty = true;
    for word in text.split_whitespace() {
        let len = line.chars().count();
        if !empty && len + 1 + word.chars().count() > width {
            lines.push(std::mem::replace(&mut line, rest.to_string()));
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line.push_str(word);
        empty = false;
    }
    lines.push(line);
    lines
}

/// `place` cut to `width` characters (with `…`), padded to it.
fn fit(place: &str, width: usize) -> String {
    let chars = place.chars().count();
    if chars <= width {
        return format!("{place:width$}");
    }
    let cut: String = place.chars().take(width.saturating_sub(1)).collect();
    format!("{cut}…")
}

/// The health report as text, `width` columns wide (the terminal's; at least 40 are
/// used). Findings come worst first (fail, warn, ok), repeats of one check grouped
/// (`data.old_key ×10`, one line per place, the first ids of a failure under it); each
/// warning and failure has its finding, record ids and fix on indented lines of their own. `ok` findings are listed too, one
/// line each, so the report shows what was checked, not only what failed.
pub fn health_text(report: &HealthReport, width: usize) -> String {
    let width = width.max(MIN_WIDTH);
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
    let groups = report.grouped();
    let layout = Layout::of(&groups, width);
    let mut previous = None;
    for group in &groups {
        // A blank line before each warning or failure, and before the first `ok`.
        if group.severity != Severity::Ok || previous != Some(Severity::Ok) {
            out.push('\n');
        }
        previous = Some(group.severity);
        layout.group(&mut out, group);
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

/// Record ids a grouped finding lists in text (the JSON lists up to ten).
const GROUP_IDS: usize = 3;

/// Column widths shared by every line of a report.
struct Layout {
    width: usize,
    /// The check id (with `×N`) column.
    id: usize,
    /// The place column (`model.column`) of single findings' header lines.
    place: usize,
    /// The count column of single findings' header lines.
    count: usize,
}

/// The widest of `items`, at most `cap`.
fn widest<'f>(
    items: impl Iterator<Item = &'f Finding>,
    measure: impl Fn(&Finding) -> usize,
) -> usize {
    items.map(measure).max().unwrap_or(0)
}

fn count_width(f: &Finding) -> usize {
    f.evidence.count.map_or(0, |c| c.to_string().len())
}

fn place_width(f: &Finding) -> usize {
    f.evidence.place().chars().count()
}

impl Layout {
    fn of(groups: &[FindingGroup<'_>], width: usize) -> Layout {
        let id = groups
            .iter()
            .map(|g| g.label().chars().count())
            .max()
            .unwrap_or(0);
        let singles = || {
            groups
                .iter()
                .filter(|g| g.findings.len() == 1 && g.severity != Severity::Ok)
                .flat_map(|g| g.findings.iter().copied())
        };
        let count = widest(singles(), count_width);
        // The place takes what the header line leaves, at most 40 and at least 12.
        let room = width.saturating_sub(INDENT + id + 2 + 2 + count);
        let longest = widest(singles(), place_width);
        let place = longest.min(40).min(room).max(12.min(longest));
        Layout {
            width,
            id,
            place,
            count,
        }
    }

    fn group(&self, out: &mut String, group: &FindingGroup<'_>) {
        let head = format!(
            "{}  {:w$}",
            badge(group.severity),
            group.label(),
            w = self.id
        );
        let evidence = " ".repeat(INDENT);
        if group.severity == Severity::Ok {
            // One line each (wrapped under the finding): what was checked and found fine.
            let hang = " ".repeat(INDENT + self.id + 2);
            for (n, finding) in group.findings.iter().enumerate() {
                let place = finding.evidence.place();
                let text = if place.is_empty() {
                    finding.finding.clone()
                } else {
                    format!("{place}: {}", finding.finding)
                };
                let first = if n == 0 {
                    format!("{head}  ")
                } else {
                    hang.clone()
                };
                self.lines(out, &text, &first, &hang);
            }
            return;
        }
        if let [finding] = group.findings.as_slice() {
            let place = fit(&finding.evidence.place(), self.place);
            let n = finding
                .evidence
                .count
                .map_or(String::new(), |c| c.to_string());
            let head = format!("{head}  {place}  {n:>w$}", w = self.count);
            let _ = writeln!(out, "{}", head.trim_end());
            self.lines(out, &finding.finding, &evidence, &evidence);
            self.ids(out, &finding.evidence.record_ids, &evidence);
            self.fixes(out, std::iter::once(*finding), &evidence);
            return;
        }
        let _ = writeln!(out, "{}", head.trim_end());
        // One line per place: place, count, finding; the group's own column widths.
        let members = || group.findings.iter().copied();
        let place_w = widest(members(), place_width)
            .min(40)
            .min(self.width * 2 / 5);
        let count_w = widest(members(), count_width);
        for finding in members() {
            let mut first = evidence.clone();
            if place_w > 0 {
                first.push_str(&fit(&finding.evidence.place(), place_w));
                first.push_str("  ");
            }
            if count_w > 0 {
                let n = finding
                    .evidence
                    .count
                    .map_or(String::new(), |c| c.to_string());
                first.push_str(&format!("{n:>count_w$}  "));
            }
            // Continuation lines go under the finding when that leaves room, else deeper
            // than the place so they still read as belonging to it.
            let hang = first.chars().count();
            let rest = if self.width.saturating_sub(hang) >= 30 {
                " ".repeat(hang)
            } else {
                " ".repeat(INDENT + 2)
            };
            self.lines(out, &finding.finding, &first, &rest);
            // A group's warnings are about volume (values under an old key): their ids are
            // in the JSON. A failure's first ids say where to look.
            let ids = &finding.evidence.record_ids;
            if !ids.is_empty() && group.severity == Severity::Fail {
                let mut shown = ids
                    .iter()
                    .take(GROUP_IDS)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ");
                if ids.len() > GROUP_IDS {
                    shown.push_str(&format!(" (+{} in --format json)", ids.len() - GROUP_IDS));
                }
                let deeper = " ".repeat(INDENT + 2);
                self.lines(
                    out,
                    &shown,
                    &format!("{deeper}ids: "),
                    &format!("{deeper}     "),
                );
            }
        }
        self.fixes(out, members(), &evidence);
    }

    /// A finding's record ids on their own indented lines.
    fn ids(&self, out: &mut String, ids: &[String], indent: &str) {
        if !ids.is_empty() {
            let ids = ids.join(", ");
            self.lines(
                out,
                &ids,
                &format!("{indent}ids: "),
                &format!("{indent}     "),
            );
        }
    }

    /// Each distinct remedy of the findings once, in order.
    fn fixes<'f>(
        &self,
        out: &mut String,
        findings: impl Iterator<Item = &'f Finding>,
        indent: &str,
    ) {
        let mut seen: Vec<&str> = Vec::new();
        for finding in findings {
            let remedy = finding.remedy.as_str();
            if remedy.is_empty() || seen.contains(&remedy) {
                continue;
            }
            seen.push(remedy);
            self.lines(
                out,
                remedy,
                &format!("{indent}fix: "),
                &format!("{indent}     "),
            );
        }
    }

    fn lines(&self, out: &mut String, text: &str, first: &str, rest: &str) {
        for line in wrap(text, first, rest, self.width) {
            let _ = writeln!(out, "{}", line.trim_end());
        }
    }
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
    census_ages(census, &mut out);
    out
}

/// The DATA AGE section: per column and key, the oldest, median and newest token time
/// (UTC dates), so "old_1 still encrypts values from 2024-03" is read off directly.
fn census_ages(census: &Census, out: &mut String) {
    let key_name = |label: &str| {
        census
            .keys
            .iter()
            .find(|k| k.fingerprint == label)
            .map_or_else(|| label.to_string(), |k| format!("{} {}", k.id, label))
    };
    let rows: Vec<(String, String, u64, &super::TokenAge)> = census
        .columns
        .iter()
        .flat_map(|c| {
            c.ages.iter().map(move |(label, age)| {
                let n = c
                    .by_key
                    .iter()
                    .find(|(l, _)| l == label)
                    .map_or(0, |(_, n)| *n);
                (format!("{}.{}", c.model, c.column), key_name(label), n, age)
            })
        })
        .collect();
    if rows.is_empty() {
        return;
    }
    let place_w = rows.iter().map(|r| r.0.len()).max().unwrap_or(6).max(6);
    let key_w = rows.iter().map(|r| r.1.len()).max().unwrap_or(3).max(3);
    let day = |t: &chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%d").to_string();
    let _ = writeln!(
        out,
        "\nDATA AGE (token times, UTC)\n  {:place_w$}  {:key_w$}  {:>7}  {:10}  {:10}  newest",
        "column", "key", "values", "oldest", "median"
    );
    for (place, key, n, age) in rows {
        let _ = writeln!(
            out,
            "  {place:place_w$}  {key:key_w$}  {n:>7}  {}  {}  {}",
            day(&age.oldest),
            day(&age.median),
            day(&age.newest)
        );
    }
}
