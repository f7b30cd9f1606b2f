//! The use cases the CLI and the console share (DESIGN §2): each is written once here, with
//! its rules, and both front ends are thin adapters that gather input, call it, and show
//! what it reports (through a progress channel or callback while it runs).
//!
//! - [`rotate`]: resume an interrupted job, then rotate each chosen model, one job each,
//!   collecting every model's refusal or failure instead of stopping at the first.
//! - [`retire`]: retire a key only once a census proves no stored value depends on it,
//!   naming an unknown key with the ones that are configured.
//!
//! The layer sits above the domain (`rotation`, `health`, `audit`, `access`) and below
//! `cli` and `tui`; it never draws, prints or parses arguments.

#![deny(missing_docs)]

pub mod retire;
pub mod rotate;

pub use retire::{
    CensusFailed, CensusProgress, KeyPlace, RetireError, check_retirable, key_census, retire,
};
pub use rotate::{RotateOutcome, RotateRequest, rotate_many};
