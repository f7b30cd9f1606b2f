//! Signed notes (C2SP signed-note, <https://c2sp.org/signed-note>) with Ed25519, and the
//! checkpoint body they carry for the audit log (C2SP tlog-checkpoint,
//! <https://c2sp.org/tlog-checkpoint>).
//!
//! A note is a text ending in a newline, a blank line, then one signature line per key:
//!
//! ```text
//! timber.example/audit
//! 42
//! <base64 of the 32-byte root hash>
//!
//! — timber.example/audit <base64 of the key hash and the Ed25519 signature>
//! ```
//!
//! The format is Go's `golang.org/x/mod/sumdb/note`, so notes we sign open with Go's
//! `note.Open` and other C2SP tlog tooling (witnesses, `litetlog`), and key texts are
//! interchangeable with Go's (`tests/crypto/crypto_signed_note.rs` checks Go's vectors).
//!
//! - `keys`: `NoteSigner` and `NoteVerifier`, their text forms and key hashes.
//! - `checkpoint`: the `Checkpoint` body (origin, tree size, root hash).
//! - `error`: `NoteError`, one variant per refusal.

mod checkpoint;
mod error;
mod keys;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

pub use checkpoint::Checkpoint;
pub use error::NoteError;
pub use keys::{NoteSigner, NoteVerifier};

/// The most signature lines `open` reads: C2SP signed-note §Format asks verifiers to accept
/// at least 16; Go's `note.Open` stops at 100, as we do.
pub const MAX_SIGNATURES: usize = 100;

/// C2SP signed-note §Format: each signature line starts with an em dash (U+2014) and a space.
const SIGNATURE_PREFIX: &str = "\u{2014} ";

/// A note whose signatures were checked: its text, and which known keys signed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenedNote {
    /// The note text, final newline included, without the blank line and signatures.
    pub body: String,
    /// Names of the known keys whose signatures verified, in the note's order, each once.
    pub verified_by: Vec<String>,
}

/// C2SP signed-note §Format: signs `body` (which must end with a newline and hold no
/// control character but newline) and returns the whole note, `body`, a blank line and
/// `— <name> base64(key hash || Ed25519 signature over body)`.
pub fn sign(body: &str, signer: &NoteSigner) -> Result<String, NoteError> {
    if !body.ends_with('\n') {
        return Err(NoteError::MissingFinalNewline);
    }
    check_characters(body)?;
    let mut raw = Vec::with_capacity(4 + 64);
    raw.extend_from_slice(&signer.key_hash().to_be_bytes());
    raw.extend_from_slice(&signer.sign_bytes(body.as_bytes()));
    Ok(format!(
        "{body}\n{SIGNATURE_PREFIX}{} {}\n",
        signer.name(),
        STANDARD.encode(raw)
    ))
}

/// The text of `note` (up to the last blank line, final newline included), signatures
/// not checked: for reading what a note claims before knowing which key to check it with.
pub fn body(note: &str) -> Result<&str, NoteError> {
    check_characters(note)?;
    let split = note.rfind("\n\n").ok_or(NoteError::MissingSignatures)?;
    Ok(&note[..split + 1])
}

/// Adds `signer`'s signature to a signed note (a cosignature: the same text signed by a
/// second key, as when the audit signing key is handed over). The note must be well formed.
pub fn cosign(note: &str, signer: &NoteSigner) -> Result<String, NoteError> {
    let text = body(note)?;
    let signed = sign(text, signer)?;
    // `signed` is the text, a blank line and the new signature line.
    let line = &signed[text.len() + 1..];
    Ok(format!("{note}{line}"))
}

