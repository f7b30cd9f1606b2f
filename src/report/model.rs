//! The report's facts (issue 19): one serde struct, gathered once from the census, health,
//! the key registry, the rotation jobs and the audit log. `--format json` serialises it and
//! the HTML is rendered from it, so the two can never tell different stories.
//!
//! Masking: nothing here holds a value or a key. Keys appear as fingerprints, values only
//! as counts, records only by primary key (which every role sees: `RoleRules::level` gives
//! a primary key `reveal` whatever the policy says), reveals by role and reason.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use serde::Serialize;

/// Everything a report says. `data_age` is `None` until the census records token times.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub header: Header,
    /// Encrypted values per model and column (the state now, not the range).
    pub coverage: Vec<Coverage>,
    /// The keys of the ring, by fingerprint, and their status.
    pub keys: Vec<KeyEntry>,
    /// When the data under each key was written: `None` when the census does not record it.
    pub data_age: Option<Vec<DataAge>>,
    pub key_ages: KeyAges,
    pub rotations: Rotations,
    pub health: Health,
    pub reveals: Reveals,
    pub audit: AuditVerdict,
}

/// Who made the report, of what, when, over which range.
#[derive(Clone, Debug, Serialize)]
pub struct Header {
    /// The database URL with any password redacted.
    pub database: String,
    pub generated_at: NaiveDateTime,
    pub tool_version: String,
    pub generated_by: GeneratedBy,
    /// The range the history sections cover (`None`: unbounded on that side).
    pub since: Option<NaiveDateTime>,
    pub until: Option<NaiveDateTime>,
    /// The `report.generate` entry that records this report in the audit log.
    pub audit_entry: Option<i64>,
}

/// The acting user and role, as the audit log records them.
#[derive(Clone, Debug, Serialize)]
pub struct GeneratedBy {
    pub user: String,
    pub role: String,
    /// Set when `user` was named (`--user`, `TIMBER_USER`) rather than the OS account.
    pub asserted_by: Option<String>,
    pub os_user: Option<String>,
}

/// One encrypted column's coverage.
#[derive(Clone, Debug, Serialize)]
pub struct Coverage {
    pub model: String,
    pub table: String,
    pub column: String,
    pub rows: u64,
    pub null: u64,
    /// Values that are tokens under a configured key (any key).
    pub encrypted: u64,
    pub plaintext: u64,
    pub unknown_key: u64,
    pub malformed: u64,
    /// Values per key, labelled by fingerprint (`fp:…`, `per-user (master fp:…)`).
    pub by_key: Vec<KeyCount>,
    pub sampled: bool,
}

