//! The rotation rate limit (`timber rotate --max-rate N`, `ROTATION_MAX_ROWS_PER_SECOND`):
//! a limited job works in batches of at most N rows, so its progress arrives in several
//! steps and the jobs table shows it part-way; a resumed job keeps the rate it was started
//! with; the plan reports the rate; bad values are refused naming the flag or the setting.
//! Behaviour only: no wall-clock duration is asserted.

use crate::rotation_support;
use crate::store_support;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Stdio;

use crate::rotation_only::*;
use rotation_support::*;
use store_support::Kind;

const RATE: i64 = 20;
const ROWS: i64 = 3 * RATE;

/// Events of a `timber rotate --format json` run; `on_batch` sees each batch event as it
/// arrives (while the job still runs).
fn run_events(
    dir: &Path,
    args: &[&str],
    mut on_batch: impl FnMut(&serde_json::Value),
) -> Vec<serde_json::Value> {
    let mut child = timber_cmd(dir, args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start timber rotate");
    let stdout = child.stdout.take().expect("stdout");
    let mut events = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let event: serde_json::Value =
            serde_json::from_str(&line.expect("stdout line")).expect("JSON line");
        if event["event"] == "batch" {
            on_batch(&event);
        }
        events.push(event);
    }
    let out = child.wait_with_output().expect("timber rotate ends");
    assert!(out.status.success(), "rotate failed: {}", stderr(&out));
    events
}

fn handled(event: &serde_json::Value) -> i64 {
    ["rows_done", "rows_skipped", "rows_failed"]
        .iter()
        .map(|k| event[k].as_i64().unwrap_or(0))
        .sum()
}

/// Batches' sizes, from the running totals of the batch events (`base`: the job's total
/// before this run).
fn batch_sizes(events: &[serde_json::Value], base: i64) -> Vec<i64> {
    let mut last = base;
    events
        .iter()
        .filter(|e| e["event"] == "batch")
        .map(|e| {
            let now = handled(e);
            let size = now - last;
            last = now;
            size
        })
        .collect()
}

#[test]
fn a_limited_job_moves_in_batches_of_at_most_the_rate_and_is_seen_part_way() {
    let rt = runtime();
    let db = rt
        .block_on(new_db(Kind::Sqlite))
        .expect("SQLite is always there");
    let store = rt.block_on(db.store());
    rt.block_on(seed(&store, ROWS, 10));
    let dir = env_dir(&db.url);
    let rate = RATE.to_string();
    let mut seen_part_way = None;
    let events = run_events(
        dir.path(),
        &[
            "rotate",
            "--model",
            "Secret",
            "--max-rate",
            &rate,
            "--format",
            "json",
        ],
        |batch| {
            // The first batch's event: the job is still running, and the jobs table (as
            // another process sees it) holds a part-way count.
            if seen_part_way.is_none() {
                let id = batch["job"].as_i64().expect("job id");
                let row = rt
                    .block_on(store.rotation_job(id))
                    .expect("read the jobs table")
                    .expect("the job is listed");
                seen_part_way = Some((
                    row.status,
                    row.rows_done + row.rows_skipped + row.rows_failed,
                ));
            }
        },
    );
    let started = &events[0];
    assert_eq!(started["event"], "started");
    assert_eq!(started["max_rate"], RATE, "the job announces its limit");
    let sizes = batch_sizes(&events, 0);
    assert!(
        sizes.len() >= 3,
        "{ROWS} rows at {RATE}/s: batches {sizes:?}"
    );
    assert!(
        sizes.iter().all(|s| *s <= RATE),
        "no batch exceeds one second of the rate: {sizes:?}"
    );
    // The rate shown beside `limited to N rows/s` is the rate the job keeps, not the speed
    // of a batch that then waited; the ETA follows from it.
    for batch in events.iter().filter(|e| e["event"] == "batch") {
        let rate = batch["rate"].as_f64().expect("a batch reports its rate");
        assert!(
            rate > 0.0 && rate <= RATE as f64 * 1.01,
            "a job limited to {RATE} rows/s reported {rate} rows/s: {batch}"
        );
        let left = ROWS - handled(batch);
        if let Some(eta) = batch["eta_seconds"].as_f64() {
            assert!(
                eta + 0.01 >= left as f64 / RATE as f64,
                "{left} rows left at {RATE}/s cannot take {eta} s: {batch}"
            );
        }
    }
    let (status, handled_then) = seen_part_way.expect("a batch event was seen");
    assert_eq!(
        status,
        timber::rotation::JobStatus::Running,
        "observed mid-run"
    );
    assert!(
        handled_then > 0 && handled_then < ROWS,
        "the jobs table showed the job part-way, not {handled_then} of {ROWS}"
    );
    let done = events.last().expect("events");
    assert_eq!(done["event"], "done");
    assert_eq!(done["status"], "completed");
    assert_eq!(handled(done), ROWS);
    rt.block_on(assert_all_under_new_key(&store, ROWS, &Default::default()));
}

