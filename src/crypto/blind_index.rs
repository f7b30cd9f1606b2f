//! Searchable hashes of encrypted values (DESIGN §3).
//!
//! - Legacy (what Timber's guide shows): `hashlib.sha256(value.lower().encode()).hexdigest()`.
//!   Unkeyed, so anyone with the table can test guesses (an email list, every phone
//!   number) against it; health flags columns that still use it.
//! - Keyed ("blind index"): `HMAC-SHA256(blind-index key, value.strip().lower())` as hex,
//!   the key derived from MASTER_ENCRYPTION_KEY (`derive.rs`). Without the master key a
//!   guess cannot be checked.
//!
//! Lower-casing is Python's `str.lower()`: full Unicode case mapping, including the
//! final-sigma rule. Rust's `str::to_lowercase` implements the same mapping; checked code
//! point by code point against CPython 3.11, the only differences are characters that
//! CPython's Unicode database (14.0) does not know and Rust's (newer) does, e.g. U+A7CB
//! or the Garay script, which Python leaves unchanged. Such characters are not plausible in
//! the emails and phone numbers legacy hashes cover; if one occurs, the hash simply does
//! not match (a reported mismatch, never a wrong match).

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::derive::BlindIndexKey;
use crate::value::hex_lower;

/// Python's `str.lower()` (see module notes for the Unicode-version caveat).
pub fn python_lower(value: &str) -> String {
    value.to_lowercase()
}

/// Python's `str.strip()` with no argument: Unicode whitespace at both ends.
pub fn python_strip(value: &str) -> &str {
    value.trim()
}

/// `sha256(value.lower()).hexdigest()`, Timber's legacy search hash.
pub fn legacy_sha256(value: &str) -> String {
    hex_lower(&Sha256::digest(python_lower(value).as_bytes()))
}

/// The keyed blind index of `value`: hex HMAC-SHA256 of the trimmed, lower-cased value.
pub fn keyed(key: &BlindIndexKey, value: &str) -> String {
    hex_lower(&key.mac(python_lower(python_strip(value)).as_bytes()))
}

/// Which kind of search hash a stored hash is, given the plaintext it should index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HashKind {
    Keyed,
    Legacy,
    /// Neither: stale, or made some other way.
    Mismatch,
}

/// Compares a stored search hash with both schemes (constant time, case-insensitive hex).
pub fn classify_hash(key: Option<&BlindIndexKey>, value: &str, stored: &str) -> HashKind {
    let stored = stored.trim().to_ascii_lowercase();
    let eq = |a: &str| bool::from(a.as_bytes().ct_eq(stored.as_bytes()));
    if key.is_some_and(|k| eq(&keyed(k, value))) {
        HashKind::Keyed
    } else if eq(&legacy_sha256(value)) {
        HashKind::Legacy
    } else {
        HashKind::Mismatch
    }
}
