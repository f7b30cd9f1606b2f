//! `:report`: the evidence report of `timber report` (HTML), for the session's current role,
//! written to the working directory (`State::report_dir`); the message row says where. The
//! console only gathers the session's facts and calls `crate::report`; the report records
//! itself in the audit log there.

use super::App;
use crate::report::{ReportRequest, default_file_name, generate, to_html};
use crate::tui::app::tasks::TaskResult;

impl App {
    /// Starts writing the report in the background (it scans every encrypted column).
    pub(super) fn write_report(&mut self) {
        let Some(store) = self.services.store.clone() else {
            let why = self
                .services
                .connection_error
                .clone()
                .unwrap_or_else(|| "still connecting".to_string());
            self.state
                .error(format!("cannot write a report: not connected ({why})"));
            return;
        };
        let now = self.state.now.naive_utc();
        let path = self.state.report_dir.join(default_file_name(&now, "html"));
        let settings = self.services.settings.clone();
        let models = self.services.models.clone();
        let identity = self.services.access.identity().clone();
        self.state.notice(format!(
            "writing the report for role {} to {}…",
            identity.role,
            path.display()
        ));
        self.tasks.spawn("report", async move {
            let request = ReportRequest {
                since: None,
                until: None,
                now,
                format: "html",
            };
            let report = match generate(&settings, &models, &store, &identity, &request).await {
                Ok(report) => report,
                Err(e) => return TaskResult::Report(Err(format!("no report: {e}"))),
            };
            let written = std::fs::write(&path, to_html(&report));
            TaskResult::Report(match written {
                Ok(()) => Ok(format!(
                    "report written to {}{}",
                    path.display(),
                    report
                        .header
                        .audit_entry
                        .map_or_else(String::new, |id| format!(" (audit entry {id})"))
                )),
                Err(e) => Err(format!(
                    "cannot write the report to {}: {e}",
                    path.display()
                )),
            })
        });
    }
}
