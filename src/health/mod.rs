//! Health checks and the key census (DESIGN §9, §12): "is encryption healthy, and if not,
//! where", and "which key encrypts what".
//!
//! - [`run::run_health`] runs the checks of [`report::CHECK_IDS`] and returns a
//!   [`report::HealthReport`] (status, findings with evidence and remedies);
//! - [`census::take_census`] counts values per key fingerprint for each encrypted column,
//!   telling keys apart by HMAC alone;
//! - both read rows through one streaming survey ([`census::survey`], [`scan`]): keyset
//!   pages from the store, classification spread over every core;
//! - [`render`] prints either as text for people (`--format json` uses `to_json`).
//!
//! Thresholds and severities are documented on each check and in the README.

pub mod census;
pub mod checks_data;
pub mod checks_keys;
pub mod checks_ops;
pub mod checks_schema;
pub mod classify;
pub mod keyconfig;
pub mod render;
pub mod report;
pub mod run;
pub mod scan;
pub mod stats;

pub use census::{Census, CensusColumn, CensusKey, take_census};
pub use keyconfig::KeyConfig;
pub use report::{Evidence, Finding, HealthReport, Selection, Severity, UnknownCheck};
pub use run::{HealthError, HealthOptions, run_health};
pub use scan::{Progress, ProgressFn, ScanOptions};
