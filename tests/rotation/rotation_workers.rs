//! Many workers on one job, coordinated by the database alone (issue 18): four `timber
//! rotate` processes share a job's chunks while the application keeps writing; two are
//! SIGKILLed at random points and the survivors take their chunks over once the leases
//! expire. A worker stopped like a debugger stops it (SIGSTOP) past its lease, then
//! continued, has its late commit refused by the chunk's fencing generation. A write
//! counter (a trigger on the table) proves no row was rotated twice. On PostgreSQL and
//! MariaDB; SQLite refuses more than one worker.
//!
//! Size: 200 000 rows on PostgreSQL and 60 000 on MariaDB by default
//! (`TIMBER_WORKERS_ROWS` sets both).

use crate::rotation_concurrent::{Written, app_write};
use crate::rotation_support;
use crate::store_support;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use crate::rotation_kill::job_row;
use crate::rotation_only::*;
use rand::Rng;
use rotation_support::*;
use store_support::{Kind, exec};
use timber::store::Store;

/// Adds `writes` to the test table and a trigger counting every change of `email`: a row
/// rotated twice (a chunk applied twice) would show 2.
async fn count_writes(kind: Kind, url: &str) {
    exec(
        kind,
        url,
        "ALTER TABLE secrets ADD COLUMN writes INTEGER NOT NULL DEFAULT 0".into(),
    )
    .await;
    match kind {
        Kind::Postgres => {
            exec(
                kind,
                url,
                "CREATE FUNCTION count_email_writes() RETURNS trigger AS $$ BEGIN \
                 IF NEW.email IS DISTINCT FROM OLD.email THEN NEW.writes := OLD.writes + 1; \
                 END IF; RETURN NEW; END $$ LANGUAGE plpgsql"
                    .into(),
            )
            .await;
            exec(
                kind,
                url,
                "CREATE TRIGGER count_email_writes BEFORE UPDATE ON secrets FOR EACH ROW \
                 EXECUTE FUNCTION count_email_writes()"
                    .into(),
            )
            .await;
        }
        Kind::Mysql => {
            exec(
                kind,
                url,
                "CREATE TRIGGER count_email_writes BEFORE UPDATE ON secrets FOR EACH ROW \
                 SET NEW.writes = OLD.writes + IF(NEW.email <=> OLD.email, 0, 1)"
                    .into(),
            )
            .await;
        }
        Kind::Sqlite => unreachable!("SQLite runs one worker"),
    }
}

/// Every row's write count.
async fn writes_per_row(kind: Kind, url: &str) -> HashMap<i64, i64> {
    use sqlx::{Connection, Row};
    let sql = "SELECT id, writes FROM secrets";
    let rows: Vec<(i64, i64)> = match kind {
        Kind::Postgres => {
            let mut conn = sqlx::PgConnection::connect(url).await.expect("connect");
            sqlx::query(sql)
                .fetch_all(&mut conn)
                .await
                .expect("read writes")
                .iter()
                .map(|r| (r.get::<i32, _>(0) as i64, r.get::<i32, _>(1) as i64))
                .collect()
        }
        _ => {
            let mut conn = sqlx::MySqlConnection::connect(url).await.expect("connect");
            sqlx::query(sql)
                .fetch_all(&mut conn)
                .await
                .expect("read writes")
                .iter()
                .map(|r| (r.get::<i32, _>(0) as i64, r.get::<i32, _>(1) as i64))
                .collect()
        }
    };
    rows.into_iter().collect()
}

/// A `timber rotate` process whose JSON events are read on a thread and passed on.
pub(crate) struct Worker {
    child: Child,
    events: mpsc::Receiver<serde_json::Value>,
    seen: Vec<serde_json::Value>,
}

