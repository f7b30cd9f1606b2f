//! A running job's rate limit changed from outside (issue 18 item 4): `timber jobs set JOB
//! --max-rate N` writes it to the job's row, the job's worker (another process) picks it up
//! at its next look at the table, says so (`{"event": "rate"}`) and runs at it; the batches
//! it commits meanwhile never write the old rate back. A finished job is refused, and so is
//! a bad value, naming the flag.

use crate::rotation_support;
use crate::store_support;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::rotation_only::*;
use rotation_support::*;
use store_support::Kind;

fn job_row(dir: &std::path::Path, job: i64) -> serde_json::Value {
    let out = timber(dir, &["jobs", "--format", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    json_lines(&out)
        .into_iter()
        .find(|j| j["id"] == job)
        .expect("job listed")
}

fn live_rate_change(kind: Kind) {
    let rt = runtime();
    let Some(db) = rt.block_on(new_db(kind)) else {
        return;
    };
    let store = rt.block_on(db.store());
    // At 10 rows/s these 400 rows would take 40 s; at 5000 rows/s well under a second.
    rt.block_on(seed(&store, 400, 10));
    let dir = env_dir(&db.url);
    let mut child = timber_cmd(
        dir.path(),
        &[
            "rotate",
            "--model",
            "Secret",
            "--max-rate",
            "10",
            "--format",
            "json",
        ],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::null())
    .spawn()
    .expect("start timber rotate");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut job = None;
    let mut next_event = || -> serde_json::Value {
        let line = lines.next().expect("an event").expect("stdout line");
        serde_json::from_str(&line).expect("JSON line")
    };
    while job.is_none() {
        let event = next_event();
        assert_ne!(event["event"], "done", "{event}");
        if event["event"] == "batch" {
            job = event["job"].as_i64();
        }
    }
    let job = job.expect("job");
    assert_eq!(job_row(dir.path(), job)["max_rate"], 10);

    let id = job.to_string();
    let set = timber(dir.path(), &["jobs", "set", &id, "--max-rate", "5000"]);
    assert!(set.status.success(), "{}", stderr(&set));
    let said = String::from_utf8_lossy(&set.stdout);
    assert!(
        said.contains(&format!(
            "job {job} (secrets): max rate 5000 rows/s (was 10 rows/s)"
        )),
        "{said}"
    );

    let asked = Instant::now();
    let (mut rate_event, mut done) = (None, None);
    while done.is_none() {
        let event = next_event();
        match event["event"].as_str() {
            Some("rate") => rate_event = Some(event),
            Some("done") => done = Some(event),
            _ => {}
        }
    }
    let _ = child.wait();
    let rate_event = rate_event.expect("the worker said it runs at the new rate");
    assert_eq!(rate_event["job"], job);
    assert_eq!(rate_event["max_rate"], 5000);
    let done = done.expect("done");
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["rows_done"], 360);
    // At the old rate the rest would have taken over 30 s.
    assert!(
        asked.elapsed() < Duration::from_secs(20),
        "the job kept its old rate: {:?}",
        asked.elapsed()
    );
    // Every batch after the change kept the operator's rate in the row.
    assert_eq!(job_row(dir.path(), job)["max_rate"], 5000);

    // A completed job has no rate to set; a bad value is refused naming the flag.
    let late = timber(dir.path(), &["jobs", "set", &id, "--max-rate", "5"]);
    assert_eq!(late.status.code(), Some(2));
    assert!(stderr(&late).contains("is completed"), "{}", stderr(&late));
    let bad = timber(dir.path(), &["jobs", "set", &id, "--max-rate", "-5"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("--max-rate"), "{}", stderr(&bad));
    rt.block_on(store.close());
    rt.block_on(db.drop_all());
}

#[test]
fn sqlite_jobs_set_changes_a_running_jobs_rate() {
    live_rate_change(Kind::Sqlite);
}

#[test]
fn postgres_jobs_set_changes_a_running_jobs_rate() {
    live_rate_change(Kind::Postgres);
}

#[test]
fn mariadb_jobs_set_changes_a_running_jobs_rate() {
    live_rate_change(Kind::Mysql);
}
