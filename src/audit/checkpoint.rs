//! Signed checkpoints of the audit log (issue 15): a Merkle tree in the RFC 6962 / C2SP
//! tlog style over the entries in id order, its root signed with the audit signing key as a
//! C2SP signed note (`tlog-checkpoint` body), so that
//!
//! - anyone holding only the public key can check that the log still holds exactly the
//!   entries a checkpoint committed to (no data key, no master key: [`super::public_verify`]);
//! - a checkpoint kept outside the database (a ticket, a SIEM, a git repository) proves a
//!   later wipe, truncation or rewrite, which no row inside the database can;
//! - one entry's inclusion can be proven to a third party ([`prove`]).
//!
//! A leaf is the entry's canonical encoding (the bytes the keyed chain hashes, see
//! [`super::chain`]); the tree's order is the log's id order. The checkpoint's origin line
//! is [`ORIGIN`].

use chrono::{NaiveDateTime, Utc};

use super::AuditError;
use super::chain::{encode_canonical, encode_canonical_row};
use super::entry::AuditEntry;
use super::query::for_each_entry;
use crate::crypto::merkle::{self, Hash, TreeBuilder};
use crate::crypto::signed_note::{self, Checkpoint, NoteSigner};
use crate::store::{AUDIT_CHECKPOINTS, AuditRowRef, CheckpointRow, Store};
use crate::value::hex_lower;

/// The first line of every checkpoint this program signs: names the log's kind, so a note
/// signed for another log (or another purpose) with the same key is never taken for one.
pub const ORIGIN: &str = "timber.audit/v2";

/// The Merkle leaf hash of an entry.
pub fn leaf(entry: &AuditEntry) -> Hash {
    let mut buf = Vec::with_capacity(256);
    encode_canonical(&entry.content, &mut buf);
    merkle::leaf_hash(&buf)
}

/// [`leaf`] of a row as the store's scan read it (the same bytes, no owned entry).
pub fn leaf_row(row: &AuditRowRef<'_>) -> Hash {
    let mut buf = Vec::with_capacity(512);
    encode_canonical_row(row, &mut buf);
    merkle::leaf_hash(&buf)
}

/// A checkpoint as written: its row and the signed note (also printed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Written {
    pub id: i64,
    pub size: u64,
    pub root: Hash,
    pub note: String,
    pub at: NaiveDateTime,
}

/// Reads the whole log, signs its Merkle root and stores the checkpoint (through the
/// append-only audit connection). Needs no data key and no master key: only the signer.
///
/// Refuses to sign what it cannot vouch for: a log that no longer hashes to the newest
/// checkpoint's root (or holds fewer entries than it covers), and a signer that is not the
/// key in force (a new key must be handed over first, [`rotate_signing_key`]).
pub async fn write_checkpoint(store: &Store, signer: &NoteSigner) -> Result<Written, AuditError> {
    sign_log(store, signer, None).await
}

/// Signs with `signer`, and cosigns with `handed_to` (the new key of a handover).
async fn sign_log(
    store: &Store,
    signer: &NoteSigner,
    handed_to: Option<&NoteSigner>,
) -> Result<Written, AuditError> {
    if !store.table_exists(AUDIT_CHECKPOINTS).await? {
        return Err(AuditError::NotInitialized {
            url: store.url_redacted(),
        });
    }
    let writer = store.audit_writer().await?;
    let newest = store.audit_checkpoints().await?.into_iter().last();
    if let Some(c) = &newest {
        // After a handover the newest is signed by both keys; the new one (named last)
        // is in force.
        let in_force = c.signer.rsplit(',').next().unwrap_or_default();
        if in_force != signer_label(signer)
            || signed_note::open(&c.note, &[signer.verifier()]).is_err()
        {
            return Err(AuditError::Checkpoint(format!(
                "the signing key {} did not sign the newest checkpoint ({}, signed by {}): a new key must be handed over first with `timber audit rotate-signing-key` (AUDIT_SIGNING_KEY_OLD = the key in force)",
                signer.verifier().fingerprint(),
                c.id,
                c.signer
            )));
        }
    }
    let mut tree = TreeBuilder::new();
    let mut root_at_newest = None;
    let newest_size = newest.as_ref().map(|c| c.tree_size.max(0) as u64);
    if newest_size == Some(0) {
        root_at_newest = Some(tree.root());
    }
    for_each_entry(store, &mut |entry| {
        tree.push(leaf(&entry));
        if Some(tree.size()) == newest_size {
            root_at_newest = Some(tree.root());
        }
    })
    .await?;
    if let Some(c) = &newest {
        match root_at_newest {
            None => {
                return Err(AuditError::BrokenChain(format!(
                    "checkpoint {} covers {} entries, but the log holds {}",
                    c.id,
                    c.tree_size,
                    tree.size()
                )));
            }
            Some(root) if hex_lower(&root) != c.root_hash => {
                return Err(AuditError::BrokenChain(format!(
                    "the first {} entries no longer hash to checkpoint {}'s root",
                    c.tree_size, c.id
                )));
            }
            Some(_) => {}
        }
    }
    let checkpoint = Checkpoint {
        origin: ORIGIN.to_string(),
        size: tree.size(),
        root: tree.root(),
    };
    let checkpoint_error = |e: signed_note::NoteError| AuditError::Checkpoint(e.to_string());
    let mut note = signed_note::sign(&checkpoint.to_body(), signer).map_err(checkpoint_error)?;
    let mut label = signer_label(signer);
    if let Some(new) = handed_to {
        note = signed_note::cosign(&note, new).map_err(checkpoint_error)?;
        label = format!("{label},{}", signer_label(new));
    }
    let at = Utc::now().naive_utc();
    let row = CheckpointRow {
        id: 0,
        tree_size: i64::try_from(checkpoint.size).unwrap_or(i64::MAX),
        root_hash: hex_lower(&checkpoint.root),
        note: note.clone(),
        signer: label,
        created_at: at,
    };
    let id = writer.add_checkpoint(&row).await?;
    Ok(Written {
        id,
        size: checkpoint.size,
        root: checkpoint.root,
        note,
        at,
    })
}

