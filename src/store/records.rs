//! Reading records: keyset pages in primary-key order, both directions, from any key; one
//! record by key. Only the rows of the page are decrypted, and a cell that cannot be
//! decrypted is classified (`not_a_token`, `unknown_key`, `corrupted`) without failing the
//! page.

use super::Store;
use super::backend::SqlValue;
use super::cells::{Cell, decode_row};
use super::convert::to_sql;
use super::dialect::wire_for;
use super::error::StoreError;
use crate::config::ModelDef;
use crate::crypto::KeyRing;
use crate::value::Value;

/// Where a page starts.
#[derive(Clone, Debug, PartialEq)]
pub enum Cursor {
    /// The first rows.
    First,
    /// Rows with a key greater than this one.
    After(Value),
    /// Rows with a key smaller than this one (the page before).
    Before(Value),
    /// The last rows.
    Last,
}

#[derive(Clone, Debug, PartialEq)]
pub struct PageRequest {
    pub cursor: Cursor,
    pub limit: u32,
}

impl PageRequest {
    pub fn first(limit: u32) -> PageRequest {
        PageRequest {
            cursor: Cursor::First,
            limit,
        }
    }
    pub fn after(key: Value, limit: u32) -> PageRequest {
        PageRequest {
            cursor: Cursor::After(key),
            limit,
        }
    }
    pub fn before(key: Value, limit: u32) -> PageRequest {
        PageRequest {
            cursor: Cursor::Before(key),
            limit,
        }
    }
}

/// One row: its primary key and one cell per model column, in model column order.
#[derive(Clone, Debug)]
pub struct Record {
    pub id: Value,
    pub cells: Vec<Cell>,
}

impl Record {
    /// The cell of the column named `name`.
    pub fn cell<'a>(&'a self, model: &ModelDef, name: &str) -> Option<&'a Cell> {
        let index = model.columns.iter().position(|c| c.name == name)?;
        self.cells.get(index)
    }
}

/// A page of records in ascending key order, whichever direction it was fetched in.
#[derive(Clone, Debug)]
pub struct Page {
    pub records: Vec<Record>,
    /// True when rows exist after the last record of the page.
    pub more_after: bool,
    /// True when rows exist before the first record of the page.
    pub more_before: bool,
}

impl Page {
    /// The cursor of the next page, if there is one.
    pub fn next(&self, limit: u32) -> Option<PageRequest> {
        let last = self.records.last()?;
        self.more_after
            .then(|| PageRequest::after(last.id.clone(), limit))
    }

    /// The cursor of the previous page, if there is one.
    pub fn previous(&self, limit: u32) -> Option<PageRequest> {
        let first = self.records.first()?;
        self.more_before
            .then(|| PageRequest::before(first.id.clone(), limit))
    }
}

impl Store {
    /// The SQL and binds of a page: `limit + 1` rows from the cursor in key order, the
    /// extra row saying whether there are more (public so a test can EXPLAIN it).
    pub fn page_query(
        &self,
        model: &ModelDef,
        request: &PageRequest,
    ) -> Result<(String, Vec<SqlValue>), StoreError> {
        let pk = model.primary_key();
        let (comparison, descending, key) = match &request.cursor {
            Cursor::First => (None, false, None),
            Cursor::Last => (None, true, None),
            Cursor::After(key) => (Some(">"), false, Some(key)),
            Cursor::Before(key) => (Some("<"), true, Some(key)),
        };
        let mut binds = Vec::new();
        let mut where_clause = String::new();
        if let (Some(op), Some(key)) = (comparison, key) {
            binds.push(key_bind(model, key)?);
            let param = self.dialect().placeholder(1, pk);
            where_clause = format!(" WHERE {} {op} {param}", self.quote(&pk.name));
        }
        // Ordered by the table's column, qualified: on PostgreSQL a bare "id" names the
        // select list's `"id"::int8`, which no index provides, so each page sorted every row
        // after the cursor.
        let sql = format!(
            "{}{where_clause} ORDER BY {}.{} {} LIMIT {}",
            self.select_from(model),
            self.quote(&model.table_name),
            self.quote(&pk.name),
            if descending { "DESC" } else { "ASC" },
            request.limit.max(1) as u64 + 1
        );
        Ok((sql, binds))
    }

