//! Fernet on the RustCrypto primitives (spec: https://github.com/fernet/spec/blob/master/Spec.md).
//!
//! Why not the `fernet` crate (DESIGN §3): it rejects tokens stamped more than 60 s in the
//! future even without a TTL (Python accepts them), it can overflow on a crafted timestamp
//! before the MAC is checked, and it re-keys HMAC and AES for every token. Here a key is
//! prepared once (`FernetKey::new`): the HMAC key is reduced to its two pre-keyed SHA-256
//! states (`hmac_sha256`, RFC 2104 §4), the AES key schedule is expanded once. The MAC is checked in constant time before any
//! decryption, all arithmetic on the (attacker-controlled) timestamp is saturating, and no
//! input can panic.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use aes::Aes128;
use aes::cipher::block_padding::Pkcs7;
use aes::cipher::{BlockDecryptMut, BlockEncryptMut, InnerIvInit, KeyInit as CipherKeyInit};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE;
use rand::RngCore;
use zeroize::Zeroizing;

use super::hmac_sha256::HmacKey;
use super::inspect::{self, BLOCK_LEN, HEADER_LEN, MAC_LEN, Malformed, TokenInfo, VERSION};
use super::key::{Fingerprint, Key};

/// Python `cryptography`'s `_MAX_CLOCK_SKEW`: with a TTL, a token may be at most this many
/// seconds ahead of the verifier's clock (spec, "Verifying": clock skew).
pub const MAX_CLOCK_SKEW_SECS: u64 = 60;

/// Why a token did not decrypt. Each spec failure has its own reason; none carries key
/// material or plaintext.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FernetError {
    #[error("token is not url-safe base64")]
    InvalidBase64,
    #[error("token is too short ({len} bytes decoded)")]
    TooShort { len: usize },
    #[error("token has version byte 0x{found:02x}, expected 0x80")]
    BadVersion { found: u8 },
    #[error("token ciphertext of {ciphertext_len} bytes is not a whole number of AES blocks")]
    NotBlockAligned { ciphertext_len: usize },
    #[error("token HMAC does not match this key (wrong key or altered token)")]
    MacMismatch,
    #[error("token decrypts to invalid PKCS#7 padding")]
    PaddingError,
    #[error("token expired: stamped {timestamp}, TTL {ttl_secs} s, now {now}")]
    Expired {
        timestamp: u64,
        ttl_secs: u64,
        now: u64,
    },
    #[error("token is stamped {timestamp}, more than {MAX_CLOCK_SKEW_SECS} s after now ({now})")]
    FutureTimestamp { timestamp: u64, now: u64 },
}

impl From<Malformed> for FernetError {
    fn from(m: Malformed) -> Self {
        match m {
            Malformed::Empty => FernetError::TooShort { len: 0 },
            Malformed::NotBase64 => FernetError::InvalidBase64,
            Malformed::TooShort { len } => FernetError::TooShort { len },
            Malformed::WrongVersion { found } => FernetError::BadVersion { found },
            Malformed::NotBlockAligned { ciphertext_len } => {
                FernetError::NotBlockAligned { ciphertext_len }
            }
        }
    }
}

/// Seconds since the Unix epoch; 0 if the clock is before 1970 (never panics).
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// A Fernet key prepared for use: pre-keyed HMAC states and expanded AES key schedule, both
/// zeroized on drop (`HmacKey`'s `Drop`, the `zeroize` feature of aes).
pub struct FernetKey {
    mac: HmacKey,
    cipher: Aes128,
    fingerprint: Fingerprint,
    /// How many times AES decryption ran under this key. Cheap (one relaxed add), and it is
    /// how tests prove key identification runs AES only for the key whose MAC matched.
    aes_decryptions: AtomicU64,
}

impl fmt::Debug for FernetKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FernetKey({})", self.fingerprint)
    }
}

impl FernetKey {
    /// Spec, "Key Format": signing key = first 16 bytes, encryption key = last 16 bytes.
    pub fn new(key: &Key) -> FernetKey {
        // Both lengths are fixed at 16 bytes by `Key`, so these cannot fail.
        let mac = HmacKey::new(key.signing_key());
        let cipher = <Aes128 as CipherKeyInit>::new_from_slice(key.encryption_key())
            .unwrap_or_else(|_| unreachable!("Key::encryption_key is 16 bytes"));
        FernetKey {
            mac,
            cipher,
            fingerprint: key.fingerprint(),
            aes_decryptions: AtomicU64::new(0),
        }
    }

    pub fn fingerprint(&self) -> Fingerprint {
        self.fingerprint
    }

    /// Times AES decryption has run under this key.
    pub fn aes_decryptions(&self) -> u64 {
        self.aes_decryptions.load(Ordering::Relaxed)
    }

    /// Encrypts with the current time and a fresh IV from the OS-seeded CSPRNG
    /// (`rand::rng()`: ChaCha12, reseeded from the OS). Spec, "Generating".
    pub fn encrypt(&self, plaintext: &[u8]) -> String {
        self.encrypt_written_at(plaintext, unix_now())
    }

    /// Encrypts with a fresh IV (as `encrypt`) and a given write time: a token that says it
    /// was written at `timestamp`. The demo backdates the values of its "before the last
    /// rotation" story with this; the timestamp is authenticated data, not a secret.
    pub fn encrypt_written_at(&self, plaintext: &[u8], timestamp: u64) -> String {
        let mut iv = [0u8; 16];
        rand::rng().fill_bytes(&mut iv);
        self.encrypt_at(plaintext, timestamp, iv)
    }

