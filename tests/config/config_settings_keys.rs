//! Settings keys (DESIGN §4): keys from a variable, a file or a command (one form per level),
//! old and named keys, secret-like variables, and that no key, command output or database
//! password reaches a message or `Debug`. Real files and real `sh -c` commands.

use crate::config_support;

use config_support::*;
use timber::config::{Flags, Settings, Source};

#[test]
fn a_key_file_is_read_from_the_working_directory_and_trimmed() {
    let s = Settings::from_sources(
        &Flags::default(),
        &vars(&[("ENCRYPTION_KEY_FILE", "primary.key")]),
        &fixtures(),
    )
    .unwrap();
    let key = s.encryption_key.unwrap();
    assert_eq!(key.value.expose(), KEYFILE_KEY);
    assert_eq!(key.source, Source::KeyFile(fixtures().join("primary.key")));

    let err = from_env(&[("MASTER_ENCRYPTION_KEY_FILE", "/nonexistent/master.key")]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "MASTER_ENCRYPTION_KEY_FILE names /nonexistent/master.key, which does not exist"
    );
}

#[test]
fn a_key_command_prints_the_key() {
    let cmd = format!("printf '%s\\n' {KEYFILE_KEY}");
    let s = from_env(&[
        ("ENCRYPTION_KEY_COMMAND", &cmd),
        ("MASTER_ENCRYPTION_KEY_COMMAND", "echo master-text"),
    ])
    .unwrap();
    let key = s.encryption_key.unwrap();
    assert_eq!(key.value.expose(), KEYFILE_KEY);
    assert_eq!(
        key.source,
        Source::KeyCommand("ENCRYPTION_KEY_COMMAND".into())
    );
    assert_eq!(s.master_key.unwrap().value.expose(), "master-text");
}

#[test]
fn a_failing_key_command_shows_its_status_but_not_its_output() {
    let cmd = "echo SECRET-ON-STDOUT; echo SECRET-ON-STDERR >&2; exit 3";
    let err = from_env(&[("ENCRYPTION_KEY_COMMAND", cmd)])
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "ENCRYPTION_KEY_COMMAND failed (exit status: 3); its output is not shown because it may hold the key"
    );
    let err = from_env(&[("ENCRYPTION_KEY_COMMAND", "true")])
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "the output of ENCRYPTION_KEY_COMMAND is empty; expected a key"
    );
    let err = from_env(&[("ENCRYPTION_KEY_COMMAND", "printf 'a\\nb\\n'")])
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "the output of ENCRYPTION_KEY_COMMAND holds more than one line; expected a single key"
    );
}

#[test]
fn two_forms_of_one_key_at_the_same_level_are_refused() {
    let err = from_env(&[
        ("ENCRYPTION_KEY", FILE_KEY),
        ("ENCRYPTION_KEY_COMMAND", "echo other"),
    ])
    .unwrap_err();
    let text = err.to_string();
    assert_eq!(
        text,
        "set only one of ENCRYPTION_KEY, ENCRYPTION_KEY_FILE, ENCRYPTION_KEY_COMMAND; the environment \
         sets ENCRYPTION_KEY and ENCRYPTION_KEY_COMMAND"
    );
    assert!(!text.contains(FILE_KEY));

    // A form in the environment overrides the env file's ENCRYPTION_KEY: different levels.
    let env = vars(&[("ENCRYPTION_KEY_FILE", "primary.key")]);
    let s = Settings::from_sources(&layered_flags(), &env, &fixtures()).unwrap();
    assert_eq!(s.encryption_key.unwrap().value.expose(), KEYFILE_KEY);
}

#[test]
fn old_keys_are_a_comma_list_in_order() {
    let s = from_env(&[("ENCRYPTION_KEY_OLD", " old-one, ,old-two,,")]).unwrap();
    let old: Vec<&str> = s
        .encryption_key_old
        .iter()
        .map(|k| k.value.expose())
        .collect();
    assert_eq!(old, ["old-one", "old-two"]);
    assert!(
        s.encryption_key_old
            .iter()
            .all(|k| k.source == Source::Env("ENCRYPTION_KEY_OLD".into()))
    );
    let s = from_env(&[("MASTER_ENCRYPTION_KEY_OLD", "previous-master")]).unwrap();
    assert_eq!(s.master_key_old.unwrap().value.expose(), "previous-master");
}

