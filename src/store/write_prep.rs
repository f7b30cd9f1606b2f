//! Turning the fields a caller gives into the columns a write stores: names checked,
//! primary key generated, YAML defaults and mixin columns filled in (`created_*` on insert,
//! `updated_*` always), encrypted values turned into tokens under the model's key choice,
//! and each blind-index hash column kept in step with its encrypted column.

use chrono::{NaiveDateTime, Timelike, Utc};
use rand::RngCore;

use super::backend::SqlValue;
use super::cells::{Cell, encrypt_cell, key_choice, keyed_hash};
use super::convert::{parse_for_column, to_sql};
use super::dialect::Wire;
use super::error::StoreError;
use super::records::Record;
use crate::config::{ColumnType, Mixin, ModelDef};
use crate::crypto::KeyRing;
use crate::value::Value;
use crate::value::owner_text;

/// Field name → value, as callers give them.
pub type Fields = Vec<(String, Value)>;

/// (model column index, value) pairs, in the order they will be written.
pub(crate) type Row = Vec<(usize, Value)>;

/// Now, in UTC, at the microsecond precision every backend stores.
pub(crate) fn now() -> NaiveDateTime {
    let now = Utc::now().naive_utc();
    now.with_nanosecond(now.nanosecond() / 1000 * 1000)
        .unwrap_or(now)
}

/// Resolves field names to column indexes; refuses unknown, duplicate and derived fields.
pub(crate) fn resolve(model: &ModelDef, fields: &[(String, Value)]) -> Result<Row, StoreError> {
    let mut row: Row = Vec::with_capacity(fields.len());
    for (name, value) in fields {
        let index = model
            .columns
            .iter()
            .position(|c| &c.name == name)
            .ok_or_else(|| StoreError::UnknownField {
                model: model.name.clone(),
                field: name.clone(),
            })?;
        let invalid = |reason: String| StoreError::InvalidValue {
            model: model.name.clone(),
            field: name.clone(),
            reason,
        };
        if row.iter().any(|(i, _)| *i == index) {
            return Err(invalid("given twice".into()));
        }
        if let Some(source) = model
            .columns
            .iter()
            .find(|c| c.blind_index.as_deref() == Some(name))
        {
            return Err(invalid(format!(
                "is the blind index of {} and is kept by the store",
                source.name
            )));
        }
        row.push((index, value.clone()));
    }
    Ok(row)
}

/// A full row for an insert: the given fields plus a generated string key, YAML defaults,
/// and the Timestamp/Audit mixin columns. Checks required fields.
pub(crate) fn insert_row(
    model: &ModelDef,
    fields: &[(String, Value)],
    actor: Option<&str>,
    at: NaiveDateTime,
) -> Result<Row, StoreError> {
    let mut row = resolve(model, fields)?;
    let has = |row: &Row, name: &str| {
        row.iter()
            .any(|(i, v)| model.columns[*i].name == name && !v.is_null())
    };
    let mut auto: Vec<(&str, Value)> = Vec::new();
    let pk = model.primary_key();
    if !has(&row, &pk.name) && matches!(pk.ty, ColumnType::String(_) | ColumnType::Text) {
        auto.push((&pk.name, Value::Text(uuid_v4())));
    }
    if model.has_mixin(Mixin::Timestamp) {
        auto.push(("created_at", Value::DateTime(at)));
        auto.push(("updated_at", Value::DateTime(at)));
    }
    if model.has_mixin(Mixin::Audit)
        && let Some(actor) = actor
    {
        auto.push(("created_by", Value::Text(actor.to_string())));
        auto.push(("updated_by", Value::Text(actor.to_string())));
    }
    for (name, value) in auto {
        if !has(&row, name)
            && let Some(index) = model.columns.iter().position(|c| c.name == name)
        {
            row.retain(|(i, _)| *i != index);
            row.push((index, value));
        }
    }
    for (index, column) in model.columns.iter().enumerate() {
        if row.iter().any(|(i, _)| *i == index) {
            continue;
        }
        if let Some(default) = &column.default {
            let value =
                parse_for_column(default, column).map_err(|reason| StoreError::InvalidValue {
                    model: model.name.clone(),
                    field: column.name.clone(),
                    reason: format!("YAML default: {reason}"),
                })?;
            row.push((index, value));
        }
    }
    for (index, column) in model.columns.iter().enumerate() {
        let is_hash = model
            .columns
            .iter()
            .any(|c| c.blind_index.as_ref() == Some(&column.name));
        let generated = column.primary_key && !matches!(column.ty, ColumnType::String(_));
        if column.nullable || generated || is_hash {
            continue;
        }
        if !row.iter().any(|(i, v)| *i == index && !v.is_null()) {
            return Err(StoreError::InvalidValue {
                model: model.name.clone(),
                field: column.name.clone(),
                reason: "is required (nullable: false) and was not given".into(),
            });
        }
    }
    Ok(row)
}

