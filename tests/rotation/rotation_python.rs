//! After rotating a copy of the database Python Timber wrote (tests/fixtures/python-timber)
//! the way an operator would (ENCRYPTION_KEY=<new>, ENCRYPTION_KEY_OLD=<previous>, then
//! `timber rotate --all`), Python's own `cryptography` Fernet, given only the new key, reads
//! every value back as expected.json says. Skips, saying so, without python3 + cryptography.

use crate::rotation_support;

use std::path::Path;
use std::process::Command;

use crate::rotation_only::*;
use rotation_support::*;

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/python-timber");

const CHECK: &str = r#"
import json, sqlite3, sys
from cryptography.fernet import Fernet
db, key, expected_path = sys.argv[1], sys.argv[2], sys.argv[3]
fernet = Fernet(key.encode())
expected = json.load(open(expected_path))
conn = sqlite3.connect(db)
checked = 0
for table, records in expected.items():
    for record_id, fields in records.items():
        for column, want in fields.items():
            (stored,) = conn.execute(f'SELECT "{column}" FROM "{table}" WHERE id = ?', (record_id,)).fetchone()
            if stored is None:
                assert want is None, (table, record_id, column)
                continue
            token = json.loads(stored) if stored.startswith('"') else stored
            plain = fernet.decrypt(token.encode()).decode()
            got = plain if isinstance(want, str) else json.loads(plain)
            assert got == want, (table, record_id, column)
            checked += 1
print(checked)
"#;

fn python_ready() -> bool {
    Command::new("python3")
        .args(["-c", "import cryptography.fernet"])
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn python_timber_reads_the_rotated_fixture_with_only_the_new_key() {
    if !python_ready() {
        eprintln!("SKIP: python3 with `cryptography` not available; Python cross-check not run");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(Path::new(FIXTURE).join("app.db"), dir.path().join("app.db")).unwrap();
    std::fs::create_dir(dir.path().join("models")).unwrap();
    std::fs::copy(
        Path::new(FIXTURE).join("models/app.yaml"),
        dir.path().join("models/app.yaml"),
    )
    .unwrap();
    let policy = write_policy(dir.path());
    let env = format!(
        "DATABASE_URL=sqlite://app.db\nENCRYPTION_KEY={NEW_KEY}\nENCRYPTION_KEY_OLD={OLD_KEY}\n\
         MASTER_ENCRYPTION_KEY={MASTER_KEY}\nTIMBER_MODELS=models\n{policy}"
    );
    std::fs::write(dir.path().join(".env"), env).unwrap();
    let init = timber(dir.path(), &["init"]);
    assert!(init.status.success(), "init: {}", stderr(&init));
    let out = timber(dir.path(), &["rotate", "--all", "--format", "json"]);
    assert!(out.status.success(), "rotate: {}", stderr(&out));
    let done: Vec<_> = json_lines(&out)
        .into_iter()
        .filter(|e| e["event"] == "done")
        .collect();
    assert_eq!(done.len(), 2, "one job per model");
    assert!(
        done.iter()
            .all(|d| d["status"] == "completed" && d["rows_failed"] == 0)
    );

    let check = Command::new("python3")
        .args(["-c", CHECK])
        .arg(dir.path().join("app.db"))
        .arg(NEW_KEY)
        .arg(Path::new(FIXTURE).join("expected.json"))
        .output()
        .expect("run python3");
    assert!(
        check.status.success(),
        "Python could not read the rotated data with the new key: {}",
        String::from_utf8_lossy(&check.stderr)
    );
    let checked: u32 = String::from_utf8_lossy(&check.stdout)
        .trim()
        .parse()
        .unwrap();
    assert_eq!(checked, 200, "every expected value was read by Python");
}
