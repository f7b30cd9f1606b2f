//! The tamper-evident audit log (DESIGN §7): a keyed hash chain over `timber_audit_log`
//! rows, with the newest head kept apart in `timber_audit_head`.
//!
//! - [`chain`]: the canonical encoding (documented there), entry hashes and the head MAC;
//! - [`verify`]: streaming verification that names the first broken link and its kind;
//! - [`entry`]: the entry type and the action vocabulary;
//! - [`log`]: [`AuditLog`], appending (and the store's write observer);
//! - [`query`]: filtered listing, following, and verifying the stored chain;
//! - [`filter_text`]: the filter as typed (`actor=ana since=2h`); [`lookup`]: entries by id;
//! - [`genesis`]: the entry `timber init` begins every log with;
//! - [`checkpoint`]: signed checkpoints (a Merkle root over the entries) and inclusion
//!   proofs; [`public_verify`]: verification with the audit signing key's public half only.

mod chain;
pub mod checkpoint;
pub mod detail_keys;
mod entry;
pub mod export;
mod filter_text;
pub mod genesis;
mod log;
pub mod lookup;
pub mod public_verify;
pub mod query;
mod verify;

pub use chain::{AuditKey, CANONICAL_VERSION, GENESIS};
pub use chain::{from_hex, head_for, seal};
pub use entry::format_time;
pub use entry::{Action, AuditEntry, EntryContent};
pub use filter_text::{FILTER_FIELDS, bad_time, parse_filter, parse_time};
pub use log::{AuditLog, Detail, NewEntry, read_detail};
pub use query::{AuditFilter, Follower};
pub use verify::{ChainVerifier, Damage, StoredHead, VerifyReport};

use crate::store::StoreError;

/// Why the audit log could not be written or read. Never holds a key or a value.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error(
        "MASTER_ENCRYPTION_KEY is not set: the audit log's hash chain is keyed from it, so \
         audited actions (reveals, rotations, key retirement) cannot be recorded or verified"
    )]
    NoMasterKey,
    #[error(
        "MASTER_ENCRYPTION_KEY is not set: audit entries that hold values are encrypted under \
         a key derived from it"
    )]
    NoPrimaryKey,
    /// Worded as every command words a missing system table (`timber jobs` included).
    #[error(
        "open audit log on `timber_audit_log` failed: the system table is missing in {url} (run `timber init`)"
    )]
    NotInitialized { url: String },
    #[error("--expect-head must be 64 hex digits (the `head` an earlier verify printed)")]
    BadExpectedHead,
    #[error("the detail of audit entry {id} cannot be read: {reason}")]
    Detail { id: i64, reason: String },
    #[error("audit checkpoint: {0}")]
    Checkpoint(String),
    #[error(
        "the audit chain is broken ({0}); signing it would vouch for the damage: find the cause with `timber audit --verify` first"
    )]
    BrokenChain(String),
    #[error("audit entry {0} does not exist")]
    NoSuchEntry(i64),
    #[error(
        "audit entry {0} is after the newest checkpoint; write one with `timber audit checkpoint`"
    )]
    NotCheckpointed(i64),
    /// The store's own line already names the audit table and what failed on it.
    #[error(transparent)]
    Store(#[from] StoreError),
}
