//! SQLite and MySQL/MariaDB: the compare-and-set of all of a batch's columns in ONE statement
//! per chunk of rows (issue 17).
//!
//! One UPDATE per encrypted column rewrote every row once per column: a Timber model with
//! three or four encrypted columns had SQLite re-encode and re-write each row three or four
//! times where the database's own rewrite does it once. Here a row is written once, with
//! every column it needs, and only where EVERY column it writes still holds its `expected`
//! text (`v.eN IS NULL OR stored = v.eN`): all or nothing per row, so the compare-and-set
//! stays exact. A column the row does not write gets a NULL `new` and keeps its value
//! (`COALESCE(v.nN, t.c)`), as does a blind index with nothing new to store.
//!
//! - SQLite (>= 3.33): `UPDATE t SET ... FROM (VALUES (?, ?, ...), ...) AS v WHERE t.pk =
//!   v.column1 AND ...` (SQLite names the VALUES columns `column1`, `column2`, ...). Rows
//!   read in rowid order carry their rowid, and the statement finds them by it: `WHERE
//!   t.rowid = v.column1 AND t.pk = v.column2 AND ...`. The key's index lookup per row
//!   (a uuid key sends it to a random index page) was a quarter of SQLite's cost for the
//!   statement (300 000 Timber-shaped rows, Python's sqlite3: 2.38 s by key, 1.72 s by
//!   rowid). The key is still required, so a row whose rowid changed meanwhile (a `VACUUM`
//!   renumbers a table without an INTEGER PRIMARY KEY) or was reused is not written: a
//!   conflict, re-read and written by key.
//! - MySQL / MariaDB: `UPDATE t JOIN (SELECT ? AS id, ... UNION ALL SELECT ?, ...) AS v ON
//!   t.pk = v.id SET ... WHERE ...` (sqlx sets CLIENT_FOUND_ROWS: the count is of rows
//!   matched).
//!
//! The rows-affected count says whether every row matched; only when it is short does one
//! SELECT read the chunk's rows back, and a row that does not hold all its new values was
//! not written: it is a conflict for every column it meant to write, and the caller
//! re-reads and decides it again column by column.

use std::collections::HashMap;

use super::ColumnCas;
use super::batch::RotationTx;
use super::cas::{RowWrites, id_key, qualified_text};
use crate::config::ColumnDef;
use crate::store::backend::SqlValue;
use crate::store::convert::to_value;
use crate::store::dialect::{Dialect, Wire, wire_for};
use crate::store::error::StoreError;
use crate::store::records::key_bind;
use crate::value::Value;

/// Bound parameters per statement at most: under SQLite's default limit (32 766) and the
/// 65 535 of MySQL.
const MAX_PARAMS: usize = 32_000;
/// Bytes of values per statement at most, well under MariaDB's default `max_allowed_packet`
/// (16 MiB) for a batch of long tokens.
const MAX_BYTES: usize = 8 << 20;
/// Rows per statement at most on SQLite: its cost per row grows with the statement (the
/// `VALUES` table it builds and scans): 3 200-row statements took a third longer than
/// 500-row ones over the same 30 000 Timber-shaped rows (measured with Python's sqlite3,
/// outside this code), and one size repeats, so the prepared statement is reused.
const SQLITE_MAX_ROWS: usize = 500;

