//! Bulk insert for seeding (the demo generator, fixtures): rows are prepared and encrypted
//! like single inserts and written in one transaction. No observer is told: a seeded data
//! set is one action, audited by its caller if at all.
//!
//! [`BulkInsert`] takes rows a batch at a time, so a caller streams millions of rows without
//! holding them (`timber demo --rows 1000000`, issue 17). Where they go:
//! - a SQLite file: to a writing thread that steps one prepared single-row INSERT with
//!   rusqlite (`bulk_file.rs`) while the caller's thread encrypts the next batch, so the two
//!   halves of the work run on two cores. Through sqlx each multi-row INSERT had cost a
//!   hand-off to its worker thread and a new statement per 1 000 rows;
//! - a server, or an in-memory SQLite database (which exists only inside the store's one
//!   connection): multi-row INSERTs on one sqlx transaction.
//!
//! Dropping a `BulkInsert` without [`BulkInsert::finish`] rolls everything back.

use chrono::NaiveDateTime;

use super::Store;
use super::backend::{BackendTx, SqlValue};
use super::bulk_file::{FileWriteError, FileWriter};
use super::error::StoreError;
use super::write_prep::{Fields, encode_row, insert_row, now, row_owner};
use crate::config::ModelDef;
use crate::crypto::KeyRing;

/// Bind parameters per statement: below SQLite's 32 766 and the 65 535 of PostgreSQL and
/// MySQL, and small enough that one statement stays a few hundred kilobytes.
const MAX_PARAMS: usize = 16_000;
const MAX_ROWS_PER_STATEMENT: usize = 1_000;

/// An open bulk insert into one model's table: see the module documentation.
pub struct BulkInsert<'s> {
    store: &'s Store,
    model: &'s ModelDef,
    actor: Option<String>,
    /// The `created_at`/`updated_at` of every row: the time the load started.
    at: NaiveDateTime,
    /// The columns of the first row, in the order written; every later row must match.
    columns: Option<Vec<usize>>,
    sink: Option<Sink>,
    /// Rows given so far (for naming a bad row by its number).
    given: usize,
    /// A batch failed: nothing of this insert will be kept, and every later call says so
    /// (a server would otherwise commit the statements before the failed one).
    failed: bool,
}

enum Sink {
    File(FileWriter),
    Server {
        tx: Box<dyn BackendTx>,
        written: u64,
    },
}

impl Store {
    /// Opens a bulk insert into `model`'s table; rows are given with [`BulkInsert::push`]
    /// and kept only by [`BulkInsert::finish`].
    pub fn bulk_insert<'s>(
        &'s self,
        model: &'s ModelDef,
        actor: Option<&str>,
    ) -> Result<BulkInsert<'s>, StoreError> {
        self.refuse_if_read_only("bulk insert", model)?;
        Ok(BulkInsert {
            store: self,
            model,
            actor: actor.map(str::to_string),
            at: now(),
            columns: None,
            sink: None,
            given: 0,
            failed: false,
        })
    }

    /// Inserts every row (each row's fields in the same names) in one transaction.
    /// Returns the number of rows written.
    pub async fn insert_many(
        &self,
        model: &ModelDef,
        ring: &KeyRing,
        rows: &[Fields],
        actor: Option<&str>,
    ) -> Result<u64, StoreError> {
        let mut bulk = self.bulk_insert(model, actor)?;
        bulk.push(ring, rows).await?;
        bulk.finish().await
    }
}

