//! `timber demo`: the directory it writes, determinism for a seed, tokens at rest, and the
//! planted problems being where the summary says.

use std::path::Path;
use std::process::Command;

use timber::audit::AuditFilter;
use timber::config::load_models;
use timber::crypto::KeyRing;
use timber::demo::{DEMO_MASTER_KEY, DEMO_OLD_KEY, DEMO_PRIMARY_KEY, DEMO_ROTATION_RATE};
use timber::demo::{DemoOptions, generate};
use timber::store::JobRow;
use timber::store::{Cell, PageRequest, Store};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn ring() -> KeyRing {
    KeyRing::builder()
        .primary(DEMO_PRIMARY_KEY, "ENCRYPTION_KEY")
        .and_then(|b| b.old(DEMO_OLD_KEY, "ENCRYPTION_KEY_OLD"))
        .and_then(|b| b.master(DEMO_MASTER_KEY, "MASTER_ENCRYPTION_KEY"))
        .and_then(|b| b.build())
        .unwrap()
}

fn options(dir: &Path, seed: u64) -> DemoOptions {
    DemoOptions {
        dir: dir.to_path_buf(),
        rows: 60,
        seed,
        force: false,
    }
}

/// Every decrypted or plain value of the first 60 rows of each model, as JSON text, with
/// the columns that hold generation times left out (they are seeded too, but planted
/// cells are excluded so that only seeded data is compared).
async fn readable_values(dir: &Path) -> Vec<String> {
    let models = load_models(&[dir.join("models")]).unwrap();
    let store = Store::connect_url(&format!("sqlite://{}", dir.join("timber.db").display()))
        .await
        .unwrap();
    let ring = ring();
    let mut out = Vec::new();
    for model in &models.models {
        let page = store
            .page(model, &ring, &PageRequest::first(60))
            .await
            .unwrap();
        for record in &page.records {
            for (column, cell) in model.columns.iter().zip(&record.cells) {
                // The seeded audit history updates a few rows "now".
                if column.name == "updated_at" {
                    continue;
                }
                let text = match cell {
                    Cell::Plain(v) => v.to_json().to_string(),
                    Cell::Decrypted { value, .. } => value.to_json().to_string(),
                    Cell::Unreadable(e) => format!("unreadable {}", e.as_str()),
                };
                out.push(format!("{}.{}={text}", model.name, column.name));
            }
        }
    }
    store.close().await;
    out
}

#[test]
fn demo_writes_env_models_policy_and_a_database() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    let summary = runtime().block_on(generate(&options(&dir, 42))).unwrap();
    let env = std::fs::read_to_string(dir.join(".env")).unwrap();
    assert!(
        env.contains("DEMO KEYS"),
        "the .env marks its keys as demo keys"
    );
    assert!(env.contains("ENCRYPTION_KEY_OLD="));
    // timber refuses a group- or world-writable env file, and this one holds keys.
    let mode = {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(dir.join(".env"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode, 0o600, "the demo's .env is owner-only");
    assert!(dir.join("policy.yaml").exists());
    assert_eq!(std::fs::read_dir(dir.join("models")).unwrap().count(), 3);
    let names: Vec<&str> = summary.rows.iter().map(|(m, _)| m.as_str()).collect();
    for model in [
        "UserProfile",
        "ResearchSession",
        "SecureResearchSession",
        "SensitiveData",
        "PatientRecord",
    ] {
        assert!(names.contains(&model), "{model} seeded: {names:?}");
    }
    let users = summary
        .rows
        .iter()
        .find(|(m, _)| m == "UserProfile")
        .unwrap()
        .1;
    assert_eq!(users, 60);
}

#[test]
fn encrypted_columns_hold_tokens_at_rest() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    runtime().block_on(generate(&options(&dir, 7))).unwrap();
    let out = Command::new("sqlite3")
        .arg(dir.join("timber.db"))
        .arg("SELECT email, research_notes FROM user_profiles; SELECT analysis_data FROM research_sessions;")
        .output();
    let Ok(out) = out else {
        eprintln!("SKIP: sqlite3 CLI not available");
        return;
    };
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.lines().count() >= 120);
    assert!(!text.contains("@example"), "no plaintext email at rest");
    for line in text.lines() {
        for field in line.split('|') {
            let field = field.trim_matches('"');
            assert!(
                field.starts_with("gAAAAA"),
                "stored value is a token: {field:.40}"
            );
        }
    }
}

