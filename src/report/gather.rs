//! Gathering the report's facts: the census (coverage, values per key), health (findings,
//! `key.age`), the key registry (ages), the rotation jobs, the reveals of the range, and the
//! audit log's verification; then the report is itself recorded in the audit log
//! (`report.generate`), and refused when that entry cannot be written, like every audited
//! action (DESIGN §4).

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use serde_json::json;

use super::model::{
    AuditVerdict, ChainVerdict, CheckpointVerdict, Coverage, DataAge, FindingView, GeneratedBy,
    Header, Health, JobFailure, JobView, KeyAge, KeyAges, KeyCount, KeyEntry, Report, Reveals,
    Rotations, Schedule, WeekTally, iso_week, tallies,
};
use crate::access::Identity;
use crate::audit::query::{list, verify_log};
use crate::audit::{Action, AuditError, AuditFilter, AuditLog};
use crate::config::{Classification, ModelDef, ModelSet, Settings};
use crate::crypto::{KeyId, NoteSigner, NoteVerifier};
use crate::health::{Finding, HealthError, HealthOptions, KeyConfig, ScanOptions, take_census};
use crate::health::{Selection, run_health};
use crate::store::{JobRow, Store, StoreError};

/// What to report on.
#[derive(Clone, Debug)]
pub struct ReportRequest {
    /// The history sections (rotations, reveals) cover entries at or after `since` and
    /// before `until`; `None` leaves that side open.
    pub since: Option<NaiveDateTime>,
    pub until: Option<NaiveDateTime>,
    /// The time the report is made at (UTC); tests pin it.
    pub now: NaiveDateTime,
    /// `html` or `json`: recorded in the audit entry.
    pub format: &'static str,
}

