//! A rotation job's rate limit (`ROTATION_MAX_ROWS_PER_SECOND`, `timber rotate --max-rate`):
//! online rotation that spares a production database. The job keeps its rows handled in
//! this run at or under the rate by sleeping after a batch, and its batches are at most one
//! second of the rate, so a pause, a cancel and the progress shown stay within about a second
//! even at a low rate. The wait itself watches the job's control, so a pause or cancel from
//! this process ends it at once, and the driver reads the jobs table every
//! [`TABLE_POLL`] while waiting, so a request from another process (or the console's `p`,
//! which goes through the table) ends it too.

use std::time::{Duration, Instant};

use super::RotationError;
use super::job::{JobOptions, JobStatus};
use super::run::RotationControl;
use crate::store::{JobRow, Store};

/// How often a paced job looks at its control while it waits.
const WAIT_SLICE: Duration = Duration::from_millis(50);
/// How often a paced job reads its status in the jobs table while it waits.
pub(crate) const TABLE_POLL: Duration = Duration::from_millis(250);

/// How often a running job reads its rate from the jobs table, where `timber jobs set JOB
/// --max-rate N` and the console change it while the job runs.
pub(crate) const RATE_POLL: Duration = Duration::from_secs(1);

/// The rate a job runs at, and since when (and after how many rows) it has run at it.
#[derive(Clone)]
pub(crate) struct Pacer {
    rate: Option<u64>,
    started: Instant,
    /// Rows handled before `started` (at an earlier rate); they owe nothing at this one.
    rows_before: u64,
    /// Paced seconds of the run before `started` (see [`Pacer::paced_seconds`]).
    seconds_before: f64,
}

impl Pacer {
    /// `rate` in rows per second; `None` (or 0) never waits.
    pub(crate) fn new(rate: Option<u64>, started: Instant) -> Pacer {
        Pacer {
            rate: rate.filter(|r| *r > 0),
            started,
            rows_before: 0,
            seconds_before: 0.0,
        }
    }

    /// The rate in force (`None`: unlimited).
    pub(crate) fn rate(&self) -> Option<u64> {
        self.rate
    }

    /// A new rate from now on, `rows` having been handled so far in this run: the rows
    /// before do not count against it, so slowing a job down does not stall it to pay for
    /// the rows it did at the faster rate.
    pub(crate) fn set_rate(&mut self, rate: Option<u64>, rows: u64) {
        self.seconds_before = self.paced_seconds(rows);
        self.rate = rate.filter(|r| *r > 0);
        self.started = Instant::now();
        self.rows_before = rows;
    }

    /// The batch size capped to one second of the rate (at least one row).
    pub(crate) fn cap(&self, batch: u32) -> u32 {
        match self.rate {
            Some(rate) => batch.min(u32::try_from(rate).unwrap_or(u32::MAX)).max(1),
            None => batch,
        }
    }

    /// How long to wait before the next batch so that `rows` handled since the start of
    /// this run stay at or under the rate.
    pub(crate) fn owed(&self, rows: u64) -> Duration {
        let Some(rate) = self.rate else {
            return Duration::ZERO;
        };
        let rows = rows.saturating_sub(self.rows_before);
        let due = Duration::from_secs_f64(rows as f64 / rate as f64);
        due.saturating_sub(self.started.elapsed())
    }

    /// Seconds `rows` take in this run once the pacer has waited what it owes: the time
    /// spent so far, or the rate's due time when that is later. The rate and ETA a limited
    /// job reports are measured on this, so `limited to 40 rows/s` never sits beside the
    /// `4000 rows/s` of a batch that was read and written in 10 ms and then waited.
    /// A rate changed mid-run counts from its change (the seconds before are kept).
    pub(crate) fn paced_seconds(&self, rows: u64) -> f64 {
        let elapsed = self.started.elapsed().as_secs_f64();
        let rows = rows.saturating_sub(self.rows_before);
        self.seconds_before
            + match self.rate {
                Some(rate) => elapsed.max(rows as f64 / rate as f64),
                None => elapsed,
            }
    }

    /// Sleeps what [`Pacer::owed`] says, but at most `limit`, in short slices; returns
    /// early with the requested stop when this process asks the job to pause or cancel.
    /// The caller looks at the jobs table between calls (requests of other processes).
    pub(crate) async fn wait(
        &self,
        rows: u64,
        control: &RotationControl,
        limit: Duration,
    ) -> Option<JobStatus> {
        let until = Instant::now() + limit;
        loop {
            if let Some(stop) = control.requested() {
                return Some(stop);
            }
            let owed = self
                .owed(rows)
                .min(until.saturating_duration_since(Instant::now()));
            if owed.is_zero() {
                return None;
            }
            tokio::time::sleep(owed.min(WAIT_SLICE)).await;
        }
    }
}

/// Sets job `id`'s rate limit in the jobs table (`timber jobs set JOB --max-rate N`, the
/// console's `:rate N`): `None` or 0 is unlimited. A running job's worker reads it within
/// [`RATE_POLL`] and runs at it from then on; a paused, failed or interrupted job keeps it
/// for its resume. A completed or cancelled job is refused (no worker will run it again).
/// Returns the job as it was before the change.
pub async fn set_max_rate(
    store: &Store,
    id: i64,
    rate: Option<u64>,
) -> Result<JobRow, RotationError> {
    set_job_limits(store, id, Some(rate), None).await
}

