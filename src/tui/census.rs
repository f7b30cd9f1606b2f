//! The encryption census behind the Overview's coverage tile: for every encrypted column,
//! how many rows are under which key (by fingerprint), and how many are plaintext, under
//! an unknown key or malformed. Tokens are identified by their HMAC alone: nothing is
//! decrypted (DESIGN §9).
//!
//! This is a thin adapter over `Store::raw_page` and `KeyRing::classify`, kept in the TUI
//! until the health service exposes its own census.

use std::collections::BTreeMap;

use crate::config::{ModelDef, ModelSet};
use crate::crypto::{CellError, Fingerprint, KeyId, KeyRing, unwrap_stored};
use crate::store::Store;
use crate::value::Value;

/// Rows per (fingerprint, key id) of one column.
type KeyCounts = BTreeMap<(String, String), u64>;

/// Rows read per query while scanning.
const BATCH: u32 = 2_000;

/// One encrypted column's census.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ColumnCensus {
    pub model: String,
    pub table: String,
    pub column: String,
    pub rows: u64,
    pub null: u64,
    /// Fingerprint (`fp:…`) and key id to rows, in fingerprint order.
    pub by_key: Vec<(String, String, u64)>,
    pub plaintext: u64,
    pub unknown_key: u64,
    pub malformed: u64,
}

impl ColumnCensus {
    /// Rows holding a token some configured key opens.
    pub fn encrypted(&self) -> u64 {
        self.by_key.iter().map(|(_, _, n)| n).sum()
    }

    /// Share of non-null rows readable under a configured key, 0.0 to 1.0 (1.0 when empty).
    pub fn coverage(&self) -> f64 {
        let filled = self.rows.saturating_sub(self.null);
        if filled == 0 { 1.0 } else { self.encrypted() as f64 / filled as f64 }
    }

    /// Rows that need attention: plaintext, unknown key or malformed.
    pub fn problems(&self) -> u64 {
        self.plaintext + self.unknown_key + self.malformed
    }
}

/// Scans every encrypted column of every model.
pub async fn run(store: &Store, ring: &KeyRing, models: &ModelSet) -> Result<Vec<ColumnCensus>, String> {
    let mut out = Vec::new();
    for model in &models.models {
        if model.encrypted_columns().next().is_none() {
            continue;
        }
        out.extend(scan_model(store, ring, model).await?);
    }
    Ok(out)
}

async fn scan_model(store: &Store, ring: &KeyRing, model: &ModelDef) -> Result<Vec<ColumnCensus>, String> {
    let encrypted: Vec<&str> = model.encrypted_columns().map(|c| c.name.as_str()).collect();
    // The owner column comes along so per-user tokens are identified under `user_<owner>`.
    let owner_index = (model.encryption.per_user
        && model.column(&model.owner_column).is_some_and(|c| !c.encrypted))
    .then_some(encrypted.len());
    let mut columns = encrypted.clone();
    if owner_index.is_some() {
        columns.push(model.owner_column.as_str());
    }
    let mut counts: Vec<(ColumnCensus, KeyCounts)> = encrypted
        .iter()
        .map(|c| {
            let census = ColumnCensus {
                model: model.name.clone(),
                table: model.table_name.clone(),
                column: c.to_string(),
                ..ColumnCensus::default()
            };
            (census, BTreeMap::new())
        })
        .collect();
    let mut after: Option<Value> = None;
    loop {
        let rows = store
            .raw_page(model, &columns, after.as_ref(), BATCH)
            .await
            .map_err(|e| e.to_string())?;
        let Some(last) = rows.last() else { break };
        after = Some(last.id.clone());
        for row in &rows {
            let owner = owner_index.and_then(|i| row.values.get(i).cloned().flatten());
            for (i, (census, keys)) in counts.iter_mut().enumerate() {
                census.rows += 1;
                let Some(stored) = row.values.get(i).and_then(|v| v.as_deref()) else {
                    census.null += 1;
                    continue;
                };
                let token = unwrap_stored(stored);
                match ring.classify(token, owner.as_deref()) {
                    Ok(found) => *keys.entry(key_label(&found.id, &found.fingerprint)).or_default() += 1,
                    Err(CellError::UnknownKey) => census.unknown_key += 1,
                    Err(_) if looks_like_token(token) => census.malformed += 1,
                    Err(_) => census.plaintext += 1,
                }
            }
        }
        if rows.len() < BATCH as usize {
            break;
        }
    }
    Ok(counts
        .into_iter()
        .map(|(mut census, keys)| {
            census.by_key = keys.into_iter().map(|((fp, id), n)| (fp, id, n)).collect();
            census
        })
        .collect())
}

/// Per-user keys are one per owner: counted together so the tile stays readable.
fn key_label(id: &KeyId, fingerprint: &Fingerprint) -> (String, String) {
    match id {
        KeyId::User(_) => ("per-user".into(), "user_*".into()),
        KeyId::UserOld(_) => ("per-user (old master)".into(), "user_* (master_old)".into()),
        other => (fingerprint.to_string(), other.to_string()),
    }
}

/// A Fernet token starts with the version byte 0x80, which base64 writes as `gA`.
fn looks_like_token(text: &str) -> bool {
    text.starts_with("gAAAAA")
}
