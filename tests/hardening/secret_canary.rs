//! No output of any subcommand, success or failure, contains a key: the fixture's keys and
//! the demo's keys are scanned for in stdout, stderr and the log file of every run.

use std::path::{Path, PathBuf};
use std::process::Command;

use timber::demo::DEMO_KEYS;

fn fixture_copy(tmp: &Path) -> PathBuf {
    let dir = tmp.join("app");
    std::fs::create_dir_all(dir.join("models")).unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/python-timber");
    for name in ["app.db", "fixture.env", "models/app.yaml"] {
        std::fs::copy(src.join(name), dir.join(name)).unwrap();
    }
    dir
}

fn fixture_keys(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("fixture.env"))
        .unwrap()
        .lines()
        .filter(|l| l.contains("KEY="))
        .map(|l| l.split_once('=').unwrap().1.to_string())
        .collect()
}

/// Runs `timber` with `args` in `dir` and returns everything it wrote anywhere.
fn everything_written(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> String {
    let log = dir.join("timber.log");
    let out = Command::new(env!("CARGO_BIN_EXE_timber"))
        .current_dir(dir)
        .env_remove("ENCRYPTION_KEY")
        .env_remove("MASTER_ENCRYPTION_KEY")
        .envs(env.iter().copied())
        .arg("--log-file")
        .arg(&log)
        .args(args)
        .output()
        .unwrap();
    let mut all = String::from_utf8_lossy(&out.stdout).into_owned();
    all.push_str(&String::from_utf8_lossy(&out.stderr));
    all.push_str(&std::fs::read_to_string(&log).unwrap_or_default());
    all
}

fn assert_no_key(all: &str, keys: &[String], what: &str) {
    for key in keys {
        assert!(!all.contains(key.as_str()), "{what} printed a key");
        // Also without padding, as some encoders write it.
        assert!(
            !all.contains(key.trim_end_matches('=')),
            "{what} printed a key (unpadded)"
        );
    }
}

#[test]
fn no_subcommand_prints_a_fixture_key() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = fixture_copy(tmp.path());
    let keys = fixture_keys(&dir);
    let runs: &[&[&str]] = &[
        &["info"],
        &["info", "--format", "json"],
        &["browse", "UserProfile", "--format", "json"],
        &["browse", "ResearchSession", "--format", "table"],
        &["browse", "ResearchSession", "--format", "csv"],
        &["browse", "NoSuchModel"],
        // Census labels are fingerprints, health and audit counts: never a key.
        &["metrics"],
        &[
            "--database-url",
            "postgres://u:pw@127.0.0.1:1/x",
            "browse",
            "UserProfile",
        ],
    ];
    for args in runs {
        let mut full = vec!["--env-file", "fixture.env"];
        full.extend_from_slice(args);
        let all = everything_written(&dir, &[], &full);
        assert_no_key(&all, &keys, &format!("timber {}", args.join(" ")));
    }
}

/// Environment variables set for one run.
type Env<'a> = Vec<(&'a str, &'a str)>;

#[test]
fn a_key_given_in_the_wrong_place_is_not_echoed_in_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = fixture_copy(tmp.path());
    let keys = fixture_keys(&dir);
    // The master key given as the primary too (refused), and a key pasted into the URL.
    let master = keys[1].as_str();
    let cases: Vec<(Env, Vec<String>)> = vec![
        (
            vec![
                ("ENCRYPTION_KEY", master),
                ("MASTER_ENCRYPTION_KEY", master),
            ],
            vec!["info".into()],
        ),
        (vec![("ENCRYPTION_KEY", &master[..20])], vec!["info".into()]),
        (
            vec![],
            vec![
                "--database-url".into(),
                format!("postgres://app:{master}@127.0.0.1:1/db"),
                "browse".into(),
                "UserProfile".into(),
            ],
        ),
    ];
    for (env, args) in cases {
        let mut full: Vec<&str> = vec!["--env-file", "fixture.env"];
        full.extend(args.iter().map(String::as_str));
        let all = everything_written(&dir, &env, &full);
        assert!(!all.is_empty(), "the error is reported");
        assert_no_key(&all, &keys, &format!("timber {}", args.join(" ")));
        assert!(
            !all.contains(&master[..20]),
            "no fragment of the key either: {all}"
        );
    }
}

