//! Verifying the chain, streaming in id order, and naming the first broken link.
//!
//! For each row the verifier checks two things: the row's own hash (`entry_hash` recomputed
//! from its `prev_hash` and content) and its link (`prev_hash` equals the previous row's
//! `entry_hash`). The first row that fails either is the first broken link; what follows it
//! tells what kind of damage it is:
//!
//! - own hash wrong, and the next row links to this row's stored hash: **altered** (content
//!   edited in place);
//! - own hash wrong, and the next row links past it to the previous row (or, for the last
//!   row, the head still names the previous row): **inserted** (a forged entry);
//! - own hash right, link wrong, and the entry it links to appears later: **reordered**;
//! - own hash right, link wrong, and the entry it links to is nowhere: **deleted**;
//! - the whole chain intact but the head row names a newer entry: **newest removed**;
//! - the head row's MAC is wrong, or the head names an entry older than the newest:
//!   **head invalid** (edited or rolled back).
//!
//! Limit: someone with database access who deletes the newest entries *and* restores an
//! older copy of the head row (a head that was once valid) is not detected from the database
//! alone. `--expect-head H` closes that gap: H (the `head` a previous verify printed, kept
//! elsewhere) must still be an entry of the chain.

use super::chain::{
    AuditKey, GENESIS, MASTER_KEY_ACTION, encode_canonical, encode_canonical_row, entry_hash,
    from_hex, handover_sealed, head_mac_matches, to_hex,
};
use super::entry::AuditEntry;
use crate::store::AuditRowRef;

/// The kind of damage at the first broken link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Damage {
    Altered,
    Deleted,
    Inserted,
    Reordered,
    NewestRemoved,
    HeadInvalid,
    ExpectedHeadNotFound,
    /// The chain moves to the new master key at an entry the old key did not seal.
    UnsealedKeySwitch,
    /// No entry at all: `timber init` begins every log with a genesis entry, so an empty
    /// log was emptied.
    Wiped,
}

impl Damage {
    pub fn as_str(self) -> &'static str {
        match self {
            Damage::Altered => "altered",
            Damage::Deleted => "deleted",
            Damage::Inserted => "inserted",
            Damage::Reordered => "reordered",
            Damage::NewestRemoved => "newest_removed",
            Damage::HeadInvalid => "head_invalid",
            Damage::ExpectedHeadNotFound => "expected_head_not_found",
            Damage::Wiped => "wiped",
            Damage::UnsealedKeySwitch => "unsealed_key_switch",
        }
    }
}

/// The head row as stored: the newest entry's id and hash, sealed by a MAC (hex texts).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredHead {
    pub last_id: i64,
    pub last_hash: String,
    pub head_mac: String,
}

/// What verification found. `entries` counts every row read; `head` is the hash of the
/// last entry that verified intact (the value to keep for a later `--expect-head`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyReport {
    pub ok: bool,
    pub entries: u64,
    pub first_broken: Option<i64>,
    pub damage: Option<Damage>,
    pub reason: Option<String>,
    pub head: Option<String>,
}

impl VerifyReport {
    /// Marks an otherwise intact report broken because `missing` rows counted before the
    /// read were never read (deleted while it ran).
    pub fn fail_unread(&mut self, missing: u64) {
        self.ok = false;
        self.damage = Some(Damage::Deleted);
        self.reason = Some(format!(
            "deleted: {missing} row(s) counted before reading were gone when read"
        ));
    }

    /// `{"ok", "entries", "first_broken", "reason", "head"}` (DESIGN §12), plus `damage`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "ok": self.ok,
            "entries": self.entries,
            "first_broken": self.first_broken,
            "damage": self.damage.map(Damage::as_str),
            "reason": self.reason,
            "head": self.head,
        })
    }
}

/// A row as fed: an owned entry, or borrowed from the store's scan.
#[derive(Clone, Copy)]
enum RowView<'a> {
    Entry(&'a AuditEntry),
    Row(&'a AuditRowRef<'a>),
}

impl RowView<'_> {
    fn id(self) -> i64 {
        match self {
            RowView::Entry(e) => e.id,
            RowView::Row(r) => r.id,
        }
    }

    /// Whether the row is the handover the old key sealed (`audit.master_key`).
    fn is_sealed_handover(self, old: &AuditKey, prev: &[u8; 32]) -> bool {
        match self {
            RowView::Entry(e) => {
                e.content.action == MASTER_KEY_ACTION
                    && handover_sealed(old, prev, e.content.detail.as_deref())
            }
            RowView::Row(r) => {
                r.action() == MASTER_KEY_ACTION && handover_sealed(old, prev, r.detail().as_deref())
            }
        }
    }
}

