//! The key census: for each encrypted column, how many values are under each key, how many
//! are plaintext, under an unknown key, or malformed. Keys are told apart by their HMAC
//! alone (no decryption). `survey` is the scan both the census and the health checks run.

use std::sync::Arc;

use serde_json::{Map, Value as Json, json};

use super::classify::{Classifier, Depth};
use super::keyconfig::KeyConfig;
use super::scan::table_job;
use super::scan::{DuplicateTracker, ScanOptions, TableScan, scan_table};
use super::stats::{ColumnStats, KeyBucket};
use super::token_age::TokenAge;
use crate::config::ModelDef;
use crate::crypto::fernet::unix_now;
use crate::crypto::{KeyId, KeyRing};
use crate::store::KeyStatus;
use crate::store::{Store, StoreError};

/// What a survey read, table by table, and what it could not read.
#[derive(Debug, Default)]
pub struct Survey {
    pub tables: Vec<TableScan>,
    /// Models not scanned: (model, why). A missing table, say.
    pub skipped: Vec<(String, String)>,
    /// Models whose scan failed part way: (model, table, the store's message).
    pub failed: Vec<(String, String, String)>,
    /// Repeated token fingerprints (health depth only).
    pub duplicates: DuplicateTracker,
    /// The `--sample` limit the survey ran with.
    pub sample: Option<u64>,
}

impl Survey {
    pub fn rows(&self) -> u64 {
        self.tables.iter().map(|t| t.rows).sum()
    }

    pub fn sampled(&self) -> bool {
        self.tables.iter().any(|t| t.sampled)
    }

    /// Complete means every value of every encrypted column was classified.
    pub fn complete(&self) -> bool {
        !self.sampled() && self.failed.is_empty() && self.skipped.is_empty()
    }

    /// Sum over every scanned column of the values under `bucket`.
    pub fn count_under(&self, bucket: &KeyBucket) -> u64 {
        self.columns().map(|(_, _, s)| s.count_under(bucket)).sum()
    }

    /// (model, column, stats) for every scanned column.
    pub fn columns(&self) -> impl Iterator<Item = (&str, &str, &ColumnStats)> {
        self.tables.iter().flat_map(|t| {
            t.job
                .columns
                .iter()
                .zip(&t.columns)
                .map(move |(c, s)| (t.job.model.as_str(), c.def.name.as_str(), s))
        })
    }
}

/// Scans every model with encrypted columns. A table that is missing is skipped; a table
/// whose scan fails is recorded and the survey goes on with the next.
pub async fn survey(
    store: &Store,
    models: &[&ModelDef],
    ring: Arc<KeyRing>,
    depth: Depth,
    options: &ScanOptions,
) -> Result<Survey, StoreError> {
    let classifier = Arc::new(Classifier {
        blind_key: ring.blind_index_key(),
        ring,
        depth,
        now: unix_now(),
    });
    let mut out = Survey {
        sample: options.sample,
        ..Survey::default()
    };
    let models: Vec<&ModelDef> = models
        .iter()
        .copied()
        .filter(|m| m.has_encrypted_columns())
        .collect();
    // Every table's columns and row estimate in one statement, before the first scan.
    let outlines = store.table_outlines(&models).await?;
    for (model, (existing, estimate)) in models.into_iter().zip(outlines) {
        if existing.is_empty() {
            out.skipped.push((
                model.name.clone(),
                format!("table `{}` does not exist", model.table_name),
            ));
            continue;
        }
        let Some(job) = table_job(model, &existing, depth == Depth::Health) else {
            out.skipped.push((
                model.name.clone(),
                format!(
                    "table `{}` has none of its encrypted columns",
                    model.table_name
                ),
            ));
            continue;
        };
        let tracker = (depth == Depth::Health).then_some(&mut out.duplicates);
        let scanned = scan_table(
            store,
            model,
            estimate.rows,
            Arc::new(job),
            classifier.clone(),
            options,
            tracker,
        )
        .await;
        match scanned {
            Ok(table) => out.tables.push(table),
            Err(err) => out.failed.push((
                model.name.clone(),
                model.table_name.clone(),
                err.to_string(),
            )),
        }
    }
    Ok(out)
}

/// One key as the census lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CensusKey {
    pub id: String,
    pub fingerprint: String,
    pub source: String,
    /// From `timber_keys` when the key is registered there, else from its role.
    pub status: KeyStatus,
}

/// One encrypted column's counts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CensusColumn {
    pub model: String,
    pub table: String,
    pub column: String,
    pub rows: u64,
    pub null: u64,
    /// (key label, values), labels as `fp:…` or `per-user (master fp:…)`.
    pub by_key: Vec<(String, u64)>,
    /// (key label, when its values were written), the labels of `by_key`, from the tokens'
    /// header timestamps.
    pub ages: Vec<(String, TokenAge)>,
    pub plaintext: u64,
    pub unknown_key: u64,
    pub malformed: u64,
    /// True when `--sample` limited the rows read.
    pub sampled: bool,
}

/// The census of DESIGN §12.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Census {
    pub keys: Vec<CensusKey>,
    pub columns: Vec<CensusColumn>,
    /// Models not counted and why (narrated on stderr; not part of the JSON contract).
    pub notes: Vec<String>,
}

