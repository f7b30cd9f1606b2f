//! Throttling that protects production (issue 18): with `--max-lag S` a rotation waits while
//! a PostgreSQL replica is more than S seconds behind, and goes on once it catches up. The
//! lag is real: a streaming replica of the test server (`.ci/pg-replica`, on 5433) has its
//! replay paused while the primary keeps writing. The limit is changeable while the job
//! runs (`timber jobs set JOB --max-lag S`), and refused where the server cannot tell its
//! replicas' lag.

use crate::rotation_support;
use crate::store_support;

use std::collections::HashMap;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::rotation_only::*;
use crate::rotation_workers::Worker;
use rotation_support::*;
use store_support::{Kind, exec};

/// Resumes the replica's replay when dropped, so a failing test never leaves it paused.
struct Replay(String);

impl Replay {
    async fn pause(url: &str) -> Replay {
        exec(Kind::Postgres, url, "SELECT pg_wal_replay_pause()".into()).await;
        Replay(url.to_string())
    }
}

impl Drop for Replay {
    fn drop(&mut self) {
        let url = self.0.clone();
        let _ = std::thread::spawn(move || {
            runtime().block_on(exec(
                Kind::Postgres,
                &url,
                "SELECT pg_wal_replay_resume()".into(),
            ))
        })
        .join();
    }
}

/// Writes a little WAL on the primary (so the replica has something to fall behind on, or
/// to report having caught up with).
async fn touch(url: &str, i: u64) {
    exec(
        Kind::Postgres,
        url,
        format!("INSERT INTO lag_probe VALUES ({i})"),
    )
    .await;
}

