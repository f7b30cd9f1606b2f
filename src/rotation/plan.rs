//! The plan of a rotation (`--dry-run`, and the console's confirmation screen): per model
//! and column, how many values are already under the target key, how many need work and
//! under which key they are now, how much plaintext and how many failures there are. Keys
//! are identified by HMAC, as the census does; only values with a blind index are decrypted
//! (to tell whether the hash is stale). Nothing is written.
//!
//! A table larger than [`SAMPLE_ABOVE`] rows (by the store's fast estimate) is planned from
//! its first [`SAMPLE_ROWS`] rows in key order and the counts are scaled up; the plan says
//! so (`sampled`). Older rows come first in key order, so the estimate leans high.

use std::collections::BTreeMap;

use serde_json::{Value as Json, json};

use super::RotationError;
use super::decide::{Decider, Outcome, WriteKind};
use super::scope::{Scope, target_label};
use crate::config::ModelDef;
use crate::crypto::{KeyId, KeyRing};
use crate::store::Store;

pub const SAMPLE_ABOVE: u64 = 1_000_000;
pub const SAMPLE_ROWS: u64 = 100_000;
const PAGE: u32 = 2000;

/// One column's census against the target key.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ColumnCensus {
    pub column: String,
    pub null: u64,
    /// Under the target key with a current blind index.
    pub current: u64,
    /// Under another key: will be re-encrypted.
    pub to_rotate: u64,
    /// Under the target, but the blind index will be recomputed.
    pub to_rehash: u64,
    /// Plaintext left alone (without `--encrypt-plaintext`).
    pub plaintext: u64,
    /// Plaintext that `--encrypt-plaintext` will encrypt.
    pub to_encrypt: u64,
    /// Values that cannot be rotated, by reason.
    pub failing: BTreeMap<String, u64>,
    /// Non-null tokens by the key they are under now (`fp:...`; per-user keys grouped as
    /// `user:<master fp>` / `user_old:<old master fp>`).
    pub by_key: BTreeMap<String, u64>,
}

/// A model's plan.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelPlan {
    pub model: String,
    pub table: String,
    pub target: String,
    pub rows_total: u64,
    pub rows_scanned: u64,
    pub sampled: bool,
    /// Rows with at least one value to write (in the rows scanned).
    pub rows_to_change: u64,
    pub columns: Vec<ColumnCensus>,
}

impl ModelPlan {
    /// Scaled to the whole table when sampled.
    pub fn estimated_rows_to_change(&self) -> u64 {
        if !self.sampled || self.rows_scanned == 0 {
            return self.rows_to_change;
        }
        (self.rows_to_change as f64 * self.rows_total as f64 / self.rows_scanned as f64).round()
            as u64
    }

    pub fn to_json(&self) -> Json {
        let columns: Vec<Json> = self
            .columns
            .iter()
            .map(|c| {
                json!({
                    "column": c.column, "null": c.null, "current": c.current,
                    "to_rotate": c.to_rotate, "to_rehash": c.to_rehash,
                    "plaintext": c.plaintext, "to_encrypt": c.to_encrypt,
                    "failing": c.failing, "by_key": c.by_key,
                })
            })
            .collect();
        json!({
            "event": "plan", "model": self.model, "table": self.table, "target": self.target,
            "rows_total": self.rows_total, "rows_scanned": self.rows_scanned,
            "sampled": self.sampled, "rows_to_change": self.estimated_rows_to_change(),
            "columns": columns,
        })
    }
}

/// Plans the rotation of one model (reads only).
pub async fn plan_model(
    store: &Store,
    ring: &KeyRing,
    model: &ModelDef,
    encrypt_plaintext: bool,
) -> Result<ModelPlan, RotationError> {
    let scope = Scope::of(model)?;
    let columns = &scope.columns;
    let target = target_label(ring, model)?;
    let decider = Decider::new(ring, model, encrypt_plaintext);
    let estimate = store.estimate_rows(model).await?.rows;
    let sampled = estimate > SAMPLE_ABOVE;
    let rows_total = if sampled {
        estimate
    } else {
        store.count_rows(model).await?.rows
    };
    let limit = if sampled { SAMPLE_ROWS } else { u64::MAX };
    let mut census: Vec<ColumnCensus> = columns
        .iter()
        .map(|c| ColumnCensus {
            column: c.name.clone(),
            ..Default::default()
        })
        .collect();
    let (mut scanned, mut to_change) = (0u64, 0u64);
    let mut after = None;
    while scanned < limit {
        let rows = store
            .rotation_page(model, &scope.read, scope.owner, after.as_ref(), PAGE)
            .await?;
        let Some(last) = rows.last() else { break };
        after = Some(last.id.clone());
        for row in &rows {
            let mut changes = false;
            for (ci, column) in columns.iter().enumerate() {
                let (outcome, key) = decider.decide_row(column, row, ci, scope.hash_at(ci));
                let c = &mut census[ci];
                if let Some(key) = key {
                    *c.by_key.entry(key_label(ring, &key)).or_default() += 1;
                }
                match outcome {
                    Outcome::Null => c.null += 1,
                    Outcome::Current => c.current += 1,
                    Outcome::Plaintext => c.plaintext += 1,
                    Outcome::Write { kind, .. } => {
                        changes = true;
                        match kind {
                            WriteKind::Reencrypt => c.to_rotate += 1,
                            WriteKind::Rehash => c.to_rehash += 1,
                            WriteKind::EncryptPlaintext => c.to_encrypt += 1,
                        }
                    }
                    Outcome::Fail(why) => *c.failing.entry(why.to_string()).or_default() += 1,
                }
            }
            to_change += u64::from(changes);
        }
        scanned += rows.len() as u64;
    }
    Ok(ModelPlan {
        model: model.name.clone(),
        table: model.table_name.clone(),
        target,
        rows_total,
        rows_scanned: scanned,
        sampled,
        rows_to_change: to_change,
        columns: census,
    })
}

/// How a key is named in a census: its fingerprint, per-user keys grouped by master.
pub fn key_label(ring: &KeyRing, key: &KeyId) -> String {
    match key {
        KeyId::User(_) => ring
            .master()
            .map_or("user:?".into(), |m| format!("user:{}", m.fingerprint())),
        KeyId::UserOld(_) => ring.master_old().map_or("user_old:?".into(), |m| {
            format!("user_old:{}", m.fingerprint())
        }),
        other => ring
            .fingerprint(other)
            .map_or_else(|| other.to_string(), |fp| fp.to_string()),
    }
}
