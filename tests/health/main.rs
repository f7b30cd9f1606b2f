//! Health checks and the census: every finding, the CLI, the demo's planted problems, no secret in
//! a report.
//!
//! One test binary per area (issue 14): each former `tests/<name>.rs` is a module here,
//! so its tests are named `<name>::<test>`.

mod health_support;
#[path = "../support/store_support.rs"]
mod store_support;
#[path = "../support/test_db_store.rs"]
mod test_db_store;

mod census_ages;
mod census_counts;
mod census_round_trips;
mod discover_columns;
mod discover_detectors;
mod health_canary;
mod health_checks;
mod health_cli;
mod health_demo;
mod health_env;
