//! Writing records with transparent encryption: insert, update, delete, and a bulk insert
//! for seeding. Every write of a record is reported to an optional [`WriteObserver`] (the
//! audit log) with the changed fields and their old and new values.
//!
//! The observer runs right after the commit, not inside the transaction: on SQLite the data
//! transaction holds the database's single write lock, so an audit entry written through
//! the separate audit connection would wait on it forever. If the observer fails, the write
//! has happened and the caller gets [`StoreError::Observer`], which says exactly that.
//!
//! `delete` removes the row, also for SoftDeleteMixin models: a soft delete is an `update`
//! of `deleted_at`, which the caller chooses (the store does not hide rows by it).

use futures_util::future::BoxFuture;

use super::Store;
use super::backend::{BackendTx, SqlValue};
use super::cells::{Cell, decode_row};
use super::dialect::Dialect;
use super::error::StoreError;
use super::records::{Record, key_bind};
pub use super::write_prep::Fields;
use super::write_prep::{
    Row, encode_row, insert_row, named, now, reencrypt_all, resolve, row_owner,
};
use crate::config::{Mixin, ModelDef};
use crate::crypto::KeyRing;
use crate::value::Value;
use crate::value::owner_text;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteAction {
    Insert,
    Update,
    Delete,
}

impl WriteAction {
    pub fn as_str(self) -> &'static str {
        match self {
            WriteAction::Insert => "insert",
            WriteAction::Update => "update",
            WriteAction::Delete => "delete",
        }
    }
}

/// What a write did, for the audit log. Values are plaintext: the observer must not log
/// them as they are (the audit log encrypts `detail`).
#[derive(Debug)]
pub struct WriteEvent<'a> {
    pub model: &'a ModelDef,
    pub record_id: &'a Value,
    pub action: WriteAction,
    pub actor: Option<&'a str>,
    /// Fields whose value changed (insert: every field written; delete: every field).
    pub changed: Vec<String>,
    /// Values before the write (update: of the changed fields; delete: of every field).
    pub old: Vec<(String, Cell)>,
    /// Values after the write (insert and update).
    pub new: Vec<(String, Value)>,
}

/// Told about every record write, right after it commits.
pub trait WriteObserver: Send + Sync {
    fn observe<'a>(&'a self, event: &'a WriteEvent<'a>) -> BoxFuture<'a, Result<(), String>>;
}

/// Who writes, and who is told.
#[derive(Clone, Copy, Default)]
pub struct WriteContext<'a> {
    /// Fills `created_by` / `updated_by` (AuditMixin) and the event's actor.
    pub actor: Option<&'a str>,
    pub observer: Option<&'a dyn WriteObserver>,
}

impl Store {
    /// Inserts one record and returns its primary key.
    pub async fn insert(
        &self,
        model: &ModelDef,
        ring: &KeyRing,
        fields: &[(String, Value)],
        ctx: WriteContext<'_>,
    ) -> Result<Value, StoreError> {
        self.refuse_if_read_only("insert", model)?;
        let row = insert_row(model, fields, ctx.actor, now())?;
        let encoded = encode_row(model, ring, row_owner(model, &row).as_deref(), &row, None)?;
        let pk = model.primary_key();
        let generated = !row.iter().any(|(i, _)| model.columns[*i].primary_key);
        let columns: Vec<usize> = encoded.iter().map(|(i, _)| *i).collect();
        let binds: Vec<SqlValue> = encoded.into_iter().map(|(_, v)| v).collect();
        let mut sql = self.insert_sql(model, &columns, 1);
        let id = if generated && self.dialect() == Dialect::Postgres {
            sql.push_str(&format!(" RETURNING {}", self.quote(&pk.name)));
            let rows = self
                .backend
                .fetch(&sql, &binds, &[super::dialect::Wire::Int])
                .await
                .map_err(|e| self.write_error("insert", model, e))?;
            match rows.into_iter().next().and_then(|r| r.into_iter().next()) {
                Some(SqlValue::Int(i)) => Value::Int(i),
                _ => Value::Null,
            }
        } else {
            let done = self
                .backend
                .execute(&sql, &binds)
                .await
                .map_err(|e| self.write_error("insert", model, e))?;
            match row.iter().find(|(i, _)| model.columns[*i].primary_key) {
                Some((_, id)) => id.clone(),
                None => done.last_insert_id.map(Value::Int).unwrap_or(Value::Null),
            }
        };
        let new = named(model, &row);
        let changed = new.iter().map(|(n, _)| n.clone()).collect();
        let event = WriteEvent {
            model,
            record_id: &id,
            action: WriteAction::Insert,
            actor: ctx.actor,
            changed,
            old: Vec::new(),
            new,
        };
        self.notify(ctx, &event).await?;
        Ok(id)
    }