impl Worker {
    pub(crate) fn start(dir: &std::path::Path, args: &[&str]) -> Worker {
        let mut child = timber_cmd(dir, args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start timber rotate");
        let stdout = child.stdout.take().expect("stdout");
        let (send, events) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let Ok(event) = serde_json::from_str(&line) else {
                    continue;
                };
                if send.send(event).is_err() {
                    break;
                }
            }
        });
        Worker {
            child,
            events,
            seen: Vec::new(),
        }
    }

    /// Waits (up to a minute) for an event named `name`; returns it.
    pub(crate) fn wait_for(&mut self, name: &str) -> serde_json::Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let event = self
                .events
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("no `{name}` event within a minute: {:?}", self.seen));
            self.seen.push(event.clone());
            if event["event"] == name {
                return event;
            }
        }
    }

    /// Waits for `n` batch events of this process.
    pub(crate) fn wait_batches(&mut self, n: usize) {
        for _ in 0..n {
            self.wait_for("batch");
        }
    }

    /// The events that arrived since the last look, without waiting (kept in `seen` too).
    pub(crate) fn drain(&mut self) -> Vec<serde_json::Value> {
        let new: Vec<_> = self.events.try_iter().collect();
        self.seen.extend(new.iter().cloned());
        new
    }

    /// Waits for the process to end; returns whether it succeeded and all its events.
    pub(crate) fn finish(mut self) -> (bool, Vec<serde_json::Value>) {
        let status = self.child.wait().expect("wait");
        self.seen.extend(self.events.iter());
        (status.success(), self.seen)
    }

    pub(crate) fn kill(mut self) {
        // `Child::kill` is SIGKILL: no destructor, no rollback handler, the lease left held.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub(crate) fn signal(&self, signal: &str) {
        let ok = std::process::Command::new("kill")
            .args([&format!("-{signal}"), &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(ok.success(), "kill -{signal}");
    }
}

fn rows_for(kind: Kind) -> i64 {
    std::env::var("TIMBER_WORKERS_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if kind == Kind::Postgres {
            200_000
        } else {
            60_000
        })
}

