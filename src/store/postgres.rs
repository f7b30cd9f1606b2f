//! The PostgreSQL backend. PostgreSQL is strictly typed: the dialect casts parameters and
//! selected columns (numeric and JSON as text, integers as int8) so each wire shape decodes
//! with one checked Rust type. TLS follows the URL's `sslmode`, raised to `verify-full` by
//! `REQUIRE_SSL` (`tls.rs`), and the `SSL_*` paths; read-only
//! sessions get `default_transaction_read_only=on` as a startup option, so every transaction
//! on them is refused writes by the server.

use std::str::FromStr;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use sqlx::postgres::{PgArguments, PgConnectOptions, PgQueryResult, PgRow, PgSslMode};
use sqlx::{Postgres, Row, TypeInfo, ValueRef};

use super::backend::{SqlValue, decode_error, sqlx_backend};
use super::connect::{StoreConfig, without_query_keys};
use super::dialect::{Dialect, Wire};
use super::tls;
use crate::config::{is_credential_key, percent_decode_lossy};

sqlx_backend!(
    PgBackend,
    PgTx,
    Postgres,
    Dialect::Postgres,
    bind,
    decode,
    last_id
);

type Query<'q> = sqlx::query::Query<'q, Postgres, PgArguments>;

pub(crate) async fn connect(
    config: &StoreConfig,
    read_only: bool,
    max: u32,
) -> Result<PgBackend, sqlx::Error> {
    let mut options = parse_options(config)?.application_name("timber");
    let mode = ssl_mode(config, &options);
    options = options.ssl_mode(mode);
    if let Some(path) = &config.ssl_root_cert_path {
        options = options.ssl_root_cert(path);
    }
    if let Some(path) = &config.ssl_cert_path {
        options = options.ssl_client_cert(path);
    }
    if let Some(path) = &config.ssl_key_path {
        options = options.ssl_client_key(path);
    }
    if read_only {
        options = options.options([("default_transaction_read_only", "on")]);
    }
    if let Some(timeout) = config.idle_transaction_timeout {
        let ms = timeout.as_millis().max(1).to_string();
        options = options.options([("idle_in_transaction_session_timeout", ms.as_str())]);
    }
    // A Unix socket (`host=/run/postgresql`) has no TCP connect to try first.
    let tcp = (options.get_socket().is_none() && !options.get_host().starts_with('/'))
        .then(|| (options.get_host().to_string(), options.get_port()));
    let pool = super::connect::server_pool::<Postgres>(max, config.acquire_timeout);
    let pool = super::connect::open_pg_pool(pool, options, tcp, config.acquire_timeout).await?;
    Ok(PgBackend { pool })
}

/// The driver's options from the URL. Credential-looking parameters the driver does not read
/// (`sslpassword`, `api_token`, ...) are dropped first: sqlx logs every parameter it does not
/// recognise *with its value*, and a log must never carry a password.
fn parse_options(config: &StoreConfig) -> Result<PgConnectOptions, sqlx::Error> {
    let url = without_query_keys(config.url.expose(), |name| {
        is_credential_key(name) && !PG_READS.contains(&percent_decode_lossy(name).as_str())
    });
    PgConnectOptions::from_str(&url)
}

/// Credential-looking query parameters sqlx-postgres reads (a password, client key paths).
const PG_READS: [&str; 3] = ["password", "sslkey", "ssl-key"];

/// The mode this connection uses: the URL's (or `PGSSLMODE`'s), raised to verified TLS by
/// `REQUIRE_SSL` (see `tls::pg_ssl_mode`).
fn ssl_mode(config: &StoreConfig, options: &PgConnectOptions) -> PgSslMode {
    let has_ca = config.ssl_root_cert_path.is_some()
        || tls::url_names_ca(config.url.expose(), &tls::PG_CA_KEYS)
        || std::env::var_os("PGSSLROOTCERT").is_some();
    tls::pg_ssl_mode(options.get_ssl_mode(), config.require_ssl, has_ca)
}

