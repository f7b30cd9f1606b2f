//! What a rotation reads: pages in key order with the stored text of the encrypted (and
//! blind-index) columns and the owner column's value, and the same rows again by key.

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
        let rows = self
            .backend
            .fetch(&sql, &binds, &wires)
            .await
            .map_err(|e| self.read_error("read rows to rotate", model, e))?;
        rows.into_iter()
            .map(|r| rotation_row(model, owner, r))
            .collect()
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
    (
        format!(
            "SELECT {} FROM {}",
            exprs.join(", "),
            d.quote(&model.table_name)
        ),
        wires,
    )
}

pub(super) fn rotation_row(
    model: &ModelDef,
    owner: Option<&ColumnDef>,
    row: Vec<SqlValue>,
) -> Result<RotationRow, StoreError> {
    let pk = model.primary_key();
    let invalid = |column: &ColumnDef, reason| StoreError::InvalidValue {
        model: model.name.clone(),
        field: column.name.clone(),
        reason,
    };
    let mut values: Vec<SqlValue> = row;
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
    })
}
