//! The key ring: every key the program holds, and which of them a token is under.
//!
//! A token's key is found by its HMAC alone (Fernet spec, "Verifying": the MAC is keyed
//! with the signing half): the token is base64-decoded once, each candidate's pre-keyed
//! HMAC state is cloned and compared in constant time, and AES runs only for the key
//! whose MAC matched. The census and the health checks use that to count tokens per key
//! without decrypting anything.
//!
//! Trial order for a cell (`decrypt_token`): the owner's per-user key (from the master,
//! then from the old master) when an owner is given, then the primary, the old keys in
//! order, the named keys, and finally the master and old master themselves (data under a
//! master key is a misconfiguration health reports, but it must still be identifiable).
//! Keys are distinct (the builder refuses duplicates), so at most one MAC can match; the
//! key that matched last on a thread is tried first (`LAST_MATCH`), which changes the
//! cost of a search, never its answer.

use std::cell::Cell;
use std::fmt;
use std::sync::Arc;

use zeroize::Zeroizing;

use super::fernet::FernetKey;
use super::inspect::{self, TokenInfo};
use super::key::{Fingerprint, Key};
use super::user_keys::{MasterGeneration, UserKeyCache, user_key_id};

/// One key a token may be under, as [`KeyRing::find_key`] tries them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Candidate {
    /// The row owner's per-user key from the current or the old master.
    User(MasterGeneration),
    /// `KeyRing::keys[i]`.
    Configured(usize),
}

thread_local! {
    /// The ring (by address) and the candidate whose HMAC matched last on this thread.
    ///
    /// Why: a column's values are mostly under one key, and during a rotation that key is an
    /// old one, tried after the primary: every value paid two HMACs (SHA-256 was 28% of a
    /// census of such data). Trying the last match first makes it one. Keys are distinct
    /// (the builder refuses duplicates), so at most one MAC matches and the order of trials
    /// changes only the cost, never the answer. A stale entry (another ring, or a ring
    /// rebuilt at the same address) costs one failed trial: `try_candidate` checks bounds.
    static LAST_MATCH: Cell<Option<(usize, Candidate)>> = const { Cell::new(None) };
}

/// Which key of the ring. Displayed as Timber's key ids: `primary`, `old_1`, a named key's
/// name, `master`, `master_old`, `user_<id>`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyId {
    Primary,
    /// `ENCRYPTION_KEY_OLD` entries, numbered from 1 in the order given.
    Old(usize),
    Named(String),
    Master,
    MasterOld,
    /// A per-user key derived from the current master.
    User(String),
    /// A per-user key derived from the old master (readable during a master rotation).
    UserOld(String),
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyId::Primary => f.write_str("primary"),
            KeyId::Old(n) => write!(f, "old_{n}"),
            KeyId::Named(name) => f.write_str(name),
            KeyId::Master => f.write_str("master"),
            KeyId::MasterOld => f.write_str("master_old"),
            KeyId::User(id) => f.write_str(&user_key_id(id)),
            KeyId::UserOld(id) => write!(f, "{} (master_old)", user_key_id(id)),
        }
    }
}

impl KeyId {
    /// Parses a key id as `Display` writes it (for `timber keys retire KEY_ID`).
    pub fn parse(text: &str) -> KeyId {
        match text {
            "primary" => KeyId::Primary,
            "master" => KeyId::Master,
            "master_old" => KeyId::MasterOld,
            _ => {
                if let Some(n) = text.strip_prefix("old_").and_then(|n| n.parse().ok()) {
                    KeyId::Old(n)
                } else if let Some(id) = text.strip_prefix("user_") {
                    KeyId::User(id.to_string())
                } else {
                    KeyId::Named(text.to_string())
                }
            }
        }
    }

    pub fn role(&self) -> KeyRole {
        match self {
            KeyId::Primary => KeyRole::Primary,
            KeyId::Old(_) => KeyRole::Old,
            KeyId::Named(_) => KeyRole::Named,
            KeyId::Master => KeyRole::Master,
            KeyId::MasterOld => KeyRole::MasterOld,
            KeyId::User(_) | KeyId::UserOld(_) => KeyRole::User,
        }
    }
}

/// What a key is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyRole {
    /// Encrypts new data (`ENCRYPTION_KEY`).
    Primary,
    /// Decrypt-only, kept for data not yet rotated (`ENCRYPTION_KEY_OLD`).
    Old,
    /// Selected by a model's `encryption.key_identifier`.
    Named,
    /// `MASTER_ENCRYPTION_KEY`: derives per-user, blind-index and audit keys.
    Master,
    /// `MASTER_ENCRYPTION_KEY_OLD`: reads per-user data during a master rotation.
    MasterOld,
    /// Derived per user from a master.
    User,
}

impl KeyRole {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyRole::Primary => "primary",
            KeyRole::Old => "old",
            KeyRole::Named => "named",
            KeyRole::Master => "master",
            KeyRole::MasterOld => "master_old",
            KeyRole::User => "user",
        }
    }
}

