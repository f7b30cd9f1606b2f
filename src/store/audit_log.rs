//! The audit log's storage. Writing goes through [`AuditWriter`], a separate small pool that
//! is never read-only and whose API can only append an entry to `timber_audit_log` and move
//! the single head row of `timber_audit_head`; reading goes through the ordinary (possibly
//! read-only) store. Hashing and MACs are the `audit` module's business, not ours.
//!
//! An append is one transaction: the head row is locked first (a no-op UPDATE, which takes
//! SQLite's write lock and PostgreSQL/MySQL's row lock alike), the caller builds the entry
//! from the previous head, the entry is inserted, and the head moves to it. Two processes
//! appending at once therefore chain one after the other instead of forking the chain.

use std::sync::Arc;

use chrono::NaiveDateTime;

use super::Store;
use super::backend::{Backend, BackendTx, SqlValue};
use super::dialect::{Dialect, Wire};
use super::error::StoreError;
use super::system_tables::{AUDIT_HEAD, AUDIT_LOG};

/// One entry as stored (DESIGN §7).
#[derive(Clone, Debug, PartialEq)]
pub struct AuditRow {
    pub created_at: NaiveDateTime,
    pub actor: String,
    pub action: String,
    pub table_name: Option<String>,
    pub record_id: Option<String>,
    /// JSON list of field names.
    pub fields: Option<String>,
    /// Encrypted when it holds values.
    pub detail: Option<String>,
    pub prev_hash: String,
    pub entry_hash: String,
}

/// An entry with its id.
#[derive(Clone, Debug, PartialEq)]
pub struct AuditEntry {
    pub id: i64,
    pub row: AuditRow,
}

/// The newest entry's id and hash, MAC'd with the audit key.
#[derive(Clone, Debug, PartialEq)]
pub struct AuditHead {
    pub entry_id: i64,
    pub entry_hash: String,
    pub mac: String,
    pub updated_at: NaiveDateTime,
}

/// Which entries to read: ids after `after` and before `before`, oldest first unless
/// `newest_first`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AuditRange {
    pub after: Option<i64>,
    pub before: Option<i64>,
    pub limit: u32,
    pub newest_first: bool,
}

pub(super) const ENTRY_COLUMNS: [&str; 10] = [
    "id",
    "created_at",
    "actor",
    "action",
    "table_name",
    "record_id",
    "fields",
    "detail",
    "prev_hash",
    "entry_hash",
];
const ENTRY_WIRES: [Wire; 10] = [
    Wire::Int,
    Wire::DateTime,
    Wire::Text,
    Wire::Text,
    Wire::Text,
    Wire::Text,
    Wire::Text,
    Wire::Text,
    Wire::Text,
    Wire::Text,
];

/// The append-only audit connection.
pub struct AuditWriter {
    backend: Arc<dyn Backend>,
}

impl AuditWriter {
    pub(crate) fn new(backend: Arc<dyn Backend>) -> AuditWriter {
        AuditWriter { backend }
    }

    pub(super) fn backend(&self) -> &Arc<dyn Backend> {
        &self.backend
    }

