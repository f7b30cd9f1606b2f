//! The PostgreSQL backend. PostgreSQL is strictly typed: the dialect casts parameters and
//! selected columns (numeric and JSON as text, integers as int8) so each wire shape decodes
//! with one checked Rust type. TLS follows `REQUIRE_SSL` and the `SSL_*` paths; read-only
//! sessions get `default_transaction_read_only=on` as a startup option, so every transaction
//! on them is refused writes by the server.

use std::str::FromStr;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use sqlx::postgres::{
    PgArguments, PgConnectOptions, PgPoolOptions, PgQueryResult, PgRow, PgSslMode,
};
use sqlx::{Postgres, Row, TypeInfo, ValueRef};

use super::backend::{SqlValue, decode_error, sqlx_backend};
use super::connect::StoreConfig;
use super::dialect::{Dialect, Wire};

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
    let mut options = PgConnectOptions::from_str(config.url.expose())?.application_name("timber");
    if config.require_ssl {
        // With a CA file we also check the server certificate chain.
        let mode = if config.ssl_root_cert_path.is_some() {
            PgSslMode::VerifyCa
        } else {
            PgSslMode::Require
        };
        options = options.ssl_mode(mode);
    }
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
    super::connect::probe::<sqlx::PgConnection>(&options, config.acquire_timeout).await?;
    let pool = PgPoolOptions::new()
        .max_connections(max)
        .acquire_timeout(config.acquire_timeout)
        .connect_with(options)
        .await?;
    Ok(PgBackend { pool })
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
