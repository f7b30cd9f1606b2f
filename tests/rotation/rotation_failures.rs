//! Values rotation cannot handle: a token under a key nobody configured, text that claims to
//! be a token and is not, legacy plaintext. The job completes (exit 1: values were left),
//! each failure is recorded with its record id, column and reason, and those values are
//! byte for byte what they were. Plaintext is counted and left alone, and encrypted (with
//! its blind index filled) only with `--encrypt-plaintext`.

use crate::rotation_support;
use crate::store_support;

use crate::rotation_only::*;
use rotation_support::*;
use sqlx::{Connection, SqliteConnection};
use store_support::Kind;
use timber::crypto::blind_index::keyed;
use timber::crypto::{BlindIndexKey, Key, KeyChoice, KeyRing};
use timber::value::Value;

async fn raw(conn: &mut SqliteConnection, id: i64, column: &str) -> Option<String> {
    let sql = format!("SELECT \"{column}\" FROM secrets WHERE id = ?");
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_one(conn)
        .await
        .unwrap()
}

async fn set(conn: &mut SqliteConnection, id: i64, column: &str, value: Option<&str>) {
    let sql = format!("UPDATE secrets SET \"{column}\" = ? WHERE id = ?");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(value)
        .bind(id)
        .execute(conn)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undecryptable_values_are_recorded_and_left_untouched() {
    let db = new_db(Kind::Sqlite).await.expect("sqlite");
    let store = db.store().await;
    seed(&store, 120, 0).await;
    let mut conn = SqliteConnection::connect(&db.url).await.unwrap();
    // Row 5: a real token under a key no one configured. Row 6: not a token at all.
    let stranger = KeyRing::builder()
        .primary(STRANGER_KEY, "test")
        .unwrap()
        .build()
        .unwrap();
    let column = model().column("email").unwrap().clone();
    let foreign = stranger
        .encrypt_value(
            &Value::Text("x@example.com".into()),
            &column,
            KeyChoice::Primary,
        )
        .unwrap();
    set(&mut conn, 5, "email", Some(&foreign)).await;
    set(&mut conn, 6, "notes", Some("gAAAAAthis-is-no-token!")).await;
    // Rows 7 and 8: legacy plaintext (text and JSON); row 8's blind index missing.
    set(&mut conn, 7, "notes", Some("legacy plaintext note")).await;
    set(&mut conn, 8, "email", Some("Plain.Eight@Example.com")).await;
    set(&mut conn, 8, "email_bidx", None).await;
    set(&mut conn, 8, "profile", Some("{\"legacy\": true}")).await;
    let mut before = Vec::new();
    for (id, col) in [
        (5, "email"),
        (6, "notes"),
        (7, "notes"),
        (8, "email"),
        (8, "profile"),
    ] {
        before.push((id, col, raw(&mut conn, id, col).await));
    }

    let dir = env_dir(&db.url);
    let plan = timber(
        dir.path(),
        &[
            "rotate",
            "--model",
            "Secret",
            "--dry-run",
            "--format",
            "json",
        ],
    );
    assert!(plan.status.success(), "{}", stderr(&plan));
    let plan = json_lines(&plan).remove(0);
    let notes = &plan["columns"][1];
    assert_eq!(notes["plaintext"], 1, "plan counts plaintext: {plan}");
    assert_eq!(notes["failing"]["not_a_token"], 1);
    assert_eq!(plan["columns"][0]["failing"]["unknown_key"], 1);

    let out = timber(
        dir.path(),
        &["rotate", "--model", "Secret", "--format", "json"],
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "values left behind: exit 1; {}",
        stderr(&out)
    );
    let done = json_lines(&out).pop().unwrap();
    assert_eq!(done["status"], "completed");
    assert_eq!(done["rows_failed"], 2);
    assert_eq!(
        done["rows_done"], 118,
        "rows 7 and 8 still rotate their other values"
    );
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
            ("5".into(), "email".into(), "unknown_key".into()),
            ("6".into(), "notes".into(), "not_a_token".into()),
        ]
    );
    assert!(
        stderr(&out).contains("record 5 column email: unknown_key"),
        "{}",
        stderr(&out)
    );
    for (id, col, value) in &before {
        assert_eq!(
            &raw(&mut conn, *id, col).await,
            value,
            "row {id} {col} untouched"
        );
    }

    let out = timber(
        dir.path(),
        &[
            "rotate",
            "--model",
            "Secret",
            "--encrypt-plaintext",
            "--format",
            "json",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let ring = ring_new_only();
    let notes_col = model().column("notes").unwrap().clone();
    let profile_col = model().column("profile").unwrap().clone();
    let stored = raw(&mut conn, 7, "notes").await.unwrap();
    assert_eq!(
        ring.decrypt_value(&stored, &notes_col, None).unwrap().value,
        Value::Text("legacy plaintext note".into())
    );
    let stored = raw(&mut conn, 8, "profile").await.unwrap();
    assert!(
        stored.starts_with("\"gAAAAA"),
        "a JSON column holds the token as a JSON string"
    );
    assert_eq!(
        ring.decrypt_value(&stored, &profile_col, None)
            .unwrap()
            .value,
        Value::Json(serde_json::json!({"legacy": true}))
    );
    let master = Key::from_base64(MASTER_KEY).unwrap();
    let expected_hash = keyed(
        &BlindIndexKey::from_master(&master),
        "Plain.Eight@Example.com",
    );
    assert_eq!(
        raw(&mut conn, 8, "email_bidx").await,
        Some(expected_hash),
        "blind index filled"
    );
    assert_eq!(
        raw(&mut conn, 5, "email").await,
        before[0].2,
        "still untouched"
    );
    conn.close().await.unwrap();
    store.close().await;
}
