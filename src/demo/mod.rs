//! `timber demo`: a seeded, realistic database with planted problems (see `plant.rs`),
//! written with the demo models and policy of `assets/demo/` into a directory, and a table
//! no model declares that holds plain personal data (see `undeclared.rs`).

mod ages;
mod data;
mod generate;
mod history;
mod keys;
mod plant;
mod undeclared;

pub use generate::{
    DEMO_ROTATION_RATE, DemoError, DemoOptions, DemoServer, DemoSummary, generate,
    generate_on_server,
};
pub use keys::{DEMO_KEYS, DEMO_MASTER_KEY, DEMO_OLD_KEY, DEMO_PRIMARY_KEY};
pub use plant::Planted;
pub use undeclared::UNDECLARED_TABLE;
