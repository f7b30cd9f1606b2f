//! The Health screen's background work: every health check (`health::run_health`), with
//! hooks that send each phase and each page of the survey back as progress.

use std::sync::Arc;

use super::{Finding, HealthTick, HealthView, Msg};
use crate::config::ModelSet;
use crate::config::Settings;
use crate::health::PhaseHook;
use crate::health::{HealthOptions, Progress as ScanProgress, run_health};
use crate::store::Store;
use crate::tui::context::Progress;

/// Every health check with `options` (the Health screen passes its progress hooks).
pub async fn run(
    store: Store,
    settings: Arc<Settings>,
    models: Arc<ModelSet>,
    options: HealthOptions,
) -> Msg {
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
                    place: f.evidence.place(),
                    evidence: evidence_line(&f.evidence),
                    model: f.evidence.model.clone(),
                    record_id: f.evidence.record_ids.first().cloned(),
                })
                .collect(),
            report_json: serde_json::to_string_pretty(&report.to_json()).unwrap_or_default(),
        });
    Msg::Finished(result)
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

/// Options whose hooks send each phase and each page of the survey to the screen.
pub fn with_progress(mut options: HealthOptions, progress: Progress<Msg>) -> HealthOptions {
    let rows = progress.clone();
    options.scan.progress = Some(Arc::new(move |p: &ScanProgress| {
        rows.send(Msg::Progress(HealthTick::Rows {
            model: p.model.clone(),
            rows_done: p.rows_done,
            rows_expected: p.rows_expected,
        }))
    }));
    options.phase =
        PhaseHook::new(move |phase| progress.send(Msg::Progress(HealthTick::Phase(phase.into()))));
    options
}
