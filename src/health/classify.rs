//! Classifying stored cells, the CPU-bound half of a scan (run on worker threads).
//!
//! The census identifies a token's key by its HMAC alone (`KeyRing::classify`: one base64
//! decode, one pre-keyed HMAC per candidate key, no AES). Health goes further for the same
//! cells: it decrypts with the key whose MAC matched, to find tokens that authenticate but
//! hold garbage (`corrupted`), reads the authenticated timestamp, collects a fingerprint of
//! each token's bytes for duplicate detection, and compares blind-index hashes with the
//! plaintext. Plaintext is only ever held in zeroizing buffers here and never leaves.

use std::sync::Arc;

use zeroize::Zeroizing;

use super::stats::{ColumnStats, KeyBucket};
use crate::config::ColumnDef;
use crate::crypto::blind_index::{HashKind, classify_hash};
use crate::crypto::inspect::{self, MAC_LEN};
use crate::crypto::{BlindIndexKey, CellError, KeyRing, decode_plaintext};
use crate::store::RawRow;
use crate::value::Value;

/// Tokens stamped before this (2015-01-01T00:00:00Z) are implausible for Timber data.
pub const PLAUSIBLE_SINCE: u64 = 1_420_070_400;
/// Tokens stamped more than this many seconds after the scan started are in the future.
pub const FUTURE_SKEW_SECS: u64 = 300;

/// How much work to do per cell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Depth {
    /// HMAC identification only (the census).
    Census,
    /// Also decrypt, read timestamps, collect token fingerprints, check hashes.
    Health,
}

/// What every worker shares.
pub struct Classifier {
    pub ring: Arc<KeyRing>,
    pub blind_key: Option<BlindIndexKey>,
    pub depth: Depth,
    /// Unix seconds when the scan started (timestamps are judged against it).
    pub now: u64,
}

/// One encrypted column of a table scan.
#[derive(Clone, Debug)]
pub struct ColumnJob {
    pub def: ColumnDef,
    /// Index of the column's stored text in `RawRow::values`.
    pub value_at: usize,
    /// Index of its blind-index hash column, when it has one (health only).
    pub hash_at: Option<usize>,
}

/// One table to scan: which columns were fetched and what each means.
#[derive(Clone, Debug)]
pub struct TableJob {
    pub model: String,
    pub table: String,
    /// Column names passed to `Store::raw_page`, in order.
    pub fetch: Vec<String>,
    pub columns: Vec<ColumnJob>,
    /// Index of the owner column for per-user models.
    pub owner_at: Option<usize>,
}

/// What a worker found in one chunk of rows.
#[derive(Debug, Default)]
pub struct ChunkStats {
    /// One entry per `TableJob::columns`.
    pub columns: Vec<ColumnStats>,
    /// Fingerprints of every well-formed token (health only), for duplicate detection.
    pub tags: Vec<u128>,
}

/// The record id as shown in evidence.
pub fn record_id(id: &Value) -> String {
    match id {
        Value::Text(s) | Value::Numeric(s) => s.clone(),
        Value::Int(i) => i.to_string(),
        other => other.to_json().to_string(),
    }
}

/// A token's fingerprint for duplicate detection: the first 16 bytes of its HMAC tag.
/// Identical tokens (by decoded bytes) have identical tags; two different tokens sharing
/// 128 bits of an HMAC-SHA256 tag is not a practical concern.
pub fn token_tag(data: &[u8]) -> Option<u128> {
    let start = data.len().checked_sub(MAC_LEN)?;
    let bytes: [u8; 16] = data.get(start..start + 16)?.try_into().ok()?;
    Some(u128::from_be_bytes(bytes))
}

/// True when a value that failed to parse as a token was meant to be one: it has the
/// `gAAAA` prefix of every token of this era, or decodes to bytes starting with the
/// version byte. Anything else in an encrypted column is plaintext.
pub fn token_shaped(text: &str) -> bool {
    text.starts_with("gAAAA")
        || inspect::decode_token(text).is_some_and(|d| d.first() == Some(&inspect::VERSION))
}

impl Classifier {
    /// Classifies every cell of `rows`; `first_position` is the first row's position in the
    /// scan (for evidence samples that do not depend on thread timing).
    pub fn chunk(&self, job: &TableJob, rows: &[RawRow], first_position: u64) -> ChunkStats {
        let mut out = ChunkStats {
            columns: vec![ColumnStats::default(); job.columns.len()],
            tags: Vec::new(),
        };
        for (offset, row) in rows.iter().enumerate() {
            let position = first_position + offset as u64;
            let owner = job
                .owner_at
                .and_then(|i| row.values.get(i))
                .and_then(|v| v.as_deref());
            for (col, stats) in job.columns.iter().zip(out.columns.iter_mut()) {
                stats.rows += 1;
                if row.not_text.contains(&col.value_at) {
                    // Bytes that are not UTF-8 cannot be a token (tokens are ASCII).
                    stats.malformed.add_with(position, || record_id(&row.id));
                    continue;
                }
                let stored = row.values.get(col.value_at).and_then(|v| v.as_deref());
                let hash = col
                    .hash_at
                    .and_then(|i| row.values.get(i))
                    .and_then(|v| v.as_deref())
                    .filter(|h| !h.trim().is_empty());
                let Some(stored) = stored else {
                    stats.null += 1;
                    continue;
                };
                let cell = Cell {
                    col,
                    stored,
                    owner,
                    position,
                    id: &row.id,
                };
                match self.depth {
                    Depth::Census => self.census_cell(&cell, stats),
                    Depth::Health => self.health_cell(&cell, hash, stats, &mut out.tags),
                }
            }
        }
        out
    }

