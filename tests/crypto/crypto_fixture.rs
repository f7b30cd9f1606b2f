//! Small helpers for the crypto tests: fixture paths, the fixture's env file, and whether
//! python3 with `cryptography` is available. Included with `#[path]` by each test file.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;

pub fn fixture(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(path)
}

pub fn read_json(path: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(fixture(path)).expect("fixture readable");
    serde_json::from_str(&text).expect("fixture is JSON")
}

/// `tests/fixtures/python-timber/fixture.env` as a map (KEY=VALUE lines).
pub fn python_timber_env() -> HashMap<String, String> {
    let text = std::fs::read_to_string(fixture("python-timber/fixture.env")).expect("env file");
    text.lines()
        .filter_map(|line| line.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

/// True when `python3 -c "import cryptography"` works; otherwise prints the SKIP line.
pub fn python_with_cryptography() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import cryptography.fernet"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !ok {
        eprintln!("SKIP: python3 with cryptography not available");
    }
    ok
}

/// Unix seconds of an RFC 3339 time (the spec vectors' `now`).
pub fn unix(rfc3339: &str) -> u64 {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .expect("RFC 3339 time")
        .timestamp() as u64
}

/// An encrypted column of type `ty`, made by the real model loader (so the test does not
/// depend on every field of `ColumnDef`).
pub fn column(ty: timber::config::ColumnType) -> timber::config::ColumnDef {
    let yaml = format!(
        "models:\n  - name: Cell\n    table_name: cells\n    columns:\n      - name: id\n        type: Integer\n        primary_key: true\n      - name: c\n        type: {}\n        encrypted: true\n",
        ty.yaml_name()
    );
    let models = timber::config::parse_models(&yaml, std::path::Path::new("cell.yaml"))
        .expect("test model parses");
    models[0].column("c").expect("column c").clone()
}
