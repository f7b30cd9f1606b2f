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
//! | `checkpoint_forged` | a stored checkpoint's note does not verify with the key in force, or its row disagrees with its note |
//! | `altered` | the first N entries no longer hash to a stored checkpoint's root, and every row still links to the one before it (an entry edited in place) |
//! | `deleted`, `inserted`, `reordered` | the same, and the rows' `prev_hash` links name what happened (see below) |
//! | `forked` | the log does not hash to the root of the checkpoint kept outside: the database holds another history |
//! | `truncated_after_checkpoint` | a checkpoint covers more entries than the log holds, and the rows that are left still link up |
//! | `wiped` | a checkpoint covers entries, and the log holds none |
//! | `unverified` | no checkpoint at all: nothing signed to verify against |
//!
//! The Merkle roots *detect*; the names come from the rows' links, which need no key to
//! check (each row's `prev_hash` must be the `entry_hash` of the row before it): a row
//! whose next row links past it was inserted, a link to a row that comes later means
//! reordering, a link to a row that is nowhere means deletion. Someone with database
//! access can rewrite the links too (not the roots), in which case the damage is still
//! found and named `altered`.
//!
//! **Key history.** Rotating the signing key (`timber audit rotate-signing-key`) appends an
//! `audit.signing_key` entry naming the old and the new public key, and the next
//! checkpoint is signed by both. The verifier follows that history from the key it was
//! given (the oldest or the newest): each checkpoint must be signed by the key in force at
//! its size, and the checkpoint that first covers a handover by both keys. A handover entry
//! counts only because a checkpoint the trusted key signed commits to it.
//!
//! Entries after the newest checkpoint are counted (`uncovered`) but cannot be judged
//! with the public key; a new checkpoint covers them.

use chrono::NaiveDateTime;

use super::AuditError;
use super::checkpoint::{ORIGIN, leaf, leaf_row};
use super::entry::AuditEntry;
use super::log::from_stored;
use super::verify::ChainVerifier;
use crate::crypto::merkle::{Hash, TreeBuilder};
use crate::crypto::signed_note::{self, Checkpoint, NoteVerifier};
use crate::store::{AuditRowRef, CheckpointRow, Store};
use crate::value::hex_lower;

/// The action of the entry that hands the signing over to a new key.
pub const SIGNING_KEY_ACTION: &str = "audit.signing_key";

/// What verification with the public key found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicReport {
    pub ok: bool,
    /// Rows read.
    pub entries: u64,
    /// Stored checkpoints whose signatures verified.
    pub checkpoints: u64,
    /// The largest checkpoint the log verified against: its id (`None` for the one kept
    /// outside), size and time.
    pub verified_to: Option<VerifiedTo>,
    /// Entries after the newest checkpoint (not judged).
    pub uncovered: u64,
    pub damage: Option<&'static str>,
    pub reason: Option<String>,
    /// The verifier key's name and fingerprint (the one given).
    pub key: String,
    /// The signing keys in force over the log's life, oldest first (fingerprints), when
    /// the signing key was ever rotated.
    pub key_history: Vec<String>,
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
            "key_history": self.key_history,
        })
    }

    fn fail(mut self, damage: &'static str, reason: String) -> PublicReport {
        self.ok = false;
        self.damage = Some(damage);
        self.reason = Some(format!("{damage}: {reason}"));
        self
    }
}

/// One root to check the log against.
struct Target {
    /// The stored checkpoint (`None`: the note kept outside).
    stored: Option<(i64, NaiveDateTime)>,
    note: String,
    size: u64,
    root: Hash,
}

/// A handover of the signing key, as the log records it.
struct Handover {
    /// The entry's leaf index: a checkpoint of a larger size commits to it.
    position: u64,
    entry_id: i64,
    old: Option<NoteVerifier>,
    new: Option<NoteVerifier>,
}

/// Verifies the stored checkpoints (and `outside`, a note kept elsewhere) with `key`,
/// reading the log once.
pub async fn verify_public(
    store: &Store,
    key: &NoteVerifier,
    outside: Option<&str>,
) -> Result<PublicReport, AuditError> {
    let mut verifier = PublicVerifier::prepare(store, key, outside).await?;
    super::query::for_each_entry(store, &mut |entry| verifier.push(&entry)).await?;
    Ok(verifier.finish())
}

/// Verification with the public key as a sink of entries in id order, so one reading of
/// the log can feed it and the keyed chain verifier together
/// ([`super::query::verify_log`]).
pub struct PublicVerifier {
    key: NoteVerifier,
    /// A stored checkpoint whose row and note disagree, or whose note is unreadable.
    malformed: Option<String>,
    targets: Vec<Target>,
    tree: TreeBuilder,
    next: usize,
    mismatch: Option<usize>,
    reached: Option<usize>,
    links: ChainVerifier<'static>,
    handovers: Vec<Handover>,
}

