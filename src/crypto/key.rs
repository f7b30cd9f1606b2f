//! A Fernet key: 32 bytes, signing key ‖ encryption key (Fernet spec, "Key Format").
//! Zeroized on drop; `Debug` and `Display` show only the fingerprint (DESIGN §4).

use std::fmt;

use base64::Engine;
use base64::alphabet;
use base64::engine::general_purpose::URL_SAFE;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use rand::RngCore;
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, Zeroizing};

use crate::value::hex_lower;

/// Python's Fernet decodes keys with `base64.urlsafe_b64decode`, which also takes the
/// standard alphabet (`+`, `/`) and ignores non-zero trailing bits, so a key written that way
/// works in Python and must work here. Padding is optional (Python requires it; a superset).
const KEY_ALPHABETS: [GeneralPurpose; 2] = [
    GeneralPurpose::new(&alphabet::URL_SAFE, LENIENT),
    GeneralPurpose::new(&alphabet::STANDARD, LENIENT),
];
const LENIENT: GeneralPurposeConfig = GeneralPurposeConfig::new()
    .with_decode_padding_mode(DecodePaddingMode::Indifferent)
    .with_decode_allow_trailing_bits(true);

/// Why a key text was refused. Messages name the variable, never the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error(
        "{var} is empty; expected a Fernet key (44 characters of url-safe base64, `timber keygen` makes one)"
    )]
    Empty { var: String },
    #[error(
        "{var} is not valid url-safe base64 (expected 44 characters encoding 32 bytes, got {len} characters)"
    )]
    NotBase64 { var: String, len: usize },
    #[error(
        "{var} decodes to {got} bytes; a Fernet key is 32 bytes (44 characters of url-safe base64)"
    )]
    WrongLength { var: String, got: usize },
    #[error(
        "{var} is the same key as {other} (or shares its signing half, so their tokens \
         could not be told apart); each key must be distinct"
    )]
    Duplicate { var: String, other: String },
    #[error(
        "{var} contains only whitespace; expected a Fernet key (44 characters of url-safe base64)"
    )]
    Blank { var: String },
    #[error(
        "{var} has leading or trailing whitespace; remove it (keys are used exactly as written)"
    )]
    SurroundingWhitespace { var: String },
    #[error("{var} is the same key as {primary_var}; the master key must differ from the data key")]
    MasterEqualsPrimary { var: String, primary_var: String },
    #[error(
        "{var} names the key `{name}`, which is reserved (primary, master, master_old, old_N, user_*)"
    )]
    ReservedName { var: String, name: String },
}

/// The first 12 hex digits of SHA-256 of the raw 32 key bytes, shown as `fp:…`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Fingerprint([u8; 6]);

impl Fingerprint {
    pub fn hex(&self) -> String {
        hex_lower(&self.0)
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "fp:{}", self.hex())
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// 32 bytes of key material.
#[derive(Clone, PartialEq, Eq)]
pub struct Key {
    bytes: [u8; 32],
}

impl Drop for Key {
    fn drop(&mut self) {
        self.bytes.zeroize();
    }
}

impl Key {
    /// Parses url-safe base64 (padding optional; the standard alphabet too, as Python
    /// does). `var` names the source for messages.
    pub fn from_base64_named(text: &str, var: &str) -> Result<Key, KeyError> {
        // Empty, blank and padded texts get their own reasons: they are the usual
        // copy-paste and `.env` mistakes, and "not base64" would not say what to fix.
        if text.is_empty() {
            return Err(KeyError::Empty {
                var: var.to_string(),
            });
        }
        if text.trim().is_empty() {
            return Err(KeyError::Blank {
                var: var.to_string(),
            });
        }
        if text.trim() != text {
            return Err(KeyError::SurroundingWhitespace {
                var: var.to_string(),
            });
        }
        // Decode into a zeroizing buffer so that no copy of the key outlives this call,
        // even when decoding fails half way.
        let mut decoded = Zeroizing::new(Vec::with_capacity(text.len()));
        let decodes = KEY_ALPHABETS.iter().any(|engine| {
            decoded.clear();
            engine.decode_vec(text.as_bytes(), &mut decoded).is_ok()
        });
        if !decodes {
            return Err(KeyError::NotBase64 {
                var: var.to_string(),
                len: text.chars().count(),
            });
        }
        let bytes: [u8; 32] = decoded
            .as_slice()
            .try_into()
            .map_err(|_| KeyError::WrongLength {
                var: var.to_string(),
                got: decoded.len(),
            })?;
        Ok(Key { bytes })
    }

    pub fn from_base64(text: &str) -> Result<Key, KeyError> {
        Self::from_base64_named(text, "key")
    }

    pub fn from_bytes(bytes: [u8; 32]) -> Key {
        Key { bytes }
    }

    /// A fresh key from the OS-seeded CSPRNG.
    pub fn generate() -> Key {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        Key { bytes }
    }

    /// Fernet spec: the first 16 bytes sign.
    pub fn signing_key(&self) -> &[u8] {
        &self.bytes[..16]
    }

    /// Fernet spec: the last 16 bytes encrypt.
    pub fn encryption_key(&self) -> &[u8] {
        &self.bytes[16..]
    }

    pub fn raw(&self) -> &[u8; 32] {
        &self.bytes
    }

    pub fn fingerprint(&self) -> Fingerprint {
        let digest = Sha256::digest(self.bytes);
        let mut fp = [0u8; 6];
        fp.copy_from_slice(&digest[..6]);
        Fingerprint(fp)
    }

    /// The key as url-safe base64 with padding, as Python's `Fernet.generate_key()` prints it.
    pub fn to_base64(&self) -> Zeroizing<String> {
        Zeroizing::new(URL_SAFE.encode(self.bytes))
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Key({})", self.fingerprint())
    }
}
