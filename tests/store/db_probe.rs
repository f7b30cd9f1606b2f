//! What the store tests read past the store: the planner statistics a row estimate reads,
//! and the text a column holds as plain SQL sees it. Only the store tests need these, so
//! they live here rather than in the shared `store_support`.

use sqlx::Connection;

use crate::store_support::{Kind, TestDb, exec};

impl TestDb {
    /// Refreshes the planner statistics of `table` (what the row estimate reads).
    pub async fn analyze(&self, table: &str) {
        match self.kind {
            Kind::Sqlite => {}
            Kind::Postgres => exec(self.kind, &self.url, format!("ANALYZE {table}")).await,
            Kind::Mysql => exec(self.kind, &self.url, format!("ANALYZE TABLE {table}")).await,
        }
    }

    /// Every stored value of `table.column` as text, read with plain SQL through sqlx (not
    /// through the store), so a test sees exactly what the database holds.
    pub async fn stored_texts(&self, table: &str, column: &str) -> Vec<Option<String>> {
        let sql = match self.kind {
            Kind::Sqlite => format!("SELECT CAST({column} AS TEXT) FROM {table}"),
            Kind::Postgres => format!("SELECT {column}::text FROM {table}"),
            Kind::Mysql => format!("SELECT CAST({column} AS CHAR) FROM {table}"),
        };
        match self.kind {
            Kind::Sqlite => {
                let mut conn = sqlx::SqliteConnection::connect(&self.url)
                    .await
                    .expect("connect");
                sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                    .fetch_all(&mut conn)
                    .await
                    .expect("select")
            }
            Kind::Postgres => {
                let mut conn = sqlx::PgConnection::connect(&self.url)
                    .await
                    .expect("connect");
                sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                    .fetch_all(&mut conn)
                    .await
                    .expect("select")
            }
            Kind::Mysql => {
                let mut conn = sqlx::MySqlConnection::connect(&self.url)
                    .await
                    .expect("connect");
                sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                    .fetch_all(&mut conn)
                    .await
                    .expect("select")
            }
        }
    }
}
