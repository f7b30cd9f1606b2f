//! `timber keys list` and `timber keys retire KEY_ID`.
//!
//! Retiring is a promise that no stored value needs the key any more, so it is proven
//! first: every encrypted column of every model is read and each token's key identified by
//! its HMAC (no decryption). One value still under the key and retirement is refused,
//! saying how many values and where. The key must therefore still be configured while it
//! is retired (as ENCRYPTION_KEY_OLD, or MASTER_ENCRYPTION_KEY_OLD for the old master):
//! without it nothing can be proven. Success is audited first, then recorded in
//! `timber_keys` (status `retired`). `wrapped_key` stays empty: the ring keeps prepared keys,
//! not their bytes, and a retired key is exactly the one nobody should be able to unwrap.

use chrono::{NaiveDateTime, Utc};

use super::RotationError;
use super::scope::owner_column;
use crate::audit::{Action, AuditLog};
use crate::config::ModelDef;
use crate::crypto::{KeyId, KeyRing, inspect};
use crate::store::Store;
use crate::store::{KeyRow, KeyStatus};

const PAGE: u32 = 4000;

/// One key as `timber keys list` shows it: never the key itself.
#[derive(Clone, Debug, PartialEq)]
pub struct KeyListing {
    pub id: String,
    pub fingerprint: String,
    /// Where it is configured, or `timber_keys` for a registered key no longer configured.
    pub source: String,
    pub role: String,
    pub status: KeyStatus,
    pub retired_at: Option<NaiveDateTime>,
}

/// The configured keys with their registry status, then registered keys not configured.
pub async fn key_listing(store: &Store, ring: &KeyRing) -> Result<Vec<KeyListing>, RotationError> {
    let registry = store.key_registry().await?;
    let mut out = Vec::new();
    for entry in ring.entries() {
        let fingerprint = entry.fingerprint.to_string();
        let registered = registry.iter().find(|r| r.fingerprint == fingerprint);
        out.push(KeyListing {
            id: entry.id.to_string(),
            fingerprint,
            source: entry.source.clone(),
            role: entry.role.as_str().to_string(),
            status: registered.map_or(KeyStatus::of_role(entry.role), |r| r.status),
            retired_at: registered.and_then(|r| r.retired_at),
        });
    }
    for row in registry {
        if !out.iter().any(|k| k.fingerprint == row.fingerprint) {
            out.push(KeyListing {
                id: row.key_id,
                fingerprint: row.fingerprint,
                source: "timber_keys".into(),
                role: "-".into(),
                status: row.status,
                retired_at: row.retired_at,
            });
        }
    }
    Ok(out)
}

/// Values under a key in one column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyUse {
    pub table: String,
    pub column: String,
    pub count: u64,
}

/// Counts, per column, the values that depend on `key` (for the old master: every value
/// under a per-user key derived from it, or under the old master itself).
pub async fn key_usage(
    store: &Store,
    ring: &KeyRing,
    models: &[ModelDef],
    key: &KeyId,
) -> Result<Vec<KeyUse>, RotationError> {
    key_usage_with_progress(store, ring, models, key, &|_, _| {}).await
}

/// [`key_usage`], telling `progress` after each page the model read and its rows so far
/// (the console's census gauge).
pub async fn key_usage_with_progress(
    store: &Store,
    ring: &KeyRing,
    models: &[ModelDef],
    key: &KeyId,
    progress: &(dyn Fn(&str, u64) + Send + Sync),
) -> Result<Vec<KeyUse>, RotationError> {
    let depends = |found: &KeyId| match key {
        KeyId::MasterOld => matches!(found, KeyId::UserOld(_) | KeyId::MasterOld),
        KeyId::Master => matches!(found, KeyId::User(_) | KeyId::Master),
        other => found == other,
    };
    let mut uses = Vec::new();
    for model in models {
        let columns: Vec<_> = model.encrypted_columns().collect();
        if columns.is_empty() || !store.table_exists(&model.table_name).await? {
            continue;
        }
        let owner = owner_column(model);
        let mut counts = vec![0u64; columns.len()];
        let mut after = None;
        let mut read = 0u64;
        loop {
            let rows = store
                .rotation_page(model, &columns, owner, after.as_ref(), PAGE)
                .await?;
            let Some(last) = rows.last() else { break };
            after = Some(last.id.clone());
            read += rows.len() as u64;
            for row in &rows {
                for (ci, stored) in row.values.iter().enumerate() {
                    let Some(stored) = stored.as_deref() else {
                        continue;
                    };
                    let token = inspect::unquote(stored);
                    if let Ok(found) = ring.classify(token, row.owner.as_deref())
                        && depends(&found.id)
                    {
                        counts[ci] += 1;
                    }
                }
            }
            progress(&model.name, read);
        }
        for (column, count) in columns.iter().zip(counts) {
            if count > 0 {
                uses.push(KeyUse {
                    table: model.table_name.clone(),
                    column: column.name.clone(),
                    count,
                });
            }
        }
    }
    Ok(uses)
}

