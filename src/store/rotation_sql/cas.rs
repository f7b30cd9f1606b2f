//! Compare-and-set of one column for a whole batch, in a handful of statements on every
//! backend (DESIGN §8): the batch's `(id, expected, new, hash)` rows are joined to the table
//! and a row is written only where it still holds `expected`.
//!
//! - SQLite (bundled, >= 3.33): `UPDATE t SET c = v.column3 FROM (VALUES (?,?,?,?), ...) AS v
//!   WHERE t.pk = v.column1 AND t.c = v.column2` (SQLite names VALUES columns itself).
//! - PostgreSQL: every column in one statement over `unnest` of typed arrays (`cas_pg.rs`).
//! - MySQL / MariaDB: `UPDATE t JOIN (SELECT ? AS id, ... UNION ALL SELECT ?, ...) AS v ON
//!   t.pk = v.id SET ... WHERE t.c = v.expected` (sqlx sets CLIENT_FOUND_ROWS, so the count
//!   is of rows matched, not only of rows changed).
//!
//! One value per statement had cost a round trip each (200 000 for 100 000 rows of two
//! columns on SQLite). The rows-affected count says whether every row matched; only when it
//! is short does one SELECT find which did not, so conflicts are counted exactly.

use std::collections::HashMap;

use super::batch::RotationTx;
use super::{ColumnCas, opt_text};
use crate::config::{ColumnDef, ColumnType};
use crate::store::backend::SqlValue;
use crate::store::convert::to_value;
use crate::store::dialect::{Dialect, Wire, stores_json, wire_for};
use crate::store::error::StoreError;
use crate::store::records::key_bind;
use crate::value::Value;

/// Rows per statement: four parameters each, 16 000 in all, under SQLite's default limit
/// (32 766) and the 65 535 of PostgreSQL and MySQL; also the largest rotation batch.
const ROWS_PER_STATEMENT: usize = 4000;

impl RotationTx<'_> {
    /// The first attempt of a batch: the updates of every column (`updates[i]` for
    /// `targets[i]`, a column and its blind-index column); returns, per column, the ids whose
    /// row did not hold `expected`. Every backend writes a row once with all its columns:
    /// PostgreSQL in `cas_pg.rs`, SQLite and MySQL in `cas_rows.rs`. (SQLite rewrites the
    /// whole record on any update, so one statement per column wrote each row once per
    /// column.)
    pub async fn compare_and_set_columns(
        &mut self,
        targets: &[(&ColumnDef, Option<&ColumnDef>)],
        updates: &[&[ColumnCas]],
    ) -> Result<Vec<Vec<Value>>, StoreError> {
        if self.store.dialect() == Dialect::Postgres {
            return self.cas_columns_pg(targets, updates).await;
        }
        self.cas_columns_rows(targets, updates).await
    }

    /// Applies the updates of one column whose row still holds `expected`; returns the ids
    /// of the rows that did not (changed or deleted meanwhile).
    pub async fn compare_and_set_column(
        &mut self,
        column: &ColumnDef,
        hash_column: Option<&ColumnDef>,
        updates: &[ColumnCas],
    ) -> Result<Vec<Value>, StoreError> {
        if self.store.dialect() == Dialect::Postgres {
            let mut one = self
                .cas_columns_pg(&[(column, hash_column)], &[updates])
                .await?;
            return Ok(one.pop().unwrap_or_default());
        }
        let mut conflicts = Vec::new();
        for chunk in updates.chunks(ROWS_PER_STATEMENT) {
            let sql = self.cas_sql(column, hash_column, chunk.len());
            let mut binds = Vec::with_capacity(chunk.len() * 4);
            for update in chunk {
                binds.push(key_bind(self.model, &update.id)?);
                binds.push(SqlValue::Text(update.expected.clone()));
                binds.push(SqlValue::Text(update.new.clone()));
                binds.push(opt_text(update.hash.as_deref()));
            }
            let done = self
                .tx
                .execute(&sql, &binds)
                .await
                .map_err(|e| self.fail("rotation update", e))?;
            if done.rows_affected < chunk.len() as u64 {
                conflicts.extend(self.unapplied(column, chunk).await?);
            }
        }
        Ok(conflicts)
    }

    /// The compare-and-set statement for `rows` rows of `(id, expected, new, hash)`.
    fn cas_sql(&self, column: &ColumnDef, hash_column: Option<&ColumnDef>, rows: usize) -> String {
        let d = self.store.dialect();
        let t = d.quote(&self.model.table_name);
        let pk = d.quote(&self.model.primary_key().name);
        let c = d.quote(&column.name);
        let stored = qualified_text(d, &t, column);
        match d {
            Dialect::Sqlite => {
                let hash_set = hash_column
                    .map(|h| format!(", {0} = COALESCE(v.column4, {t}.{0})", d.quote(&h.name)))
                    .unwrap_or_default();
                format!(
                    "UPDATE {t} SET {c} = v.column3{hash_set} FROM (VALUES {}) AS v \
                     WHERE {t}.{pk} = v.column1 AND {stored} = v.column2",
                    repeat_tuple("(?, ?, ?, ?)", rows)
                )
            }
            // PostgreSQL never gets here: it binds the batch as arrays (`cas_pg.rs`).
            Dialect::Mysql | Dialect::Postgres => {
                let hash_set = hash_column
                    .map(|h| format!(", {t}.{0} = COALESCE(v.hash, {t}.{0})", d.quote(&h.name)))
                    .unwrap_or_default();
                let first = "SELECT ? AS id, ? AS expected, ? AS new, ? AS hash";
                let rest = " UNION ALL SELECT ?, ?, ?, ?".repeat(rows.saturating_sub(1));
                format!(
                    "UPDATE {t} JOIN ({first}{rest}) AS v ON {t}.{pk} = v.id \
                     SET {t}.{c} = v.new{hash_set} WHERE {stored} = v.expected"
                )
            }
        }
    }

    /// The ids of `chunk` whose row does not hold its `new` value after the compare-and-set:
    /// changed meanwhile or deleted. Exact because a written value is a fresh token (random
    /// IV) or, for a recomputed blind index, the very `expected` text the row had to hold.
    pub(super) async fn unapplied(
        &mut self,
        column: &ColumnDef,
        chunk: &[ColumnCas],
    ) -> Result<Vec<Value>, StoreError> {
        let d = self.store.dialect();
        let pk = self.model.primary_key();
        let marks: Vec<String> = (1..=chunk.len()).map(|n| d.placeholder(n, pk)).collect();
        let binds = chunk
            .iter()
            .map(|u| key_bind(self.model, &u.id))
            .collect::<Result<Vec<_>, _>>()?;
        let sql = format!(
            "SELECT {}, {} FROM {} WHERE {} IN ({})",
            d.select_expr(pk),
            d.stored_text_expr(column),
            d.quote(&self.model.table_name),
            d.quote(&pk.name),
            marks.join(", ")
        );
        let rows = self
            .tx
            .fetch(&sql, &binds, &[wire_for(pk), Wire::Text])
            .await
            .map_err(|e| self.fail("find rotation conflicts", e))?;
        let mut now: HashMap<String, Option<String>> = HashMap::with_capacity(rows.len());
        for row in rows {
            let mut cells = row.into_iter();
            let id = cells.next().unwrap_or(SqlValue::Null(Wire::Text));
            let id = to_value(id, pk).unwrap_or(Value::Null);
            now.insert(id_key(&id), cells.next().and_then(SqlValue::into_text));
        }
        Ok(chunk
            .iter()
            .filter(|u| {
                now.get(&id_key(&u.id))
                    .is_none_or(|v| v.as_deref() != Some(&u.new))
            })
            .map(|u| u.id.clone())
            .collect())
    }
}

