//! Headless subcommands, one file each. `main.rs` parses flags and dispatches here.
