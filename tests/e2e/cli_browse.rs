//! `timber browse`, the real binary, on a copy of the database written by Python Timber
//! (tests/fixtures/python-timber): every expected plaintext comes back, in every output
//! format, pages and finds work, unreadable cells are classified, and bad setups give one
//! clear line and exit code 2.

use crate::cli_browse_support;

use serde_json::Value as Json;
use sqlx::Connection;

use cli_browse_support::*;

#[test]
fn browse_reads_every_value_python_timber_wrote() {
    let dir = fixture_dir();
    // `--reveal` writes to the audit log, whose tables `timber init` creates.
    assert!(timber(dir.path(), &["init"], &[]).status.success());
    assert_browse_matches(dir.path(), "UserProfile", "user_profiles", &[]);
    assert_browse_matches(dir.path(), "research_sessions", "research_sessions", &[]);
}

#[test]
fn browse_pages_finds_and_prints_csv_and_tables() {
    let dir = fixture_dir();
    // `--reveal` writes to the audit log, whose tables `timber init` creates.
    assert!(timber(dir.path(), &["init"], &[]).status.success());
    let first = timber(
        dir.path(),
        &["browse", "UserProfile", "--format", "json", "--limit", "5"],
        &[],
    );
    assert!(first.status.success(), "{}", stderr(&first));
    let ids: Vec<String> = stdout(&first)
        .lines()
        .map(|l| {
            serde_json::from_str::<Json>(l).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(ids.len(), 5);
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "primary-key order");
    assert!(
        stderr(&first).contains(&format!("--after {}", ids[4])),
        "{}",
        stderr(&first)
    );
    let next = timber(
        dir.path(),
        &[
            "browse",
            "UserProfile",
            "--format",
            "json",
            "--limit",
            "5",
            "--after",
            &ids[4],
        ],
        &[],
    );
    let next_first: Json = serde_json::from_str(stdout(&next).lines().next().unwrap()).unwrap();
    assert!(next_first["id"].as_str().unwrap() > ids[4].as_str());

    let found = timber(
        dir.path(),
        &[
            "browse",
            "UserProfile",
            "--format",
            "json",
            "--find",
            "user_id=user-3",
        ],
        &[],
    );
    let rows: Vec<Json> = stdout(&found)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        !rows.is_empty() && rows.iter().all(|r| r["user_id"] == "user-3"),
        "{}",
        stderr(&found)
    );

    let csv = timber(
        dir.path(),
        &["browse", "UserProfile", "--format", "csv", "--limit", "3"],
        &[],
    );
    let text = stdout(&csv);
    assert!(
        text.starts_with(
            "id,user_id,email,email_hash,phone,research_notes,created_at,updated_at\n"
        ),
        "{text}"
    );
    let expected = expected();
    for id in &ids[..3] {
        let row = &expected["user_profiles"][id.as_str()];
        let start = format!(
            "\n{id},{},{},",
            user_id_of(&first, id),
            row["email"].as_str().unwrap()
        );
        assert!(text.contains(&start), "{text} lacks {start}");
    }
    // A field with a newline is quoted (RFC 4180), so the row stays one CSV record.
    let multi = timber(
        dir.path(),
        &[
            "browse",
            "UserProfile",
            "--format",
            "csv",
            "--find",
            "user_id=user-2",
        ],
        &[],
    );
    assert!(
        stdout(&multi).contains(",\"line1\nline2\","),
        "{}",
        stdout(&multi)
    );
    assert!(!text.contains("gAAAAA"), "CSV shows plaintext, not tokens");

    let table = timber(
        dir.path(),
        &["browse", "ResearchSession", "--limit", "2"],
        &[],
    );
    let text = stdout(&table);
    assert_eq!(text.lines().count(), 3, "{text}");
    assert!(text.lines().next().unwrap().starts_with("id"));
    assert!(!text.contains("gAAAAA"));
}

#[test]
fn unreadable_cells_are_classified_without_failing_the_page() {
    let dir = fixture_dir();
    // `--reveal` writes to the audit log, whose tables `timber init` creates.
    assert!(timber(dir.path(), &["init"], &[]).status.success());
    let db = dir.path().join("app.db");
    let url = format!("sqlite://{}", db.display());
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
        let id = "c2ce6f44-7ed4-d57b-1e2f-eb89414c343c";
        // Plaintext, a token under a key we do not have, and a token under the right key
        // whose plaintext is not UTF-8 (so not a valid String).
        let foreign = fernet::Fernet::new(&fernet::Fernet::generate_key()).unwrap().encrypt(b"x");
        let key = fixture_key();
        let corrupted = fernet::Fernet::new(&key).unwrap().encrypt(&[0xff, 0xfe, 0x00]);
        sqlx::query("UPDATE user_profiles SET email = 'plain@example.com', research_notes = ?, phone = ? WHERE id = ?")
            .bind(foreign).bind(corrupted).bind(id).execute(&mut c).await.unwrap();
    });
    let out = timber(
        dir.path(),
        &[
            "browse",
            "UserProfile",
            "--format",
            "json",
            "--limit",
            "1000",
        ],
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let rows: Vec<Json> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 40);
    let row = rows
        .iter()
        .find(|r| r["id"] == "c2ce6f44-7ed4-d57b-1e2f-eb89414c343c")
        .unwrap();
    assert_eq!(row["email"], serde_json::json!({"error": "not_a_token"}));
    assert_eq!(
        row["research_notes"],
        serde_json::json!({"error": "unknown_key"})
    );
    assert_eq!(row["phone"], serde_json::json!({"error": "corrupted"}));
}

