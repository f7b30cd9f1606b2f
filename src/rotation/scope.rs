//! What a model's rotation touches: its encrypted columns, their declared blind-index
//! columns, the owner column of a per-user model, and the key everything must end up under.

use super::RotationError;
use super::decide::hash_column;
use crate::config::{ColumnDef, ModelDef};
use crate::crypto::{KeyId, KeyRing};

/// The columns one model's rotation reads, in the order a `RotationRow` holds them:
/// encrypted columns first, then their hash columns.
pub struct Scope<'m> {
    pub columns: Vec<&'m ColumnDef>,
    /// Per encrypted column, its blind-index column.
    pub hashes: Vec<Option<&'m ColumnDef>>,
    pub read: Vec<&'m ColumnDef>,
    pub owner: Option<&'m ColumnDef>,
}

impl<'m> Scope<'m> {
    pub fn of(model: &'m ModelDef) -> Result<Scope<'m>, RotationError> {
        let columns = rotated_columns(model)?;
        let hashes: Vec<Option<&ColumnDef>> =
            columns.iter().map(|c| hash_column(model, c)).collect();
        let mut read = columns.clone();
        read.extend(hashes.iter().flatten().copied());
        Ok(Scope {
            columns,
            hashes,
            read,
            owner: owner_column(model),
        })
    }

    /// Where column `ci`'s hash is in a row's values.
    pub fn hash_at(&self, ci: usize) -> Option<usize> {
        self.hashes[ci].and_then(|h| self.read.iter().position(|c| c.name == h.name))
    }
}

/// The encrypted columns of a model; a model without any has nothing to rotate.
pub fn rotated_columns(model: &ModelDef) -> Result<Vec<&ColumnDef>, RotationError> {
    let columns: Vec<&ColumnDef> = model.encrypted_columns().collect();
    if columns.is_empty() {
        return Err(RotationError::Model {
            model: model.name.clone(),
            reason: "no encrypted columns to rotate".into(),
        });
    }
    Ok(columns)
}

/// The owner column for per-user models (its value names the key).
pub fn owner_column(model: &ModelDef) -> Option<&ColumnDef> {
    if !model.encryption.per_user {
        return None;
    }
    model.column(&model.owner_column).filter(|c| !c.encrypted)
}

/// The target key as the jobs table records it; refuses when the key is not configured.
pub fn target_label(ring: &KeyRing, model: &ModelDef) -> Result<String, RotationError> {
    let missing = |what: &str| RotationError::Model {
        model: model.name.clone(),
        reason: format!("cannot rotate: {what}"),
    };
    if model.encryption.per_user {
        if owner_column(model).is_none() {
            return Err(missing(&format!(
                "per-user owner column `{}` is missing or encrypted",
                model.owner_column
            )));
        }
        let master = ring.master().ok_or_else(|| {
            missing("per-user keys derive from MASTER_ENCRYPTION_KEY, which is not set")
        })?;
        return Ok(format!("user:{}", master.fingerprint()));
    }
    let id = match &model.encryption.key_identifier {
        Some(name) => KeyId::Named(name.clone()),
        None => KeyId::Primary,
    };
    ring.fingerprint(&id)
        .map(|fp| fp.to_string())
        .ok_or_else(|| {
            missing(&format!(
                "the target key `{id}` is not configured (ENCRYPTION_KEY or TIMBER_KEY_<NAME>)"
            ))
        })
}