/// One key as shown to people: never the key itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyInfo {
    pub id: KeyId,
    pub fingerprint: Fingerprint,
    /// Where it came from, e.g. `env ENCRYPTION_KEY`.
    pub source: String,
    pub role: KeyRole,
}

/// Why a stored cell could not be read (the `{"error": ...}` of DESIGN §12).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum CellError {
    /// Not base64, wrong version byte, too short, not block-aligned: not a Fernet token.
    #[error("not a Fernet token")]
    NotAToken,
    /// A well-formed token whose MAC matches none of the configured keys.
    #[error("token is under a key that is not configured")]
    UnknownKey,
    /// A key's MAC matches, but decryption, padding, UTF-8 or the declared type fails.
    #[error("token matches a configured key but its content is corrupted")]
    Corrupted,
    /// The stored bytes are not UTF-8 text at all, so they cannot be a token (a token is
    /// ASCII); someone wrote raw bytes into the column.
    #[error("the stored value is not text (not UTF-8)")]
    NotText,
}

impl CellError {
    pub fn as_str(self) -> &'static str {
        match self {
            CellError::NotAToken => "not_a_token",
            CellError::UnknownKey => "unknown_key",
            CellError::Corrupted => "corrupted",
            CellError::NotText => "not_text",
        }
    }
}

// The ring is shared by the TUI's background tasks.
const _: fn() = || {
    fn shareable<T: Send + Sync>() {}
    shareable::<KeyRing>();
};

/// A configured (non-derived) key.
pub(crate) struct RingKey {
    pub(crate) id: KeyId,
    pub(crate) key: Arc<FernetKey>,
    pub(crate) source: String,
}

/// A master key: its text is the PBKDF2 password for per-user keys, its bytes derive the
/// blind-index and audit keys.
pub(crate) struct MasterKey {
    pub(crate) text: Zeroizing<String>,
    pub(crate) key: Key,
}

/// A token matched to its key by HMAC, before any decryption.
#[derive(Clone, Debug)]
pub struct Identified {
    pub id: KeyId,
    pub fingerprint: Fingerprint,
    pub info: TokenInfo,
}

/// All keys of one configuration. Build with `KeyRing::from_settings` or `KeyRing::builder`.
pub struct KeyRing {
    /// Trial order: primary, old_1.., named, master, master_old.
    pub(crate) keys: Vec<RingKey>,
    pub(crate) master: Option<MasterKey>,
    pub(crate) master_old: Option<MasterKey>,
    pub(crate) user_keys: UserKeyCache,
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut list = f.debug_list();
        for entry in self.entries() {
            list.entry(&format_args!("{} {}", entry.id, entry.fingerprint));
        }
        list.finish()?;
        write!(f, " ({} cached user keys)", self.user_keys.len())
    }
}

impl KeyRing {
    /// Configured keys (not per-user ones), in trial order.
    pub fn entries(&self) -> Vec<KeyInfo> {
        self.keys
            .iter()
            .map(|k| KeyInfo {
                id: k.id.clone(),
                fingerprint: k.key.fingerprint(),
                source: k.source.clone(),
                role: k.id.role(),
            })
            .collect()
    }

    pub fn has_primary(&self) -> bool {
        self.keys.iter().any(|k| k.id == KeyId::Primary)
    }

    /// The master key (for deriving blind-index and audit keys), if configured.
    pub fn master(&self) -> Option<&Key> {
        self.master.as_ref().map(|m| &m.key)
    }

    pub fn master_old(&self) -> Option<&Key> {
        self.master_old.as_ref().map(|m| &m.key)
    }

    /// The prepared key for an id; per-user ids are derived (and cached) from the master.
    pub fn key(&self, id: &KeyId) -> Option<Arc<FernetKey>> {
        match id {
            KeyId::User(user) => self.user_key(MasterGeneration::Current, user),
            KeyId::UserOld(user) => self.user_key(MasterGeneration::Old, user),
            _ => self
                .keys
                .iter()
                .find(|k| &k.id == id)
                .map(|k| Arc::clone(&k.key)),
        }
    }

    /// The fingerprint of a key id, if the ring has that key.
    pub fn fingerprint(&self, id: &KeyId) -> Option<Fingerprint> {
        self.key(id).map(|k| k.fingerprint())
    }

    fn user_key(&self, generation: MasterGeneration, user: &str) -> Option<Arc<FernetKey>> {
        let master = match generation {
            MasterGeneration::Current => self.master.as_ref()?,
            MasterGeneration::Old => self.master_old.as_ref()?,
        };
        Some(self.user_keys.get_or_derive(generation, &master.text, user))
    }

