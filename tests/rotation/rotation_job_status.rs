//! Job status is an enum from the row to the screen: a status this version does not know
//! (written by hand, by a newer version, or by someone with write access to the jobs table)
//! is never read as another one. `timber jobs` and `timber rotate --resume` refuse it naming
//! the job and the word; health reports that it could not judge the jobs; the job is left
//! as it was.

use crate::rotation_support;
use crate::store_support;

use crate::rotation_only::*;
use rotation_support::*;
use sqlx::Connection;
use store_support::Kind;

async fn set_status(url: &str, job: i64, status: &str) {
    let mut conn = sqlx::SqliteConnection::connect(url).await.expect("open");
    sqlx::query("UPDATE timber_rotation_jobs SET status = ? WHERE id = ?")
        .bind(status)
        .bind(job)
        .execute(&mut conn)
        .await
        .expect("tamper");
}

#[test]
fn an_unknown_job_status_is_refused_by_name_and_never_resumed() {
    let rt = runtime();
    let Some(db) = rt.block_on(new_db(Kind::Sqlite)) else {
        return;
    };
    let store = rt.block_on(db.store());
    rt.block_on(seed(&store, 40, 10));
    let dir = env_dir(&db.url);
    let out = timber(
        dir.path(),
        &["rotate", "--model", "Secret", "--format", "json"],
    );
    assert!(out.status.success(), "rotate: {}", stderr(&out));
    let job = json_lines(&out)
        .iter()
        .find_map(|e| e["job"].as_i64())
        .expect("a job id");

    // "Paused" in another case is still paused: the table is edited by hand in incidents.
    rt.block_on(set_status(&db.url, job, "PAUSED"));
    let listed = timber(dir.path(), &["jobs", "--format", "json"]);
    assert!(listed.status.success(), "{}", stderr(&listed));
    assert_eq!(json_lines(&listed)[0]["status"], "paused");

    rt.block_on(set_status(&db.url, job, "resumable-please"));
    let listed = timber(dir.path(), &["jobs"]);
    assert_eq!(listed.status.code(), Some(2), "{}", stderr(&listed));
    let err = stderr(&listed);
    assert!(
        err.contains(&format!("job {job} has status `resumable-please`"))
            && err.contains("running, pausing, cancelling, paused, cancelled, completed, failed"),
        "the job and the word are named, with the words this version knows: {err}"
    );

    let id = job.to_string();
    let resumed = timber(dir.path(), &["rotate", "--resume", &id, "--format", "json"]);
    assert_eq!(resumed.status.code(), Some(2), "{}", stderr(&resumed));
    assert!(
        stderr(&resumed).contains("resumable-please"),
        "{}",
        stderr(&resumed)
    );
    assert!(
        json_lines(&resumed).iter().all(|e| e["event"] != "started"),
        "no job started"
    );

    let health = timber(
        dir.path(),
        &["health", "--only", "rotation.stalled", "--format", "json"],
    );
    let report: serde_json::Value = serde_json::from_slice(&health.stdout).expect("health JSON");
    let text = report.to_string();
    assert!(
        text.contains("could not check") && text.contains("resumable-please"),
        "health says it could not judge the jobs, and why: {text}"
    );

    // Nothing was changed by the refusals.
    let rt2 = runtime();
    let still: String = rt2.block_on(async {
        let mut conn = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
        sqlx::query_scalar("SELECT status FROM timber_rotation_jobs WHERE id = ?")
            .bind(job)
            .fetch_one(&mut conn)
            .await
            .unwrap()
    });
    assert_eq!(still, "resumable-please");
}

/// The key registry's status is an enum too: a retired key whose row is rewritten to a word
/// this version does not know is refused by name, not listed as something it is not.
#[test]
fn an_unknown_key_status_is_refused_by_name() {
    let rt = runtime();
    let Some(db) = rt.block_on(new_db(Kind::Sqlite)) else {
        return;
    };
    let store = rt.block_on(db.store());
    rt.block_on(seed(&store, 20, 1));
    let dir = env_dir(&db.url);
    let out = timber(
        dir.path(),
        &["rotate", "--model", "Secret", "--format", "json"],
    );
    assert!(out.status.success(), "rotate: {}", stderr(&out));
    let retired = timber(dir.path(), &["keys", "retire", "old_1"]);
    assert!(retired.status.success(), "retire: {}", stderr(&retired));

    rt.block_on(async {
        let mut conn = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
        sqlx::query("UPDATE timber_keys SET status = 'enabled' WHERE key_id = 'old_1'")
            .execute(&mut conn)
            .await
            .unwrap();
    });
    for args in [&["keys", "list"][..], &["census"][..]] {
        let out = timber(dir.path(), args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains("key old_1 has status `enabled`")
                && err.contains("active, decrypt_only, retired, destroyed"),
            "{args:?}: {err}"
        );
    }
}