/// Someone with write access to the SQLite file stores bytes that are not UTF-8 in two
/// encrypted columns: once as TEXT (SQLite does not check the encoding) and once as a BLOB.
/// Each costs only its own cell: browse shows `not_text` there and reads everything else;
/// the census counts both as malformed; health names both records and scans on; rotation
/// records them as failures and leaves the bytes as they were.
#[test]
fn a_value_that_is_not_text_costs_only_its_cell() {
    let dir = fixture_dir();
    assert!(timber(dir.path(), &["init"], &[]).status.success());
    let url = format!("sqlite://{}", dir.path().join("app.db").display());
    let as_text = "c2ce6f44-7ed4-d57b-1e2f-eb89414c343c";
    let rt = tokio::runtime::Runtime::new().unwrap();
    let stored = |id: &str, column: &str| {
        let sql = format!(
            "SELECT typeof({column}) || ':' || hex({column}) FROM user_profiles WHERE id = ?"
        );
        rt.block_on(async {
            let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
            sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql))
                .bind(id)
                .fetch_one(&mut c)
                .await
                .unwrap()
        })
    };
    let as_blob: String = rt.block_on(async {
        let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
        sqlx::query("UPDATE user_profiles SET email = CAST(x'fffe41' AS TEXT) WHERE id = ?")
            .bind(as_text)
            .execute(&mut c)
            .await
            .unwrap();
        let other: String =
            sqlx::query_scalar("SELECT id FROM user_profiles WHERE id <> ? ORDER BY id LIMIT 1")
                .bind(as_text)
                .fetch_one(&mut c)
                .await
                .unwrap();
        sqlx::query("UPDATE user_profiles SET research_notes = x'fffe41' WHERE id = ?")
            .bind(&other)
            .execute(&mut c)
            .await
            .unwrap();
        other
    });
    let as_blob = as_blob.as_str();
    let before = (stored(as_text, "email"), stored(as_blob, "research_notes"));
    assert_eq!(
        before,
        ("text:FFFE41".to_string(), "blob:FFFE41".to_string())
    );

    let out = timber(
        dir.path(),
        &[
            "browse",
            "UserProfile",
            "--format",
            "json",
            "--limit",
            "1000",
        ],
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let rows: Vec<Json> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 40, "the rest of the table reads");
    let row = |id: &str| rows.iter().find(|r| r["id"] == id).unwrap().clone();
    let text_row = row(as_text);
    assert_eq!(text_row["email"], serde_json::json!({"error": "not_text"}));
    assert!(text_row["phone"].is_string(), "{text_row}");
    assert!(text_row["research_notes"].is_string(), "{text_row}");
    let blob_row = row(as_blob);
    assert_eq!(
        blob_row["research_notes"],
        serde_json::json!({"error": "not_text"})
    );
    assert!(
        blob_row["email"].as_str().unwrap().contains('@'),
        "{blob_row}"
    );

    let table = timber(
        dir.path(),
        &["browse", "UserProfile", "--find", &format!("id={as_text}")],
        &[],
    );
    assert!(table.status.success(), "{}", stderr(&table));
    assert!(stdout(&table).contains("<not_text>"), "{}", stdout(&table));

    let census = timber(dir.path(), &["census", "--format", "json"], &[]);
    assert!(census.status.success(), "{}", stderr(&census));
    let census: Json = serde_json::from_slice(&census.stdout).unwrap();
    let malformed = |column: &str| {
        census["columns"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["model"] == "UserProfile" && c["column"] == column)
            .map(|c| (c["rows"].clone(), c["malformed"].clone()))
            .unwrap()
    };
    assert_eq!(
        malformed("email"),
        (serde_json::json!(40), serde_json::json!(1))
    );
    assert_eq!(
        malformed("research_notes"),
        (serde_json::json!(40), serde_json::json!(1))
    );

    let health = timber(
        dir.path(),
        &["health", "--only", "data.undecryptable", "--format", "json"],
        &[],
    );
    assert_eq!(health.status.code(), Some(2), "{}", stderr(&health));
    let health: Json = serde_json::from_slice(&health.stdout).unwrap();
    let named = |column: &str| {
        health["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["evidence"]["column"] == column && c["evidence"]["kind"] == "malformed")
            .map(|c| c["evidence"]["record_ids"].clone())
            .unwrap_or_else(|| panic!("no malformed finding for {column}: {health}"))
    };
    assert_eq!(named("email"), serde_json::json!([as_text]));
    assert_eq!(named("research_notes"), serde_json::json!([as_blob]));
    // The scan went on past both records: every row of every model was read.
    let mut rows_per_model = std::collections::BTreeMap::new();
    for c in census["columns"].as_array().unwrap() {
        rows_per_model.insert(c["model"].to_string(), c["rows"].as_u64().unwrap());
    }
    let all_rows: u64 = rows_per_model.values().sum();
    let text = timber(dir.path(), &["health", "--only", "data.undecryptable"], &[]);
    assert!(
        stdout(&text)
            .lines()
            .next()
            .unwrap()
            .contains(&format!("{all_rows} rows read")),
        "{}",
        stdout(&text)
    );

    let rotate = timber(
        dir.path(),
        &["rotate", "--model", "UserProfile", "--format", "json"],
        &[],
    );
    let events = stdout(&rotate);
    let done: Json = serde_json::from_str(events.lines().last().unwrap_or("null")).unwrap();
    assert_eq!(done["status"], "completed", "{events}\n{}", stderr(&rotate));
    assert!(
        stderr(&rotate).contains(&format!("record {as_text} column email: not_text")),
        "{}",
        stderr(&rotate)
    );
    assert_eq!(
        (stored(as_text, "email"), stored(as_blob, "research_notes")),
        before,
        "rotation overwrote a value it could not read"
    );
}