    /// Encrypts with a given timestamp and IV: for the spec's test vectors only. Reusing an
    /// IV under one key leaks equality of plaintext prefixes; production uses `encrypt`.
    pub fn encrypt_at(&self, plaintext: &[u8], timestamp: u64, iv: [u8; 16]) -> String {
        // Spec, "Generating" steps 1-5: Version ‖ Timestamp ‖ IV ‖ AES-128-CBC(PKCS#7) ‖ HMAC.
        let padded_len = (plaintext.len() / BLOCK_LEN + 1) * BLOCK_LEN;
        let mut token = Vec::with_capacity(HEADER_LEN + padded_len + MAC_LEN);
        token.push(VERSION);
        token.extend_from_slice(&timestamp.to_be_bytes());
        token.extend_from_slice(&iv);
        let start = token.len();
        token.extend_from_slice(plaintext);
        token.resize(start + padded_len, 0);
        let encryptor = cbc::Encryptor::<Aes128>::inner_iv_init(self.cipher.clone(), &iv.into());
        encryptor
            .encrypt_padded_mut::<Pkcs7>(&mut token[start..], plaintext.len())
            .unwrap_or_else(|_| unreachable!("buffer is sized for PKCS#7 padding"));
        // Spec step 5: HMAC-SHA256 over everything before it, with the signing key.
        let tag = self.mac.mac(&token);
        token.extend_from_slice(&tag);
        URL_SAFE.encode(&token)
    }

    /// Decrypts with no TTL and no limit on future timestamps, as Python's
    /// `Fernet.decrypt(token)` does: a writer with a fast clock must stay readable.
    pub fn decrypt(&self, token: &str) -> Result<Zeroizing<Vec<u8>>, FernetError> {
        inspect::with_decoded(token, |data| self.decrypt_decoded(data))
            .unwrap_or(Err(FernetError::InvalidBase64))
    }

    /// Decrypts already-decoded token bytes (no TTL). The key ring decodes once and
    /// reuses the bytes for every candidate key.
    pub fn decrypt_decoded(&self, data: &[u8]) -> Result<Zeroizing<Vec<u8>>, FernetError> {
        let info = inspect::parse_decoded(data)?;
        if !self.mac_matches(data) {
            return Err(FernetError::MacMismatch);
        }
        self.decrypt_authenticated(data, &info)
    }

    /// Spec, "Verifying", with a TTL: `timestamp + ttl < now` is expired, and a token more
    /// than `MAX_CLOCK_SKEW_SECS` ahead of `now` is refused. The MAC is checked first, so
    /// an unauthenticated timestamp is never reported as if it were the writer's.
    pub fn decrypt_with_ttl(
        &self,
        token: &str,
        ttl_secs: u64,
        now: u64,
    ) -> Result<Zeroizing<Vec<u8>>, FernetError> {
        inspect::with_decoded(token, |data| {
            self.decrypt_decoded_with_ttl(data, ttl_secs, now)
        })
        .unwrap_or(Err(FernetError::InvalidBase64))
    }

    fn decrypt_decoded_with_ttl(
        &self,
        data: &[u8],
        ttl_secs: u64,
        now: u64,
    ) -> Result<Zeroizing<Vec<u8>>, FernetError> {
        let info = inspect::parse_decoded(data)?;
        if !self.mac_matches(data) {
            return Err(FernetError::MacMismatch);
        }
        // Saturating: a crafted timestamp near u64::MAX must not overflow (and panic).
        if info.timestamp.saturating_add(ttl_secs) < now {
            return Err(FernetError::Expired {
                timestamp: info.timestamp,
                ttl_secs,
                now,
            });
        }
        if now.saturating_add(MAX_CLOCK_SKEW_SECS) < info.timestamp {
            return Err(FernetError::FutureTimestamp {
                timestamp: info.timestamp,
                now,
            });
        }
        self.decrypt_authenticated(data, &info)
    }

    /// Spec, "Verifying" step: recompute HMAC over everything but the tag and compare in
    /// constant time. No AES runs here: this is how a token's key is identified cheaply
    /// (the caller decodes the token once and passes the same bytes for every key). False
    /// for anything too short to hold a tag.
    pub fn mac_matches(&self, data: &[u8]) -> bool {
        let Some(split) = data.len().checked_sub(MAC_LEN) else {
            return false;
        };
        if split < HEADER_LEN {
            return false;
        }
        self.mac.verify(&data[..split], &data[split..])
    }

    /// AES-128-CBC decryption and PKCS#7 unpadding of a token whose structure was parsed
    /// and whose MAC matched. The plaintext buffer is zeroized when dropped.
    pub(crate) fn decrypt_authenticated(
        &self,
        data: &[u8],
        info: &TokenInfo,
    ) -> Result<Zeroizing<Vec<u8>>, FernetError> {
        self.aes_decryptions.fetch_add(1, Ordering::Relaxed);
        let ciphertext = &data[HEADER_LEN..HEADER_LEN + info.ciphertext_len];
        let mut buf = Zeroizing::new(ciphertext.to_vec());
        let decryptor =
            cbc::Decryptor::<Aes128>::inner_iv_init(self.cipher.clone(), &info.iv.into());
        let len = decryptor
            .decrypt_padded_mut::<Pkcs7>(&mut buf)
            .map_err(|_| FernetError::PaddingError)?
            .len();
        buf.truncate(len);
        Ok(buf)
    }
}

/// Two tokens are the same token when their decoded bytes are equal (the text may differ in
/// padding). Non-tokens compare by text.
pub fn same_token(a: &str, b: &str) -> bool {
    match (inspect::decode_token(a), inspect::decode_token(b)) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}
