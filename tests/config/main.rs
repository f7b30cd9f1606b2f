//! Configuration: model and policy files, settings from environment, `.env` and flags, key sources.
//!
//! One test binary per area (issue 14): each former `tests/<name>.rs` is a module here,
//! so its tests are named `<name>::<test>`.

mod config_support;

mod config_model_errors;
mod config_models;
mod config_policy;
mod config_setting_origins;
mod config_settings;
mod config_settings_keys;
