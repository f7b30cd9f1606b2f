//! `timber init` and `timber browse` against servers: the tables `init` creates on
//! PostgreSQL and MariaDB, filled with the tokens exactly as Python Timber wrote them, read
//! back to every expected value; `init` is idempotent and says what existed.

use crate::cli_browse_support;
use crate::store_support;

use std::path::PathBuf;

use sqlx::Connection;
use store_support::{Kind, TestDb};

use cli_browse_support::*;

/// Copies every row of the fixture's two tables, tokens exactly as Python wrote them, into
/// a server database whose tables `timber init` created.
async fn copy_fixture_into(db: &TestDb) {
    let source = format!("sqlite://{FIXTURE}/app.db?mode=ro");
    let mut from = sqlx::SqliteConnection::connect(&source).await.unwrap();
    let tables = [
        (
            "user_profiles",
            &[
                "id",
                "user_id",
                "email",
                "email_hash",
                "phone",
                "research_notes",
                "created_at",
                "updated_at",
            ][..],
        ),
        (
            "research_sessions",
            &[
                "id",
                "user_id",
                "ticker",
                "session_type",
                "analysis_data",
                "proprietary_signals",
                "ai_insights",
                "strategy_details",
                "created_at",
                "updated_at",
            ][..],
        ),
    ];
    for (table, columns) in tables {
        let select = format!("SELECT {} FROM {table}", columns.join(", "));
        let rows: Vec<sqlx::sqlite::SqliteRow> = sqlx::query(sqlx::AssertSqlSafe(select))
            .fetch_all(&mut from)
            .await
            .unwrap();
        let rows: Vec<Vec<Option<String>>> = rows
            .iter()
            .map(|row| (0..columns.len()).map(|i| sqlx::Row::get(row, i)).collect())
            .collect();
        insert_text_rows(db, table, columns, rows).await;
    }
}

/// Inserts rows of text values over one connection (timestamps and JSON cast on PostgreSQL,
/// converted by MySQL itself).
async fn insert_text_rows(
    db: &TestDb,
    table: &str,
    columns: &[&str],
    rows: Vec<Vec<Option<String>>>,
) {
    let cast = |c: &str| match c {
        "created_at" | "updated_at" => "::timestamp",
        "analysis_data" | "proprietary_signals" | "strategy_details" => "::json",
        _ => "",
    };
    match db.kind {
        Kind::Postgres => {
            let marks: Vec<String> = columns
                .iter()
                .enumerate()
                .map(|(i, c)| format!("${}{}", i + 1, cast(c)))
                .collect();
            let sql = format!(
                "INSERT INTO {table} ({}) VALUES ({})",
                columns.join(", "),
                marks.join(", ")
            );
            let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
            for values in rows {
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.clone()));
                for v in values {
                    q = q.bind(v);
                }
                q.execute(&mut conn).await.unwrap();
            }
        }
        Kind::Mysql => {
            let marks = vec!["?"; columns.len()].join(", ");
            let sql = format!(
                "INSERT INTO {table} ({}) VALUES ({marks})",
                columns.join(", ")
            );
            let mut conn = sqlx::MySqlConnection::connect(&db.url).await.unwrap();
            for values in rows {
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.clone()));
                for v in values {
                    q = q.bind(v);
                }
                q.execute(&mut conn).await.unwrap();
            }
        }
        Kind::Sqlite => unreachable!(),
    }
}

async fn python_data_reads_back_on(kind: Kind) {
    let Some(db) = TestDb::new(kind).await else {
        return;
    };
    let dir = fixture_dir();
    let env = [("DATABASE_URL", db.url.as_str())];
    let init = timber(dir.path(), &["init"], &env);
    assert!(init.status.success(), "init: {}", stderr(&init));
    assert!(
        stdout(&init).contains("created  table  user_profiles"),
        "{}",
        stdout(&init)
    );
    assert!(stdout(&init).contains("created  table  timber_audit_log"));
    let again = timber(dir.path(), &["init"], &env);
    assert!(
        !stdout(&again).contains("created"),
        "init is idempotent: {}",
        stdout(&again)
    );
    assert!(stdout(&again).contains("exists   table  research_sessions"));
    copy_fixture_into(&db).await;
    assert_browse_matches(dir.path(), "UserProfile", "user_profiles", &env);
    assert_browse_matches(dir.path(), "ResearchSession", "research_sessions", &env);
    db.drop_all().await;
}

#[tokio::test]
async fn python_data_reads_back_on_postgres() {
    python_data_reads_back_on(Kind::Postgres).await;
}

#[tokio::test]
async fn python_data_reads_back_on_mariadb() {
    python_data_reads_back_on(Kind::Mysql).await;
}

#[test]
fn init_creates_a_sqlite_database_and_says_what_existed() {
    let dir = fixture_dir();
    let env = [("DATABASE_URL", "sqlite://fresh.db")];
    let first = timber(dir.path(), &["init"], &env);
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(PathBuf::from(dir.path()).join("fresh.db").exists());
    assert!(
        stdout(&first).contains("created  index  ix_user_profiles_email_hash on user_profiles")
    );
    let on_fixture = timber(dir.path(), &["init"], &[]);
    let text = stdout(&on_fixture);
    assert!(text.contains("exists   table  user_profiles"), "{text}");
    assert!(text.contains("created  table  timber_keys"), "{text}");
}
