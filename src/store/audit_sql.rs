//! The audit log's SQL beyond appending (which is `audit_log`): filtered pages for
//! `timber audit`, newest first or (for `--follow`) oldest first after an id, and the
//! genesis head row that gives the append lock a row to lock from the very first entry.
//!
//! Every filter value is bound as a parameter; text search is a case-insensitive `LIKE` on
//! the non-sensitive columns (actor, action, table, record id, field names) and on `detail`
//! only where it is not a Fernet token (so it matches reasons, never ciphertext).
//!
//! A record filter (`timber audit --record ID`) is a pre-filter here: the `record_id` column,
//! or a plain detail that names the id as a JSON string (a rows reveal's `ids`), or a plain
//! detail that may cover it without naming it (`ids_truncated`, or an export entry written
//! before exports listed their ids). The audit module then keeps exactly the entries whose
//! parsed detail says so; `LIKE`'s case rules differ per backend and matter only here.

use chrono::NaiveDateTime;

use super::Store;
use super::audit_log::{AuditEntry, AuditHead};
use super::backend::SqlValue;
use super::dialect::{Dialect, Wire};
use super::error::StoreError;
use super::system_tables::{AUDIT_HEAD, AUDIT_LOG};

/// Which entries to list (`timber audit`, the console's Audit screen). Every condition
/// given must hold.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AuditFilter {
    /// Table names (a model filter passes the model's `table_name`); any of them.
    pub tables: Vec<String>,
    pub actor: Option<String>,
    pub action: Option<String>,
    /// Entries at or after this time (UTC).
    pub since: Option<NaiveDateTime>,
    /// Entries before this time (UTC).
    pub until: Option<NaiveDateTime>,
    /// Case-insensitive text in a non-sensitive column (actor, action, table, record id,
    /// field names, plain detail such as a reason).
    pub text: Option<String>,
    /// Entries that may concern this record id: the SQL pre-filters (see the module
    /// comment), `audit::record_match` decides.
    pub record: Option<String>,
}

/// A filter and where to read: one page of the log.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AuditSearch {
    pub filter: AuditFilter,
    /// Ids strictly greater (for `--follow`).
    pub after_id: Option<i64>,
    /// Ids strictly smaller (the next page, newest first).
    pub before_id: Option<i64>,
    pub limit: u32,
    pub newest_first: bool,
}

impl Store {
    /// Audit entries matching `search`, in id order (descending when `newest_first`).
    pub async fn audit_search(&self, search: &AuditSearch) -> Result<Vec<AuditEntry>, StoreError> {
        let dialect = self.dialect();
        let q = |s: &str| dialect.quote(s);
        let mut conditions: Vec<String> = Vec::new();
        let mut binds: Vec<SqlValue> = Vec::new();
        let bind = |value: SqlValue, binds: &mut Vec<SqlValue>| {
            binds.push(value);
            dialect.param(binds.len())
        };
        if !search.filter.tables.is_empty() {
            let marks: Vec<String> = search
                .filter
                .tables
                .iter()
                .map(|t| bind(SqlValue::Text(t.clone()), &mut binds))
                .collect();
            conditions.push(format!("{} IN ({})", q("table_name"), marks.join(", ")));
        }
        for (column, value) in [
            ("actor", &search.filter.actor),
            ("action", &search.filter.action),
        ] {
            if let Some(v) = value {
                let mark = bind(SqlValue::Text(v.clone()), &mut binds);
                conditions.push(format!("{} = {mark}", q(column)));
            }
        }
        for (op, at) in [(">=", search.filter.since), ("<", search.filter.until)] {
            if let Some(at) = at {
                let mark = bind(SqlValue::DateTime(at), &mut binds);
                conditions.push(format!("{} {op} {mark}", q("created_at")));
            }
        }
        for (op, id) in [(">", search.after_id), ("<", search.before_id)] {
            if let Some(id) = id {
                let mark = bind(SqlValue::Int(id), &mut binds);
                conditions.push(format!("{} {op} {mark}", q("id")));
            }
        }
        if let Some(text) = search.filter.text.as_deref().filter(|t| !t.is_empty()) {
            let pattern = format!("%{}%", escape_like(&text.to_lowercase()));
            let mut any = Vec::new();
            for column in ["actor", "action", "table_name", "record_id", "fields"] {
                let mark = bind(SqlValue::Text(pattern.clone()), &mut binds);
                any.push(format!("LOWER({}) LIKE {mark} ESCAPE '!'", q(column)));
            }
            let mark = bind(SqlValue::Text(pattern), &mut binds);
            any.push(format!(
                "({d} NOT LIKE 'gAAAAA%' AND LOWER({d}) LIKE {mark} ESCAPE '!')",
                d = q("detail")
            ));
            conditions.push(format!("({})", any.join(" OR ")));
        }
        if let Some(record) = &search.filter.record {
            let exact = bind(SqlValue::Text(record.clone()), &mut binds);
            // The id as it appears inside a JSON list of strings.
            let quoted = serde_json::Value::String(record.clone()).to_string();
            let named = bind(
                SqlValue::Text(format!("%{}%", escape_like(&quoted))),
                &mut binds,
            );
            conditions.push(format!(
                "({r} = {exact} OR ({d} NOT LIKE 'gAAAAA%' AND ({d} LIKE {named} ESCAPE '!' \
                 OR {d} LIKE '%\"ids_truncated\":true%' OR {d} LIKE '%\"scope\":\"export\"%')))",
                r = q("record_id"),
                d = q("detail"),
            ));
        }
        self.select_entries(
            &conditions,
            &binds,
            search.newest_first,
            search.limit,
            "search audit log",
        )
        .await
    }

