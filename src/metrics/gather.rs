//! The database's facts behind the metrics, read through the same calls `timber jobs`,
//! `timber health`, `timber census` and `timber audit` use, so a graph and the command an
//! engineer runs next never disagree.

use std::collections::BTreeMap;

use crate::audit::Action;
use crate::config::{ModelDef, ModelSet, Settings};
use crate::health::{HealthOptions, KeyConfig, ScanOptions, Severity, run_health, take_census};
use crate::rotation::JobState;
use crate::store::{AUDIT_LOG, AuditFilter, AuditSearch, Store, StoreError};

/// Everything a scrape shows from the database.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    pub jobs: Vec<JobFacts>,
    /// `None` before `timber init` (no audit log).
    pub audit: Option<AuditFacts>,
    /// `None` until the first health run and census finish (a server starts serving at once).
    pub scans: Option<ScanFacts>,
}

/// One rotation job as the jobs table holds it.
#[derive(Clone, Debug, PartialEq)]
pub struct JobFacts {
    pub id: i64,
    pub done: u64,
    pub skipped: u64,
    pub failed: u64,
    /// Rows not yet handled (the table's count at the start, less those handled).
    pub remaining: u64,
    /// Workers running it now: 1 while its worker is alive, else 0.
    pub workers: u64,
}

/// The audit log's size and its reveals per role.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AuditFacts {
    pub entries: u64,
    /// Reveal entries per the role their detail names (`unknown` when it names none).
    pub reveals: BTreeMap<String, u64>,
}

/// A health check's verdict: 0 ok, 1 warn, 2 fail (its worst finding).
pub type CheckStatus = u8;

/// The results of the two scans of stored values.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ScanFacts {
    /// Check id and its verdict.
    pub checks: BTreeMap<String, CheckStatus>,
    /// (model, column, key fingerprint or `plaintext` / `unknown_key` / `malformed`) to
    /// the number of values.
    pub census: BTreeMap<(String, String, String), u64>,
    /// Why health or the census could not run, when one could not (the other may have).
    pub errors: Vec<String>,
}

/// Every job of the jobs table (the newest 1000); none before `timber init`.
pub async fn gather_jobs(store: &Store) -> Result<Vec<JobFacts>, StoreError> {
    let jobs = store.rotation_jobs_if_any().await?;
    let ids: Vec<i64> = jobs.iter().map(|j| j.id).collect();
    let fleets = crate::rotation::job_fleets(store, &ids).await?;
    Ok(jobs
        .iter()
        .map(|job| {
            let count = |n: i64| u64::try_from(n).unwrap_or(0);
            let handled = count(job.rows_done) + count(job.rows_skipped) + count(job.rows_failed);
            let live = matches!(JobState::of(job), JobState::Recorded(s) if s.is_active());
            JobFacts {
                id: job.id,
                done: count(job.rows_done),
                skipped: count(job.rows_skipped),
                failed: count(job.rows_failed),
                remaining: count(job.rows_total).saturating_sub(handled),
                // Workers holding a live lease on its chunks (every process's); a job
                // without chunks has its one worker, if alive.
                workers: fleets
                    .get(&job.id)
                    .map(|f| f.workers.len() as u64)
                    .filter(|n| *n > 0 || !live)
                    .unwrap_or(u64::from(live)),
            }
        })
        .collect())
}

/// The audit log's entries and its reveals by role; `None` when there is no log.
pub async fn gather_audit(store: &Store) -> Result<Option<AuditFacts>, StoreError> {
    if !store.table_exists(AUDIT_LOG).await? {
        return Ok(None);
    }
    let entries = u64::try_from(store.audit_count().await?).unwrap_or(0);
    let mut reveals = BTreeMap::new();
    let mut before_id = None;
    loop {
        let page = store
            .audit_search(&AuditSearch {
                filter: AuditFilter {
                    action: Some(Action::Reveal.as_str().to_string()),
                    ..AuditFilter::default()
                },
                before_id,
                limit: 1000,
                newest_first: true,
                ..AuditSearch::default()
            })
            .await?;
        for entry in &page {
            *reveals
                .entry(role_of(entry.row.detail.as_deref()))
                .or_insert(0) += 1;
        }
        match page.last() {
            Some(last) if page.len() == 1000 => before_id = Some(last.id),
            _ => break,
        }
    }
    Ok(Some(AuditFacts { entries, reveals }))
}

/// The role a reveal's plain detail names. An encrypted detail (a value) is not read: the
/// role is always in the plain facts.
fn role_of(detail: Option<&str>) -> String {
    detail
        .filter(|d| !d.starts_with("gAAAAA"))
        .and_then(|d| serde_json::from_str::<serde_json::Value>(d).ok())
        .and_then(|d| d["role"].as_str().map(str::to_string))
        .unwrap_or_else(|| "unknown".to_string())
}

/// Runs every health check and the census (each reads every encrypted value once).
pub async fn gather_scans(settings: &Settings, models: &ModelSet, store: &Store) -> ScanFacts {
    let mut facts = ScanFacts::default();
    match run_health(settings, models, store, &HealthOptions::default()).await {
        Ok(report) => {
            for finding in &report.findings {
                let status = match finding.severity {
                    Severity::Ok => 0,
                    Severity::Warn => 1,
                    Severity::Fail => 2,
                };
                let worst = facts.checks.entry(finding.id.to_string()).or_insert(0);
                *worst = (*worst).max(status);
            }
        }
        Err(e) => facts.errors.push(format!("health: {e}")),
    }
    let keys = KeyConfig::from_settings(settings);
    let chosen: Vec<&ModelDef> = models.models.iter().collect();
    match take_census(store, &chosen, &keys, &ScanOptions::default()).await {
        Ok(census) => {
            for column in &census.columns {
                let mut put = |key: &str, n: u64| {
                    facts.census.insert(
                        (column.model.clone(), column.column.clone(), key.to_string()),
                        n,
                    );
                };
                for (key, n) in &column.by_key {
                    put(key, *n);
                }
                put("plaintext", column.plaintext);
                put("unknown_key", column.unknown_key);
                put("malformed", column.malformed);
            }
        }
        Err(e) => facts.errors.push(format!("census: {e}")),
    }
    facts
}
