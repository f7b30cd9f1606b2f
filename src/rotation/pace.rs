//! A rotation job's rate limit (`ROTATION_MAX_ROWS_PER_SECOND`, `timber rotate --max-rate`):
//! online rotation that spares a production database. The job keeps its rows handled in
//! this run at or under the rate by sleeping after a batch, and its batches are at most one
//! second of the rate, so a pause, a cancel and the progress shown stay within about a second
//! even at a low rate. The wait itself watches the job's control, so a pause or cancel from
//! this process ends it at once, and the driver reads the jobs table every
//! [`TABLE_POLL`] while waiting, so a request from another process (or the console's `p`,
//! which goes through the table) ends it too.

use std::time::{Duration, Instant};

use super::job::JobStatus;
use super::run::RotationControl;

/// How often a paced job looks at its control while it waits.
const WAIT_SLICE: Duration = Duration::from_millis(50);
/// How often a paced job reads its status in the jobs table while it waits.
pub(crate) const TABLE_POLL: Duration = Duration::from_millis(250);

/// The rate a job runs at, and when its run started.
pub(crate) struct Pacer {
    rate: Option<u64>,
    started: Instant,
}

impl Pacer {
    /// `rate` in rows per second; `None` (or 0) never waits.
    pub(crate) fn new(rate: Option<u64>, started: Instant) -> Pacer {
        Pacer {
            rate: rate.filter(|r| *r > 0),
            started,
        }
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
        let due = Duration::from_secs_f64(rows as f64 / rate as f64);
        due.saturating_sub(self.started.elapsed())
    }

    /// Seconds `rows` take in this run once the pacer has waited what it owes: the time
    /// spent so far, or the rate's due time when that is later. The rate and ETA a limited
    /// job reports are measured on this, so `limited to 40 rows/s` never sits beside the
    /// `4000 rows/s` of a batch that was read and written in 10 ms and then waited.
    pub(crate) fn paced_seconds(&self, rows: u64) -> f64 {
        let elapsed = self.started.elapsed().as_secs_f64();
        match self.rate {
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