fn four_workers_two_killed(kind: Kind) {
    let rt = runtime();
    let Some(db) = rt.block_on(new_db(kind)) else {
        return;
    };
    let rows = rows_for(kind);
    let store = rt.block_on(db.store());
    rt.block_on(seed(&store, rows, 10));
    rt.block_on(count_writes(kind, &db.url));
    let current = rows / 10;
    let dir = env_dir(&db.url);
    let lease = "2";
    // The application writes all through the run: rows it wrote must keep its values.
    let written: Written = Arc::default();
    let stop_app = Arc::new(AtomicBool::new(false));
    let app = {
        let (url, written, stop) = (db.url.clone(), written.clone(), stop_app.clone());
        std::thread::spawn(move || {
            let rt = runtime();
            // A pool of this thread's own: connections opened on this thread's runtime die
            // with it, and left in a shared pool they failed the checks after it ("a Tokio
            // context ... is being shutdown").
            let store = rt.block_on(async {
                let mut config = timber::store::StoreConfig::from_url(&url).expect("test url");
                config.create_if_missing = true;
                timber::store::Store::connect(config)
                    .await
                    .expect("connect to the test database")
            });
            let mut tag = 0;
            // Each row at most once: `app_write` remembers a row's values as its own write
            // made them, so a second write (one column only) to a row would be misremembered.
            let mut used = std::collections::HashSet::new();
            while !stop.load(Ordering::SeqCst) {
                let id = rand::rng().random_range(1..=rows);
                if !used.insert(id) {
                    continue;
                }
                tag += 1;
                rt.block_on(app_write(&store, &written, id, tag, tag % 3 == 0));
                std::thread::sleep(Duration::from_millis(5));
            }
            rt.block_on(store.close());
        })
    };
    let mut first = Worker::start(
        dir.path(),
        &[
            "rotate", "--model", "Secret", "--lease", lease, "--format", "json",
        ],
    );
    let job = first.wait_for("started")["job"].as_i64().expect("job id");
    let job_text = job.to_string();
    let mut workers = vec![first];
    for _ in 0..3 {
        workers.push(Worker::start(
            dir.path(),
            &[
                "rotate", "--join", &job_text, "--lease", lease, "--format", "json",
            ],
        ));
    }
    // Two of the four, chosen at random, die part-way (each after a few of its own batches
    // and a few random milliseconds, so inside a transaction as often as between two).
    let mut victims: Vec<usize> = (0..4).collect();
    while victims.len() > 2 {
        victims.remove(rand::rng().random_range(0..victims.len()));
    }
    let mut survivors = Vec::new();
    for (i, mut worker) in workers.into_iter().enumerate() {
        if victims.contains(&i) {
            worker.wait_batches(rand::rng().random_range(1..=3));
            std::thread::sleep(Duration::from_millis(rand::rng().random_range(0..8)));
            worker.kill();
        } else {
            survivors.push(worker);
        }
    }
    let mut takeovers = 0;
    for worker in survivors {
        let (ok, events) = worker.finish();
        assert!(ok, "a surviving worker failed: {events:?}");
        let done = events.last().expect("events");
        assert_eq!(done["event"], "done", "{events:?}");
        assert_eq!(done["status"], "completed", "{done}");
        takeovers += events.iter().filter(|e| e["event"] == "takeover").count();
    }
    stop_app.store(true, Ordering::SeqCst);
    app.join().expect("application thread");
    assert!(
        takeovers >= 1,
        "the killed workers' chunks were taken over by the survivors"
    );
    let row = job_row(dir.path(), job);
    assert_eq!(row["status"], "completed");
    assert_eq!(row["rows_failed"], 0);
    // Every row handled exactly once although two workers died mid-chunk: counts are
    // committed with the chunk's cursor, so a redone batch was never counted.
    let handled = row["rows_done"].as_i64().unwrap() + row["rows_skipped"].as_i64().unwrap();
    assert_eq!(handled, rows, "{row}");
    // Split into 10 000-row chunks plus the open last one, every one of them done, and no
    // worker holds a lease any more.
    let chunks = &row["chunks"];
    assert_eq!(chunks["total"], rows / 10_000 + 1, "{row}");
    assert_eq!(chunks["done"], chunks["total"], "{row}");
    assert_eq!(chunks["workers"], serde_json::json!([]), "{row}");
    let app_rows = written.lock().unwrap().clone();
    assert!(!app_rows.is_empty(), "the application wrote during the run");
    rt.block_on(assert_all_under_new_key(&store, rows, &app_rows));
    let counts = rt.block_on(writes_per_row(kind, &db.url));
    for (id, count) in &counts {
        if app_rows.contains_key(id) {
            continue;
        }
        let want = if id % 10 == 0 { 0 } else { 1 };
        assert_eq!(*count, want, "row {id} had its email written {count} times");
    }
    eprintln!(
        "rotation_workers {kind:?}: {rows} rows ({current} current), 4 workers, 2 killed, \
         {takeovers} takeovers, {} application writes",
        app_rows.len()
    );
    rt.block_on(store.close());
    rt.block_on(db.drop_all());
}

#[test]
fn postgres_four_workers_two_killed_complete_exactly_once() {
    four_workers_two_killed(Kind::Postgres);
}

#[test]
fn mariadb_four_workers_two_killed_complete_exactly_once() {
    four_workers_two_killed(Kind::Mysql);
}