/// How much of the server's identity this configuration's TLS checks; `None` when the URL
/// does not parse (the connection would not open either).
pub(crate) fn tls_check(config: &StoreConfig) -> Option<tls::TlsCheck> {
    let options = parse_options(config).ok()?;
    Some(tls::pg_check(ssl_mode(config, &options)))
}

fn bind<'q>(mut query: Query<'q>, binds: &[SqlValue]) -> Query<'q> {
    for value in binds {
        query = match value {
            SqlValue::Null(wire) => match wire {
                Wire::Bool => query.bind(None::<bool>),
                Wire::Int => query.bind(None::<i64>),
                Wire::Float => query.bind(None::<f64>),
                Wire::Text => query.bind(None::<String>),
                Wire::Date => query.bind(None::<NaiveDate>),
                Wire::DateTime => query.bind(None::<NaiveDateTime>),
                Wire::Bytes => query.bind(None::<Vec<u8>>),
            },
            SqlValue::Bool(b) => query.bind(*b),
            SqlValue::Int(i) => query.bind(*i),
            SqlValue::Float(f) => query.bind(*f),
            SqlValue::Text(s) => query.bind(s.clone()),
            SqlValue::Date(d) => query.bind(*d),
            SqlValue::DateTime(t) => query.bind(*t),
            SqlValue::Bytes(b) => query.bind(b.clone()),
            SqlValue::IntArray(v) => query.bind(v.clone()),
            SqlValue::TextArray(v) => query.bind(v.clone()),
        };
    }
    query
}

fn decode(row: &PgRow, wires: &[Wire]) -> Result<Vec<SqlValue>, sqlx::Error> {
    let mut out = Vec::with_capacity(wires.len());
    for (i, wire) in wires.iter().enumerate() {
        let value = match wire {
            Wire::Bool => row.try_get::<Option<bool>, _>(i)?.map(SqlValue::Bool),
            Wire::Int => decode_int(row, i)?.map(SqlValue::Int),
            Wire::Float => row.try_get::<Option<f64>, _>(i)?.map(SqlValue::Float),
            Wire::Text => row.try_get::<Option<String>, _>(i)?.map(SqlValue::Text),
            Wire::Date => row.try_get::<Option<NaiveDate>, _>(i)?.map(SqlValue::Date),
            Wire::DateTime => decode_timestamp(row, i)?.map(SqlValue::DateTime),
            Wire::Bytes => row.try_get::<Option<Vec<u8>>, _>(i)?.map(SqlValue::Bytes),
        };
        out.push(value.unwrap_or(SqlValue::Null(*wire)));
    }
    Ok(out)
}

/// Integers of any width (a primary key selected without a cast is `int4`).
fn decode_int(row: &PgRow, i: usize) -> Result<Option<i64>, sqlx::Error> {
    let raw = row.try_get_raw(i)?;
    if raw.is_null() {
        return Ok(None);
    }
    let name = raw.type_info().name().to_string();
    match name.as_str() {
        "INT2" => Ok(row.try_get::<i16, _>(i).map(i64::from)?.into()),
        "INT4" => Ok(row.try_get::<i32, _>(i).map(i64::from)?.into()),
        "INT8" => Ok(Some(row.try_get::<i64, _>(i)?)),
        other => Err(decode_error(
            i,
            format!("expected an integer column, found {other}"),
        )),
    }
}

/// `timestamp` decodes as is; `timestamptz` (a table created by someone else) as UTC.
fn decode_timestamp(row: &PgRow, i: usize) -> Result<Option<NaiveDateTime>, sqlx::Error> {
    let raw = row.try_get_raw(i)?;
    if raw.is_null() {
        return Ok(None);
    }
    if raw.type_info().name() == "TIMESTAMPTZ" {
        return Ok(Some(row.try_get::<DateTime<Utc>, _>(i)?.naive_utc()));
    }
    Ok(Some(row.try_get::<NaiveDateTime, _>(i)?))
}

fn last_id(_done: &PgQueryResult) -> Option<i64> {
    // PostgreSQL reports generated keys through `RETURNING`, which the writer asks for.
    None
}
