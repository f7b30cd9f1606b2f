//! A worker's wait while replication lag is over its job's limit (`--max-lag`, `timber jobs
//! set JOB --max-lag S`): before each batch the lag is read (at most every [`LAG_POLL`] for
//! the whole process), and while it is over the limit the worker holds its chunk, renewing
//! the lease and watching for a stop, and says once when the waiting starts and ends.

use std::sync::Mutex;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::RotationError;
use super::events::RotationEvent;
use super::run::Runner;
use super::workers::{ChunkEnd, JobRun, stop_asked};
use crate::store::ChunkLease;

/// How often replication lag is read while it is under the limit, and while waiting for it.
const LAG_POLL: Duration = Duration::from_secs(1);

impl Runner<'_> {
    /// Waits while replication lag is over the job's limit (read at most every
    /// [`LAG_POLL`]), renewing the lease and watching for a stop, and says when it starts
    /// and stops waiting. `Some` when the chunk ended meanwhile (taken over, or a stop).
    pub(super) async fn hold_for_lag(
        &self,
        run: &JobRun<'_>,
        lease: &ChunkLease,
    ) -> Result<Option<ChunkEnd>, RotationError> {
        let lock = |m: &Mutex<Option<Instant>>| *m.lock().unwrap_or_else(|e| e.into_inner());
        if lock(&run.lag_ok_at).is_some_and(|at| at.elapsed() < LAG_POLL) {
            return Ok(None);
        }
        let job = run.live.row.id;
        let mut waiting_since = false;
        loop {
            let Some(max_lag) = *run.max_lag.lock().unwrap_or_else(|e| e.into_inner()) else {
                return Ok(None);
            };
            // Set while the job ran (`timber jobs set`) on a server whose lag this process
            // cannot read: said, rather than waited on forever.
            self.check_lag_source()?;
            // PostgreSQL: the primary's view of its replicas; MySQL/MariaDB: the replica's
            // own (`None` when its replication is stopped: unknown, so wait).
            let lag = match &self.lag_from {
                Some(replica) => replica.replica_lag().await?,
                None => self.store.replication_lag().await?,
            };
            if let Some(lag) = lag.filter(|l| *l <= max_lag) {
                *run.lag_ok_at.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
                if waiting_since {
                    // The time waited is no credit: a replica that has just caught up is
                    // what the rate protects, so the rate counts again from now.
                    let rows = run.rows.load(Ordering::SeqCst);
                    let mut pacer = run.pacer();
                    let rate = pacer.rate();
                    pacer.set_rate(rate, rows);
                }
                // Said once for the process, by the first worker to see it.
                if waiting_since && run.lag_waiting.swap(false, Ordering::SeqCst) {
                    tracing::info!(job, lag, max_lag, "replication lag back under the limit");
                    self.events.send(RotationEvent::Lagging {
                        job,
                        lag_seconds: Some(lag),
                        max_lag,
                        waiting: false,
                    });
                }
                return Ok(None);
            }
            if !waiting_since {
                waiting_since = true;
                if !run.lag_waiting.swap(true, Ordering::SeqCst) {
                    tracing::warn!(
                        job,
                        ?lag,
                        max_lag,
                        "replication lag over the limit; waiting"
                    );
                    self.events.send(RotationEvent::Lagging {
                        job,
                        lag_seconds: lag,
                        max_lag,
                        waiting: true,
                    });
                }
            }
            let slice = Instant::now() + LAG_POLL;
            while Instant::now() < slice {
                if let Some(stop) = self.control.requested() {
                    run.stop_with(stop, true);
                }
                if run.stopping().is_some() {
                    self.store.rotation_release_chunk(lease).await?;
                    return Ok(Some(ChunkEnd::Stopped));
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            if !self
                .store
                .rotation_renew_lease(lease, self.lease_until())
                .await?
            {
                return Ok(Some(ChunkEnd::Fenced));
            }
            // The job's heartbeat moves while it waits: waiting is not being gone.
            self.store.rotation_heartbeat(job).await?;
            if let Some(row) = self.store.rotation_job(job).await? {
                if let Some(stop) = stop_asked(row.status) {
                    run.stop_with(stop, false);
                }
                let rows = run.rows.load(Ordering::SeqCst);
                self.follow_rate(run, row.options.as_deref(), rows);
            }
        }
    }
}
