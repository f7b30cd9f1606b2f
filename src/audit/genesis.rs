//! The log's genesis (issue 15, "no blind spots"): `timber init` begins every audit log with
//! an `audit.genesis` entry (and, with an audit signing key, a signed checkpoint over it),
//! so that a log holding no entry is never "intact: 0 entries" but `wiped`.
//!
//! A genesis is written only into a log that never held anything: no row, no head naming
//! an entry, no checkpoint. A log that was emptied keeps its traces (a head naming entry
//! N, a checkpoint of size N) unless those were deleted too; beginning it again would
//! paper over the wipe, so [`begin`] refuses and points at `timber audit --verify`. A log
//! wiped of every trace cannot be told from a new one from inside the database: a
//! checkpoint kept outside (`--checkpoint FILE`) or a head kept outside (`--expect-head`)
//! is what proves it (README, threat model).

use super::checkpoint::{ORIGIN, Written, signer_label, write_checkpoint};
use super::{Action, AuditError, AuditLog};
use crate::crypto::signed_note::NoteSigner;
use crate::store::{AUDIT_CHECKPOINTS, Store};

/// The action of the first entry of every log `timber init` begins.
pub const GENESIS_ACTION: &str = "audit.genesis";

/// What [`begin`] found or did.
#[derive(Debug)]
pub enum Genesis {
    /// The log already holds entries: nothing written.
    AlreadyBegun { entries: i64 },
    /// The genesis entry (its id), and the checkpoint signed over it when a signer was given.
    Written {
        entry: i64,
        checkpoint: Option<Written>,
    },
}

/// Writes the genesis entry of an empty, never-used log (and signs a checkpoint over it
/// with `signer`). Refuses a log that is empty but shows it once held entries.
pub async fn begin(
    store: &Store,
    log: &AuditLog,
    signer: Option<&NoteSigner>,
    actor: &str,
) -> Result<Genesis, AuditError> {
    let entries = store.audit_count().await?;
    if entries > 0 {
        return Ok(Genesis::AlreadyBegun { entries });
    }
    let head = store.audit_head().await?;
    if let Some(head) = head.filter(|h| h.entry_id != 0) {
        return Err(AuditError::Checkpoint(format!(
            "the audit log holds no entry, yet its head names entry {}: it was emptied; not beginning it again (that would hide the wipe); run `timber audit --verify`",
            head.entry_id
        )));
    }
    let newest = if store.table_exists(AUDIT_CHECKPOINTS).await? {
        store.audit_checkpoints().await?.pop()
    } else {
        None
    };
    if let Some(newest) = newest {
        return Err(AuditError::Checkpoint(format!(
            "the audit log holds no entry, yet checkpoint {} covers {}: it was emptied; not beginning it again (that would hide the wipe); run `timber audit --verify --public-key FILE`",
            newest.id, newest.tree_size
        )));
    }
    let facts = serde_json::json!({
        "origin": ORIGIN,
        "tool": concat!("timber ", env!("CARGO_PKG_VERSION")),
        "signer": signer.map(signer_label),
    });
    let entry = log
        .record(
            actor,
            Action::Other(GENESIS_ACTION.into()),
            None,
            None,
            &[],
            Some(facts),
        )
        .await?;
    let checkpoint = match signer {
        Some(signer) => Some(write_checkpoint(store, signer).await?),
        None => None,
    };
    Ok(Genesis::Written { entry, checkpoint })
}