#[test]
fn a_resumed_job_keeps_the_rate_it_was_started_with() {
    let rt = runtime();
    let db = rt
        .block_on(new_db(Kind::Sqlite))
        .expect("SQLite is always there");
    let store = rt.block_on(db.store());
    rt.block_on(seed(&store, ROWS, 10));
    let dir = env_dir(&db.url);
    // Started limited, killed after its first batch (a SIGKILL: nothing is tidied up).
    let (id, base) = start_limited_then_kill(dir.path());
    // Resumed with no --max-rate and no setting: the job's own rate still holds.
    let events = run_events(
        dir.path(),
        &["rotate", "--resume", &id, "--format", "json"],
        |_| {},
    );
    assert_eq!(events[0]["event"], "started");
    assert_eq!(events[0]["resumed"], true);
    assert_eq!(events[0]["max_rate"], RATE, "the rate it was started with");
    let sizes = batch_sizes(&events, base);
    assert!(
        !sizes.is_empty() && sizes.iter().all(|s| *s <= RATE),
        "resumed batches stay within the rate: {sizes:?}"
    );
    let done = events.last().expect("events");
    assert_eq!(done["status"], "completed");
}

#[test]
fn an_explicit_max_rate_on_resume_replaces_the_stored_rate() {
    let rt = runtime();
    let db = rt
        .block_on(new_db(Kind::Sqlite))
        .expect("SQLite is always there");
    let store = rt.block_on(db.store());
    rt.block_on(seed(&store, ROWS, 10));
    let dir = env_dir(&db.url);
    let (id, base) = start_limited_then_kill(dir.path());
    // The operator speeds the job up on resume: the new rate replaces the stored one.
    let events = run_events(
        dir.path(),
        &[
            "rotate",
            "--resume",
            &id,
            "--max-rate",
            "1000",
            "--format",
            "json",
        ],
        |_| {},
    );
    assert_eq!(events[0]["event"], "started");
    assert_eq!(events[0]["resumed"], true);
    assert_eq!(events[0]["max_rate"], 1000, "the rate asked for on resume");
    let sizes = batch_sizes(&events, base);
    assert!(
        sizes.iter().any(|s| *s > RATE),
        "resumed batches are no longer held to the old rate of {RATE}: {sizes:?}"
    );
    assert_eq!(events.last().expect("events")["status"], "completed");
    rt.block_on(assert_all_under_new_key(&store, ROWS, &Default::default()));
}

