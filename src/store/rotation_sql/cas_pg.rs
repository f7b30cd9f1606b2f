//! PostgreSQL: the compare-and-set of all of a batch's columns in ONE statement.
//!
//! PostgreSQL's MVCC writes a whole new row version per UPDATE, so one statement per column
//! wrote every row of a two-column model twice (and its indexes, and twice the WAL) where the
//! raw rewrite writes it once. Here each column's CAS stays exact: a column is set only where
//! it still holds its `expected` text (`CASE WHEN stored = expected THEN new ELSE stored`),
//! and a row is touched when any of its columns matches. The statement returns, per column,
//! how many rows now hold their new value; only when one falls short does a SELECT name the
//! rows that did not (`unapplied`, as on the other backends).
//!
//! The batch travels as `1 + 3 * columns` typed arrays joined through `unnest`, not as a
//! VALUES list of thousands of scalar parameters: the statement text is the same for every
//! batch (prepared once, per connection) and the server does not parse and plan a
//! 28 000-parameter list per batch.

use super::ColumnCas;
use super::batch::RotationTx;
use super::cas::{RowWrites, pg_key_cast, qualified_text};
use crate::config::{ColumnDef, ColumnType};
use crate::store::backend::SqlValue;
use crate::store::dialect::{Dialect, Wire};
use crate::store::error::StoreError;
use crate::store::records::key_bind;
use crate::value::Value;

/// Rows per statement at most (a batch is at most this long anyway).
const MAX_ROWS: usize = 4000;

impl RotationTx<'_> {
    /// All columns' compare-and-sets of a batch; returns, per column, the ids whose row did
    /// not hold `expected` (changed or deleted meanwhile).
    pub(super) async fn cas_columns_pg(
        &mut self,
        targets: &[(&ColumnDef, Option<&ColumnDef>)],
        updates: &[&[ColumnCas]],
    ) -> Result<Vec<Vec<Value>>, StoreError> {
        let rows = RowWrites::group(updates);
        let mut conflicts = vec![Vec::new(); targets.len()];
        let sql = self.cas_columns_sql(targets);
        for chunk in rows.chunks(MAX_ROWS) {
            let binds = self.cas_arrays(targets.len(), chunk)?;
            let wires = vec![Wire::Int; targets.len()];
            let counts = self
                .tx
                .fetch(&sql, &binds, &wires)
                .await
                .map_err(|e| self.fail("rotation update", e))?;
            let counts = counts.into_iter().next().unwrap_or_default();
            for (ci, &(column, _)) in targets.iter().enumerate() {
                let asked: Vec<ColumnCas> = chunk
                    .iter()
                    .filter_map(|r| r.columns[ci].cloned())
                    .collect();
                let applied = match counts.get(ci) {
                    Some(SqlValue::Int(n)) => *n as usize,
                    _ => 0,
                };
                if applied < asked.len() {
                    conflicts[ci].extend(self.unapplied(column, &asked).await?);
                }
            }
        }
        Ok(conflicts)
    }

    /// The chunk as one array per `unnest` column: the keys (`int8[]` for an integer key,
    /// else `text[]`), then per column its expected, new and hash texts (null where the row
    /// has no write for that column).
    fn cas_arrays(
        &self,
        columns: usize,
        chunk: &[RowWrites<'_>],
    ) -> Result<Vec<SqlValue>, StoreError> {
        let integer_key = pg_key_cast(self.model.primary_key()) == "int8";
        let mut int_ids = Vec::new();
        let mut text_ids = Vec::new();
        for row in chunk {
            match key_bind(self.model, row.id)? {
                SqlValue::Int(i) if integer_key => int_ids.push(i),
                other => text_ids.push(other.into_text()),
            }
        }
        let mut binds = Vec::with_capacity(1 + 3 * columns);
        binds.push(if integer_key {
            SqlValue::IntArray(int_ids)
        } else {
            SqlValue::TextArray(text_ids)
        });
        for ci in 0..columns {
            let cell = |f: fn(&ColumnCas) -> Option<&str>| {
                chunk
                    .iter()
                    .map(|r| r.columns[ci].and_then(f).map(str::to_string))
                    .collect::<Vec<_>>()
            };
            binds.push(SqlValue::TextArray(cell(|c| Some(c.expected.as_str()))));
            binds.push(SqlValue::TextArray(cell(|c| Some(c.new.as_str()))));
            binds.push(SqlValue::TextArray(cell(|c| c.hash.as_deref())));
        }
        Ok(binds)
    }

    /// `WITH u AS (UPDATE ... FROM unnest($1::int8[], $2::text[], ...) AS v(...) RETURNING
    /// <column holds its new value>, ...) SELECT count(*) FILTER (...) ... FROM u`. The text
    /// is the same for every batch of a model, so the server prepares it once.
    fn cas_columns_sql(&self, targets: &[(&ColumnDef, Option<&ColumnDef>)]) -> String {
        let d = Dialect::Postgres;
        let t = d.quote(&self.model.table_name);
        let pk = self.model.primary_key();
        let pk_name = d.quote(&pk.name);
        let key_cast = pg_key_cast(pk);
        // A text key array compares as the key column's own type (a DATE key is not text);
        // string keys need no cast (a VARCHAR(n) cast would truncate).
        let id = match pk.ty {
            ColumnType::Integer
            | ColumnType::BigInteger
            | ColumnType::String(_)
            | ColumnType::Text => "v.id".to_string(),
            _ => format!("v.id::{}", d.column_type(pk)),
        };
        let mut sets = Vec::new();
        let mut any = Vec::new();
        let mut returned = Vec::new();
        let mut counted = Vec::new();
        let mut names = vec!["id".to_string()];
        let mut arrays = vec![format!("$1::{key_cast}[]")];
        for (ci, (column, hash_column)) in targets.iter().enumerate() {
            let (e, n, h) = (format!("e{ci}"), format!("n{ci}"), format!("h{ci}"));
            let stored = qualified_text(d, &t, column);
            let c = d.quote(&column.name);
            let new = if column.ty == ColumnType::Json {
                format!("v.{n}::json")
            } else {
                format!("v.{n}")
            };
            sets.push(format!(
                "{c} = CASE WHEN {stored} = v.{e} THEN {new} ELSE {t}.{c} END"
            ));
            if let Some(hash) = hash_column {
                let hc = d.quote(&hash.name);
                sets.push(format!(
                    "{hc} = CASE WHEN {stored} = v.{e} THEN COALESCE(v.{h}, {t}.{hc}) ELSE {t}.{hc} END"
                ));
            }
            any.push(format!("{stored} = v.{e}"));
            // After the update `stored` reads the new row.
            returned.push(format!("{stored} = v.{n} AS ok{ci}"));
            counted.push(format!("count(*) FILTER (WHERE ok{ci})"));
            names.extend([e, n, h]);
            for _ in 0..3 {
                arrays.push(format!("${}::text[]", arrays.len() + 1));
            }
        }
        format!(
            "WITH u AS (UPDATE {t} SET {} FROM unnest({}) AS v({}) \
             WHERE {t}.{pk_name} = {id} AND ({}) RETURNING {}) SELECT {} FROM u",
            sets.join(", "),
            arrays.join(", "),
            names.join(", "),
            any.join(" OR "),
            returned.join(", "),
            counted.join(", ")
        )
    }
}
