//! Exact-match search. The search value is always bound as a parameter, never spliced.
//!
//! - An encrypted field is searchable only through its blind index (`blind_index: <col>`):
//!   the hash column is matched against both the keyed hash (HMAC under a key derived from
//!   MASTER_ENCRYPTION_KEY, what we write) and the legacy `sha256(lower(v))` of Python
//!   Timber's guide, in one indexed `IN (?, ?)` query. A column in mid-migration holds both
//!   kinds, and trying both costs one index probe more than either. Legacy hashes match
//!   case-insensitively, as they always did in Python; health flags them (`schema.legacy_hash`).
//! - A plain field is matched with `=` (JSON columns have no equality and are refused).
//!
//! [`Store::query_rows`] is the console's narrowing and ordering, all of it in SQL: a
//! case-insensitive substring in any of some plain columns (`LOWER(col) LIKE '%term%'`, the
//! term bound, its `%`, `_` and `!` escaped), an exact match as above, and `ORDER BY` a
//! plain column (NULLs last on every backend, then the primary key). Encrypted columns are
//! refused for both the substring and the order: their stored tokens say nothing of either.

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
        let (condition, binds) = self.equals_condition(model, ring, field, value, 1)?;
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

    /// The rows `query` narrows to, in its order, at most `query.limit`; the flag says
    /// whether more rows match.
    pub async fn query_rows(
        &self,
        model: &ModelDef,
        ring: &KeyRing,
        query: &RowQuery,
    ) -> Result<(Vec<Record>, bool), StoreError> {
        let (sql, binds) = self.row_query(model, ring, query)?;
        let mut rows = self.fetch_rows(model, &sql, &binds).await?;
        let limit = query.limit.max(1) as usize;
        let more = rows.len() > limit;
        rows.truncate(limit);
        let records = rows
            .into_iter()
            .map(|row| decode_row(model, ring, row))
            .collect::<Result<_, _>>()?;
        Ok((records, more))
    }

    /// The SQL and binds of [`Store::query_rows`] (`limit + 1` rows; public so a test can
    /// read it).
    pub fn row_query(
        &self,
        model: &ModelDef,
        ring: &KeyRing,
        query: &RowQuery,
    ) -> Result<(String, Vec<SqlValue>), StoreError> {
        let dialect = self.dialect();
        let mut conditions = Vec::new();
        let mut binds = Vec::new();
        if let Some((field, value)) = &query.equals {
            let (condition, mut more) =
                self.equals_condition(model, ring, field, value, binds.len() + 1)?;
            conditions.push(condition);
            binds.append(&mut more);
        }
        if let Some(contains) = &query.contains {
            let mut any = Vec::new();
            let pattern = format!("%{}%", like_escaped(&contains.term.to_lowercase()));
            for name in &contains.columns {
                let column = model.column(name).ok_or_else(|| StoreError::UnknownField {
                    model: model.name.clone(),
                    field: name.clone(),
                })?;
                if column.encrypted {
                    return Err(StoreError::NotSearchable {
                        model: model.name.clone(),
                        field: name.clone(),
                        reason: "it is encrypted: a substring of its plaintext cannot be \
                                 matched in SQL"
                            .into(),
                    });
                }
                any.push(format!(
                    "LOWER({}) LIKE {} ESCAPE '!'",
                    dialect.as_text_expr(column),
                    dialect.param(binds.len() + 1)
                ));
                binds.push(SqlValue::Text(pattern.clone()));
            }
            if any.is_empty() {
                // No column to match in: nothing matches.
                conditions.push("1 = 0".to_string());
            } else {
                conditions.push(format!("({})", any.join(" OR ")));
            }
        }
        let table = self.quote(&model.table_name);
        let pk = format!("{table}.{}", self.quote(&model.primary_key().name));
        let order = match &query.order {
            None => format!("{pk} ASC"),
            Some(order) => {
                let column =
                    model
                        .column(&order.column)
                        .ok_or_else(|| StoreError::UnknownField {
                            model: model.name.clone(),
                            field: order.column.clone(),
                        })?;
                if column.encrypted {
                    return Err(StoreError::NotSortable {
                        model: model.name.clone(),
                        field: order.column.clone(),
                        reason: "it is encrypted: its stored tokens have no order (sort on a \
                                 plain column)"
                            .into(),
                    });
                }
                let col = format!("{table}.{}", self.quote(&column.name));
                let direction = if order.descending { "DESC" } else { "ASC" };
                format!("({col} IS NULL) ASC, {col} {direction}, {pk} ASC")
            }
        };
        let where_clause = if conditions.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", conditions.join(" AND "))
        };
        let sql = format!(
            "{}{where_clause} ORDER BY {order} LIMIT {}",
            self.select_from(model),
            query.limit.max(1) as u64 + 1
        );
        Ok((sql, binds))
    }

    /// `field = value`: through the blind index for an encrypted field, `=` (or `IS NULL`)
    /// for a plain one; placeholders numbered from `first`.
    fn equals_condition(
        &self,
        model: &ModelDef,
        ring: &KeyRing,
        field: &str,
        value: &Value,
        first: usize,
    ) -> Result<(String, Vec<SqlValue>), StoreError> {
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
        if column.encrypted {
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
            let marks: Vec<String> = (0..hashes.len())
                .map(|n| dialect.placeholder(first + n, hash_column))
                .collect();
            let condition = format!("{} IN ({})", dialect.quote(hash_name), marks.join(", "));
            return Ok((
                condition,
                hashes.into_iter().map(SqlValue::Text).collect::<Vec<_>>(),
            ));
        }
        if column.ty == ColumnType::Json {
            return Err(not_searchable(
                "JSON columns cannot be compared for equality",
            ));
        }
        if value.is_null() {
            return Ok((
                format!("{} IS NULL", dialect.quote(&column.name)),
                Vec::new(),
            ));
        }
        let bind = to_sql(value, column).map_err(|reason| StoreError::InvalidValue {
            model: model.name.clone(),
            field: field.to_string(),
            reason,
        })?;
        let condition = format!(
            "{} = {}",
            dialect.quote(&column.name),
            dialect.placeholder(first, column)
        );
        Ok((condition, vec![bind]))
    }
}

/// What [`Store::query_rows`] narrows to and orders by.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RowQuery {
    /// A case-insensitive substring of any of these plain columns.
    pub contains: Option<Contains>,
    /// An exact match on one field (a blind-index lookup for an encrypted one).
    pub equals: Option<(String, Value)>,
    /// The order (a plain column); by primary key when `None`.
    pub order: Option<Order>,
    /// Most rows returned.
    pub limit: u32,
}

/// A substring looked for in some plain columns (any of them matching is a match).
#[derive(Clone, Debug, PartialEq)]
pub struct Contains {
    pub columns: Vec<String>,
    pub term: String,
}

/// `ORDER BY` a plain column, NULLs last, then by primary key.
#[derive(Clone, Debug, PartialEq)]
pub struct Order {
    pub column: String,
    pub descending: bool,
}

/// `term` with the `LIKE` wildcards and the escape character itself escaped by `!`.
fn like_escaped(term: &str) -> String {
    let mut out = String::with_capacity(term.len());
    for c in term.chars() {
        if matches!(c, '!' | '%' | '_') {
            out.push('!');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn like_wildcards_are_escaped() {
        assert_eq!(super::like_escaped("50%_off!"), "50!%!_off!!");
    }
}