impl PublicVerifier {
    /// Reads the stored checkpoints (their bodies; signatures are checked at the end, once
    /// the log has told which key was in force when).
    pub async fn prepare(
        store: &Store,
        key: &NoteVerifier,
        outside: Option<&str>,
    ) -> Result<PublicVerifier, AuditError> {
        let rows = store.audit_checkpoints().await?;
        let mut verifier = PublicVerifier {
            key: key.clone(),
            malformed: None,
            targets: Vec::new(),
            tree: TreeBuilder::new(),
            next: 0,
            mismatch: None,
            reached: None,
            links: ChainVerifier::links_only(),
            handovers: Vec::new(),
        };
        for row in rows {
            match stored_target(&row) {
                Ok(target) => verifier.targets.push(target),
                Err(why) => {
                    verifier.malformed.get_or_insert(why);
                }
            }
        }
        if let Some(note) = outside {
            let c = body_checkpoint(note).map_err(AuditError::Checkpoint)?;
            verifier.targets.push(Target {
                stored: None,
                note: note.to_string(),
                size: c.size,
                root: c.root,
            });
        }
        // By size; a stored checkpoint before the note kept outside of the same size.
        verifier
            .targets
            .sort_by_key(|t| (t.size, t.stored.is_none(), t.stored.map(|(id, _)| id)));
        verifier.check_due();
        Ok(verifier)
    }

    /// Feeds the next entry (ascending id, rows below the chain first).
    pub fn push(&mut self, entry: &AuditEntry) {
        if entry.content.action == SIGNING_KEY_ACTION {
            self.handovers.push(handover(self.tree.size(), entry));
        }
        self.links.push(entry);
        self.tree.push(leaf(entry));
        self.check_due();
    }

    /// [`push`](Self::push) of a row as the store's scan read it, hashed from its borrowed
    /// bytes (a handover, rare, is read as an owned entry).
    pub fn push_row(&mut self, row: &AuditRowRef<'_>) {
        if row.action() == SIGNING_KEY_ACTION {
            return self.push(&from_stored(row.to_entry()));
        }
        self.links.push_row(row);
        self.tree.push(leaf_row(row));
        self.check_due();
    }

    /// Compares the tree with every target of its current size.
    fn check_due(&mut self) {
        while let Some(t) = self.targets.get(self.next) {
            if t.size != self.tree.size() {
                break;
            }
            if self.tree.root() == t.root {
                self.reached = Some(self.next);
            } else if self.mismatch.is_none() {
                self.mismatch = Some(self.next);
            }
            self.next += 1;
        }
    }

    /// Concludes: signatures along the key history, then the roots, then what is missing.
    pub fn finish(self) -> PublicReport {
        let entries = self.tree.size();
        let mut report = PublicReport {
            ok: true,
            entries,
            checkpoints: 0,
            verified_to: None,
            uncovered: 0,
            damage: None,
            reason: None,
            key: format!("{} {}", self.key.name(), self.key.fingerprint()),
            key_history: Vec::new(),
        };
        if let Some(why) = &self.malformed {
            return report.fail("checkpoint_forged", why.clone());
        }
        let chain = match key_chain(&self.key, &self.handovers) {
            Ok(chain) => chain,
            Err(why) => return report.fail("checkpoint_forged", why),
        };
        if chain.len() > 1 {
            report.key_history = chain.iter().map(NoteVerifier::fingerprint).collect();
        }
        if let Err(why) = self.check_signatures(&chain) {
            return report.fail("checkpoint_forged", why);
        }
        report.checkpoints = self.targets.iter().filter(|t| t.stored.is_some()).count() as u64;
        let links = self.links.finish(None);
        if let Some(i) = self.mismatch {
            let t = &self.targets[i];
            let against = match t.stored {
                Some((id, at)) => format!(
                    "the first {} entries no longer hash to checkpoint {id}'s root (signed {})",
                    t.size,
                    at.format("%Y-%m-%d %H:%M:%S")
                ),
                None => format!(
                    "the first {} entries do not hash to the root of the checkpoint kept outside: the database holds another history",
                    t.size
                ),
            };
            return match (links.damage, t.stored) {
                (Some(damage), _) => report.fail(
                    damage.as_str(),
                    format!(
                        "{against}; {}",
                        links
                            .reason
                            .unwrap_or_default()
                            .trim_start_matches(&format!("{}: ", damage.as_str()))
                    ),
                ),
                (None, Some(_)) => report.fail(
                    "altered",
                    format!("{against}: an entry was edited in place"),
                ),
                (None, None) => report.fail("forked", against),
            };
        }
        if let Some(t) = self.targets.iter().find(|t| t.size > entries) {
            let whose = match t.stored {
                Some((id, _)) => format!("checkpoint {id}"),
                None => "the checkpoint kept outside".to_string(),
            };
            if entries == 0 {
                return report.fail(
                    "wiped",
                    format!("{whose} covers {} entries, and the log holds none", t.size),
                );
            }
            if let Some(damage) = links.damage {
                return report.fail(
                    damage.as_str(),
                    format!(
                        "{whose} covers {} entries, but the log holds {entries}: {}",
                        t.size,
                        links.reason.unwrap_or_default()
                    ),
                );
            }
            return report.fail(
                "truncated_after_checkpoint",
                format!(
                    "{whose} covers {} entries, but the log holds {entries}: entries were deleted",
                    t.size
                ),
            );
        }
        if self.targets.is_empty() {
            return report.fail(
                "unverified",
                "no signed checkpoint: nothing to verify the log against with a public key; \
                 write one with `timber audit checkpoint`"
                    .to_string(),
            );
        }
        if let Some(i) = self.reached {
            let t = &self.targets[i];
            report.verified_to = Some(VerifiedTo {
                checkpoint: t.stored.map(|(id, _)| id),
                size: t.size,
                at: t.stored.map(|(_, at)| at),
            });
            report.uncovered = entries - t.size;
        }
        report
    }