/// The owner id a row's per-user key belongs to, from the values being written.
pub(crate) fn row_owner(model: &ModelDef, row: &Row) -> Option<String> {
    row.iter()
        .find(|(i, _)| model.columns[*i].name == model.owner_column)
        .and_then(|(_, v)| owner_text(v))
}

/// The stored form of each value: tokens for encrypted columns (plus their blind-index
/// hashes), checked typed values for the rest. Tokens say they were written now, or at
/// `written_at` (a bulk load of backdated rows).
pub(crate) fn encode_row(
    model: &ModelDef,
    ring: &KeyRing,
    owner: Option<&str>,
    row: &Row,
    written_at: Option<u64>,
) -> Result<Vec<(usize, SqlValue)>, StoreError> {
    let mut out = Vec::with_capacity(row.len() + 1);
    let mut choice = None;
    for (index, value) in row {
        let column = &model.columns[*index];
        if !column.encrypted {
            let bind = to_sql(value, column).map_err(|reason| StoreError::InvalidValue {
                model: model.name.clone(),
                field: column.name.clone(),
                reason,
            })?;
            out.push((*index, bind));
            continue;
        }
        let stored = if value.is_null() {
            SqlValue::Null(Wire::Text)
        } else {
            if choice.is_none() {
                choice = Some(key_choice(model, owner)?);
            }
            let choice = choice.as_ref().expect("set above");
            SqlValue::Text(encrypt_cell(
                ring, model, column, value, choice, written_at,
            )?)
        };
        out.push((*index, stored));
        if let Some(hash_column) = &column.blind_index {
            let hash_index = model
                .columns
                .iter()
                .position(|c| &c.name == hash_column)
                .ok_or_else(|| StoreError::UnknownField {
                    model: model.name.clone(),
                    field: hash_column.clone(),
                })?;
            let hash = match value {
                Value::Null => SqlValue::Null(Wire::Text),
                value => SqlValue::Text(keyed_hash(ring, model, column, value)?),
            };
            out.push((hash_index, hash));
        }
    }
    Ok(out)
}

/// A random (version 4) UUID, the key Python Timber's models generate for `String(36)` ids.
pub(crate) fn uuid_v4() -> String {
    let mut b = [0u8; 16];
    rand::rng().fill_bytes(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex = crate::value::hex_lower(&b);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// Adds every encrypted field not being changed, with its current plaintext, so it is
/// re-encrypted under the new owner's key.
pub(crate) fn reencrypt_all(
    model: &ModelDef,
    old: &Record,
    row: &mut Row,
) -> Result<(), StoreError> {
    for (index, column) in model.columns.iter().enumerate() {
        if !column.encrypted || row.iter().any(|(i, _)| *i == index) {
            continue;
        }
        match &old.cells[index] {
            Cell::Unreadable(e) => {
                return Err(StoreError::InvalidValue {
                    model: model.name.clone(),
                    field: column.name.clone(),
                    reason: format!(
                        "cannot move to the new owner's key: the stored value is unreadable ({})",
                        e.as_str()
                    ),
                });
            }
            cell => row.push((index, cell.value().cloned().unwrap_or(Value::Null))),
        }
    }
    Ok(())
}

pub(crate) fn named(model: &ModelDef, row: &Row) -> Vec<(String, Value)> {
    row.iter()
        .map(|(i, v)| (model.columns[*i].name.clone(), v.clone()))
        .collect()
}
