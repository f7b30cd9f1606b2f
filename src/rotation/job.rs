//! A rotation job as the jobs table holds it: its status, its options, who runs it, and
//! whether it may be resumed or taken over.
//!
//! A worker is `host:pid`. A job whose worker is gone may be taken over: on the same host
//! that is known at once (the process no longer exists); from another host only once the
//! heartbeat (moved with every batch) is older than [`STALE_AFTER_SECONDS`].

use chrono::{NaiveDateTime, Utc};
use serde_json::{Value as Json, json};

use crate::store::JobRow;
pub use crate::store::{JobRequest, JobStatus};

/// A heartbeat older than this means the worker is presumed gone.
pub const STALE_AFTER_SECONDS: i64 = 60;

/// What a job was started with (the `options` column), plus its running conflict count,
/// kept there because the table has no column for it and it must survive a resume.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct JobOptions {
    /// Fixed batch size; `None` adapts.
    pub batch: Option<u32>,
    pub encrypt_plaintext: bool,
    pub conflicts: u64,
    /// Rows per second the job was started with (`None`: unlimited); a resume or takeover
    /// keeps it.
    pub max_rate: Option<u64>,
    /// Seconds of replication lag past which the job's workers wait (PostgreSQL;
    /// `None`: lag is not watched). Changeable while the job runs, as the rate is.
    pub max_lag: Option<f64>,
    /// The order the job's chunks and cursors follow (fixed when the job is created).
    pub order: RowOrder,
}

/// The order a job walks its table in, which is what its chunk bounds and cursors hold.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RowOrder {
    /// Primary-key order: bounds and cursors are key texts.
    #[default]
    Key,
    /// SQLite's rowid order (a table's physical order): bounds and cursors are rowids.
    ///
    /// Why: a Timber table's keys are uuid4s, so in key order each batch of a rotation
    /// reads and rewrites rows spread over the whole table, and a SQLite commit journals
    /// and writes back every page it touched: on the Timber-shaped 300 000-row table the
    /// compare-and-set alone took 11.6 s in key order and 3.7 s in rowid order (Python's
    /// sqlite3, same statements). Writes find a row by the rowid it was read at and still
    /// require its key and old values (the compare-and-set); a row no longer at that rowid
    /// is a conflict, re-read and written by key.
    ///
    /// A `VACUUM` may renumber rowids of a table without an `INTEGER PRIMARY KEY`; run
    /// between a pause and its resume, it could make the job pass over rows (it still ends
    /// `completed`). No value is lost or unreadable then: those rows keep their old key, the
    /// census counts them, `keys retire` refuses to retire a key still in use, and a rerun
    /// rotates them.
    Rowid,
}

impl RowOrder {
    fn as_str(self) -> &'static str {
        match self {
            RowOrder::Key => "key",
            RowOrder::Rowid => "rowid",
        }
    }
}

impl JobOptions {
    pub fn to_json(&self) -> String {
        json!({
            "batch": self.batch,
            "encrypt_plaintext": self.encrypt_plaintext,
            "conflicts": self.conflicts,
            "max_rate": self.max_rate,
            "max_lag": self.max_lag,
            "order": self.order.as_str(),
        })
        .to_string()
    }

    /// Reads the column; anything missing or unreadable takes its default.
    pub fn parse(text: Option<&str>) -> JobOptions {
        let json: Json = text
            .and_then(|t| serde_json::from_str(t).ok())
            .unwrap_or(Json::Null);
        JobOptions {
            batch: json["batch"].as_u64().and_then(|b| u32::try_from(b).ok()),
            encrypt_plaintext: json["encrypt_plaintext"].as_bool().unwrap_or(false),
            // An integer; a float too (`3.0`, as MySQL 8 may have stored an addition).
            conflicts: json["conflicts"]
                .as_u64()
                .or_else(|| json["conflicts"].as_f64().map(|f| f.max(0.0) as u64))
                .unwrap_or(0),
            // A number; digits in a string too (MySQL's JSON_SET may write one when it
            // carries the row's rate over, see `save_progress`).
            max_rate: json["max_rate"]
                .as_u64()
                .or_else(|| json["max_rate"].as_str().and_then(|t| t.parse().ok()))
                .filter(|r| *r > 0),
            max_lag: json["max_lag"].as_f64().filter(|l| *l > 0.0),
            // Jobs from before this option walked their tables by key.
            order: match json["order"].as_str() {
                Some("rowid") => RowOrder::Rowid,
                _ => RowOrder::Key,
            },
        }
    }

