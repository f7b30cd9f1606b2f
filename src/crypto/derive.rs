//! Keys derived from MASTER_ENCRYPTION_KEY for purposes other than encrypting data.
//!
//! Derivation: `HMAC-SHA256(key = the master's raw 32 bytes, message = label)`, one
//! 32-byte output per label. HMAC with a secret key over a fixed, distinct label is a PRF
//! output (the "expand" step of HKDF, RFC 5869, with a single block), so the derived keys
//! are independent of each other and of the master's Fernet use, and knowing one reveals
//! neither the master nor another derived key. The labels carry a version so that a
//! future change of scheme cannot collide with today's keys:
//!
//! - `timber-blind-index-v1`: keyed search hashes (`blind_index::keyed`),
//! - `timber-audit-v1`: the audit log's hash chain (DESIGN §7),
//! - `timber-audit-data-v1`: the Fernet key of the values an audit entry records (a
//!   write's old and new values), so that rotating or retiring a data key never touches
//!   the log (issue 15).
//!
//! Derived keys are zeroized on drop and never printed; `Debug` shows a fingerprint.

use std::fmt;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::hmac_sha256::HmacKey;
use super::key::Key;
use crate::value::hex_lower;

pub const BLIND_INDEX_LABEL: &str = "timber-blind-index-v1";
pub const AUDIT_LABEL: &str = "timber-audit-v1";
pub const AUDIT_DATA_LABEL: &str = "timber-audit-data-v1";

/// `HMAC-SHA256(master, label)`.
fn derive(master: &Key, label: &str) -> Zeroizing<[u8; 32]> {
    Zeroizing::new(HmacKey::new(master.raw()).mac(label.as_bytes()))
}

/// A 32-byte derived MAC key with its HMAC states pre-keyed (the audit verifier runs one
/// MAC per entry, so the key is reduced once, `hmac_sha256`).
#[derive(Clone)]
struct MacKey {
    mac: HmacKey,
    fingerprint: String,
}

impl MacKey {
    fn new(master: &Key, label: &str) -> MacKey {
        let bytes = derive(master, label);
        let mac = HmacKey::new(&bytes[..]);
        let digest = Sha256::digest(&bytes[..]);
        MacKey {
            mac,
            fingerprint: format!("fp:{}", hex_lower(&digest[..6])),
        }
    }

    fn mac(&self, data: &[u8]) -> [u8; 32] {
        self.mac.mac(data)
    }
}

/// The key of keyed (blind-index) search hashes.
#[derive(Clone)]
pub struct BlindIndexKey(MacKey);

impl BlindIndexKey {
    pub fn from_master(master: &Key) -> BlindIndexKey {
        BlindIndexKey(MacKey::new(master, BLIND_INDEX_LABEL))
    }

    /// HMAC-SHA256 of `data` under this key.
    pub fn mac(&self, data: &[u8]) -> [u8; 32] {
        self.0.mac(data)
    }

    /// `fp:` + 12 hex of SHA-256 of the derived key (to tell two configurations apart).
    pub fn fingerprint(&self) -> &str {
        &self.0.fingerprint
    }
}

impl fmt::Debug for BlindIndexKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BlindIndexKey({})", self.0.fingerprint)
    }
}

/// The key of the audit log's hash chain.
#[derive(Clone)]
pub struct AuditKey(MacKey);

impl AuditKey {
    pub fn from_master(master: &Key) -> AuditKey {
        AuditKey(MacKey::new(master, AUDIT_LABEL))
    }

    /// HMAC-SHA256 of the concatenation of `parts`.
    pub fn mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        self.0.mac.mac_parts(parts)
    }

    /// The MAC as lower-case hex.
    pub fn mac_hex(&self, parts: &[&[u8]]) -> String {
        hex_lower(&self.mac(parts))
    }

    /// Constant-time check of a MAC (raw bytes) over `parts`.
    pub fn verify(&self, parts: &[&[u8]], expected: &[u8]) -> bool {
        self.mac(parts).as_slice().ct_eq(expected).into()
    }

    pub fn fingerprint(&self) -> &str {
        &self.0.fingerprint
    }
}

impl fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AuditKey({})", self.0.fingerprint)
    }
}

/// The audit data key of a master key (a Fernet key: 16 bytes signing, 16 encryption).
fn audit_data_key(master: &Key) -> super::fernet::FernetKey {
    let bytes = derive(master, AUDIT_DATA_LABEL);
    super::fernet::FernetKey::new(&Key::from_bytes(*bytes))
}

impl super::keyring::KeyRing {
    /// The blind-index key, when MASTER_ENCRYPTION_KEY is configured.
    pub fn blind_index_key(&self) -> Option<BlindIndexKey> {
        self.master().map(BlindIndexKey::from_master)
    }

    /// The audit key, when MASTER_ENCRYPTION_KEY is configured.
    pub fn audit_key(&self) -> Option<AuditKey> {
        self.master().map(AuditKey::from_master)
    }

    /// The audit key of MASTER_ENCRYPTION_KEY_OLD: entries written before a master-key
    /// rotation are chained under it, and stay verifiable while it is configured.
    pub fn audit_key_old(&self) -> Option<AuditKey> {
        self.master_old().map(AuditKey::from_master)
    }

    /// The Fernet key audit entries encrypt recorded values under, derived from
    /// MASTER_ENCRYPTION_KEY (label `timber-audit-data-v1`).
    pub fn audit_data_key(&self) -> Option<super::fernet::FernetKey> {
        self.master().map(audit_data_key)
    }

    /// The same, derived from MASTER_ENCRYPTION_KEY_OLD (entries written before a
    /// master-key rotation).
    pub fn audit_data_key_old(&self) -> Option<super::fernet::FernetKey> {
        self.master_old().map(audit_data_key)
    }
}
