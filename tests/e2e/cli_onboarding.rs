//! Pointing timber at your own database from the README alone (issue 16, item 4): the
//! example model, policy and `.env` of `assets/example/`, `timber init --dry-run` (lists,
//! creates nothing), `timber init`, `timber health`; every command that needs the system
//! tables says to run `timber init` in one line, as `jobs` does; every settings error says
//! where the setting came from. On SQLite, PostgreSQL (a schema of its own) and MariaDB (a
//! database of its own).

use std::path::Path;
use std::process::{Command, Output};

use crate::cli_browse_support::{fixture_dir, stderr, stdout};
use crate::store_support::{Kind, TestDb};

const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/example");

/// The binary in `dir`, configured only by the dir's `.env` and `extra`.
fn timber(dir: &Path, args: &[&str], extra: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_timber"));
    cmd.current_dir(dir).env_clear().args(args);
    if let Ok(path) = std::env::var("PATH") {
        cmd.env("PATH", path);
    }
    for (k, v) in extra {
        cmd.env(k, v);
    }
    cmd.output().expect("run timber")
}

fn keygen(dir: &Path) -> String {
    stdout(&timber(dir, &["keygen"], &[])).trim().to_string()
}

/// The README's first step: models and policy copied from `assets/example/`, and `.env`
/// made from its `env.example` with the URL and fresh keys filled in.
fn readme_dir(url: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir(d.join("models")).unwrap();
    std::fs::copy(
        Path::new(EXAMPLE).join("models/customers.yaml"),
        d.join("models/customers.yaml"),
    )
    .unwrap();
    std::fs::copy(
        Path::new(EXAMPLE).join("policy.yaml"),
        d.join("policy.yaml"),
    )
    .unwrap();
    let example = std::fs::read_to_string(Path::new(EXAMPLE).join("env.example")).unwrap();
    let today = chrono::Utc::now().date_naive().to_string();
    let (primary, master) = (keygen(d), keygen(d));
    let env: String = example
        .lines()
        .map(|line| match line.split_once('=') {
            Some(("DATABASE_URL", _)) => format!("DATABASE_URL={url}"),
            // The test servers speak plain TCP on loopback.
            Some(("REQUIRE_SSL", _)) => "REQUIRE_SSL=false".to_string(),
            Some(("ENCRYPTION_KEY", _)) => format!("ENCRYPTION_KEY={primary}"),
            Some(("MASTER_ENCRYPTION_KEY", _)) => format!("MASTER_ENCRYPTION_KEY={master}"),
            Some(("KEY_ROTATION_DATE", _)) => format!("KEY_ROTATION_DATE={today}"),
            _ => line.to_string(),
        })
        .map(|line| line + "\n")
        .collect();
    std::fs::write(d.join(".env"), env).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(d.join(".env"), std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    dir
}

/// The one line every command gives on a database without the system tables.
fn says_run_init(out: &Output, shown_url: &str, what: &str) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(2), "{what}: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{what}: one line: {err}");
    assert!(
        err.contains(&format!(
            "failed: the system table is missing in {shown_url} (run `timber init`)"
        )),
        "{what}: {err}"
    );
    assert!(
        !err.contains("no such table") && !err.contains("doesn't exist") && !err.contains("code"),
        "{what}: no raw driver error: {err}"
    );
}

