//! The lean read behind `timber audit --verify`: the same rows as `audit_entries`, in id
//! order, with fewer values through the driver.
//!
//! Why: verifying a stored log is bound by reading it, not by hashing (BENCHMARKS.md,
//! "audit_verify"). sqlx's SQLite driver copies every column value of every row on its
//! worker thread and the store then decodes each into its own `SqlValue`; ten columns per
//! entry made that the cost. On SQLite the nine text columns are therefore packed by the
//! database into one JSON array per row (`json_array`, whose string escaping is exact, so
//! the packing is unambiguous), and unpacked here in one parse. Other backends, and any
//! page whose packed form does not read back, use the ordinary read: the result is the
//! same entries either way.

use serde::Deserialize;

use super::Store;
use super::audit_log::{AuditEntry, AuditRange, AuditRow};
use super::backend::SqlValue;
use super::convert::parse_datetime;
use super::dialect::{Dialect, Wire};
use super::error::StoreError;
use super::system_tables::AUDIT_LOG;

/// The packed columns, in `AuditRow` order.
const PACKED: [&str; 9] = [
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

/// One packed row as `json_array` writes it: a JSON string or null per column. A column
/// holding a number (a hand-edited row) does not fit, and sends the page to the ordinary
/// read.
#[derive(Deserialize)]
struct Packed(
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

impl Store {
    /// Audit entries in `range`, oldest first unless `range.newest_first`: the entries
    /// `audit_entries` returns, read through the packed form where the backend has one.
    pub async fn audit_chain_page(
        &self,
        range: &AuditRange,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        if self.dialect() != Dialect::Sqlite {
            return self.audit_entries(range).await;
        }
        let q = |s: &str| self.dialect().quote(s);
        let mut conditions = Vec::new();
        let mut binds = Vec::new();
        for (bound, op) in [(range.after, ">"), (range.before, "<")] {
            if let Some(id) = bound {
                binds.push(SqlValue::Int(id));
                let mark = self.dialect().param(binds.len());
                conditions.push(format!("{} {op} {mark}", q("id")));
            }
        }
        let filter = if conditions.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", conditions.join(" AND "))
        };
        let packed: Vec<String> = PACKED.iter().map(|c| q(c)).collect();
        let sql = format!(
            "SELECT {}, json_array({}) FROM {}{filter} ORDER BY {} {} LIMIT {}",
            q("id"),
            packed.join(", "),
            q(AUDIT_LOG),
            q("id"),
            if range.newest_first { "DESC" } else { "ASC" },
            range.limit.max(1)
        );
        let rows = self
            .backend
            .fetch(&sql, &binds, &[Wire::Int, Wire::Text])
            .await
            .map_err(|e| StoreError::query("read audit log", AUDIT_LOG, e))?;
        let mut entries = Vec::with_capacity(rows.len());
        for row in rows {
            match unpack(row) {
                Some(entry) => entries.push(entry),
                // Anything unusual (a null or odd time, a non-text column) is the ordinary
                // read's to judge, exactly as before this path existed.
                None => return self.audit_entries(range).await,
            }
        }
        Ok(entries)
    }
}

/// The entry of one packed row; `None` when it is not the plain case.
fn unpack(row: Vec<SqlValue>) -> Option<AuditEntry> {
    let mut it = row.into_iter();
    let (Some(SqlValue::Int(id)), Some(SqlValue::Text(json))) = (it.next(), it.next()) else {
        return None;
    };
    let Packed(created_at, actor, action, table_name, record_id, fields, detail, prev, hash) =
        serde_json::from_str::<Packed>(&json).ok()?;
    let created_at = parse_datetime(created_at.as_deref()?)?;
    Some(AuditEntry {
        id,
        row: AuditRow {
            created_at,
            actor: actor.unwrap_or_default(),
            action: action.unwrap_or_default(),
            table_name,
            record_id,
            fields,
            detail,
            prev_hash: prev.unwrap_or_default(),
            entry_hash: hash.unwrap_or_default(),
        },
    })
}