#[test]
fn the_demo_never_prints_its_keys() {
    let tmp = tempfile::tempdir().unwrap();
    let demo = tmp.path().join("demo");
    let all = everything_written(
        tmp.path(),
        &[],
        &[
            "demo",
            "--no-console",
            "--rows",
            "30",
            "--dir",
            demo.to_str().unwrap(),
        ],
    );
    let keys: Vec<String> = DEMO_KEYS.iter().map(|k| k.to_string()).collect();
    assert!(all.contains("planted problems"), "{all}");
    assert_no_key(&all, &keys, "timber demo");
    for args in [
        &["info"][..],
        &["browse", "UserProfile", "--format", "json"],
    ] {
        let all = everything_written(&demo, &[], args);
        assert_no_key(
            &all,
            &keys,
            &format!("timber {} in the demo", args.join(" ")),
        );
    }
}

/// Runs `timber` in `dir` with `--log-file log` and returns (exit code, stdout, stderr).
fn run_logged(
    dir: &Path,
    log: &Path,
    env: &[(&str, &str)],
    args: &[&str],
) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_timber"))
        .current_dir(dir)
        .env_remove("ENCRYPTION_KEY")
        .env_remove("MASTER_ENCRYPTION_KEY")
        .env_remove("TIMBER_LOG")
        .envs(env.iter().copied())
        .arg("--log-file")
        .arg(log)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Every string value of every JSON line of `stdout` (the revealed plaintext of a browse).
