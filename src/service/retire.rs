//! Retire a key only once no stored value depends on it: `timber keys retire KEY` and the
//! console's `X` on the Keys screen. The rule has three steps, in this order:
//!
//! 1. [`check_retirable`] (no I/O): the key exists and may be retired at all (never the
//!    primary or master, a per-user key, or a named key a model still writes under). A key
//!    no configured entry has is named as unknown, listing the ones there are.
//! 2. [`key_census`]: every encrypted column of every model is read and each token's key
//!    identified by its HMAC (nothing decrypted), one model at a time so that each place
//!    is named by model and the census can report progress. One value under the key and
//!    the retirement is refused, listing the places ([`in_use`]).
//! 3. [`crate::rotation::retire_key`] proves the same again in the same call that audits
//!    and records the retirement, so a value written between 2 and 3 is still caught.

use crate::audit::AuditLog;
use crate::config::ModelDef;
use crate::crypto::{KeyId, KeyRing};
use crate::rotation::{RotationError, retire_key};
use crate::rotation::{key_usage_with_progress, retirable};
use crate::store::KeyRow;
use crate::store::Store;

/// Why a key was not retired.
#[derive(Debug, thiserror::Error)]
pub enum RetireError {
    /// No configured key has the id: "not configured" alone did not tell a typo from a key
    /// removed too early.
    #[error(
        "key {key} is unknown: no configured key has that id (known: {known}); `timber keys list` \
         shows them, and a key must stay configured (e.g. as ENCRYPTION_KEY_OLD) while it is retired"
    )]
    Unknown {
        /// The id asked for.
        key: String,
        /// The configured keys, `id (fingerprint)`, comma separated.
        known: String,
    },
    /// The census could not read a model.
    #[error(transparent)]
    Census(#[from] CensusFailed),
    /// Refused by a rule (in use, never retirable, not configured) or failed.
    #[error(transparent)]
    Rotation(#[from] RotationError),
}

/// The census stopped at a model it could not read (named, so the operator knows where).
#[derive(Debug, thiserror::Error)]
#[error("{model}: {source}")]
pub struct CensusFailed {
    /// The model being read.
    pub model: String,
    /// Why it could not be read.
    pub source: Box<RotationError>,
}

/// Values under a key in one column of one model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyPlace {
    /// The model, as the operator names it.
    pub model: String,
    /// Its table.
    pub table: String,
    /// The encrypted column.
    pub column: String,
    /// Values in it under the key.
    pub count: u64,
}

/// Where a census stands: reading model `done + 1` of `total` (`model`, `rows` read so
/// far), `found` values under the key in the models before it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CensusProgress {
    /// Models read to the end.
    pub done: usize,
    /// Models the census reads (those with an encrypted column).
    pub total: usize,
    /// The model being read.
    pub model: String,
    /// Its rows read so far.
    pub rows: u64,
    /// Values under the key in the models read to the end.
    pub found: u64,
}

/// Step 1: the key `key_text` names and its fingerprint, if it may be retired at all.
pub fn check_retirable(
    ring: &KeyRing,
    models: &[ModelDef],
    key_text: &str,
) -> Result<(KeyId, String), RetireError> {
    let refused = match retirable(ring, models, key_text) {
        Ok(found) => return Ok(found),
        Err(e) => e,
    };
    let id = KeyId::parse(key_text.trim());
    let configurable = matches!(id, KeyId::Named(_) | KeyId::Old(_) | KeyId::MasterOld);
    let entries = ring.entries();
    if !configurable || entries.iter().any(|k| k.id == id) {
        return Err(refused.into());
    }
    let known: Vec<String> = entries
        .iter()
        .map(|k| format!("{} ({})", k.id, k.fingerprint))
        .collect();
    Err(RetireError::Unknown {
        key: key_text.trim().to_string(),
        known: if known.is_empty() {
            "none".to_string()
        } else {
            known.join(", ")
        },
    })
}

/// Step 2: every place holding values under `id`, model by model (the models without an
/// encrypted column are skipped), telling `progress` after each page.
pub async fn key_census(
    store: &Store,
    ring: &KeyRing,
    models: &[ModelDef],
    id: &KeyId,
    progress: &(dyn Fn(CensusProgress) + Send + Sync),
) -> Result<Vec<KeyPlace>, CensusFailed> {
    let surveyed: Vec<&ModelDef> = models
        .iter()
        .filter(|m| m.has_encrypted_columns())
        .collect();
    let total = surveyed.len();
    let mut places = Vec::new();
    let mut found = 0u64;
    for (done, model) in surveyed.into_iter().enumerate() {
        let report = |name: &str, rows: u64| {
            progress(CensusProgress {
                done,
                total,
                model: name.to_string(),
                rows,
                found,
            })
        };
        report(&model.name, 0);
        let one = std::slice::from_ref(model);
        let usages = key_usage_with_progress(store, ring, one, id, &report)
            .await
            .map_err(|source| CensusFailed {
                model: model.name.clone(),
                source: Box::new(source),
            })?;
        for usage in usages {
            found += usage.count;
            places.push(KeyPlace {
                model: model.name.clone(),
                table: usage.table,
                column: usage.column,
                count: usage.count,
            });
        }
    }
    // The audit log's recorded values, which nothing can re-encrypt (see
    // `audit::detail_keys`).
    let in_log = crate::audit::detail_keys::values_under(store, ring, id)
        .await
        .map_err(|e| CensusFailed {
            model: "audit log".into(),
            source: Box::new(RotationError::Audit(e)),
        })?;
    if in_log > 0 {
        places.push(KeyPlace {
            model: "audit log".into(),
            table: crate::store::AUDIT_LOG.into(),
            column: "detail".into(),
            count: in_log,
        });
    }
    Ok(places)
}

/// The refusal for a key still in use (`Model.column N, …`), or `Ok` when nothing is.
pub fn in_use(id: &KeyId, fingerprint: &str, places: &[KeyPlace]) -> Result<(), RotationError> {
    let total: u64 = places.iter().map(|p| p.count).sum();
    if total == 0 {
        return Ok(());
    }
    Err(RotationError::KeyInUse {
        key: id.to_string(),
        fingerprint: fingerprint.to_string(),
        total,
        places: places
            .iter()
            .map(|p| format!("{}.{} {}", p.model, p.column, p.count))
            .collect::<Vec<_>>()
            .join(", "),
    })
}

/// All three steps: retires `key_text` (audited, recorded in `timber_keys`) or says why
/// not. `audit` is opened by the caller only once the census passed (a refused retirement
/// writes nothing).
pub async fn retire<F>(
    store: &Store,
    ring: &KeyRing,
    models: &[ModelDef],
    key_text: &str,
    actor: &str,
    open_audit: F,
) -> Result<KeyRow, RetireError>
where
    F: AsyncFnOnce() -> Result<AuditLog, RotationError>,
{
    let (id, fingerprint) = check_retirable(ring, models, key_text)?;
    let places = key_census(store, ring, models, &id, &|_| {}).await?;
    in_use(&id, &fingerprint, &places)?;
    let audit = open_audit().await?;
    Ok(retire_key(store, ring, models, &audit, actor, key_text).await?)
}
