//! `timber info` and `timber keygen` through the real binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fixture_copy() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("app");
    std::fs::create_dir_all(dir.join("models")).unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/python-timber");
    for name in ["app.db", "fixture.env", "models/app.yaml"] {
        std::fs::copy(src.join(name), dir.join(name)).unwrap();
    }
    (tmp, dir)
}

fn timber(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_timber"))
        .current_dir(dir)
        .env_remove("ENCRYPTION_KEY")
        .env_remove("MASTER_ENCRYPTION_KEY")
        .env_remove("DATABASE_URL")
        .args(args)
        .output()
        .unwrap()
}

fn fixture_keys(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("fixture.env"))
        .unwrap()
        .lines()
        .filter(|l| l.contains("KEY="))
        .map(|l| l.split_once('=').unwrap().1.to_string())
        .collect()
}

#[test]
fn info_shows_both_models_their_encrypted_fields_and_fingerprints() {
    let (_tmp, dir) = fixture_copy();
    let out = timber(&dir, &["--env-file", "fixture.env", "info"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("UserProfile") && text.contains("ResearchSession"),
        "{text}"
    );
    assert!(text.contains("email, phone, research_notes"), "{text}");
    assert!(
        text.contains("analysis_data, proprietary_signals, ai_insights, strategy_details"),
        "{text}"
    );
    assert!(
        text.contains("fp:e9e4803335e0"),
        "primary fingerprint shown: {text}"
    );
    assert!(
        text.contains("fixture.env (ENCRYPTION_KEY)"),
        "key source shown: {text}"
    );
    for key in fixture_keys(&dir) {
        assert!(!text.contains(&key), "info never prints a key");
    }
}

#[test]
fn info_json_lists_keys_as_fingerprints_with_sources() {
    let (_tmp, dir) = fixture_copy();
    let out = timber(
        &dir,
        &["--env-file", "fixture.env", "info", "--format", "json"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let keys = report["keys"].as_array().unwrap();
    let ids: Vec<&str> = keys.iter().map(|k| k["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["primary", "master"]);
    for key in keys {
        let fp = key["fingerprint"].as_str().unwrap();
        assert!(fp.starts_with("fp:") && fp.len() == 15, "{fp}");
    }
    let models = report["models"].as_array().unwrap();
    assert_eq!(models.len(), 2);
    assert_eq!(models[1]["encrypted_fields"].as_array().unwrap().len(), 4);
    assert_eq!(report["backend"], "sqlite");
}

/// `info` refuses a URL every other command refuses, naming its scheme and the supported
/// ones, without printing the password (it used to exit 0 showing "backend foo").
#[test]
fn info_refuses_an_unsupported_database_url_like_every_command() {
    let (_tmp, dir) = fixture_copy();
    for args in [
        &[
            "--env-file",
            "fixture.env",
            "--database-url",
            "foo://admin:hunter2@bar/db",
            "info",
        ][..],
        &[
            "--env-file",
            "fixture.env",
            "--database-url",
            "foo://admin:hunter2@bar/db",
            "info",
            "--format",
            "json",
        ],
    ] {
        let out = timber(&dir, args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(
            out.stdout.is_empty(),
            "no report for a URL nothing can open"
        );
        assert!(
            stderr.contains("unsupported database URL `foo://admin:***@bar/db` (scheme `foo`)")
                && stderr.contains("sqlite://, postgres://, postgresql://, mysql:// or mariadb://"),
            "{stderr}"
        );
        assert!(!stderr.contains("hunter2"), "no password: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "one clear line: {stderr}");
    }
    // A URL without `//` is not redacted piecewise: it is not shown past its scheme.
    let out = timber(
        &dir,
        &[
            "--env-file",
            "fixture.env",
            "--database-url",
            "foo:admin:hunter2@bar",
            "info",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("`foo:***` (scheme `foo`)"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "no password: {stderr}");
}

#[test]
fn info_with_a_bad_key_names_the_variable_and_exits_2() {
    let (_tmp, dir) = fixture_copy();
    let secret = "c2hvcnQta2V5LXRoYXQtaXMtbm90LTMyLWJ5dGVz";
    let out = Command::new(env!("CARGO_BIN_EXE_timber"))
        .current_dir(&dir)
        .env("ENCRYPTION_KEY", secret)
        .args(["--env-file", "fixture.env", "info"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("ENCRYPTION_KEY"), "{stderr}");
    assert!(
        !stderr.contains(secret),
        "the bad value is not echoed: {stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "one clear line: {stderr}");
}

#[test]
fn keygen_prints_one_fresh_fernet_key_and_nothing_else() {
    let tmp = tempfile::tempdir().unwrap();
    let a = timber(tmp.path(), &["keygen"]);
    let b = timber(tmp.path(), &["keygen"]);
    let (ka, kb) = (
        String::from_utf8(a.stdout).unwrap(),
        String::from_utf8(b.stdout).unwrap(),
    );
    assert_eq!(ka.lines().count(), 1);
    assert_ne!(ka, kb, "every key is fresh");
    assert!(
        timber::crypto::Key::from_base64(ka.trim()).is_ok(),
        "a valid Fernet key"
    );
    assert_eq!(ka.trim().len(), 44);
    assert!(a.stderr.is_empty());
}

/// A database URL can carry credentials in its query string and in libpq keyword form, not
/// only as `user:password@`. None of them may reach the screen: `info` (text and JSON), a
/// failing connection (PostgreSQL refuses on port 1) and an unsupported URL all show `***`.
#[test]
fn credentials_anywhere_in_the_url_are_never_printed() {
    let (_tmp, dir) = fixture_copy();
    const SECRETS: [&str; 5] = [
        "SECRETCANARY",
        "S2sslpass",
        "S3apitoken",
        "S4userinfo",
        "S5keyword",
    ];
    let url = "postgres://u:S4userinfo@127.0.0.1:1/db?sslmode=prefer&password=SECRETCANARY&sslpassword=S2sslpass&api_token=S3apitoken";
    let shown =
        "postgres://u:***@127.0.0.1:1/db?sslmode=prefer&password=***&sslpassword=***&api_token=***";
    let keyword = "host=db user=u password=S5keyword";
    let runs = [
        (url, vec!["info"], Some(0)),
        (url, vec!["info", "--format", "json"], Some(0)),
        (url, vec!["jobs"], Some(2)),
        (url, vec!["health"], Some(2)),
        (keyword, vec!["info"], Some(2)),
    ];
    for (database, args, code) in runs {
        let mut all = vec!["--env-file", "fixture.env", "--database-url", database];
        all.extend(args.iter());
        let out = timber(&dir, &all);
        let printed = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.status.code(), code, "{args:?}: {printed}");
        for secret in SECRETS {
            assert!(
                !printed.contains(secret),
                "{args:?} printed {secret}: {printed}"
            );
        }
        if database == url {
            assert!(printed.contains(shown), "{args:?}: {printed}");
        } else {
            assert!(printed.contains("password=***"), "{args:?}: {printed}");
        }
    }
}
