//! The one trait every database backend implements (sqlx's `Any` driver cannot bind chrono
//! types, so there is one module per backend, as atuin does). A backend only runs SQL text
//! with bound values and decodes result columns into [`SqlValue`]s of the requested [`Wire`]
//! shape; building the SQL is the dialect's job and meaning is the records layer's.
//!
//! Futures are boxed so the store can hold an `Arc<dyn Backend>` chosen at run time.

use chrono::{NaiveDate, NaiveDateTime};
use futures_util::future::BoxFuture;
use futures_util::stream::BoxStream;

use super::dialect::{Dialect, Wire};

/// A value on its way to or from the driver. `Null` says which type the null stands for,
/// because PostgreSQL refuses a text-typed null for an integer column.
#[derive(Clone, Debug, PartialEq)]
pub enum SqlValue {
    Null(Wire),
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
    Date(NaiveDate),
    DateTime(NaiveDateTime),
    Bytes(Vec<u8>),
    /// PostgreSQL only: an `int8[]` parameter (rotation's `unnest` of a batch's keys).
    IntArray(Vec<i64>),
    /// PostgreSQL only: a `text[]` parameter (rotation's `unnest` of a batch's values).
    TextArray(Vec<Option<String>>),
}

impl SqlValue {
    pub fn is_null(&self) -> bool {
        matches!(self, SqlValue::Null(_))
    }

    /// The value as text, for values stored as text (tokens); `None` for null.
    pub fn into_text(self) -> Option<String> {
        match self {
            SqlValue::Null(_) => None,
            SqlValue::Text(s) => Some(s),
            SqlValue::Bool(b) => Some(b.to_string()),
            SqlValue::Int(i) => Some(i.to_string()),
            SqlValue::Float(f) => Some(f.to_string()),
            SqlValue::Date(d) => Some(d.format("%Y-%m-%d").to_string()),
            SqlValue::DateTime(t) => Some(t.format(SQLITE_DATETIME).to_string()),
            SqlValue::Bytes(b) => Some(String::from_utf8_lossy(&b).into_owned()),
            SqlValue::IntArray(v) => Some(serde_json::json!(v).to_string()),
            SqlValue::TextArray(v) => Some(serde_json::json!(v).to_string()),
        }
    }
}

/// How Python Timber's SQLAlchemy writes a DateTime into SQLite (TEXT, microseconds).
pub const SQLITE_DATETIME: &str = "%Y-%m-%d %H:%M:%S%.6f";

/// What a statement did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Exec {
    pub rows_affected: u64,
    /// The generated key of an insert, where the driver reports one (SQLite, MySQL).
    pub last_insert_id: Option<i64>,
}

pub type DbFuture<'a, T> = BoxFuture<'a, Result<T, sqlx::Error>>;

/// A row as `(column name, value as text)` pairs (`None`: NULL).
pub type NamedRow = Vec<(String, Option<String>)>;

/// A connection pool to one database.
pub trait Backend: Send + Sync {
    fn dialect(&self) -> Dialect;

    /// Runs a query and decodes column `i` of every row as `wires[i]`.
    fn fetch<'a>(
        &'a self,
        sql: &'a str,
        binds: &'a [SqlValue],
        wires: &'a [Wire],
    ) -> DbFuture<'a, Vec<Vec<SqlValue>>>;

    /// Runs a query and yields its rows as they arrive (one statement, one round trip,
    /// however many rows: a whole-table scan over a slow link pays the latency once).
    fn stream<'a>(
        &'a self,
        sql: &'a str,
        binds: &'a [SqlValue],
        wires: &'a [Wire],
    ) -> BoxStream<'a, Result<Vec<SqlValue>, sqlx::Error>>;

    /// Runs a statement of no parameters as plain text (the simple query protocol) and
    /// returns each row's columns by name, every value as text (`None`: NULL). For server
    /// commands whose result columns vary by version (`SHOW REPLICA STATUS`).
    fn fetch_named<'a>(&'a self, sql: &'a str) -> DbFuture<'a, Vec<NamedRow>>;

    /// Runs a statement.
    fn execute<'a>(&'a self, sql: &'a str, binds: &'a [SqlValue]) -> DbFuture<'a, Exec>;

    /// Starts a transaction; dropping it without `commit` rolls back.
    fn begin(&self) -> DbFuture<'_, Box<dyn BackendTx>>;

    /// Starts a transaction with `statement` instead of a plain `BEGIN` (one round trip:
    /// a server runs it as one simple query, so it may hold `BEGIN; SET LOCAL ...`).
    fn begin_with(&self, statement: &'static str) -> DbFuture<'_, Box<dyn BackendTx>>;

    /// Closes every connection of the pool.
    fn close(&self) -> BoxFuture<'_, ()>;
}

