//! What the Overview, Audit, Keys and Health screens show, as plain data, and the
//! background adapters that gather it from the `audit` (and later `health`, `rotation`)
//! services. Nothing here holds a value or a key.

use std::sync::Arc;

use chrono::{DateTime, NaiveDateTime, Utc};

use super::tasks::TaskResult;
use crate::audit::{AuditEntry, AuditFilter, query};
use crate::config::ModelSet;
use crate::config::Settings;
use crate::crypto::KeyRing;
use crate::health::{CensusColumn, HealthOptions, KeyConfig, ScanOptions, run_health, take_census};
use crate::store::ROTATION_JOBS;
use crate::store::Store;

/// Minutes shown by the events-per-minute sparkline.
pub const SPARK_MINUTES: usize = 30;
/// Entries listed as "recent".
pub const RECENT_ENTRIES: u32 = 200;

/// One audit entry as listed (never its detail, which may hold values).
#[derive(Clone, Debug, PartialEq)]
pub struct AuditLine {
    pub id: i64,
    pub at: NaiveDateTime,
    pub actor: String,
    pub action: String,
    pub table: Option<String>,
    pub record_id: Option<String>,
    pub fields: Vec<String>,
}

/// The state of the hash chain.
#[derive(Clone, Debug, PartialEq)]
pub enum ChainStatus {
    Intact {
        entries: u64,
    },
    Broken {
        first_broken: Option<i64>,
        reason: String,
    },
    /// The chain cannot be checked (no MASTER_ENCRYPTION_KEY, say); the reason says why.
    Unchecked(String),
}

