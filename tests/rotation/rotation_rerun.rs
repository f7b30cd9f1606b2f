//! Crash takeover by rerunning (issue 18 item 3): `timber rotate --all` is killed with
//! SIGKILL part-way, and the very same command run again (no `--resume`) adopts the job
//! whose worker is gone, says so, and finishes every model; every value then decrypts
//! under the new key alone to its original plaintext. A job whose worker is alive is
//! refused naming that worker, and adopting needs the `takeover_job` grant like `--resume`.
//! On SQLite, PostgreSQL and MariaDB.

use crate::rotation_support;
use crate::store_support;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};

use crate::rotation_only::*;
use rotation_support::*;
use store_support::Kind;
use timber::config::ModelDef;
use timber::crypto::KeyId;
use timber::store::{Cell, PageRequest, Store};
use timber::value::Value;

/// A second model like `Secret`, on its own table, so `--all` runs two jobs.
const LETTERS: &str = r#"
models:
  - name: Letter
    table_name: letters
    columns:
      - { name: id, type: Integer, primary_key: true }
      - { name: user_id, type: String(36) }
      - { name: email, type: String(255), encrypted: true, blind_index: email_bidx }
      - { name: email_bidx, type: String(64), indexed: true }
      - { name: notes, type: Text, encrypted: true }
      - { name: profile, type: JSON, encrypted: true }
"#;

const ROWS: i64 = 600;

fn letters() -> ModelDef {
    crate::fixture::models(LETTERS).remove(0)
}

/// Both models' tables, every row under the old key except every tenth.
async fn seed_both(store: &Store) {
    seed(store, ROWS, 10).await;
    let model = letters();
    store
        .init(std::slice::from_ref(&model))
        .await
        .expect("init letters");
    let (old, new): (Vec<i64>, Vec<i64>) = (1..=ROWS).partition(|i| i % 10 != 0);
    for (ids, ring) in [(old, ring_old()), (new, ring_new_only())] {
        let rows: Vec<_> = ids.into_iter().map(row_values).collect();
        store
            .insert_many(&model, &ring, &rows, None)
            .await
            .expect("seed letters");
    }
}

/// Every encrypted value of `model` reads with the new key alone as what was written.
async fn assert_under_new_key(store: &Store, model: &ModelDef) {
    let ring = ring_new_only();
    let mut request = Some(PageRequest::first(500));
    let mut seen = 0;
    while let Some(req) = request {
        let page = store.page(model, &ring, &req).await.expect("page");
        for record in &page.records {
            let Value::Int(id) = record.id else {
                panic!("integer ids")
            };
            for (name, want) in row_values(id)
                .into_iter()
                .filter(|(n, _)| ["email", "notes", "profile"].contains(&n.as_str()))
            {
                match record.cell(model, &name) {
                    Some(Cell::Decrypted { value, key, .. }) => {
                        assert_eq!(value, &want, "{} row {id} {name}", model.name);
                        assert_eq!(key, &KeyId::Primary, "{} row {id} {name}", model.name);
                    }
                    other => panic!("{} row {id} {name}: {other:?}", model.name),
                }
            }
            seen += 1;
        }
        request = page.next(500);
    }
    assert_eq!(seen, ROWS, "{}: every row still there", model.name);
}

/// The env dir of `env_dir` with the second model beside `Secret`.
fn two_model_dir(url: &str) -> tempfile::TempDir {
    let dir = env_dir(url);
    std::fs::write(dir.path().join("models/letters.yaml"), LETTERS).unwrap();
    dir
}

