//! A short, real audit history for the demo: updates to audited records through the store
//! (so `AuditMixin` writes its entries with encrypted old and new values), reveals with
//! reasons, and a health run, all on the keyed hash chain.

use serde_json::json;

use super::generate::DemoError;
use crate::audit::{Action, AuditLog};
use crate::config::ModelSet;
use crate::crypto::KeyRing;
use crate::store::{Store, WriteContext};
use crate::value::Value;

/// Who does what in the demo's history.
const REVEALS: &[(&str, &str, &str)] = &[
    (
        "alice",
        "api_keys",
        "INC-2041: vendor key suspected leaked, confirming value",
    ),
    (
        "alice",
        "strategy_details",
        "quarterly access review, ticket SEC-318",
    ),
    ("bob", "analysis_data", "customer asked for a GDPR export"),
];

/// Writes the history and returns how many entries it appended.
pub async fn write_history(
    store: &Store,
    models: &ModelSet,
    ring: &KeyRing,
) -> Result<usize, DemoError> {
    let log = AuditLog::open(store, ring)
        .await
        .map_err(|e| DemoError::Audit(e.to_string()))?;
    // The genesis `timber init` writes, so the demo's log verifies like a real one.
    crate::audit::genesis::begin(store, &log, None, "timber-demo")
        .await
        .map_err(|e| DemoError::Audit(e.to_string()))?;
    let model = models
        .find("SecureResearchSession")
        .ok_or_else(|| DemoError::Models("demo model SecureResearchSession is missing".into()))?;
    let rows = store.raw_page(model, &["status"], None, 6).await?;
    let mut written = 0;
    for (n, row) in rows.iter().take(3).enumerate() {
        let status = if n == 0 { "archived" } else { "active" };
        let changes = vec![
            ("status".to_string(), Value::Text(status.into())),
            (
                "analysis_data".to_string(),
                Value::Json(json!({"sentiment": 0.5, "tags": ["reviewed"]})),
            ),
        ];
        let ctx = WriteContext {
            actor: Some("carol"),
            observer: Some(&log),
        };
        store.update(model, ring, &row.id, &changes, ctx).await?;
        written += 1;
    }
    for (row, (actor, field, reason)) in rows.iter().skip(3).zip(REVEALS) {
        let id = match &row.id {
            Value::Text(s) => s.clone(),
            other => other.to_json().to_string(),
        };
        log.record(
            actor,
            Action::Reveal,
            Some(&model.table_name),
            Some(&id),
            &[field.to_string()],
            Some(json!({"reason": reason, "role": "security_admin"})),
        )
        .await
        .map_err(|e| DemoError::Audit(e.to_string()))?;
        written += 1;
    }
    log.record(
        "demo",
        Action::HealthRun,
        None,
        None,
        &[],
        Some(json!({"status": "fail"})),
    )
    .await
    .map_err(|e| DemoError::Audit(e.to_string()))?;
    Ok(written + 1)
}
