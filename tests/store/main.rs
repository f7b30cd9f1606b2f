//! The store on SQLite, PostgreSQL and MySQL/MariaDB: values, keys, sessions, page plans, the whole
//! story of a table.
//!
//! One test binary per area (issue 14): each former `tests/<name>.rs` is a module here,
//! so its tests are named `<name>::<test>`.

mod db_probe;
#[path = "../support/fixture.rs"]
mod fixture;
#[path = "../support/fixture_ring.rs"]
mod fixture_ring;
mod store_only;
#[path = "../support/store_support.rs"]
mod store_support;
#[path = "../support/test_db_store.rs"]
mod test_db_store;

mod fault_sqlite;
mod store_keys;
mod store_outlines;
mod store_page_plans;
mod store_query_rows;
mod store_sessions;
mod store_story;
mod store_values;