#[test]
fn same_seed_gives_the_same_data_and_another_seed_does_not() {
    let tmp = tempfile::tempdir().unwrap();
    let rt = runtime();
    let (a, b, c) = (
        tmp.path().join("a"),
        tmp.path().join("b"),
        tmp.path().join("c"),
    );
    rt.block_on(generate(&options(&a, 42))).unwrap();
    rt.block_on(generate(&options(&b, 42))).unwrap();
    rt.block_on(generate(&options(&c, 43))).unwrap();
    let (va, vb, vc) = rt.block_on(async {
        (
            readable_values(&a).await,
            readable_values(&b).await,
            readable_values(&c).await,
        )
    });
    assert!(!va.is_empty());
    let differing = va.iter().zip(&vb).filter(|(x, y)| x != y).count();
    // Only the one token stamped in the future is made from the wall clock.
    assert!(
        differing <= 2,
        "{differing} values differ between two runs with seed 42"
    );
    assert_ne!(va, vc, "another seed gives other data");
}

#[test]
fn an_existing_demo_is_kept_unless_forced() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    let rt = runtime();
    rt.block_on(generate(&options(&dir, 1))).unwrap();
    let err = rt
        .block_on(generate(&options(&dir, 1)))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("already holds a demo database") && err.contains("--force"),
        "{err}"
    );
    let mut forced = options(&dir, 1);
    forced.force = true;
    rt.block_on(generate(&forced)).unwrap();
}

#[test]
fn planted_problems_are_in_the_records_the_summary_names() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    let rt = runtime();
    let summary = rt.block_on(generate(&options(&dir, 42))).unwrap();
    let checks: Vec<&str> = summary.planted.iter().map(|p| p.check).collect();
    for check in [
        "data.plaintext",
        "data.undecryptable",
        "data.duplicate_token",
        "data.timestamps",
        "schema.legacy_hash",
    ] {
        assert!(checks.contains(&check), "{check} planted: {checks:?}");
    }
    let values = rt.block_on(readable_values(&dir));
    let unknown = values
        .iter()
        .filter(|v| v.starts_with("ResearchSession.ai_insights=unreadable unknown_key"))
        .count();
    assert_eq!(unknown, 2, "two tokens under an unknown key");
    let corrupted = values
        .iter()
        .filter(|v| v.contains("=unreadable corrupted"))
        .count();
    assert_eq!(corrupted, 1, "one corrupted token");
    let plaintext = values
        .iter()
        .filter(|v| v.starts_with("UserProfile.phone=unreadable not_a_token"))
        .count();
    assert_eq!(plaintext, 3, "three plaintext phones");
}

#[test]
fn demo_command_without_console_prints_the_summary() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    let out = Command::new(env!("CARGO_BIN_EXE_timber"))
        .args(["demo", "--no-console", "--rows", "40", "--dir"])
        .arg(&dir)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("planted problems"), "{stderr}");
    assert!(stderr.contains("timber health"), "{stderr}");
    assert!(!stderr.contains(DEMO_PRIMARY_KEY) && !stderr.contains(DEMO_MASTER_KEY));
    assert!(out.stdout.is_empty(), "narration goes to stderr");
}

/// A demo rotation lasts long enough to watch: the demo's `.env` holds rotations to
/// [`DEMO_ROTATION_RATE`] rows per second, and the plan says so before anything runs.
#[test]
fn the_demo_holds_its_rotations_to_a_rate_a_presenter_can_follow() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    let out = Command::new(env!("CARGO_BIN_EXE_timber"))
        .args(["demo", "--no-console", "--rows", "40", "--dir"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let plan = |format: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_timber"))
            .current_dir(&dir)
            .env_remove("DATABASE_URL")
            .env_remove("ROTATION_MAX_ROWS_PER_SECOND")
            .args([
                "--env-file",
                ".env",
                "rotate",
                "--all",
                "--dry-run",
                "--format",
                format,
            ])
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    };
    let first: serde_json::Value =
        serde_json::from_str(plan("json").lines().next().expect("a plan line per model")).unwrap();
    assert_eq!(first["max_rate"], DEMO_ROTATION_RATE, "{first}");
    let text = plan("text");
    assert!(
        text.contains(&format!("limited to {DEMO_ROTATION_RATE} rows/s")),
        "{text}"
    );
}

