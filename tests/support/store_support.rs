//! Test databases: a SQLite file in a temp dir, a fresh PostgreSQL
//! schema, a fresh MariaDB/MySQL database, each with a unique name so parallel tests and
//! reruns never collide. PostgreSQL and MySQL come from TIMBER_TEST_POSTGRES_URL and
//! TIMBER_TEST_MYSQL_URL; when one is unset the test says SKIP on stderr and returns.

use rand::RngCore;
use sqlx::Connection;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(
    dead_code,
    reason = "each test binary builds only the backends its tests run on; `TestDb::new` handles all three"
)]
pub enum Kind {
    Sqlite,
    Postgres,
    Mysql,
}

/// One test database; call `drop_all` at the end.
pub struct TestDb {
    pub kind: Kind,
    pub url: String,
    /// Name of the PG schema or MySQL database (empty for SQLite).
    pub name: String,
    admin_url: String,
    _dir: Option<tempfile::TempDir>,
}

pub fn unique_name() -> String {
    let mut bytes = [0u8; 6];
    rand::rng().fill_bytes(&mut bytes);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("timber_t_{hex}")
}

/// Runs statements on a test database.
pub async fn exec(kind: Kind, url: &str, sql: String) {
    let run = sqlx::raw_sql(sqlx::AssertSqlSafe(sql.clone()));
    let done = match kind {
        Kind::Postgres => {
            let mut conn = sqlx::PgConnection::connect(url)
                .await
                .expect("connect to PostgreSQL");
            run.execute(&mut conn).await.map(|_| ())
        }
        Kind::Mysql => {
            let mut conn = sqlx::MySqlConnection::connect(url)
                .await
                .expect("connect to MySQL");
            run.execute(&mut conn).await.map(|_| ())
        }
        Kind::Sqlite => {
            let mut conn = sqlx::SqliteConnection::connect(url)
                .await
                .expect("connect to SQLite");
            run.execute(&mut conn).await.map(|_| ())
        }
    };
    done.unwrap_or_else(|e| panic!("{sql}: {e}"));
}

impl TestDb {
    /// A new database of this kind, or `None` (after printing SKIP) when not configured.
    pub async fn new(kind: Kind) -> Option<TestDb> {
        let var = match kind {
            Kind::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}", dir.path().join("test.db").display());
                let (name, admin_url) = (String::new(), String::new());
                return Some(TestDb {
                    kind,
                    url,
                    name,
                    admin_url,
                    _dir: Some(dir),
                });
            }
            Kind::Postgres => "TIMBER_TEST_POSTGRES_URL",
            Kind::Mysql => "TIMBER_TEST_MYSQL_URL",
        };
        let Ok(admin_url) = std::env::var(var) else {
            eprintln!("SKIP: {var} not set; {kind:?} test not run");
            return None;
        };
        let name = unique_name();
        let url = if kind == Kind::Postgres {
            exec(kind, &admin_url, format!("CREATE SCHEMA {name}")).await;
            let sep = if admin_url.contains('?') { '&' } else { '?' };
            format!("{admin_url}{sep}options=-c%20search_path%3D{name}")
        } else {
            exec(kind, &admin_url, format!("CREATE DATABASE {name}")).await;
            // Same server and credentials, the new database instead of the given one.
            let (base, query) = match admin_url.split_once('?') {
                Some((b, q)) => (b.to_string(), format!("?{q}")),
                None => (admin_url.clone(), String::new()),
            };
            let authority = base.find("://").map(|i| i + 3).unwrap_or(0);
            let base = match base[authority..].find('/') {
                Some(slash) => base[..authority + slash].to_string(),
                None => base,
            };
            format!("{base}/{name}{query}")
        };
        Some(TestDb {
            kind,
            url,
            name,
            admin_url,
            _dir: None,
        })
    }

    /// Removes the schema / database (the SQLite temp dir goes with `self`).
    pub async fn drop_all(self) {
        match self.kind {
            Kind::Sqlite => {}
            Kind::Postgres => {
                exec(
                    self.kind,
                    &self.admin_url,
                    format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name),
                )
                .await
            }
            Kind::Mysql => {
                exec(
                    self.kind,
                    &self.admin_url,
                    format!("DROP DATABASE IF EXISTS {}", self.name),
                )
                .await
            }
        }
    }
}