    /// Updates fields of one record. Changing the owner of a per-user model re-encrypts
    /// every encrypted field under the new owner's key (refused if one cannot be read).
    pub async fn update(
        &self,
        model: &ModelDef,
        ring: &KeyRing,
        id: &Value,
        changes: &[(String, Value)],
        ctx: WriteContext<'_>,
    ) -> Result<(), StoreError> {
        self.refuse_if_read_only("update", model)?;
        let mut row = resolve(model, changes)?;
        if row.iter().any(|(i, _)| model.columns[*i].primary_key) {
            return Err(StoreError::InvalidValue {
                model: model.name.clone(),
                field: model.primary_key().name.clone(),
                reason: "the primary key cannot be changed".into(),
            });
        }
        let mut tx = self.begin(model).await?;
        let old = self.locked_record(tx.as_mut(), model, ring, id).await?;
        let given: Vec<usize> = row.iter().map(|(i, _)| *i).collect();
        let owner = match row_owner(model, &row) {
            Some(owner) => Some(owner),
            None => old
                .cell(model, &model.owner_column)
                .and_then(Cell::value)
                .and_then(owner_text),
        };
        let old_owner = old
            .cell(model, &model.owner_column)
            .and_then(Cell::value)
            .and_then(owner_text);
        if model.encryption.per_user && owner != old_owner {
            reencrypt_all(model, &old, &mut row)?;
        }
        let at = now();
        for (name, value) in [("updated_at", Value::DateTime(at))]
            .into_iter()
            .filter(|_| model.has_mixin(Mixin::Timestamp))
            .chain(
                ctx.actor
                    .filter(|_| model.has_mixin(Mixin::Audit))
                    .map(|a| ("updated_by", Value::Text(a.into()))),
            )
        {
            if let Some(index) = model.columns.iter().position(|c| c.name == name)
                && !row.iter().any(|(i, _)| *i == index)
            {
                row.push((index, value));
            }
        }
        let encoded = encode_row(model, ring, owner.as_deref(), &row, None)?;
        let dialect = self.dialect();
        let mut binds = Vec::with_capacity(encoded.len() + 1);
        let mut sets = Vec::with_capacity(encoded.len());
        for (n, (index, value)) in encoded.into_iter().enumerate() {
            let column = &model.columns[index];
            sets.push(format!(
                "{} = {}",
                dialect.quote(&column.name),
                dialect.placeholder(n + 1, column)
            ));
            binds.push(value);
        }
        let pk = model.primary_key();
        binds.push(key_bind(model, id)?);
        let sql = format!(
            "UPDATE {} SET {} WHERE {} = {}",
            self.quote(&model.table_name),
            sets.join(", "),
            self.quote(&pk.name),
            dialect.placeholder(binds.len(), pk)
        );
        tx.execute(&sql, &binds)
            .await
            .map_err(|e| self.write_error("update", model, e))?;
        tx.commit()
            .await
            .map_err(|e| self.write_error("update", model, e))?;

        let changed_rows: Row = row
            .into_iter()
            .filter(|(i, v)| given.contains(i) && old.cells[*i].value() != Some(v))
            .collect();
        let new = named(model, &changed_rows);
        let event = WriteEvent {
            model,
            record_id: id,
            action: WriteAction::Update,
            actor: ctx.actor,
            changed: new.iter().map(|(n, _)| n.clone()).collect(),
            old: changed_rows
                .iter()
                .map(|(i, _)| (model.columns[*i].name.clone(), old.cells[*i].clone()))
                .collect(),
            new,
        };
        self.notify(ctx, &event).await
    }