/// The demo writes its own models, policy and `.env`: a flag naming others is refused
/// before anything is written (it was ignored while writing, then obeyed by the console),
/// before or after `demo`; `--database-url` takes a server only, and one that cannot be
/// reached writes nothing either.
#[test]
fn demo_refuses_models_policy_or_env_file_of_its_own() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_timber"))
            .current_dir(tmp.path())
            .args(args)
            .args(["--no-console", "--rows", "40", "--dir"])
            .arg(&dir)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    for (flag, value) in [
        ("--models", "elsewhere"),
        ("--policy", "elsewhere.yaml"),
        ("--env-file", "elsewhere.env"),
    ] {
        for args in [[flag, value, "demo"], ["demo", flag, value]] {
            let (code, stderr) = run(&args);
            assert_eq!(code, Some(2), "{args:?}: {stderr}");
            assert!(stderr.contains(&format!("{flag} is not used")), "{stderr}");
            assert!(!dir.exists(), "{args:?}: nothing is written");
        }
    }
    let (code, stderr) = run(&["demo", "--database-url", "sqlite://other.db"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("is for a PostgreSQL or MySQL/MariaDB server"),
        "{stderr}"
    );
    let (code, stderr) = run(&[
        "--database-url",
        "postgres://nobody:pw@127.0.0.1:1/prod",
        "demo",
    ]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("cannot connect to postgres://nobody:***@127.0.0.1:1/prod"),
        "{stderr}"
    );
    assert!(!stderr.contains(":pw@"), "{stderr}");
    assert!(!dir.exists(), "an unreachable server: nothing is written");
    let (code, stderr) = run(&["demo", "--schema", "x"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("--schema names the schema"), "{stderr}");
}

/// `timber demo --help` lists the flags the demo takes, and none it refuses.
#[test]
fn demo_help_lists_only_the_flags_the_demo_accepts() {
    let out = Command::new(env!("CARGO_BIN_EXE_timber"))
        .args(["demo", "--help"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for refused in ["--env-file", "--models", "--policy"] {
        assert!(!help.contains(refused), "{refused} listed:\n{help}");
    }
    for accepted in [
        "--dir",
        "--rows",
        "--seed",
        "--force",
        "--no-console",
        "--database-url",
        "--schema",
        "--role",
    ] {
        assert!(help.contains(accepted), "{accepted} missing:\n{help}");
    }
    assert!(
        help.contains("A PostgreSQL or MySQL/MariaDB server to write the demo to"),
        "the demo says what its --database-url is:\n{help}"
    );
}

/// Exported settings outrank any env file: the demo says which it set aside before
/// anything else (here with --no-console), and the commands it suggests carry
/// `--env-file .env` and, for an exported DATABASE_URL, the demo's own `--database-url`, so
/// pasting one never reaches the exported database. Keys, which no flag can cover, are
/// named to unset.
#[test]
fn demo_names_exported_settings_first_and_its_suggestions_avoid_them() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    let decoy = tmp.path().join("demo/elsewhere.db");
    let decoy_url = format!("sqlite://{}", decoy.display());
    let out = Command::new(env!("CARGO_BIN_EXE_timber"))
        .current_dir(tmp.path())
        .env("DATABASE_URL", &decoy_url)
        .env("ENCRYPTION_KEY", "not-a-key")
        .args(["demo", "--no-console", "--rows", "40", "--dir"])
        .arg(&dir)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.lines().next().unwrap().starts_with(
            "timber demo: ignoring exported DATABASE_URL, ENCRYPTION_KEY for the demo"
        ),
        "the notice comes first:\n{stderr}"
    );
    assert!(
        stderr.contains(
            "your shell exports ENCRYPTION_KEY, which outranks any env file: `unset ENCRYPTION_KEY`"
        ),
        "{stderr}"
    );
    let suggestion = stderr
        .lines()
        .find(|l| l.starts_with("try:"))
        .expect("suggested commands");
    let command = suggestion
        .trim_start_matches("try:")
        .trim()
        .split_once("&& ")
        .expect("cd DIR && timber ...")
        .1;
    assert!(
        command.starts_with("timber --env-file .env --database-url sqlite://timber.db "),
        "{command}"
    );
    // Pasted in a shell that still exports DATABASE_URL (the key unset as advised), the
    // suggestion reads the demo's database: its planted problems, and no decoy file.
    let args: Vec<&str> = command.split_whitespace().skip(1).collect();
    std::fs::write(&decoy, "").unwrap();
    let health = Command::new(env!("CARGO_BIN_EXE_timber"))
        .current_dir(&dir)
        .env_clear()
        .env("DATABASE_URL", &decoy_url)
        .args(&args)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&health.stdout);
    assert_eq!(health.status.code(), Some(2), "{report}");
    assert!(
        report
            .lines()
            .next()
            .unwrap()
            .contains("(sqlite://timber.db, 5 models"),
        "{report}"
    );
    assert!(report.contains("data.plaintext"), "{report}");
    assert_eq!(
        std::fs::metadata(&decoy).unwrap().len(),
        0,
        "the exported database was not touched"
    );
}

