//! Raw row access for the services that work on tokens rather than values (health, census,
//! rotation): pages of primary key + stored strings with no decryption, and a batched
//! compare-and-set update that never overwrites a value someone else changed meanwhile.

use super::Store;
use super::backend::SqlValue;
use super::convert::to_value;
use super::dialect::{Wire, wire_for};
use super::error::StoreError;
use super::records::key_bind;
use crate::config::{ColumnDef, ModelDef};
use crate::value::Value;

/// A row's key and the stored text of the columns asked for (tokens as stored: a JSON
/// column's token keeps its quotes), `None` for NULL.
#[derive(Clone, Debug, PartialEq)]
pub struct RawRow {
    pub id: Value,
    /// `None` for NULL, and for a value that is not text (listed in `not_text`).
    pub values: Vec<Option<String>>,
    /// Indexes into `values` of stored bytes that are not UTF-8. Their `values` entry is
    /// `None`, so a reader that does not look here treats them as NULL: never decrypted,
    /// never rewritten, only not reported.
    pub not_text: Vec<usize>,
}

/// A row of [`Store::raw_page`]'s query (its key, then the columns' stored text) as a
/// [`RawRow`].
pub(crate) fn raw_row(
    model: &ModelDef,
    pk: &ColumnDef,
    row: Vec<SqlValue>,
) -> Result<RawRow, StoreError> {
    let mut values = row.into_iter();
    let id = raw_key(model, pk, values.next())?;
    let (values, not_text) = stored_texts(values);
    Ok(RawRow {
        id,
        values,
        not_text,
    })
}

/// A raw row's key, its first cell.
fn raw_key(model: &ModelDef, pk: &ColumnDef, cell: Option<SqlValue>) -> Result<Value, StoreError> {
    to_value(cell.unwrap_or(SqlValue::Null(Wire::Text)), pk).map_err(|reason| {
        StoreError::InvalidValue {
            model: model.name.clone(),
            field: pk.name.clone(),
            reason,
        }
    })
}

/// [`raw_row`] into a spent row's strings (see `raw_scan::Recycler`): the decoded values are
/// copied in and freed on this thread, where the allocator frees them cheaply, instead of on
/// the thread that classified the row.
pub(crate) fn raw_row_into(
    model: &ModelDef,
    pk: &ColumnDef,
    row: Vec<SqlValue>,
    mut into: RawRow,
) -> Result<RawRow, StoreError> {
    let mut values = row.into_iter();
    into.id = raw_key(model, pk, values.next())?;
    into.not_text.clear();
    into.values.resize_with(values.len(), || None);
    for (i, (value, slot)) in values.zip(into.values.iter_mut()).enumerate() {
        match value {
            // As `stored_texts`: only bytes that are not UTF-8 arrive as bytes here.
            SqlValue::Bytes(_) => {
                into.not_text.push(i);
                *slot = None;
            }
            SqlValue::Text(text) => match slot {
                Some(kept) if kept.capacity() <= (2 * text.len()).max(4096) => {
                    kept.clear();
                    kept.push_str(&text);
                }
                _ => *slot = Some(text),
            },
            other => *slot = other.into_text(),
        }
    }
    Ok(into)
}

/// Stored values as text, and the positions of those that are not text (see [`RawRow`]).
pub(crate) fn stored_texts(
    values: impl Iterator<Item = SqlValue>,
) -> (Vec<Option<String>>, Vec<usize>) {
    let mut not_text = Vec::new();
    let texts = values
        .enumerate()
        .map(|(i, value)| match value {
            // Only bytes that are not UTF-8 arrive as bytes for a text wire (`coerce`).
            SqlValue::Bytes(_) => {
                not_text.push(i);
                None
            }
            other => other.into_text(),
        })
        .collect();
    (texts, not_text)
}

/// `UPDATE t SET column = new WHERE pk = id AND column = expected`.
#[derive(Clone, Debug, PartialEq)]
pub struct CasUpdate {
    pub id: Value,
    pub column: String,
    /// The stored text read earlier (exactly as [`RawRow`] gave it).
    pub expected: String,
    /// The new stored text (already in the column's stored form).
    pub new: String,
}

/// What a compare-and-set batch did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CasOutcome {
    pub applied: u64,
    /// Updates whose row no longer held the expected value (changed or deleted meanwhile):
    /// (record id, column).
    pub conflicts: Vec<(Value, String)>,
}