    /// One page of decrypted records.
    pub async fn page(
        &self,
        model: &ModelDef,
        ring: &KeyRing,
        request: &PageRequest,
    ) -> Result<Page, StoreError> {
        let limit = request.limit.max(1);
        let (descending, key) = match &request.cursor {
            Cursor::First => (false, None),
            Cursor::Last => (true, None),
            Cursor::After(key) => (false, Some(key)),
            Cursor::Before(key) => (true, Some(key)),
        };
        let (sql, binds) = self.page_query(model, request)?;
        let mut rows = self.fetch_rows(model, &sql, &binds).await?;
        let more_in_direction = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        if descending {
            rows.reverse();
        }
        let records: Vec<Record> = rows
            .into_iter()
            .map(|row| decode_row(model, ring, row))
            .collect::<Result<_, _>>()?;
        let (mut more_after, mut more_before) = if descending {
            (key.is_some(), more_in_direction)
        } else {
            (more_in_direction, key.is_some())
        };
        // A cursor says rows exist beyond it only if they still do: check with one probe.
        if key.is_some() {
            if descending && let Some(last) = records.last() {
                more_after = self.exists_beyond(model, &last.id, ">").await?;
            } else if let Some(first) = records.first() {
                more_before = self.exists_beyond(model, &first.id, "<").await?;
            }
        }
        Ok(Page {
            records,
            more_after,
            more_before,
        })
    }

    /// One decrypted record by primary key.
    pub async fn get(
        &self,
        model: &ModelDef,
        ring: &KeyRing,
        id: &Value,
    ) -> Result<Option<Record>, StoreError> {
        let pk = model.primary_key();
        let sql = format!(
            "{} WHERE {} = {}",
            self.select_from(model),
            self.quote(&pk.name),
            self.dialect().placeholder(1, pk)
        );
        let rows = self
            .fetch_rows(model, &sql, &[key_bind(model, id)?])
            .await?;
        rows.into_iter()
            .next()
            .map(|row| decode_row(model, ring, row))
            .transpose()
    }

    /// `SELECT <every model column> FROM <table>`.
    pub(crate) fn select_from(&self, model: &ModelDef) -> String {
        let dialect = self.dialect();
        let columns: Vec<String> = model
            .columns
            .iter()
            .map(|c| dialect.select_expr(c))
            .collect();
        format!(
            "SELECT {} FROM {}",
            columns.join(", "),
            self.quote(&model.table_name)
        )
    }

    /// Runs a `select_from` query and returns the raw rows, one value per model column.
    pub(crate) async fn fetch_rows(
        &self,
        model: &ModelDef,
        sql: &str,
        binds: &[SqlValue],
    ) -> Result<Vec<Vec<SqlValue>>, StoreError> {
        let wires: Vec<_> = model.columns.iter().map(wire_for).collect();
        self.backend
            .fetch(sql, binds, &wires)
            .await
            .map_err(|e| self.read_error("read records", model, e))
    }

    async fn exists_beyond(
        &self,
        model: &ModelDef,
        key: &Value,
        op: &str,
    ) -> Result<bool, StoreError> {
        let pk = model.primary_key();
        let sql = format!(
            "SELECT {} FROM {} WHERE {} {op} {} LIMIT 1",
            self.dialect().select_expr(pk),
            self.quote(&model.table_name),
            self.quote(&pk.name),
            self.dialect().placeholder(1, pk)
        );
        let rows = self
            .backend
            .fetch(&sql, &[key_bind(model, key)?], &[wire_for(pk)])
            .await
            .map_err(|e| self.read_error("read records", model, e))?;
        Ok(!rows.is_empty())
    }
}

/// The bind value of a primary key, checked against the key column's type.
pub(crate) fn key_bind(model: &ModelDef, key: &Value) -> Result<SqlValue, StoreError> {
    let pk = model.primary_key();
    to_sql(key, pk).map_err(|reason| StoreError::InvalidValue {
        model: model.name.clone(),
        field: pk.name.clone(),
        reason,
    })
}