/// C2SP signed-note §Signatures: opens `note` with the known `verifiers`.
///
/// Signatures by unknown keys (name or key hash not among `verifiers`) are ignored, as the
/// spec requires (a witness's cosignature, a key we do not hold). Every signature by a known
/// key is verified, and one that fails rejects the note (`BadSignature`), as does a note no
/// known key verified (`NoKnownSignature`) and a note that is not well formed.
pub fn open(note: &str, verifiers: &[NoteVerifier]) -> Result<OpenedNote, NoteError> {
    check_characters(note)?;
    // §Format: "the text is separated from the signatures by the last empty line".
    let split = note.rfind("\n\n").ok_or(NoteError::MissingSignatures)?;
    let (body, signatures) = (&note[..split + 1], &note[split + 2..]);
    if signatures.is_empty() {
        return Err(NoteError::MissingSignatures);
    }
    // Line numbers in errors count from the note's first line.
    let first_line = body.matches('\n').count() + 2;
    let Some(signatures) = signatures.strip_suffix('\n') else {
        return Err(NoteError::MalformedSignatureLine {
            line: first_line + signatures.matches('\n').count(),
            reason: "the last signature line does not end with a newline",
        });
    };
    let lines: Vec<&str> = signatures.split('\n').collect();
    if lines.len() > MAX_SIGNATURES {
        return Err(NoteError::TooManySignatures {
            count: lines.len(),
            max: MAX_SIGNATURES,
        });
    }

    let mut verified_by: Vec<String> = Vec::new();
    let mut signed_by: Vec<String> = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let (name, key_hash, signature) = parse_signature_line(line, first_line + i)?;
        if !signed_by.iter().any(|n| n == name) {
            signed_by.push(name.to_string());
        }
        let mut known = verifiers
            .iter()
            .filter(|v| v.name() == name && v.key_hash() == key_hash);
        let Some(verifier) = known.next() else {
            continue; // an unknown key: ignored (§Signatures)
        };
        if known.any(|other| other != verifier) {
            return Err(NoteError::AmbiguousKey {
                name: name.to_string(),
                key_hash,
            });
        }
        if !verifier.verify_bytes(body.as_bytes(), &signature) {
            return Err(NoteError::BadSignature {
                name: name.to_string(),
            });
        }
        if !verified_by.iter().any(|n| n == name) {
            verified_by.push(name.to_string());
        }
    }
    if verified_by.is_empty() {
        return Err(NoteError::NoKnownSignature { signed_by });
    }
    Ok(OpenedNote {
        body: body.to_string(),
        verified_by,
    })
}

/// C2SP signed-note §Signatures: `— <name> base64(key hash || signature)` into the name, the
/// big-endian key hash and the signature bytes.
fn parse_signature_line(line: &str, number: usize) -> Result<(&str, u32, Vec<u8>), NoteError> {
    let malformed = |reason| NoteError::MalformedSignatureLine {
        line: number,
        reason,
    };
    let rest = line.strip_prefix(SIGNATURE_PREFIX).ok_or(malformed(
        "it does not start with an em dash (U+2014) and a space",
    ))?;
    let (name, encoded) = rest
        .split_once(' ')
        .ok_or(malformed("no space between the key name and the signature"))?;
    if !keys::is_valid_name(name) {
        return Err(malformed("the key name is empty or holds a space or '+'"));
    }
    let raw = STANDARD
        .decode(encoded)
        .map_err(|_| malformed("the signature is not standard base64"))?;
    if raw.len() < 5 {
        return Err(malformed(
            "the signature is shorter than a key hash and one byte",
        ));
    }
    let key_hash = u32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]]);
    Ok((name, key_hash, raw[4..].to_vec()))
}

/// C2SP signed-note §Format: "MUST NOT contain any ASCII control characters (those below
/// U+0020) other than newline."
fn check_characters(text: &str) -> Result<(), NoteError> {
    let mut line = 1;
    for c in text.chars() {
        if c == '\n' {
            line += 1;
        } else if (c as u32) < 0x20 {
            return Err(NoteError::ControlCharacter {
                code: c as u32,
                line,
            });
        }
    }
    Ok(())
}