    /// Whether the column records a rate at all (`null` included): jobs started before
    /// rate limits existed do not, and a resume gives them the rate configured now.
    pub fn records_max_rate(text: Option<&str>) -> bool {
        text.and_then(|t| serde_json::from_str::<Json>(t).ok())
            .and_then(|json| json.as_object().map(|o| o.contains_key("max_rate")))
            .unwrap_or(false)
    }
}

/// This process as a worker: `host:pid`.
pub fn worker_id() -> String {
    format!("{}:{}", hostname(), std::process::id())
}

fn hostname() -> String {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .find_map(|p| std::fs::read_to_string(p).ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".to_string())
}

/// Seconds since the job's heartbeat (or since it started, if it never beat).
pub fn heartbeat_age(job: &JobRow, now: NaiveDateTime) -> i64 {
    let last = job.heartbeat_at.unwrap_or(job.updated_at);
    (now - last).num_seconds()
}

/// Whether the job's worker may still be running it.
pub fn worker_alive(job: &JobRow) -> bool {
    worker_alive_at(job, Utc::now().naive_utc())
}

/// [`worker_alive`] judged at `now` (UTC): the heartbeat's age against `now`, then, on this
/// host, the process table. `timber jobs`, the console and `timber health` all decide here.
pub fn worker_alive_at(job: &JobRow, now: NaiveDateTime) -> bool {
    if heartbeat_age(job, now) > STALE_AFTER_SECONDS {
        return false;
    }
    // Same host: the process table answers at once (Linux /proc; elsewhere the heartbeat).
    job.worker
        .as_deref()
        .is_some_and(|worker| !owner_gone(worker))
}

/// The process part of a chunk's lease owner: `host:pid` of `host:pid/w3`.
pub fn owner_process(owner: &str) -> &str {
    owner.split_once('/').map_or(owner, |(process, _)| process)
}

/// Whether a lease owner (`host:pid/wN`) is known to be gone: it names this host and a
/// process that no longer exists. Another host's owner is never known gone; its lease
/// expires instead.
pub fn owner_gone(owner: &str) -> bool {
    let Some((host, pid)) = owner_process(owner).rsplit_once(':') else {
        return false;
    };
    if host != hostname() || !std::path::Path::new("/proc/self").exists() {
        return false;
    }
    match pid.parse::<u32>() {
        Ok(pid) => {
            pid != std::process::id() && !std::path::Path::new(&format!("/proc/{pid}")).exists()
        }
        Err(_) => false,
    }
}

/// A job as an operator should read it: what the table records, except that a job the
/// table calls active whose worker is gone (a killed console or CLI) is `Interrupted`, so
/// it is not mistaken for live work; resuming it is a takeover.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobState {
    Recorded(JobStatus),
    Interrupted(JobStatus),
}

impl JobState {
    /// The job's state now (the liveness check reads the clock and, on this host, the
    /// process table).
    pub fn of(job: &JobRow) -> JobState {
        JobState::at(job, Utc::now().naive_utc())
    }

    /// The job's state at `now` (UTC), as [`JobState::of`] judges it.
    pub fn at(job: &JobRow, now: NaiveDateTime) -> JobState {
        if job.status.is_active() && !worker_alive_at(job, now) {
            JobState::Interrupted(job.status)
        } else {
            JobState::Recorded(job.status)
        }
    }

    /// What the table records.
    pub fn status(self) -> JobStatus {
        match self {
            JobState::Recorded(s) | JobState::Interrupted(s) => s,
        }
    }

    /// One word for a list: the status, or `interrupted`.
    pub fn label(self) -> &'static str {
        match self {
            JobState::Recorded(s) => s.as_str(),
            JobState::Interrupted(_) => "interrupted",
        }
    }

    /// No worker will move the job again by itself: it completed, was cancelled or failed.
    pub fn has_ended(self) -> bool {
        matches!(
            self,
            JobState::Recorded(JobStatus::Completed | JobStatus::Cancelled | JobStatus::Failed)
        )
    }
}

impl std::fmt::Display for JobState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.label())
    }
}

/// The job's cursor and primary key text: integers as digits, text as it is.
pub fn key_text(id: &crate::value::Value) -> String {
    crate::value::owner_text(id).unwrap_or_default()
}
