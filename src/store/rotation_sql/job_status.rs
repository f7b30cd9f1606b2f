//! The words of the jobs table's `status` column, as one enum from the row to the screen:
//! the SQL binds [`JobStatus::as_str`], the rows decode with [`JobStatus::parse`], and
//! nothing above the store compares status strings.

use std::fmt;

/// Where a rotation job stands, as `timber_rotation_jobs.status` records it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum JobStatus {
    Running,
    /// Asked to pause: the worker stops after its batch and records `Paused`.
    Pausing,
    /// Asked to cancel: the worker stops after its batch and records `Cancelled`.
    Cancelling,
    Paused,
    Cancelled,
    Completed,
    Failed,
}

impl JobStatus {
    /// Every status, in the order the table's documentation lists them.
    pub const ALL: [JobStatus; 7] = [
        JobStatus::Running,
        JobStatus::Pausing,
        JobStatus::Cancelling,
        JobStatus::Paused,
        JobStatus::Cancelled,
        JobStatus::Completed,
        JobStatus::Failed,
    ];

    /// The column's text.
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Running => "running",
            JobStatus::Pausing => "pausing",
            JobStatus::Cancelling => "cancelling",
            JobStatus::Paused => "paused",
            JobStatus::Cancelled => "cancelled",
            JobStatus::Completed => "completed",
            JobStatus::Failed => "failed",
        }
    }

    /// The status the column's text names (case-insensitive, as the table is edited by
    /// hand in an incident); `None` for a word this version does not know.
    pub fn parse(text: &str) -> Option<JobStatus> {
        let text = text.trim();
        JobStatus::ALL
            .into_iter()
            .find(|s| s.as_str().eq_ignore_ascii_case(text))
    }

    /// A worker holds (or held, if it died) the job.
    pub fn is_active(self) -> bool {
        matches!(
            self,
            JobStatus::Running | JobStatus::Pausing | JobStatus::Cancelling
        )
    }

    /// Completed and cancelled jobs are over; everything else may be resumed.
    pub fn is_final(self) -> bool {
        matches!(self, JobStatus::Completed | JobStatus::Cancelled)
    }
}

impl fmt::Display for JobStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What another process may ask of a running job through the table; its worker honours
/// the request after its current batch and records the final status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobRequest {
    Pause,
    Cancel,
}

impl JobRequest {
    /// The status that carries the request until the worker answers it.
    pub fn status(self) -> JobStatus {
        match self {
            JobRequest::Pause => JobStatus::Pausing,
            JobRequest::Cancel => JobStatus::Cancelling,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_reads_back_as_itself() {
        for status in JobStatus::ALL {
            assert_eq!(JobStatus::parse(status.as_str()), Some(status));
            assert_eq!(
                JobStatus::parse(&status.as_str().to_uppercase()),
                Some(status)
            );
        }
        assert_eq!(JobStatus::parse("interrupted"), None);
    }
}