#[derive(Clone, Debug)]
enum State {
    Intact,
    /// A row whose own hash is wrong; the next row decides altered vs inserted.
    BadHash {
        id: i64,
        stored: Option<[u8; 32]>,
        expected: [u8; 32],
    },
    /// A row with a good hash and a wrong link; a later row with `target` means reordered.
    BadLink {
        id: i64,
        target: [u8; 32],
        prev_id: Option<i64>,
    },
    Decided {
        id: i64,
        damage: Damage,
        reason: String,
    },
}

/// Streams entries in id order; feed with [`push`](Self::push), conclude with
/// [`finish`](Self::finish). Memory stays constant however long the log is.
pub struct ChainVerifier<'k> {
    /// `None`: links only (no key at hand, as with the public key alone): each row's
    /// `prev_hash` must name the row before it, which names deletions, insertions and
    /// reorderings but cannot see an entry edited in place (the Merkle tree does).
    key: Option<&'k AuditKey>,
    /// The audit key before a master-key rotation (MASTER_ENCRYPTION_KEY_OLD): the oldest
    /// entries are chained under it, the newer ones under `key`. The chain may move from
    /// the old key to the new one once, never back.
    old_key: Option<&'k AuditKey>,
    /// Whether an entry chained under `key` has been seen (no old-key entry may follow).
    on_new_key: bool,
    /// Whether an entry chained under `old_key` has been seen: then the first entry under
    /// `key` must be the handover the old key sealed.
    seen_old_key: bool,
    expected: [u8; 32],
    last_good: Option<(i64, [u8; 32])>,
    entries: u64,
    buf: Vec<u8>,
    expect_head: Option<[u8; 32]>,
    expect_head_seen: bool,
    state: State,
}

impl<'k> ChainVerifier<'k> {
    pub fn new(key: &'k AuditKey, expect_head: Option<[u8; 32]>) -> Self {
        Self::with_key(Some(key), expect_head)
    }

    fn with_key(key: Option<&'k AuditKey>, expect_head: Option<[u8; 32]>) -> Self {
        ChainVerifier {
            key,
            old_key: None,
            on_new_key: false,
            seen_old_key: false,
            expected: GENESIS,
            last_good: None,
            entries: 0,
            buf: Vec::with_capacity(512),
            expect_head,
            expect_head_seen: false,
            state: State::Intact,
        }
    }

    /// A verifier of the links alone (see the `key` field): for naming the damage a
    /// signed checkpoint found, with no key at hand.
    pub fn links_only() -> Self {
        Self::with_key(None, None)
    }

    /// Also accepts entries chained under the audit key before a master-key rotation, as
    /// long as they all come before the first entry under the current key.
    pub fn with_old_key(mut self, old: Option<&'k AuditKey>) -> Self {
        self.old_key = old;
        self
    }

    /// Whether `stored` is the hash of `canonical` after `prev` under the key in force: the
    /// current key, or (until the first current-key entry) the key before the rotation.
    fn hash_matches(&mut self, prev: &[u8; 32], stored: &[u8; 32]) -> bool {
        let Some(key) = self.key else {
            return true;
        };
        if entry_hash(key, prev, &self.buf) == *stored {
            self.on_new_key = true;
            return true;
        }
        let old_ok = !self.on_new_key
            && self
                .old_key
                .is_some_and(|old| entry_hash(old, prev, &self.buf) == *stored);
        self.seen_old_key |= old_ok;
        old_ok
    }

    /// At the move from the old master key to the new one, the entry must be the handover
    /// the old key sealed (`audit.master_key`): otherwise a holder of the new key alone
    /// could have re-hashed the history from that entry on.
    fn unsealed_switch(&self, row: RowView<'_>, prev: &[u8; 32], was_on_new_key: bool) -> bool {
        let Some(old) = self.old_key else {
            return false;
        };
        let switched = !was_on_new_key && self.on_new_key && self.seen_old_key;
        switched && !row.is_sealed_handover(old, prev)
    }

    /// Feeds the next row (ascending id).
    pub fn push(&mut self, row: &AuditEntry) {
        self.push_view(
            RowView::Entry(row),
            from_hex(&row.prev_hash),
            from_hex(&row.entry_hash),
            |out| encode_canonical(&row.content, out),
        );
    }

    /// Feeds the next row as the store's scan read it, hashed from its borrowed bytes (no
    /// owned entry): the same verdicts as [`push`](Self::push) of the entry `from_stored`
    /// makes of it.
    pub fn push_row(&mut self, row: &AuditRowRef<'_>) {
        self.push_view(
            RowView::Row(row),
            from_hex(&row.prev_hash()),
            from_hex(&row.entry_hash()),
            |out| encode_canonical_row(row, out),
        );
    }

