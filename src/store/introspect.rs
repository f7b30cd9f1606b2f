//! Catalogue facts the health checks need beyond `schema.rs`: declared column widths, the
//! indexes of a table with their columns, the rotation jobs table and the key registry
//! (the session's TLS state is `Store::session_uses_tls` in `schema.rs`). Read-only
//! queries, one per dialect; every bound value is a parameter and every identifier comes
//! from validated model YAML.

use super::Store;
use super::backend::SqlValue;
use super::dialect::{Dialect, Wire};
use super::error::StoreError;

/// A column as the database declares it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ColumnInfo {
    pub name: String,
    /// The declared type as the catalogue spells it (`VARCHAR(50)`, `character varying`...).
    pub data_type: String,
    /// Maximum length in characters for character types with a limit; `None` when unbounded.
    pub max_chars: Option<u64>,
}

/// An index and the columns it covers, in index order (expression parts are left out).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexInfo {
    pub name: String,
    pub unique: bool,
    pub columns: Vec<String>,
}

impl Store {
    /// The columns of `table` with their declared types and widths (empty when the table
    /// does not exist).
    pub async fn column_info(&self, table: &str) -> Result<Vec<ColumnInfo>, StoreError> {
        let sql = match self.dialect() {
            Dialect::Sqlite => "SELECT name, type, NULL FROM pragma_table_info(?)",
            Dialect::Postgres => {
                "SELECT column_name::text, data_type::text, character_maximum_length::int8 \
                 FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name = $1 \
                 ORDER BY ordinal_position"
            }
            Dialect::Mysql => {
                "SELECT column_name, column_type, CAST(character_maximum_length AS SIGNED) \
                 FROM information_schema.columns \
                 WHERE table_schema = DATABASE() AND table_name = ? ORDER BY ordinal_position"
            }
        };
        let rows = self
            .catalogue(
                sql,
                &[text(table)],
                &[Wire::Text, Wire::Text, Wire::Int],
                table,
            )
            .await?;
        Ok(rows
            .into_iter()
            .map(|row| {
                let mut it = row.into_iter();
                let name = it.next().and_then(SqlValue::into_text).unwrap_or_default();
                let data_type = it.next().and_then(SqlValue::into_text).unwrap_or_default();
                let max_chars = match it.next() {
                    Some(SqlValue::Int(n)) if n > 0 => Some(n as u64),
                    _ => declared_length(&data_type),
                };
                ColumnInfo {
                    name,
                    data_type,
                    max_chars,
                }
            })
            .collect())
    }

    /// The indexes of `table` (including those behind UNIQUE and PRIMARY KEY constraints).
    pub async fn index_info(&self, table: &str) -> Result<Vec<IndexInfo>, StoreError> {
        let sql = match self.dialect() {
            Dialect::Sqlite => {
                "SELECT il.name, il.\"unique\", ii.name \
                 FROM pragma_index_list(?) AS il JOIN pragma_index_info(il.name) AS ii \
                 WHERE ii.name IS NOT NULL ORDER BY il.name, ii.seqno"
            }
            Dialect::Postgres => {
                "SELECT i.relname::text, (CASE WHEN ix.indisunique THEN 1 ELSE 0 END)::int8, \
                 a.attname::text \
                 FROM pg_index ix \
                 JOIN pg_class i ON i.oid = ix.indexrelid \
                 JOIN LATERAL unnest(ix.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord) ON true \
                 JOIN pg_attribute a ON a.attrelid = ix.indrelid AND a.attnum = k.attnum \
                 WHERE ix.indrelid = to_regclass(quote_ident($1)) \
                 ORDER BY i.relname, k.ord"
            }
            Dialect::Mysql => {
                "SELECT index_name, CASE WHEN non_unique = 0 THEN 1 ELSE 0 END, column_name \
                 FROM information_schema.statistics \
                 WHERE table_schema = DATABASE() AND table_name = ? AND column_name IS NOT NULL \
                 ORDER BY index_name, seq_in_index"
            }
        };
        let rows = self
            .catalogue(
                sql,
                &[text(table)],
                &[Wire::Text, Wire::Int, Wire::Text],
                table,
            )
            .await?;
        let mut indexes: Vec<IndexInfo> = Vec::new();
        for row in rows {
            let mut it = row.into_iter();
            let name = it.next().and_then(SqlValue::into_text).unwrap_or_default();
            let unique = matches!(it.next(), Some(SqlValue::Int(n)) if n != 0);
            let column = it.next().and_then(SqlValue::into_text).unwrap_or_default();
            match indexes.last_mut() {
                Some(last) if last.name == name => last.columns.push(column),
                _ => indexes.push(IndexInfo {
                    name,
                    unique,
                    columns: vec![column],
                }),
            }
        }
        Ok(indexes)
    }

    async fn catalogue(
        &self,
        sql: &str,
        binds: &[SqlValue],
        wires: &[Wire],
        table: &str,
    ) -> Result<Vec<Vec<SqlValue>>, StoreError> {
        self.backend
            .fetch(sql, binds, wires)
            .await
            .map_err(|e| StoreError::query("read the catalogue", table, e))
    }
}

fn text(value: &str) -> SqlValue {
    SqlValue::Text(value.to_string())
}

/// The length in a declared type such as `VARCHAR(50)` or `character varying(50)`
/// (SQLite keeps the declaration as written and does not enforce it).
fn declared_length(data_type: &str) -> Option<u64> {
    let lower = data_type.to_ascii_lowercase();
    let is_char = ["char", "varchar", "character", "nvarchar", "string"]
        .iter()
        .any(|t| lower.trim_start().starts_with(t));
    if !is_char {
        return None;
    }
    let open = lower.find('(')?;
    let close = lower[open..].find(')')? + open;
    lower[open + 1..close]
        .trim()
        .parse()
        .ok()
        .filter(|n| *n > 0)
}

#[cfg(test)]
mod tests {
    use super::declared_length;

    #[test]
    fn declared_lengths_are_read_from_character_types_only() {
        assert_eq!(declared_length("VARCHAR(50)"), Some(50));
        assert_eq!(declared_length("character varying(164)"), Some(164));
        assert_eq!(declared_length("varchar(255)"), Some(255));
        assert_eq!(declared_length("TEXT"), None);
        assert_eq!(declared_length("NUMERIC(12,2)"), None);
        assert_eq!(declared_length("JSON"), None);
    }
}
