//! `timber demo`: a seeded, realistic database with planted problems (see `plant.rs`),
//! written with the demo models and policy of `assets/demo/` into a directory.

pub mod data;
pub mod keys;