    /// Which key a token is under, by HMAC alone (no AES), among the configured keys.
    /// Per-user keys need the row's owner: use `classify(token, Some(owner))`.
    pub fn identify(&self, token: &str) -> Option<KeyId> {
        self.classify(token, None).ok().map(|found| found.id)
    }

    /// Identifies a bare token's key without decrypting: `NotAToken` when it is malformed,
    /// `UnknownKey` when no key's MAC matches.
    pub fn classify(&self, token: &str, owner: Option<&str>) -> Result<Identified, CellError> {
        inspect::with_decoded(token, |data| {
            let info = inspect::parse_decoded(data).map_err(|_| CellError::NotAToken)?;
            let (id, key) = self.find_key(data, owner).ok_or(CellError::UnknownKey)?;
            Ok(Identified {
                id,
                fingerprint: key.fingerprint(),
                info,
            })
        })
        .unwrap_or(Err(CellError::NotAToken))
    }

    /// Decrypts a bare token (use `codec::unwrap_stored` on JSON-column values first):
    /// decode once, find the key by HMAC, run AES only with that key.
    pub fn decrypt_token(
        &self,
        token: &str,
        owner: Option<&str>,
    ) -> Result<(Zeroizing<Vec<u8>>, KeyId), CellError> {
        let (plaintext, id, _) = self.decrypt_token_with_info(token, owner)?;
        Ok((plaintext, id))
    }

    pub(crate) fn decrypt_token_with_info(
        &self,
        token: &str,
        owner: Option<&str>,
    ) -> Result<(Zeroizing<Vec<u8>>, KeyId, TokenInfo), CellError> {
        inspect::with_decoded(token, |data| {
            let info = inspect::parse_decoded(data).map_err(|_| CellError::NotAToken)?;
            let (id, key) = self.find_key(data, owner).ok_or(CellError::UnknownKey)?;
            let plaintext = key
                .decrypt_authenticated(data, &info)
                .map_err(|_| CellError::Corrupted)?;
            Ok((plaintext, id, info))
        })
        .unwrap_or(Err(CellError::NotAToken))
    }

    /// The candidate whose HMAC matches the decoded token. The one that matched last on
    /// this thread is tried first ([`LAST_MATCH`]), then the rest in trial order.
    fn find_key(&self, data: &[u8], owner: Option<&str>) -> Option<(KeyId, Arc<FernetKey>)> {
        let ring = self as *const KeyRing as usize;
        let hint = LAST_MATCH
            .with(Cell::get)
            .and_then(|(of, candidate)| (of == ring).then_some(candidate));
        if let Some(candidate) = hint
            && let Some(found) = self.try_candidate(candidate, data, owner)
        {
            return Some(found);
        }
        let users = [
            Candidate::User(MasterGeneration::Current),
            Candidate::User(MasterGeneration::Old),
        ];
        // Without an owner only configured keys are candidates: scanning every cached
        // per-user key (up to 10 000 HMACs) for each unknown token would be a hidden cost.
        let users = if owner.is_some() { &users[..] } else { &[] };
        let configured = (0..self.keys.len()).map(Candidate::Configured);
        for candidate in users.iter().copied().chain(configured) {
            if Some(candidate) == hint {
                continue;
            }
            if let Some(found) = self.try_candidate(candidate, data, owner) {
                LAST_MATCH.with(|last| last.set(Some((ring, candidate))));
                return Some(found);
            }
        }
        None
    }

    /// `candidate`'s key and id when its HMAC matches the decoded token.
    fn try_candidate(
        &self,
        candidate: Candidate,
        data: &[u8],
        owner: Option<&str>,
    ) -> Option<(KeyId, Arc<FernetKey>)> {
        match candidate {
            Candidate::User(generation) => {
                let user = owner?;
                let key = self.user_key(generation, user)?;
                if !key.mac_matches(data) {
                    return None;
                }
                let id = match generation {
                    MasterGeneration::Current => KeyId::User(user.to_string()),
                    MasterGeneration::Old => KeyId::UserOld(user.to_string()),
                };
                Some((id, key))
            }
            Candidate::Configured(i) => {
                let k = self.keys.get(i)?;
                k.key
                    .mac_matches(data)
                    .then(|| (k.id.clone(), Arc::clone(&k.key)))
            }
        }
    }

    /// AES decryptions run so far, per configured key and per cached user key. Lets a
    /// test (or a benchmark) check that identification decrypted only with the match.
    pub fn aes_decryptions(&self) -> Vec<(KeyId, u64)> {
        let mut counts: Vec<(KeyId, u64)> = self
            .keys
            .iter()
            .map(|k| (k.id.clone(), k.key.aes_decryptions()))
            .collect();
        for (generation, user, key) in self.user_keys.snapshot() {
            let id = match generation {
                MasterGeneration::Current => KeyId::User(user),
                MasterGeneration::Old => KeyId::UserOld(user),
            };
            counts.push((id, key.aes_decryptions()));
        }
        counts.sort();
        counts
    }
}