/// Why no report was made. Nothing was written then.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("--since {since} is not before --until {until}")]
    EmptyRange {
        since: NaiveDateTime,
        until: NaiveDateTime,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Health(#[from] HealthError),
    #[error("the report cannot be recorded in the audit log, so none is made: {0}")]
    Audit(#[from] AuditError),
}

/// Reveals read from the log at most (the tallies say when there were more).
const MAX_REVEALS: usize = 100_000;
const REVEAL_PAGE: u32 = 5_000;
/// Failures listed per rotation job (the count is always whole).
const FAILURES_PER_JOB: u32 = 10;

/// Gathers every section, records the report in the audit log as `identity`, and returns
/// it with that entry's id in its header.
pub async fn generate(
    settings: &Settings,
    models: &ModelSet,
    store: &Store,
    identity: &Identity,
    request: &ReportRequest,
) -> Result<Report, ReportError> {
    if let (Some(since), Some(until)) = (request.since, request.until)
        && since >= until
    {
        return Err(ReportError::EmptyRange { since, until });
    }
    let keys = KeyConfig::from_settings(settings);
    let all: Vec<&ModelDef> = models.models.iter().collect();
    // Opened first: a database whose log cannot be written gets no report (and no scan).
    let log = AuditLog::open(store, &keys.ring).await?;
    let census = take_census(store, &all, &keys, &ScanOptions::default()).await?;
    let options = HealthOptions {
        selection: Selection::all(),
        now: request.now,
        ..HealthOptions::default()
    };
    let health = run_health(settings, models, store, &options).await?;
    let registry = store.key_registry_if_any().await?;
    let jobs = store.rotation_jobs_if_any().await?;
    let mut rotations = rotations(jobs, request);
    for job in rotations.jobs.iter_mut().filter(|j| j.rows_failed > 0) {
        job.failures = store
            .rotation_failures(job.id, FAILURES_PER_JOB)
            .await?
            .into_iter()
            .map(|f| JobFailure {
                record_id: f.record_id,
                column: f.column_name,
                reason: f.reason,
            })
            .collect();
    }
    let reveals = reveals(store, request).await?;
    let audit = verify(store, settings, &keys).await?;

    let coverage = census
        .columns
        .iter()
        .map(|c| Coverage {
            model: c.model.clone(),
            table: c.table.clone(),
            column: c.column.clone(),
            rows: c.rows,
            null: c.null,
            encrypted: c.by_key.iter().map(|(_, n)| n).sum(),
            plaintext: c.plaintext,
            unknown_key: c.unknown_key,
            malformed: c.malformed,
            by_key: c
                .by_key
                .iter()
                .map(|(key, values)| KeyCount {
                    key: key.clone(),
                    values: *values,
                })
                .collect(),
            sampled: c.sampled,
        })
        .collect();
    // When the data under each key was written, from the tokens' own timestamps (no
    // decryption): the census records the oldest, median and newest per column and key.
    let data_age = census
        .columns
        .iter()
        .flat_map(|c| {
            c.ages.iter().map(move |(key, age)| DataAge {
                model: c.model.clone(),
                column: c.column.clone(),
                key: key.clone(),
                values: c
                    .by_key
                    .iter()
                    .find(|(k, _)| k == key)
                    .map_or(0, |(_, n)| *n),
                oldest: age.oldest.naive_utc(),
                median: age.median.naive_utc(),
                newest: age.newest.naive_utc(),
            })
        })
        .collect();
    let key_list = census
        .keys
        .iter()
        .map(|k| KeyEntry {
            id: k.id.clone(),
            fingerprint: k.fingerprint.clone(),
            source: k.source.clone(),
            status: k.status.as_str().to_string(),
        })
        .collect();
    let key_ages = key_ages(settings, &all, &keys, &registry, &health, request.now);
    let findings = health
        .grouped()
        .into_iter()
        .flat_map(|g| g.findings)
        .map(finding_view)
        .collect();
    let health = Health {
        status: health.status().as_str().to_string(),
        findings,
    };

    let facts = json!({
        "role": identity.role,
        "format": request.format,
        "since": request.since.map(|t| t.to_string()),
        "until": request.until.map(|t| t.to_string()),
    });
    let entry = log
        .record(
            &identity.user,
            Action::ReportGenerate,
            None,
            None,
            &[],
            Some(facts),
        )
        .await?;
    Ok(Report {
        header: Header {
            database: store.url_redacted(),
            generated_at: request.now,
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            generated_by: GeneratedBy {
                user: identity.user.clone(),
                role: identity.role.clone(),
                asserted_by: identity.asserted_by.clone(),
                os_user: identity.os_user.clone(),
            },
            since: request.since,
            until: request.until,
            audit_entry: Some(entry),
        },
        coverage,
        keys: key_list,
        data_age: Some(data_age),
        key_ages,
        rotations,
        health,
        reveals,
        audit,
    })
}

fn finding_view(f: &Finding) -> FindingView {
    FindingView {
        id: f.id.to_string(),
        severity: f.severity.as_str().to_string(),
        title: f.title().to_string(),
        finding: f.finding.clone(),
        place: f.evidence.place(),
        count: f.evidence.count,
        record_ids: f.evidence.record_ids.clone(),
        remedy: f.remedy.clone(),
    }
}

/// Each configured key's age (the primary from KEY_ROTATION_DATE, others from when
/// `timber_keys` says they were put in place), and the schedule per classification, as the
/// Keys screen shows it; the verdict is health's `key.age`.
fn key_ages(
    settings: &Settings,
    models: &[&ModelDef],
    keys: &KeyConfig,
    registry: &[crate::store::KeyRow],
    health: &crate::health::HealthReport,
    now: NaiveDateTime,
) -> KeyAges {
    let today = now.date();
    let rotation_date = settings.key_rotation_date.as_ref().map(|d| d.value);
    let ages = keys
        .ring
        .entries()
        .into_iter()
        .filter(|e| !keys.excluded.contains(&e.id))
        .map(|entry| {
            let fingerprint = entry.fingerprint.to_string();
            let registered = registry.iter().find(|r| r.fingerprint == fingerprint);
            let (since, from) = match (entry.id == KeyId::Primary, rotation_date, registered) {
                (true, Some(date), _) => (Some(date), Some("KEY_ROTATION_DATE".to_string())),
                (_, _, Some(row)) => match row.activated_at {
                    Some(at) => (
                        Some(at.date()),
                        Some("timber_keys activated_at".to_string()),
                    ),
                    None => (
                        Some(row.created_at.date()),
                        Some("timber_keys created_at".to_string()),
                    ),
                },
                _ => (None, None),
            };
            KeyAge {
                id: entry.id.to_string(),
                fingerprint,
                role: entry.role.as_str().to_string(),
                age_days: since.map(|d| (today - d).num_days()),
                age_from: from,
            }
        })
        .collect();
    let schedule = [
        Classification::Critical,
        Classification::Sensitive,
        Classification::Standard,
    ]
    .into_iter()
    .filter_map(|class| {
        let names: Vec<String> = models
            .iter()
            .filter(|m| m.has_encrypted_columns())
            .filter(|m| m.classification.unwrap_or(Classification::Standard) == class)
            .map(|m| m.name.clone())
            .collect();
        if names.is_empty() {
            return None;
        }
        let due = rotation_date.map(|d| d + chrono::Duration::days(class.rotation_days()));
        Some(Schedule {
            classification: class.as_str().to_string(),
            every_days: class.rotation_days(),
            models: names,
            due,
            overdue: due.is_some_and(|d| d < today),
        })
    })
    .collect();
    KeyAges {
        rotation_date,
        keys: ages,
        schedule,
        strictest_days: crate::health::strictest(models).map(|(_, c)| c.rotation_days()),
        verdict: health.of("key.age").next().map(finding_view),
    }
}

fn in_range(at: NaiveDateTime, request: &ReportRequest) -> bool {
    request.since.is_none_or(|s| at >= s) && request.until.is_none_or(|u| at < u)
}

/// Jobs started within the range, oldest first, with their totals.
fn rotations(jobs: Vec<JobRow>, request: &ReportRequest) -> Rotations {
    let mut out = Rotations::default();
    for job in jobs.into_iter().rev() {
        if !in_range(job.started_at, request) {
            continue;
        }
        let failed = job.status.as_str() == "failed" || job.rows_failed > 0;
        out.rows_done += job.rows_done;
        out.rows_failed += job.rows_failed;
        if failed {
            out.failed_jobs += 1;
        }
        out.jobs.push(JobView {
            id: job.id,
            columns: serde_json::from_str(&job.columns).unwrap_or_default(),
            table: job.table_name,
            target_fingerprint: job.target_fp,
            status: job.status.as_str().to_string(),
            duration_seconds: (job.updated_at - job.started_at).num_seconds().max(0),
            started_at: job.started_at,
            updated_at: job.updated_at,
            rows_total: job.rows_total,
            rows_done: job.rows_done,
            rows_skipped: job.rows_skipped,
            rows_failed: job.rows_failed,
            error: job.error,
            failures: Vec::new(),
        });
    }
    out
}

/// Reveal entries of the range, tallied by role (from the entry's plain detail), reason and
/// ISO week. An entry without a readable detail counts under `unknown`.
async fn reveals(store: &Store, request: &ReportRequest) -> Result<Reveals, ReportError> {
    let filter = AuditFilter {
        action: Some(Action::Reveal.as_str().to_string()),
        since: request.since,
        until: request.until,
        ..AuditFilter::default()
    };
    let mut by_role: BTreeMap<String, u64> = BTreeMap::new();
    let mut by_reason: BTreeMap<String, u64> = BTreeMap::new();
    let mut by_week: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    let mut out = Reveals::default();
    let mut before = None;
    loop {
        let page = list(store, &filter, before, REVEAL_PAGE).await?;
        let last = page.len() < REVEAL_PAGE as usize;
        before = page.last().map(|e| e.id);
        for entry in &page {
            let facts: serde_json::Value = entry
                .content
                .detail
                .as_deref()
                .and_then(|d| serde_json::from_str(d).ok())
                .unwrap_or_default();
            let text = |name: &str| {
                facts
                    .get(name)
                    .and_then(|v| v.as_str())
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
            };
            let role = text("role").unwrap_or_else(|| "unknown".to_string());
            let reason = text("reason").unwrap_or_else(|| "(no reason given)".to_string());
            *by_role.entry(role.clone()).or_default() += 1;
            *by_reason.entry(reason).or_default() += 1;
            *by_week
                .entry(iso_week(&entry.content.created_at))
                .or_default()
                .entry(role)
                .or_default() += 1;
            out.total += 1;
        }
        if out.total as usize >= MAX_REVEALS && !last {
            out.truncated = true;
            break;
        }
        if last || before.is_none() {
            break;
        }
    }
    out.by_role = tallies(by_role);
    out.by_reason = tallies(by_reason);
    out.by_week = by_week
        .into_iter()
        .map(|(week, roles)| WeekTally {
            week,
            by_role: tallies(roles),
        })
        .collect();
    Ok(out)
}

/// The keyed chain (with MASTER_ENCRYPTION_KEY) and the signed checkpoints (with
/// AUDIT_PUBLIC_KEY), in one reading of the log.
async fn verify(
    store: &Store,
    settings: &Settings,
    keys: &KeyConfig,
) -> Result<AuditVerdict, ReportError> {
    let mut notes = Vec::new();
    let key = keys.ring.audit_key();
    let old = keys.ring.audit_key_old();
    if key.is_none() {
        notes.push("the hash chain was not verified: MASTER_ENCRYPTION_KEY is not set".to_string());
    }
    let public = match (&settings.audit_public_key, &settings.audit_signing_key) {
        (None, None) => {
            notes.push(
                "no signed checkpoint was verified: neither AUDIT_PUBLIC_KEY nor \
                 AUDIT_SIGNING_KEY is set (`timber keygen --audit` makes the pair)"
                    .to_string(),
            );
            None
        }
        (Some(sourced), _) => {
            let line = sourced
                .value
                .lines()
                .map(str::trim)
                .find(|l| !l.is_empty())
                .unwrap_or("")
                .trim_start_matches("AUDIT_PUBLIC_KEY=");
            match NoteVerifier::from_text(line) {
                Ok(v) => Some(v),
                Err(e) => {
                    notes.push(format!(
                        "no signed checkpoint was verified: AUDIT_PUBLIC_KEY from {} is not an \
                         audit public key: {e}",
                        sourced.source
                    ));
                    None
                }
            }
        }
        // The console does the same: the signing key's public half verifies.
        (None, Some(sourced)) => match NoteSigner::from_text(sourced.value.expose().trim()) {
            Ok(signer) => Some(signer.verifier()),
            Err(e) => {
                notes.push(format!(
                    "no signed checkpoint was verified: AUDIT_SIGNING_KEY from {} is not a \
                     signing key: {e}",
                    sourced.source
                ));
                None
            }
        },
    };
    let found = verify_log(
        store,
        key.as_ref().map(|k| (k, old.as_ref())),
        None,
        public.as_ref().map(|v| (v, None)),
    )
    .await?;
    Ok(AuditVerdict {
        chain: found.chain.map(|c| ChainVerdict {
            ok: c.ok,
            entries: c.entries,
            first_broken: c.first_broken,
            reason: c.reason,
            head: c.head,
        }),
        checkpoint: found.public.map(|p| CheckpointVerdict {
            ok: p.ok,
            key: p.key,
            checkpoints_verified: p.checkpoints,
            checkpoint_id: p.verified_to.as_ref().and_then(|v| v.checkpoint),
            checkpoint_size: p.verified_to.as_ref().map_or(0, |v| v.size),
            checkpoint_at: p.verified_to.as_ref().and_then(|v| v.at),
            uncovered: p.uncovered,
            reason: p.reason,
        }),
        notes,
    })
}