#[test]
fn postgres_a_rotation_waits_while_a_replica_lags_and_goes_on_when_it_catches_up() {
    let Ok(replica) = std::env::var("TIMBER_TEST_PG_REPLICA_URL") else {
        eprintln!("SKIP: TIMBER_TEST_PG_REPLICA_URL not set (.ci/pg-replica starts one)");
        return;
    };
    let rt = runtime();
    let Some(db) = rt.block_on(new_db(Kind::Postgres)) else {
        return;
    };
    let rows = 6000;
    let store = rt.block_on(db.store());
    rt.block_on(seed(&store, rows, 0));
    rt.block_on(exec(
        Kind::Postgres,
        &db.url,
        "CREATE TABLE lag_probe (i BIGINT)".into(),
    ));
    let dir = env_dir(&db.url);

    // The replica stops replaying; the primary keeps writing until it is 2 s behind.
    let paused = rt.block_on(Replay::pause(&replica));
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut i = 0;
    loop {
        i += 1;
        rt.block_on(touch(&db.url, i));
        let lag = rt
            .block_on(store.replication_lag())
            .expect("lag")
            .expect("PostgreSQL tells its replicas' lag");
        if lag > 2.0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the paused replica never fell behind ({lag} s)"
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    let mut worker = Worker::start(
        dir.path(),
        &[
            "rotate",
            "--model",
            "Secret",
            "--max-lag",
            "1",
            "--batch",
            "500",
            "--max-rate",
            "1000",
            "--format",
            "json",
        ],
    );
    let job = worker.wait_for("started")["job"].as_i64().expect("job");
    let waiting = worker.wait_for("lag");
    assert_eq!(waiting["waiting"], true, "{waiting}");
    assert_eq!(waiting["max_lag"], 1.0);
    assert!(waiting["lag_seconds"].as_f64().unwrap() > 1.0, "{waiting}");
    // While it waits, nothing is written: no batch in two seconds, no row counted.
    std::thread::sleep(Duration::from_secs(2));
    let early = worker.drain();
    assert!(
        early.iter().all(|e| e["event"] != "batch"),
        "a batch ran while the replica lagged: {early:?}"
    );
    let out = timber(dir.path(), &["jobs", "--format", "json"]);
    let row = json_lines(&out)
        .into_iter()
        .find(|j| j["id"] == job)
        .expect("job listed");
    assert_eq!(row["rows_done"], 0, "{row}");
    assert_eq!(row["status"], "running");

    // The replica replays again and catches up (the primary keeps writing, so it reports
    // fresh lag): the job says so and finishes.
    drop(paused);
    let writer = {
        let url = db.url.clone();
        let (stop, stopped) = mpsc::channel::<()>();
        let handle = std::thread::spawn(move || {
            let rt = runtime();
            let mut i = 1_000_000;
            while stopped.try_recv().is_err() {
                i += 1;
                rt.block_on(touch(&url, i));
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        (stop, handle)
    };
    let going = worker.wait_for("lag");
    assert_eq!(going["waiting"], false, "{going}");
    let went_on = Instant::now();
    let done = worker.wait_for("done");
    // The time spent waiting is no credit against the rate: the 6000 rows still take about
    // 6 s at 1000 rows/s once the replica has caught up (the first batch goes at once).
    let took = went_on.elapsed();
    assert!(
        took >= Duration::from_millis(4500),
        "the rate was not kept after the wait: 6000 rows in {took:?} at 1000 rows/s"
    );
    let _ = writer.0.send(());
    let _ = writer.1.join();
    let (ok, seen) = worker.finish();
    assert!(ok, "{seen:?}");
    assert_eq!(
        seen.iter().filter(|e| e["event"] == "lag").count(),
        2,
        "one `waiting` and one `going on`, however many workers: {seen:?}"
    );
    assert_eq!(done["status"], "completed");
    assert_eq!(done["rows_done"], rows);
    rt.block_on(assert_all_under_new_key(&store, rows, &HashMap::new()));
    rt.block_on(store.close());
    rt.block_on(db.drop_all());
}

/// `timber jobs set --max-lag` changes a job's limit (0: not watched), and reports the old
/// one; a lag limit is refused, naming why, where the server cannot tell the lag.
#[test]
fn the_lag_limit_is_set_on_a_job_and_refused_where_lag_is_unknown() {
    let rt = runtime();
    // SQLite (and a MySQL/MariaDB primary) cannot tell their replicas' lag: refused before
    // any work, with the way out.
    let db = rt.block_on(new_db(Kind::Sqlite)).expect("SQLite");
    let store = rt.block_on(db.store());
    rt.block_on(seed(&store, 30, 0));
    let dir = env_dir(&db.url);
    let out = timber(
        dir.path(),
        &["rotate", "--all", "--max-lag", "5", "--format", "json"],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("--max-lag") && err.contains("SQLite") && err.contains("--max-rate"),
        "{err}"
    );
    assert!(json_lines(&out).is_empty(), "nothing ran");
    // The plan refuses what the run would: a dry run is no way to find out later.
    let plan = timber(
        dir.path(),
        &["rotate", "--all", "--dry-run", "--max-lag", "5"],
    );
    assert_eq!(plan.status.code(), Some(2), "{}", stderr(&plan));
    assert!(
        stderr(&plan).contains("SQLite") && stderr(&plan).contains("--max-rate"),
        "{}",
        stderr(&plan)
    );
    let bad = timber(dir.path(), &["rotate", "--all", "--max-lag", "soon"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        stderr(&bad).contains("`soon` is not a number of seconds"),
        "{}",
        stderr(&bad)
    );

    let Some(pg) = rt.block_on(new_db(Kind::Postgres)) else {
        return;
    };
    let pg_store = rt.block_on(pg.store());
    rt.block_on(seed(&pg_store, 30, 0));
    let pg_dir = env_dir(&pg.url);
    let worker = timber::rotation::worker_id();
    let job = rt
        .block_on(pg_store.rotation_create_job(
            "secrets",
            r#"["email"]"#,
            "primary",
            30,
            &worker,
            r#"{"max_lag": 5.0}"#,
        ))
        .expect("job");
    let id = job.to_string();
    let set = timber(
        pg_dir.path(),
        &["jobs", "set", &id, "--max-lag", "2.5", "--format", "json"],
    );
    assert!(set.status.success(), "{}", stderr(&set));
    let line = json_lines(&set).pop().expect("one line");
    assert_eq!(line["max_lag"], 2.5);
    assert_eq!(line["previous_max_lag"], 5.0);
    assert!(
        line.get("max_rate").is_none(),
        "the rate was not touched: {line}"
    );
    let off = timber(pg_dir.path(), &["jobs", "set", &id, "--max-lag", "0"]);
    assert!(off.status.success(), "{}", stderr(&off));
    let text = String::from_utf8_lossy(&off.stdout);
    assert!(
        text.contains("max lag not watched (was 2.5 s of replication lag)"),
        "{text}"
    );
    let row = rt
        .block_on(pg_store.rotation_job(job))
        .expect("read")
        .expect("job");
    let options = timber::rotation::JobOptions::parse(row.options.as_deref());
    assert_eq!(options.max_lag, None);
    rt.block_on(pg_store.close());
    rt.block_on(pg.drop_all());
}

/// Puts the MariaDB replica's apply delay back to 0 when dropped.
struct Delay(String);

impl Delay {
    async fn set(url: &str, seconds: u32) {
        exec(
            Kind::Mysql,
            url,
            format!("STOP REPLICA; CHANGE MASTER TO MASTER_DELAY={seconds}; START REPLICA"),
        )
        .await;
    }
}

impl Drop for Delay {
    fn drop(&mut self) {
        let url = self.0.clone();
        let _ = std::thread::spawn(move || runtime().block_on(Delay::set(&url, 0))).join();
    }
}

/// MySQL/MariaDB: the primary does not know its replicas' lag, so the job reads it on the
/// replica `--lag-from` names (its `Seconds_Behind_Master`). A replica held 60 s behind
/// (`MASTER_DELAY`) keeps the job waiting; undelayed, it catches up and the job finishes.
/// Without `--lag-from`, and with a `--lag-from` that is no replica, `--max-lag` is refused
/// before any work.
#[test]
fn mariadb_a_rotation_waits_on_the_replica_it_is_told_to_watch() {
    let (Ok(primary), Ok(replica)) = (
        std::env::var("TIMBER_TEST_MY_PRIMARY_URL"),
        std::env::var("TIMBER_TEST_MY_REPLICA_URL"),
    ) else {
        eprintln!("SKIP: TIMBER_TEST_MY_PRIMARY_URL / _REPLICA_URL not set (.ci/mariadb-replica)");
        return;
    };
    let rt = runtime();
    let name = store_support::unique_name();
    rt.block_on(exec(
        Kind::Mysql,
        &primary,
        format!("CREATE DATABASE {name}"),
    ));
    let base = primary
        .rsplit_once('/')
        .map_or(primary.as_str(), |(b, _)| b);
    let url = format!("{base}/{name}");
    let store = rt.block_on(async {
        timber::store::Store::connect(timber::store::StoreConfig::from_url(&url).unwrap())
            .await
            .expect("connect to the primary")
    });
    let rows = 3000;
    rt.block_on(seed(&store, rows, 0));
    rt.block_on(exec(
        Kind::Mysql,
        &url,
        "CREATE TABLE lag_probe (i BIGINT)".into(),
    ));
    let dir = env_dir(&url);

    // Refused before any work: no replica named, and a "replica" that is the primary.
    let none = timber(
        dir.path(),
        &["rotate", "--all", "--max-lag", "1", "--format", "json"],
    );
    assert_eq!(none.status.code(), Some(2));
    assert!(stderr(&none).contains("--lag-from"), "{}", stderr(&none));
    let primary_as_replica = timber(
        dir.path(),
        &[
            "rotate",
            "--all",
            "--max-lag",
            "1",
            "--lag-from",
            &url,
            "--format",
            "json",
        ],
    );
    assert_eq!(primary_as_replica.status.code(), Some(2));
    assert!(
        stderr(&primary_as_replica).contains("is not a replica"),
        "{}",
        stderr(&primary_as_replica)
    );
    assert!(json_lines(&primary_as_replica).is_empty());
    // The same two refused by the plan.
    for extra in [&[][..], &["--lag-from", url.as_str()][..]] {
        let mut args = vec!["rotate", "--all", "--dry-run", "--max-lag", "1"];
        args.extend_from_slice(extra);
        let plan = timber(dir.path(), &args);
        assert_eq!(plan.status.code(), Some(2), "{args:?}: {}", stderr(&plan));
        let err = stderr(&plan);
        assert!(
            err.contains("--lag-from") || err.contains("is not a replica"),
            "{args:?}: {err}"
        );
    }

    // The replica applies every event 60 s late: it falls behind as the primary writes.
    rt.block_on(Delay::set(&replica, 60));
    let delayed = Delay(replica.clone());
    let replica_store = rt.block_on(async {
        timber::store::Store::connect(timber::store::StoreConfig::from_url(&replica).unwrap())
            .await
            .expect("connect to the replica")
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut i = 0;
    loop {
        i += 1;
        rt.block_on(exec(
            Kind::Mysql,
            &url,
            format!("INSERT INTO lag_probe VALUES ({i})"),
        ));
        let lag = rt
            .block_on(replica_store.replica_lag())
            .expect("replica lag");
        if lag.is_some_and(|l| l > 2.0) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the delayed replica never fell behind ({lag:?})"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    let mut worker = Worker::start(
        dir.path(),
        &[
            "rotate",
            "--model",
            "Secret",
            "--max-lag",
            "1",
            "--lag-from",
            &replica,
            "--format",
            "json",
        ],
    );
    worker.wait_for("started");
    let waiting = worker.wait_for("lag");
    assert_eq!(waiting["waiting"], true, "{waiting}");
    assert!(
        waiting["lag_seconds"].as_f64().unwrap_or(0.0) > 1.0,
        "{waiting}"
    );
    std::thread::sleep(Duration::from_secs(2));
    let early = worker.drain();
    assert!(
        early.iter().all(|e| e["event"] != "batch"),
        "a batch ran while the replica lagged: {early:?}"
    );
    // Undelayed, the replica applies what it held and reports no lag: the job goes on.
    drop(delayed);
    let going = worker.wait_for("lag");
    assert_eq!(going["waiting"], false, "{going}");
    let done = worker.wait_for("done");
    let (ok, seen) = worker.finish();
    assert!(ok, "{seen:?}");
    assert_eq!(done["status"], "completed");
    assert_eq!(done["rows_done"], rows);
    rt.block_on(assert_all_under_new_key(&store, rows, &HashMap::new()));
    rt.block_on(replica_store.close());
    rt.block_on(store.close());
    rt.block_on(exec(Kind::Mysql, &primary, format!("DROP DATABASE {name}")));
}