    fn census_cell(&self, cell: &Cell<'_>, stats: &mut ColumnStats) {
        let token = inspect::unquote(cell.stored);
        match self.ring.classify(token, cell.owner) {
            Ok(found) => {
                let bucket = KeyBucket::of(&found.id);
                stats.time_under(&bucket, found.info.timestamp);
                cell.count_in(stats.by_key.entry(bucket).or_default());
            }
            Err(CellError::UnknownKey) => cell.count_in(&mut stats.unknown_key),
            Err(_) => self.not_a_token(token, cell, stats),
        }
    }

    fn not_a_token(&self, token: &str, cell: &Cell<'_>, stats: &mut ColumnStats) {
        if token_shaped(token) {
            cell.count_in(&mut stats.malformed);
        } else {
            cell.count_in(&mut stats.plaintext);
        }
    }

    fn health_cell(
        &self,
        cell: &Cell<'_>,
        hash: Option<&str>,
        stats: &mut ColumnStats,
        tags: &mut Vec<u128>,
    ) {
        let token = inspect::unquote(cell.stored);
        // The plaintext, when it could be read, for the blind-index comparison.
        let mut plain: Option<Zeroizing<String>> = None;
        match self.ring.decrypt_token_with_info(token, cell.owner) {
            Ok((bytes, key, info)) => {
                // Every well-formed token's tag, for duplicates: read off the one decode.
                tags.push(info.tag_prefix);
                if info.timestamp > self.now.saturating_add(FUTURE_SKEW_SECS) {
                    cell.count_in(&mut stats.future);
                } else if info.timestamp < PLAUSIBLE_SINCE {
                    cell.count_in(&mut stats.ancient);
                }
                match decode_plaintext(&bytes, &cell.col.def.ty) {
                    Ok(value) => {
                        let bucket = KeyBucket::of(&key);
                        stats.time_under(&bucket, info.timestamp);
                        cell.count_in(stats.by_key.entry(bucket).or_default());
                        if let Value::Text(text) = value {
                            plain = Some(Zeroizing::new(text));
                        }
                    }
                    Err(_) => cell.count_in(&mut stats.corrupted),
                }
            }
            Err(error @ (CellError::UnknownKey | CellError::Corrupted)) => {
                // Well-formed, so its tag counts too (decoded again: a rare path).
                if let Some(Ok(info)) = inspect::with_decoded(token, inspect::parse_decoded) {
                    tags.push(info.tag_prefix);
                }
                match error {
                    CellError::UnknownKey => cell.count_in(&mut stats.unknown_key),
                    _ => cell.count_in(&mut stats.corrupted),
                }
            }
            // A `&str` is always text: `NotText` comes from the store, never from here.
            Err(CellError::NotAToken | CellError::NotText) => {
                self.not_a_token(token, cell, stats);
                if !token_shaped(token) {
                    plain = Some(Zeroizing::new(cell.stored.to_string()));
                }
            }
        }
        if let Some(hash) = hash {
            let hashes = &mut stats.hashes;
            match plain {
                None => hashes.unchecked += 1,
                Some(text) => match classify_hash(self.blind_key.as_ref(), &text, hash) {
                    HashKind::Keyed => hashes.keyed += 1,
                    HashKind::Legacy => cell.count_in(&mut hashes.legacy),
                    HashKind::Mismatch => cell.count_in(&mut hashes.mismatch),
                },
            }
        }
    }
}

/// One stored cell and where it is.
struct Cell<'a> {
    col: &'a ColumnJob,
    stored: &'a str,
    owner: Option<&'a str>,
    position: u64,
    id: &'a Value,
}

impl Cell<'_> {
    /// Counts this cell in `samples` (its record id is formatted only if sampled).
    fn count_in(&self, samples: &mut super::stats::Samples) {
        samples.add_with(self.position, || record_id(self.id));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_shape_tells_malformed_from_plaintext() {
        assert!(token_shaped("gAAAAABtruncated"));
        assert!(!token_shaped("+1-555-0100"));
        assert!(!token_shaped("user@example.com"));
        assert!(!token_shaped("abcd"));
    }
}
