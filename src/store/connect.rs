//! From settings to a connection pool: URL scheme (mariadb:// is mysql://), TLS from the
//! URL's mode, `REQUIRE_SSL` (verified TLS, see `tls.rs`) and the `SSL_*` paths, read-only
//! sessions and pool sizes.
//!
//! Read-only is enforced by the database session, not by us: PostgreSQL
//! `default_transaction_read_only`, MySQL/MariaDB `SET SESSION TRANSACTION READ ONLY`,
//! SQLite `PRAGMA query_only`. `REQUIRE_SSL` does not apply to SQLite: the database is a
//! local file and there is no transport to protect (`TlsMode::NotApplicable`).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::backend::Backend;
use super::dialect::Dialect;
use super::error::StoreError;
use super::{mysql, postgres, sqlite};
use crate::config::DatabaseUrl;
use crate::config::Settings;

/// How a store connects. Built from [`Settings`] or from a URL (tests, tools).
#[derive(Clone, Debug)]
pub struct StoreConfig {
    /// The URL given to the driver (mariadb:// already mapped to mysql://).
    pub url: DatabaseUrl,
    /// The URL as the operator wrote it, for messages (see [`StoreConfig::shown_url`]).
    pub given_url: DatabaseUrl,
    pub dialect: Dialect,
    /// Open the data session read-only (the audit connection never is).
    pub read_only: bool,
    pub require_ssl: bool,
    pub ssl_cert_path: Option<PathBuf>,
    pub ssl_key_path: Option<PathBuf>,
    pub ssl_root_cert_path: Option<PathBuf>,
    pub max_connections: u32,
    pub acquire_timeout: Duration,
    /// Where the URL came from, for connection errors (`DATABASE_URL from ./.env`); `None`
    /// for a URL a program gave (tests, the demo).
    pub url_origin: Option<String>,
    /// SQLite only: create the database file when it does not exist (`timber init`).
    pub create_if_missing: bool,
    /// SQLite only: how long a statement waits for another process's lock before it fails
    /// with "database is locked".
    pub busy_timeout: Duration,
    /// SQLite only: `PRAGMA max_page_count`, a size cap (clamped to the current size by
    /// SQLite); the fault tests use it to fill the "disk".
    pub max_page_count: Option<u32>,
    /// PostgreSQL and MariaDB: the server ends a session whose transaction sits idle this
    /// long (`idle_in_transaction_session_timeout`, `idle_transaction_timeout`), releasing
    /// its locks. A rotation worker stopped mid-batch (a debugger, a suspended VM, a lost
    /// network) must not hold rows, or the job's row, past its lease. MySQL has no such
    /// setting; there the server's `wait_timeout` applies.
    pub idle_transaction_timeout: Option<Duration>,
}

/// Whether the connection is protected by TLS, for `timber info` and the `conn.tls` check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlsMode {
    /// SQLite: a local file, no transport.
    NotApplicable,
    /// `REQUIRE_SSL=true`: the driver refuses to connect without verified TLS (certificate
    /// chain and host name).
    Required,
    /// TLS was not required (the driver may still have negotiated it).
    NotRequired,
}

impl StoreConfig {
    /// A config for `url` with defaults: read-write, no TLS requirement, small pool.
    pub fn from_url(url: &str) -> Result<StoreConfig, StoreError> {
        let (dialect, normalized) = normalize_url(url)?;
        Ok(StoreConfig {
            url: DatabaseUrl::new(normalized),
            given_url: DatabaseUrl::new(url),
            dialect,
            read_only: false,
            require_ssl: false,
            ssl_cert_path: None,
            ssl_key_path: None,
            ssl_root_cert_path: None,
            max_connections: if dialect == Dialect::Sqlite { 4 } else { 8 },
            acquire_timeout: Duration::from_secs(10),
            url_origin: None,
            create_if_missing: false,
            busy_timeout: Duration::from_secs(10),
            max_page_count: None,
            idle_transaction_timeout: None,
        })
    }

