//! What the connected database already has: tables, columns, indexes, and the fast row
//! estimate. Used by `timber init` (created vs existed), by the model/table check before
//! reading, and by health's drift check.

use super::Store;
use super::backend::SqlValue;
use super::dialect::{Dialect, Wire};
use super::error::StoreError;
use crate::config::ModelDef;

/// A row count and whether it is exact.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RowEstimate {
    pub rows: u64,
    pub exact: bool,
}

impl Store {
    /// True when `table` exists in the current schema / database.
    pub async fn table_exists(&self, table: &str) -> Result<bool, StoreError> {
        let sql = match self.dialect() {
            Dialect::Sqlite => "SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?",
            Dialect::Postgres => {
                "SELECT table_name::text FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND table_name = $1"
            }
            Dialect::Mysql => {
                "SELECT table_name FROM information_schema.tables \
                 WHERE table_schema = DATABASE() AND table_name = ?"
            }
        };
        let rows = self
            .fetch_text(sql, &[SqlValue::Text(table.into())], "look up", table)
            .await?;
        Ok(!rows.is_empty())
    }

    /// The column names `table` has, in table order (empty when the table does not exist).
    pub async fn table_columns(&self, table: &str) -> Result<Vec<String>, StoreError> {
        let sql = match self.dialect() {
            Dialect::Sqlite => "SELECT name FROM pragma_table_info(?)",
            Dialect::Postgres => {
                "SELECT column_name::text FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position"
            }
            Dialect::Mysql => {
                "SELECT column_name FROM information_schema.columns \
                 WHERE table_schema = DATABASE() AND table_name = ? ORDER BY ordinal_position"
            }
        };
        self.fetch_text(sql, &[SqlValue::Text(table.into())], "list columns", table)
            .await
    }

    /// True when an index of this name exists on `table`.
    pub async fn index_exists(&self, table: &str, index: &str) -> Result<bool, StoreError> {
        let (sql, binds) = match self.dialect() {
            Dialect::Sqlite => (
                "SELECT name FROM sqlite_master WHERE type = 'index' AND name = ?",
                vec![SqlValue::Text(index.into())],
            ),
            Dialect::Postgres => (
                "SELECT indexname::text FROM pg_indexes \
                 WHERE schemaname = current_schema() AND tablename = $1 AND indexname = $2",
                vec![SqlValue::Text(table.into()), SqlValue::Text(index.into())],
            ),
            Dialect::Mysql => (
                "SELECT index_name FROM information_schema.statistics \
                 WHERE table_schema = DATABASE() AND table_name = ? AND index_name = ?",
                vec![SqlValue::Text(table.into()), SqlValue::Text(index.into())],
            ),
        };
        Ok(!self
            .fetch_text(sql, &binds, "look up index", table)
            .await?
            .is_empty())
    }

    /// Checks that the model's table exists and has every column the model declares (extra
    /// table columns are fine). Errors name the table and the missing columns.
    pub async fn check_model(&self, model: &ModelDef) -> Result<(), StoreError> {
        let columns = self.table_columns(&model.table_name).await?;
        if columns.is_empty() {
            return Err(StoreError::MissingTable {
                model: model.name.clone(),
                table: model.table_name.clone(),
                url: self.url_redacted(),
            });
        }
        let missing: Vec<&str> = model
            .columns
            .iter()
            .map(|c| c.name.as_str())
            .filter(|name| !columns.iter().any(|have| have.eq_ignore_ascii_case(name)))
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        Err(StoreError::Mismatch {
            model: model.name.clone(),
            table: model.table_name.clone(),
            detail: format!(
                "the table has no column {} (the table has: {})",
                missing.join(", "),
                columns.join(", ")
            ),
        })
    }

