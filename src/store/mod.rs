//! The only module that speaks SQL (DESIGN §2): connect (URL, TLS, read-only sessions,
//! pools), dialects, `timber init` DDL, records (keyset pages, typed decoding, decryption
//! of the rows asked for, blind-index search), writes (transparent encryption, blind-index
//! and mixin upkeep, a write observer for audit), raw row access and compare-and-set for
//! rotation and health, and the append-only audit connection.
//!
//! The API is async (tokio). One [`Store`] wraps a pool behind the [`backend::Backend`]
//! trait, with one module per backend (SQLite, PostgreSQL, MySQL/MariaDB).

// Private parts behind the curated `pub use` below: code outside the store names what the
// store offers (`store::JobRow`), never where it lives (`store::rotation_sql::JobRow`), so
// the files can be rearranged without touching a caller.
mod audit_checkpoints;
mod audit_log;
mod audit_scan;
mod audit_sql;
mod backend;
mod bulk;
mod bulk_file;
mod cells;
mod connect;
mod convert;
mod ddl;
mod dialect;
mod error;
mod introspect;
mod mysql;
mod namespace;
mod postgres;
mod raw;
mod raw_scan;
mod records;
mod rotation_sql;
mod sample;
mod schema;
mod search;
mod sqlite;
mod sqlite_file_read;
mod system_tables;
mod tls;
mod write_prep;

/// The time the store writes (UTC, microseconds): leases and heartbeats are compared with it.
pub fn utc_now() -> chrono::NaiveDateTime {
    write_prep::now()
}
mod writes;

use std::sync::Arc;

pub use audit_checkpoints::CheckpointRow;
pub use audit_log::{AuditEntry, AuditHead, AuditRange, AuditRow, AuditWriter};
pub use audit_scan::{AuditRowRef, AuditScanBatch};
pub use audit_sql::{AuditFilter, AuditSearch};
pub use backend::SqlValue;
pub use bulk::BulkInsert;
pub use cells::Cell;
pub(crate) use cells::{key_choice, keyed_hash};
pub use connect::{StoreConfig, TlsMode};
pub use convert::parse_for_column;
pub use ddl::{InitItem, ObjectKind};
pub use dialect::{Dialect, fernet_token_len};
pub use error::StoreError;
pub use introspect::{ColumnInfo, IndexInfo};
pub use namespace::valid_namespace;
pub use raw::{CasOutcome, CasUpdate, RawRow};
pub use raw_scan::{RawStream, Recycler};
pub use records::{Cursor, Page, PageRequest, Record};
pub use rotation_sql::{
    ChunkLease, ChunkProgress, ChunkRow, ChunkStatus, ColumnCas, FailureRow, JobProgress,
    JobRequest, JobRow, JobStatus, JobTotals, KeyRow, KeyStatus, RotationRow, RotationTx,
};
pub use sample::{SampledColumn, TableSample};
pub use schema::RowEstimate;
pub use search::{Contains, Order, RowQuery};
pub use system_tables::{
    AUDIT_CHECKPOINTS, AUDIT_HEAD, AUDIT_LOG, KEYS, ROTATION_CHUNKS, ROTATION_FAILURES,
    ROTATION_JOBS,
};
pub use tls::TlsCheck;
pub use writes::{Fields, WriteAction, WriteContext, WriteEvent, WriteObserver};

use backend::Backend;
use error::is_missing_table;

use crate::config::ModelDef;

/// A connection pool to the configured database, and every query the program runs.
#[derive(Clone)]
pub struct Store {
    backend: Arc<dyn Backend>,
    config: StoreConfig,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Store({}, read_only={})",
            self.config.shown_url(),
            self.config.read_only
        )
    }
}

impl Store {
    /// Connects (eagerly, so an unreachable database or a wrong password is reported now).
    pub async fn connect(config: StoreConfig) -> Result<Store, StoreError> {
        let started = std::time::Instant::now();
        let url = config.shown_url();
        match config.open_data().await {
            Ok(backend) => {
                tracing::info!(
                    url = %url,
                    read_only = config.read_only,
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "database connected"
                );
                Ok(Store { backend, config })
            }
            Err(err) => {
                tracing::warn!(url = %url, error = %err, "database connection failed");
                Err(err)
            }
        }
    }

    /// Connects to a URL with default settings (read-write, no TLS requirement).
    pub async fn connect_url(url: &str) -> Result<Store, StoreError> {
        Store::connect(StoreConfig::from_url(url)?).await
    }

    /// Opens the separate append-only audit connection (never read-only).
    pub async fn audit_writer(&self) -> Result<AuditWriter, StoreError> {
        let writer = self.config.open_audit().await.inspect_err(|err| {
            tracing::warn!(error = %err, "audit connection failed");
        })?;
        tracing::debug!("audit connection opened");
        Ok(AuditWriter::new(writer))
    }

    pub fn dialect(&self) -> Dialect {
        self.backend.dialect()
    }

    pub fn config(&self) -> &StoreConfig {
        &self.config
    }

    pub fn is_read_only(&self) -> bool {
        self.config.read_only
    }

    pub fn tls_mode(&self) -> TlsMode {
        self.config.tls_mode()
    }

    /// How much of the server's identity this store's TLS checks (`None` for SQLite).
    pub fn tls_check(&self) -> Option<TlsCheck> {
        self.config.tls_check()
    }

    /// The database URL with every credential replaced by `***`.
    pub fn url_redacted(&self) -> String {
        self.config.shown_url()
    }

    pub async fn close(&self) {
        self.backend.close().await;
    }

    fn quote(&self, ident: &str) -> String {
        self.dialect().quote(ident)
    }

    /// A failure on a system table (`timber_audit_log`, `timber_rotation_jobs`, ...): a
    /// missing table is one line saying to run `timber init`, the same for every command.
    pub(crate) fn system_error(&self, what: &str, table: &str, err: sqlx::Error) -> StoreError {
        if is_missing_table(&err) {
            return self.missing_system_table(what, table);
        }
        StoreError::query(what, table, err)
    }

    /// The one line every command gives for a system table that does not exist.
    pub(crate) fn missing_system_table(&self, what: &str, table: &str) -> StoreError {
        StoreError::Query {
            what: what.to_string(),
            table: table.to_string(),
            reason: format!(
                "the system table is missing in {} (run `timber init`)",
                self.url_redacted()
            ),
        }
    }

    /// A read failure on a model's table: a missing table is named as such.
    fn read_error(&self, what: &str, model: &ModelDef, err: sqlx::Error) -> StoreError {
        if is_missing_table(&err) {
            return StoreError::MissingTable {
                model: model.name.clone(),
                table: model.table_name.clone(),
                url: self.url_redacted(),
            };
        }
        StoreError::query(what, &model.table_name, err)
    }
}