/// An open transaction on one connection.
pub trait BackendTx: Send {
    fn fetch<'a>(
        &'a mut self,
        sql: &'a str,
        binds: &'a [SqlValue],
        wires: &'a [Wire],
    ) -> DbFuture<'a, Vec<Vec<SqlValue>>>;

    fn execute<'a>(&'a mut self, sql: &'a str, binds: &'a [SqlValue]) -> DbFuture<'a, Exec>;

    /// [`BackendTx::execute`] taking its binds: their text is moved into the statement, not
    /// copied (a rotation batch binds every token it writes, twice over).
    fn execute_owned<'a>(&'a mut self, sql: &'a str, binds: Vec<SqlValue>) -> DbFuture<'a, Exec>;

    fn commit(self: Box<Self>) -> DbFuture<'static, ()>;
}

/// Whether a statement is sent unprepared (the simple query protocol): on PostgreSQL, a
/// statement without parameters that reads no binary column. A prepared statement costs
/// a round trip to prepare before the one that runs it (sqlx caches it per connection,
/// but a CLI command's connection is new); over a 50 ms link the census paid 50 ms for
/// each of its reads (issue 17).
///
/// Sent as text, its values come back as text, which `postgres::decode` reads as it reads
/// binary ones, except `bytea`: its text follows the session's `bytea_output`, and sqlx
/// reads only `hex`. Setting that at startup would send an `options` parameter on every
/// connection, which connection poolers may refuse, so a statement reading bytes stays
/// prepared. Not MySQL: there a `FLOAT` column's text is rounded to six digits. Not SQLite:
/// no round trip to save, and it keeps its statement cache.
///
/// The simple protocol runs every statement in the text, so a caller's SQL without
/// parameters must be one statement built from validated names only, never a value.
pub(crate) fn unprepared(
    binds: &[SqlValue],
    wires: &[super::dialect::Wire],
    dialect: super::dialect::Dialect,
) -> bool {
    binds.is_empty()
        && dialect == super::dialect::Dialect::Postgres
        && !wires.contains(&super::dialect::Wire::Bytes)
}

/// A decode failure for column `index`, as sqlx reports it.
pub(crate) fn decode_error(index: usize, what: impl Into<String>) -> sqlx::Error {
    sqlx::Error::ColumnDecode {
        index: index.to_string(),
        source: what.into().into(),
    }
}

