//! The key ring of the Python Timber fixture's keys (primary and master).

use timber::crypto::KeyRing;

use crate::fixture::{ENCRYPTION_KEY, MASTER_KEY};

pub fn ring() -> KeyRing {
    KeyRing::builder()
        .primary(ENCRYPTION_KEY, "ENCRYPTION_KEY")
        .and_then(|b| b.master(MASTER_KEY, "MASTER_ENCRYPTION_KEY"))
        .and_then(|b| b.build())
        .expect("fixture keys are valid")
}