    fn push_view(
        &mut self,
        row: RowView<'_>,
        prev: Option<[u8; 32]>,
        stored: Option<[u8; 32]>,
        encode: impl FnOnce(&mut Vec<u8>),
    ) {
        let row_id = row.id();
        self.entries += 1;
        // The chain's ids start at 1: a row below is not part of it, whatever its hashes say.
        if row_id < 1 && matches!(self.state, State::Intact) {
            self.state = State::Decided {
                id: row_id,
                damage: Damage::Inserted,
                reason: format!(
                    "entry {} was inserted: the chain starts at entry 1, so no genuine entry has that id",
                    row_id
                ),
            };
            return;
        }
        match std::mem::replace(&mut self.state, State::Intact) {
            State::Intact => self.check(row, prev, stored, encode),
            State::BadHash {
                id,
                stored: bad,
                expected,
            } => {
                let (damage, reason) = if prev.is_some() && prev == bad {
                    (
                        Damage::Altered,
                        format!("entry {id} was altered: its hash no longer matches its content"),
                    )
                } else if prev == Some(expected) {
                    (
                        Damage::Inserted,
                        format!(
                            "entry {id} was inserted: it is not part of the chain (entry {} links past it)",
                            row_id
                        ),
                    )
                } else {
                    (
                        Damage::Altered,
                        format!("entry {id} was altered, and its links with it"),
                    )
                };
                self.state = State::Decided { id, damage, reason };
            }
            State::BadLink {
                id,
                target,
                prev_id,
            } if prev == Some(self.expected) && stored != Some(target) && row_id >= 1 => {
                // The row after links past the bad one to the last good entry: the bad
                // row (a replayed copy of a genuine entry, say) was slipped in.
                let _ = (target, prev_id);
                self.state = State::Decided {
                    id,
                    damage: Damage::Inserted,
                    reason: format!(
                        "entry {id} was inserted: it is not part of the chain (entry {} links past it)",
                        row_id
                    ),
                };
            }
            State::BadLink {
                id,
                target,
                prev_id,
            } => {
                self.state = if stored == Some(target) {
                    let reason = format!(
                        "entries were reordered: entry {id} should follow entry {}, which comes after it",
                        row_id
                    );
                    State::Decided {
                        id,
                        damage: Damage::Reordered,
                        reason,
                    }
                } else {
                    State::BadLink {
                        id,
                        target,
                        prev_id,
                    }
                };
            }
            decided @ State::Decided { .. } => self.state = decided,
        }
    }

    fn check(
        &mut self,
        row: RowView<'_>,
        prev: Option<[u8; 32]>,
        stored: Option<[u8; 32]>,
        encode: impl FnOnce(&mut Vec<u8>),
    ) {
        let row_id = row.id();
        let was_on_new_key = self.on_new_key;
        let own_ok = match (prev, stored) {
            (Some(prev), Some(stored)) => {
                self.buf.clear();
                // Links alone need no canonical bytes (nothing is hashed).
                if self.key.is_some() {
                    encode(&mut self.buf);
                }
                self.hash_matches(&prev, &stored)
            }
            _ => false,
        };
        if own_ok && prev.is_some_and(|p| self.unsealed_switch(row, &p, was_on_new_key)) {
            self.state = State::Decided {
                id: row_id,
                damage: Damage::UnsealedKeySwitch,
                reason: format!(
                    "entry {} moves the chain to the new master key without the old key's seal (an `{MASTER_KEY_ACTION}` entry): the history from it on may have been re-hashed by a holder of the new key alone",
                    row_id
                ),
            };
            return;
        }
        let prev_id = self.last_good.map(|(id, _)| id);
        match (own_ok, prev) {
            (true, Some(prev)) if prev == self.expected => {
                let stored = stored.expect("own_ok implies a parsed hash");
                self.expected = stored;
                self.last_good = Some((row_id, stored));
                if self.expect_head == Some(stored) {
                    self.expect_head_seen = true;
                }
            }
            (true, Some(prev)) if prev == GENESIS => {
                let after = prev_id.map_or(String::new(), |p| format!(" after entry {p}"));
                self.state = State::Decided {
                    id: row_id,
                    damage: Damage::Reordered,
                    reason: format!(
                        "entries were reordered: entry {} is the first entry of the chain but appears{after}",
                        row_id
                    ),
                };
            }
            (true, Some(target)) => {
                self.state = State::BadLink {
                    id: row_id,
                    target,
                    prev_id,
                }
            }
            _ => {
                self.state = State::BadHash {
                    id: row_id,
                    stored,
                    expected: self.expected,
                }
            }
        }
    }