/// What a signing-key handover wrote: its entry and the checkpoint both keys signed.
#[derive(Clone, Debug)]
pub struct HandedOver {
    pub entry: i64,
    pub checkpoint: Written,
}

/// Hands the audit signing over from `old` (the key in force) to `new`: the log must
/// verify with `old`'s public key; an `audit.signing_key` entry names both public keys, and
/// the checkpoint over it is signed by both, so a verifier holding either key follows the
/// history ([`super::public_verify`]). Afterwards checkpoints are signed by `new` alone, and
/// `old` is refused.
pub async fn rotate_signing_key(
    store: &Store,
    log: &super::AuditLog,
    old: &NoteSigner,
    new: &NoteSigner,
    actor: &str,
) -> Result<HandedOver, AuditError> {
    let (old_v, new_v) = (old.verifier(), new.verifier());
    if old_v == new_v {
        return Err(AuditError::Checkpoint(
            "AUDIT_SIGNING_KEY and AUDIT_SIGNING_KEY_OLD are the same key: nothing to hand over"
                .into(),
        ));
    }
    if old_v.name() == new_v.name() && old_v.key_hash() == new_v.key_hash() {
        return Err(AuditError::Checkpoint(
            "the new signing key has the old one's name and key hash; make it with another --name"
                .into(),
        ));
    }
    let newest = store.audit_checkpoints().await?.into_iter().last();
    match &newest {
        None => {
            return Err(AuditError::Checkpoint(
                "no checkpoint is signed yet, so there is nothing to hand over: set AUDIT_SIGNING_KEY to the new key and drop AUDIT_SIGNING_KEY_OLD"
                    .into(),
            ));
        }
        Some(c) if signed_note::open(&c.note, std::slice::from_ref(&new_v)).is_ok() => {
            return Err(AuditError::Checkpoint(format!(
                "the signing was already handed over to {} (checkpoint {}); drop AUDIT_SIGNING_KEY_OLD",
                new_v.fingerprint(),
                c.id
            )));
        }
        Some(_) => {}
    }
    let report = super::public_verify::verify_public(store, &old_v, None).await?;
    if !report.ok {
        return Err(AuditError::BrokenChain(
            report
                .reason
                .unwrap_or_else(|| "the log does not verify".into()),
        ));
    }
    let facts = serde_json::json!({
        "old": old_v.to_text(),
        "new": new_v.to_text(),
        "old_fingerprint": old_v.fingerprint(),
        "new_fingerprint": new_v.fingerprint(),
    });
    let entry = log
        .record(
            actor,
            super::Action::Other(super::public_verify::SIGNING_KEY_ACTION.into()),
            None,
            None,
            &[],
            Some(facts),
        )
        .await?;
    let checkpoint = sign_log(store, old, Some(new)).await?;
    Ok(HandedOver { entry, checkpoint })
}

/// `name+hash` of a signing key (what the row records; never the key).
pub fn signer_label(signer: &NoteSigner) -> String {
    format!("{}+{:08x}", signer.name(), signer.key_hash())
}

/// An inclusion proof of one entry in the tree of a checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InclusionProof {
    pub entry_id: i64,
    pub leaf_index: u64,
    pub leaf_hash: Hash,
    pub tree_size: u64,
    pub root: Hash,
    pub proof: Vec<Hash>,
    /// The stored checkpoint whose root the proof leads to.
    pub checkpoint_note: String,
}