/// A worker stopped (SIGSTOP) right after a batch, kept stopped past its lease while
/// another process takes its chunk over and finishes the job, then continued: its next
/// commit is refused by the chunk's generation (a `fenced` event), it writes nothing, and
/// every row was written once.
fn stopped_worker_is_fenced(kind: Kind) {
    let rt = runtime();
    let Some(db) = rt.block_on(new_db(kind)) else {
        return;
    };
    let rows = 12_000;
    let store: Store = rt.block_on(db.store());
    rt.block_on(seed(&store, rows, 0));
    rt.block_on(count_writes(kind, &db.url));
    let dir = env_dir(&db.url);
    // Paced, so that right after a batch the worker is waiting for its next one.
    let mut stopped = Worker::start(
        dir.path(),
        &[
            "rotate",
            "--model",
            "Secret",
            "--lease",
            "2",
            "--max-rate",
            "400",
            "--format",
            "json",
        ],
    );
    let job = stopped.wait_for("started")["job"].as_i64().expect("job");
    stopped.wait_for("batch");
    stopped.signal("STOP");
    std::thread::sleep(Duration::from_secs(3));
    let job_text = job.to_string();
    let taker = Worker::start(
        dir.path(),
        &["rotate", "--join", &job_text, "--format", "json"],
    );
    let (ok, events) = taker.finish();
    assert!(ok, "the joining worker failed: {events:?}");
    let took: Vec<_> = events.iter().filter(|e| e["event"] == "takeover").collect();
    assert!(
        !took.is_empty(),
        "the stopped worker's chunk was taken over: {events:?}"
    );
    assert_eq!(events.last().unwrap()["status"], "completed");
    stopped.signal("CONT");
    let (_, late) = stopped.finish();
    let fenced: Vec<_> = late.iter().filter(|e| e["event"] == "fenced").collect();
    assert_eq!(
        fenced.len(),
        1,
        "the continued worker's late commit was refused once: {late:?}"
    );
    assert_eq!(fenced[0]["chunk"], took[0]["chunk"]);
    assert_eq!(job_row(dir.path(), job)["rows_done"], rows);
    rt.block_on(assert_all_under_new_key(&store, rows, &HashMap::new()));
    let counts = rt.block_on(writes_per_row(kind, &db.url));
    assert_eq!(counts.len() as i64, rows);
    assert!(
        counts.values().all(|c| *c == 1),
        "every row written exactly once: {:?}",
        counts
            .iter()
            .filter(|(_, c)| **c != 1)
            .take(5)
            .collect::<Vec<_>>()
    );
    rt.block_on(store.close());
    rt.block_on(db.drop_all());
}

#[test]
fn postgres_a_stopped_worker_past_its_lease_cannot_commit() {
    stopped_worker_is_fenced(Kind::Postgres);
}

#[test]
fn mariadb_a_stopped_worker_past_its_lease_cannot_commit() {
    stopped_worker_is_fenced(Kind::Mysql);
}

#[test]
fn sqlite_refuses_more_than_one_worker_before_any_work() {
    let rt = runtime();
    let db = rt.block_on(new_db(Kind::Sqlite)).expect("SQLite");
    let store = rt.block_on(db.store());
    rt.block_on(seed(&store, 50, 0));
    let dir = env_dir(&db.url);
    let out = timber(
        dir.path(),
        &["rotate", "--all", "--workers", "4", "--format", "json"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("--workers 4") && err.contains("SQLite") && err.contains("one writer"),
        "{err}"
    );
    assert!(json_lines(&out).is_empty(), "no rotation event");
    let jobs = timber(dir.path(), &["jobs", "--format", "json"]);
    assert!(json_lines(&jobs).is_empty(), "no job was created");
    // One worker, said explicitly, runs as ever.
    let one = timber(
        dir.path(),
        &["rotate", "--all", "--workers", "1", "--format", "json"],
    );
    assert!(one.status.success(), "{}", stderr(&one));
    assert_eq!(json_lines(&one).pop().unwrap()["status"], "completed");
}

/// A pause acts on every worker of a job, in every process: two processes (one started, one
/// joined, two workers each) both stop after their batch, give their chunks back and say
/// `paused`; a resume with workers finishes the job with every row counted once.
#[test]
fn postgres_a_pause_stops_every_worker_and_a_resume_finishes() {
    let rt = runtime();
    let Some(db) = rt.block_on(new_db(Kind::Postgres)) else {
        return;
    };
    let rows = 40_000;
    let store = rt.block_on(db.store());
    rt.block_on(seed(&store, rows, 0));
    let dir = env_dir(&db.url);
    // Paced, so that both processes are still working when the pause comes.
    let mut first = Worker::start(
        dir.path(),
        &[
            "rotate",
            "--model",
            "Secret",
            "--workers",
            "2",
            "--max-rate",
            "4000",
            "--format",
            "json",
        ],
    );
    let job = first.wait_for("started")["job"].as_i64().expect("job");
    let job_text = job.to_string();
    let mut second = Worker::start(
        dir.path(),
        &[
            "rotate",
            "--join",
            &job_text,
            "--workers",
            "2",
            "--format",
            "json",
        ],
    );
    first.wait_batches(2);
    second.wait_batches(2);
    let asked = rt
        .block_on(store.rotation_request(job, timber::rotation::JobRequest::Pause))
        .expect("pause");
    assert!(asked, "the job was running");
    for (name, worker) in [("started", first), ("joined", second)] {
        let (_, events) = worker.finish();
        let done = events.last().expect("events");
        assert_eq!(done["event"], "done", "{name}: {events:?}");
        assert_eq!(done["status"], "paused", "{name}: {done}");
    }
    let row = job_row(dir.path(), job);
    assert_eq!(row["status"], "paused");
    let handled = row["rows_done"].as_i64().unwrap();
    assert!(handled > 0 && handled < rows, "paused part-way: {row}");
    assert_eq!(
        row["chunks"]["workers"],
        serde_json::json!([]),
        "every lease given back: {row}"
    );
    assert_eq!(row["chunks"]["leased"], 0, "{row}");
    let resumed = timber(
        dir.path(),
        &[
            "rotate",
            "--resume",
            &job_text,
            "--workers",
            "2",
            "--format",
            "json",
        ],
    );
    assert!(resumed.status.success(), "{}", stderr(&resumed));
    let done = json_lines(&resumed).pop().expect("events");
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["rows_done"], rows, "each row counted once: {done}");
    rt.block_on(assert_all_under_new_key(&store, rows, &HashMap::new()));
    rt.block_on(store.close());
    rt.block_on(db.drop_all());
}

