//! The tamper-evident audit log (DESIGN §7): a keyed hash chain over `timber_audit_log`
//! rows, with the newest head kept apart in `timber_audit_head`.
//!
//! - [`chain`]: the canonical encoding, the audit key, entry hashes and the head MAC;
//! - [`verify`]: streaming verification that names the first broken link and its kind;
//! - [`entry`]: the entry type and the action vocabulary.

pub mod chain;
pub mod entry;
pub mod verify;

pub use chain::{AuditKey, CANONICAL_VERSION, GENESIS};
pub use entry::{Action, AuditEntry, EntryContent};
pub use verify::{ChainVerifier, Damage, StoredHead, VerifyReport};