#[test]
fn bad_setups_fail_with_one_clear_line() {
    let dir = fixture_dir();
    let unreachable = timber(
        dir.path(),
        &["browse", "UserProfile"],
        &[(
            "DATABASE_URL",
            "postgres://postgres:secret@127.0.0.1:1/test",
        )],
    );
    assert_clear_failure(
        &unreachable,
        "cannot connect to postgres://postgres:***@127.0.0.1:1/test: connection refused",
    );
    assert!(!stderr(&unreachable).contains("secret"));

    let no_file = timber(
        dir.path(),
        &["browse", "UserProfile"],
        &[("DATABASE_URL", "sqlite://nope.db")],
    );
    assert_clear_failure(&no_file, "no database file at nope.db");
    assert!(
        !dir.path().join("nope.db").exists(),
        "browse never creates a database"
    );

    std::fs::write(
        dir.path().join("models/extra.yaml"),
        "models:\n  - name: Ghost\n    table_name: ghosts\n    columns:\n      - {name: id, type: Integer, primary_key: true}\n",
    )
    .unwrap();
    // --limit 0 is refused, not answered with one row.
    let zero = timber(dir.path(), &["browse", "UserProfile", "--limit", "0"], &[]);
    assert_clear_failure(&zero, "--limit must be at least 1");

    let missing = timber(dir.path(), &["browse", "Ghost"], &[]);
    assert_clear_failure(&missing, "table `ghosts` for model Ghost does not exist");

    // The same table with a column the model declares but the table lacks.
    let yaml = std::fs::read_to_string(dir.path().join("models/app.yaml")).unwrap();
    let drifted = yaml.replacen(
        "      - name: created_at\n",
        "      - name: shoe_size\n        type: Integer\n      - name: created_at\n",
        1,
    );
    std::fs::create_dir(dir.path().join("drifted")).unwrap();
    std::fs::write(dir.path().join("drifted/app.yaml"), drifted).unwrap();
    let drift = timber(
        dir.path(),
        &["--models", "drifted", "browse", "UserProfile"],
        &[],
    );
    assert_clear_failure(
        &drift,
        "model UserProfile does not match table `user_profiles`: the table has no column shoe_size",
    );

    let unknown = timber(dir.path(), &["browse", "Nobody"], &[]);
    assert_clear_failure(&unknown, "no model named `Nobody`");

    let Ok(mysql) = std::env::var("TIMBER_TEST_MYSQL_URL") else {
        eprintln!("SKIP: TIMBER_TEST_MYSQL_URL not set; wrong-password case not run");
        return;
    };
    // mariadb:// is accepted (as mysql://) and shown as the operator wrote it.
    let wrong = mysql.replacen("mysql://root@", "mariadb://root:wrong-password@", 1);
    let denied = timber(
        dir.path(),
        &["browse", "UserProfile"],
        &[("DATABASE_URL", &wrong)],
    );
    assert_clear_failure(&denied, "cannot connect to mariadb://root:***@");
    assert!(stderr(&denied).contains("Access denied"));
    assert!(!stderr(&denied).contains("wrong-password"));
}
