//! End to end: the real `timber` binary (browse, init, info, keygen, demo) and the console in a
//! real terminal (tmux).
//!
//! One test binary per area (issue 14): each former `tests/<name>.rs` is a module here,
//! so its tests are named `<name>::<test>`.

mod cli_browse_support;
#[path = "../support/store_support.rs"]
mod store_support;
mod tmux_support;

mod cli_browse;
mod cli_browse_servers;
mod cli_info;
mod cli_onboarding;
mod cli_pipes;
mod demo_generate;
mod demo_servers;
mod discover_demo;
mod e2e_console;
mod e2e_console_metrics;
mod e2e_console_rotation;
mod report_browser;
mod screenshots;