/// One row of a batch: its id and, per target column, the write it needs (if any). Every
/// backend writes a row once with all its columns (`cas_pg.rs`, `cas_rows.rs`).
pub(super) struct RowWrites<'u> {
    pub(super) id: &'u Value,
    /// The rowid the row was read at (SQLite, rowid order), if every write of it has one.
    pub(super) rowid: Option<i64>,
    pub(super) columns: Vec<Option<&'u ColumnCas>>,
}

impl<'u> RowWrites<'u> {
    /// The per-column update lists (`updates[i]` for target column `i`) regrouped by row,
    /// rows in the order they first appear.
    pub(super) fn group(updates: &[&'u [ColumnCas]]) -> Vec<RowWrites<'u>> {
        let mut rows: Vec<RowWrites<'u>> = Vec::new();
        let mut at: HashMap<String, usize> = HashMap::new();
        for (ci, list) in updates.iter().enumerate() {
            for update in list.iter() {
                let i = *at.entry(id_key(&update.id)).or_insert_with(|| {
                    rows.push(RowWrites {
                        id: &update.id,
                        rowid: update.rowid,
                        columns: vec![None; updates.len()],
                    });
                    rows.len() - 1
                });
                if rows[i].rowid != update.rowid {
                    rows[i].rowid = None;
                }
                rows[i].columns[ci] = Some(update);
            }
        }
        rows
    }
}

/// `tuple, tuple, ...` `rows` times.
fn repeat_tuple(tuple: &str, rows: usize) -> String {
    let mut out = String::with_capacity((tuple.len() + 2) * rows);
    for r in 0..rows {
        if r > 0 {
            out.push_str(", ");
        }
        out.push_str(tuple);
    }
    out
}

/// The stored text of `column` qualified by its table (the joined rows have columns of
/// their own): `stored_text_expr` with `table.column` inside the cast.
pub(super) fn qualified_text(d: Dialect, table: &str, column: &ColumnDef) -> String {
    let qualified = format!("{table}.{}", d.quote(&column.name));
    match (d, stores_json(column)) {
        (Dialect::Postgres, true) => format!("{qualified}::text"),
        (Dialect::Mysql, true) => format!("CAST({qualified} AS CHAR)"),
        _ => qualified,
    }
}

/// How a PostgreSQL VALUES row types the key (it has no column to infer it from).
pub(super) fn pg_key_cast(pk: &ColumnDef) -> &'static str {
    match pk.ty {
        ColumnType::Integer | ColumnType::BigInteger => "int8",
        _ => "text",
    }
}

/// A hashable key for a record id (`Value` holds floats, so it is not `Hash`).
pub(super) fn id_key(id: &Value) -> String {
    id.to_json().to_string()
}