impl BulkInsert<'_> {
    /// Encrypts `rows` under `ring` (tokens written now) and writes them.
    pub async fn push(&mut self, ring: &KeyRing, rows: &[Fields]) -> Result<(), StoreError> {
        self.push_rows(ring, rows.iter().map(|fields| (fields, None)))
            .await
    }

    /// As [`BulkInsert::push`], each row's tokens saying they were written at its time
    /// (seconds since the Unix epoch): data "written" before today, as the demo's story has.
    pub async fn push_written_at(
        &mut self,
        ring: &KeyRing,
        rows: &[(Fields, u64)],
    ) -> Result<(), StoreError> {
        self.push_rows(ring, rows.iter().map(|(fields, at)| (fields, Some(*at))))
            .await
    }

    /// Encodes and writes rows; any failure marks the whole insert failed.
    async fn push_rows<'r>(
        &mut self,
        ring: &KeyRing,
        rows: impl Iterator<Item = (&'r Fields, Option<u64>)>,
    ) -> Result<(), StoreError> {
        self.refuse_if_failed()?;
        let written = match self.encode(ring, rows) {
            Ok(encoded) => self.write(encoded).await,
            Err(e) => Err(e),
        };
        self.failed = written.is_err();
        written
    }

    fn refuse_if_failed(&self) -> Result<(), StoreError> {
        if !self.failed {
            return Ok(());
        }
        Err(StoreError::Query {
            what: "bulk insert".into(),
            table: self.model.table_name.clone(),
            reason: "an earlier batch of this insert failed; nothing of it is kept".into(),
        })
    }

    /// Commits every row given; returns how many were written.
    pub async fn finish(self) -> Result<u64, StoreError> {
        self.refuse_if_failed()?; // dropping the sink rolls back
        let (store, model) = (self.store, self.model);
        match self.sink {
            None => Ok(0),
            Some(Sink::File(writer)) => writer
                .commit()
                .await
                .map_err(|e| file_error(store, model, e)),
            Some(Sink::Server { tx, written }) => {
                tx.commit()
                    .await
                    .map_err(|e| store.write_error("bulk insert", model, e))?;
                Ok(written)
            }
        }
    }

    /// Each row's stored values, in the first row's column order.
    fn encode<'r>(
        &mut self,
        ring: &KeyRing,
        rows: impl Iterator<Item = (&'r Fields, Option<u64>)>,
    ) -> Result<Vec<Vec<SqlValue>>, StoreError> {
        let model = self.model;
        let mut encoded = Vec::with_capacity(rows.size_hint().0);
        for (fields, written_at) in rows {
            self.given += 1;
            let row = insert_row(model, fields, self.actor.as_deref(), self.at)?;
            let owner = row_owner(model, &row);
            let mut values = encode_row(model, ring, owner.as_deref(), &row, written_at)?;
            values.sort_by_key(|(i, _)| *i);
            let columns = self
                .columns
                .get_or_insert_with(|| values.iter().map(|(i, _)| *i).collect());
            if columns.len() != values.len()
                || columns.iter().zip(&values).any(|(a, (b, _))| a != b)
            {
                return Err(StoreError::InvalidValue {
                    model: model.name.clone(),
                    field: format!("row {}", self.given),
                    reason: "has different fields from the first row; a bulk insert needs the same fields in every row".into(),
                });
            }
            encoded.push(values.into_iter().map(|(_, v)| v).collect());
        }
        Ok(encoded)
    }

    async fn write(&mut self, rows: Vec<Vec<SqlValue>>) -> Result<(), StoreError> {
        let Some(columns) = self.columns.clone() else {
            return Ok(()); // nothing given yet
        };
        if rows.is_empty() {
            return Ok(());
        }
        let (store, model) = (self.store, self.model);
        if self.sink.is_none() {
            let sql = store.insert_sql(model, &columns, 1);
            // A URL with settings (`mode=ro`, `immutable=1`, a `vfs`) is opened only as sqlx
            // reads them, so its rows go through sqlx.
            let plain_file = store
                .sqlite_file()
                .filter(|_| !store.config.url.expose().contains('?'));
            self.sink = Some(match plain_file {
                Some(path) => Sink::File(FileWriter::start(path, sql, &store.config)),
                None => Sink::Server {
                    tx: store.begin(model).await?,
                    written: 0,
                },
            });
        }
        match self.sink.as_mut() {
            Some(Sink::File(writer)) => writer
                .send(rows)
                .await
                .map_err(|e| file_error(store, model, e)),
            Some(Sink::Server { tx, written }) => {
                let per_statement =
                    (MAX_PARAMS / columns.len().max(1)).clamp(1, MAX_ROWS_PER_STATEMENT);
                for chunk in rows.chunks(per_statement) {
                    let sql = store.insert_sql(model, &columns, chunk.len());
                    let binds: Vec<SqlValue> = chunk.iter().flatten().cloned().collect();
                    let done = tx
                        .execute(&sql, &binds)
                        .await
                        .map_err(|e| store.write_error("bulk insert", model, e))?;
                    *written += done.rows_affected;
                }
                Ok(())
            }
            None => Ok(()),
        }
    }
}

/// The writing thread's failure as the sqlx path words it (`Store::write_error`).
fn file_error(store: &Store, model: &ModelDef, e: FileWriteError) -> StoreError {
    if e.0.contains("readonly database") {
        return StoreError::ReadOnly {
            what: "bulk insert".into(),
            table: model.table_name.clone(),
        };
    }
    if e.0.contains("no such table") {
        return StoreError::MissingTable {
            model: model.name.clone(),
            table: model.table_name.clone(),
            url: store.url_redacted(),
        };
    }
    StoreError::Query {
        what: "bulk insert".into(),
        table: model.table_name.clone(),
        reason: e.0,
    }
}