fn revealed_strings(stdout: &str) -> Vec<String> {
    fn walk(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::String(s) => out.push(s.clone()),
            serde_json::Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            serde_json::Value::Object(o) => o.values().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    for line in stdout.lines() {
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(line) {
            walk(&v, &mut out);
        }
    }
    out
}

/// `--log-file` writes the session's diagnostics as JSON lines (connection, each query's
/// timing, job lifecycle, errors) and never a key or a revealed value.
#[test]
fn the_log_file_records_the_session_without_keys_or_values() {
    let tmp = tempfile::tempdir().unwrap();
    let demo = tmp.path().join("demo");
    let (code, _, err) = run_logged(
        tmp.path(),
        &tmp.path().join("demo.log"),
        &[],
        &[
            "demo",
            "--no-console",
            "--rows",
            "30",
            "--dir",
            demo.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{err}");
    let log = demo.join("session.log");
    let (code, stdout, err) = run_logged(
        &demo,
        &log,
        &[],
        &[
            "--role",
            "security_admin",
            "browse",
            "UserProfile",
            "--reveal",
            "--reason",
            "INC-LOG",
            "--format",
            "json",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let values: Vec<String> = revealed_strings(&stdout)
        .into_iter()
        .filter(|s| s.len() >= 8 && s.contains(|c: char| c.is_ascii_alphabetic()))
        .collect();
    assert!(values.len() > 20, "the browse revealed values: {stdout}");
    let (code, _, err) = run_logged(
        &demo,
        &log,
        &[],
        &["--role", "security_admin", "rotate", "--all"],
    );
    // Exit 1: the demo's planted undecryptable values are left alone and counted as failures.
    assert!(code == 0 || code == 1, "{err}");
    let (code, _, _) = run_logged(&demo, &log, &[], &["browse", "NoSuchModel"]);
    assert_eq!(code, 2);

    let text = std::fs::read_to_string(&log).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&log).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the log is readable by its owner only");
    }
    let events: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}")))
        .collect();
    let has = |pred: &dyn Fn(&serde_json::Value) -> bool| events.iter().any(pred);
    let message = |e: &serde_json::Value| e["message"].as_str().unwrap_or("").to_string();
    assert!(has(&|e| message(e) == "database connected"), "{text}");
    assert!(
        has(&|e| e["target"] == "sqlx::query" && e["elapsed_secs"].is_number()),
        "each query's timing: {text}"
    );
    assert!(has(&|e| message(e) == "rotation job started"), "{text}");
    assert!(
        has(&|e| message(e) == "rotation job ended" && e["rows_done"].is_number()),
        "{text}"
    );
    assert!(
        has(&|e| message(e) == "audit entry appended" && e["action"] == "reveal"),
        "{text}"
    );
    assert!(
        has(&|e| message(e) == "command failed"
            && e["level"] == "ERROR"
            && e["error"].as_str().unwrap_or("").contains("NoSuchModel")),
        "the error is logged: {text}"
    );
    let keys: Vec<String> = DEMO_KEYS.iter().map(|k| k.to_string()).collect();
    assert_no_key(&text, &keys, "the log file");
    for value in &values {
        assert!(
            !text.contains(value.as_str()),
            "the log holds a revealed value: {value}"
        );
    }
}

#[test]
fn timber_log_is_checked_and_never_silently_ignored() {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("t.log");
    let (code, _, err) = run_logged(
        tmp.path(),
        &log,
        &[("TIMBER_LOG", "info,[bad")],
        &["keygen"],
    );
    assert_eq!(code, 2);
    assert!(
        err.contains("TIMBER_LOG (environment) is not a valid log filter"),
        "{err}"
    );
    // A level without a log file says that nothing is written, and the command still runs.
    let out = Command::new(env!("CARGO_BIN_EXE_timber"))
        .current_dir(tmp.path())
        .env("TIMBER_LOG", "debug")
        .arg("keygen")
        .output()
        .unwrap();
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no --log-file is given"), "{err}");
    // A log file that cannot be opened is refused, naming it.
    let (code, _, err) = run_logged(
        tmp.path(),
        &tmp.path().join("no/such/dir/t.log"),
        &[],
        &["keygen"],
    );
    assert_eq!(code, 2);
    assert!(
        err.contains("--log-file") && err.contains("no/such/dir/t.log"),
        "{err}"
    );
}

/// The audit signing key (AUDIT_SIGNING_KEY) is never printed either: not by `info`, the
/// audit commands (checkpoint, verify, export, prove) or their logs; only its public half.
#[test]
fn the_audit_signing_key_is_never_printed() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = fixture_copy(tmp.path());
    let signer = timber::crypto::NoteSigner::generate("canary").unwrap();
    let text = signer.to_text();
    let seed = text.as_str().splitn(5, '+').nth(4).unwrap().to_string();
    std::fs::write(dir.join("audit.pub"), signer.verifier().to_text()).unwrap();
    let env = vec![
        ("AUDIT_SIGNING_KEY", text.as_str()),
        ("ENABLE_ACCESS_CONTROL", "false"),
    ];
    let runs: &[&[&str]] = &[
        &["info"],
        &["info", "--format", "json"],
        &["init"],
        &["audit", "checkpoint"],
        &["audit", "checkpoint", "--format", "json"],
        &["audit", "--verify", "--public-key", "audit.pub"],
        &["audit", "export", "--format", "cef"],
        &["audit", "prove", "1"],
    ];
    for args in runs {
        let mut full = vec!["--env-file", "fixture.env"];
        full.extend_from_slice(args);
        let all = everything_written(&dir, &env, &full);
        let what = format!("timber {}", args.join(" "));
        assert!(
            !all.contains(text.as_str()),
            "{what} printed the signing key"
        );
        assert!(
            !all.contains(&seed),
            "{what} printed the signing key's seed"
        );
        assert!(
            !all.contains(&seed[..16]),
            "{what} printed a fragment of it"
        );
    }
}
