//! What a rotation reads: pages in key order (or, on SQLite, rowid order) with the stored
//! text of the encrypted (and blind-index) columns and the owner column's value, and the
//! same rows again by key.

use super::RotationRow;
use crate::config::{ColumnDef, ModelDef};
use crate::store::Store;
use crate::store::backend::SqlValue;
use crate::store::convert::to_value;
use crate::store::dialect::{Dialect, Wire, wire_for};
use crate::store::error::StoreError;
use crate::store::raw::stored_texts;
use crate::store::records::key_bind;
use crate::value::Value;
use crate::value::owner_text;

impl Store {
    /// Up to `limit` rows after `after` in key order: the stored text of `columns` and the
    /// owner column's value as text.
    pub async fn rotation_page(
        &self,
        model: &ModelDef,
        columns: &[&ColumnDef],
        owner: Option<&ColumnDef>,
        after: Option<&Value>,
        limit: u32,
    ) -> Result<Vec<RotationRow>, StoreError> {
        self.rotation_range_page(model, columns, owner, after, None, limit)
            .await
    }

    /// [`Store::rotation_page`] within a chunk: rows after `after` up to and including
    /// `until` (`None`: to the end of the table).
    pub async fn rotation_range_page(
        &self,
        model: &ModelDef,
        columns: &[&ColumnDef],
        owner: Option<&ColumnDef>,
        after: Option<&Value>,
        until: Option<&Value>,
        limit: u32,
    ) -> Result<Vec<RotationRow>, StoreError> {
        let (sql, binds, wires) =
            self.rotation_range_query(model, columns, owner, after, until, limit)?;
        self.fetch_rotation_rows(model, owner, (&sql, &binds, &wires), false)
            .await
    }

    /// Runs a page query (`sql`, `binds`, `wires`) and reads its rows as rotation rows
    /// (`rowid_last`: each row's rowid follows its select list).
    async fn fetch_rotation_rows(
        &self,
        model: &ModelDef,
        owner: Option<&ColumnDef>,
        (sql, binds, wires): (&str, &[SqlValue], &[Wire]),
        rowid_last: bool,
    ) -> Result<Vec<RotationRow>, StoreError> {
        let rows = self
            .backend
            .fetch(sql, binds, wires)
            .await
            .map_err(|e| self.read_error("read rows to rotate", model, e))?;
        rows.into_iter()
            .map(|r| rotation_row(model, owner, r, rowid_last))
            .collect()
    }

    /// Whether a rotation of `model` can walk its table in rowid order (`RowOrder::Rowid`):
    /// a SQLite table that has a rowid (not `WITHOUT ROWID`) and no column that would shadow
    /// the name.
    pub async fn rotation_rowid_order(&self, model: &ModelDef) -> Result<bool, StoreError> {
        if self.dialect() != Dialect::Sqlite {
            return Ok(false);
        }
        // A column of the table itself (declared in the model or not) named `rowid` would be
        // what `rowid` means in SQL: key order then.
        let rows = self
            .backend
            .fetch(
                "SELECT (SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?1), \
                 (SELECT COUNT(*) FROM pragma_table_info(?1) \
                  WHERE lower(name) IN ('rowid', '_rowid_', 'oid'))",
                &[SqlValue::Text(model.table_name.clone())],
                &[Wire::Text, Wire::Int],
            )
            .await
            .map_err(|e| self.read_error("read the table's definition", model, e))?;
        if let Some(row) = rows.first()
            && !matches!(row.get(1), Some(SqlValue::Int(0)))
        {
            return Ok(false);
        }
        let Some(SqlValue::Text(sql)) = rows.into_iter().next().and_then(|r| r.into_iter().next())
        else {
            return Ok(false);
        };
        let words: Vec<String> = sql
            .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
            .filter(|w| !w.is_empty())
            .map(str::to_ascii_uppercase)
            .collect();
        Ok(!words
            .windows(2)
            .any(|w| w[0] == "WITHOUT" && w[1] == "ROWID"))
    }

