//! Running the checks: key checks from the settings, one streaming survey for every data
//! check (skipped when no selected check needs it), catalogue facts for the schema checks,
//! then audit, connection, rotation and environment. A check that cannot be carried out
//! (a catalogue query refused, say) becomes a `fail` finding naming why, so one problem
//! never hides the others.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{NaiveDateTime, Utc};

use super::census::{Survey, bucket_label, survey};
use super::checks_schema::TableFacts;
use super::classify::Depth;
use super::keyconfig::KeyConfig;
use super::report::{Finding, HealthReport, RunFacts, Selection};
use super::scan::ScanOptions;
use super::{checks_data, checks_keys, checks_ops, checks_schema};
use crate::config::{ModelDef, ModelSet, Settings};
use crate::store::system_tables::AUDIT_LOG;
use crate::store::{Store, StoreError};

/// Why health could not run at all (individual check problems are findings instead).
#[derive(Debug, thiserror::Error)]
pub enum HealthError {
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What to run and how.
#[derive(Clone, Debug)]
pub struct HealthOptions {
    pub selection: Selection,
    pub scan: ScanOptions,
    /// The time checks judge against (UTC); tests pin it.
    pub now: NaiveDateTime,
    /// Told which family of checks starts next (the console's progress line); rows come
    /// through `scan.progress`.
    pub phase: PhaseHook,
}

/// An optional callback naming each phase of a run as it starts: `keys`, `data` (the
/// survey of stored values), `schema`, `audit`, `ops`.
#[derive(Clone, Default)]
pub struct PhaseHook(pub Option<PhaseFn>);

/// The callback of a [`PhaseHook`].
pub type PhaseFn = Arc<dyn Fn(&str) + Send + Sync>;

impl PhaseHook {
    pub fn new(f: impl Fn(&str) + Send + Sync + 'static) -> PhaseHook {
        PhaseHook(Some(Arc::new(f)))
    }

    fn tell(&self, phase: &str) {
        tracing::info!(phase, "health phase started");
        if let Some(f) = &self.0 {
            f(phase);
        }
    }
}

impl std::fmt::Debug for PhaseHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "PhaseHook(set)"
        } else {
            "PhaseHook(none)"
        })
    }
}

impl Default for HealthOptions {
    fn default() -> Self {
        HealthOptions {
            selection: Selection::all(),
            scan: ScanOptions::default(),
            now: Utc::now().naive_utc(),
            phase: PhaseHook::default(),
        }
    }
}

/// Ids whose findings come from the survey.
const SURVEY_CHECKS: &[&str] = &[
    "key.old_needed",
    "data.plaintext",
    "data.undecryptable",
    "data.old_key",
    "data.timestamps",
    "data.duplicate_token",
    "schema.legacy_hash",
];

/// Ids that need the catalogue facts of every model's table.
const FACT_CHECKS: &[&str] = &[
    "schema.column_width",
    "schema.encrypted_indexed",
    "schema.blind_index_unindexed",
    "schema.drift",
];