/// Sets job `id`'s rate limit (`rate`: `Some(None)` unlimited) and its replication-lag
/// limit (`lag`: `Some(None)` not watched); `None` leaves that one as it is. As
/// [`set_max_rate`]: a running job's workers follow within a second. Returns the job as it
/// was before the change.
pub async fn set_job_limits(
    store: &Store,
    id: i64,
    rate: Option<Option<u64>>,
    lag: Option<Option<f64>>,
) -> Result<JobRow, RotationError> {
    // The worker rewrites the row's options with every batch (keeping the rate it holds):
    // a compare-and-set on the text read, retried, never loses either write.
    for _ in 0..20 {
        let row = store
            .rotation_job(id)
            .await?
            .ok_or(RotationError::NoSuchJob(id))?;
        if row.status.is_final() {
            return Err(RotationError::Ended {
                id,
                status: row.status,
            });
        }
        let mut options = JobOptions::parse(row.options.as_deref());
        if let Some(rate) = rate {
            options.max_rate = rate.filter(|r| *r > 0);
        }
        if let Some(lag) = lag {
            // A MySQL/MariaDB job's workers read the lag on a replica each names
            // (`--lag-from`); SQLite has none to read.
            if lag.is_some() && store.dialect() == crate::store::Dialect::Sqlite {
                return Err(RotationError::LagUnknown {
                    database: "SQLite database",
                    remedy: "leave out --max-lag, or cap the pace with --max-rate",
                });
            }
            options.max_lag = lag.filter(|l| *l > 0.0);
        }
        if store
            .rotation_replace_options(id, row.options.as_deref(), &options.to_json())
            .await?
        {
            tracing::info!(job = id, max_rate = ?options.max_rate, max_lag = ?options.max_lag, "rotation job limits set");
            return Ok(row);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Err(RotationError::Model {
        model: format!("job {id}"),
        reason: "its options changed under every attempt to set the rate; try again".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse_rate;

    #[test]
    fn rates_parse_and_bad_ones_say_what_was_expected() {
        assert_eq!(parse_rate(" 500 "), Ok(500));
        assert_eq!(parse_rate("0"), Ok(0));
        assert!(parse_rate("-5").unwrap_err().contains("negative"));
        assert!(parse_rate("fast").unwrap_err().contains("whole number"));
        assert!(parse_rate("1.5").unwrap_err().contains("whole number"));
    }

    #[test]
    fn a_batch_is_at_most_one_second_of_the_rate() {
        let pacer = Pacer::new(Some(40), Instant::now());
        assert_eq!(pacer.cap(500), 40);
        assert_eq!(pacer.cap(10), 10);
        assert_eq!(Pacer::new(None, Instant::now()).cap(500), 500);
        assert_eq!(Pacer::new(Some(0), Instant::now()).cap(500), 500);
    }

    #[test]
    fn nothing_is_owed_without_a_rate_and_rows_ahead_of_it_are() {
        let start = Instant::now();
        assert!(Pacer::new(None, start).owed(1_000_000).is_zero());
        // 100 rows at 10 rows/s are due 10 s after the start: most of that is still owed.
        assert!(Pacer::new(Some(10), start).owed(100) > Duration::from_secs(5));
    }

    #[test]
    fn a_new_rate_counts_from_the_change_not_from_the_start() {
        let mut pacer = Pacer::new(Some(1000), Instant::now());
        // 1000 rows done at 1000 rows/s, then slowed to 10 rows/s: the next 10 rows are
        // owed about a second, not the 100 s the first 1000 rows would cost at 10 rows/s.
        pacer.set_rate(Some(10), 1000);
        let owed = pacer.owed(1010);
        assert!(owed <= Duration::from_secs(1) && owed > Duration::from_millis(500));
        // Timed as 1 s for the first 1000 rows plus 1 s for the next 10.
        let paced = pacer.paced_seconds(1010);
        assert!((2.0..2.5).contains(&paced), "{paced}");
        pacer.set_rate(None, 1010);
        assert!(pacer.owed(1_000_000).is_zero());
        assert_eq!(pacer.rate(), None);
    }

    #[test]
    fn a_limited_run_is_timed_as_if_it_had_waited_its_due() {
        let start = Instant::now();
        // 400 rows handled at once under a 40 rows/s limit take 10 s, not the microseconds
        // spent so far; without a limit they take what they took.
        let paced = Pacer::new(Some(40), start).paced_seconds(400);
        assert!((10.0..11.0).contains(&paced), "{paced}");
        assert!(Pacer::new(None, start).paced_seconds(400) < 1.0);
    }

    #[tokio::test]
    async fn a_pause_ends_the_wait() {
        let control = RotationControl::default();
        control.pause();
        let pacer = Pacer::new(Some(1), Instant::now());
        let wait = pacer.wait(1_000, &control, Duration::from_secs(3600));
        assert_eq!(wait.await, Some(JobStatus::Paused));
    }
}