/// A rerun after `kill -9` takes the dead process's chunks first (they were in progress),
/// before any pending one, without waiting out their leases; a live owner's lease is left
/// alone; and a gone owner's lease is not counted as a working worker.
#[test]
fn a_gone_processes_chunks_are_claimed_first_and_not_shown_as_working() {
    let rt = runtime();
    let db = rt.block_on(new_db(Kind::Sqlite)).expect("SQLite");
    let store = rt.block_on(db.store());
    rt.block_on(seed(&store, 10, 0));
    let me = timber::rotation::worker_id();
    let host = me.rsplit_once(':').expect("host:pid").0.to_string();
    let job = rt
        .block_on(store.rotation_create_job("secrets", r#"["email"]"#, "primary", 10, &me, "{}"))
        .expect("job");
    let ranges = [
        (None, Some("3".to_string())),
        (Some("3".to_string()), Some("6".to_string())),
        (Some("6".to_string()), None),
    ];
    assert!(
        rt.block_on(store.rotation_create_chunks(job, &ranges))
            .unwrap()
    );
    let until = timber::store::utc_now() + chrono::Duration::seconds(600);
    // A process of this host that no longer exists, and this (live) process.
    let dead = format!("{host}:4194303/w1");
    let alive = format!("{me}/w1");
    let claim = |owner: &str| {
        rt.block_on(store.rotation_claim_chunk(job, owner, until, &timber::rotation::owner_gone))
            .expect("claim")
    };
    assert_eq!(claim(&alive).expect("chunk").chunk, 1);
    assert_eq!(claim(&dead).expect("chunk").chunk, 2);
    let fleets = rt
        .block_on(timber::rotation::job_fleets(&store, &[job]))
        .unwrap();
    let fleet = &fleets[&job];
    assert_eq!(
        fleet.workers.len(),
        1,
        "only the live owner works: {fleet:?}"
    );
    assert_eq!(fleet.workers[0].owner, alive);
    // The rerun's worker: the dead owner's chunk 2 first, though chunk 3 is pending.
    let rerun = claim(&format!("{me}/w2")).expect("a chunk");
    assert_eq!(rerun.chunk, 2);
    assert_eq!(rerun.took_over_from.as_deref(), Some(dead.as_str()));
    // Then the pending one; the live owner's chunk 1 is never taken.
    assert_eq!(claim(&format!("{me}/w3")).expect("chunk").chunk, 3);
    assert!(
        claim(&format!("{me}/w4")).is_none(),
        "chunk 1 stays its live owner's"
    );
    rt.block_on(store.close());
}