    /// The config the settings ask for (DATABASE_URL, REQUIRE_SSL, SSL_*, read-only).
    pub fn from_settings(settings: &Settings) -> Result<StoreConfig, StoreError> {
        let origin = url_origin(&settings.database_url.source);
        let mut config =
            StoreConfig::from_url(settings.database_url.value.expose()).map_err(|inner| {
                StoreError::FromSetting {
                    inner: Box::new(inner),
                    origin: origin.clone(),
                }
            })?;
        config.url_origin = Some(origin);
        config.read_only = settings.read_only;
        config.require_ssl = settings.require_ssl;
        config.ssl_cert_path = settings.ssl_cert_path.clone();
        config.ssl_key_path = settings.ssl_key_path.clone();
        config.ssl_root_cert_path = settings.ssl_root_cert_path.clone();
        Ok(config)
    }

    /// The URL as the operator wrote it (`mariadb://` stays `mariadb://`), password redacted.
    pub fn shown_url(&self) -> String {
        self.given_url.redacted()
    }

    pub fn tls_mode(&self) -> TlsMode {
        match (self.dialect, self.require_ssl) {
            (Dialect::Sqlite, _) => TlsMode::NotApplicable,
            (_, true) => TlsMode::Required,
            (_, false) => TlsMode::NotRequired,
        }
    }

    /// How much of the server's identity the connection's TLS checks: the URL's mode as
    /// `REQUIRE_SSL` raises it. `None` for SQLite (no transport) or a URL that does not parse.
    pub fn tls_check(&self) -> Option<super::TlsCheck> {
        match self.dialect {
            Dialect::Sqlite => None,
            Dialect::Postgres => postgres::tls_check(self),
            Dialect::Mysql => mysql::tls_check(self),
        }
    }

    /// Opens the data pool (read-only when configured).
    pub(crate) async fn open_data(&self) -> Result<Arc<dyn Backend>, StoreError> {
        self.open(self.read_only, self.max_connections).await
    }

    /// Opens the audit pool: one or two connections, never read-only.
    pub(crate) async fn open_audit(&self) -> Result<Arc<dyn Backend>, StoreError> {
        self.open(false, 2).await
    }

    async fn open(&self, read_only: bool, max: u32) -> Result<Arc<dyn Backend>, StoreError> {
        self.open_driver(read_only, max)
            .await
            .map_err(|inner| match &self.url_origin {
                Some(origin) => StoreError::FromSetting {
                    inner: Box::new(inner),
                    origin: origin.clone(),
                },
                None => inner,
            })
    }

    async fn open_driver(&self, read_only: bool, max: u32) -> Result<Arc<dyn Backend>, StoreError> {
        let opened: Result<Arc<dyn Backend>, sqlx::Error> = match self.dialect {
            Dialect::Sqlite => {
                self.check_sqlite_file()?;
                sqlite::connect(self, read_only, max)
                    .await
                    .map(|b| Arc::new(b) as _)
            }
            Dialect::Postgres => postgres::connect(self, read_only, max)
                .await
                .map(|b| Arc::new(b) as _),
            Dialect::Mysql => mysql::connect(self, read_only, max)
                .await
                .map(|b| Arc::new(b) as _),
        };
        opened.map_err(|e| {
            let host = url_host(self.url.expose());
            StoreError::connect(self.given_url.expose(), &host, &e, self.require_ssl)
        })
    }

    /// The SQLite database file this config names, when it does not exist (`timber init
    /// --dry-run` plans against an empty database then, creating no file).
    pub fn missing_sqlite_file(&self) -> Option<PathBuf> {
        sqlite::file_path(self.url.expose()).filter(|path| !path.exists())
    }

    /// A missing SQLite file is a typo far more often than a wish for an empty database; only
    /// `timber init` creates one.
    fn check_sqlite_file(&self) -> Result<(), StoreError> {
        let Some(path) = sqlite::file_path(self.url.expose()) else {
            return Ok(());
        };
        if self.create_if_missing || path.exists() {
            return Ok(());
        }
        Err(StoreError::Connect {
            url: self.shown_url(),
            reason: format!(
                "no database file at {} (run `timber init` to create it)",
                path.display()
            ),
        })
    }
}

/// Where a database URL came from, as the end of a connection error says it.
fn url_origin(source: &crate::config::Source) -> String {
    use crate::config::Source;
    match source {
        Source::Default => "the default DATABASE_URL (set DATABASE_URL or --database-url)".into(),
        Source::Flag(name) => format!("from {name}"),
        other => format!("DATABASE_URL {}", other.phrase()),
    }
}

