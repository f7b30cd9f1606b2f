//! What `timber keys retire` says before it retires: an unknown key id is named as unknown
//! with the configured ids listed (ids and fingerprints only), and a key still in use is
//! refused naming each place by model and column (`Model.column N`), as the console does.

use crate::config::ModelDef;
use crate::crypto::{KeyId, KeyRing};
use crate::rotation::RotationError;
use crate::rotation::retire::{key_usage, retirable};
use crate::store::Store;

use super::CliError;

/// The key `key_text` names, if it may be retired at all (no I/O). A key no configured
/// entry has is reported as unknown, listing the ones there are: "not configured" alone
/// did not tell a typo from a key that was removed too early.
pub fn check_retirable(
    ring: &KeyRing,
    models: &[ModelDef],
    key_text: &str,
) -> Result<(KeyId, String), CliError> {
    let refused = match retirable(ring, models, key_text) {
        Ok(found) => return Ok(found),
        Err(e) => e,
    };
    let id = KeyId::parse(key_text.trim());
    let configurable = matches!(id, KeyId::Named(_) | KeyId::Old(_) | KeyId::MasterOld);
    let entries = ring.entries();
    if !configurable || entries.iter().any(|k| k.id == id) {
        return Err(CliError::msg(refused.to_string()));
    }
    let known: Vec<String> = entries
        .iter()
        .map(|k| format!("{} ({})", k.id, k.fingerprint))
        .collect();
    let known = if known.is_empty() {
        "none".to_string()
    } else {
        known.join(", ")
    };
    Err(CliError::msg(format!(
        "key {} is unknown: no configured key has that id (known: {known}); `timber keys list` \
         shows them, and a key must stay configured (e.g. as ENCRYPTION_KEY_OLD) while it is retired",
        key_text.trim()
    )))
}

/// Counts the values still under `id`, one model at a time so each place is named by its
/// model; refuses (as `RotationError::KeyInUse`) when any is found. `retire_key` proves the
/// same again before it writes, as the console's retirement does.
pub async fn refuse_if_in_use(
    store: &Store,
    ring: &KeyRing,
    models: &[ModelDef],
    id: &KeyId,
    fingerprint: &str,
) -> Result<(), RotationError> {
    let mut places = Vec::new();
    let mut total = 0u64;
    for model in models {
        for usage in key_usage(store, ring, std::slice::from_ref(model), id).await? {
            total += usage.count;
            places.push(format!("{}.{} {}", model.name, usage.column, usage.count));
        }
    }
    if total == 0 {
        return Ok(());
    }
    Err(RotationError::KeyInUse {
        key: id.to_string(),
        fingerprint: fingerprint.to_string(),
        total,
        places: places.join(", "),
    })
}
