//! Prometheus metrics (issue 18 item 5): what an on-call engineer graphs and alerts on while
//! keys rotate, in the Prometheus text format, written by the `prometheus-client` crate.
//!
//! - [`gather`]: a [`Snapshot`] of the database's facts: every rotation job's rows from the
//!   jobs table (as `timber jobs` reads them), the audit log's size and reveals per role
//!   (cheap, read at every scrape), the health checks' verdicts and the census (each a
//!   scan of every encrypted column, so a server refreshes them in the background and a
//!   scrape serves the last ones);
//! - [`process`]: what only this process sees: the batches it ran (a histogram of their
//!   seconds) and the jobs it adopted from a gone worker;
//! - [`render`]: both as the text a scrape returns or `timber metrics` prints.
//!
//! Labels carry ids, names and key fingerprints (`fp:` + 12 hex digits), never a key or a
//! stored value. Serving `/metrics` over HTTP is the binary's business (`cli::metrics`).

mod gather;
mod process;
mod render;

pub use gather::{
    AuditFacts, CheckStatus, JobFacts, ScanFacts, Snapshot, gather_audit, gather_jobs, gather_scans,
};
pub use process::{observe, process_metrics};
pub use render::{CONTENT_TYPE, render};
