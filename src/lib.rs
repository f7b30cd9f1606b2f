//! Timber Console: a Rust implementation of Timber's field-level encryption layer
//! (models in YAML, chosen columns stored as Fernet tokens, keys from the environment)
//! and the console that operates it. See `DESIGN.md` in the shared docs and `README.md`.
//!
//! Module map (DESIGN §2), lowest layer first; a module imports only from layers below it
//! (or beside it, without a circle), which `tests/architecture` checks on every run:
//!
//! 1. `value`, `plural`, `config`: values, counting words, files and settings.
//! 2. `crypto`: every byte of key and token handling.
//! 3. `store`: the only SQL.
//! 4. `access` (masking, grants), `audit` (the hash-chained log).
//! 5. `rotation`, `health`, `demo`: the domain's long-running work.
//! 6. `service`, `report`: the use cases the two front ends share; `metrics`: Prometheus
//!    metrics.
//! 7. `cli` (headless) and `tui` (the only module that knows ratatui and crossterm).

// No unsafe code anywhere in the crate (also `[lints]` in Cargo.toml). `unwrap_used` and
// `print_stdout` are crate attributes rather than `[lints]` entries because that table also
// applies to tests and benchmarks, where an unwrap is the assertion and stdout is the report.
#![forbid(unsafe_code)]
#![warn(clippy::unwrap_used, clippy::print_stdout, clippy::dbg_macro)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod access;
pub mod audit;
pub mod cli;
pub mod config;
pub mod crypto;
pub mod demo;
pub mod health;
pub mod metrics;
pub mod plural;
pub mod report;
pub mod rotation;
pub mod service;
pub mod store;
pub mod tui;
pub mod value;
