//! The audit log's signed checkpoints (`timber_audit_checkpoints`): each row keeps the tree
//! size and Merkle root a checkpoint commits to, and the signed note as it was printed, so
//! a verifier holding only the public key can check every one of them.
//!
//! Checkpoints are written through the audit connection (never read-only), like the log.

use chrono::NaiveDateTime;

use super::Store;
use super::audit_log::AuditWriter;
use super::backend::SqlValue;
use super::dialect::Wire;
use super::error::StoreError;
use super::system_tables::AUDIT_CHECKPOINTS;

/// One stored checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckpointRow {
    /// Assigned by the database (ignored when adding).
    pub id: i64,
    /// How many entries (in id order) the checkpoint covers.
    pub tree_size: i64,
    /// The Merkle root over those entries, hex.
    pub root_hash: String,
    /// The signed note, exactly as printed.
    pub note: String,
    /// The signing key's name and key hash (`name+hash`), to tell keys apart.
    pub signer: String,
    pub created_at: NaiveDateTime,
}

const COLUMNS: [&str; 6] = [
    "id",
    "tree_size",
    "root_hash",
    "note",
    "signer",
    "created_at",
];

impl AuditWriter {
    /// Stores a checkpoint; returns its id.
    pub async fn add_checkpoint(&self, row: &CheckpointRow) -> Result<i64, StoreError> {
        let dialect = self.backend().dialect();
        let q = |s: &str| dialect.quote(s);
        let names: Vec<String> = COLUMNS[1..].iter().map(|c| q(c)).collect();
        let marks: Vec<String> = (1..=names.len()).map(|n| dialect.param(n)).collect();
        let mut sql = format!(
            "INSERT INTO {} ({}) VALUES ({})",
            q(AUDIT_CHECKPOINTS),
            names.join(", "),
            marks.join(", ")
        );
        let binds = [
            SqlValue::Int(row.tree_size),
            SqlValue::Text(row.root_hash.clone()),
            SqlValue::Text(row.note.clone()),
            SqlValue::Text(row.signer.clone()),
            SqlValue::DateTime(row.created_at),
        ];
        let fail = |e| StoreError::query("add checkpoint", AUDIT_CHECKPOINTS, e);
        if dialect == super::Dialect::Postgres {
            sql.push_str(&format!(" RETURNING {}", q("id")));
            let rows = self
                .backend()
                .fetch(&sql, &binds, &[Wire::Int])
                .await
                .map_err(fail)?;
            return Ok(match rows.first().and_then(|r| r.first()) {
                Some(SqlValue::Int(id)) => *id,
                _ => 0,
            });
        }
        let done = self.backend().execute(&sql, &binds).await.map_err(fail)?;
        Ok(done.last_insert_id.unwrap_or(0))
    }
}

impl Store {
    /// Every stored checkpoint, oldest first; none when the table does not exist (a log
    /// from before checkpoints, or never initialised).
    pub async fn audit_checkpoints(&self) -> Result<Vec<CheckpointRow>, StoreError> {
        if !self.table_exists(AUDIT_CHECKPOINTS).await? {
            return Ok(Vec::new());
        }
        let d = self.dialect();
        let sql = format!(
            "SELECT {} FROM {} ORDER BY {}",
            COLUMNS.map(|c| d.quote(c)).join(", "),
            d.quote(AUDIT_CHECKPOINTS),
            d.quote("id")
        );
        let wires = [
            Wire::Int,
            Wire::Int,
            Wire::Text,
            Wire::Text,
            Wire::Text,
            Wire::DateTime,
        ];
        let rows = self
            .backend
            .fetch(&sql, &[], &wires)
            .await
            .map_err(|e| self.system_error("read checkpoints", AUDIT_CHECKPOINTS, e))?;
        Ok(rows
            .into_iter()
            .map(|r| {
                let text = |i: usize| r.get(i).cloned().and_then(SqlValue::into_text);
                let int = |i: usize| match r.get(i) {
                    Some(SqlValue::Int(n)) => *n,
                    _ => 0,
                };
                CheckpointRow {
                    id: int(0),
                    tree_size: int(1),
                    root_hash: text(2).unwrap_or_default(),
                    note: text(3).unwrap_or_default(),
                    signer: text(4).unwrap_or_default(),
                    created_at: match r.get(5) {
                        Some(SqlValue::DateTime(t)) => *t,
                        _ => NaiveDateTime::default(),
                    },
                }
            })
            .collect())
    }
}
