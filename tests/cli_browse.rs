//! `timber browse` and `timber init`, the real binary, on a copy of the database written by
//! Python Timber (tests/fixtures/python-timber): every expected plaintext comes back, in
//! every output format; the same Python-written tokens copied into PostgreSQL and MariaDB
//! read back the same; and bad setups give one clear line and exit code 2.

mod store_support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value as Json;
use sqlx::Connection;
use store_support::{Kind, TestDb};

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/python-timber");

/// A temp dir holding a copy of the fixture database, its models and its keys as `.env`.
fn fixture_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::copy(Path::new(FIXTURE).join("app.db"), dir.path().join("app.db")).unwrap();
    std::fs::copy(
        Path::new(FIXTURE).join("fixture.env"),
        dir.path().join(".env"),
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("models")).unwrap();
    std::fs::copy(
        Path::new(FIXTURE).join("models/app.yaml"),
        dir.path().join("models/app.yaml"),
    )
    .unwrap();
    // Browse is masked per role; these tests read every value, so their role may reveal
    // everything and each browse passes `--reveal` (see `timber`).
    std::fs::write(
        dir.path().join("policy.yaml"),
        "default_role: reader\nroles:\n  reader: { default: reveal }\n",
    )
    .unwrap();
    let mut env = std::fs::read_to_string(dir.path().join(".env")).unwrap();
    env.push_str("\nTIMBER_POLICY=policy.yaml\n");
    std::fs::write(dir.path().join(".env"), env).unwrap();
    dir
}

/// Runs the binary in `dir` with a clean environment (only `.env` and `extra` configure it).
fn timber(dir: &Path, args: &[&str], extra: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_timber"));
    cmd.current_dir(dir).env_clear().args(args);
    if args.first() == Some(&"browse") {
        cmd.arg("--reveal");
    }
    if let Ok(path) = std::env::var("PATH") {
        cmd.env("PATH", path);
    }
    for (k, v) in extra {
        cmd.env(k, v);
    }
    cmd.output().expect("run timber")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The user_id of record `id` in a JSON-lines browse output.
fn user_id_of(out: &Output, id: &str) -> String {
    stdout(out)
        .lines()
        .map(|l| serde_json::from_str::<Json>(l).unwrap())
        .find(|r| r["id"] == id)
        .map(|r| r["user_id"].as_str().unwrap().to_string())
        .unwrap()
}

fn expected() -> Json {
    let text = std::fs::read_to_string(Path::new(FIXTURE).join("expected.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Browses a model as JSON lines and checks every expected field of every record.
fn assert_browse_matches(dir: &Path, model: &str, table: &str, extra: &[(&str, &str)]) {
    let out = timber(
        dir,
        &["browse", model, "--format", "json", "--limit", "1000"],
        extra,
    );
    assert!(
        out.status.success(),
        "browse {model} failed: {}",
        stderr(&out)
    );
    let expected = expected();
    let expected = expected[table].as_object().unwrap();
    let rows: Vec<Json> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), expected.len(), "{model}: every record once");
    let mut checked = 0;
    for row in &rows {
        let id = row["id"].as_str().unwrap();
        let fields = expected[id]
            .as_object()
            .unwrap_or_else(|| panic!("unexpected id {id}"));
        for (field, want) in fields {
            assert_eq!(&row[field], want, "{table}.{field} of {id}");
            checked += 1;
        }
    }
    assert!(checked >= expected.len() * 3);
}

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
        let key = store_support::ENCRYPTION_KEY;
        let corrupted = fernet::Fernet::new(key).unwrap().encrypt(&[0xff, 0xfe, 0x00]);
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

/// One clear line on stderr, exit code 2, no panic.
fn assert_clear_failure(out: &Output, needle: &str) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(2), "exit code; stderr: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert!(err.contains(needle), "expected `{needle}` in: {err}");
    assert!(!err.contains("panicked"));
    assert!(stdout(out).is_empty());
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
        "cannot connect to postgres://postgres:***@127.0.0.1:1/test",
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
    let wrong = mysql.replacen("://root@", "://root:wrong-password@", 1);
    let denied = timber(
        dir.path(),
        &["browse", "UserProfile"],
        &[("DATABASE_URL", &wrong)],
    );
    assert_clear_failure(&denied, "Access denied");
    assert!(!stderr(&denied).contains("wrong-password"));
}

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
        for row in rows {
            let values: Vec<Option<String>> = (0..columns.len())
                .map(|i| sqlx::Row::get(&row, i))
                .collect();
            insert_text_row(db, table, columns, values).await;
        }
    }
}

async fn insert_text_row(db: &TestDb, table: &str, columns: &[&str], values: Vec<Option<String>>) {
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
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for v in values {
                q = q.bind(v);
            }
            q.execute(&mut conn).await.unwrap();
        }
        Kind::Mysql => {
            let marks = vec!["?"; columns.len()].join(", ");
            let sql = format!(
                "INSERT INTO {table} ({}) VALUES ({marks})",
                columns.join(", ")
            );
            let mut conn = sqlx::MySqlConnection::connect(&db.url).await.unwrap();
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for v in values {
                q = q.bind(v);
            }
            q.execute(&mut conn).await.unwrap();
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
