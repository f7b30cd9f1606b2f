//! Progress of a rotation, sent over a channel to whoever shows it (the CLI's progress bar
//! and JSON lines, the console's Keys & Rotation screen). Sending never blocks the job:
//! the channel is unbounded and a closed receiver is ignored.

use serde_json::{Value as Json, json};
use tokio::sync::mpsc::UnboundedSender;

use super::job::JobStatus;

/// How a job ended (or where it stopped), as `rotate` prints it last.
#[derive(Clone, Debug, PartialEq)]
pub struct JobSummary {
    pub job: i64,
    pub model: String,
    pub table: String,
    pub status: JobStatus,
    pub rows_total: u64,
    pub rows_done: u64,
    pub rows_skipped: u64,
    pub rows_failed: u64,
    pub conflicts: u64,
    /// Seconds this run took (not counting earlier runs of a resumed job).
    pub seconds: f64,
}

#[derive(Clone, Debug, PartialEq)]
pub enum RotationEvent {
    Started {
        job: i64,
        model: String,
        table: String,
        total: u64,
        resumed: bool,
        /// This process joined a job another process runs (`--join`).
        joined: bool,
        /// The job's rate limit in rows per second (`None`: unlimited).
        max_rate: Option<u64>,
    },
    /// A rerun of `rotate` adopted the table's unfinished job, whose worker is gone; its
    /// `Started` (with `resumed`) follows.
    Adopted {
        job: i64,
        table: String,
        /// The worker that held it (`host:pid`), if the row names one.
        worker: Option<String>,
        /// Seconds since that worker's last heartbeat.
        heartbeat_age_seconds: i64,
    },
    /// A worker of this process claimed a chunk whose lease had expired, or whose owner's
    /// process is gone: the chunk is redone from its last committed key.
    ChunkTakenOver {
        job: i64,
        chunk: i64,
        /// The lease owner it was taken from (`host:pid/wN`).
        from: String,
    },
    /// A worker of this process lost its chunk to another worker (it was stopped past its
    /// lease, then taken over): the chunk's generation refused its commit, nothing of the
    /// batch was written, and the worker moved on.
    Fenced {
        job: i64,
        chunk: i64,
        worker: String,
    },
    /// Replication lag passed the job's `max_lag`: this process's workers wait
    /// (`waiting`) until it is back under, then go on (`waiting: false`).
    Lagging {
        job: i64,
        /// `None`: the replica reports no lag (its replication is stopped or broken).
        lag_seconds: Option<f64>,
        max_lag: f64,
        waiting: bool,
    },
    /// The job's rate limit was changed while it ran (`timber jobs set`, the console); it
    /// runs at `max_rate` rows per second from now on (`None`: unlimited).
    RateChanged {
        job: i64,
        max_rate: Option<u64>,
    },
    /// After each committed batch; counters are the job's totals so far.
    Batch {
        job: i64,
        total: u64,
        done: u64,
        skipped: u64,
        failed: u64,
        conflicts: u64,
        /// Rows per second in this run.
        rate: f64,
        /// Seconds left at this rate, when it can be told.
        eta_seconds: Option<f64>,
        /// Seconds this batch took, from its read to its commit.
        batch_seconds: f64,
    },
    Done(JobSummary),
    Failed {
        job: i64,
        error: String,
    },
}

impl RotationEvent {
    /// The JSON line `timber rotate --format json` prints (DESIGN §12).
    pub fn to_json(&self) -> Json {
        match self {
            RotationEvent::Started {
                job,
                model,
                table,
                total,
                resumed,
                joined,
                max_rate,
            } => json!({
                "event": "started", "job": job, "model": model, "table": table,
                "rows_total": total, "resumed": resumed, "joined": joined, "max_rate": max_rate,
            }),
            RotationEvent::Adopted {
                job,
                table,
                worker,
                heartbeat_age_seconds,
            } => json!({
                "event": "adopted", "job": job, "table": table, "worker": worker,
                "heartbeat_age_seconds": heartbeat_age_seconds,
            }),
            RotationEvent::RateChanged { job, max_rate } => {
                json!({ "event": "rate", "job": job, "max_rate": max_rate })
            }
            RotationEvent::ChunkTakenOver { job, chunk, from } => {
                json!({ "event": "takeover", "job": job, "chunk": chunk, "from": from })
            }
            RotationEvent::Lagging {
                job,
                lag_seconds,
                max_lag,
                waiting,
            } => json!({
                "event": "lag", "job": job, "lag_seconds": lag_seconds.map(round2),
                "max_lag": max_lag, "waiting": waiting,
            }),
            RotationEvent::Fenced { job, chunk, worker } => {
                json!({ "event": "fenced", "job": job, "chunk": chunk, "worker": worker })
            }
            RotationEvent::Batch {
                job,
                total,
                done,
                skipped,
                failed,
                conflicts,
                rate,
                eta_seconds,
                ..
            } => json!({
                "event": "batch", "job": job, "rows_total": total, "rows_done": done,
                "rows_skipped": skipped, "rows_failed": failed, "conflicts": conflicts,
                "rate": round2(*rate), "eta_seconds": eta_seconds.map(round2),
            }),
            RotationEvent::Done(s) => json!({
                "event": "done", "job": s.job, "status": s.status.as_str(),
                "rows_total": s.rows_total, "rows_done": s.rows_done,
                "rows_skipped": s.rows_skipped, "rows_failed": s.rows_failed,
                "conflicts": s.conflicts, "seconds": round2(s.seconds),
            }),
            RotationEvent::Failed { job, error } => {
                json!({ "event": "failed", "job": job, "error": error })
            }
        }
    }

    /// What an operator reads when a rerun adopts a job: `resuming job 1 (worker vm:2883
    /// gone, last heartbeat 41 s ago)`; `None` for every other event.
    pub fn adoption_text(&self) -> Option<String> {
        let RotationEvent::Adopted {
            job,
            table,
            worker,
            heartbeat_age_seconds,
        } = self
        else {
            return None;
        };
        Some(format!(
            "resuming job {job} of `{table}` (worker {} gone, last heartbeat {heartbeat_age_seconds} s ago)",
            worker.as_deref().unwrap_or("unknown")
        ))
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Sends events if someone listens.
#[derive(Clone, Default)]
pub struct EventSink(Option<UnboundedSender<RotationEvent>>);

impl EventSink {
    pub fn new(sender: Option<UnboundedSender<RotationEvent>>) -> EventSink {
        EventSink(sender)
    }

    pub fn send(&self, event: RotationEvent) {
        if let Some(tx) = &self.0 {
            // A receiver that went away (console closed) must not stop the job.
            let _ = tx.send(event);
        }
    }
}

/// Rate and ETA from rows handled in this run.
pub fn rate_and_eta(rows_this_run: u64, seconds: f64, rows_left: u64) -> (f64, Option<f64>) {
    if seconds <= 0.0 || rows_this_run == 0 {
        return (0.0, None);
    }
    let rate = rows_this_run as f64 / seconds;
    (rate, Some(rows_left as f64 / rate))
}