impl RotationTx<'_> {
    /// All columns' compare-and-sets of a batch, a row written once; returns, per column,
    /// the ids whose row was not written (changed or deleted meanwhile).
    pub(super) async fn cas_columns_rows(
        &mut self,
        targets: &[(&ColumnDef, Option<&ColumnDef>)],
        updates: &[&[ColumnCas]],
    ) -> Result<Vec<Vec<Value>>, StoreError> {
        let rows = RowWrites::group(updates);
        let mut conflicts = vec![Vec::new(); targets.len()];
        let per_row = 2 + 3 * targets.len();
        let max_rows = match self.store.dialect() {
            Dialect::Sqlite => SQLITE_MAX_ROWS,
            _ => usize::MAX,
        };
        let mut start = 0;
        while start < rows.len() {
            let (mut end, mut bytes) = (start, 0);
            while end < rows.len()
                && end - start < max_rows
                && (end - start + 1) * per_row <= MAX_PARAMS
            {
                bytes += row_bytes(&rows[end]);
                if end > start && bytes > MAX_BYTES {
                    break;
                }
                end += 1;
            }
            let chunk = &rows[start..end];
            let by_rowid = self.store.dialect() == Dialect::Sqlite
                && chunk.iter().all(|row| row.rowid.is_some());
            let sql = self.cas_rows_sql(targets, chunk.len(), by_rowid);
            let binds = self.cas_rows_binds(targets.len(), chunk, by_rowid)?;
            let done = self
                .tx
                .execute_owned(&sql, binds)
                .await
                .map_err(|e| self.fail("rotation update", e))?;
            if done.rows_affected < chunk.len() as u64 {
                for (ci, ids) in self
                    .unwritten_rows(targets, chunk, by_rowid)
                    .await?
                    .into_iter()
                    .enumerate()
                {
                    conflicts[ci].extend(ids);
                }
            }
            start = end;
        }
        Ok(conflicts)
    }

    /// Per row: its rowid (`by_rowid`) and key, then per column its expected, new and hash
    /// texts (NULL where the row does not write that column).
    fn cas_rows_binds(
        &self,
        columns: usize,
        chunk: &[RowWrites<'_>],
        by_rowid: bool,
    ) -> Result<Vec<SqlValue>, StoreError> {
        let mut binds = Vec::with_capacity(chunk.len() * (2 + 3 * columns));
        let text = |s: Option<&str>| match s {
            Some(s) => SqlValue::Text(s.to_string()),
            None => SqlValue::Null(Wire::Text),
        };
        for row in chunk {
            if by_rowid {
                binds.push(SqlValue::Int(row.rowid.unwrap_or_default()));
            }
            binds.push(key_bind(self.model, row.id)?);
            for write in &row.columns {
                binds.push(text(write.map(|w| w.expected.as_str())));
                binds.push(text(write.map(|w| w.new.as_str())));
                binds.push(text(write.and_then(|w| w.hash.as_deref())));
            }
        }
        Ok(binds)
    }

    /// The statement for `rows` rows of `(id, e0, n0, h0, e1, n1, h1, ...)`, each led by its
    /// rowid when `by_rowid` (SQLite only).
    fn cas_rows_sql(
        &self,
        targets: &[(&ColumnDef, Option<&ColumnDef>)],
        rows: usize,
        by_rowid: bool,
    ) -> String {
        let d = self.store.dialect();
        let t = d.quote(&self.model.table_name);
        let pk = d.quote(&self.model.primary_key().name);
        // The VALUES column names: SQLite numbers them (after the rowid, when there is
        // one), MySQL takes our aliases.
        let lead = usize::from(by_rowid);
        let name = |i: usize, alias: String| match d {
            Dialect::Sqlite => format!("v.column{}", i + 1 + lead),
            _ => format!("v.{alias}"),
        };
        let mut sets = Vec::new();
        let mut holds = Vec::new();
        let mut aliases = vec!["id".to_string()];
        for (ci, (column, hash_column)) in targets.iter().enumerate() {
            let base = 1 + 3 * ci;
            let (e, n, h) = (
                name(base, format!("e{ci}")),
                name(base + 1, format!("n{ci}")),
                name(base + 2, format!("h{ci}")),
            );
            let c = d.quote(&column.name);
            let target = match d {
                Dialect::Sqlite => c.clone(),
                _ => format!("{t}.{c}"),
            };
            sets.push(format!("{target} = COALESCE({n}, {t}.{c})"));
            if let Some(hash) = hash_column {
                let hc = d.quote(&hash.name);
                let hash_target = match d {
                    Dialect::Sqlite => hc.clone(),
                    _ => format!("{t}.{hc}"),
                };
                sets.push(format!("{hash_target} = COALESCE({h}, {t}.{hc})"));
            }
            let stored = qualified_text(d, &t, column);
            holds.push(format!("({e} IS NULL OR {stored} = {e})"));
            aliases.extend([format!("e{ci}"), format!("n{ci}"), format!("h{ci}")]);
        }
        let width = aliases.len();
        match d {
            Dialect::Sqlite => {
                let tuple = format!("({})", vec!["?"; width + lead].join(", "));
                // SQLite plans `rowid = ?` as a lookup in the table itself, ahead of the
                // key's index; the key then only has to match.
                let found_by = if by_rowid {
                    format!("{t}.rowid = v.column1 AND ")
                } else {
                    String::new()
                };
                format!(
                    "UPDATE {t} SET {} FROM (VALUES {}) AS v WHERE {found_by}{t}.{pk} = {} \
                     AND {}",
                    sets.join(", "),
                    vec![tuple; rows].join(", "),
                    name(0, "id".into()),
                    holds.join(" AND ")
                )
            }
            // PostgreSQL never gets here: it binds the batch as arrays (`cas_pg.rs`).
            Dialect::Mysql | Dialect::Postgres => {
                let first: Vec<String> = aliases.iter().map(|a| format!("? AS {a}")).collect();
                let rest = format!(" UNION ALL SELECT {}", vec!["?"; width].join(", "));
                format!(
                    "UPDATE {t} JOIN (SELECT {}{}) AS v ON {t}.{pk} = v.id SET {} WHERE {}",
                    first.join(", "),
                    rest.repeat(rows.saturating_sub(1)),
                    sets.join(", "),
                    holds.join(" AND ")
                )
            }
        }
    }

    /// Per column, the ids of `chunk`'s rows that were not written: a row is written when
    /// every column it writes holds its new value (exact: a new value is a fresh token, or
    /// for a recomputed blind index the very `expected` text the row had to hold, and a row
    /// that was not written fails at least one `expected`, so it holds neither there), and,
    /// when the statement found rows by rowid (`by_rowid`), when it is still at the rowid it
    /// was read at. Why the rowid: a row that moved to another rowid was not written even
    /// where it holds every `expected`, and a recomputed blind index's new value is its
    /// `expected`; by key alone, such a row looked written and kept its stale hash. (This
    /// transaction holds SQLite's write lock, so what it reads now is what the statement
    /// saw.)
    async fn unwritten_rows(
        &mut self,
        targets: &[(&ColumnDef, Option<&ColumnDef>)],
        chunk: &[RowWrites<'_>],
        by_rowid: bool,
    ) -> Result<Vec<Vec<Value>>, StoreError> {
        let d = self.store.dialect();
        let pk = self.model.primary_key();
        let marks: Vec<String> = (1..=chunk.len()).map(|n| d.placeholder(n, pk)).collect();
        let binds = chunk
            .iter()
            .map(|r| key_bind(self.model, r.id))
            .collect::<Result<Vec<_>, _>>()?;
        let mut exprs = vec![d.select_expr(pk)];
        let mut wires = vec![wire_for(pk)];
        for (column, _) in targets {
            exprs.push(d.stored_text_expr(column));
            wires.push(Wire::Text);
        }
        if by_rowid {
            exprs.push("rowid".into());
            wires.push(Wire::Int);
        }
        // MySQL/MariaDB: a locking read, which sees the latest committed rows rather than the
        // snapshot an earlier read of this transaction fixed (REPEATABLE READ).
        let lock = if d == Dialect::Mysql {
            " FOR UPDATE"
        } else {
            ""
        };
        let sql = format!(
            "SELECT {} FROM {} WHERE {} IN ({}){lock}",
            exprs.join(", "),
            d.quote(&self.model.table_name),
            d.quote(&pk.name),
            marks.join(", ")
        );
        let found = self
            .tx
            .fetch(&sql, &binds, &wires)
            .await
            .map_err(|e| self.fail("find rotation conflicts", e))?;
        // Per key: the stored values, and the rowid (when asked for).
        let mut now: HashMap<String, (Vec<Option<String>>, Option<i64>)> =
            HashMap::with_capacity(found.len());
        for row in found {
            let mut cells = row.into_iter();
            let id = cells.next().unwrap_or(SqlValue::Null(Wire::Text));
            let id = to_value(id, pk).unwrap_or(Value::Null);
            let mut values: Vec<SqlValue> = cells.collect();
            let rowid = match by_rowid.then(|| values.pop()).flatten() {
                Some(SqlValue::Int(n)) => Some(n),
                _ => None,
            };
            let values = values.into_iter().map(SqlValue::into_text).collect();
            now.insert(id_key(&id), (values, rowid));
        }
        let mut unwritten = vec![Vec::new(); targets.len()];
        for row in chunk {
            let stored = now.get(&id_key(row.id));
            let written = stored.is_some_and(|(values, rowid)| {
                (!by_rowid || *rowid == row.rowid)
                    && row.columns.iter().zip(values).all(|(write, value)| {
                        write.is_none_or(|w| value.as_deref() == Some(w.new.as_str()))
                    })
            });
            if !written {
                for (ci, write) in row.columns.iter().enumerate() {
                    if write.is_some() {
                        unwritten[ci].push(row.id.clone());
                    }
                }
            }
        }
        Ok(unwritten)
    }
}

/// The bytes a row's writes bind (for the statement size bound).
fn row_bytes(row: &RowWrites<'_>) -> usize {
    row.columns
        .iter()
        .flatten()
        .map(|w| w.expected.len() + w.new.len() + w.hash.as_ref().map_or(0, String::len))
        .sum::<usize>()
        + 64
}