    /// Appends one entry chained to the current head, in one transaction: `build` gets the
    /// previous head (`None` for the first entry) and returns the entry; `head` gets the new
    /// entry's id and returns the head to store. Returns the new entry's id. If `build`
    /// refuses, nothing is written and its message is returned.
    pub async fn append(
        &self,
        build: impl FnOnce(Option<&AuditHead>) -> Result<AuditRow, String>,
        head: impl FnOnce(i64, &AuditRow) -> AuditHead,
    ) -> Result<i64, StoreError> {
        let dialect = self.backend.dialect();
        let q = |s: &str| dialect.quote(s);
        let err = |what: &str, table: &str, e| StoreError::query(what, table, e);
        let mut tx = self
            .backend
            .begin()
            .await
            .map_err(|e| err("begin", AUDIT_LOG, e))?;
        let lock = format!(
            "UPDATE {} SET {} = {} WHERE {} = 1",
            q(AUDIT_HEAD),
            q("id"),
            q("id"),
            q("id")
        );
        tx.execute(&lock, &[])
            .await
            .map_err(|e| err("lock head", AUDIT_HEAD, e))?;
        let previous = read_head(tx.as_mut(), dialect).await?;
        let row = build(previous.as_ref()).map_err(|reason| StoreError::Query {
            what: "build audit entry".into(),
            table: AUDIT_LOG.into(),
            reason,
        })?;
        let names: Vec<String> = ENTRY_COLUMNS[1..].iter().map(|c| q(c)).collect();
        let marks: Vec<String> = (1..=names.len()).map(|n| dialect.param(n)).collect();
        let mut sql = format!(
            "INSERT INTO {} ({}) VALUES ({})",
            q(AUDIT_LOG),
            names.join(", "),
            marks.join(", ")
        );
        let text = |v: &Option<String>| {
            v.clone()
                .map(SqlValue::Text)
                .unwrap_or(SqlValue::Null(Wire::Text))
        };
        let binds = vec![
            SqlValue::DateTime(row.created_at),
            SqlValue::Text(row.actor.clone()),
            SqlValue::Text(row.action.clone()),
            text(&row.table_name),
            text(&row.record_id),
            text(&row.fields),
            text(&row.detail),
            SqlValue::Text(row.prev_hash.clone()),
            SqlValue::Text(row.entry_hash.clone()),
        ];
        let id = if dialect == Dialect::Postgres {
            sql.push_str(&format!(" RETURNING {}", q("id")));
            let rows = tx
                .fetch(&sql, &binds, &[Wire::Int])
                .await
                .map_err(|e| err("append", AUDIT_LOG, e))?;
            match rows.into_iter().next().and_then(|r| r.into_iter().next()) {
                Some(SqlValue::Int(id)) => id,
                _ => {
                    return Err(StoreError::Query {
                        what: "append".into(),
                        table: AUDIT_LOG.into(),
                        reason: "no id returned".into(),
                    });
                }
            }
        } else {
            let done = tx
                .execute(&sql, &binds)
                .await
                .map_err(|e| err("append", AUDIT_LOG, e))?;
            done.last_insert_id.unwrap_or_default()
        };
        let new_head = head(id, &row);
        let head_binds = [
            SqlValue::Int(new_head.entry_id),
            SqlValue::Text(new_head.entry_hash.clone()),
            SqlValue::Text(new_head.mac.clone()),
            SqlValue::DateTime(new_head.updated_at),
        ];
        let (a, b, c, d) = (
            dialect.param(1),
            dialect.param(2),
            dialect.param(3),
            dialect.param(4),
        );
        let head_sql = if previous.is_some() {
            format!(
                "UPDATE {} SET {} = {a}, {} = {b}, {} = {c}, {} = {d} WHERE {} = 1",
                q(AUDIT_HEAD),
                q("entry_id"),
                q("entry_hash"),
                q("mac"),
                q("updated_at"),
                q("id")
            )
        } else {
            format!(
                "INSERT INTO {} ({}, {}, {}, {}, {}) VALUES (1, {a}, {b}, {c}, {d})",
                q(AUDIT_HEAD),
                q("id"),
                q("entry_id"),
                q("entry_hash"),
                q("mac"),
                q("updated_at")
            )
        };
        tx.execute(&head_sql, &head_binds)
            .await
            .map_err(|e| err("move head", AUDIT_HEAD, e))?;
        tx.commit().await.map_err(|e| err("commit", AUDIT_LOG, e))?;
        Ok(id)
    }
}

async fn read_head(
    tx: &mut dyn BackendTx,
    dialect: Dialect,
) -> Result<Option<AuditHead>, StoreError> {
    let sql = head_sql(dialect);
    let rows = tx
        .fetch(
            &sql,
            &[],
            &[Wire::Int, Wire::Text, Wire::Text, Wire::DateTime],
        )
        .await
        .map_err(|e| StoreError::query("read head", AUDIT_HEAD, e))?;
    Ok(rows.into_iter().next().and_then(head_from))
}