/// Maps the URL scheme to a dialect; `mariadb://` becomes `mysql://` for the driver.
fn normalize_url(url: &str) -> Result<(Dialect, String), StoreError> {
    let scheme = url.split(':').next().unwrap_or("").to_ascii_lowercase();
    let unsupported = || StoreError::UnsupportedUrl {
        // A URL (`://`) or keyword string is redacted piecewise; any other shape with an `@`
        // (`scheme:user:password@host`) may hold a password where redaction cannot find it,
        // so only its scheme is shown.
        url: if url.contains("://") || !url.contains('@') {
            DatabaseUrl::new(url).redacted()
        } else {
            format!("{scheme}:***")
        },
        scheme: if url.contains(':') && !scheme.is_empty() {
            format!("scheme `{scheme}`")
        } else {
            "no scheme".to_string()
        },
    };
    if !url.contains(':') {
        return Err(unsupported());
    }
    match scheme.as_str() {
        "sqlite" => Ok((Dialect::Sqlite, url.to_string())),
        "postgres" | "postgresql" => Ok((Dialect::Postgres, url.to_string())),
        "mysql" => Ok((Dialect::Mysql, url.to_string())),
        "mariadb" => Ok((Dialect::Mysql, format!("mysql{}", &url["mariadb".len()..]))),
        _ => Err(unsupported()),
    }
}

/// The host a URL names (for messages about its certificate): the authority after any
/// userinfo, without port or IPv6 brackets.
pub(crate) fn url_host(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    match host_port.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or("").to_string(),
        None => host_port.split(':').next().unwrap_or("").to_string(),
    }
}

/// `url` without the query parameters whose name `drop` accepts (the rest kept in order).
pub(crate) fn without_query_keys(url: &str, drop: impl Fn(&str) -> bool) -> String {
    let Some((base, query)) = url.split_once('?') else {
        return url.to_string();
    };
    let (query, fragment) = match query.split_once('#') {
        Some((q, f)) => (q, Some(f)),
        None => (query, None),
    };
    let kept: Vec<&str> = query
        .split('&')
        .filter(|pair| !drop(pair.split_once('=').map_or(*pair, |(name, _)| name)))
        .collect();
    let mut out = base.to_string();
    if !kept.is_empty() {
        out.push('?');
        out.push_str(&kept.join("&"));
    }
    if let Some(fragment) = fragment {
        out.push('#');
        out.push_str(fragment);
    }
    out
}

/// Opens and closes one connection: the pool retries a refused connection until its
/// acquire timeout and then reports only that it timed out, while a single attempt fails at
/// once with the server's own reason (refused, bad password, TLS, starting up).
///
/// One after the other, never side by side with the pool's first connection (which would
/// save a connection's 4-5 round trips over a slow link): side by side, a wrong password
/// would be tried twice per start, locking an account with a failed-login limit twice as
/// fast, and a role limited to one connection could not start at all.
pub(crate) async fn probe<C: sqlx::Connection>(
    options: &C::Options,
    timeout: Duration,
) -> Result<(), sqlx::Error> {
    match tokio::time::timeout(timeout, C::connect_with(options)).await {
        Ok(connection) => connection?.close().await,
        Err(_) => Err(sqlx::Error::PoolTimedOut),
    }
}