#[test]
fn named_keys_are_lower_cased_and_the_environment_wins() {
    let env = vars(&[
        ("TIMBER_KEY_Reporting", "env-reporting"),
        ("TIMBER_KEY_BILLING", "env-billing"),
    ]);
    let s = Settings::from_sources(&layered_flags(), &env, &fixtures()).unwrap();
    let names: Vec<(&str, &str)> = s
        .named_keys
        .iter()
        .map(|(n, k)| (n.as_str(), k.value.expose()))
        .collect();
    assert_eq!(
        names,
        [("billing", "env-billing"), ("reporting", "env-reporting")]
    );

    let err = from_env(&[("TIMBER_KEY_A", "x"), ("TIMBER_KEY_a", "y")]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "TIMBER_KEY_A and TIMBER_KEY_a both name the key \"a\" (key names ignore case); keep one"
    );
    let err = from_env(&[("TIMBER_KEY_", "x")]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "TIMBER_KEY_ has an invalid key name; use TIMBER_KEY_<NAME> with letters, digits and _"
    );
}

#[test]
fn secret_like_variables_are_collected_but_not_our_own_keys() {
    let s = from_env(&[
        ("STRIPE_API_KEY", "sk_live_x"),
        ("GITHUB_TOKEN", "ghp_x"),
        ("DB_PASSWORD", "pw"),
        ("APP_SECRET", "s"),
        ("AWS_SECRET_KEY", "k"),
        ("TOKENS_USED", "3"),
        ("ENCRYPTION_KEY", FILE_KEY),
        ("TIMBER_KEY_CI_TOKEN", NAMED_KEY),
        ("EMPTY_TOKEN", ""),
    ])
    .unwrap();
    let names: Vec<&str> = s.secret_like_vars.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "APP_SECRET",
            "AWS_SECRET_KEY",
            "DB_PASSWORD",
            "GITHUB_TOKEN",
            "STRIPE_API_KEY"
        ]
    );
}

#[test]
fn debug_output_shows_no_key_and_no_database_password() {
    let cmd = format!("echo {KEYFILE_KEY}");
    let s = from_env(&[
        ("DATABASE_URL", "postgres://app:s3cr3t-pw@db:5432/x"),
        ("ENCRYPTION_KEY", FILE_KEY),
        ("MASTER_ENCRYPTION_KEY_COMMAND", &cmd),
        ("TIMBER_KEY_REPORTING", NAMED_KEY),
        ("STRIPE_API_KEY", "sk_live_visible?"),
    ])
    .unwrap();
    let debug = format!("{s:?}");
    for secret in [
        FILE_KEY,
        KEYFILE_KEY,
        NAMED_KEY,
        "s3cr3t-pw",
        "sk_live_visible?",
    ] {
        assert!(!debug.contains(secret), "Debug shows {secret}");
    }
    assert!(debug.contains("postgres://app:***@db:5432/x"));
    assert_eq!(
        s.database_url.value.to_string(),
        "postgres://app:***@db:5432/x"
    );
}

// --- Env files as an attacker plants them (issue 13, item 2), through the real binary ---

/// Writes `text` to `path` with exactly `mode` (umask cannot loosen or tighten it).
fn write_env(path: &std::path::Path, text: &str, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// `timber ARGS` in `dir` with no key or database variables inherited.
fn timber_in(dir: &std::path::Path, args: &[&str]) -> (Option<i32>, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_timber"))
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir)
        .args(args)
        .output()
        .unwrap();
    let mut all = String::from_utf8_lossy(&out.stderr).into_owned();
    all.push_str(&String::from_utf8_lossy(&out.stdout));
    (out.status.code(), all)
}

fn good_models() -> String {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/models_ok")
        .display()
        .to_string()
}