impl Store {
    /// The SQL, binds and result shapes of [`Store::raw_page`] (public so a test can EXPLAIN
    /// it).
    pub fn raw_page_query(
        &self,
        model: &ModelDef,
        columns: &[&str],
        after: Option<&Value>,
        limit: u32,
    ) -> Result<(String, Vec<SqlValue>, Vec<Wire>), StoreError> {
        let dialect = self.dialect();
        let pk = model.primary_key();
        let (select, wires) = self.raw_select(model, columns)?;
        let mut binds = Vec::new();
        let mut condition = String::new();
        if let Some(after) = after {
            binds.push(key_bind(model, after)?);
            condition = format!(
                " WHERE {} > {}",
                dialect.quote(&pk.name),
                dialect.placeholder(1, pk)
            );
        }
        // The table's column, qualified, not the select list's `"id"::int8` of the same name
        // (which no index provides on PostgreSQL).
        let sql = format!(
            "{select}{condition} ORDER BY {}.{} LIMIT {}",
            dialect.quote(&model.table_name),
            dialect.quote(&pk.name),
            limit.max(1)
        );
        Ok((sql, binds, wires))
    }

    /// `SELECT <key>, <columns' stored text> FROM <table>` and the wires of its results:
    /// what [`Store::raw_page_query`] orders and limits, and a whole-table stream reads as
    /// it stands (`Store::raw_stream`).
    pub(crate) fn raw_select(
        &self,
        model: &ModelDef,
        columns: &[&str],
    ) -> Result<(String, Vec<Wire>), StoreError> {
        let dialect = self.dialect();
        let pk = model.primary_key();
        let mut exprs = vec![dialect.select_expr(pk)];
        let mut wires = vec![wire_for(pk)];
        for name in columns {
            let column = model.column(name).ok_or_else(|| StoreError::UnknownField {
                model: model.name.clone(),
                field: name.to_string(),
            })?;
            exprs.push(dialect.stored_text_expr(column));
            wires.push(Wire::Text);
        }
        let sql = format!(
            "SELECT {} FROM {}",
            exprs.join(", "),
            dialect.quote(&model.table_name)
        );
        Ok((sql, wires))
    }

    /// Up to `limit` rows with a key greater than `after` (from the start when `None`), in
    /// key order, with the stored text of `columns`.
    pub async fn raw_page(
        &self,
        model: &ModelDef,
        columns: &[&str],
        after: Option<&Value>,
        limit: u32,
    ) -> Result<Vec<RawRow>, StoreError> {
        let pk = model.primary_key();
        let (sql, binds, wires) = self.raw_page_query(model, columns, after, limit)?;
        let rows = self
            .backend
            .fetch(&sql, &binds, &wires)
            .await
            .map_err(|e| self.read_error("read raw rows", model, e))?;
        rows.into_iter()
            .map(|row| raw_row(model, pk, row))
            .collect()
    }

    /// Applies every update whose row still holds its expected value, in one transaction.
    pub async fn compare_and_set(
        &self,
        model: &ModelDef,
        updates: &[CasUpdate],
    ) -> Result<CasOutcome, StoreError> {
        self.refuse_if_read_only("compare-and-set update", model)?;
        let dialect = self.dialect();
        let pk = model.primary_key();
        let mut outcome = CasOutcome::default();
        if updates.is_empty() {
            return Ok(outcome);
        }
        let mut tx = self.begin(model).await?;
        for update in updates {
            let column = model
                .column(&update.column)
                .ok_or_else(|| StoreError::UnknownField {
                    model: model.name.clone(),
                    field: update.column.clone(),
                })?;
            let sql = format!(
                "UPDATE {} SET {} = {} WHERE {} = {} AND {} = {}",
                dialect.quote(&model.table_name),
                dialect.quote(&column.name),
                dialect.placeholder(1, column),
                dialect.quote(&pk.name),
                dialect.placeholder(2, pk),
                dialect.stored_text_expr(column),
                dialect.param(3)
            );
            let binds = [
                SqlValue::Text(update.new.clone()),
                key_bind(model, &update.id)?,
                SqlValue::Text(update.expected.clone()),
            ];
            let done = tx
                .execute(&sql, &binds)
                .await
                .map_err(|e| self.write_error("compare-and-set update", model, e))?;
            if done.rows_affected == 0 {
                outcome
                    .conflicts
                    .push((update.id.clone(), update.column.clone()));
            } else {
                outcome.applied += done.rows_affected;
            }
        }
        tx.commit()
            .await
            .map_err(|e| self.write_error("compare-and-set update", model, e))?;
        Ok(outcome)
    }
}
