//! Ending the console's background work safely, whatever ends the console (`q`, a signal,
//! the terminal going away): each rotation job this console runs is asked to pause through
//! the jobs table, as `p` does. Its worker then either commits its current batch (with the
//! job's cursor, in one transaction) and records `paused`, or, if the wait runs out, the
//! batch's transaction is dropped with the process and rolled back by the database. Either
//! way nothing is half-written and the job resumes from its cursor (`timber rotate --resume
//! ID`, or `p` in a console). Every other task (a census, a health scan) only reads and is
//! stopped at once.

use std::time::Duration;

use super::App;
use crate::rotation::{JobRequest, JobStatus};

impl App {
    /// Stops all background work: rotation jobs of this console pause after their current
    /// batch (waiting at most `wait` for them), everything else stops at once. What became
    /// of each job is kept for [`App::stop_report`].
    pub async fn stop_background(&mut self, wait: Duration) {
        let running: Vec<i64> = self
            .state
            .keys
            .live
            .iter()
            .filter(|l| l.status == JobStatus::Running)
            .map(|l| l.job)
            .collect();
        if let (false, Some(store)) = (running.is_empty(), self.services.store.clone()) {
            for id in &running {
                // A job that stopped meanwhile is no longer `running`: nothing to ask.
                let _ = store.rotation_request(*id, JobRequest::Pause).await;
            }
            let deadline = tokio::time::Instant::now() + wait;
            while self.runs_any(&running) {
                match tokio::time::timeout_at(deadline, self.tasks.next()).await {
                    Ok(Some(result)) => self.apply(result),
                    Ok(None) | Err(_) => break,
                }
            }
        }
        self.stopped_jobs = running
            .iter()
            .map(|id| {
                let live = self.state.keys.live.iter().find(|l| l.job == *id);
                let (model, status, handled, total) = live
                    .map(|l| (l.model.as_str(), l.status, l.handled, l.total))
                    .unwrap_or(("?", JobStatus::Running, 0, 0));
                let resume = format!("resume it with `timber rotate --resume {id}`");
                if status == JobStatus::Running {
                    format!(
                        "job {id} ({model}) stopped mid-batch at {handled}/{total} rows: its \
                         batch was rolled back; {resume} (it is listed interrupted)"
                    )
                } else {
                    format!("job {id} ({model}) {status} at {handled}/{total} rows; {resume}")
                }
            })
            .collect();
        self.shutdown();
    }

    /// One line per rotation job this console was running when it stopped: paused (and
    /// how to resume it), or stopped mid-batch with its batch rolled back.
    pub fn stop_report(&self) -> &[String] {
        &self.stopped_jobs
    }

    fn runs_any(&self, jobs: &[i64]) -> bool {
        self.state
            .keys
            .live
            .iter()
            .any(|l| jobs.contains(&l.job) && l.status == JobStatus::Running)
    }
}
