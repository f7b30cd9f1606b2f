//! The checkpoint body (C2SP tlog-checkpoint §Note text): the log's origin, its tree size
//! and the RFC 6962 root hash at that size, one per line; signed as a note, it is the tree
//! head an auditor keeps outside the database.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::error::NoteError;
use crate::crypto::merkle::Hash;

/// A log's tree head: what a signed checkpoint states.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// Line 1: the log's identity (C2SP recommends a schema-less URL such as
    /// `timber.example/audit`). One non-empty line.
    pub origin: String,
    /// Line 2: the number of leaves in the tree.
    pub size: u64,
    /// Line 3: the Merkle tree hash at `size` (`merkle::root`).
    pub root: Hash,
}

impl Checkpoint {
    /// A checkpoint, checking that `origin` is one non-empty line without control
    /// characters (anything else would not read back as the same origin).
    pub fn new(origin: &str, size: u64, root: Hash) -> Result<Checkpoint, NoteError> {
        if origin.is_empty() || origin.chars().any(char::is_control) {
            return Err(NoteError::CheckpointBadOrigin);
        }
        Ok(Checkpoint {
            origin: origin.to_string(),
            size,
            root,
        })
    }

    /// §Note text: `<origin>\n<size in decimal>\n<base64 root>\n`, the text to `sign`.
    pub fn to_body(&self) -> String {
        format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            STANDARD.encode(self.root)
        )
    }

    /// §Note text: reads a body (an `OpenedNote`'s `body`). Extension lines after the third
    /// are allowed and ignored, but must be non-empty, as the spec requires.
    pub fn parse(body: &str) -> Result<Checkpoint, NoteError> {
        let Some(text) = body.strip_suffix('\n') else {
            return Err(if body.is_empty() {
                NoteError::CheckpointTooShort { lines: 0 }
            } else {
                NoteError::CheckpointMissingNewline
            });
        };
        let lines: Vec<&str> = text.split('\n').collect();
        if lines.len() < 3 {
            return Err(NoteError::CheckpointTooShort { lines: lines.len() });
        }
        let origin = lines[0];
        if origin.is_empty() {
            return Err(NoteError::CheckpointBadOrigin);
        }
        let size = parse_size(lines[1])?;
        let root = parse_root(lines[2])?;
        if let Some(i) = lines[3..].iter().position(|line| line.is_empty()) {
            return Err(NoteError::CheckpointEmptyExtension { line: i + 4 });
        }
        Ok(Checkpoint {
            origin: origin.to_string(),
            size,
            root,
        })
    }
}

/// §Note text 2: "the ASCII decimal representation of the number of leaves in the tree, with
/// no leading zeroes (unless the tree is empty, in which case the tree size is `0`)".
fn parse_size(text: &str) -> Result<u64, NoteError> {
    let canonical = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    match text.parse::<u64>() {
        Ok(size) if canonical => Ok(size),
        _ => Err(NoteError::CheckpointBadSize {
            text: text.chars().take(32).collect(),
        }),
    }
}

/// §Note text 3: "the base64 encoding of the root of the RFC 6962 Merkle hash tree".
fn parse_root(text: &str) -> Result<Hash, NoteError> {
    let raw = STANDARD
        .decode(text)
        .map_err(|_| NoteError::CheckpointBadRoot {
            reason: "not standard base64",
        })?;
    <Hash>::try_from(raw.as_slice()).map_err(|_| NoteError::CheckpointBadRoot {
        reason: "it does not decode to 32 bytes",
    })
}