/// Builds a PostgreSQL pool with one connection open, without a probe connection first
/// (issue 17: over a 50 ms link the probe cost a quarter of a second on every command).
///
/// The pool reports every failure but two with the server's own reason at once: a wrong
/// password, a TLS failure, an unknown host or database fail its first attempt and are not
/// retried. The two it retries until its acquire timeout, then reports only as a timeout,
/// are handled here:
/// - a refused connection (nothing listening: a wrong port, a server down) is found first by
///   a bare TCP connect to `tcp`, one round trip, no credentials sent; PostgreSQL does not
///   log a connection closed before its startup packet;
/// - a server starting up or out of connections: after the pool's timeout, a
///   [`probe`] asks once more for the server's reason (reported after the timeout, where
///   the probe first had it at once: failures pay, not every start).
///
/// Not for MySQL/MariaDB: a TCP connection closed before its handshake counts against the
/// client host's `max_connect_errors` there, and enough failed starts would get the host
/// blocked; MySQL keeps the probe.
pub(crate) async fn open_pg_pool(
    pool: sqlx::pool::PoolOptions<sqlx::Postgres>,
    options: sqlx::postgres::PgConnectOptions,
    tcp: Option<(String, u16)>,
    timeout: Duration,
) -> Result<sqlx::Pool<sqlx::Postgres>, sqlx::Error> {
    if let Some((host, port)) = tcp {
        let reach = tokio::net::TcpStream::connect((host.as_str(), port));
        match tokio::time::timeout(timeout, reach).await {
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                return Err(sqlx::Error::Io(e));
            }
            // A host that drops every packet: the pool would wait the same again.
            Err(_) => return Err(sqlx::Error::PoolTimedOut),
            // Any other outcome is the pool's to meet and report: a name that does not
            // resolve, an unreachable network, or the connection's success.
            Ok(_) => {}
        }
    }
    match pool.connect_with(options.clone()).await {
        Err(sqlx::Error::PoolTimedOut) => {
            // The reasons asked for here come back at once; a server that hangs instead
            // is not waited for a second full timeout.
            probe::<sqlx::PgConnection>(&options, PROBE_AFTER_TIMEOUT.min(timeout)).await?;
            Err(sqlx::Error::PoolTimedOut)
        }
        opened => opened,
    }
}

/// How long the probe after the pool's timeout waits for the server's reason.
const PROBE_AFTER_TIMEOUT: Duration = Duration::from_secs(3);

/// How long a pooled server connection may sit idle before it is pinged on checkout. A
/// ping on every checkout (sqlx's default) is a round trip per statement: over a 50 ms
/// link, half a second of a census whose statements follow each other at once. A
/// connection idle longer (the console between two keys, a server restarted or a proxy's
/// idle timeout meanwhile) is still checked, and replaced if the server dropped it.
const PING_AFTER_IDLE: Duration = Duration::from_secs(2);

/// The pool settings of the server backends: `max` connections, `acquire_timeout`, and
/// pings only after [`PING_AFTER_IDLE`].
pub(crate) fn server_pool<DB: sqlx::Database>(
    max: u32,
    acquire_timeout: Duration,
) -> sqlx::pool::PoolOptions<DB> {
    sqlx::pool::PoolOptions::<DB>::new()
        .max_connections(max)
        .acquire_timeout(acquire_timeout)
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for >= PING_AFTER_IDLE {
                    sqlx::Connection::ping(conn).await?;
                }
                Ok(true)
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes_map_to_dialects() {
        assert_eq!(
            normalize_url("sqlite://timber.db").unwrap().0,
            Dialect::Sqlite
        );
        assert_eq!(
            normalize_url("postgresql://u@h/db").unwrap().0,
            Dialect::Postgres
        );
        let (d, url) = normalize_url("mariadb://root:pw@127.0.0.1:3306/test").unwrap();
        assert_eq!(
            (d, url.as_str()),
            (Dialect::Mysql, "mysql://root:pw@127.0.0.1:3306/test")
        );
        let err = normalize_url("oracle://scott:tiger@db/x")
            .unwrap_err()
            .to_string();
        assert!(err.contains("oracle://scott:***@db/x"), "{err}");
        assert!(!err.contains("tiger"));
        let err = normalize_url("host=db password=tiger")
            .unwrap_err()
            .to_string();
        assert!(err.contains("password=***"), "{err}");
        assert!(!err.contains("tiger"), "{err}");
    }

    #[test]
    fn hosts_and_dropped_query_keys() {
        assert_eq!(url_host("postgres://u:p@db.example:5432/x"), "db.example");
        assert_eq!(url_host("postgres://[::1]:5432/x"), "::1");
        assert_eq!(
            without_query_keys("postgres://h/db?sslmode=require&api_token=x&a=1", |k| k
                == "api_token"),
            "postgres://h/db?sslmode=require&a=1"
        );
        assert_eq!(
            without_query_keys("postgres://h/db?api_token=x", |k| k == "api_token"),
            "postgres://h/db"
        );
    }
}
