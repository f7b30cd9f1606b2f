//! What rotation does with one stored value: nothing (NULL, already under the target key,
//! plaintext left alone), a write (re-encryption, a recomputed blind index, plaintext
//! encrypted on request), or a recorded failure. Pure: no I/O, so the plan, the run and the
//! conflict retry all decide the same way.

use crate::config::{ColumnDef, ColumnType, ModelDef};
use crate::crypto::{BlindIndexKey, CellError, KeyChoice, KeyId, KeyRing, blind_index, inspect};
use crate::store::RotationRow;
use crate::store::parse_for_column;
use crate::store::{key_choice, keyed_hash};
use crate::value::Value;

/// Why a value was recorded as a failure (the `reason` of `timber_rotation_failures`).
pub mod reason {
    pub const NOT_A_TOKEN: &str = "not_a_token";
    pub const UNKNOWN_KEY: &str = "unknown_key";
    pub const CORRUPTED: &str = "corrupted";
    /// Stored bytes that are not UTF-8: not a token, and not plaintext to encrypt either.
    pub const NOT_TEXT: &str = "not_text";
    /// A per-user model's row whose owner column is NULL: no key to rotate to.
    pub const NO_OWNER: &str = "no_owner";
    /// Plaintext that does not parse as the column's declared type (`--encrypt-plaintext`).
    pub const BAD_PLAINTEXT: &str = "plaintext_not_of_column_type";
    /// The row kept changing under us for every retry.
    pub const CONFLICT: &str = "conflict";
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteKind {
    /// Under another key: re-encrypted under the target.
    Reencrypt,
    /// Under the target already, but its blind index is stale.
    Rehash,
    /// Plaintext encrypted (`--encrypt-plaintext`).
    EncryptPlaintext,
}

/// The decision for one value.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    Null,
    /// Under the target key, blind index (if any) current.
    Current,
    /// Plaintext left alone (no `--encrypt-plaintext`).
    Plaintext,
    Write {
        /// The new stored text (equal to the old one for `Rehash`).
        new: String,
        /// The new blind-index hash, when it changes.
        hash: Option<String>,
        kind: WriteKind,
    },
    Fail(&'static str),
}

/// Decides for the values of one model.
pub struct Decider<'a> {
    ring: &'a KeyRing,
    model: &'a ModelDef,
    encrypt_plaintext: bool,
    blind_key: Option<BlindIndexKey>,
}