/// How the census labels a key bucket.
pub fn bucket_label(ring: &KeyRing, bucket: &KeyBucket) -> String {
    let fp = |id: &KeyId| {
        ring.fingerprint(id)
            .map_or_else(|| format!("{id} (not configured)"), |f| f.to_string())
    };
    match bucket {
        KeyBucket::Configured(id) => fp(id),
        KeyBucket::PerUser => format!("per-user (master {})", fp(&KeyId::Master)),
        KeyBucket::PerUserOld => format!("per-user (master_old {})", fp(&KeyId::MasterOld)),
    }
}

/// Counts values per key for `models`, with the usable keys of `keys`. A key's status comes
/// from `timber_keys` when the key is registered there.
pub async fn take_census(
    store: &Store,
    models: &[&ModelDef],
    keys: &KeyConfig,
    options: &ScanOptions,
) -> Result<Census, StoreError> {
    let ring = keys.ring.clone();
    let registry = store.key_registry_if_any().await?;
    tracing::info!(models = models.len(), "census started");
    let found = survey(store, models, ring.clone(), Depth::Census, options)
        .await
        .inspect_err(|err| tracing::error!(error = %err, "census failed"))?;
    tracing::info!(rows = found.rows(), "census scanned");
    let mut census = Census::default();
    for info in ring
        .entries()
        .into_iter()
        .filter(|e| !keys.excluded.contains(&e.id))
    {
        let fingerprint = info.fingerprint.to_string();
        let status = registry
            .iter()
            .find(|r| r.fingerprint == fingerprint)
            .map_or_else(|| KeyStatus::of_role(info.role), |r| r.status);
        census.keys.push(CensusKey {
            id: info.id.to_string(),
            fingerprint,
            source: info.source,
            status,
        });
    }
    for bucket in [KeyBucket::PerUser, KeyBucket::PerUserOld] {
        if found.count_under(&bucket) > 0 {
            let master = if bucket == KeyBucket::PerUser {
                "MASTER_ENCRYPTION_KEY"
            } else {
                "MASTER_ENCRYPTION_KEY_OLD"
            };
            census.keys.push(CensusKey {
                id: "user_*".into(),
                fingerprint: bucket_label(&ring, &bucket),
                source: format!("derived per user from {master}"),
                status: if bucket == KeyBucket::PerUser {
                    KeyStatus::Active
                } else {
                    KeyStatus::DecryptOnly
                },
            });
        }
    }
    for table in &found.tables {
        for (col, stats) in table.job.columns.iter().zip(&table.columns) {
            census.columns.push(CensusColumn {
                model: table.job.model.clone(),
                table: table.job.table.clone(),
                column: col.def.name.clone(),
                rows: stats.rows,
                null: stats.null,
                by_key: stats
                    .by_key
                    .iter()
                    .map(|(b, s)| (bucket_label(&ring, b), s.count))
                    .collect(),
                ages: stats
                    .times
                    .iter()
                    .filter_map(|(b, t)| Some((bucket_label(&ring, b), t.age()?)))
                    .collect(),
                plaintext: stats.plaintext.count,
                unknown_key: stats.unknown_key.count,
                malformed: stats.malformed.count,
                sampled: table.sampled,
            });
        }
    }
    for (model, why) in &found.skipped {
        census.notes.push(format!("{model} not counted: {why}"));
    }
    for (model, _, err) in &found.failed {
        census.notes.push(format!("{model} not counted: {err}"));
    }
    if found.sampled() {
        census.notes.push(format!(
            "sampled: at most {} rows per table were read",
            options.sample.unwrap_or_default()
        ));
    }
    Ok(census)
}

impl CensusColumn {
    /// When the values under the key labelled `label` (`fp:…`) were written.
    pub fn age_under(&self, label: &str) -> Option<&TokenAge> {
        self.ages.iter().find(|(l, _)| l == label).map(|(_, a)| a)
    }
}

impl Census {
    /// `{"keys": [...], "columns": [...]}` (DESIGN §12); `sampled` is added to a column
    /// only when it was sampled. `ages` maps each key label of `by_key` to the oldest,
    /// median and newest token time under it.
    pub fn to_json(&self) -> Json {
        let keys: Vec<Json> = self
            .keys
            .iter()
            .map(|k| json!({"id": k.id, "fingerprint": k.fingerprint, "source": k.source, "status": k.status.as_str()}))
            .collect();
        let columns: Vec<Json> = self
            .columns
            .iter()
            .map(|c| {
                let by_key: Map<String, Json> = c
                    .by_key
                    .iter()
                    .map(|(k, n)| (k.clone(), json!(n)))
                    .collect();
                let ages: Map<String, Json> = c
                    .ages
                    .iter()
                    .map(|(k, a)| (k.clone(), a.to_json()))
                    .collect();
                let mut obj = json!({
                    "model": c.model, "table": c.table, "column": c.column,
                    "rows": c.rows, "null": c.null, "by_key": by_key, "ages": ages,
                    "plaintext": c.plaintext, "unknown_key": c.unknown_key,
                    "malformed": c.malformed,
                });
                if c.sampled {
                    obj["sampled"] = json!(true);
                }
                obj
            })
            .collect();
        json!({"keys": keys, "columns": columns})
    }
}
