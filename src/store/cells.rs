//! The store's one boundary with `crypto`: stored cells to [`Cell`]s (decrypting encrypted
//! columns with the owner's key where the model has one), values to stored tokens under the
//! model's key choice, and the search hashes of a blind index.

use super::backend::SqlValue;
use super::convert::to_value;
use super::error::StoreError;
use super::records::Record;
use crate::config::{ColumnDef, ModelDef};
use crate::crypto::{CellError, KeyChoice, KeyId, KeyRing, blind_index};
use crate::value::Value;

/// One field of a record as read.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    /// An unencrypted column's value, or NULL in an encrypted column.
    Plain(Value),
    /// A decrypted value, the key that opened it and the token's timestamp.
    Decrypted {
        value: Value,
        key: KeyId,
        timestamp: u64,
    },
    /// An encrypted cell that could not be read.
    Unreadable(CellError),
}

impl Cell {
    /// The value, when the cell could be read.
    pub fn value(&self) -> Option<&Value> {
        match self {
            Cell::Plain(value) | Cell::Decrypted { value, .. } => Some(value),
            Cell::Unreadable(_) => None,
        }
    }

    pub fn error(&self) -> Option<CellError> {
        match self {
            Cell::Unreadable(e) => Some(*e),
            _ => None,
        }
    }
}

/// Decodes and decrypts one row (one raw value per model column, in order).
pub(crate) fn decode_row(
    model: &ModelDef,
    ring: &KeyRing,
    row: Vec<SqlValue>,
) -> Result<Record, StoreError> {
    // Only per-user models are under the owner's key; deriving it (100 000 PBKDF2 rounds)
    // for any other model would cost a derivation per distinct owner for nothing.
    let owner = if model.encryption.per_user {
        owner_of(model, &row)
    } else {
        None
    };
    let mut cells = Vec::with_capacity(row.len());
    let mut id = Value::Null;
    for (raw, column) in row.into_iter().zip(&model.columns) {
        let cell = if column.encrypted {
            match raw {
                // Only bytes that are not UTF-8 arrive as bytes for a text wire (`coerce`).
                SqlValue::Bytes(_) => Cell::Unreadable(CellError::NotText),
                raw => match raw.into_text() {
                    None => Cell::Plain(Value::Null),
                    Some(stored) => decrypt_cell(ring, &stored, column, owner.as_deref()),
                },
            }
        } else {
            let value = to_value(raw, column).map_err(|reason| StoreError::InvalidValue {
                model: model.name.clone(),
                field: column.name.clone(),
                reason,
            })?;
            if column.primary_key {
                id = value.clone();
            }
            Cell::Plain(value)
        };
        cells.push(cell);
    }
    Ok(Record { id, cells })
}

pub(crate) fn decrypt_cell(
    ring: &KeyRing,
    stored: &str,
    column: &ColumnDef,
    owner: Option<&str>,
) -> Cell {
    match ring.decrypt_value(stored, column, owner) {
        Ok(d) => Cell::Decrypted {
            value: d.value,
            key: d.key,
            timestamp: d.timestamp,
        },
        Err(e) => Cell::Unreadable(e),
    }
}

/// The owner column's value in a raw row, as text (per-user keys are `user_<owner>`).
fn owner_of(model: &ModelDef, row: &[SqlValue]) -> Option<String> {
    let index = model
        .columns
        .iter()
        .position(|c| c.name == model.owner_column)?;
    if model.columns[index].encrypted {
        return None;
    }
    row.get(index).cloned().and_then(SqlValue::into_text)
}

/// Which key encrypts the model's new values: the owner's per-user key, the named key, or
/// the primary.
pub(crate) fn key_choice(model: &ModelDef, owner: Option<&str>) -> Result<KeyChoice, StoreError> {
    if model.encryption.per_user {
        return match owner {
            Some(owner) => Ok(KeyChoice::User(owner.to_string())),
            None => Err(StoreError::InvalidValue {
                model: model.name.clone(),
                field: model.owner_column.clone(),
                reason: "per-user encryption needs the owner column set".into(),
            }),
        };
    }
    Ok(match &model.encryption.key_identifier {
        Some(name) => KeyChoice::Named(name.clone()),
        None => KeyChoice::Primary,
    })
}

/// The stored token for `value` (never called for NULL, which stays NULL), saying it was
/// written now or at `written_at`.
pub(crate) fn encrypt_cell(
    ring: &KeyRing,
    model: &ModelDef,
    column: &ColumnDef,
    value: &Value,
    choice: &KeyChoice,
    written_at: Option<u64>,
) -> Result<String, StoreError> {
    match written_at {
        None => ring.encrypt_value(value, column, choice.clone()),
        Some(at) => ring.encrypt_value_written_at(value, column, choice.clone(), at),
    }
    .map_err(|e| StoreError::Encrypt {
        model: model.name.clone(),
        field: column.name.clone(),
        reason: e.to_string(),
    })
}

/// The keyed blind-index hash written for a value (HMAC under a key derived from the
/// master key).
pub(crate) fn keyed_hash(
    ring: &KeyRing,
    model: &ModelDef,
    column: &ColumnDef,
    value: &Value,
) -> Result<String, StoreError> {
    let key = ring.blind_index_key().ok_or_else(|| StoreError::Encrypt {
        model: model.name.clone(),
        field: column.name.clone(),
        reason: "its blind index needs MASTER_ENCRYPTION_KEY, which is not set".into(),
    })?;
    Ok(blind_index::keyed(&key, &search_text(value)))
}

/// Both hashes a blind-index column may hold for a value: keyed (ours) and legacy
/// `sha256(lower(v))` (Python Timber's guide), so a search finds rows written either way.
pub(crate) fn search_hashes(ring: &KeyRing, value: &Value) -> Vec<String> {
    let mut hashes = Vec::with_capacity(2);
    if let Some(key) = ring.blind_index_key() {
        hashes.push(blind_index::keyed(&key, &search_text(value)));
    }
    hashes.push(blind_index::legacy_sha256(&search_text(value)));
    hashes
}

/// The text a blind index hashes: strings as they are, other values as JSON text.
fn search_text(value: &Value) -> String {
    match value {
        Value::Text(s) | Value::Numeric(s) => s.clone(),
        other => other.to_json().to_string(),
    }
}
