//! `timber demo --database-url postgres://…|mysql://…` (issue 16, item 5): a presenter can
//! show PostgreSQL or MariaDB. The demo creates its own schema (database), fills it with the
//! planted problems `timber health` finds, and writes a `.env` that opens it; a schema that
//! holds tables is refused unless `--force`, which replaces only the demo's own tables. Each
//! test uses schema names of its own (parallel runs never collide) and drops them after.

use std::path::Path;
use std::process::{Command, Output};

use crate::store_support::{Kind, exec, unique_name};

fn admin_url(kind: Kind) -> Option<String> {
    let var = match kind {
        Kind::Postgres => "TIMBER_TEST_POSTGRES_URL",
        _ => "TIMBER_TEST_MYSQL_URL",
    };
    let url = std::env::var(var).ok();
    if url.is_none() {
        eprintln!("SKIP: {var} not set; {kind:?} demo not run");
    }
    url
}

fn demo(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_timber"))
        .current_dir(cwd)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .args(["demo", "--no-console", "--rows", "40"])
        .args(args)
        .output()
        .expect("run timber demo")
}

fn in_dir(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_timber"))
        .current_dir(dir)
        .env_clear()
        .args(["--env-file", ".env"])
        .args(args)
        .output()
        .expect("run timber")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Drops the schemas (databases) when the test ends, passed or not.
struct Cleanup {
    kind: Kind,
    admin: String,
    names: Vec<String>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        for name in &self.names {
            let sql = match self.kind {
                Kind::Postgres => format!("DROP SCHEMA IF EXISTS {name} CASCADE"),
                _ => format!("DROP DATABASE IF EXISTS {name}"),
            };
            rt.block_on(exec(self.kind, &self.admin, sql));
        }
    }
}

/// A table of "someone else" in schema `name`, with one row.
fn foreign_table(kind: Kind, admin: &str, name: &str) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let create = match kind {
        Kind::Postgres => format!("CREATE SCHEMA {name}"),
        _ => format!("CREATE DATABASE {name}"),
    };
    rt.block_on(exec(kind, admin, create));
    rt.block_on(exec(
        kind,
        admin,
        format!("CREATE TABLE {name}.customer_orders (id INT PRIMARY KEY)"),
    ));
    rt.block_on(exec(
        kind,
        admin,
        format!("INSERT INTO {name}.customer_orders (id) VALUES (7)"),
    ));
}

fn orders_left(kind: Kind, admin: &str, name: &str) -> bool {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // A statement that fails (panics in `exec`) when the table or its row is gone.
    let check = match kind {
        Kind::Postgres => format!(
            "DO $$ BEGIN IF (SELECT count(*) FROM {name}.customer_orders WHERE id = 7) <> 1 \
             THEN RAISE EXCEPTION 'row gone'; END IF; END $$"
        ),
        _ => format!("SELECT id FROM {name}.customer_orders WHERE id = 7 FOR UPDATE"),
    };
    rt.block_on(exec(kind, admin, check));
    true
}

fn server_demo(kind: Kind) {
    let Some(admin) = admin_url(kind) else {
        return;
    };
    let (schema, occupied) = (unique_name(), unique_name());
    let _cleanup = Cleanup {
        kind,
        admin: admin.clone(),
        names: vec![schema.clone(), occupied.clone()],
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    let dir_arg = dir.display().to_string();
    let shown = timber::config::redact_url(&admin);
    let place = match kind {
        Kind::Postgres => format!("schema `{schema}` on {shown}"),
        _ => format!("database `{schema}` on {shown}"),
    };

    let out = demo(
        tmp.path(),
        &[
            "--dir",
            &dir_arg,
            "--database-url",
            &admin,
            "--schema",
            &schema,
        ],
    );
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains(&format!("to {place}")), "{stderr}");
    assert!(
        stderr.contains("try:  cd ") && stderr.contains("timber --env-file .env"),
        "{stderr}"
    );
    assert!(
        !dir.join("timber.db").exists(),
        "no SQLite file for a server demo"
    );
    let env = std::fs::read_to_string(dir.join(".env")).unwrap();
    assert!(
        env.contains(&schema),
        "the .env opens the demo's schema: {env}"
    );

    // `timber` in the directory finds every planted problem on the server.
    let health = in_dir(&dir, &["health", "--format", "json"]);
    assert_eq!(health.status.code(), Some(2), "{}", text(&health.stderr));
    let report: serde_json::Value = serde_json::from_slice(&health.stdout).unwrap();
    let failing: Vec<&str> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["severity"] != "ok")
        .filter_map(|c| c["id"].as_str())
        .collect();
    for planted in [
        "data.plaintext",
        "data.undecryptable",
        "data.duplicate_token",
        "data.timestamps",
        "data.old_key",
        "data.undeclared_sensitive",
        "schema.legacy_hash",
        "schema.encrypted_indexed",
        "key.weak",
    ] {
        assert!(
            failing.contains(&planted),
            "{planted} not found: {failing:?}"
        );
    }
    let browse = in_dir(&dir, &["browse", "UserProfile", "--limit", "3"]);
    assert!(browse.status.success(), "{}", text(&browse.stderr));
    let audit = in_dir(&dir, &["audit", "--verify"]);
    assert!(audit.status.success(), "{}", text(&audit.stderr));

    // Again without --force: the demo's own schema is refused, nothing changes.
    let again = demo(
        tmp.path(),
        &[
            "--dir",
            &dir_arg,
            "--database-url",
            &admin,
            "--schema",
            &schema,
        ],
    );
    let err = text(&again.stderr);
    assert_eq!(again.status.code(), Some(2), "{err}");
    assert!(
        // Five model tables, the undeclared newsletter_signups, seven system tables.
        err.contains(&format!("{place} already holds 13 tables"))
            && err.contains("pass --force to replace the demo in it"),
        "{err}"
    );
    // With --force it is replaced.
    let forced = demo(
        tmp.path(),
        &[
            "--dir",
            &dir_arg,
            "--database-url",
            &admin,
            "--schema",
            &schema,
            "--force",
        ],
    );
    assert!(forced.status.success(), "{}", text(&forced.stderr));

    // A schema holding someone else's table is refused (nothing written at all), and with
    // --force the demo goes beside it, the table and its row left alone.
    foreign_table(kind, &admin, &occupied);
    let other_dir = tmp.path().join("beside");
    let other_arg = other_dir.display().to_string();
    let refused = demo(
        tmp.path(),
        &[
            "--dir",
            &other_arg,
            "--database-url",
            &admin,
            "--schema",
            &occupied,
        ],
    );
    let err = text(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{err}");
    assert!(
        err.contains("already holds 1 table (customer_orders)")
            && err.contains("only the demo's own tables are replaced"),
        "{err}"
    );
    assert!(!other_dir.exists(), "refused before writing the directory");
    let beside = demo(
        tmp.path(),
        &[
            "--dir",
            &other_arg,
            "--database-url",
            &admin,
            "--schema",
            &occupied,
            "--force",
        ],
    );
    assert!(beside.status.success(), "{}", text(&beside.stderr));
    assert!(orders_left(kind, &admin, &occupied));
    let browse = in_dir(&other_dir, &["browse", "UserProfile", "--limit", "1"]);
    assert!(browse.status.success(), "{}", text(&browse.stderr));
}

#[test]
fn demo_seeds_postgresql_into_a_schema_of_its_own() {
    server_demo(Kind::Postgres);
}

#[test]
fn demo_seeds_mariadb_into_a_database_of_its_own() {
    server_demo(Kind::Mysql);
}