    /// Deletes one record.
    pub async fn delete(
        &self,
        model: &ModelDef,
        ring: &KeyRing,
        id: &Value,
        ctx: WriteContext<'_>,
    ) -> Result<(), StoreError> {
        self.refuse_if_read_only("delete", model)?;
        let mut tx = self.begin(model).await?;
        let old = self.locked_record(tx.as_mut(), model, ring, id).await?;
        let pk = model.primary_key();
        let sql = format!(
            "DELETE FROM {} WHERE {} = {}",
            self.quote(&model.table_name),
            self.quote(&pk.name),
            self.dialect().placeholder(1, pk)
        );
        tx.execute(&sql, &[key_bind(model, id)?])
            .await
            .map_err(|e| self.write_error("delete", model, e))?;
        tx.commit()
            .await
            .map_err(|e| self.write_error("delete", model, e))?;
        let event = WriteEvent {
            model,
            record_id: id,
            action: WriteAction::Delete,
            actor: ctx.actor,
            changed: model.columns.iter().map(|c| c.name.clone()).collect(),
            old: model
                .columns
                .iter()
                .map(|c| c.name.clone())
                .zip(old.cells)
                .collect(),
            new: Vec::new(),
        };
        self.notify(ctx, &event).await
    }

    pub(crate) fn refuse_if_read_only(
        &self,
        what: &str,
        model: &ModelDef,
    ) -> Result<(), StoreError> {
        if self.config.read_only {
            return Err(StoreError::ReadOnly {
                what: what.into(),
                table: model.table_name.clone(),
            });
        }
        Ok(())
    }

    pub(crate) async fn begin(&self, model: &ModelDef) -> Result<Box<dyn BackendTx>, StoreError> {
        self.backend
            .begin()
            .await
            .map_err(|e| self.write_error("begin transaction", model, e))
    }

    pub(crate) fn write_error(&self, what: &str, model: &ModelDef, err: sqlx::Error) -> StoreError {
        self.read_error(what, model, err)
    }

    /// `INSERT INTO t (cols) VALUES (...), (...)` for `rows` rows of the same columns.
    pub(crate) fn insert_sql(&self, model: &ModelDef, columns: &[usize], rows: usize) -> String {
        let dialect = self.dialect();
        let names: Vec<String> = columns
            .iter()
            .map(|i| dialect.quote(&model.columns[*i].name))
            .collect();
        let mut groups = Vec::with_capacity(rows);
        let mut n = 0;
        for _ in 0..rows {
            let marks: Vec<String> = columns
                .iter()
                .map(|i| {
                    n += 1;
                    dialect.placeholder(n, &model.columns[*i])
                })
                .collect();
            groups.push(format!("({})", marks.join(", ")));
        }
        format!(
            "INSERT INTO {} ({}) VALUES {}",
            self.quote(&model.table_name),
            names.join(", "),
            groups.join(", ")
        )
    }

    /// Reads the record inside the write's transaction (for old values and the owner).
    async fn locked_record(
        &self,
        tx: &mut dyn BackendTx,
        model: &ModelDef,
        ring: &KeyRing,
        id: &Value,
    ) -> Result<Record, StoreError> {
        let pk = model.primary_key();
        let lock = if self.dialect() == Dialect::Sqlite {
            ""
        } else {
            " FOR UPDATE"
        };
        let sql = format!(
            "{} WHERE {} = {}{lock}",
            self.select_from(model),
            self.quote(&pk.name),
            self.dialect().placeholder(1, pk)
        );
        let wires: Vec<_> = model.columns.iter().map(super::dialect::wire_for).collect();
        let rows = tx
            .fetch(&sql, &[key_bind(model, id)?], &wires)
            .await
            .map_err(|e| self.read_error("read record", model, e))?;
        let row = rows
            .into_iter()
            .next()
            .ok_or_else(|| StoreError::NotFound {
                table: model.table_name.clone(),
                id: id.to_json().to_string(),
            })?;
        decode_row(model, ring, row)
    }

    async fn notify(
        &self,
        ctx: WriteContext<'_>,
        event: &WriteEvent<'_>,
    ) -> Result<(), StoreError> {
        let Some(observer) = ctx.observer else {
            return Ok(());
        };
        observer
            .observe(event)
            .await
            .map_err(|reason| StoreError::Observer {
                action: event.action.as_str().into(),
                table: event.model.table_name.clone(),
                id: event.record_id.to_json().to_string(),
                reason,
            })
    }
}
