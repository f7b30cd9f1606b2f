//! Ed25519 note keys and their text forms (C2SP signed-note §Verifier keys, and the signer
//! key form of Go's `golang.org/x/mod/sumdb/note`, which C2SP does not specify but every
//! tool that makes note keys writes):
//!
//! - signer: `PRIVATE+KEY+<name>+<key hash hex 8>+base64(0x01 || 32-byte seed)`
//! - verifier: `<name>+<key hash hex 8>+base64(0x01 || 32-byte public key)`
//!
//! where the key hash (C2SP's key ID) is the first four bytes, big-endian, of
//! `SHA-256(name || 0x0A || 0x01 || public key)` (§Ed25519 signatures).

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use rand::RngCore;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::error::NoteError;

/// C2SP signed-note §Signature types: Ed25519.
const ALG_ED25519: u8 = 0x01;
const SIGNER_PREFIX: &str = "PRIVATE+KEY+";

/// C2SP signed-note §Format: "Key names MUST be non-empty and MUST NOT contain any Unicode
/// spaces or plus (U+002B) characters." Control characters are refused too, as a note may
/// not contain them.
pub(super) fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && !name
            .chars()
            .any(|c| c.is_whitespace() || c == '+' || c.is_control())
}

fn check_name(name: &str) -> Result<(), NoteError> {
    if is_valid_name(name) {
        Ok(())
    } else {
        Err(NoteError::InvalidName {
            name: name.to_string(),
        })
    }
}

/// C2SP signed-note §Ed25519 signatures: the key ID,
/// `SHA-256(name || 0x0A || 0x01 || public key)[:4]` read as a big-endian u32.
fn key_hash(name: &str, public: &VerifyingKey) -> u32 {
    let digest = Sha256::new()
        .chain_update(name.as_bytes())
        .chain_update(b"\n")
        .chain_update([ALG_ED25519])
        .chain_update(public.as_bytes())
        .finalize();
    u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]])
}

/// The key hash field of a key text: exactly 8 hex digits, as Go's `note` package requires.
fn parse_hash(hex: &str) -> Option<u32> {
    if hex.len() != 8 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(hex, 16).ok()
}

/// An Ed25519 note signing key with its name: signs checkpoints.
///
/// The seed is wiped when the key is dropped (`ed25519-dalek`'s `zeroize`); `Debug` shows the
/// name and key hash only.
pub struct NoteSigner {
    name: String,
    key_hash: u32,
    key: SigningKey,
}

impl NoteSigner {
    /// Parses `PRIVATE+KEY+<name>+<hash>+base64(0x01 || seed)`, checking the key hash against
    /// the key. Errors describe the fault and never quote the text.
    pub fn from_text(text: &str) -> Result<NoteSigner, NoteError> {
        let malformed = |reason| NoteError::MalformedSignerKey { reason };
        let rest = text
            .strip_prefix(SIGNER_PREFIX)
            .ok_or(malformed("it does not start with PRIVATE+KEY+"))?;
        // The name holds no '+' (spec) and the hash is hex, so the first two '+' split them
        // off; base64 may hold '+' itself.
        let mut parts = rest.splitn(3, '+');
        let (Some(name), Some(hash), Some(key64)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(malformed(
                "it does not have the form PRIVATE+KEY+<name>+<hash>+<key>",
            ));
        };
        if !is_valid_name(name) {
            return Err(malformed(
                "the key name is empty or holds a space or control character",
            ));
        }
        let stated = parse_hash(hash).ok_or(malformed("the key hash is not 8 hex digits"))?;
        let raw = Zeroizing::new(
            STANDARD
                .decode(key64)
                .map_err(|_| malformed("the key is not standard base64"))?,
        );
        let Some((&algorithm, seed)) = raw.split_first() else {
            return Err(malformed("the key is empty"));
        };
        if algorithm != ALG_ED25519 {
            return Err(NoteError::UnsupportedAlgorithm { algorithm });
        }
        if seed.len() != 32 {
            return Err(malformed("an Ed25519 seed is 32 bytes"));
        }
        let mut seed_bytes = Zeroizing::new([0u8; 32]);
        seed_bytes.copy_from_slice(seed);
        let seed = seed_bytes;
        let signer = NoteSigner::from_seed(name, &seed)?;
        if signer.key_hash != stated {
            return Err(NoteError::KeyHashMismatch {
                name: name.to_string(),
                stated,
                computed: signer.key_hash,
            });
        }
        Ok(signer)
    }