    /// A fast row estimate that never scans a big table: SQLite `max(rowid)` (an index
    /// lookup; deletions make it high), PostgreSQL `reltuples` (or the live-tuple counter for
    /// a table never analysed), MySQL `information_schema.TABLE_ROWS` (InnoDB's estimate).
    pub async fn estimate_rows(&self, model: &ModelDef) -> Result<RowEstimate, StoreError> {
        let table = &model.table_name;
        let (sql, binds) = match self.dialect() {
            Dialect::Sqlite => (
                format!("SELECT COALESCE(MAX(rowid), 0) FROM {}", self.quote(table)),
                vec![],
            ),
            Dialect::Postgres => (
                "SELECT COALESCE(NULLIF(GREATEST(c.reltuples, 0)::int8, 0), \
                 (SELECT n_live_tup FROM pg_stat_user_tables s WHERE s.relid = c.oid), 0)::int8 \
                 FROM pg_class c WHERE c.oid = to_regclass(quote_ident($1))"
                    .to_string(),
                vec![SqlValue::Text(table.clone())],
            ),
            Dialect::Mysql => (
                "SELECT COALESCE(table_rows, 0) FROM information_schema.tables \
                 WHERE table_schema = DATABASE() AND table_name = ?"
                    .to_string(),
                vec![SqlValue::Text(table.clone())],
            ),
        };
        let rows = self
            .backend
            .fetch(&sql, &binds, &[Wire::Int])
            .await
            .map_err(|e| self.read_error("estimate rows", model, e))?;
        let rows = match rows.into_iter().next().and_then(|r| r.into_iter().next()) {
            Some(SqlValue::Int(n)) => n.max(0) as u64,
            _ => 0,
        };
        Ok(RowEstimate { rows, exact: false })
    }