impl Coverage {
    /// Share of non-null values that are tokens under a configured key, in percent.
    pub fn percent(&self) -> f64 {
        let judged = self.rows.saturating_sub(self.null);
        if judged == 0 {
            return 100.0;
        }
        self.encrypted as f64 * 100.0 / judged as f64
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct KeyCount {
    pub key: String,
    pub values: u64,
}

/// A key as the census lists it: never the key, its fingerprint.
#[derive(Clone, Debug, Serialize)]
pub struct KeyEntry {
    pub id: String,
    pub fingerprint: String,
    pub source: String,
    pub status: String,
}

/// When the values under one key in one column were written (token times).
#[derive(Clone, Debug, Serialize)]
pub struct DataAge {
    pub model: String,
    pub column: String,
    pub key: String,
    pub values: u64,
    pub oldest: NaiveDateTime,
    pub median: NaiveDateTime,
    pub newest: NaiveDateTime,
}

/// Key ages against the rotation schedule of the models' classifications.
#[derive(Clone, Debug, Serialize)]
pub struct KeyAges {
    /// `KEY_ROTATION_DATE`: the day ENCRYPTION_KEY was put in place.
    pub rotation_date: Option<NaiveDate>,
    pub keys: Vec<KeyAge>,
    /// Per classification used by a model: its period and when the next rotation is due.
    pub schedule: Vec<Schedule>,
    /// The strictest period in force (days), the one the primary key is judged against.
    pub strictest_days: Option<i64>,
    /// Health's `key.age` verdict, as `timber health` words it.
    pub verdict: Option<FindingView>,
}

#[derive(Clone, Debug, Serialize)]
pub struct KeyAge {
    pub id: String,
    pub fingerprint: String,
    pub role: String,
    /// Days since the key was put in place, when known.
    pub age_days: Option<i64>,
    /// Where the age comes from (`KEY_ROTATION_DATE`, `timber_keys activated_at`, ...).
    pub age_from: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Schedule {
    pub classification: String,
    pub every_days: i64,
    pub models: Vec<String>,
    pub due: Option<NaiveDate>,
    pub overdue: bool,
}

/// Rotation jobs started within the range.
#[derive(Clone, Debug, Serialize, Default)]
pub struct Rotations {
    pub jobs: Vec<JobView>,
    pub rows_done: i64,
    pub rows_failed: i64,
    pub failed_jobs: usize,
}

#[derive(Clone, Debug, Serialize)]
pub struct JobView {
    pub id: i64,
    pub table: String,
    pub columns: Vec<String>,
    pub target_fingerprint: String,
    pub status: String,
    pub started_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub duration_seconds: i64,
    pub rows_total: i64,
    pub rows_done: i64,
    pub rows_skipped: i64,
    pub rows_failed: i64,
    pub error: Option<String>,
    /// The first recorded failures (record, column, why; never the value).
    pub failures: Vec<JobFailure>,
}

#[derive(Clone, Debug, Serialize)]
pub struct JobFailure {
    pub record_id: String,
    pub column: String,
    pub reason: String,
}

/// Health findings, worst first.
#[derive(Clone, Debug, Serialize)]
pub struct Health {
    pub status: String,
    pub findings: Vec<FindingView>,
}

#[derive(Clone, Debug, Serialize)]
pub struct FindingView {
    pub id: String,
    pub severity: String,
    pub title: String,
    pub finding: String,
    /// `model.column` or table, when the finding is about one.
    pub place: String,
    pub count: Option<u64>,
    /// Primary keys of affected records (at most ten).
    pub record_ids: Vec<String>,
    pub remedy: String,
}

/// Reveals in the range: how many, by whom (role), why, and when (ISO week).
#[derive(Clone, Debug, Serialize, Default)]
pub struct Reveals {
    pub total: u64,
    pub by_role: Vec<Tally>,
    pub by_reason: Vec<Tally>,
    pub by_week: Vec<WeekTally>,
    /// True when the log held more reveals than the report reads ([`super::gather`]).
    pub truncated: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct Tally {
    pub name: String,
    pub count: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct WeekTally {
    /// ISO week, `2026-W49`.
    pub week: String,
    pub by_role: Vec<Tally>,
}

/// The audit log's verification at the time of the report.
#[derive(Clone, Debug, Serialize)]
pub struct AuditVerdict {
    /// The keyed hash chain (needs MASTER_ENCRYPTION_KEY).
    pub chain: Option<ChainVerdict>,
    /// The signed checkpoints (needs AUDIT_PUBLIC_KEY).
    pub checkpoint: Option<CheckpointVerdict>,
    /// Why a part was not verified, in words.
    pub notes: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ChainVerdict {
    pub ok: bool,
    pub entries: u64,
    pub first_broken: Option<i64>,
    pub reason: Option<String>,
    /// The head hash a later verify can be asked to expect (`--expect-head`).
    pub head: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct CheckpointVerdict {
    pub ok: bool,
    /// The public key's name and fingerprint.
    pub key: String,
    pub checkpoints_verified: u64,
    /// The checkpoint verified against: its id, size (entries) and signing time.
    pub checkpoint_id: Option<i64>,
    pub checkpoint_size: u64,
    pub checkpoint_at: Option<NaiveDateTime>,
    /// Entries newer than that checkpoint (not covered by a signature yet).
    pub uncovered: u64,
    pub reason: Option<String>,
}

/// Counts by name, most first (ties by name).
pub fn tallies(counts: BTreeMap<String, u64>) -> Vec<Tally> {
    let mut out: Vec<Tally> = counts
        .into_iter()
        .map(|(name, count)| Tally { name, count })
        .collect();
    out.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.name.cmp(&b.name)));
    out
}

/// `2026-W49`: the ISO week of a time.
pub fn iso_week(at: &NaiveDateTime) -> String {
    let week = at.date().iso_week();
    format!("{}-W{:02}", week.year(), week.week())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weeks_are_iso_weeks_and_tallies_sort_most_first() {
        let at = NaiveDate::from_ymd_opt(2027, 1, 1)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap();
        assert_eq!(iso_week(&at), "2026-W53");
        let mut counts = BTreeMap::new();
        counts.insert("viewer".to_string(), 1);
        counts.insert("support".to_string(), 3);
        counts.insert("auditor".to_string(), 1);
        let names: Vec<String> = tallies(counts).into_iter().map(|t| t.name).collect();
        assert_eq!(names, ["support", "auditor", "viewer"]);
    }
}