/// The README journey on one backend: dry run (nothing created), init, dry run again
/// (everything exists), health clean, the console's data readable by `browse`.
fn journey(url: &str, shown_url: &str) {
    let dir = readme_dir(url);
    let d = dir.path();

    let plan = timber(d, &["init", "--dry-run"], &[]);
    assert!(plan.status.success(), "{}", stderr(&plan));
    let listed = stdout(&plan);
    for line in [
        "would create table  customers",
        "would create index  ix_customers_email_hash on customers",
        "would create table  timber_audit_log",
        "would create table  timber_rotation_jobs",
    ] {
        assert!(listed.contains(line), "missing `{line}`:\n{listed}");
    }
    assert!(
        stderr(&plan).contains("nothing was changed"),
        "{}",
        stderr(&plan)
    );
    // Nothing was created: the commands that need the system tables still say so.
    says_run_init(
        &timber(d, &["audit"], &[]),
        shown_url,
        "audit after --dry-run",
    );
    says_run_init(
        &timber(d, &["jobs"], &[]),
        shown_url,
        "jobs after --dry-run",
    );
    let browse = timber(d, &["browse", "Customer"], &[]);
    assert!(
        stderr(&browse).contains("table `customers` for model Customer does not exist"),
        "{}",
        stderr(&browse)
    );

    // The default role may not create tables; the policy's admin may.
    let refused = timber(d, &["init"], &[]);
    assert!(
        stderr(&refused).contains("role viewer may not"),
        "{}",
        stderr(&refused)
    );
    let init = timber(d, &["--role", "admin", "init"], &[]);
    assert!(init.status.success(), "{}", stderr(&init));
    assert!(stdout(&init).contains("created  table  customers"));

    let again = timber(d, &["init", "--dry-run"], &[]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(
        stdout(&again).lines().all(|l| l.starts_with("exists ")),
        "after init everything exists:\n{}",
        stdout(&again)
    );

    let health = timber(d, &["health"], &[]);
    assert_eq!(
        health.status.code(),
        Some(0),
        "{}{}",
        stdout(&health),
        stderr(&health)
    );
    let jobs = timber(d, &["jobs"], &[]);
    assert_eq!(
        stdout(&jobs).trim(),
        "no rotation jobs",
        "{}",
        stderr(&jobs)
    );
    let audit = timber(d, &["audit"], &[]);
    assert!(audit.status.success(), "{}", stderr(&audit));
}

#[test]
fn the_readme_journey_on_a_new_sqlite_database() {
    let url = "sqlite://app.db";
    let dir = readme_dir(url);
    // A dry run on a file that does not exist yet plans against an empty database and does
    // not create the file.
    let plan = timber(dir.path(), &["init", "--dry-run"], &[]);
    assert!(plan.status.success(), "{}", stderr(&plan));
    assert!(
        !dir.path().join("app.db").exists(),
        "--dry-run created the database file"
    );
    assert!(
        stderr(&plan).contains("app.db does not exist yet; init would create it"),
        "{}",
        stderr(&plan)
    );
    drop(dir);
    // On an existing (empty) file, the whole journey.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("app.db");
    std::fs::write(&file, "").unwrap();
    let url = format!("sqlite://{}", file.display());
    journey(&url, &url);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_journey_on_postgresql_and_mariadb() {
    for kind in [Kind::Postgres, Kind::Mysql] {
        let Some(db) = TestDb::new(kind).await else {
            continue;
        };
        let url = db.url.clone();
        let shown = timber::config::redact_url(&url);
        tokio::task::spawn_blocking(move || journey(&url, &shown))
            .await
            .unwrap();
        db.drop_all().await;
    }
}

/// A database Python Timber wrote, before `timber init`: each command that needs a system
/// table (the audit log, the jobs, the key registry) gives the same one line, and
/// `init --dry-run` leaves the file byte for byte as it was.
#[test]
fn every_command_needing_the_system_tables_says_run_timber_init() {
    let dir = fixture_dir();
    let d = dir.path();
    let before = std::fs::read(d.join("app.db")).unwrap();
    for args in [
        &["jobs"][..],
        &["audit"],
        &["audit", "--verify"],
        &["audit", "--follow"],
        &["audit", "--show", "1"],
        &["audit", "prove", "1"],
        &["audit", "export"],
        &["keys", "list"],
        &["rotate", "--all"],
        &["browse", "UserProfile", "--reveal", "--reason", "r"],
    ] {
        let out = timber(d, args, &[]);
        says_run_init(&out, "sqlite://app.db", &args.join(" "));
    }

    let plan = timber(d, &["init", "--dry-run"], &[]);
    assert!(plan.status.success(), "{}", stderr(&plan));
    let listed = stdout(&plan);
    assert!(
        listed.contains("exists       table  user_profiles")
            && listed.contains("would create table  timber_audit_log")
            && listed.contains("would create index  ix_timber_rotation_jobs_status"),
        "{listed}"
    );
    assert_eq!(
        std::fs::read(d.join("app.db")).unwrap(),
        before,
        "--dry-run changed the database file"
    );
    assert!(
        !d.join("app.db-wal").exists()
            || std::fs::metadata(d.join("app.db-wal")).unwrap().len() == 0,
        "--dry-run wrote to the write-ahead log"
    );
}

/// The settings errors of a first setup, as the binary prints them from `./.env`.
#[test]
fn settings_errors_from_dot_env_say_where_the_setting_came_from() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let run = |args: &[&str]| {
        let out = timber(d, args, &[]);
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        stderr(&out).trim_end().to_string()
    };
    // No .env and no models: the default, and how to change it.
    assert_eq!(
        run(&["census"]),
        "timber: model directory ./data/models (the default; set TIMBER_MODELS or --models) does not exist"
    );
    std::fs::write(
        d.join(".env"),
        "TIMBER_MODELS=models\nTIMBER_POLICY=policy.yaml\n",
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(d.join(".env"), std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    assert_eq!(
        run(&["census"]),
        "timber: model directory models (TIMBER_MODELS from ./.env) does not exist"
    );
    std::fs::create_dir(d.join("models")).unwrap();
    let policy = run(&["info"]);
    assert!(
        policy.starts_with(
            "timber: TIMBER_POLICY=policy.yaml from ./.env: cannot read policy file policy.yaml: "
        ),
        "{policy}"
    );
    std::fs::write(
        d.join("policy.yaml"),
        "default_role: v\nroles:\n  v: {default: redact}\n",
    )
    .unwrap();
    assert_eq!(
        run(&["jobs"]),
        "timber: cannot connect to sqlite://timber.db: no database file at timber.db (run `timber init` to create it); \
         the URL is the default DATABASE_URL (set DATABASE_URL or --database-url)"
    );
}