    /// For each of `models`' tables, in order: its column names in table order (empty when
    /// the table does not exist) and the fast row estimate of [`Store::estimate_rows`]. On
    /// a server it is one statement for every table: a census over a 50 ms link had paid two
    /// statements (four round trips) per model before reading a row.
    pub async fn table_outlines(
        &self,
        models: &[&ModelDef],
    ) -> Result<Vec<(Vec<String>, RowEstimate)>, StoreError> {
        let names: Vec<&str> = models.iter().map(|m| m.table_name.as_str()).collect();
        let unknown = RowEstimate {
            rows: 0,
            exact: false,
        };
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let (sql, binds) = match self.dialect() {
            Dialect::Sqlite => {
                let mut out = Vec::with_capacity(models.len());
                for model in models {
                    let columns = self.table_columns(&model.table_name).await?;
                    // No estimate (a WITHOUT ROWID table has no rowid) is no progress
                    // total, not a failed survey.
                    let estimate = if columns.is_empty() {
                        unknown
                    } else {
                        self.estimate_rows(model).await.unwrap_or(unknown)
                    };
                    out.push((columns, estimate));
                }
                return Ok(out);
            }
            Dialect::Postgres => (
                format!(
                    "SELECT c.table_name::text, c.column_name::text, \
                 (SELECT COALESCE(NULLIF(GREATEST(t.reltuples, 0)::int8, 0), \
                 (SELECT n_live_tup FROM pg_stat_user_tables s WHERE s.relid = t.oid), 0)::int8 \
                 FROM pg_class t WHERE t.oid = to_regclass(quote_ident(c.table_name))) \
                 FROM information_schema.columns c \
                 WHERE c.table_schema = current_schema() AND c.table_name = ANY(ARRAY[{}]::text[]) \
                 ORDER BY c.table_name, c.ordinal_position",
                    // The names as literals, not a parameter: a statement without
                    // parameters is sent unprepared, one round trip instead of two
                    // (`backend::unprepared`).
                    names
                        .iter()
                        .map(|n| pg_text_literal(n))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                Vec::new(),
            ),
            Dialect::Mysql => (
                format!(
                    "SELECT c.table_name, c.column_name, COALESCE(t.table_rows, 0) \
                     FROM information_schema.columns c JOIN information_schema.tables t \
                     ON t.table_schema = c.table_schema AND t.table_name = c.table_name \
                     WHERE c.table_schema = DATABASE() AND c.table_name IN ({}) \
                     ORDER BY c.table_name, c.ordinal_position",
                    vec!["?"; names.len().max(1)].join(", ")
                ),
                names
                    .iter()
                    .map(|n| SqlValue::Text(n.to_string()))
                    .collect(),
            ),
        };
        let what = names.join(", ");
        let rows = self
            .backend
            .fetch(&sql, &binds, &[Wire::Text, Wire::Text, Wire::Int])
            .await
            .map_err(|e| StoreError::query("list columns", &what, e))?;
        let mut out: Vec<(Vec<String>, RowEstimate)> =
            names.iter().map(|_| (Vec::new(), unknown)).collect();
        // MySQL may answer in another letter case than the model's (`lower_case_table_names`
        // stores `Users` as `users`), as `table_columns`' `table_name = ?` matches there.
        let same = |a: &str, b: &str| match self.dialect() {
            Dialect::Mysql => a.eq_ignore_ascii_case(b),
            _ => a == b,
        };
        for row in rows {
            let mut row = row.into_iter();
            let (Some(table), Some(column), rows) = (
                row.next().and_then(SqlValue::into_text),
                row.next().and_then(SqlValue::into_text),
                row.next(),
            ) else {
                continue;
            };
            let estimate = match rows {
                Some(SqlValue::Int(n)) => n.max(0) as u64,
                _ => 0,
            };
            for (name, slot) in names.iter().zip(out.iter_mut()) {
                if same(name, &table) {
                    slot.0.push(column.clone());
                    slot.1.rows = estimate;
                }
            }
        }
        Ok(out)
    }

    /// The exact row count (a full scan on a big table: only when the operator asks).
    pub async fn count_rows(&self, model: &ModelDef) -> Result<RowEstimate, StoreError> {
        let sql = format!("SELECT COUNT(*) FROM {}", self.quote(&model.table_name));
        let rows = self
            .backend
            .fetch(&sql, &[], &[Wire::Int])
            .await
            .map_err(|e| self.read_error("count rows", model, e))?;
        let rows = match rows.into_iter().next().and_then(|r| r.into_iter().next()) {
            Some(SqlValue::Int(n)) => n.max(0) as u64,
            _ => 0,
        };
        Ok(RowEstimate { rows, exact: true })
    }

    /// Asks the database whether this session refuses writes (the read-only guarantee is the
    /// server's, so `timber info` and the health checks can show it from the source).
    pub async fn session_read_only(&self) -> Result<bool, StoreError> {
        let sql = match self.dialect() {
            Dialect::Sqlite => "PRAGMA query_only",
            Dialect::Postgres => {
                "SELECT CASE WHEN current_setting('default_transaction_read_only') = 'on' \
                 THEN 1 ELSE 0 END::int8"
            }
            Dialect::Mysql => "SELECT @@SESSION.transaction_read_only",
        };
        let mut rows = self.backend.fetch(sql, &[], &[Wire::Int]).await;
        if rows.is_err() && self.dialect() == Dialect::Mysql {
            // MariaDB 10 only knows the old name (which MySQL 8 removed).
            rows = self
                .backend
                .fetch("SELECT @@SESSION.tx_read_only", &[], &[Wire::Int])
                .await;
        }
        let rows = rows.map_err(|e| StoreError::query("read the session mode", "(session)", e))?;
        Ok(matches!(rows.first().and_then(|r| r.first()), Some(SqlValue::Int(n)) if *n != 0))
    }

    /// Whether this session's connection is encrypted with TLS, as the server reports it;
    /// `None` for SQLite (a local file). Backs the `conn.tls` health check.
    pub async fn session_uses_tls(&self) -> Result<Option<bool>, StoreError> {
        let (sql, wires) = match self.dialect() {
            Dialect::Sqlite => return Ok(None),
            Dialect::Postgres => (
                "SELECT ssl::text FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
                &[Wire::Text][..],
            ),
            Dialect::Mysql => (
                "SHOW SESSION STATUS LIKE 'Ssl_cipher'",
                &[Wire::Text, Wire::Text][..],
            ),
        };
        let rows = self
            .backend
            .fetch(sql, &[], wires)
            .await
            .map_err(|e| StoreError::query("read the session's TLS state", "(session)", e))?;
        let value = rows
            .into_iter()
            .next()
            .and_then(|r| r.into_iter().last()?.into_text());
        Ok(Some(match self.dialect() {
            Dialect::Postgres => value.as_deref() == Some("true"),
            _ => value.is_some_and(|cipher| !cipher.is_empty()),
        }))
    }

    /// Runs a catalogue query whose single column is text.
    async fn fetch_text(
        &self,
        sql: &str,
        binds: &[SqlValue],
        what: &str,
        table: &str,
    ) -> Result<Vec<String>, StoreError> {
        let rows = self
            .backend
            .fetch(sql, binds, &[Wire::Text])
            .await
            .map_err(|e| StoreError::query(what, table, e))?;
        Ok(rows
            .into_iter()
            .filter_map(|r| r.into_iter().next()?.into_text())
            .collect())
    }
}

/// `text` as a PostgreSQL string literal (model validation keeps table names to
/// `[A-Za-z0-9_]`; this holds any text) that reads the same whatever the session's
/// `standard_conforming_strings`: an escape string (`E'...'`) with its backslashes and
/// quotes doubled.
fn pg_text_literal(text: &str) -> String {
    format!("E'{}'", text.replace('\\', "\\\\").replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::pg_text_literal;

    #[test]
    fn a_text_literal_doubles_quotes_and_backslashes() {
        assert_eq!(pg_text_literal("ledgers"), "E'ledgers'");
        // Model validation allows neither in a table name; the literal holds them anyway.
        assert_eq!(pg_text_literal(r"a'b\c"), r"E'a''b\\c'");
    }
}