    /// Each checkpoint must be signed by the key in force at its size, and the first one
    /// covering a handover by the keys on both sides of it. The note kept outside may be
    /// signed by any key of the history.
    fn check_signatures(&self, chain: &[NoteVerifier]) -> Result<(), String> {
        let mut crossed = 0;
        for t in &self.targets {
            let Some((id, _)) = t.stored else {
                if !chain.iter().any(|k| opens(&t.note, k).is_ok()) {
                    let why = opens(&t.note, &self.key).err().unwrap_or_default();
                    return Err(format!(
                        "the checkpoint kept outside is not signed by {} or a key of its history: {why}",
                        self.key.fingerprint()
                    ));
                }
                continue;
            };
            let in_force = self
                .handovers
                .iter()
                .filter(|h| h.position < t.size)
                .count();
            for k in chain.iter().take(in_force + 1).skip(crossed) {
                opens(&t.note, k).map_err(|why| {
                    format!(
                        "checkpoint {id} (size {}) is not signed by {} {}, the key in force: {why}",
                        t.size,
                        k.name(),
                        k.fingerprint()
                    )
                })?;
            }
            crossed = in_force;
        }
        Ok(())
    }
}

/// The signing keys in force, oldest first, from the handovers the log records; `given`
/// must be one of them (or the only one).
fn key_chain(given: &NoteVerifier, handovers: &[Handover]) -> Result<Vec<NoteVerifier>, String> {
    let mut chain: Vec<NoteVerifier> = Vec::new();
    for h in handovers {
        let (Some(old), Some(new)) = (&h.old, &h.new) else {
            return Err(format!(
                "signing-key handover entry {} does not name two public keys",
                h.entry_id
            ));
        };
        match chain.last() {
            None => chain.push(old.clone()),
            Some(last) if last == old => {}
            Some(last) => {
                return Err(format!(
                    "signing-key handover entry {} hands over from {}, but the key in force was {}",
                    h.entry_id,
                    old.fingerprint(),
                    last.fingerprint()
                ));
            }
        }
        chain.push(new.clone());
    }
    if chain.is_empty() {
        return Ok(vec![given.clone()]);
    }
    if !chain.contains(given) {
        return Err(format!(
            "the log's signing keys ({}) do not include the given key {}",
            chain
                .iter()
                .map(NoteVerifier::fingerprint)
                .collect::<Vec<_>>()
                .join(" → "),
            given.fingerprint()
        ));
    }
    Ok(chain)
}

fn handover(position: u64, entry: &AuditEntry) -> Handover {
    let facts: Option<serde_json::Value> = entry
        .content
        .detail
        .as_deref()
        .and_then(|d| serde_json::from_str(d).ok());
    let key = |name: &str| {
        facts
            .as_ref()
            .and_then(|f| f.get(name))
            .and_then(|v| v.as_str())
            .and_then(|t| NoteVerifier::from_text(t).ok())
    };
    Handover {
        position,
        entry_id: entry.id,
        old: key("old"),
        new: key("new"),
    }
}

fn stored_target(row: &CheckpointRow) -> Result<Target, String> {
    let c = body_checkpoint(&row.note)
        .map_err(|why| format!("checkpoint {} is not a readable checkpoint: {why}", row.id))?;
    if c.size as i64 != row.tree_size || hex_lower(&c.root) != row.root_hash {
        return Err(format!(
            "checkpoint {}'s row says size {} root {}, but its signed note says otherwise",
            row.id, row.tree_size, row.root_hash
        ));
    }
    Ok(Target {
        stored: Some((row.id, row.created_at)),
        note: row.note.clone(),
        size: c.size,
        root: c.root,
    })
}

/// The checkpoint a note's body states (signatures not checked here), if it is one of
/// this log's kind.
fn body_checkpoint(note: &str) -> Result<Checkpoint, String> {
    let body = signed_note::body(note).map_err(|e| e.to_string())?;
    let checkpoint = Checkpoint::parse(body).map_err(|e| e.to_string())?;
    if checkpoint.origin != ORIGIN {
        return Err(format!(
            "its origin is `{}`, not `{ORIGIN}`: it is not a timber audit checkpoint",
            checkpoint.origin
        ));
    }
    Ok(checkpoint)
}

/// Whether `key` signed `note`.
fn opens(note: &str, key: &NoteVerifier) -> Result<(), String> {
    signed_note::open(note, std::slice::from_ref(key))
        .map(|_| ())
        .map_err(|e| e.to_string())
}
