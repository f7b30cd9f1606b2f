//! Verification with the public key alone (issue 15): an auditor's laptop holds the audit
//! signing key's public half, nothing else. Every stored checkpoint's signature is checked,
//! and the log, read in full (every row, whatever its id), must still hash to each
//! checkpoint's Merkle root at that checkpoint's size; a checkpoint kept outside the
//! database (`--checkpoint FILE`) must match too. Since every root is recomputed from the
//! same leaves, the checkpoints are consistent with each other (append-only) whenever all
//! of them match.
//!
//! What each finding means:
//!
//! | damage | found when |
//! |---|---|
//! | `checkpoint_forged` | a stored checkpoint's note does not verify with the key, or its row disagrees with its note |
//! | `altered` | the first N entries no longer hash to a stored checkpoint's root (edited, inserted, deleted or reordered before it) |
//! | `forked` | the same, against the checkpoint kept outside: the database holds another history |
//! | `truncated_after_checkpoint` | a checkpoint covers more entries than the log holds |
//! | `wiped` | a checkpoint covers entries, and the log holds none |
//! | `unverified` | no checkpoint at all: nothing signed to verify against |
//!
//! Entries after the newest checkpoint are counted (`uncovered`) but cannot be judged
//! with the public key; a new checkpoint covers them.

use chrono::NaiveDateTime;

use super::AuditError;
use super::checkpoint::{ORIGIN, leaf};
use super::query::for_each_entry;
use crate::crypto::merkle::{Hash, TreeBuilder};
use crate::crypto::signed_note::{self, Checkpoint, NoteVerifier};
use crate::store::Store;
use crate::value::hex_lower;

/// What verification with the public key found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicReport {
    pub ok: bool,
    /// Rows read.
    pub entries: u64,
    /// Stored checkpoints whose signature verified.
    pub checkpoints: u64,
    /// The largest checkpoint the log verified against: its id (`None` for the one kept
    /// outside), size and time.
    pub verified_to: Option<VerifiedTo>,
    /// Entries after the newest checkpoint (not judged).
    pub uncovered: u64,
    pub damage: Option<&'static str>,
    pub reason: Option<String>,
    /// The verifier key's name and fingerprint.
    pub key: String,
}

/// The checkpoint a verification reached.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedTo {
    pub checkpoint: Option<i64>,
    pub size: u64,
    pub at: Option<NaiveDateTime>,
}

impl PublicReport {
    /// The report as JSON (the same facts as the text).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "ok": self.ok,
            "entries": self.entries,
            "checkpoints": self.checkpoints,
            "verified_to": self.verified_to.as_ref().map(|v| serde_json::json!({
                "checkpoint": v.checkpoint,
                "size": v.size,
                "at": v.at.map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string()),
            })),
            "uncovered": self.uncovered,
            "damage": self.damage,
            "reason": self.reason,
            "key": self.key,
        })
    }
}

/// One root to check the log against.
struct Target {
    stored: Option<(i64, NaiveDateTime)>,
    size: u64,
    root: Hash,
}