/// Exported key variables outrank a `.env`, so they used to replace the demo's keys in the
/// demo's console (its data then read as undecryptable, or a malformed exported key stopped
/// it). The demo sets them aside, says so by name (never by value), and its console loads
/// its own keys: here it gets as far as asking for a terminal.
#[test]
fn demo_console_ignores_exported_keys_and_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    let bad = "not-a-fernet-key-at-all";
    let out = Command::new(env!("CARGO_BIN_EXE_timber"))
        .current_dir(tmp.path())
        .env("HOME", tmp.path())
        .env("ENCRYPTION_KEY", bad)
        .env("MASTER_ENCRYPTION_KEY_COMMAND", "exit 3")
        .env("ENCRYPTION_KEY_OLD", bad)
        .args(["demo", "--rows", "40", "--dir"])
        .arg(&dir)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("the console needs a terminal"),
        "the demo's own keys load: {stderr}"
    );
    assert!(
        stderr.contains(
            "ignoring exported ENCRYPTION_KEY, ENCRYPTION_KEY_OLD, MASTER_ENCRYPTION_KEY_COMMAND \
             for the demo"
        ),
        "{stderr}"
    );
    assert!(!stderr.contains(bad), "no value shown: {stderr}");
    assert!(!stderr.contains(DEMO_PRIMARY_KEY) && !stderr.contains(DEMO_MASTER_KEY));
}

/// What the actions below could change: every rotation job, the key registry, the number of
/// audit entries, and which key encrypts each value of the first rows of every model.
async fn database_state(dir: &Path) -> (Vec<JobRow>, Vec<String>, usize, Vec<String>) {
    let store = Store::connect_url(&format!("sqlite://{}", dir.join("timber.db").display()))
        .await
        .unwrap();
    let jobs = store.rotation_jobs(500).await.unwrap();
    let keys = store
        .key_registry()
        .await
        .unwrap()
        .into_iter()
        .map(|k| format!("{} {} {}", k.key_id, k.fingerprint, k.status))
        .collect();
    let entries = timber::audit::query::list(&store, &AuditFilter::default(), None, 100_000)
        .await
        .unwrap()
        .len();
    let models = load_models(&[dir.join("models")]).unwrap();
    let mut cells = Vec::new();
    for model in &models.models {
        let page = store
            .page(model, &ring(), &PageRequest::first(60))
            .await
            .unwrap();
        for record in &page.records {
            for cell in &record.cells {
                if let Cell::Decrypted { key, .. } = cell {
                    cells.push(format!("{} {:?} {key}", model.name, record.id));
                }
            }
        }
    }
    store.close().await;
    (jobs, keys, entries, cells)
}

/// `timber` in the demo directory as a user runs it there: only its `.env` configures it
/// (role `support`, as the demo's console opens).
fn timber_in(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_timber"))
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .args(args)
        .output()
        .unwrap()
}

