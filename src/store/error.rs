//! Why a store operation failed, as one clear line naming what and where (DESIGN §11).
//!
//! Messages carry the database URL only in redacted form (`config::redact_url`)
//! and never carry a key or a stored value: driver messages are kept because they name the
//! column or constraint, but callers never put plaintext into them.

use crate::config::redact_url;

/// A store failure. `Display` is one line, safe to print.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// `scheme` is how the URL's scheme is named: "scheme `oracle`", or "no scheme".
    #[error(
        "unsupported database URL `{url}` ({scheme}): expected sqlite://, postgres://, postgresql://, mysql:// or mariadb://"
    )]
    UnsupportedUrl { url: String, scheme: String },

    #[error("cannot connect to {url}: {reason}")]
    Connect { url: String, reason: String },

    /// A URL that was refused or could not connect, with where the setting came from
    /// (`the URL is DATABASE_URL from ./.env`), so the operator knows what to change.
    #[error("{inner}; the URL is {origin}")]
    FromSetting {
        inner: Box<StoreError>,
        origin: String,
    },

    #[error("REQUIRE_SSL=true but the connection to {url} is not TLS: {reason}")]
    TlsRequired { url: String, reason: String },

    /// The server's certificate was refused: `cause` names why (not trusted, host name
    /// mismatch, expired), `remedy` what to do.
    #[error("cannot connect to {url}: TLS refused, {cause}; {remedy}")]
    TlsRefused {
        url: String,
        cause: String,
        remedy: String,
    },

    /// TLS is demanded (`by`: REQUIRE_SSL or the URL's mode) but the server does not offer it.
    #[error(
        "cannot connect to {url}: the server does not offer TLS, which {by} demands; enable TLS on the server"
    )]
    TlsUnavailable { url: String, by: String },

    #[error("table `{table}` for model {model} does not exist in {url} (run `timber init`)")]
    MissingTable {
        model: String,
        table: String,
        url: String,
    },

    #[error("model {model} does not match table `{table}`: {detail}")]
    Mismatch {
        model: String,
        table: String,
        detail: String,
    },

    #[error("{what} on `{table}` failed: {reason}")]
    Query {
        what: String,
        table: String,
        reason: String,
    },

    #[error("{what} on `{table}` refused: the database session is read-only (use --write)")]
    ReadOnly { what: String, table: String },

    #[error("model {model} has no field `{field}`")]
    UnknownField { model: String, field: String },

    #[error("{model}.{field}: {reason}")]
    InvalidValue {
        model: String,
        field: String,
        reason: String,
    },

    #[error("record {id} not found in `{table}`")]
    NotFound { table: String, id: String },

    #[error("cannot search {model}.{field}: {reason}")]
    NotSearchable {
        model: String,
        field: String,
        reason: String,
    },

    #[error("cannot sort {model} by `{field}`: {reason}")]
    NotSortable {
        model: String,
        field: String,
        reason: String,
    },

    #[error("{model}.{field}: cannot encrypt: {reason}")]
    Encrypt {
        model: String,
        field: String,
        reason: String,
    },

    #[error(
        "{action} of `{table}` record {id} was committed but its audit entry was not written: {reason}"
    )]
    Observer {
        action: String,
        table: String,
        id: String,
        reason: String,
    },
}

impl StoreError {
    /// Wraps a driver error from a statement, naming the operation and the table.
    pub(crate) fn query(what: impl Into<String>, table: &str, err: sqlx::Error) -> StoreError {
        let what = what.into();
        if is_read_only_violation(&err) {
            return StoreError::ReadOnly {
                what,
                table: table.to_string(),
            };
        }
        StoreError::Query {
            what,
            table: table.to_string(),
            reason: driver_reason(&err),
        }
    }

    /// Wraps a driver error from connecting, classifying the usual causes. `host` is the
    /// host the URL names (a refused certificate is judged against it).
    pub(crate) fn connect(
        url: &str,
        host: &str,
        err: &sqlx::Error,
        require_ssl: bool,
    ) -> StoreError {
        let url = redact_url(url);
        let reason = driver_reason(err);
        if let Some((cause, remedy)) = super::tls::certificate_refusal(&reason, host) {
            return StoreError::TlsRefused { url, cause, remedy };
        }
        let lower = reason.to_ascii_lowercase();
        if lower.contains("server does not support tls") {
            let by = if require_ssl {
                "REQUIRE_SSL=true"
            } else {
                "the URL's TLS mode"
            };
            return StoreError::TlsUnavailable {
                url,
                by: by.to_string(),
            };
        }
        if require_ssl && (lower.contains("tls") || lower.contains("ssl")) {
            return StoreError::TlsRequired { url, reason };
        }
        StoreError::Connect { url, reason }
    }
}

/// The driver's message without anything that could hold a secret: database errors keep
/// their message and code; I/O errors keep their kind; configuration errors keep their text
/// with any URL password redacted.
pub(crate) fn driver_reason(err: &sqlx::Error) -> String {
    match err {
        sqlx::Error::Database(db) => match db.code() {
            Some(code) => format!("{} (code {code})", db.message()),
            None => db.message().to_string(),
        },
        sqlx::Error::Io(io) => io_reason(io),
        sqlx::Error::Tls(tls) => format!("TLS: {}", redact_url(&tls.to_string())),
        sqlx::Error::PoolTimedOut => {
            "timed out waiting for a connection (is the server reachable?)".to_string()
        }
        other => redact_url(&other.to_string()),
    }
}

fn io_reason(io: &std::io::Error) -> String {
    use std::io::ErrorKind;
    match io.kind() {
        ErrorKind::ConnectionRefused => "connection refused (is the server running?)".into(),
        ErrorKind::TimedOut => "connection timed out".into(),
        ErrorKind::NotFound => "not found".into(),
        ErrorKind::PermissionDenied => "permission denied".into(),
        _ => io.to_string(),
    }
}

/// True when the statement failed because the session is read-only (SQLSTATE 25006 on
/// PostgreSQL and MySQL/MariaDB; SQLite's `query_only` reports a read-only database).
fn is_read_only_violation(err: &sqlx::Error) -> bool {
    let sqlx::Error::Database(db) = err else {
        return false;
    };
    let code = db.code().unwrap_or_default();
    let msg = db.message().to_ascii_lowercase();
    code == "25006"
        || msg.contains("attempt to write a readonly database")
        || msg.contains("read-only transaction")
        || msg.contains("read only transaction")
}

/// True when the driver says the table does not exist (SQLSTATE 42P01 on PostgreSQL, 42S02
/// on MySQL/MariaDB; SQLite has no SQLSTATE and says so in words).
pub(crate) fn is_missing_table(err: &sqlx::Error) -> bool {
    let sqlx::Error::Database(db) = err else {
        return false;
    };
    let code = db.code().unwrap_or_default();
    code == "42P01" || code == "42S02" || db.message().contains("no such table")
}