/// Writes a `running` job row as a worker on this host would leave it: heartbeat just now,
/// worker `host:pid`.
async fn set_running(url: &str, job: i64, worker: &str) {
    let mut conn = sqlx::SqliteConnection::connect(url).await.expect("open");
    sqlx::query(
        "UPDATE timber_rotation_jobs SET status = 'running', worker = ?, heartbeat_at = ?, \
         updated_at = ? WHERE id = ?",
    )
    .bind(worker)
    .bind(chrono::Utc::now().naive_utc())
    .bind(chrono::Utc::now().naive_utc())
    .bind(job)
    .execute(&mut conn)
    .await
    .expect("mark running");
}

/// `timber health` and `timber jobs` judge a worker by the same rule: a job whose worker
/// process is gone is `running (worker gone)` in `jobs` and a `rotation.stalled` warning in
/// health at once, even with a fresh heartbeat (health used to wait two minutes for the
/// heartbeat alone, contradicting `jobs`); a job whose worker is alive is neither.
#[test]
fn health_and_jobs_agree_about_a_dead_worker() {
    let rt = runtime();
    let Some(db) = rt.block_on(new_db(Kind::Sqlite)) else {
        return;
    };
    let store = rt.block_on(db.store());
    rt.block_on(seed(&store, 20, 5));
    let dir = env_dir(&db.url);
    let out = timber(
        dir.path(),
        &["rotate", "--model", "Secret", "--format", "json"],
    );
    assert!(out.status.success(), "rotate: {}", stderr(&out));
    let job = json_lines(&out)
        .iter()
        .find_map(|e| e["job"].as_i64())
        .expect("a job id");
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default();
    if host.is_empty() {
        eprintln!("SKIP: no /proc hostname; the same-host process check is Linux only");
        return;
    }
    let judged = |worker: &str| {
        rt.block_on(set_running(&db.url, job, worker));
        let jobs = timber(dir.path(), &["jobs", "--format", "json"]);
        assert!(jobs.status.success(), "{}", stderr(&jobs));
        let listed = json_lines(&jobs)
            .into_iter()
            .find(|j| j["id"] == job)
            .expect("the job is listed");
        let text = timber(dir.path(), &["jobs"]);
        let shown_gone = String::from_utf8_lossy(&text.stdout).contains("running (worker gone)");
        let health = timber(
            dir.path(),
            &["health", "--only", "rotation.stalled", "--format", "json"],
        );
        let report: serde_json::Value =
            serde_json::from_slice(&health.stdout).expect("health JSON");
        let warned = report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["evidence"]["job"] == job)
            .cloned();
        (
            listed["worker_alive"].as_bool().unwrap(),
            shown_gone,
            warned,
        )
    };

    // A worker process that has exited: gone, though its heartbeat is fresh.
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let dead = child.id();
    child.wait().unwrap();
    let (alive, shown_gone, warned) = judged(&format!("{host}:{dead}"));
    assert!(!alive && shown_gone, "jobs says the worker is gone");
    let warned = warned.expect("health warns about the job jobs calls gone");
    assert_eq!(warned["severity"], "warn", "{warned}");
    assert_eq!(warned["evidence"]["worker_alive"], false, "{warned}");
    let finding = warned["finding"].as_str().unwrap();
    assert!(finding.contains("worker is gone"), "{finding}");
    assert!(
        warned["remedy"]
            .as_str()
            .unwrap()
            .contains(&format!("timber rotate --resume {job}")),
        "{warned}"
    );

    // This test process as the worker: alive, so neither calls it gone.
    let (alive, shown_gone, warned) = judged(&format!("{host}:{}", std::process::id()));
    assert!(alive && !shown_gone, "jobs says the worker is alive");
    assert!(warned.is_none(), "health agrees: {warned:?}");
}