impl InclusionProof {
    /// The proof as JSON, hashes in base64 as the checkpoint carries its root.
    pub fn to_json(&self) -> serde_json::Value {
        use base64::Engine;
        let b64 = |h: &Hash| base64::engine::general_purpose::STANDARD.encode(h);
        serde_json::json!({
            "entry": self.entry_id,
            "leaf_index": self.leaf_index,
            "leaf_hash": b64(&self.leaf_hash),
            "tree_size": self.tree_size,
            "root": b64(&self.root),
            "proof": self.proof.iter().map(b64).collect::<Vec<_>>(),
            "checkpoint": self.checkpoint_note,
        })
    }
}

/// Proves that entry `id` is in the newest stored checkpoint that covers it.
pub async fn prove(store: &Store, id: i64) -> Result<InclusionProof, AuditError> {
    let mut leaves = Vec::new();
    let mut index = None;
    for_each_entry(store, &mut |entry| {
        if entry.id == id {
            index = Some(leaves.len() as u64);
        }
        leaves.push(leaf(&entry));
    })
    .await?;
    let index = index.ok_or(AuditError::NoSuchEntry(id))?;
    let checkpoint = store
        .audit_checkpoints()
        .await?
        .into_iter()
        .rev()
        .find(|c| c.tree_size > 0 && (c.tree_size as u64) > index)
        .ok_or(AuditError::NotCheckpointed(id))?;
    let size = checkpoint.tree_size as u64;
    let covered = leaves
        .get(..size as usize)
        .ok_or(AuditError::NotCheckpointed(id))?;
    let root = merkle::root(covered);
    // A proof leads to the root the checkpoint signed, or it proves nothing.
    if hex_lower(&root) != checkpoint.root_hash {
        return Err(AuditError::Checkpoint(format!(
            "the log no longer hashes to checkpoint {}'s root; run `timber audit --verify`",
            checkpoint.id
        )));
    }
    Ok(InclusionProof {
        entry_id: id,
        leaf_index: index,
        leaf_hash: leaves[index as usize],
        tree_size: size,
        root,
        proof: merkle::inclusion_proof(covered, index),
        checkpoint_note: checkpoint.note,
    })
}

/// A checkpoint is due once this many entries are not covered by one…
pub const DUE_AFTER_ENTRIES: i64 = 1000;
/// …or once the newest is this old and entries came after it.
pub const DUE_AFTER: chrono::TimeDelta = chrono::TimeDelta::hours(1);

/// Writes a checkpoint when one is due (none yet and the log holds entries; or
/// [`DUE_AFTER_ENTRIES`] entries uncovered; or the newest older than [`DUE_AFTER`] with
/// entries after it): the console and the CLI call this after audited work, so a log with
/// a signing key is checkpointed without anyone remembering to. Cheap when not due (a
/// count and the checkpoint list).
pub async fn write_if_due(
    store: &Store,
    signer: &NoteSigner,
    now: NaiveDateTime,
) -> Result<Option<Written>, AuditError> {
    if !store.table_exists(AUDIT_CHECKPOINTS).await? {
        return Ok(None);
    }
    let entries = store.audit_count().await?;
    let newest = store.audit_checkpoints().await?.into_iter().last();
    let due = match &newest {
        None => entries > 0,
        Some(c) => {
            let uncovered = entries - c.tree_size;
            uncovered >= DUE_AFTER_ENTRIES || (uncovered > 0 && now - c.created_at >= DUE_AFTER)
        }
    };
    if !due {
        return Ok(None);
    }
    write_checkpoint(store, signer).await.map(Some)
}

/// What `timber audit migrate` did: the v1 chain it verified, and the checkpoint that now
/// commits to it (and to the migration's own entry).
#[derive(Clone, Debug)]
pub struct Migrated {
    pub verified: super::VerifyReport,
    pub checkpoint: Written,
}

/// Brings an existing log under signed checkpoints: verifies its HMAC chain with the master
/// key (and the key before a rotation), refuses a broken one (signing it would vouch for
/// damage), records an `audit.migrate` entry stating the old head, and signs a checkpoint
/// covering everything. The stored format does not change: the Merkle tree is computed
/// over the same canonical entries, so history is kept as it is.
pub async fn migrate(
    store: &Store,
    log: &super::AuditLog,
    old_key: Option<&super::AuditKey>,
    signer: &NoteSigner,
    actor: &str,
) -> Result<Migrated, AuditError> {
    let verified = super::query::verify_rotated(store, log.key(), old_key, None).await?;
    if !verified.ok {
        return Err(AuditError::BrokenChain(
            verified
                .reason
                .clone()
                .unwrap_or_else(|| "the chain does not verify".into()),
        ));
    }
    let facts = serde_json::json!({
        "v1_head": verified.head,
        "entries": verified.entries,
        "signer": signer_label(signer),
    });
    log.record(
        actor,
        super::Action::Other("audit.migrate".into()),
        None,
        None,
        &[],
        Some(facts),
    )
    .await?;
    let checkpoint = write_checkpoint(store, signer).await?;
    Ok(Migrated {
        verified,
        checkpoint,
    })
}
