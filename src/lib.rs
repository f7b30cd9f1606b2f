//! Timber Console: a Rust implementation of Timber's field-level encryption layer
//! (models in YAML, chosen columns stored as Fernet tokens, keys from the environment)
//! and the console that operates it. See `DESIGN.md` in the shared docs and `README.md`.
//!
//! Module map (DESIGN §2): `config` reads files, `crypto` owns every byte of key and token
//! handling, `store` is the only SQL, `access` decides masking, `audit` keeps the hash chain,
//! `rotation` and `health` are services over the store, `tui` only draws, `cli` is headless.

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