    /// [`Store::rotation_range_page`] in rowid order (SQLite, `RowOrder::Rowid`): up to
    /// `limit` rows with a rowid after `after` up to and including `until`, each with its
    /// `rowid`.
    pub async fn rotation_rowid_page(
        &self,
        model: &ModelDef,
        columns: &[&ColumnDef],
        owner: Option<&ColumnDef>,
        after: Option<i64>,
        until: Option<i64>,
        limit: u32,
    ) -> Result<Vec<RotationRow>, StoreError> {
        let d = self.dialect();
        let (mut exprs, mut wires) = row_exprs(d, model, columns, owner);
        exprs.push("rowid".into());
        wires.push(Wire::Int);
        let mut binds = Vec::new();
        let mut conditions = Vec::new();
        if let Some(after) = after {
            binds.push(SqlValue::Int(after));
            conditions.push(format!("rowid > ?{}", binds.len()));
        }
        if let Some(until) = until {
            binds.push(SqlValue::Int(until));
            conditions.push(format!("rowid <= ?{}", binds.len()));
        }
        let condition = if conditions.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", conditions.join(" AND "))
        };
        let sql = format!(
            "SELECT {} FROM {}{condition} ORDER BY rowid LIMIT {}",
            exprs.join(", "),
            d.quote(&model.table_name),
            limit.max(1)
        );
        // A SQLite file is read without sqlx's per-row hand-over (`sqlite_file_read.rs`).
        let file_read = self
            .sqlite_file_fetch(
                "read rows to rotate",
                model,
                sql.clone(),
                binds.clone(),
                wires.clone(),
            )
            .await;
        if let Some(rows) = file_read {
            return rows?
                .into_iter()
                .map(|r| rotation_row(model, owner, r, true))
                .collect();
        }
        self.fetch_rotation_rows(model, owner, (&sql, &binds, &wires), true)
            .await
    }

    /// The upper bounds of a rowid-order job's chunks after `after`, about `every` rows
    /// apart for a table of about `table_rows` rows. Rowids are usually dense: then the bounds are
    /// every `every`-th value between the first and the last rowid (two lookups, no scan).
    /// Integer keys an application chooses (timestamps, one row at 2^62) can be sparse:
    /// then the rowids are counted off (one scan of the table), so that a wide span makes
    /// no more chunks than rows do.
    pub async fn rotation_rowid_bounds(
        &self,
        model: &ModelDef,
        after: Option<i64>,
        every: u64,
        table_rows: u64,
    ) -> Result<Vec<i64>, StoreError> {
        let sql = format!(
            "SELECT MIN(rowid), MAX(rowid) FROM {}",
            self.dialect().quote(&model.table_name)
        );
        let rows = self
            .backend
            .fetch(&sql, &[], &[Wire::Int, Wire::Int])
            .await
            .map_err(|e| self.read_error("split rotation job into chunks", model, e))?;
        let row = rows.into_iter().next().unwrap_or_default();
        let (Some(SqlValue::Int(first)), Some(SqlValue::Int(last))) = (row.first(), row.get(1))
        else {
            return Ok(Vec::new()); // an empty table: one open chunk
        };
        let start = i128::from(after.unwrap_or(*first).max(first.saturating_sub(1)));
        let last = i128::from(*last);
        let span = (last - start).max(0);
        if span > 2 * i128::from(table_rows) + i128::from(every) {
            return self
                .rotation_rowid_bounds_counted(model, after, every)
                .await;
        }
        let width = i128::from(every.max(1));
        let mut bounds = Vec::new();
        let mut bound = start + width;
        // Bounds below the last rowid (so each fits an i64); the last chunk is open.
        while bound < last {
            bounds.push(i64::try_from(bound).unwrap_or(i64::MAX));
            bound += width;
        }
        Ok(bounds)
    }

    /// Every `every`-th rowid after `after`, counted off in one scan (sparse rowids).
    async fn rotation_rowid_bounds_counted(
        &self,
        model: &ModelDef,
        after: Option<i64>,
        every: u64,
    ) -> Result<Vec<i64>, StoreError> {
        let (condition, binds) = match after {
            Some(after) => (" WHERE rowid > ?1", vec![SqlValue::Int(after)]),
            None => ("", Vec::new()),
        };
        let sql = format!(
            "SELECT r FROM (SELECT rowid AS r, ROW_NUMBER() OVER (ORDER BY rowid) AS n \
             FROM {}{condition}) WHERE n % {} = 0 ORDER BY n",
            self.dialect().quote(&model.table_name),
            every.max(1)
        );
        let rows = self
            .backend
            .fetch(&sql, &binds, &[Wire::Int])
            .await
            .map_err(|e| self.read_error("split rotation job into chunks", model, e))?;
        Ok(rows
            .into_iter()
            .filter_map(|r| match r.first() {
                Some(SqlValue::Int(n)) => Some(*n),
                _ => None,
            })
            .collect())
    }

    /// The SQL, binds and result shapes of [`Store::rotation_page`] (public so a test can
    /// EXPLAIN it).
    pub fn rotation_page_query(
        &self,
        model: &ModelDef,
        columns: &[&ColumnDef],
        owner: Option<&ColumnDef>,
        after: Option<&Value>,
        limit: u32,
    ) -> Result<(String, Vec<SqlValue>, Vec<Wire>), StoreError> {
        self.rotation_range_query(model, columns, owner, after, None, limit)
    }

    fn rotation_range_query(
        &self,
        model: &ModelDef,
        columns: &[&ColumnDef],
        owner: Option<&ColumnDef>,
        after: Option<&Value>,
        until: Option<&Value>,
        limit: u32,
    ) -> Result<(String, Vec<SqlValue>, Vec<Wire>), StoreError> {
        let (select, wires) = row_select(self.dialect(), model, columns, owner);
        let pk = model.primary_key();
        let d = self.dialect();
        let mut binds = Vec::new();
        let mut conditions = Vec::new();
        if let Some(after) = after {
            binds.push(key_bind(model, after)?);
            conditions.push(format!(
                "{} > {}",
                d.quote(&pk.name),
                d.placeholder(binds.len(), pk)
            ));
        }
        if let Some(until) = until {
            binds.push(key_bind(model, until)?);
            conditions.push(format!(
                "{} <= {}",
                d.quote(&pk.name),
                d.placeholder(binds.len(), pk)
            ));
        }
        let condition = if conditions.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", conditions.join(" AND "))
        };
        // Ordered by the table's column, qualified: on PostgreSQL the select list's
        // `"id"::int8` is also named "id", and a bare ORDER BY "id" sorts by that cast, which
        // no index provides, so every page sorted all the rows after the cursor.
        let sql = format!(
            "{select}{condition} ORDER BY {}.{} LIMIT {}",
            d.quote(&model.table_name),
            d.quote(&pk.name),
            limit.max(1)
        );
        Ok((sql, binds, wires))
    }
}

