//! Exact-match search. The search value is always bound as a parameter, never spliced.
//!
//! - An encrypted field is searchable only through its blind index (`blind_index: <col>`):
//!   the hash column is matched against both the keyed hash (HMAC under a key derived from
//!   MASTER_ENCRYPTION_KEY, what we write) and the legacy `sha256(lower(v))` of Python
//!   Timber's guide, in one indexed `IN (?, ?)` query. A column in mid-migration holds both
//!   kinds, and trying both costs one index probe more than either. Legacy hashes match
//!   case-insensitively, as they always did in Python; health flags them (`schema.legacy_hash`).
//! - A plain field is matched with `=` (JSON columns have no equality and are refused).

use super::Store;
use super::backend::SqlValue;
use super::cells::{decode_row, search_hashes};
use super::convert::to_sql;
use super::error::StoreError;
use super::records::Record;
use crate::config::{ColumnType, ModelDef};
use crate::crypto::KeyRing;
use crate::value::Value;

impl Store {
    /// Records whose `field` equals `value`, in primary-key order, at most `limit`.
    pub async fn find(
        &self,
        model: &ModelDef,
        ring: &KeyRing,
        field: &str,
        value: &Value,
        limit: u32,
    ) -> Result<Vec<Record>, StoreError> {
        let column = model
            .column(field)
            .ok_or_else(|| StoreError::UnknownField {
                model: model.name.clone(),
                field: field.to_string(),
            })?;
        let not_searchable = |reason: &str| StoreError::NotSearchable {
            model: model.name.clone(),
            field: field.to_string(),
            reason: reason.to_string(),
        };
        let dialect = self.dialect();
        let (condition, binds) = if column.encrypted {
            let Some(hash_name) = &column.blind_index else {
                return Err(not_searchable(
                    "it is encrypted and has no blind index (declare `blind_index: <hash column>` on it)",
                ));
            };
            let hash_column = model
                .column(hash_name)
                .ok_or_else(|| StoreError::UnknownField {
                    model: model.name.clone(),
                    field: hash_name.clone(),
                })?;
            if value.is_null() {
                return Err(not_searchable(
                    "a NULL value has no hash; nothing can match it",
                ));
            }
            let hashes = search_hashes(ring, value);
            let marks: Vec<String> = (1..=hashes.len())
                .map(|n| dialect.placeholder(n, hash_column))
                .collect();
            let condition = format!("{} IN ({})", dialect.quote(hash_name), marks.join(", "));
            (
                condition,
                hashes.into_iter().map(SqlValue::Text).collect::<Vec<_>>(),
            )
        } else {
            if column.ty == ColumnType::Json {
                return Err(not_searchable(
                    "JSON columns cannot be compared for equality",
                ));
            }
            if value.is_null() {
                (
                    format!("{} IS NULL", dialect.quote(&column.name)),
                    Vec::new(),
                )
            } else {
                let bind = to_sql(value, column).map_err(|reason| StoreError::InvalidValue {
                    model: model.name.clone(),
                    field: field.to_string(),
                    reason,
                })?;
                let condition = format!(
                    "{} = {}",
                    dialect.quote(&column.name),
                    dialect.placeholder(1, column)
                );
                (condition, vec![bind])
            }
        };
        // The table's key column, qualified, not the select list's `"id"::int8` of the same
        // name (which no index provides on PostgreSQL).
        let sql = format!(
            "{} WHERE {condition} ORDER BY {}.{} LIMIT {}",
            self.select_from(model),
            self.quote(&model.table_name),
            self.quote(&model.primary_key().name),
            limit.max(1)
        );
        let rows = self.fetch_rows(model, &sql, &binds).await?;
        rows.into_iter()
            .map(|row| decode_row(model, ring, row))
            .collect()
    }
}
