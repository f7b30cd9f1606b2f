//! The rotating process is killed with SIGKILL at random moments, then resumed: every value
//! still decrypts (with the new key alone) to its original plaintext, none is encrypted
//! twice, the counters are exact (each row counted once although batches were redone), and
//! the job completes. On SQLite and on PostgreSQL.
//!
//! Size: a few thousand rows and 3 kills by default; `TIMBER_ROTATION_KILL_ROWS` and
//! `TIMBER_ROTATION_KILLS` make the big run recorded in BENCHMARKS.md.

use crate::rotation_support;
use crate::store_support;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::Duration;

use crate::rotation_only::*;
use rand::Rng;
use rotation_support::*;
use store_support::Kind;

fn env_number(name: &str, default: i64) -> i64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Runs `timber rotate ...` and SIGKILLs it after `after_batches` committed batches plus a
/// random few milliseconds (so the kill lands inside a batch as often as between two).
/// Returns the job id it announced, if it got that far, and whether it finished first.
fn run_and_kill(dir: &std::path::Path, args: &[&str], after_batches: usize) -> (Option<i64>, bool) {
    let mut child = timber_cmd(dir, args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start timber rotate");
    let stdout = child.stdout.take().expect("stdout");
    let (mut job, mut batches, mut finished) = (None, 0, false);
    for line in BufReader::new(stdout).lines() {
        let Ok(line) = line else { break };
        let event: serde_json::Value = serde_json::from_str(&line).expect("JSON line");
        match event["event"].as_str() {
            Some("started") => job = event["job"].as_i64(),
            Some("batch") => batches += 1,
            Some("done") => finished = true,
            _ => {}
        }
        if finished || batches >= after_batches {
            break;
        }
    }
    std::thread::sleep(Duration::from_millis(rand::rng().random_range(0..8)));
    // `Child::kill` is SIGKILL on Unix: no destructor, no rollback handler runs.
    let _ = child.kill();
    let _ = child.wait();
    (job, finished)
}

pub(crate) fn job_row(dir: &std::path::Path, job: i64) -> serde_json::Value {
    let out = timber(dir, &["jobs", "--format", "json", "--limit", "50"]);
    assert!(out.status.success(), "timber jobs: {}", stderr(&out));
    json_lines(&out)
        .into_iter()
        .find(|j| j["id"] == job)
        .expect("job listed")
}

fn kill_and_resume(kind: Kind) {
    let rt = runtime();
    let Some(db) = rt.block_on(new_db(kind)) else {
        return;
    };
    let rows = env_number("TIMBER_ROTATION_KILL_ROWS", 3000);
    let kills = env_number("TIMBER_ROTATION_KILLS", 3);
    let store = rt.block_on(db.store());
    rt.block_on(seed(&store, rows, 10));
    let current = rows / 10;
    let dir = env_dir(&db.url);
    let batch = if rows > 20_000 { "500" } else { "25" };
    let start = [
        "rotate", "--model", "Secret", "--batch", batch, "--format", "json",
    ];
    let mut job: Option<i64> = None;
    for kill in 0..kills {
        let after = rand::rng().random_range(1..=4);
        let (announced, finished) = match job {
            None => run_and_kill(dir.path(), &start, after),
            Some(id) => {
                let id_text = id.to_string();
                run_and_kill(
                    dir.path(),
                    &["rotate", "--resume", &id_text, "--format", "json"],
                    after,
                )
            }
        };
        assert!(
            !finished,
            "kill {kill}: the job finished before it could be killed; use more rows"
        );
        job = job.or(announced);
        let id = job.expect("the first run announced its job before its first batch");
        let row = job_row(dir.path(), id);
        assert_eq!(
            row["status"], "running",
            "a killed job stays marked running"
        );
        assert_eq!(row["worker_alive"], false, "its worker is known to be gone");
    }
    let id = job.expect("job").to_string();
    // Taking the dead worker's job over needs `takeover_job` as well as `rotate`: a role
    // without either is refused with one line, and the job is left exactly as it was.
    let stale = job_row(dir.path(), job.expect("job"));
    for (role, missing) in [("rotator", "takeover_job"), ("support", "rotate")] {
        let refused = timber(
            dir.path(),
            &[
                "--role", role, "rotate", "--resume", &id, "--format", "json",
            ],
        );
        assert_eq!(
            refused.status.code(),
            Some(2),
            "{role}: {}",
            stderr(&refused)
        );
        let err = stderr(&refused);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.contains(&format!("role {role} may not"))
                && err.contains(&format!("policy.yaml grants it no \"{missing}\" action")),
            "{err}"
        );
        assert!(json_lines(&refused).is_empty(), "no rotation event");
        let after = job_row(dir.path(), job.expect("job"));
        for field in ["status", "worker", "cursor", "rows_done", "worker_alive"] {
            assert_eq!(after[field], stale[field], "{role}: {field} changed");
        }
    }
    let out = timber(dir.path(), &["rotate", "--resume", &id, "--format", "json"]);
    assert!(
        out.status.success(),
        "final resume failed: {}",
        stderr(&out)
    );
    let done = json_lines(&out).pop().expect("events");
    assert_eq!(done["event"], "done");
    assert_eq!(done["status"], "completed");
    assert_eq!(done["rows_total"], rows);
    assert_eq!(
        done["rows_done"],
        rows - current,
        "each old-key row counted once"
    );
    assert_eq!(
        done["rows_skipped"], current,
        "rows already under the new key skipped"
    );
    assert_eq!(done["rows_failed"], 0);
    rt.block_on(assert_all_under_new_key(&store, rows, &HashMap::new()));
    // A second run finds nothing to do: nothing is re-encrypted twice.
    let again = timber(
        dir.path(),
        &["rotate", "--model", "Secret", "--format", "json"],
    );
    let done = json_lines(&again).pop().expect("events");
    assert_eq!(done["rows_done"], 0, "{}", stderr(&again));
    assert_eq!(done["rows_skipped"], rows);
    eprintln!("rotation_kill {kind:?}: {rows} rows, {kills} kills, resumed to completion");
    rt.block_on(store.close());
    rt.block_on(db.drop_all());
}

#[test]
fn sqlite_rotation_survives_sigkill_and_resumes_exactly() {
    kill_and_resume(Kind::Sqlite);
}

#[test]
fn postgres_rotation_survives_sigkill_and_resumes_exactly() {
    kill_and_resume(Kind::Postgres);
}

#[test]
fn mariadb_rotation_survives_sigkill_and_resumes_exactly() {
    kill_and_resume(Kind::Mysql);
}