pub(super) fn row_select(
    d: Dialect,
    model: &ModelDef,
    columns: &[&ColumnDef],
    owner: Option<&ColumnDef>,
) -> (String, Vec<Wire>) {
    let (exprs, wires) = row_exprs(d, model, columns, owner);
    (
        format!(
            "SELECT {} FROM {}",
            exprs.join(", "),
            d.quote(&model.table_name)
        ),
        wires,
    )
}

/// The select list of a rotation row: key, stored texts, owner.
fn row_exprs(
    d: Dialect,
    model: &ModelDef,
    columns: &[&ColumnDef],
    owner: Option<&ColumnDef>,
) -> (Vec<String>, Vec<Wire>) {
    let pk = model.primary_key();
    let mut exprs = vec![d.select_expr(pk)];
    let mut wires = vec![wire_for(pk)];
    for column in columns {
        exprs.push(d.stored_text_expr(column));
        wires.push(Wire::Text);
    }
    if let Some(owner) = owner {
        exprs.push(d.select_expr(owner));
        wires.push(wire_for(owner));
    }
    (exprs, wires)
}

/// A rotation row from its select list (`rowid_last`: the rowid follows it).
pub(super) fn rotation_row(
    model: &ModelDef,
    owner: Option<&ColumnDef>,
    row: Vec<SqlValue>,
    rowid_last: bool,
) -> Result<RotationRow, StoreError> {
    let pk = model.primary_key();
    let invalid = |column: &ColumnDef, reason| StoreError::InvalidValue {
        model: model.name.clone(),
        field: column.name.clone(),
        reason,
    };
    let mut values: Vec<SqlValue> = row;
    let rowid = match rowid_last {
        true => match values.pop() {
            Some(SqlValue::Int(n)) => Some(n),
            _ => return Err(invalid(pk, "the row came without its rowid".into())),
        },
        false => None,
    };
    let owner_value = match owner {
        Some(column) => {
            let raw = values.pop().unwrap_or(SqlValue::Null(Wire::Text));
            let v = to_value(raw, column).map_err(|r| invalid(column, r))?;
            owner_text(&v)
        }
        None => None,
    };
    let mut iter = values.into_iter();
    let id = to_value(iter.next().unwrap_or(SqlValue::Null(Wire::Text)), pk)
        .map_err(|r| invalid(pk, r))?;
    let (values, not_text) = stored_texts(iter);
    Ok(RotationRow {
        id,
        values,
        not_text,
        owner: owner_value,
        rowid,
    })
}
