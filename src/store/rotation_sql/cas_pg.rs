//! PostgreSQL: the compare-and-set of all of a batch's columns in ONE statement.
//!
//! PostgreSQL's MVCC writes a whole new row version per UPDATE, so one statement per column
//! wrote every row of a two-column model twice (and its indexes, and twice the WAL) where the
//! raw rewrite writes it once. Here each column's CAS stays exact: a column is set only where
//! it still holds its `expected` text (`CASE WHEN stored = expected THEN new ELSE stored`),
//! and a row is touched when any of its columns matches. The statement returns, per column,
//! how many rows now hold their new value; only when one falls short does a SELECT name the
//! rows that did not (`unapplied`, as on the other backends).

use std::collections::HashMap;

use super::ColumnCas;
use super::batch::RotationTx;
use super::cas::{id_key, pg_key_cast, qualified_text};
use crate::config::{ColumnDef, ColumnType};
use crate::store::backend::SqlValue;
use crate::store::dialect::{Dialect, Wire};
use crate::store::error::StoreError;
use crate::store::records::key_bind;
use crate::value::Value;

/// Parameters per statement, under PostgreSQL's 65 535.
const MAX_PARAMS: usize = 60_000;
/// Rows per statement at most (a batch is at most this long anyway).
const MAX_ROWS: usize = 4000;

/// One row of the joined VALUES: its id and, per column, the write it needs (if any).
struct RowWrites<'u> {
    id: &'u Value,
    columns: Vec<Option<&'u ColumnCas>>,
}

impl RotationTx<'_> {
    /// All columns' compare-and-sets of a batch; returns, per column, the ids whose row did
    /// not hold `expected` (changed or deleted meanwhile).
    pub(super) async fn cas_columns_pg(
        &mut self,
        targets: &[(&ColumnDef, Option<&ColumnDef>)],
        updates: &[&[ColumnCas]],
    ) -> Result<Vec<Vec<Value>>, StoreError> {
        let mut rows: Vec<RowWrites<'_>> = Vec::new();
        let mut at: HashMap<String, usize> = HashMap::new();
        for (ci, list) in updates.iter().enumerate() {
            for update in list.iter() {
                let i = *at.entry(id_key(&update.id)).or_insert_with(|| {
                    rows.push(RowWrites {
                        id: &update.id,
                        columns: vec![None; targets.len()],
                    });
                    rows.len() - 1
                });
                rows[i].columns[ci] = Some(update);
            }
        }
        let mut conflicts = vec![Vec::new(); targets.len()];
        let per_row = 1 + 3 * targets.len();
        let rows_per_statement = (MAX_PARAMS / per_row).clamp(1, MAX_ROWS);
        for chunk in rows.chunks(rows_per_statement) {
            let sql = self.cas_columns_sql(targets, chunk.len());
            let mut binds = Vec::with_capacity(chunk.len() * per_row);
            for row in chunk {
                binds.push(key_bind(self.model, row.id)?);
                for cas in &row.columns {
                    binds.push(text_or_null(cas.map(|c| c.expected.as_str())));
                    binds.push(text_or_null(cas.map(|c| c.new.as_str())));
                    binds.push(text_or_null(cas.and_then(|c| c.hash.as_deref())));
                }
            }
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

    /// `WITH u AS (UPDATE ... RETURNING <column holds its new value>, ...) SELECT count(*)
    /// FILTER (...) ... FROM u` for `rows` rows of `(id, expected, new, hash)` per column.
    fn cas_columns_sql(&self, targets: &[(&ColumnDef, Option<&ColumnDef>)], rows: usize) -> String {
        let d = Dialect::Postgres;
        let t = d.quote(&self.model.table_name);
        let pk = d.quote(&self.model.primary_key().name);
        let key_cast = pg_key_cast(self.model.primary_key());
        let mut sets = Vec::new();
        let mut any = Vec::new();
        let mut returned = Vec::new();
        let mut counted = Vec::new();
        let mut names = vec!["id".to_string()];
        for (ci, (column, hash_column)) in targets.iter().enumerate() {
            let (e, n, h) = (format!("e{ci}"), format!("n{ci}"), format!("h{ci}"));
            let stored = qualified_text(d, &t, column);
            let c = d.quote(&column.name);
            sets.push(format!(
                "{c} = CASE WHEN {stored} = v.{e} THEN v.{n} ELSE {t}.{c} END"
            ));
            if let Some(hash) = hash_column {
                let hc = d.quote(&hash.name);
                sets.push(format!(
                    "{hc} = CASE WHEN {stored} = v.{e} THEN COALESCE(v.{h}, {t}.{hc}) ELSE {t}.{hc} END"
                ));
            }
            any.push(format!("{stored} = v.{e}"));
            // After the update `stored` reads the new row.
            returned.push(format!("{stored} = v.{n}::text AS ok{ci}"));
            counted.push(format!("count(*) FILTER (WHERE ok{ci})"));
            names.extend([e, n, h]);
        }
        let casts: Vec<&str> = targets
            .iter()
            .flat_map(|(column, _)| {
                let value = if column.ty == ColumnType::Json {
                    "json"
                } else {
                    "text"
                };
                ["text", value, "text"]
            })
            .collect();
        let mut tuples = Vec::with_capacity(rows);
        let mut n = 0;
        for _ in 0..rows {
            n += 1;
            let mut cells = vec![format!("${n}::{key_cast}")];
            for cast in &casts {
                n += 1;
                cells.push(format!("${n}::{cast}"));
            }
            tuples.push(format!("({})", cells.join(", ")));
        }
        format!(
            "WITH u AS (UPDATE {t} SET {} FROM (VALUES {}) AS v({}) \
             WHERE {t}.{pk} = v.id AND ({}) RETURNING {}) SELECT {} FROM u",
            sets.join(", "),
            tuples.join(", "),
            names.join(", "),
            any.join(" OR "),
            returned.join(", "),
            counted.join(", ")
        )
    }
}

fn text_or_null(text: Option<&str>) -> SqlValue {
    text.map_or(SqlValue::Null(Wire::Text), |s| {
        SqlValue::Text(s.to_string())
    })
}
