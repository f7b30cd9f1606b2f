//! The `timber` binary run as a user runs it, on a temp copy of the database Python Timber
//! wrote (tests/fixtures/python-timber), for the browse and init tests.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value as Json;

pub const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/python-timber");

/// The fixture's primary key, as its `.env` gives it.
pub fn fixture_key() -> String {
    let env = std::fs::read_to_string(Path::new(FIXTURE).join("fixture.env")).unwrap();
    env.lines()
        .find_map(|line| line.strip_prefix("ENCRYPTION_KEY="))
        .expect("ENCRYPTION_KEY in fixture.env")
        .trim()
        .to_string()
}

/// A temp dir holding a copy of the fixture database, its models and its keys as `.env`.
pub fn fixture_dir() -> tempfile::TempDir {
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
    // and export everything (each browse passes `--reveal`, see `timber`), create tables
    // (`timber init`) and rotate (a non-text value must survive a rotation).
    std::fs::write(
        dir.path().join("policy.yaml"),
        "default_role: reader\nroles:\n  reader: { default: reveal, actions: [reveal, export, init, rotate] }\n",
    )
    .unwrap();
    let mut env = std::fs::read_to_string(dir.path().join(".env")).unwrap();
    env.push_str("\nTIMBER_POLICY=policy.yaml\n");
    std::fs::write(dir.path().join(".env"), env).unwrap();
    dir
}

/// Runs the binary in `dir` with a clean environment (only `.env` and `extra` configure it).
pub fn timber(dir: &Path, args: &[&str], extra: &[(&str, &str)]) -> Output {
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

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The user_id of record `id` in a JSON-lines browse output.
pub fn user_id_of(out: &Output, id: &str) -> String {
    stdout(out)
        .lines()
        .map(|l| serde_json::from_str::<Json>(l).unwrap())
        .find(|r| r["id"] == id)
        .map(|r| r["user_id"].as_str().unwrap().to_string())
        .unwrap()
}

pub fn expected() -> Json {
    let text = std::fs::read_to_string(Path::new(FIXTURE).join("expected.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Browses a model as JSON lines and checks every expected field of every record.
pub fn assert_browse_matches(dir: &Path, model: &str, table: &str, extra: &[(&str, &str)]) {
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

/// One clear line on stderr, exit code 2, no panic.
pub fn assert_clear_failure(out: &Output, needle: &str) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(2), "exit code; stderr: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert!(err.contains(needle), "expected `{needle}` in: {err}");
    assert!(!err.contains("panicked"));
    assert!(stdout(out).is_empty());
}
