//! The MySQL / MariaDB backend (`mariadb://` URLs arrive here as `mysql://`). Results are
//! read by their reported column type and coerced to the wire shape asked for: DECIMAL and
//! JSON arrive as text (MariaDB's JSON is LONGTEXT), tinyint(1) as an integer. Read-only
//! sessions run `SET SESSION TRANSACTION READ ONLY` on connect, which both MySQL and MariaDB
//! understand (the `transaction_read_only` variable is spelled `tx_read_only` on MariaDB 10).
//! TLS follows the URL's `ssl-mode`, raised to `VERIFY_IDENTITY` by `REQUIRE_SSL` (`tls.rs`).

use std::str::FromStr;

use chrono::{NaiveDate, NaiveDateTime};
use sqlx::mysql::{MySqlArguments, MySqlConnectOptions, MySqlQueryResult, MySqlRow, MySqlSslMode};
use sqlx::{Executor, MySql, Row, TypeInfo, ValueRef};

use super::backend::{SqlValue, sqlx_backend};
use super::connect::StoreConfig;
use super::convert::coerce;
use super::dialect::{Dialect, Wire};
use super::tls;

sqlx_backend!(
    MySqlBackend,
    MySqlTx,
    MySql,
    Dialect::Mysql,
    bind,
    decode,
    last_id
);

type Query<'q> = sqlx::query::Query<'q, MySql, MySqlArguments>;

pub(crate) async fn connect(
    config: &StoreConfig,
    read_only: bool,
    max: u32,
) -> Result<MySqlBackend, sqlx::Error> {
    let mut options = MySqlConnectOptions::from_str(config.url.expose())?;
    let mode = ssl_mode(config, &options);
    options = options.ssl_mode(mode);
    if let Some(path) = &config.ssl_root_cert_path {
        options = options.ssl_ca(path);
    }
    if let Some(path) = &config.ssl_cert_path {
        options = options.ssl_client_cert(path);
    }
    if let Some(path) = &config.ssl_key_path {
        options = options.ssl_client_key(path);
    }
    super::connect::probe::<sqlx::MySqlConnection>(&options, config.acquire_timeout).await?;
    let mut pool = super::connect::server_pool::<MySql>(max, config.acquire_timeout);
    let idle = config.idle_transaction_timeout.map(|t| t.as_secs().max(1));
    if read_only || idle.is_some() {
        pool = pool.after_connect(move |conn, _meta| {
            Box::pin(async move {
                if read_only {
                    conn.execute("SET SESSION TRANSACTION READ ONLY").await?;
                }
                if let Some(seconds) = idle {
                    // MariaDB >= 10.3; MySQL has no such variable (its wait_timeout applies),
                    // so a refusal here is not an error.
                    let sql = format!("SET SESSION idle_transaction_timeout = {seconds}");
                    let _ = conn.execute(sqlx::AssertSqlSafe(sql)).await;
                }
                Ok(())
            })
        });
    }
    let pool = pool.connect_with(options).await?;
    Ok(MySqlBackend { pool })
}

/// The mode this connection uses: the URL's `ssl-mode`, raised to verified TLS by
/// `REQUIRE_SSL` (see `tls::mysql_ssl_mode`).
fn ssl_mode(config: &StoreConfig, options: &MySqlConnectOptions) -> MySqlSslMode {
    let has_ca = config.ssl_root_cert_path.is_some()
        || tls::url_names_ca(config.url.expose(), &tls::MYSQL_CA_KEYS);
    tls::mysql_ssl_mode(options.get_ssl_mode(), config.require_ssl, has_ca)
}

/// How much of the server's identity this configuration's TLS checks; `None` when the URL
/// does not parse.
pub(crate) fn tls_check(config: &StoreConfig) -> Option<tls::TlsCheck> {
    let options = MySqlConnectOptions::from_str(config.url.expose()).ok()?;
    Some(tls::mysql_check(ssl_mode(config, &options)))
}

fn bind<'q>(mut query: Query<'q>, binds: &[SqlValue]) -> Query<'q> {
    for value in binds {
        query = match value {
            SqlValue::Null(_) => query.bind(None::<String>),
            SqlValue::Bool(b) => query.bind(*b),
            SqlValue::Int(i) => query.bind(*i),
            SqlValue::Float(f) => query.bind(*f),
            SqlValue::Text(s) => query.bind(s.clone()),
            SqlValue::Date(d) => query.bind(*d),
            SqlValue::DateTime(t) => query.bind(*t),
            SqlValue::Bytes(b) => query.bind(b.clone()),
            // Arrays are bound on PostgreSQL only; here they would be their JSON text.
            array @ (SqlValue::IntArray(_) | SqlValue::TextArray(_)) => {
                query.bind(array.clone().into_text())
            }
        };
    }
    query
}

fn decode(row: &MySqlRow, wires: &[Wire]) -> Result<Vec<SqlValue>, sqlx::Error> {
    let mut out = Vec::with_capacity(wires.len());
    for (i, wire) in wires.iter().enumerate() {
        let raw = row.try_get_raw(i)?;
        if raw.is_null() {
            out.push(SqlValue::Null(*wire));
            continue;
        }
        let name = raw.type_info().name().to_string();
        let value = if name == "BOOLEAN" || name.contains("INT") {
            if name == "BIGINT UNSIGNED" {
                SqlValue::Int(row.try_get_unchecked::<u64, _>(i)? as i64)
            } else {
                SqlValue::Int(row.try_get_unchecked::<i64, _>(i)?)
            }
        } else if name == "DOUBLE" {
            SqlValue::Float(row.try_get_unchecked::<f64, _>(i)?)
        } else if name == "FLOAT" {
            SqlValue::Float(row.try_get_unchecked::<f32, _>(i)? as f64)
        } else if name == "DATETIME" || name == "TIMESTAMP" {
            SqlValue::DateTime(row.try_get_unchecked::<NaiveDateTime, _>(i)?)
        } else if name == "DATE" {
            SqlValue::Date(row.try_get_unchecked::<NaiveDate, _>(i)?)
        } else if name.contains("BLOB") || name.contains("BINARY") {
            SqlValue::Bytes(row.try_get_unchecked::<Vec<u8>, _>(i)?)
        } else {
            SqlValue::Text(row.try_get_unchecked::<String, _>(i)?)
        };
        out.push(coerce(value, *wire, i)?);
    }
    Ok(out)
}

fn last_id(done: &MySqlQueryResult) -> Option<i64> {
    Some(done.last_insert_id() as i64)
}
