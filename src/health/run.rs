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
use super::discover::{DEFAULT_SAMPLE, DiscoverOptions, discover};
use super::keyconfig::KeyConfig;
use super::report::{Finding, HealthReport, RunFacts, Selection};
use super::scan::ScanOptions;
use super::{checks_data, checks_discover, checks_keys, checks_ops, checks_schema};
use crate::config::{ModelDef, ModelSet, Settings};
use crate::store::AUDIT_LOG;
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
    let keys = KeyConfig::from_settings(settings);
    let models: Vec<&ModelDef> = models.models.iter().collect();
    let mut found = Findings {
        selection: &options.selection,
        out: Vec::new(),
    };
    options.phase.tell("keys");
    key_checks(&mut found, settings, &keys, &models, options);
    let mut rows_scanned = 0;
    if found.selection.any(SURVEY_CHECKS) {
        options.phase.tell("data");
        rows_scanned = data_checks(&mut found, store, &keys, &models, options).await?;
    }
    if found.selection.has("data.undeclared_sensitive") {
        // A bounded sample of every table: `--sample N` lowers it, never raises it.
        let sample = options.scan.sample.map_or(DEFAULT_SAMPLE, |n| {
            n.clamp(1, u64::from(DEFAULT_SAMPLE)) as u32
        });
        let finding = match discover(store, &models, DiscoverOptions { sample }).await {
            Ok(found) => checks_discover::undeclared_sensitive(&found),
            Err(e) => vec![cannot("data.undeclared_sensitive", &e)],
        };
        found.push(finding);
    }
    if found.selection.any(FACT_CHECKS) {
        options.phase.tell("schema");
        schema_checks(&mut found, store, &models).await;
    }
    found.push(checks_schema::mixin(&models));
    if found.selection.any(&["audit.enabled", "audit.chain"]) {
        options.phase.tell("audit");
        audit_checks(&mut found, store, settings, &keys).await;
    }
    found.push(checks_ops::audit_coverage(&models));
    options.phase.tell("ops");
    ops_checks(&mut found, store, settings, &keys, options).await;
    let mut report = HealthReport {
        findings: found.out,
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

/// The findings of the selected checks (a check not selected is dropped as it is pushed).
struct Findings<'a> {
    selection: &'a Selection,
    out: Vec<Finding>,
}

impl Findings<'_> {
    fn push(&mut self, findings: Vec<Finding>) {
        let selection = self.selection;
        self.out
            .extend(findings.into_iter().filter(|f| selection.has(f.id)));
    }
}

/// The configuration of the keys: no I/O.
fn key_checks(
    found: &mut Findings<'_>,
    settings: &Settings,
    keys: &KeyConfig,
    models: &[&ModelDef],
    options: &HealthOptions,
) {
    found.push(vec![
        checks_keys::primary(keys),
        checks_keys::master(keys, models, settings),
        checks_keys::age(settings, models, options.now.date()),
    ]);
    found.push(checks_keys::distinct(keys));
    found.push(checks_keys::weak(keys, settings.is_production()));
}

/// The stored values, from one survey of every encrypted column; returns the rows read.
async fn data_checks(
    found: &mut Findings<'_>,
    store: &Store,
    keys: &KeyConfig,
    models: &[&ModelDef],
    options: &HealthOptions,
) -> Result<u64, HealthError> {
    let survey: Survey = survey(
        store,
        models,
        keys.ring.clone(),
        Depth::Health,
        &options.scan,
    )
    .await?;
    found.push(checks_keys::old_needed(keys, &survey));
    found.push(checks_data::plaintext(&survey));
    found.push(checks_data::undecryptable(&survey));
    found.push(checks_data::old_key(&survey, |b| {
        bucket_label(&keys.ring, b)
    }));
    found.push(checks_data::timestamps(&survey));
    if found.selection.has("data.duplicate_token") {
        let dups = checks_data::duplicate_tokens(store, models, &survey, options.scan.sample).await;
        found.push(dups.unwrap_or_else(|e| vec![cannot("data.duplicate_token", &e)]));
    }
    found.push(checks_schema::legacy_hash(
        models,
        &survey,
        keys.ring.master().is_some(),
    ));
    Ok(survey.rows())
}

/// The tables as the database declares them, against the models.
async fn schema_checks(found: &mut Findings<'_>, store: &Store, models: &[&ModelDef]) {
    match table_facts(store, models).await {
        Ok(facts) => {
            let lookup = |name: &str| facts.get(name).cloned();
            found.push(checks_schema::column_width(
                models,
                &lookup,
                store.dialect(),
            ));
            found.push(checks_schema::encrypted_indexed(models, &lookup));
            found.push(checks_schema::blind_index_unindexed(models, &lookup));
            found.push(checks_schema::drift(models, &lookup));
        }
        Err(e) => found.push(FACT_CHECKS.iter().map(|id| cannot(id, &e)).collect()),
    }
}

/// Whether the audit log exists and its chain holds.
async fn audit_checks(
    found: &mut Findings<'_>,
    store: &Store,
    settings: &Settings,
    keys: &KeyConfig,
) {
    match store.table_exists(AUDIT_LOG).await {
        Ok(exists) => {
            found.push(vec![checks_ops::audit_enabled(settings, exists)]);
            if found.selection.has("audit.chain") {
                found.push(vec![
                    checks_ops::audit_chain(store, &keys.ring, exists).await,
                ]);
            }
        }
        Err(e) => found.push(vec![cannot("audit.enabled", &e), cannot("audit.chain", &e)]),
    }
}

/// The connection, rotation jobs and secrets in the settings.
async fn ops_checks(
    found: &mut Findings<'_>,
    store: &Store,
    settings: &Settings,
    keys: &KeyConfig,
    options: &HealthOptions,
) {
    if found.selection.has("conn.tls") {
        let finding = match store.session_uses_tls().await {
            Ok(uses) => checks_ops::tls(settings, store, uses),
            Err(e) => cannot("conn.tls", &e),
        };
        found.push(vec![finding]);
    }
    if found.selection.has("rotation.stalled") {
        match store.rotation_jobs_if_any().await {
            Ok(jobs) => found.push(checks_ops::rotation(&jobs, options.now)),
            Err(e) => found.push(vec![cannot("rotation.stalled", &e)]),
        }
    }
    found.push(checks_ops::plaintext_secrets(settings, &keys.ring));
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
