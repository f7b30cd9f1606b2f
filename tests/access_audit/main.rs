//! Access and audit: masking per role, reveal and export through the CLI, the audit log's hash
//! chain, tampering found.
//!
//! One test binary per area (issue 14): each former `tests/<name>.rs` is a module here,
//! so its tests are named `<name>::<test>`.

#[path = "../support/fixture.rs"]
mod fixture;
#[path = "../support/fixture_ring.rs"]
mod fixture_ring;
#[path = "../support/store_support.rs"]
mod store_support;
#[path = "../support/test_db_store.rs"]
mod test_db_store;

mod access_browse_cli;
mod access_canary_no_leak;
mod audit_chain;
mod audit_cli;
mod audit_history;
mod audit_reveal;
mod audit_signed;
mod audit_tamper;
