//! `timber demo`: a seeded, realistic database with planted problems (see `plant.rs`),
//! written with the demo models and policy of `assets/demo/` into a directory.

pub mod data;
pub mod generate;
pub mod history;
pub mod keys;
pub mod plant;

pub use generate::{DemoError, DemoOptions, DemoSummary, generate};
pub use plant::Planted;
