//! The bad-input corpus (`tests/fixtures/bad/`): every file is a hostile or broken input a
//! user could really hand us, and `tests/fixtures/bad/expected.txt` holds, for each file, a
//! piece of the message the user must see. Each input goes through the path a user takes:
//! model, policy, env and key files through the real `timber info` process (`dotenv/` files
//! as the implicit `./.env` of its working directory), URLs through
//! `timber jobs`, themes and keymaps through their loaders, tokens through the key ring.
//!
//! Every case must: give its expected message, name where the problem is (file, variable
//! or URL), never panic, exit 2 when it is a process, and never echo a key or a password.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use timber::config::{ColumnDef, ColumnType};
use timber::crypto::{KeyRing, inspect};
use timber::tui::{Keymap, ThemeSet};

/// The key the token corpus was written with (a test key; it protects nothing).
const TOKEN_KEY: &str = "cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=";
/// Secrets that appear in corpus files and must never be echoed back.
const SECRETS: &[&str] = &[
    "cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4",
    "YzpZgClxLl3CBp3nBLueMYrq95oNaQFcXsF3P122yPw",
    "cw/0x689RpI+jtRR7oE8h/eQsKImvJapLeSbXpwF4e4",
    "hunter2secret",
    "tiger",
    "ZQ-canary-plaintext",
];

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bad")
}

/// `expected.txt`: `kind/file<TAB>expected message piece`, `#` comments.
fn expectations() -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(corpus().join("expected.txt")).expect("expected.txt");
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (file, want) = l
                .split_once('\t')
                .unwrap_or_else(|| panic!("expected.txt line without a tab: {l}"));
            (file.to_string(), want.to_string())
        })
        .collect()
}

/// Every corpus file, as `kind/file`.
fn corpus_files() -> Vec<String> {
    let mut files = Vec::new();
    for kind in std::fs::read_dir(corpus()).unwrap() {
        let kind = kind.unwrap().path();
        if !kind.is_dir() {
            continue;
        }
        for file in std::fs::read_dir(&kind).unwrap() {
            let file = file.unwrap().path();
            let rel = file.strip_prefix(corpus()).unwrap();
            files.push(rel.to_string_lossy().into_owned());
        }
    }
    files.sort();
    files
}

/// Runs the real binary in an empty directory (no stray `.env`, no real keys) and returns
/// (exit code, stderr + stdout).
fn timber(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    timber_in(dir.path(), args, env)
}

/// Runs the real binary in `dir` with only `env` (and `PATH`) set.
fn timber_in(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_timber"))
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir)
        .envs(env.iter().copied())
        .args(args)
        .output()
        .expect("timber runs");
    let mut all = String::from_utf8_lossy(&out.stderr).into_owned();
    all.push_str(&String::from_utf8_lossy(&out.stdout));
    (out.status.code(), all)
}

fn good_models() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/models_ok")
}

/// What the user sees for one corpus file, and where it must point (file name or variable).
fn message_for(rel: &str) -> (String, Option<i32>) {
    let path = corpus().join(rel);
    let path_text = path.display().to_string();
    let kind = rel.split('/').next().unwrap();
    match kind {
        "models" => {
            // A models directory holding just this file, as TIMBER_MODELS would name it.
            let dir = tempfile::tempdir().unwrap();
            let name = Path::new(rel).file_name().unwrap();
            std::fs::copy(&path, dir.path().join(name)).unwrap();
            let models = dir.path().display().to_string();
            let (code, out) = timber(&["--models", &models, "info"], &[]);
            (out, code)
        }
        "policies" => {
            let models = good_models().display().to_string();
            let (code, out) = timber(
                &["--models", &models, "--policy", &path_text, "info"],
                &[("ENCRYPTION_KEY", TOKEN_KEY)],
            );
            (out, code)
        }
        // Settings problems stop `info` before it reads models, so env files run bare (a
        // --models flag would hide a bad TIMBER_MODELS); key files need readable models.
        "env" => {
            let (code, out) = timber(&["--env-file", &path_text, "info"], &[]);
            (out, code)
        }
        // A `.env` found in the working directory, as a cloned repository or an unpacked
        // archive brings it: picked up implicitly. Nothing it names may run.
        "dotenv" => {
            use std::os::unix::fs::PermissionsExt;
            let dir = tempfile::tempdir().unwrap();
            let dotenv = dir.path().join(".env");
            std::fs::copy(&path, &dotenv).unwrap();
            std::fs::set_permissions(&dotenv, std::fs::Permissions::from_mode(0o644)).unwrap();
            let models = good_models().display().to_string();
            let (code, out) = timber_in(dir.path(), &["--models", &models, "info"], &[]);
            let ran: Vec<_> = std::fs::read_dir(dir.path())
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|name| name != ".env")
                .collect();
            assert!(ran.is_empty(), "{rel}: a command from ./.env ran: {ran:?}");
            (out, code)
        }
        "keys" => {
            let models = good_models().display().to_string();
            let (code, out) = timber(
                &["--env-file", &path_text, "--models", &models, "info"],
                &[],
            );
            (out, code)
        }
        "urls" => {
            let url = std::fs::read_to_string(&path).unwrap();
            let models = good_models().display().to_string();
            let (code, out) = timber(
                &["--database-url", &url, "--models", &models, "jobs"],
                &[("ENCRYPTION_KEY", TOKEN_KEY)],
            );
            (out, code)
        }
        "themes" => {
            let dir = tempfile::tempdir().unwrap();
            let name = Path::new(rel).file_name().unwrap();
            std::fs::copy(&path, dir.path().join(name)).unwrap();
            let set = ThemeSet::load(Some(dir.path()));
            assert!(
                set.get("dark").is_ok(),
                "{rel}: a bad user theme lost the built-ins"
            );
            (set.warnings.join("\n"), None)
        }
        "keymaps" => {
            let text = std::fs::read_to_string(&path).unwrap();
            let map = Keymap::parse(&text, &path);
            (map.warnings.join("\n"), None)
        }
        "tokens" => (
            token_message(&std::fs::read_to_string(&path).unwrap()),
            None,
        ),
        other => panic!("unknown corpus kind {other}"),
    }
}