    /// A new random key named `name` (a schema-less URL such as `timber.example/audit` is
    /// recommended by C2SP signed-note §Signatures). Fails only for a name the spec forbids.
    pub fn generate(name: &str) -> Result<NoteSigner, NoteError> {
        let mut seed = Zeroizing::new([0u8; 32]);
        rand::rng().fill_bytes(&mut seed[..]);
        NoteSigner::from_seed(name, &seed)
    }

    fn from_seed(name: &str, seed: &[u8; 32]) -> Result<NoteSigner, NoteError> {
        check_name(name)?;
        let key = SigningKey::from_bytes(seed);
        Ok(NoteSigner {
            name: name.to_string(),
            key_hash: key_hash(name, &key.verifying_key()),
            key,
        })
    }

    /// The signer key text, `PRIVATE+KEY+<name>+<hash>+base64(0x01 || seed)`: for the one
    /// command that makes a key to print; wiped when dropped.
    pub fn to_text(&self) -> Zeroizing<String> {
        let mut raw = Zeroizing::new([0u8; 33]);
        raw[0] = ALG_ED25519;
        raw[1..].copy_from_slice(self.key.as_bytes());
        let mut text = Zeroizing::new(String::with_capacity(128));
        text.push_str(SIGNER_PREFIX);
        text.push_str(&self.name);
        text.push_str(&format!("+{:08x}+", self.key_hash));
        // Capacity is reserved above, so the encoder appends without reallocating (a
        // reallocation would leave an unwiped copy behind).
        STANDARD.encode_string(&raw[..], &mut text);
        text
    }

    /// The matching verifier (public) key.
    pub fn verifier(&self) -> NoteVerifier {
        NoteVerifier {
            name: self.name.clone(),
            key_hash: self.key_hash,
            key: self.key.verifying_key(),
        }
    }

    /// The key name, as it appears in signature lines.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key hash (C2SP's key ID), the first four bytes of every signature.
    pub fn key_hash(&self) -> u32 {
        self.key_hash
    }

    /// RFC 8032 Ed25519 over `message` (deterministic: the same key and text give the same
    /// signature).
    pub(super) fn sign_bytes(&self, message: &[u8]) -> [u8; 64] {
        self.key.sign(message).to_bytes()
    }
}

impl fmt::Debug for NoteSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NoteSigner({}+{:08x})", self.name, self.key_hash)
    }
}

/// An Ed25519 note verifier (public) key with its name.
#[derive(Clone, PartialEq, Eq)]
pub struct NoteVerifier {
    name: String,
    key_hash: u32,
    key: VerifyingKey,
}

