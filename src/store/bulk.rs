//! Bulk insert for seeding (the demo generator): rows are prepared and encrypted like single
//! inserts, then written as multi-row INSERTs, all in one transaction. No observer is told:
//! a seeded data set is one action, audited by its caller if at all.

use super::Store;
use super::backend::SqlValue;
use super::error::StoreError;
use super::write_prep::{encode_row, insert_row, now, row_owner};
use crate::config::ModelDef;
use crate::crypto::KeyRing;
use crate::value::Value;

/// Bind parameters per statement: below SQLite's 32 766 and the 65 535 of PostgreSQL and
/// MySQL, and small enough that one statement stays a few hundred kilobytes.
const MAX_PARAMS: usize = 16_000;
const MAX_ROWS_PER_STATEMENT: usize = 1_000;

impl Store {
    /// Inserts every row (each row's fields in the same names) in one transaction.
    /// Returns the number of rows written.
    pub async fn insert_many(
        &self,
        model: &ModelDef,
        ring: &KeyRing,
        rows: &[Vec<(String, Value)>],
        actor: Option<&str>,
    ) -> Result<u64, StoreError> {
        self.refuse_if_read_only("bulk insert", model)?;
        if rows.is_empty() {
            return Ok(0);
        }
        let at = now();
        let mut encoded: Vec<Vec<(usize, SqlValue)>> = Vec::with_capacity(rows.len());
        for (n, fields) in rows.iter().enumerate() {
            let row = insert_row(model, fields, actor, at)?;
            let mut values = encode_row(model, ring, row_owner(model, &row).as_deref(), &row)?;
            values.sort_by_key(|(i, _)| *i);
            if let Some(first) = encoded.first()
                && !same_columns(first, &values)
            {
                return Err(StoreError::InvalidValue {
                    model: model.name.clone(),
                    field: format!("row {}", n + 1),
                    reason: "has different fields from the first row; a bulk insert needs the same fields in every row".into(),
                });
            }
            encoded.push(values);
        }
        let columns = encoded[0].len();
        let per_statement = (MAX_PARAMS / columns.max(1)).clamp(1, MAX_ROWS_PER_STATEMENT);
        let mut tx = self.begin(model).await?;
        let mut written = 0;
        for chunk in encoded.chunks(per_statement) {
            let (sql, _) = self.insert_sql(model, &chunk[0], chunk.len());
            let binds: Vec<SqlValue> = chunk
                .iter()
                .flat_map(|row| row.iter().map(|(_, v)| v.clone()))
                .collect();
            let done = tx
                .execute(&sql, &binds)
                .await
                .map_err(|e| self.write_error("bulk insert", model, e))?;
            written += done.rows_affected;
        }
        tx.commit()
            .await
            .map_err(|e| self.write_error("bulk insert", model, e))?;
        Ok(written)
    }
}

fn same_columns(a: &[(usize, SqlValue)], b: &[(usize, SqlValue)]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|((x, _), (y, _))| x == y)
}