#[test]
fn a_key_command_in_an_implicit_dot_env_is_refused_and_not_run() {
    let dir = tempfile::tempdir().unwrap();
    let env = dir.path().join(".env");
    write_env(
        &env,
        "DATABASE_URL=sqlite://app.db\nMASTER_ENCRYPTION_KEY_OLD_COMMAND='touch pwned; echo k'\n",
        0o644,
    );
    let (code, out) = timber_in(dir.path(), &["--models", &good_models(), "info"]);
    assert_eq!(code, Some(2), "{out}");
    assert!(
        !dir.path().join("pwned").exists(),
        "the command in ./.env ran: {out}"
    );
    let place = format!("{}:2", env.display());
    assert!(
        out.contains("MASTER_ENCRYPTION_KEY_OLD_COMMAND") && out.contains(&place),
        "names the variable, file and line: {out}"
    );
    assert!(
        out.contains("picked up implicitly") && out.contains("--env-file ./.env"),
        "says why and how to opt in: {out}"
    );
    assert!(
        !out.contains("touch pwned"),
        "the command is not echoed: {out}"
    );
}

#[test]
fn the_same_key_command_runs_from_a_file_named_with_env_file() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "ENCRYPTION_KEY_COMMAND='touch ran; printf %s {KEYFILE_KEY}'\n\
         MASTER_ENCRYPTION_KEY_COMMAND='printf %s {FILE_KEY}'\n"
    );
    write_env(&dir.path().join(".env"), &text, 0o600);
    let (code, out) = timber_in(
        dir.path(),
        &["--env-file", ".env", "--models", &good_models(), "info"],
    );
    assert_eq!(code, Some(0), "{out}");
    assert!(dir.path().join("ran").exists(), "the command ran: {out}");
    assert!(!out.contains(KEYFILE_KEY), "no key printed: {out}");
    // Exporting the variable is the other way to opt in.
    let bare = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_timber"))
        .current_dir(bare.path())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", bare.path())
        .env(
            "ENCRYPTION_KEY_COMMAND",
            format!("touch exported; printf %s {KEYFILE_KEY}"),
        )
        .args(["--models", &good_models(), "info"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(bare.path().join("exported").exists(), "{err}");
}

#[test]
fn a_key_file_named_in_an_implicit_dot_env_is_read_but_never_echoed() {
    let dir = tempfile::tempdir().unwrap();
    // Someone else's secret: a file that is not a key.
    std::fs::write(dir.path().join("private.txt"), "ZQ-not-a-key-canary\n").unwrap();
    write_env(
        &dir.path().join(".env"),
        "ENCRYPTION_KEY_FILE=private.txt\n",
        0o644,
    );
    let (code, out) = timber_in(dir.path(), &["--models", &good_models(), "info"]);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("ENCRYPTION_KEY"), "{out}");
    assert!(
        !out.contains("ZQ-not-a-key-canary"),
        "file content echoed: {out}"
    );
}

#[test]
fn a_group_or_world_writable_env_file_is_refused() {
    for (mode, name) in [(0o664, ".env"), (0o646, "team.env")] {
        let dir = tempfile::tempdir().unwrap();
        let env = dir.path().join(name);
        write_env(&env, "ENCRYPTION_KEY_COMMAND='touch pwned; echo k'\n", mode);
        let args: Vec<&str> = if name == ".env" {
            vec!["info"]
        } else {
            vec!["--env-file", name, "info"]
        };
        let (code, out) = timber_in(dir.path(), &args);
        assert_eq!(code, Some(2), "{out}");
        assert!(!dir.path().join("pwned").exists(), "{out}");
        assert!(
            out.contains(&env.display().to_string())
                && out.contains(&format!("{mode:o}"))
                && out.contains(&format!("chmod go-w {}", env.display())),
            "names the file, its mode and the fix: {out}"
        );
    }
}

#[test]
fn an_env_file_owned_by_another_user_is_refused() {
    let uid = std::process::Command::new("id").arg("-u").output().unwrap();
    if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
        eprintln!("SKIP: changing a file's owner needs root");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let env = dir.path().join("shared.env");
    write_env(
        &env,
        "ENCRYPTION_KEY_COMMAND='touch pwned; echo k'\n",
        0o644,
    );
    let chown = std::process::Command::new("chown")
        .arg("nobody")
        .arg(&env)
        .status()
        .unwrap();
    assert!(chown.success());
    let (code, out) = timber_in(dir.path(), &["--env-file", "shared.env", "info"]);
    assert_eq!(code, Some(2), "{out}");
    assert!(!dir.path().join("pwned").exists(), "{out}");
    assert!(
        out.contains(&env.display().to_string()) && out.contains("owned by"),
        "names the file and its owner: {out}"
    );
}
