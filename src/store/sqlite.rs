//! The SQLite backend. SQLite is dynamically typed, so results are read by their storage
//! class and coerced to the wire shape asked for; dates are written as TEXT in the form
//! Python Timber's SQLAlchemy writes (`2025-01-01 00:00:00.000000`), booleans as 0/1.

use std::path::PathBuf;
use std::str::FromStr;

use sqlx::sqlite::{Sqlite, SqliteRow};
use sqlx::sqlite::{SqliteArguments, SqliteConnectOptions, SqlitePoolOptions, SqliteQueryResult};
use sqlx::{Row, TypeInfo, ValueRef};

use super::backend::{SQLITE_DATETIME, SqlValue, sqlx_backend};
use super::connect::StoreConfig;
use super::convert::coerce;
use super::dialect::{Dialect, Wire};

sqlx_backend!(
    SqliteBackend,
    SqliteTx,
    Sqlite,
    Dialect::Sqlite,
    bind,
    decode,
    last_id
);

/// `PRAGMA cache_size` per connection: negative is KiB (16 MiB).
pub(super) const SESSION_CACHE_KIB: i64 = -16_384;

/// Rows sqlx may step ahead of the reader (see `connect`).
const ROW_BUFFER: usize = 4096;

type Query<'q> = sqlx::query::Query<'q, Sqlite, SqliteArguments>;

pub(crate) async fn connect(
    config: &StoreConfig,
    read_only: bool,
    max: u32,
) -> Result<SqliteBackend, sqlx::Error> {
    let mut options = SqliteConnectOptions::from_str(config.url.expose())?
        .create_if_missing(config.create_if_missing)
        .busy_timeout(config.busy_timeout);
    if let Some(pages) = config.max_page_count {
        options = options.pragma("max_page_count", pages.to_string());
    }
    if read_only {
        options = options.pragma("query_only", "ON");
    }
    // A session setting only (nothing the file keeps; the journal mode is the user's): a
    // 16 MiB page cache per connection instead of SQLite's 2 MiB. A rotation batch reads
    // rows and writes them back; with the default cache the second touch read the pages
    // again (issue 17). Not a memory map: mapped pages count as the process's memory, and a
    // scan of a large file would grow it with the file.
    options = options.pragma("cache_size", SESSION_CACHE_KIB.to_string());
    // An in-memory database exists once per connection: keep exactly one.
    let max = if config.url.expose().contains(":memory:") {
        1
    } else {
        max
    };
    // sqlx steps rows on a worker thread and hands them over a bounded channel (50 rows by
    // default): each time it fills, the two threads wake each other. Scans of a million
    // rows (census, audit verify) read pages of thousands, so the channel takes a page.
    options = options.row_buffer_size(ROW_BUFFER);
    let pool = SqlitePoolOptions::new()
        .max_connections(max)
        .acquire_timeout(config.acquire_timeout)
        .connect_with(options)
        .await?;
    Ok(SqliteBackend { pool })
}

/// The file a `sqlite://` URL names, or `None` for an in-memory database.
pub(crate) fn file_path(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite:")?;
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let path = rest.split('?').next().unwrap_or(rest);
    if path.is_empty() || path.contains(":memory:") {
        return None;
    }
    Some(PathBuf::from(path))
}

fn bind<'q>(mut query: Query<'q>, binds: &[SqlValue]) -> Query<'q> {
    for value in binds {
        query = match value {
            SqlValue::Null(_) => query.bind(None::<String>),
            SqlValue::Bool(b) => query.bind(*b as i64),
            SqlValue::Int(i) => query.bind(*i),
            SqlValue::Float(f) => query.bind(*f),
            SqlValue::Text(s) => query.bind(s.clone()),
            SqlValue::Date(d) => query.bind(d.format("%Y-%m-%d").to_string()),
            SqlValue::DateTime(t) => query.bind(t.format(SQLITE_DATETIME).to_string()),
            SqlValue::Bytes(b) => query.bind(b.clone()),
            // Arrays are bound on PostgreSQL only; here they would be their JSON text.
            array @ (SqlValue::IntArray(_) | SqlValue::TextArray(_)) => {
                query.bind(array.clone().into_text())
            }
        };
    }
    query
}

fn decode(row: &SqliteRow, wires: &[Wire]) -> Result<Vec<SqlValue>, sqlx::Error> {
    let mut out = Vec::with_capacity(wires.len());
    for (index, wire) in wires.iter().enumerate() {
        let raw = row.try_get_raw(index)?;
        // The storage class is borrowed, not copied into a `String` for every cell.
        let info = raw.type_info();
        let value = if raw.is_null() {
            SqlValue::Null(*wire)
        } else {
            match info.name() {
                "INTEGER" | "BOOLEAN" => SqlValue::Int(row.try_get_unchecked::<i64, _>(index)?),
                "REAL" => SqlValue::Float(row.try_get_unchecked::<f64, _>(index)?),
                "BLOB" => SqlValue::Bytes(row.try_get_unchecked::<Vec<u8>, _>(index)?),
                // SQLite stores TEXT without checking its encoding: invalid UTF-8 arrives
                // as bytes, and `coerce` leaves it to the reader to say the cell is not text
                // rather than failing the whole page.
                _ => match String::from_utf8(row.try_get_unchecked::<Vec<u8>, _>(index)?) {
                    Ok(text) => SqlValue::Text(text),
                    Err(not_text) => SqlValue::Bytes(not_text.into_bytes()),
                },
            }
        };
        out.push(coerce(value, *wire, index)?);
    }
    Ok(out)
}

fn last_id(done: &SqliteQueryResult) -> Option<i64> {
    Some(done.last_insert_rowid())
}

#[cfg(test)]
mod tests {
    use super::file_path;

    #[test]
    fn file_paths_from_urls() {
        assert_eq!(
            file_path("sqlite://app.db").unwrap().to_str(),
            Some("app.db")
        );
        assert_eq!(
            file_path("sqlite:///tmp/x.db?mode=rwc").unwrap().to_str(),
            Some("/tmp/x.db")
        );
        assert_eq!(file_path("sqlite::memory:"), None);
    }
}
