//! No output of any subcommand, success or failure, contains a key: the fixture's keys and
//! the demo's keys are scanned for in stdout, stderr and the log file of every run.

use std::path::{Path, PathBuf};
use std::process::Command;

use timber::demo::keys::DEMO_KEYS;

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