/// Whether `key_text` names a key that may be retired at all, before any scan: never the
/// primary or master (new data is written under them), nor a per-user key (derived), nor a
/// named key a model still encrypts under, nor a key that is not configured (its values
/// could not be identified). Returns the key and its fingerprint. No I/O: the console asks
/// this before it starts the census.
pub fn retirable(
    ring: &KeyRing,
    models: &[ModelDef],
    key_text: &str,
) -> Result<(KeyId, String), RotationError> {
    let id = KeyId::parse(key_text.trim());
    let refuse = |reason: String| RotationError::Retire {
        key: key_text.to_string(),
        reason,
    };
    let fingerprint = match &id {
        KeyId::Primary | KeyId::Master => {
            return Err(refuse(format!(
                "{id} is in use for new data; configure a new one (the current one as its _OLD variable), \
                 run `timber rotate --all`, then retire the old one"
            )));
        }
        KeyId::User(_) | KeyId::UserOld(_) => {
            return Err(refuse(
                "per-user keys are derived; retire the master they derive from (master_old)".into(),
            ));
        }
        KeyId::Named(name) => {
            if let Some(m) = models
                .iter()
                .find(|m| m.encryption.key_identifier.as_deref() == Some(name.as_str()))
            {
                return Err(refuse(format!(
                    "model {} encrypts new data under it (encryption.key_identifier)",
                    m.name
                )));
            }
            ring.fingerprint(&id)
        }
        KeyId::MasterOld => ring.master_old().map(|k| k.fingerprint()),
        KeyId::Old(_) => ring.fingerprint(&id),
    };
    match fingerprint {
        Some(fingerprint) => Ok((id, fingerprint.to_string())),
        None => Err(refuse(
            "it is not configured, so the values under it cannot be identified; configure it \
             (e.g. as ENCRYPTION_KEY_OLD) while retiring it"
                .into(),
        )),
    }
}

/// Proves nothing depends on `key_text`, audits, and records it as retired.
pub async fn retire_key(
    store: &Store,
    ring: &KeyRing,
    models: &[ModelDef],
    audit: &AuditLog,
    actor: &str,
    key_text: &str,
) -> Result<KeyRow, RotationError> {
    let (id, fingerprint) = retirable(ring, models, key_text)?;
    let mut uses = key_usage(store, ring, models, &id).await?;
    // Values an audit entry recorded under the key (before the audit data key existed):
    // they could not be read once it is gone, nor re-encrypted (the chain covers them).
    let in_log = crate::audit::detail_keys::values_under(store, ring, &id).await?;
    if in_log > 0 {
        uses.push(KeyUse {
            table: crate::store::AUDIT_LOG.to_string(),
            column: "detail".to_string(),
            count: in_log,
        });
    }
    let total: u64 = uses.iter().map(|u| u.count).sum();
    if total > 0 {
        let places = uses
            .iter()
            .map(|u| format!("{}.{} {}", u.table, u.column, u.count))
            .collect::<Vec<_>>()
            .join(", ");
        return Err(RotationError::KeyInUse {
            key: id.to_string(),
            fingerprint: fingerprint.clone(),
            total,
            places,
        });
    }
    let now = Utc::now().naive_utc();
    let existing = store
        .key_registry()
        .await?
        .into_iter()
        .find(|r| r.fingerprint == fingerprint);
    let facts = serde_json::json!({ "fingerprint": fingerprint, "values_under_key": 0 });
    audit
        .record(
            actor,
            Action::KeyRetire,
            None,
            Some(&id.to_string()),
            &[],
            Some(facts),
        )
        .await?;
    let row = KeyRow {
        key_id: id.to_string(),
        fingerprint: fingerprint.clone(),
        wrapped_key: None,
        status: KeyStatus::Retired,
        created_at: existing.as_ref().map_or(now, |r| r.created_at),
        activated_at: existing.as_ref().and_then(|r| r.activated_at),
        retired_at: Some(now),
    };
    store.key_registry_put(&row).await?;
    Ok(row)
}