impl NoteVerifier {
    /// Parses `<name>+<hash>+base64(0x01 || public key)` (C2SP signed-note §Verifier keys),
    /// checking the key hash against the name and key. A trailing newline (a key file's) is
    /// ignored.
    pub fn from_text(text: &str) -> Result<NoteVerifier, NoteError> {
        let malformed = |reason| NoteError::MalformedVerifierKey { reason };
        let text = text.trim_end_matches(['\n', '\r']);
        let mut parts = text.splitn(3, '+');
        let (Some(name), Some(hash), Some(key64)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(malformed("it does not have the form <name>+<hash>+<key>"));
        };
        if !is_valid_name(name) {
            return Err(malformed(
                "the key name is empty or holds a space or control character",
            ));
        }
        let stated = parse_hash(hash).ok_or(malformed("the key hash is not 8 hex digits"))?;
        let raw = STANDARD
            .decode(key64)
            .map_err(|_| malformed("the key is not standard base64"))?;
        let Some((&algorithm, public)) = raw.split_first() else {
            return Err(malformed("the key is empty"));
        };
        if algorithm != ALG_ED25519 {
            return Err(NoteError::UnsupportedAlgorithm { algorithm });
        }
        let public: &[u8; 32] = public
            .try_into()
            .map_err(|_| malformed("an Ed25519 public key is 32 bytes"))?;
        let key = VerifyingKey::from_bytes(public)
            .map_err(|_| malformed("the key is not an Ed25519 public key"))?;
        let computed = key_hash(name, &key);
        if computed != stated {
            return Err(NoteError::KeyHashMismatch {
                name: name.to_string(),
                stated,
                computed,
            });
        }
        Ok(NoteVerifier {
            name: name.to_string(),
            key_hash: stated,
            key,
        })
    }

    /// The verifier key text, `<name>+<hash>+base64(0x01 || public key)`.
    pub fn to_text(&self) -> String {
        let mut raw = [0u8; 33];
        raw[0] = ALG_ED25519;
        raw[1..].copy_from_slice(self.key.as_bytes());
        format!(
            "{}+{:08x}+{}",
            self.name,
            self.key_hash,
            STANDARD.encode(raw)
        )
    }

    /// The key name, as it appears in signature lines.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key hash (C2SP's key ID).
    pub fn key_hash(&self) -> u32 {
        self.key_hash
    }

    /// `fp:` and the first 12 hex digits of SHA-256 of the 32-byte public key, for display
    /// (the same shape as the data keys' fingerprints).
    pub fn fingerprint(&self) -> String {
        let digest = Sha256::digest(self.key.as_bytes());
        let hex: String = digest[..6].iter().map(|b| format!("{b:02x}")).collect();
        format!("fp:{hex}")
    }

    /// RFC 8032 Ed25519 verification of `signature` over `message`, strict: signatures that
    /// are malleable or made with a small-order key are refused too.
    pub(super) fn verify_bytes(&self, message: &[u8], signature: &[u8]) -> bool {
        let Ok(bytes) = <&[u8; 64]>::try_from(signature) else {
            return false;
        };
        self.key
            .verify_strict(message, &Signature::from_bytes(bytes))
            .is_ok()
    }
}

impl fmt::Debug for NoteVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "NoteVerifier({}+{:08x}, {})",
            self.name,
            self.key_hash,
            self.fingerprint()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_spec() {
        for good in ["PeterNeumann", "timber.example/audit", "a"] {
            assert!(is_valid_name(good), "{good}");
        }
        for bad in ["", "a b", "a+b", "a\u{a0}b", "a\tb", "a\nb"] {
            assert!(!is_valid_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn debug_shows_name_and_hash_never_the_key() {
        let signer = NoteSigner::generate("timber.example/audit").unwrap();
        let shown = format!("{signer:?}");
        let text = signer.to_text();
        // PRIVATE+KEY+name+hash+key: the key's base64 may itself hold '+'.
        let key64 = text.splitn(5, '+').nth(4).unwrap();
        assert!(shown.contains("timber.example/audit"), "{shown}");
        assert!(
            shown.contains(&format!("{:08x}", signer.key_hash())),
            "{shown}"
        );
        assert!(!shown.contains(&key64[..12]), "{shown}");
    }

    #[test]
    fn a_generated_key_round_trips_through_its_texts() {
        let signer = NoteSigner::generate("timber.example/audit").unwrap();
        let again = NoteSigner::from_text(&signer.to_text()).unwrap();
        assert_eq!(again.verifier(), signer.verifier());
        let verifier = NoteVerifier::from_text(&signer.verifier().to_text()).unwrap();
        assert_eq!(verifier, signer.verifier());
    }
}