#[derive(Clone, Debug, PartialEq)]
pub struct AuditView {
    /// Newest first.
    pub recent: Vec<AuditLine>,
    /// Entries per minute, oldest minute first, the last being the current minute.
    pub per_minute: Vec<u64>,
    pub chain: ChainStatus,
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

/// One rotation job's progress.
#[derive(Clone, Debug, PartialEq)]
pub struct JobView {
    pub id: String,
    pub table: String,
    pub status: String,
    /// `None` when the jobs table does not report progress to this build.
    pub rows_total: Option<u64>,
    /// Rows the job has dealt with: done + skipped + failed (the gauges' one count, on
    /// every screen; failures are also in `rows_failed`).
    pub rows_handled: Option<u64>,
    pub rows_failed: u64,
}

/// Jobs listed on the Overview and Keys screens.
pub const JOBS_SHOWN: u32 = 20;

/// The rotation jobs table (every process's jobs), newest first; none before `timber init`.
pub async fn jobs(store: Store) -> TaskResult {
    let result = async {
        if !store
            .table_exists(ROTATION_JOBS)
            .await
            .map_err(|e| e.to_string())?
        {
            return Ok(Vec::new());
        }
        let jobs = store
            .rotation_jobs(JOBS_SHOWN)
            .await
            .map_err(|e| e.to_string())?;
        Ok(jobs
            .into_iter()
            .map(|j| JobView {
                id: format!("#{}", j.id),
                status: shown_status(&j),
                table: j.table_name,
                rows_total: Some(j.rows_total.max(0) as u64),
                rows_handled: Some((j.rows_done + j.rows_skipped + j.rows_failed).max(0) as u64),
                rows_failed: j.rows_failed.max(0) as u64,
            })
            .collect())
    }
    .await;
    TaskResult::Jobs(result)
}

/// The job's status as the operator should read it: a job the table calls running whose
/// worker is gone (a killed console or CLI) is `interrupted`, so it is not mistaken for
/// live work; `p` takes it over.
fn shown_status(job: &crate::store::JobRow) -> String {
    crate::rotation::JobState::of(job).label().to_string()
}

/// The key census of every encrypted column (tokens told apart by HMAC, nothing decrypted).
pub async fn census(store: Store, settings: Arc<Settings>, models: Arc<ModelSet>) -> TaskResult {
    let keys = KeyConfig::from_settings(&settings);
    let models: Vec<_> = models.models.iter().collect();
    let result = take_census(&store, &models, &keys, &ScanOptions::default()).await;
    TaskResult::Census(result.map(|c| c.columns).map_err(|e| e.to_string()))
}

/// Every health check, judged at `now`.
pub async fn health(
    store: Store,
    settings: Arc<Settings>,
    models: Arc<ModelSet>,
    now: NaiveDateTime,
) -> TaskResult {
    let options = HealthOptions {
        now,
        ..HealthOptions::default()
    };
    health_with(store, settings, models, options).await
}

/// Every health check with `options` (the Health screen passes its progress hooks).
pub async fn health_with(
    store: Store,
    settings: Arc<Settings>,
    models: Arc<ModelSet>,
    options: HealthOptions,
) -> TaskResult {
    let result = run_health(&settings, &models, &store, &options)
        .await
        .map_err(|e| e.to_string())
        .map(|report| HealthView {
            findings: report
                .findings
                .iter()
                .map(|f| Finding {
                    id: f.id.to_string(),
                    severity: f.severity.as_str().to_string(),
                    title: f.title().to_string(),
                    finding: f.finding.clone(),
                    remedy: f.remedy.clone(),
                    family: crate::health::family(f.id).to_string(),
                    evidence: evidence_line(&f.evidence),
                    model: f.evidence.model.clone(),
                    record_id: f.evidence.record_ids.first().cloned(),
                })
                .collect(),
            report_json: serde_json::to_string_pretty(&report.to_json()).unwrap_or_default(),
        });
    TaskResult::Health(result)
}

/// The evidence of a finding in one line: place, count and the first record ids.
fn evidence_line(evidence: &crate::health::Evidence) -> String {
    let mut parts = Vec::new();
    let place = evidence.place();
    if !place.is_empty() {
        parts.push(place);
    }
    if let Some(count) = evidence.count {
        parts.push(format!("{count} value(s)"));
    }
    if !evidence.record_ids.is_empty() {
        let ids: Vec<&str> = evidence
            .record_ids
            .iter()
            .take(5)
            .map(String::as_str)
            .collect();
        parts.push(format!("records {}", ids.join(", ")));
    }
    parts.join(" · ")
}

/// Census columns as the coverage tile reads them.
pub fn coverage(column: &CensusColumn) -> f64 {
    let filled = column.rows.saturating_sub(column.null);
    let encrypted: u64 = column.by_key.iter().map(|(_, n)| n).sum();
    if filled == 0 {
        1.0
    } else {
        encrypted as f64 / filled as f64
    }
}

/// Recent entries, the per-minute rate and the chain's state.
pub async fn audit(store: Store, ring: Arc<KeyRing>, now: DateTime<Utc>) -> TaskResult {
    TaskResult::Audit(audit_view(&store, &ring, now).await)
}

async fn audit_view(
    store: &Store,
    ring: &KeyRing,
    now: DateTime<Utc>,
) -> Result<AuditView, String> {
    let entries = query::list(store, &AuditFilter::default(), None, RECENT_ENTRIES)
        .await
        .map_err(|e| e.to_string())?;
    let chain = match ring.audit_key() {
        None => ChainStatus::Unchecked(
            "MASTER_ENCRYPTION_KEY is not set; the chain cannot be verified".into(),
        ),
        Some(key) => match query::verify(store, &key, None).await {
            Ok(report) if report.ok => ChainStatus::Intact {
                entries: report.entries,
            },
            Ok(report) => ChainStatus::Broken {
                first_broken: report.first_broken,
                reason: report.reason.unwrap_or_else(|| "chain broken".into()),
            },
            Err(e) => ChainStatus::Unchecked(e.to_string()),
        },
    };
    Ok(AuditView {
        per_minute: per_minute(&entries, now.naive_utc()),
        recent: entries.into_iter().map(AuditLine::from).collect(),
        chain,
    })
}

/// One entry as listed: everything but its detail (which may hold values) and hashes.
impl From<AuditEntry> for AuditLine {
    fn from(entry: AuditEntry) -> AuditLine {
        AuditLine {
            id: entry.id,
            at: entry.content.created_at,
            actor: entry.content.actor,
            action: entry.content.action,
            table: entry.content.table_name,
            record_id: entry.content.record_id,
            fields: entry.content.fields,
        }
    }
}

/// Counts of entries in each of the last [`SPARK_MINUTES`] minutes before `now`.
pub fn per_minute(entries: &[AuditEntry], now: NaiveDateTime) -> Vec<u64> {
    let mut buckets = vec![0u64; SPARK_MINUTES];
    for entry in entries {
        let age = (now - entry.content.created_at).num_minutes();
        if (0..SPARK_MINUTES as i64).contains(&age) {
            buckets[SPARK_MINUTES - 1 - age as usize] += 1;
        }
    }
    buckets
}
