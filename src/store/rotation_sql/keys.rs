//! The key registry (`timber_keys`): read every row, and put one (retirement).

use super::{KeyRow, KeyStatus, datetime, opt_text, opt_time, text};
use crate::store::Store;
use crate::store::backend::SqlValue;
use crate::store::dialect::Wire;
use crate::store::error::{StoreError, is_missing_table};
use crate::store::system_tables::KEYS;

impl Store {
    /// Every row of the key registry.
    pub async fn key_registry(&self) -> Result<Vec<KeyRow>, StoreError> {
        self.read_key_registry()
            .await
            .map_err(|e| self.system_error("read key registry", KEYS, e))?
            .into_iter()
            .map(key_from)
            .collect()
    }

    /// The key registry; empty when the table does not exist (a database never rotated).
    /// One statement, its "no such table" taken as the answer: a lookup first had cost two
    /// more round trips on every census and health run.
    pub async fn key_registry_if_any(&self) -> Result<Vec<KeyRow>, StoreError> {
        match self.read_key_registry().await {
            Ok(rows) => rows.into_iter().map(key_from).collect(),
            Err(e) if is_missing_table(&e) => Ok(Vec::new()),
            // MySQL refuses a table the account has no grant on even when it does not exist
            // (1142): ask the catalogue, as before, whether there is a registry to read.
            Err(e) => match self.table_exists(KEYS).await {
                Ok(false) => Ok(Vec::new()),
                _ => Err(self.system_error("read key registry", KEYS, e)),
            },
        }
    }

    async fn read_key_registry(&self) -> Result<Vec<Vec<SqlValue>>, sqlx::Error> {
        let d = self.dialect();
        let names = [
            "key_id",
            "fingerprint",
            "wrapped_key",
            "status",
            "created_at",
            "activated_at",
            "retired_at",
        ];
        let sql = format!(
            "SELECT {} FROM {} ORDER BY {}",
            names
                .iter()
                .map(|n| d.quote(n))
                .collect::<Vec<_>>()
                .join(", "),
            d.quote(KEYS),
            d.quote("key_id")
        );
        let wires = [
            Wire::Text,
            Wire::Text,
            Wire::Text,
            Wire::Text,
            Wire::DateTime,
            Wire::DateTime,
            Wire::DateTime,
        ];
        self.backend.fetch(&sql, &[], &wires).await
    }

    /// Inserts or replaces one registry row (delete + insert in one transaction).
    pub async fn key_registry_put(&self, row: &KeyRow) -> Result<(), StoreError> {
        self.refuse_system_write("update key registry", KEYS)?;
        let d = self.dialect();
        let fail = |e| self.system_error("update key registry", KEYS, e);
        let mut tx = self.backend.begin().await.map_err(fail)?;
        let delete = format!(
            "DELETE FROM {} WHERE {} = {}",
            d.quote(KEYS),
            d.quote("key_id"),
            d.param(1)
        );
        tx.execute(&delete, &[SqlValue::Text(row.key_id.clone())])
            .await
            .map_err(fail)?;
        let names = [
            "key_id",
            "fingerprint",
            "wrapped_key",
            "status",
            "created_at",
            "activated_at",
            "retired_at",
        ];
        let insert = format!(
            "INSERT INTO {} ({}) VALUES ({})",
            d.quote(KEYS),
            names
                .iter()
                .map(|n| d.quote(n))
                .collect::<Vec<_>>()
                .join(", "),
            (1..=names.len())
                .map(|n| d.param(n))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let binds = [
            SqlValue::Text(row.key_id.clone()),
            SqlValue::Text(row.fingerprint.clone()),
            opt_text(row.wrapped_key.as_deref()),
            SqlValue::Text(row.status.as_str().into()),
            SqlValue::DateTime(row.created_at),
            opt_time(row.activated_at),
            opt_time(row.retired_at),
        ];
        tx.execute(&insert, &binds).await.map_err(fail)?;
        tx.commit().await.map_err(fail)
    }
}

/// A registry row; a status this version does not know is an error naming the key (read as
/// another status, a retired key could pass for active or the reverse).
fn key_from(r: Vec<SqlValue>) -> Result<KeyRow, StoreError> {
    let key_id = text(&r[0]).unwrap_or_default();
    let status_text = text(&r[3]).unwrap_or_default();
    let status = KeyStatus::parse(&status_text).ok_or_else(|| StoreError::Query {
        what: "read key registry".into(),
        table: KEYS.into(),
        reason: format!(
            "key {key_id} has status `{status_text}`, which this version does not know (one of {})",
            KeyStatus::ALL.map(KeyStatus::as_str).join(", ")
        ),
    })?;
    Ok(KeyRow {
        key_id,
        fingerprint: text(&r[1]).unwrap_or_default(),
        wrapped_key: text(&r[2]),
        status,
        created_at: datetime(&r[4]).unwrap_or_default(),
        activated_at: datetime(&r[5]),
        retired_at: datetime(&r[6]),
    })
}