/// The demo's `support` role (its console's role) may reveal but not rotate, retire a key,
/// create tables or take over a job whose worker is gone: each is refused with one line
/// naming the role, the missing action and the policy file, exit 2, and the database is
/// unchanged. `security_admin`, which the demo policy grants every action, does each one.
#[test]
fn the_demo_support_role_may_not_rotate_retire_init_or_take_over() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    let rt = runtime();
    rt.block_on(generate(&options(&dir, 42))).unwrap();
    // A rotation whose process was killed: still `running`, its worker gone.
    let stale = rt.block_on(async {
        let store = Store::connect_url(&format!("sqlite://{}", dir.join("timber.db").display()))
            .await
            .unwrap();
        let worker = timber::rotation::worker_id();
        let (host, _) = worker.rsplit_once(':').unwrap();
        let id = store
            .rotation_create_job(
                "research_sessions",
                r#"["analysis_data"]"#,
                "primary",
                60,
                &format!("{host}:99999999"),
                "{}",
            )
            .await
            .unwrap();
        store.close().await;
        id.to_string()
    });
    let before = rt.block_on(database_state(&dir));
    let fresh = tmp.path().join("fresh.db");
    let fresh_url = format!("sqlite://{}", fresh.display());
    let attempts: [(&[&str], &str); 4] = [
        (&["rotate", "--all"], "rotate"),
        (&["keys", "retire", "old_1"], "retire"),
        (&["--database-url", &fresh_url, "init"], "init"),
        (&["rotate", "--resume", &stale], "rotate"),
    ];
    for (args, action) in attempts {
        let out = timber_in(&dir, args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: one line: {err}");
        assert!(
            err.starts_with("timber: role support may not ")
                && err.contains(&format!("policy.yaml grants it no \"{action}\" action")),
            "{args:?}: {err}"
        );
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    assert_eq!(
        rt.block_on(database_state(&dir)),
        before,
        "the database is unchanged"
    );
    assert!(!fresh.exists(), "init created nothing");

    // The role the demo policy grants them to.
    let admin = |args: &[&str]| {
        let mut all = vec!["--role", "security_admin"];
        all.extend_from_slice(args);
        timber_in(&dir, &all)
    };
    let init = admin(&["--database-url", &fresh_url, "init"]);
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    assert!(fresh.exists());
    // Planted undecryptable values are left as failures (exit 1), everything else rotates.
    let resumed = admin(&["rotate", "--resume", &stale]);
    assert!(
        matches!(resumed.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&resumed.stderr)
    );
    let all = admin(&["rotate", "--all"]);
    assert!(
        matches!(all.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&all.stderr)
    );
    let (jobs, ..) = rt.block_on(database_state(&dir));
    assert!(
        jobs.iter()
            .all(|j| j.status == timber::rotation::JobStatus::Completed),
        "{jobs:#?}"
    );
    let retire = admin(&["keys", "retire", "old_1"]);
    assert!(
        retire.status.success(),
        "{}",
        String::from_utf8_lossy(&retire.stderr)
    );
    let (_, keys, ..) = rt.block_on(database_state(&dir));
    assert!(
        keys.iter()
            .any(|k| k.starts_with("old_1 ") && k.ends_with(" retired")),
        "{keys:?}"
    );
}

/// The story's "before the last rotation" data: every value under the old key says it was
/// written between 2024-03-01 and 2025-12-31 (spread over many days), every value under the
/// primary key that it was written today, as the census and report then tell people.
#[test]
fn old_key_values_are_dated_before_the_last_rotation() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    let mut opts = options(&dir, 5);
    opts.rows = 400;
    let rt = runtime();
    rt.block_on(generate(&opts)).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let (era_from, era_until) = (1_709_251_200u64, 1_767_225_600u64);
    let models = load_models(&[dir.join("models")]).unwrap();
    let users = models.find("UserProfile").unwrap();
    let (old_days, current) = rt.block_on(async {
        let store = Store::connect_url(&format!("sqlite://{}", dir.join("timber.db").display()))
            .await
            .unwrap();
        let page = store
            .page(users, &ring(), &PageRequest::first(400))
            .await
            .unwrap();
        store.close().await;
        let mut old_days = std::collections::BTreeSet::new();
        let mut current = 0;
        for record in &page.records {
            for cell in &record.cells {
                let Cell::Decrypted { key, timestamp, .. } = cell else {
                    continue;
                };
                if key.to_string() == "old_1" {
                    assert!(
                        (era_from..era_until).contains(timestamp),
                        "an old-key value dated {timestamp}, outside 2024-03-01..2026-01-01"
                    );
                    old_days.insert(timestamp / 86_400);
                } else {
                    assert!(
                        timestamp.abs_diff(now) < 3600,
                        "a current value dated {timestamp}, not now ({now})"
                    );
                    current += 1;
                }
            }
        }
        (old_days, current)
    });
    assert!(
        old_days.len() >= 20,
        "about 15% of 400 rows are under the old key, on many days: {} days",
        old_days.len()
    );
    assert!(
        current > 600,
        "most values are under the primary: {current}"
    );
}