/// Verifies the stored checkpoints (and `outside`, a note kept elsewhere) with `key`.
pub async fn verify_public(
    store: &Store,
    key: &NoteVerifier,
    outside: Option<&str>,
) -> Result<PublicReport, AuditError> {
    let mut report = PublicReport {
        ok: true,
        entries: 0,
        checkpoints: 0,
        verified_to: None,
        uncovered: 0,
        damage: None,
        reason: None,
        key: format!("{} {}", key.name(), key.fingerprint()),
    };
    let mut targets = Vec::new();
    for row in store.audit_checkpoints().await? {
        match open_checkpoint(&row.note, key) {
            Ok(c) if c.size as i64 == row.tree_size && hex_lower(&c.root) == row.root_hash => {
                report.checkpoints += 1;
                targets.push(Target {
                    stored: Some((row.id, row.created_at)),
                    size: c.size,
                    root: c.root,
                });
            }
            Ok(_) => {
                return Ok(report.fail(
                    "checkpoint_forged",
                    format!(
                        "checkpoint {}'s row says size {} root {}, but its signed note says otherwise",
                        row.id, row.tree_size, row.root_hash
                    ),
                ));
            }
            Err(why) => {
                return Ok(report.fail(
                    "checkpoint_forged",
                    format!("checkpoint {} does not verify: {why}", row.id),
                ));
            }
        }
    }
    if let Some(note) = outside {
        let c = open_checkpoint(note, key).map_err(AuditError::Checkpoint)?;
        targets.push(Target {
            stored: None,
            size: c.size,
            root: c.root,
        });
    }
    targets.sort_by_key(|t| t.size);
    let mut tree = TreeBuilder::new();
    let mut next = 0;
    let mut mismatch: Option<usize> = None;
    let mut reached: Option<usize> = None;
    // Zero-size checkpoints are checked before any leaf.
    check_due(&tree, &targets, &mut next, &mut mismatch, &mut reached);
    for_each_entry(store, &mut |entry| {
        tree.push(leaf(&entry));
        check_due(&tree, &targets, &mut next, &mut mismatch, &mut reached);
    })
    .await?;
    report.entries = tree.size();
    if let Some(i) = mismatch {
        let t = &targets[i];
        return Ok(match t.stored {
            Some((id, at)) => report.fail(
                "altered",
                format!(
                    "the first {} entries no longer hash to checkpoint {id}'s root (signed {}): entries were edited, inserted, deleted or reordered",
                    t.size,
                    at.format("%Y-%m-%d %H:%M:%S")
                ),
            ),
            None => report.fail(
                "forked",
                format!(
                    "the first {} entries do not hash to the root of the checkpoint kept outside: the database holds another history",
                    t.size
                ),
            ),
        });
    }
    let entries = report.entries;
    if let Some(t) = targets.iter().find(|t| t.size > entries) {
        let whose = match t.stored {
            Some((id, _)) => format!("checkpoint {id}"),
            None => "the checkpoint kept outside".to_string(),
        };
        return Ok(if entries == 0 {
            report.fail(
                "wiped",
                format!("{whose} covers {} entries, and the log holds none", t.size),
            )
        } else {
            report.fail(
                "truncated_after_checkpoint",
                format!(
                    "{whose} covers {} entries, but the log holds {entries}: entries were deleted",
                    t.size
                ),
            )
        });
    }
    if targets.is_empty() {
        return Ok(report.fail(
            "unverified",
            "no signed checkpoint: nothing to verify the log against with a public key; \
             write one with `timber audit checkpoint`"
                .to_string(),
        ));
    }
    if let Some(i) = reached {
        let t = &targets[i];
        report.verified_to = Some(VerifiedTo {
            checkpoint: t.stored.map(|(id, _)| id),
            size: t.size,
            at: t.stored.map(|(_, at)| at),
        });
        report.uncovered = report.entries - t.size;
    }
    Ok(report)
}

impl PublicReport {
    fn fail(mut self, damage: &'static str, reason: String) -> PublicReport {
        self.ok = false;
        self.damage = Some(damage);
        self.reason = Some(format!("{damage}: {reason}"));
        self
    }
}

/// Compares the tree with every target of its current size.
fn check_due(
    tree: &TreeBuilder,
    targets: &[Target],
    next: &mut usize,
    mismatch: &mut Option<usize>,
    reached: &mut Option<usize>,
) {
    while let Some(t) = targets.get(*next) {
        if t.size != tree.size() {
            break;
        }
        if tree.root() == t.root {
            *reached = Some(*next);
        } else if mismatch.is_none() {
            *mismatch = Some(*next);
        }
        *next += 1;
    }
}

/// The checkpoint a note carries, if `key` signed it and its origin is this log's kind.
fn open_checkpoint(note: &str, key: &NoteVerifier) -> Result<Checkpoint, String> {
    let opened = signed_note::open(note, std::slice::from_ref(key)).map_err(|e| e.to_string())?;
    let checkpoint = Checkpoint::parse(&opened.body).map_err(|e| e.to_string())?;
    if checkpoint.origin != ORIGIN {
        return Err(format!(
            "its origin is `{}`, not `{ORIGIN}`: it is not a timber audit checkpoint",
            checkpoint.origin
        ));
    }
    Ok(checkpoint)
}
