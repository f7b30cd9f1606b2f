//! The console on `TestBackend`: every screen, popup and message, snapshots, themes, backends,
//! narrow terminals.
//!
//! One test binary per area (issue 14): each former `tests/<name>.rs` is a module here,
//! so its tests are named `<name>::<test>`.

#[path = "../support/store_support.rs"]
mod store_support;
#[path = "../support/test_db_store.rs"]
mod test_db_store;
#[path = "../support/tui_support.rs"]
mod tui_support;

mod docs_readme_masks;
mod tui_audit;
mod tui_audit_signed;
mod tui_audit_snapshots;
mod tui_backends;
mod tui_behaviour;
mod tui_canary;
mod tui_census;
mod tui_filters;
mod tui_health;
mod tui_health_progress;
mod tui_help_palette;
mod tui_job_gauge;
mod tui_job_rate;
mod tui_k9s_keys;
mod tui_keys_retire;
mod tui_messages;
mod tui_narrow_columns;
mod tui_quit;
mod tui_record;
mod tui_report;
mod tui_rotation;
mod tui_rotation_rerun;
mod tui_snapshots;
mod tui_theme;
