//! Hardening: secret canaries, property tests, a key storm, fuzz inputs replayed, the bad-input
//! corpus, database faults, and the layering of the source (`architecture`).
//!
//! One test binary per area (issue 14): each former `tests/<name>.rs` is a module here,
//! so its tests are named `<name>::<test>`.

#[path = "../support/fixture.rs"]
mod fixture;
#[path = "../support/rotation_support.rs"]
mod rotation_support;
#[path = "../support/store_support.rs"]
mod store_support;
#[path = "../support/test_db_store.rs"]
mod test_db_store;
#[path = "../support/tui_support.rs"]
mod tui_support;

mod architecture;
mod bad_input_corpus;
mod fault_postgres;
mod hardening_canary;
mod hardening_fuzz_replay;
mod hardening_props;
mod hardening_storm;
mod secret_canary;
