//! Health checks and the key census (DESIGN §9, §12): "is encryption healthy, and if not,
//! where", and "which key encrypts what".
//!
//! - [`run::run_health`] runs the checks of [`report::CHECK_IDS`] and returns a
//!   [`report::HealthReport`] (status, findings with evidence and remedies);
//! - [`census::take_census`] counts values per key fingerprint for each encrypted column,
//!   telling keys apart by HMAC alone, and when the values under each key were written
//!   ([`TokenAge`], from the tokens' headers);
//! - both read rows through one streaming survey ([`census::survey`], [`scan`]): keyset
//!   pages from the store, classification spread over every core;
//! - [`discover`] samples the columns no model declares encrypted and reports those whose
//!   values look like personal data or secrets (`timber discover`,
//!   `data.undeclared_sensitive`);
//! - [`render`] prints either as text for people (`--format json` uses `to_json`).
//!
//! Thresholds and severities are documented on each check and in the README.

mod census;
mod checks_data;
mod checks_discover;
mod checks_keys;
mod checks_ops;
mod checks_schema;
mod classify;
pub mod discover;
mod keyconfig;
mod render;
mod report;
mod run;
mod scan;
mod stats;
mod token_age;

pub use census::{Census, CensusColumn, CensusKey, take_census};
pub use checks_keys::strictest;
pub use classify::{Classifier, Depth};
pub use keyconfig::KeyConfig;
pub use render::{census_text, health_text};
pub use report::{CHECK_IDS, family};
pub use report::{
    Evidence, Finding, FindingGroup, HealthReport, Selection, Severity, UnknownCheck,
};
pub use run::PhaseHook;
pub use run::{HealthError, HealthOptions, run_health};
pub use scan::table_job;
pub use scan::{Progress, ProgressFn, ScanOptions};
pub use token_age::TokenAge;
