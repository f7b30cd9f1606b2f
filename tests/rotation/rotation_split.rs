//! A batch big enough to be decided on several threads (issue #9) rotates exactly like one
//! decided on one: failures at the start, middle and end of the batch are each recorded once
//! with their row and column and left untouched, current rows are skipped, and every other
//! value ends up under the new key with its plaintext.

use crate::rotation_support;
use crate::store_support;

use std::collections::HashMap;

use crate::rotation_only::*;
use rotation_support::*;
use sqlx::{Connection, SqliteConnection};
use store_support::Kind;
use timber::crypto::{KeyChoice, KeyRing};
use timber::value::Value;

const ROWS: i64 = 1000;

async fn raw(conn: &mut SqliteConnection, id: i64, column: &str) -> Option<String> {
    let sql = format!("SELECT \"{column}\" FROM secrets WHERE id = ?");
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_one(conn)
        .await
        .unwrap()
}

async fn set(conn: &mut SqliteConnection, id: i64, column: &str, value: &str) {
    let sql = format!("UPDATE secrets SET \"{column}\" = ? WHERE id = ?");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(value)
        .bind(id)
        .execute(conn)
        .await
        .unwrap();
}

fn text_token(ring: &KeyRing, column: &str, text: String) -> String {
    let column = model().column(column).unwrap().clone();
    ring.encrypt_value(&Value::Text(text), &column, KeyChoice::Primary)
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_batch_on_several_threads_rotates_and_fails_exactly() {
    let db = new_db(Kind::Sqlite).await.expect("sqlite");
    let store = db.store().await;
    // Every tenth row already under the new key: skipped wherever it falls.
    seed(&store, ROWS, 10).await;
    let mut conn = SqliteConnection::connect(&db.url).await.unwrap();
    let stranger = KeyRing::builder()
        .primary(STRANGER_KEY, "test")
        .unwrap()
        .build()
        .unwrap();
    // Failures in the first, middle and last part of the one batch.
    let broken = [
        (3, "email", text_token(&stranger, "email", "a@b.c".into())),
        (499, "notes", "gAAAAAnot-a-token".to_string()),
        (991, "email", text_token(&stranger, "email", "d@e.f".into())),
    ];
    for (id, column, value) in &broken {
        set(&mut conn, *id, column, value).await;
    }

    let dir = env_dir(&db.url);
    let out = timber(
        dir.path(),
        &[
            "rotate", "--model", "Secret", "--batch", "1000", "--format", "json",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "values left: {}", stderr(&out));
    let done = json_lines(&out).pop().unwrap();
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["rows_failed"], 3, "{done}");
    assert_eq!(done["rows_skipped"], 100, "{done}");
    assert_eq!(done["rows_done"], 897, "{done}");
    let failures = store
        .rotation_failures(done["job"].as_i64().unwrap(), 10)
        .await
        .unwrap();
    let mut got: Vec<(String, String, String)> = failures
        .into_iter()
        .map(|f| (f.record_id, f.column_name, f.reason))
        .collect();
    got.sort();
    assert_eq!(
        got,
        vec![
            ("3".into(), "email".into(), "unknown_key".into()),
            ("499".into(), "notes".into(), "not_a_token".into()),
            ("991".into(), "email".into(), "unknown_key".into()),
        ],
        "each failure recorded once"
    );
    for (id, column, value) in &broken {
        assert_eq!(
            raw(&mut conn, *id, column).await.as_deref(),
            Some(value.as_str()),
            "row {id} {column} untouched"
        );
    }

    // Put the three values right (under the new key): then every value of every row must
    // read with the new key alone and hold its original plaintext.
    let new = ring_new_only();
    for (id, column, _) in &broken {
        let text = match *column {
            "email" => format!("Person.{id}@Example.com"),
            _ => format!("note {id}: ünïcode \"quoted\"\nline two"),
        };
        set(&mut conn, *id, column, &text_token(&new, column, text)).await;
    }
    assert_all_under_new_key(&store, ROWS, &HashMap::new()).await;
    conn.close().await.unwrap();
    store.close().await;
}