fn head_sql(dialect: Dialect) -> String {
    let q = |s: &str| dialect.quote(s);
    format!(
        "SELECT {}, {}, {}, {} FROM {} WHERE {} = 1",
        q("entry_id"),
        q("entry_hash"),
        q("mac"),
        q("updated_at"),
        q(AUDIT_HEAD),
        q("id")
    )
}

fn head_from(row: Vec<SqlValue>) -> Option<AuditHead> {
    let mut it = row.into_iter();
    let entry_id = match it.next()? {
        SqlValue::Int(i) => i,
        _ => return None,
    };
    let entry_hash = it.next()?.into_text()?;
    let mac = it.next()?.into_text()?;
    let updated_at = match it.next()? {
        SqlValue::DateTime(t) => t,
        _ => return None,
    };
    Some(AuditHead {
        entry_id,
        entry_hash,
        mac,
        updated_at,
    })
}

impl Store {
    /// The stored head, if any entry was ever appended.
    pub async fn audit_head(&self) -> Result<Option<AuditHead>, StoreError> {
        let rows = self
            .backend
            .fetch(
                &head_sql(self.dialect()),
                &[],
                &[Wire::Int, Wire::Text, Wire::Text, Wire::DateTime],
            )
            .await
            .map_err(|e| self.system_error("read head", AUDIT_HEAD, e))?;
        Ok(rows.into_iter().next().and_then(head_from))
    }

    /// Audit entries in id order.
    pub async fn audit_entries(&self, range: &AuditRange) -> Result<Vec<AuditEntry>, StoreError> {
        let dialect = self.dialect();
        let q = |s: &str| dialect.quote(s);
        let mut conditions = Vec::new();
        let mut binds = Vec::new();
        for (bound, op) in [(range.after, ">"), (range.before, "<")] {
            if let Some(id) = bound {
                binds.push(SqlValue::Int(id));
                conditions.push(format!("{} {op} {}", q("id"), dialect.param(binds.len())));
            }
        }
        self.select_entries(
            &conditions,
            &binds,
            range.newest_first,
            range.limit,
            "read audit log",
        )
        .await
    }

    /// Entries matching every condition (already using `binds`), by id in either order: the
    /// one SELECT behind both the plain range read and the filtered search.
    pub(super) async fn select_entries(
        &self,
        conditions: &[String],
        binds: &[SqlValue],
        newest_first: bool,
        limit: u32,
        what: &'static str,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let dialect = self.dialect();
        let q = |s: &str| dialect.quote(s);
        let filter = if conditions.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", conditions.join(" AND "))
        };
        let columns: Vec<String> = ENTRY_COLUMNS.iter().map(|c| q(c)).collect();
        let sql = format!(
            "SELECT {} FROM {}{filter} ORDER BY {} {} LIMIT {}",
            columns.join(", "),
            q(AUDIT_LOG),
            q("id"),
            if newest_first { "DESC" } else { "ASC" },
            limit.max(1)
        );
        let rows = self
            .backend
            .fetch(&sql, binds, &ENTRY_WIRES)
            .await
            .map_err(|e| self.system_error(what, AUDIT_LOG, e))?;
        Ok(rows.into_iter().filter_map(entry_from).collect())
    }
}

fn entry_from(row: Vec<SqlValue>) -> Option<AuditEntry> {
    let mut it = row.into_iter();
    let id = match it.next()? {
        SqlValue::Int(i) => i,
        _ => return None,
    };
    let created_at = match it.next()? {
        SqlValue::DateTime(t) => t,
        _ => return None,
    };
    let mut text = || it.next().and_then(SqlValue::into_text);
    let actor = text().unwrap_or_default();
    let action = text().unwrap_or_default();
    let (table_name, record_id, fields, detail) = (text(), text(), text(), text());
    let prev_hash = text().unwrap_or_default();
    let entry_hash = text().unwrap_or_default();
    Some(AuditEntry {
        id,
        row: AuditRow {
            created_at,
            actor,
            action,
            table_name,
            record_id,
            fields,
            detail,
            prev_hash,
            entry_hash,
        },
    })
}
