//! Bounded samples of any table, for discovery (`timber discover`, health's
//! `data.undeclared_sensitive`): which tables the connection's namespace holds, and the
//! first rows of one of them with every column read as text. Nothing is decrypted or
//! interpreted here; the caller decides what a value looks like. Table and column names come
//! from the catalogue and are quoted; the row limit is a number, never text.

use super::Store;
use super::backend::SqlValue;
use super::dialect::{Dialect, Wire};
use super::error::StoreError;
use super::raw::stored_texts;

/// One column of a sampled table: its declared type and the values read, as text.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SampledColumn {
    pub name: String,
    /// The type as the catalogue spells it (`VARCHAR(255)`, `text`, `int`...).
    pub data_type: String,
    pub primary_key: bool,
    /// True when the column was not read (a binary, boolean, date or time type).
    pub skipped: bool,
    /// The non-null values read, as text (a value that is not UTF-8 is left out).
    pub values: Vec<String>,
    /// NULLs among the rows read.
    pub nulls: u64,
}

/// The first rows of one table, column by column.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TableSample {
    pub table: String,
    /// Rows read (at most the limit asked for).
    pub rows: u64,
    pub columns: Vec<SampledColumn>,
}

/// Types whose values cannot hold the text discovery looks for: not read at all.
fn unreadable_type(data_type: &str) -> bool {
    let t = data_type.to_ascii_lowercase();
    ["bool", "date", "time", "blob", "bytea", "binary", "bit"]
        .iter()
        .any(|k| t.contains(k))
        // MySQL spells boolean `tinyint(1)`.
        || t == "tinyint(1)"
}

impl Store {
    /// The ordinary tables of the connection's namespace (SQLite's file, PostgreSQL's
    /// current schema, MySQL's database), sorted; SQLite's own `sqlite_*` tables left out.
    pub async fn list_tables(&self) -> Result<Vec<String>, StoreError> {
        let sql = match self.dialect() {
            Dialect::Sqlite => {
                "SELECT name FROM sqlite_master WHERE type = 'table' \
                 AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name"
            }
            Dialect::Postgres => {
                "SELECT table_name::text FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' \
                 ORDER BY table_name"
            }
            Dialect::Mysql => {
                "SELECT table_name FROM information_schema.tables \
                 WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE' \
                 ORDER BY table_name"
            }
        };
        let rows = self
            .backend
            .fetch(sql, &[], &[Wire::Text])
            .await
            .map_err(|e| StoreError::query("list tables", "(catalogue)", e))?;
        Ok(rows
            .into_iter()
            .filter_map(|r| r.into_iter().next()?.into_text())
            .collect())
    }

    /// The primary-key columns of `table` (empty when it has none or does not exist).
    async fn primary_key_columns(&self, table: &str) -> Result<Vec<String>, StoreError> {
        let sql = match self.dialect() {
            Dialect::Sqlite => "SELECT name FROM pragma_table_info(?) WHERE pk > 0 ORDER BY pk",
            Dialect::Postgres => {
                "SELECT a.attname::text FROM pg_index i \
                 JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) \
                 WHERE i.indrelid = to_regclass(quote_ident($1)) AND i.indisprimary"
            }
            Dialect::Mysql => {
                "SELECT column_name FROM information_schema.columns \
                 WHERE table_schema = DATABASE() AND table_name = ? AND column_key = 'PRI' \
                 ORDER BY ordinal_position"
            }
        };
        let rows = self
            .backend
            .fetch(sql, &[SqlValue::Text(table.to_string())], &[Wire::Text])
            .await
            .map_err(|e| StoreError::query("read the catalogue", table, e))?;
        Ok(rows
            .into_iter()
            .filter_map(|r| r.into_iter().next()?.into_text())
            .collect())
    }

    /// Up to `limit` rows of `table` (the first the database returns: no ordering, so it
    /// costs no sort), every column of a type that can hold text read as text. `skip` names
    /// columns not to read (declared encrypted ones, say); they are listed as skipped.
    pub async fn sample_table(
        &self,
        table: &str,
        skip: &[&str],
        limit: u32,
    ) -> Result<TableSample, StoreError> {
        let dialect = self.dialect();
        let keys = self.primary_key_columns(table).await?;
        let mut columns: Vec<SampledColumn> = self
            .column_info(table)
            .await?
            .into_iter()
            .map(|info| SampledColumn {
                skipped: unreadable_type(&info.data_type) || skip.contains(&info.name.as_str()),
                primary_key: keys.contains(&info.name),
                name: info.name,
                data_type: info.data_type,
                ..SampledColumn::default()
            })
            .collect();
        let read: Vec<usize> = (0..columns.len())
            .filter(|i| !columns[*i].skipped)
            .collect();
        let mut sample = TableSample {
            table: table.to_string(),
            rows: 0,
            columns: Vec::new(),
        };
        if read.is_empty() {
            sample.columns = columns;
            return Ok(sample);
        }
        let exprs: Vec<String> = read
            .iter()
            .map(|i| {
                let q = dialect.quote(&columns[*i].name);
                match dialect {
                    Dialect::Sqlite => format!("CAST({q} AS TEXT)"),
                    Dialect::Postgres => format!("{q}::text"),
                    Dialect::Mysql => format!("CAST({q} AS CHAR)"),
                }
            })
            .collect();
        let sql = format!(
            "SELECT {} FROM {} LIMIT {}",
            exprs.join(", "),
            dialect.quote(table),
            limit.max(1)
        );
        let wires = vec![Wire::Text; read.len()];
        let rows = self
            .backend
            .fetch(&sql, &[], &wires)
            .await
            .map_err(|e| StoreError::query("sample", table, e))?;
        sample.rows = rows.len() as u64;
        for row in rows {
            let (texts, not_text) = stored_texts(row.into_iter());
            for (at, text) in texts.into_iter().enumerate() {
                let column = &mut columns[read[at]];
                match text {
                    Some(text) => column.values.push(text),
                    None if not_text.contains(&at) => {}
                    None => column.nulls += 1,
                }
            }
        }
        sample.columns = columns;
        Ok(sample)
    }
}

#[cfg(test)]
mod tests {
    use super::unreadable_type;

    #[test]
    fn text_and_number_types_are_read_the_others_not() {
        for t in [
            "VARCHAR(255)",
            "text",
            "character varying",
            "INTEGER",
            "JSON",
            "bigint",
        ] {
            assert!(!unreadable_type(t), "{t}");
        }
        for t in [
            "BOOLEAN",
            "tinyint(1)",
            "DATETIME",
            "timestamp without time zone",
            "bytea",
            "BLOB",
            "date",
        ] {
            assert!(unreadable_type(t), "{t}");
        }
    }
}