/// Runs the selected checks against `store` with `settings` and `models`.
pub async fn run_health(
    settings: &Settings,
    models: &ModelSet,
    store: &Store,
    options: &HealthOptions,
) -> Result<HealthReport, HealthError> {
    let sel = &options.selection;
    let keys = KeyConfig::from_settings(settings);
    let models: Vec<&ModelDef> = models.models.iter().collect();
    let mut out: Vec<Finding> = Vec::new();
    let mut push = |findings: Vec<Finding>| {
        out.extend(findings.into_iter().filter(|f| sel.has(f.id)));
    };

    options.phase.tell("keys");
    push(vec![
        checks_keys::primary(&keys),
        checks_keys::master(&keys, &models, settings),
        checks_keys::age(settings, &models, options.now.date()),
    ]);
    push(checks_keys::distinct(&keys));
    push(checks_keys::weak(&keys, settings.is_production()));

    let mut rows_scanned = 0;
    if sel.any(SURVEY_CHECKS) {
        options.phase.tell("data");
        let found: Survey = survey(
            store,
            &models,
            keys.ring.clone(),
            Depth::Health,
            &options.scan,
        )
        .await?;
        rows_scanned = found.rows();
        push(checks_keys::old_needed(&keys, &found));
        push(checks_data::plaintext(&found));
        push(checks_data::undecryptable(&found));
        push(checks_data::old_key(&found, |b| {
            bucket_label(&keys.ring, b)
        }));
        push(checks_data::timestamps(&found));
        if sel.has("data.duplicate_token") {
            let dups =
                checks_data::duplicate_tokens(store, &models, &found, options.scan.sample).await;
            push(dups.unwrap_or_else(|e| vec![cannot("data.duplicate_token", &e)]));
        }
        push(checks_schema::legacy_hash(
            &models,
            &found,
            keys.ring.master().is_some(),
        ));
    }

    if sel.any(FACT_CHECKS) {
        options.phase.tell("schema");
        match table_facts(store, &models).await {
            Ok(facts) => {
                let lookup = |name: &str| facts.get(name).cloned();
                push(checks_schema::column_width(
                    &models,
                    &lookup,
                    store.dialect(),
                ));
                push(checks_schema::encrypted_indexed(&models, &lookup));
                push(checks_schema::blind_index_unindexed(&models, &lookup));
                push(checks_schema::drift(&models, &lookup));
            }
            Err(e) => push(FACT_CHECKS.iter().map(|id| cannot(id, &e)).collect()),
        }
    }
    push(checks_schema::mixin(&models));

    if sel.any(&["audit.enabled", "audit.chain"]) {
        options.phase.tell("audit");
        match store.table_exists(AUDIT_LOG).await {
            Ok(exists) => {
                push(vec![checks_ops::audit_enabled(settings, exists)]);
                if sel.has("audit.chain") {
                    push(vec![
                        checks_ops::audit_chain(store, &keys.ring, exists).await,
                    ]);
                }
            }
            Err(e) => push(vec![cannot("audit.enabled", &e), cannot("audit.chain", &e)]),
        }
    }
    push(checks_ops::audit_coverage(&models));
    options.phase.tell("ops");
    if sel.has("conn.tls") {
        let finding = match store.session_uses_tls().await {
            Ok(uses) => checks_ops::tls(settings, store, uses),
            Err(e) => cannot("conn.tls", &e),
        };
        push(vec![finding]);
    }
    if sel.has("rotation.stalled") {
        match store.rotation_job_info().await {
            Ok(jobs) => push(checks_ops::rotation(&jobs, options.now)),
            Err(e) => push(vec![cannot("rotation.stalled", &e)]),
        }
    }
    push(checks_ops::plaintext_secrets(settings, &keys.ring));

    let mut report = HealthReport {
        findings: out,
        facts: RunFacts {
            database: store.url_redacted(),
            models: models.len(),
            rows_scanned,
            sample: options.scan.sample,
        },
    };
    report.sort();
    Ok(report)
}

/// A check that could not be carried out.
fn cannot(id: &'static str, err: &StoreError) -> Finding {
    Finding::fail(id, format!("could not check: {err}"))
        .remedy("Fix the cause named (permissions on the catalogue, connectivity), then run `timber health` again")
}

/// Columns and indexes of every model's table (empty facts for a missing table).
async fn table_facts(
    store: &Store,
    models: &[&ModelDef],
) -> Result<HashMap<String, TableFacts>, StoreError> {
    let mut facts = HashMap::new();
    for model in models {
        let columns = store.column_info(&model.table_name).await?;
        let indexes = if columns.is_empty() {
            Vec::new()
        } else {
            store.index_info(&model.table_name).await?
        };
        facts.insert(model.name.clone(), TableFacts { columns, indexes });
    }
    Ok(facts)
}