    /// Writes `genesis` as the head row unless a head row exists (through the audit
    /// connection, so it works on a read-only session). Racing processes are fine: the
    /// insert is ignored when the row is already there.
    pub async fn audit_ensure_head(&self, genesis: &AuditHead) -> Result<(), StoreError> {
        let dialect = self.dialect();
        let q = |s: &str| dialect.quote(s);
        let (verb, tail) = match dialect {
            Dialect::Sqlite => ("INSERT OR IGNORE", String::new()),
            Dialect::Mysql => ("INSERT IGNORE", String::new()),
            Dialect::Postgres => ("INSERT", format!(" ON CONFLICT ({}) DO NOTHING", q("id"))),
        };
        let sql = format!(
            "{verb} INTO {} ({}, {}, {}, {}, {}) VALUES (1, {}, {}, {}, {}){tail}",
            q(AUDIT_HEAD),
            q("id"),
            q("entry_id"),
            q("entry_hash"),
            q("mac"),
            q("updated_at"),
            dialect.param(1),
            dialect.param(2),
            dialect.param(3),
            dialect.param(4),
        );
        let binds = [
            SqlValue::Int(genesis.entry_id),
            SqlValue::Text(genesis.entry_hash.clone()),
            SqlValue::Text(genesis.mac.clone()),
            SqlValue::DateTime(genesis.updated_at),
        ];
        let existing = self.audit_head().await?;
        if existing.is_some() {
            return Ok(());
        }
        let audit = self.config.open_audit().await?;
        let result = audit.execute(&sql, &binds).await;
        audit.close().await;
        result.map_err(|e| self.system_error("create head", AUDIT_HEAD, e))?;
        Ok(())
    }

    /// Number of audit entries (for `timber audit --verify` progress and health).
    pub async fn audit_count(&self) -> Result<i64, StoreError> {
        let sql = format!("SELECT COUNT(*) FROM {}", self.quote(AUDIT_LOG));
        let rows = self
            .backend
            .fetch(&sql, &[], &[Wire::Int])
            .await
            .map_err(|e| self.system_error("count audit log", AUDIT_LOG, e))?;
        match rows.into_iter().next().and_then(|r| r.into_iter().next()) {
            Some(SqlValue::Int(n)) => Ok(n),
            _ => Ok(0),
        }
    }
}

/// `LIKE` wildcards and the escape character itself, escaped with `!`.
fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '!') {
            out.push('!');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::escape_like;

    #[test]
    fn like_wildcards_are_escaped() {
        assert_eq!(escape_like("50%_off!"), "50!%!_off!!");
        assert_eq!(escape_like("plain"), "plain");
    }
}
