//! A namespace on a database server for a self-contained data set (`timber demo
//! --database-url`): a PostgreSQL schema or a MySQL/MariaDB database, its tables, and the
//! URL that opens a connection inside it (PostgreSQL `search_path`, the MySQL database in the
//! URL's path). SQLite has no namespaces: a file is one.

use super::Store;
use super::backend::SqlValue;
use super::connect::StoreConfig;
use super::dialect::Dialect;
use super::error::StoreError;

/// Whether `name` may name a namespace: a lower-case SQL identifier (letters, digits, `_`,
/// not starting with a digit), at most 63 bytes (PostgreSQL's limit; MySQL's is 64).
pub fn valid_namespace(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && name.len() <= 63
}

impl Store {
    /// The tables in namespace `name` (a PostgreSQL schema, a MySQL database), sorted;
    /// empty when it has none or does not exist.
    pub async fn namespace_tables(&self, name: &str) -> Result<Vec<String>, StoreError> {
        let sql = match self.dialect() {
            Dialect::Sqlite => return Ok(Vec::new()),
            Dialect::Postgres => {
                "SELECT table_name::text FROM information_schema.tables \
                 WHERE table_schema = $1 ORDER BY table_name"
            }
            Dialect::Mysql => {
                "SELECT table_name FROM information_schema.tables \
                 WHERE table_schema = ? ORDER BY table_name"
            }
        };
        let rows = self
            .backend
            .fetch(
                sql,
                &[SqlValue::Text(name.into())],
                &[super::dialect::Wire::Text],
            )
            .await
            .map_err(|e| StoreError::query("list tables", name, e))?;
        Ok(rows
            .into_iter()
            .filter_map(|r| r.into_iter().next()?.into_text())
            .collect())
    }

    /// Creates namespace `name` unless it exists (`CREATE SCHEMA` / `CREATE DATABASE`, with
    /// MySQL's binary utf8mb4 collation, as `timber init` declares tables).
    pub async fn create_namespace(&self, name: &str) -> Result<(), StoreError> {
        let q = self.quote(name);
        let sql = match self.dialect() {
            Dialect::Sqlite => return Ok(()),
            Dialect::Postgres => format!("CREATE SCHEMA IF NOT EXISTS {q}"),
            Dialect::Mysql => format!(
                "CREATE DATABASE IF NOT EXISTS {q} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
            ),
        };
        self.backend
            .execute(&sql, &[])
            .await
            .map_err(|e| StoreError::query("create", name, e))?;
        Ok(())
    }

    /// Drops each of `tables` that exists in the connection's own namespace.
    pub async fn drop_tables(&self, tables: &[String]) -> Result<(), StoreError> {
        for table in tables {
            let sql = format!("DROP TABLE IF EXISTS {}", self.quote(table));
            self.backend
                .execute(&sql, &[])
                .await
                .map_err(|e| StoreError::query("drop", table, e))?;
        }
        Ok(())
    }
}

impl StoreConfig {
    /// This configuration opened inside namespace `name` on the same server, with the same
    /// credentials and TLS: PostgreSQL gets `options=-c search_path=name`, MySQL `name` as
    /// the URL's database. `None` for SQLite.
    pub fn in_namespace(&self, name: &str) -> Option<StoreConfig> {
        let rewrite = |url: &str| match self.dialect {
            Dialect::Sqlite => None,
            Dialect::Postgres => {
                let sep = if url.contains('?') { '&' } else { '?' };
                Some(format!("{url}{sep}options=-c%20search_path%3D{name}"))
            }
            Dialect::Mysql => {
                let (base, query) = match url.split_once('?') {
                    Some((b, q)) => (b, format!("?{q}")),
                    None => (url, String::new()),
                };
                let authority = base.find("://").map_or(0, |i| i + 3);
                let server = match base[authority..].find('/') {
                    Some(slash) => &base[..authority + slash],
                    None => base,
                };
                Some(format!("{server}/{name}{query}"))
            }
        };
        let mut config = self.clone();
        config.url = crate::config::DatabaseUrl::new(rewrite(self.url.expose())?);
        config.given_url = crate::config::DatabaseUrl::new(rewrite(self.given_url.expose())?);
        Some(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespace_urls_keep_the_server_credentials_and_query() {
        let pg = StoreConfig::from_url("postgres://u:p@h:5432/app?sslmode=verify-full").unwrap();
        assert_eq!(
            pg.in_namespace("timber_demo").unwrap().url.expose(),
            "postgres://u:p@h:5432/app?sslmode=verify-full&options=-c%20search_path%3Dtimber_demo"
        );
        let my = StoreConfig::from_url("mariadb://u:p@h:3306/app?ssl-mode=REQUIRED").unwrap();
        let inside = my.in_namespace("demo_1").unwrap();
        assert_eq!(
            inside.url.expose(),
            "mysql://u:p@h:3306/demo_1?ssl-mode=REQUIRED"
        );
        assert_eq!(
            inside.given_url.expose(),
            "mariadb://u:p@h:3306/demo_1?ssl-mode=REQUIRED"
        );
        let bare = StoreConfig::from_url("mysql://u@h").unwrap();
        assert_eq!(
            bare.in_namespace("d").unwrap().url.expose(),
            "mysql://u@h/d"
        );
        assert!(
            StoreConfig::from_url("sqlite://x.db")
                .unwrap()
                .in_namespace("d")
                .is_none()
        );
    }

    #[test]
    fn namespace_names_are_plain_identifiers() {
        for ok in ["timber_demo", "_x", "demo2"] {
            assert!(valid_namespace(ok), "{ok}");
        }
        for bad in ["", "2demo", "Demo", "a-b", "a;drop", "a b", &"x".repeat(64)] {
            assert!(!valid_namespace(bad), "{bad}");
        }
    }
}