/// Implements [`Backend`] and [`BackendTx`] for one sqlx database, given the backend's
/// `bind(query, &[SqlValue]) -> query`, `decode(&row, &[Wire]) -> Result<Vec<SqlValue>>` and
/// `last_id(&query_result) -> Option<i64>` functions. The three backends differ only there.
macro_rules! sqlx_backend {
    ($backend:ident, $tx:ident, $db:ty, $dialect:expr, $bind:path, $decode:path, $last_id:path) => {
        /// A pool of connections of this backend.
        pub struct $backend {
            pub(crate) pool: sqlx::Pool<$db>,
        }

        /// An open transaction of this backend.
        pub struct $tx {
            tx: sqlx::Transaction<'static, $db>,
        }

        impl $crate::store::backend::Backend for $backend {
            fn dialect(&self) -> $crate::store::dialect::Dialect {
                $dialect
            }

            fn fetch<'a>(
                &'a self,
                sql: &'a str,
                binds: &'a [$crate::store::backend::SqlValue],
                wires: &'a [$crate::store::dialect::Wire],
            ) -> $crate::store::backend::DbFuture<'a, Vec<Vec<$crate::store::backend::SqlValue>>>
            {
                Box::pin(async move {
                    let rows = if $crate::store::backend::unprepared(binds, wires, $dialect) {
                        sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                            .fetch_all(&self.pool)
                            .await?
                    } else {
                        let query = $bind(sqlx::query(sqlx::AssertSqlSafe(sql)), binds);
                        query.fetch_all(&self.pool).await?
                    };
                    rows.iter().map(|row| $decode(row, wires)).collect()
                })
            }

            fn stream<'a>(
                &'a self,
                sql: &'a str,
                binds: &'a [$crate::store::backend::SqlValue],
                wires: &'a [$crate::store::dialect::Wire],
            ) -> futures_util::stream::BoxStream<
                'a,
                Result<Vec<$crate::store::backend::SqlValue>, sqlx::Error>,
            > {
                use futures_util::StreamExt;
                let rows = if $crate::store::backend::unprepared(binds, wires, $dialect) {
                    sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).fetch(&self.pool)
                } else {
                    $bind(sqlx::query(sqlx::AssertSqlSafe(sql)), binds).fetch(&self.pool)
                };
                rows.map(move |row| row.and_then(|row| $decode(&row, wires)))
                    .boxed()
            }

            fn fetch_named<'a>(
                &'a self,
                sql: &'a str,
            ) -> $crate::store::backend::DbFuture<'a, Vec<$crate::store::backend::NamedRow>> {
                Box::pin(async move {
                    use sqlx::{Column, Row, ValueRef};
                    let rows = sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                        .fetch_all(&self.pool)
                        .await?;
                    Ok(rows
                        .iter()
                        .map(|row| {
                            row.columns()
                                .iter()
                                .enumerate()
                                .map(|(i, column)| {
                                    let value = match row.try_get_raw(i) {
                                        Ok(raw) if !raw.is_null() => {
                                            row.try_get_unchecked::<String, _>(i).ok()
                                        }
                                        _ => None,
                                    };
                                    (column.name().to_string(), value)
                                })
                                .collect()
                        })
                        .collect())
                })
            }

            fn execute<'a>(
                &'a self,
                sql: &'a str,
                binds: &'a [$crate::store::backend::SqlValue],
            ) -> $crate::store::backend::DbFuture<'a, $crate::store::backend::Exec> {
                Box::pin(async move {
                    let query = $bind(sqlx::query(sqlx::AssertSqlSafe(sql)), binds);
                    let done = query.execute(&self.pool).await?;
                    Ok($crate::store::backend::Exec {
                        rows_affected: done.rows_affected(),
                        last_insert_id: $last_id(&done),
                    })
                })
            }

            fn begin(
                &self,
            ) -> $crate::store::backend::DbFuture<'_, Box<dyn $crate::store::backend::BackendTx>>
            {
                Box::pin(async move {
                    let tx = self.pool.begin().await?;
                    Ok(Box::new($tx { tx }) as Box<dyn $crate::store::backend::BackendTx>)
                })
            }

            fn begin_with(
                &self,
                statement: &'static str,
            ) -> $crate::store::backend::DbFuture<'_, Box<dyn $crate::store::backend::BackendTx>>
            {
                Box::pin(async move {
                    let tx = self.pool.begin_with(sqlx::AssertSqlSafe(statement)).await?;
                    Ok(Box::new($tx { tx }) as Box<dyn $crate::store::backend::BackendTx>)
                })
            }

            fn close(&self) -> futures_util::future::BoxFuture<'_, ()> {
                Box::pin(self.pool.close())
            }
        }

        impl $crate::store::backend::BackendTx for $tx {
            fn fetch<'a>(
                &'a mut self,
                sql: &'a str,
                binds: &'a [$crate::store::backend::SqlValue],
                wires: &'a [$crate::store::dialect::Wire],
            ) -> $crate::store::backend::DbFuture<'a, Vec<Vec<$crate::store::backend::SqlValue>>>
            {
                Box::pin(async move {
                    let query = $bind(sqlx::query(sqlx::AssertSqlSafe(sql)), binds);
                    let rows = query.fetch_all(&mut *self.tx).await?;
                    rows.iter().map(|row| $decode(row, wires)).collect()
                })
            }

            fn execute<'a>(
                &'a mut self,
                sql: &'a str,
                binds: &'a [$crate::store::backend::SqlValue],
            ) -> $crate::store::backend::DbFuture<'a, $crate::store::backend::Exec> {
                Box::pin(async move {
                    let query = $bind(sqlx::query(sqlx::AssertSqlSafe(sql)), binds);
                    let done = query.execute(&mut *self.tx).await?;
                    Ok($crate::store::backend::Exec {
                        rows_affected: done.rows_affected(),
                        last_insert_id: $last_id(&done),
                    })
                })
            }

            fn execute_owned<'a>(
                &'a mut self,
                sql: &'a str,
                binds: Vec<$crate::store::backend::SqlValue>,
            ) -> $crate::store::backend::DbFuture<'a, $crate::store::backend::Exec> {
                Box::pin(async move {
                    // Text and bytes are moved into the query (every backend's `bind` binds
                    // them as `String` and `Vec<u8>`); the rest as `bind` binds them.
                    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
                    for value in binds {
                        query = match value {
                            $crate::store::backend::SqlValue::Text(s) => query.bind(s),
                            $crate::store::backend::SqlValue::Bytes(b) => query.bind(b),
                            other => $bind(query, std::slice::from_ref(&other)),
                        };
                    }
                    let done = query.execute(&mut *self.tx).await?;
                    Ok($crate::store::backend::Exec {
                        rows_affected: done.rows_affected(),
                        last_insert_id: $last_id(&done),
                    })
                })
            }

            fn commit(self: Box<Self>) -> $crate::store::backend::DbFuture<'static, ()> {
                Box::pin(async move { self.tx.commit().await })
            }
        }
    };
}

pub(crate) use sqlx_backend;