/// The cell error a browse would show for a stored value, and what inspection says of it.
fn token_message(stored: &str) -> String {
    let ring = KeyRing::builder()
        .primary(TOKEN_KEY, "ENCRYPTION_KEY")
        .and_then(|b| b.build())
        .unwrap();
    let column = ColumnDef {
        name: "email".into(),
        ty: ColumnType::Text,
        primary_key: false,
        nullable: true,
        encrypted: true,
        indexed: false,
        unique: false,
        default: None,
        foreign_key: None,
        blind_index: None,
        from_mixin: false,
    };
    let cell = match ring.decrypt_value(stored, &column, None) {
        Ok(_) => "decrypted".to_string(),
        Err(e) => format!("{}: {e}", e.as_str()),
    };
    let inspected = match inspect::inspect(inspect::unquote(stored)) {
        Ok(_) => "well formed".to_string(),
        Err(e) => e.to_string(),
    };
    format!("{cell}; inspect: {inspected}")
}

#[test]
fn every_corpus_file_has_exactly_one_expected_message() {
    let files = corpus_files();
    let expected = expectations();
    let missing: Vec<_> = files
        .iter()
        .filter(|f| !expected.contains_key(*f))
        .collect();
    let stale: Vec<_> = expected.keys().filter(|f| !files.contains(f)).collect();
    assert!(
        missing.is_empty(),
        "corpus files without an expected message: {missing:?}"
    );
    assert!(
        stale.is_empty(),
        "expected messages for files that do not exist: {stale:?}"
    );
    assert!(
        files.len() >= 50,
        "the corpus shrank to {} files",
        files.len()
    );
}

#[test]
fn every_bad_input_gets_its_clear_message_and_leaks_nothing() {
    let mut failures = Vec::new();
    for (rel, want) in expectations() {
        if !corpus().join(&rel).exists() {
            continue; // reported by the test above
        }
        let (message, code) = message_for(&rel);
        let kind = rel.split('/').next().unwrap();
        let mut problems = Vec::new();
        if !message.contains(&want) {
            problems.push(format!("expected `{want}`"));
        }
        if message.contains("panicked") || message.contains("RUST_BACKTRACE") {
            problems.push("panicked".into());
        }
        if matches!(
            kind,
            "models" | "policies" | "env" | "dotenv" | "keys" | "urls"
        ) && code != Some(2)
        {
            problems.push(format!("exit code {code:?}, expected 2"));
        }
        // Env and key files too: a bad key read from an env file names the file to fix.
        if matches!(
            kind,
            "models" | "policies" | "themes" | "keymaps" | "env" | "keys"
        ) {
            let name = Path::new(&rel).file_name().unwrap().to_string_lossy();
            if !message.contains(name.as_ref()) {
                problems.push("the message does not name the file".into());
            }
        }
        if kind == "dotenv" && !message.contains("/.env:") {
            problems.push("the message does not name ./.env and the line".into());
        }
        for secret in SECRETS {
            if message.contains(secret) {
                problems.push(format!("echoed a secret ({} chars)", secret.len()));
            }
        }
        if !problems.is_empty() {
            failures.push(format!(
                "{rel}: {}\n    got: {message}",
                problems.join(", ")
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
