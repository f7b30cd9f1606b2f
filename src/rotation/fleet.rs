//! Who works on a job now: its chunks done, leased and left, and each worker holding a live
//! lease with its rate on the chunk it holds. Read from the chunks table, so every process's
//! workers are seen (`timber jobs`, the console's Keys screen, `/metrics`).

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDateTime;

use crate::store::{ChunkRow, ChunkStatus, Store, StoreError};

/// One job's chunks and workers.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct JobFleet {
    pub chunks_total: u64,
    pub chunks_done: u64,
    /// Chunks under a live lease.
    pub chunks_leased: u64,
    /// Chunks pending, or leased under an expired lease (free to claim).
    pub chunks_left: u64,
    /// Workers holding a live lease, by owner (`host:pid/wN`).
    pub workers: Vec<WorkerLoad>,
}

/// A worker holding a live lease.
#[derive(Clone, Debug, PartialEq)]
pub struct WorkerLoad {
    pub owner: String,
    pub chunk: i64,
    /// Rows per second on the chunk it holds, since it claimed it.
    pub rows_per_second: f64,
}

impl JobFleet {
    /// The job's chunks as they stand at `now`.
    pub fn of(chunks: &[ChunkRow], now: NaiveDateTime) -> JobFleet {
        let mut fleet = JobFleet {
            chunks_total: chunks.len() as u64,
            ..JobFleet::default()
        };
        for chunk in chunks {
            match chunk.status {
                ChunkStatus::Done => fleet.chunks_done += 1,
                // A lease whose process is gone from this host is free to take, not work.
                _ if chunk.leased_at(now)
                    && !chunk
                        .lease_owner
                        .as_deref()
                        .is_some_and(crate::rotation::owner_gone) =>
                {
                    fleet.chunks_leased += 1;
                    let seconds = chunk
                        .claimed_at
                        .map_or(0.0, |t| (now - t).num_milliseconds() as f64 / 1000.0);
                    let rows = (chunk.handled() - chunk.claimed_rows).max(0) as f64;
                    fleet.workers.push(WorkerLoad {
                        owner: chunk.lease_owner.clone().unwrap_or_default(),
                        chunk: chunk.chunk,
                        rows_per_second: if seconds > 0.0 { rows / seconds } else { 0.0 },
                    });
                }
                _ => fleet.chunks_left += 1,
            }
        }
        fleet
    }

    /// `3 workers · chunks 12/30 done, 3 leased, 15 left`; empty for a job without chunks.
    pub fn summary(&self) -> String {
        if self.chunks_total == 0 {
            return String::new();
        }
        let workers = match self.workers.len() {
            0 => "no live worker".to_string(),
            1 => "1 worker".to_string(),
            n => format!("{n} workers"),
        };
        format!(
            "{workers} · chunks {}/{} done, {} leased, {} left",
            self.chunks_done, self.chunks_total, self.chunks_leased, self.chunks_left
        )
    }

    /// The JSON `timber jobs --format json` gives (`chunks`, `workers`).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "total": self.chunks_total, "done": self.chunks_done,
            "leased": self.chunks_leased, "left": self.chunks_left,
            "workers": self.workers.iter().map(|w| serde_json::json!({
                "owner": w.owner, "chunk": w.chunk,
                "rows_per_second": (w.rows_per_second * 10.0).round() / 10.0,
            })).collect::<Vec<_>>(),
        })
    }
}

/// The fleets of `job_ids` (jobs without chunks are absent).
pub async fn job_fleets(
    store: &Store,
    job_ids: &[i64],
) -> Result<HashMap<i64, JobFleet>, StoreError> {
    let now = crate::store::utc_now();
    let mut by_job: BTreeMap<i64, Vec<ChunkRow>> = BTreeMap::new();
    for chunk in store.rotation_chunks_of(job_ids).await? {
        by_job.entry(chunk.job_id).or_default().push(chunk);
    }
    Ok(by_job
        .into_iter()
        .map(|(job, chunks)| (job, JobFleet::of(&chunks, now)))
        .collect())
}