/// Starts `rotate --model Secret --max-rate RATE` and kills it (SIGKILL: nothing is tidied
/// up) right after its first batch; returns the job id and the rows handled by then.
fn start_limited_then_kill(dir: &Path) -> (String, i64) {
    let rate = RATE.to_string();
    let args = [
        "rotate",
        "--model",
        "Secret",
        "--max-rate",
        &rate,
        "--format",
        "json",
    ];
    let mut child = timber_cmd(dir, &args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start timber rotate");
    let (mut job, mut base) = (None, 0);
    for line in BufReader::new(child.stdout.take().expect("stdout")).lines() {
        let event: serde_json::Value = serde_json::from_str(&line.unwrap()).unwrap();
        match event["event"].as_str() {
            Some("started") => job = event["job"].as_i64(),
            Some("batch") => {
                base = handled(&event);
                break;
            }
            other => panic!("unexpected event {other:?} before the first batch"),
        }
    }
    child.kill().expect("kill the rotation");
    let _ = child.wait();
    (job.expect("the job was announced").to_string(), base)
}

fn add_to_env(dir: &Path, line: &str) {
    let path = dir.join(".env");
    let mut env = std::fs::read_to_string(&path).unwrap();
    env.push_str(line);
    env.push('\n');
    std::fs::write(path, env).unwrap();
}

#[test]
fn the_plan_reports_the_setting_and_the_flag_overrides_it() {
    let rt = runtime();
    let db = rt
        .block_on(new_db(Kind::Sqlite))
        .expect("SQLite is always there");
    let store = rt.block_on(db.store());
    rt.block_on(seed(&store, 10, 10));
    let dir = env_dir(&db.url);
    let plan = |extra: &[&str], format: &str| {
        let mut args = vec![
            "rotate",
            "--model",
            "Secret",
            "--dry-run",
            "--format",
            format,
        ];
        args.extend_from_slice(extra);
        let out = timber(dir.path(), &args);
        assert!(out.status.success(), "dry run: {}", stderr(&out));
        out
    };
    let unlimited = json_lines(&plan(&[], "json")).remove(0);
    assert!(unlimited["max_rate"].is_null(), "no setting: {unlimited}");
    add_to_env(dir.path(), "ROTATION_MAX_ROWS_PER_SECOND=250");
    let limited = json_lines(&plan(&[], "json")).remove(0);
    assert_eq!(limited["max_rate"], 250, "the setting from .env");
    let text = String::from_utf8_lossy(&plan(&[], "text").stdout).into_owned();
    assert!(text.contains("limited to 250 rows/s"), "{text}");
    let flag = json_lines(&plan(&["--max-rate", "40"], "json")).remove(0);
    assert_eq!(flag["max_rate"], 40, "the flag wins over the setting");
    let off = json_lines(&plan(&["--max-rate", "0"], "json")).remove(0);
    assert!(
        off["max_rate"].is_null(),
        "--max-rate 0 is unlimited: {off}"
    );
}

#[test]
fn bad_rates_are_refused_naming_the_flag_or_the_setting() {
    let dir = env_dir("sqlite://unused.db");
    for (value, why) in [
        ("-5", "negative"),
        ("fast", "whole number"),
        ("1.5", "whole number"),
    ] {
        let out = timber(
            dir.path(),
            &[
                "rotate",
                "--model",
                "Secret",
                "--dry-run",
                "--max-rate",
                value,
            ],
        );
        let err = stderr(&out);
        assert!(!out.status.success(), "--max-rate {value} accepted");
        assert!(
            err.contains("--max-rate") && err.contains(why) && !err.contains("panicked"),
            "--max-rate {value}: {err}"
        );
    }
    add_to_env(dir.path(), "ROTATION_MAX_ROWS_PER_SECOND=-3");
    let out = timber(dir.path(), &["rotate", "--model", "Secret", "--dry-run"]);
    let err = stderr(&out);
    assert!(!out.status.success());
    assert!(
        err.contains("ROTATION_MAX_ROWS_PER_SECOND")
            && err.contains("\"-3\"")
            && err.contains(".env")
            && err.contains("negative"),
        "{err}"
    );
}

/// A pause asked through the jobs table (as another process or the console does) while a
/// limited job waits out its rate stops it part-way, as `paused`, and it resumes to the end.
#[test]
fn a_pause_through_the_jobs_table_stops_a_waiting_job_part_way() {
    let rt = runtime();
    let db = rt
        .block_on(new_db(Kind::Sqlite))
        .expect("SQLite is always there");
    let store = rt.block_on(db.store());
    rt.block_on(seed(&store, ROWS, 10));
    let dir = env_dir(&db.url);
    let mut asked = false;
    let events = run_events(
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
        |batch| {
            if !asked {
                let id = batch["job"].as_i64().expect("job id");
                asked = rt
                    .block_on(store.rotation_request(id, timber::rotation::JobRequest::Pause))
                    .expect("ask the job to pause");
            }
        },
    );
    assert!(asked, "the job was running when asked");
    let done = events.last().expect("events");
    assert_eq!(done["status"], "paused", "{done}");
    assert!(handled(done) < ROWS, "paused part-way: {done}");
    let id = done["job"].to_string();
    let events = run_events(
        dir.path(),
        &["rotate", "--resume", &id, "--format", "json"],
        |_| {},
    );
    let done = events.last().expect("events");
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(handled(done), ROWS);
}
