//! Timber Console: a Rust implementation of Timber's field-level encryption layer
//! (models in YAML, chosen columns stored as Fernet tokens, keys from the environment)
//! and the console that operates it. See `DESIGN.md` in the shared docs and `README.md`.
//!
//! Module map (DESIGN §2): `config` reads files, `crypto` owns every byte of key and token
//! handling, `store` is the only SQL, `access` decides masking, `audit` keeps the hash chain,
//! `rotation` and `health` are services over the store, `tui` only draws, `cli` is headless.

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
pub mod plural;
pub mod rotation;
pub mod store;
pub mod tui;
pub mod value;