    /// Concludes, comparing the end of the chain with the stored head row.
    pub fn finish(self, head: Option<&StoredHead>) -> VerifyReport {
        let head_row = head.map(|h| {
            let last_hash = from_hex(&h.last_hash);
            let mac_ok = match (last_hash, from_hex(&h.head_mac), self.key) {
                // The head is sealed by whoever appended last: under the current key, or
                // under the old one while no entry has been appended since the rotation.
                (Some(lh), Some(mac), Some(key)) => {
                    head_mac_matches(key, h.last_id, &lh, &mac)
                        || (!self.on_new_key
                            && self
                                .old_key
                                .is_some_and(|old| head_mac_matches(old, h.last_id, &lh, &mac)))
                }
                _ => false,
            };
            (h.last_id, last_hash.unwrap_or(GENESIS), mac_ok)
        });
        let finding = match self.state.clone() {
            State::Decided { id, damage, reason } => Some((Some(id), damage, reason)),
            State::BadHash {
                id,
                stored,
                expected,
            } => Some(match head_row {
                Some((head_id, head_hash, true)) if head_hash == expected && head_id < id => (
                    Some(id),
                    Damage::Inserted,
                    format!(
                        "entry {id} was inserted after the newest genuine entry (id {head_id})"
                    ),
                ),
                _ => {
                    let _ = stored;
                    (
                        Some(id),
                        Damage::Altered,
                        format!("entry {id} was altered: its hash no longer matches its content"),
                    )
                }
            }),
            State::BadLink { id, prev_id, .. } => Some(match prev_id {
                None => (
                    Some(id),
                    Damage::Deleted,
                    format!("the oldest entries, before entry {id}, were deleted"),
                ),
                Some(p) => (
                    Some(id),
                    Damage::Deleted,
                    format!("entries between entry {p} and entry {id} were deleted"),
                ),
            }),
            State::Intact if self.key.is_none() => None,
            State::Intact => self.head_finding(head_row),
        };
        let finding = finding.or_else(|| {
            (self.expect_head.is_some() && !self.expect_head_seen).then(|| {
                (
                    None,
                    Damage::ExpectedHeadNotFound,
                    "the expected head is not in the chain: entries up to it were removed or rewritten (a rolled-back log)".to_string(),
                )
            })
        });
        let head = self.last_good.map(|(_, h)| to_hex(&h));
        match finding {
            None => VerifyReport {
                ok: true,
                entries: self.entries,
                first_broken: None,
                damage: None,
                reason: None,
                head,
            },
            Some((first_broken, damage, reason)) => VerifyReport {
                ok: false,
                entries: self.entries,
                first_broken,
                damage: Some(damage),
                reason: Some(format!("{}: {reason}", damage.as_str())),
                head,
            },
        }
    }

    /// With every row intact, the head row must name the newest entry.
    fn head_finding(
        &self,
        head_row: Option<(i64, [u8; 32], bool)>,
    ) -> Option<(Option<i64>, Damage, String)> {
        let last = self.last_good;
        match (head_row, last) {
            (None, None) => Some((
                None,
                Damage::Wiped,
                "the log holds no entry and no head: `timber init` begins every log with a genesis entry, so it was wiped (or it was created by a version before the genesis and never written to: `timber init` begins such a log)".to_string(),
            )),
            (None, Some((id, _))) => Some((
                None,
                Damage::HeadInvalid,
                format!("the head row is missing, yet the log holds entries up to {id}"),
            )),
            (Some((_, _, false)), _) => Some((
                None,
                Damage::HeadInvalid,
                "the head row was altered: its MAC does not match".to_string(),
            )),
            (Some((0, head_hash, true)), None) if head_hash == GENESIS => Some((
                None,
                Damage::Wiped,
                "the log holds no entry: `timber init` begins every log with a genesis entry, so it was wiped (or it was created by a version before the genesis and never written to: `timber init` begins such a log)".to_string(),
            )),
            (Some((head_id, _, true)), None) => Some((
                Some(head_id),
                Damage::NewestRemoved,
                format!("every entry was deleted (the head names entry {head_id})"),
            )),
            (Some((head_id, head_hash, true)), Some((id, hash))) => {
                if head_hash == hash && head_id == id {
                    None
                } else if head_hash == hash {
                    Some((
                        Some(id),
                        Damage::Altered,
                        format!("the newest entry's id was changed from {head_id} to {id}"),
                    ))
                } else if head_id > id {
                    Some((
                        Some(id + 1),
                        Damage::NewestRemoved,
                        format!(
                            "the newest entries were deleted: the log ends at entry {id} but the head names entry {head_id}"
                        ),
                    ))
                } else {
                    Some((
                        None,
                        Damage::HeadInvalid,
                        format!(
                            "the head names entry {head_id} but the log continues to entry {id}: the head row was rolled back"
                        ),
                    ))
                }
            }
        }
    }
}