impl<'a> Decider<'a> {
    pub fn new(ring: &'a KeyRing, model: &'a ModelDef, encrypt_plaintext: bool) -> Decider<'a> {
        Decider {
            ring,
            model,
            encrypt_plaintext,
            blind_key: ring.blind_index_key(),
        }
    }

    /// The key a row's values must end up under.
    pub fn target(&self, owner: Option<&str>) -> Option<(KeyChoice, KeyId)> {
        let choice = key_choice(self.model, owner).ok()?;
        let id = match &choice {
            KeyChoice::Primary => KeyId::Primary,
            KeyChoice::Named(name) => KeyId::Named(name.clone()),
            KeyChoice::User(user) => KeyId::User(user.clone()),
        };
        Some((choice, id))
    }

    /// Decides for column `ci` of `row` (its blind index at `hash_at`, when it has one). A
    /// value that is not text fails here: it is never decrypted, encrypted or overwritten.
    pub fn decide_row(
        &self,
        column: &ColumnDef,
        row: &RotationRow,
        ci: usize,
        hash_at: Option<usize>,
    ) -> (Outcome, Option<KeyId>) {
        if row.not_text.contains(&ci) {
            return (Outcome::Fail(reason::NOT_TEXT), None);
        }
        let hash = hash_at.map(|h| row.values[h].as_deref());
        self.decide(
            column,
            row.values[ci].as_deref(),
            hash,
            row.owner.as_deref(),
        )
    }

    /// Decides for `stored` in `column`; `hash` is the stored blind index when the column
    /// has one (`Some(None)` for a NULL hash). Also returns the key the value is under now.
    pub fn decide(
        &self,
        column: &ColumnDef,
        stored: Option<&str>,
        hash: Option<Option<&str>>,
        owner: Option<&str>,
    ) -> (Outcome, Option<KeyId>) {
        let Some(stored) = stored else {
            return (Outcome::Null, None);
        };
        let Some((choice, target)) = self.target(owner) else {
            return (Outcome::Fail(reason::NO_OWNER), None);
        };
        // Anything with a token's prefix is treated as a (possibly damaged) token, never as
        // plaintext: `--encrypt-plaintext` must not wrap a corrupted token in a new one.
        if !inspect::unquote(stored).starts_with("gAAAAA") {
            return (self.plaintext(column, stored, hash.is_some(), choice), None);
        }
        let token = inspect::unquote(stored);
        // One decode and one key search (by HMAC) per value, then AES with the key found:
        // identifying the key first and then decrypting searched twice, and SHA-256 was the
        // largest single cost of a rotation (issue #9). A current value pays an AES
        // decryption it does not need, which costs less than the search it saves elsewhere.
        let (plaintext, found) = match self.ring.decrypt_token(token, owner) {
            Ok(found) => found,
            Err(CellError::UnknownKey) => return (Outcome::Fail(reason::UNKNOWN_KEY), None),
            Err(CellError::Corrupted) => {
                // A key matched, but the content is damaged: name the key (the census
                // counts values per key); a second search on a rare path. Under the target
                // already with no hash to check, it is left alone as before (current).
                let found = self.ring.classify(token, owner).ok().map(|f| f.id);
                if found.as_ref() == Some(&target) && hash.is_none() {
                    return (Outcome::Current, found);
                }
                return (Outcome::Fail(reason::CORRUPTED), found);
            }
            Err(CellError::NotAToken) => return (Outcome::Fail(reason::NOT_A_TOKEN), None),
            Err(CellError::NotText) => return (Outcome::Fail(reason::NOT_TEXT), None),
        };
        if found == target && hash.is_none() {
            return (Outcome::Current, Some(found));
        }
        let new_hash = match hash {
            None => None,
            Some(current) => {
                let Ok(value) = crate::crypto::decode_plaintext(&plaintext, &column.ty) else {
                    return (Outcome::Fail(reason::CORRUPTED), Some(found));
                };
                self.stale_hash(column, &value, current)
            }
        };
        if found == target {
            return match new_hash {
                None => (Outcome::Current, Some(found)),
                Some(h) => (
                    Outcome::Write {
                        new: stored.to_string(),
                        hash: Some(h),
                        kind: WriteKind::Rehash,
                    },
                    Some(found),
                ),
            };
        }
        match self.ring.encrypt_plaintext(&plaintext, column, choice) {
            Ok(new) => (
                Outcome::Write {
                    new,
                    hash: new_hash,
                    kind: WriteKind::Reencrypt,
                },
                Some(found),
            ),
            // The target key is checked before a job starts; this is a per-row surprise.
            Err(_) => (Outcome::Fail(reason::CORRUPTED), Some(found)),
        }
    }

    fn plaintext(
        &self,
        column: &ColumnDef,
        stored: &str,
        has_hash: bool,
        choice: KeyChoice,
    ) -> Outcome {
        if !self.encrypt_plaintext {
            return Outcome::Plaintext;
        }
        let Some(value) = plaintext_value(column, stored) else {
            return Outcome::Fail(reason::BAD_PLAINTEXT);
        };
        let Ok(new) = self.ring.encrypt_value(&value, column, choice) else {
            return Outcome::Fail(reason::BAD_PLAINTEXT);
        };
        let hash = if has_hash {
            keyed_hash(self.ring, self.model, column, &value).ok()
        } else {
            None
        };
        Outcome::Write {
            new,
            hash,
            kind: WriteKind::EncryptPlaintext,
        }
    }

    /// The keyed hash to store, when the stored one is neither it nor the legacy hash.
    fn stale_hash(
        &self,
        column: &ColumnDef,
        value: &Value,
        current: Option<&str>,
    ) -> Option<String> {
        let key = self.blind_key.as_ref()?;
        let text = search_text(value);
        let stored = current.map(|h| h.trim().to_ascii_lowercase());
        match stored {
            Some(s)
                if blind_index::classify_hash(Some(key), &text, &s)
                    != blind_index::HashKind::Mismatch =>
            {
                None
            }
            _ => keyed_hash(self.ring, self.model, column, value).ok(),
        }
    }
}

/// The text a blind index hashes; the same rule as the store's writes (strings as they are,
/// other values as JSON text), so a recomputed hash finds what a new write would.
fn search_text(value: &Value) -> String {
    match value {
        Value::Text(s) | Value::Numeric(s) => s.clone(),
        other => other.to_json().to_string(),
    }
}

/// Legacy plaintext as the typed value the application meant: text as it is, a JSON
/// column's JSON (a bare non-JSON text is a Python `str`), other types parsed.
fn plaintext_value(column: &ColumnDef, stored: &str) -> Option<Value> {
    match column.ty {
        ColumnType::String(_) | ColumnType::Text => Some(Value::Text(stored.to_string())),
        ColumnType::Json => Some(Value::Json(
            serde_json::from_str(stored)
                .unwrap_or_else(|_| serde_json::Value::String(stored.to_string())),
        )),
        _ => parse_for_column(stored, column).ok(),
    }
}

/// The declared blind-index column of `column`, if it exists and is not itself encrypted.
pub fn hash_column<'m>(model: &'m ModelDef, column: &ColumnDef) -> Option<&'m ColumnDef> {
    column
        .blind_index
        .as_deref()
        .and_then(|name| model.column(name))
        .filter(|c| !c.encrypted)
}
