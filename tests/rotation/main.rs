//! Key rotation: keys, text keys, rate, splits, concurrency, failures, a killed worker, Python
//! Timber's data.
//!
//! One test binary per area (issue 14): each former `tests/<name>.rs` is a module here,
//! so its tests are named `<name>::<test>`.

#[path = "../support/fixture.rs"]
mod fixture;
mod rotation_only;
#[path = "../support/rotation_support.rs"]
mod rotation_support;
#[path = "../support/store_support.rs"]
mod store_support;
#[path = "../support/test_db_store.rs"]
mod test_db_store;

mod rotation_audit_values;
mod rotation_concurrent;
mod rotation_failures;
mod rotation_job_status;
mod rotation_keys;
mod rotation_kill;
mod rotation_lag;
mod rotation_metrics;
mod rotation_python;
mod rotation_rate;
mod rotation_rate_live;
mod rotation_rerun;
mod rotation_rowid_order;
mod rotation_split;
mod rotation_stall;
mod rotation_text_keys;
mod rotation_workers;