/// Starts `timber rotate ARGS --format json` and reads its events until `batches` batch
/// events have arrived; returns the child (still running) and the first job's `started`
/// event.
fn start_until(dir: &Path, args: &[&str], batches: usize) -> (Child, serde_json::Value) {
    let mut child = timber_cmd(dir, args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start timber rotate");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let (mut job, mut seen) = (None, 0);
    while seen < batches {
        let line = lines
            .next()
            .expect("the rotation ended before it could be stopped; use more rows")
            .expect("stdout line");
        let event: serde_json::Value = serde_json::from_str(&line).expect("JSON line");
        match event["event"].as_str() {
            Some("started") => job = job.or(Some(event)),
            Some("batch") => seen += 1,
            Some("done") => panic!("a job finished before the kill: {event}"),
            _ => {}
        }
    }
    // Keep draining so the child never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (child, job.expect("a started event came first"))
}

fn jobs(dir: &Path) -> Vec<serde_json::Value> {
    let out = timber(dir, &["jobs", "--format", "json", "--limit", "50"]);
    assert!(out.status.success(), "timber jobs: {}", stderr(&out));
    json_lines(&out)
}

fn rerun_after_kill(kind: Kind) {
    let rt = runtime();
    let Some(db) = rt.block_on(new_db(kind)) else {
        return;
    };
    let store = rt.block_on(db.store());
    rt.block_on(seed_both(&store));
    let dir = two_model_dir(&db.url);
    let run = ["rotate", "--all", "--batch", "25"];
    let json_run = [&run[..], &["--format", "json"]].concat();

    let (mut child, started) = start_until(dir.path(), &json_run, 3);
    let job = started["job"].as_i64().expect("job id");
    let (model_name, table) = (
        started["model"].as_str().expect("model").to_string(),
        started["table"].as_str().expect("table").to_string(),
    );
    let pid = child.id();
    // `Child::kill` is SIGKILL on Unix: no destructor runs, the batch in flight rolls back.
    child.kill().expect("kill -9");
    child.wait().expect("reaped");
    let killed = jobs(dir.path())
        .into_iter()
        .find(|j| j["id"] == job)
        .expect("the killed job is listed");
    assert_eq!(killed["status"], "running", "{killed}");
    assert_eq!(killed["worker_alive"], false, "{killed}");
    let worker = killed["worker"].as_str().expect("worker").to_string();
    assert!(
        worker.ends_with(&format!(":{pid}")),
        "{worker} is the killed process"
    );

    // Adopting is a takeover: a role without `takeover_job` is refused, the job untouched.
    let refused = timber(
        dir.path(),
        &["--role", "rotator", "rotate", "--model", &model_name],
    );
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    assert!(
        stderr(&refused).contains("grants it no \"takeover_job\" action"),
        "{}",
        stderr(&refused)
    );
    let untouched = jobs(dir.path())
        .into_iter()
        .find(|j| j["id"] == job)
        .expect("listed");
    assert_eq!(untouched["worker"], killed["worker"]);
    assert_eq!(untouched["cursor"], killed["cursor"]);

    // The same command again, no --resume: it adopts the job, says so, and finishes all.
    let out = timber(dir.path(), &run);
    let err = stderr(&out);
    assert!(out.status.success(), "rerun failed: {err}");
    assert!(
        err.contains(&format!(
            "resuming job {job} of `{table}` (worker {worker} gone, last heartbeat "
        )),
        "{err}"
    );
    assert!(!err.contains("unfinished"), "{err}");
    let listed = jobs(dir.path());
    let adopted = listed.iter().find(|j| j["id"] == job).expect("listed");
    assert_eq!(adopted["status"], "completed", "{adopted}");
    assert_eq!(
        adopted["rows_done"],
        ROWS - ROWS / 10,
        "each row counted once"
    );
    assert_eq!(adopted["rows_skipped"], ROWS / 10);
    assert_eq!(adopted["rows_failed"], 0);
    let other = if table == "letters" {
        "secrets"
    } else {
        "letters"
    };
    let other_job = listed
        .iter()
        .find(|j| j["table"] == other && j["status"] == "completed")
        .expect("the other model ran to completion too");
    assert_eq!(other_job["rows_done"], ROWS - ROWS / 10);
    assert!(
        listed
            .iter()
            .all(|j| j["status"] == "completed" || j["id"] == job),
        "no job left unfinished: {listed:?}"
    );
    rt.block_on(assert_under_new_key(&store, &model()));
    rt.block_on(assert_under_new_key(&store, &letters()));
    rt.block_on(store.close());
    rt.block_on(db.drop_all());
}

#[test]
fn sqlite_rerunning_rotate_all_after_a_kill_adopts_the_job_and_finishes_every_model() {
    rerun_after_kill(Kind::Sqlite);
}

#[test]
fn postgres_rerunning_rotate_all_after_a_kill_adopts_the_job_and_finishes_every_model() {
    rerun_after_kill(Kind::Postgres);
}

#[test]
fn mariadb_rerunning_rotate_all_after_a_kill_adopts_the_job_and_finishes_every_model() {
    rerun_after_kill(Kind::Mysql);
}

#[test]
fn a_job_whose_worker_is_alive_is_refused_naming_the_worker() {
    let rt = runtime();
    let db = rt.block_on(new_db(Kind::Sqlite)).expect("SQLite");
    let store = rt.block_on(db.store());
    rt.block_on(seed(&store, 200, 10));
    let dir = env_dir(&db.url);
    let slow = [
        "rotate",
        "--model",
        "Secret",
        "--max-rate",
        "20",
        "--format",
        "json",
    ];
    let (mut child, started) = start_until(dir.path(), &slow, 1);
    let job = started["job"].as_i64().expect("job id");
    let out = timber(dir.path(), &["rotate", "--model", "Secret"]);
    let _ = child.kill();
    let _ = child.wait();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!("rotation job {job} running in worker "))
            && err.contains(&format!(":{} (last heartbeat", child.id())),
        "{err}"
    );
    rt.block_on(store.close());
}
