//! Key rotation (DESIGN §8): online, resumable, never overwriting a concurrent write.
//!
//! - [`plan`]: per model and column, how many values need work (a census by HMAC, with a
//!   sampled estimate for very large tables); `--dry-run` prints it and writes nothing.
//! - [`run`]: the job loop. Rows are read in batches in primary-key order (on SQLite in
//!   rowid order, `RowOrder::Rowid`); each batch is one
//!   transaction holding compare-and-set updates (`... WHERE pk = ? AND col = <old token>`,
//!   joined over the whole batch: one statement per column, one for all on PostgreSQL),
//!   the failures found, and the job's cursor and counters, so a process killed at any
//!   moment has either applied a whole batch and moved past it, or nothing of it.
//! - [`job`]: job status, options, worker identity and liveness (resume and takeover).
//! - [`events`]: progress over a channel for the CLI and the console.
//! - [`pace`]: the optional rate limit in rows per second (sleeps between batches).
//! - [`retire`]: `timber keys list` and `timber keys retire`, which refuses while any value
//!   still depends on the key.
//!
//! What is rotated: every value not under the model's target key (the primary, the model's
//! named key, or the owner's per-user key derived from the current master) is re-encrypted
//! under it from exactly the plaintext bytes it held. Declared blind indexes are recomputed
//! when they are not the keyed hash under the current master (a legacy unkeyed hash is left
//! as it is: the application may still search with it). Plaintext in an encrypted column is
//! counted and left alone unless `--encrypt-plaintext` is given.

mod batch;
mod decide;
mod drive;
mod events;
mod fleet;
mod job;
mod lag_hold;
mod next_page;
mod pace;
mod plan;
mod retire;
mod run;
mod scope;
mod split;
mod workers;

pub use decide::{Decider, Outcome, WriteKind};
pub use events::{JobSummary, RotationEvent};
pub use fleet::{JobFleet, WorkerLoad, job_fleets};
pub use job::{JobOptions, JobRequest, JobState, JobStatus, RowOrder, worker_id};
pub use job::{heartbeat_age, owner_gone, owner_process, worker_alive, worker_alive_at};
pub use pace::{set_job_limits, set_max_rate};
pub use plan::{ColumnCensus, ModelPlan, plan_model};
pub use retire::{KeyListing, KeyUse, key_listing, key_usage, retire_key};
pub use retire::{key_usage_with_progress, retirable};
pub use run::{BatchHook, DEFAULT_LEASE, RotationControl, RunOptions, Runner, lag_source};
pub use scope::Scope;
pub use scope::target_label;

use crate::audit::AuditError;

/// What to do with a job that cannot be joined: resume one that may be resumed.
fn join_remedy(id: i64, status: JobStatus) -> String {
    if status.is_final() {
        String::new()
    } else {
        format!("; resume it with `timber rotate --resume {id}`")
    }
}
use crate::store::StoreError;

/// Why a rotation, a resume or a retirement did not happen. One line, never a key or a value.
#[derive(Debug, thiserror::Error)]
pub enum RotationError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(
        "audit log: {0} (rotations and key retirements are refused when they cannot be audited)"
    )]
    Audit(#[from] AuditError),
    #[error("model {model}: {reason}")]
    Model { model: String, reason: String },
    #[error("no model has table `{table}` (job {job}); load the models it was started with")]
    UnknownTable { job: i64, table: String },
    #[error("rotation job {0} does not exist")]
    NoSuchJob(i64),
    #[error("rotation job {id} is {status} and cannot be resumed")]
    NotResumable { id: i64, status: JobStatus },
    #[error("rotation job {id} is {status}: no worker will run it again, so it has no rate to set")]
    Ended { id: i64, status: JobStatus },
    #[error(
        "rotation job {id} is running in worker {worker} (heartbeat {age_seconds} s ago); \
         a job may be taken over once its worker is gone or its heartbeat is older than {stale} s"
    )]
    Busy {
        id: i64,
        worker: String,
        age_seconds: i64,
        stale: i64,
    },
    #[error(
        "table `{table}` already has an unfinished rotation job {id} ({status}); \
         resume it with `timber rotate --resume {id}`"
    )]
    Unfinished {
        table: String,
        id: i64,
        status: JobStatus,
    },
    /// A rerun found the table's unfinished job still held by a live worker: adopting it
    /// would make two workers of one job.
    #[error(
        "table `{table}` has rotation job {id} running in worker {worker} (last heartbeat \
         {age_seconds} s ago); it is adopted only once that worker is gone (no heartbeat for \
         {stale} s, or its process has ended): wait for it, or pause it (`p` in the console)"
    )]
    HeldBy {
        table: String,
        id: i64,
        worker: String,
        age_seconds: i64,
        stale: i64,
    },
    #[error(
        "rotation job {id} was taken over by another worker; this worker stopped without committing its batch"
    )]
    TakenOver { id: i64 },
    #[error("rotation job {id} is {status}, so there is nothing to join{}", join_remedy(*id, *status))]
    NotJoinable { id: i64, status: JobStatus },
    #[error(
        "SQLite has one writer at a time, so {workers} workers would only queue behind each \
         other: run one (leave out --workers)"
    )]
    OneWriter { workers: usize },
    #[error(
        "--max-lag: a {database} cannot tell its replicas' lag (PostgreSQL's \
         pg_stat_replication can); {remedy}"
    )]
    LagUnknown {
        database: &'static str,
        remedy: &'static str,
    },
    #[error(
        "key {key} ({fingerprint}) still encrypts {total} value(s): {places}; \
         run `timber rotate --all` and retry"
    )]
    KeyInUse {
        key: String,
        fingerprint: String,
        total: u64,
        places: String,
    },
    #[error("key {key}: {reason}")]
    Retire { key: String, reason: String },
    /// The acting role is not granted the action (policy `actions:`).
    #[error(transparent)]
    NotGranted(#[from] crate::access::ActionRefused),
}
