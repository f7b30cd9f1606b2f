//! Reading a Fernet token's public structure without any key (Fernet spec, "Token Format"):
//!
//! ```text
//! Version (1) ‖ Timestamp (8, big-endian seconds) ‖ IV (16) ‖ Ciphertext (16·n) ‖ HMAC (32)
//! ```
//!
//! Everything here is public information (anyone holding the token can read it), so the
//! health checks and the census use it to tell "not a token" from "a token under an
//! unknown key" and to flag timestamps in the future. The decryption path in `fernet.rs`
//! reuses `parse_decoded` so both agree on what a well-formed token is.

use base64::Engine;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use chrono::{DateTime, Utc};

/// The only version byte the spec defines ("Version: 0x80").
pub const VERSION: u8 = 0x80;
/// Version + timestamp + IV.
pub const HEADER_LEN: usize = 1 + 8 + 16;
/// HMAC-SHA256 tag length.
pub const MAC_LEN: usize = 32;
/// AES block size; the ciphertext is a whole number of blocks (PKCS#7 always pads).
pub const BLOCK_LEN: usize = 16;
/// The shortest possible token: header, one ciphertext block, tag (73 bytes).
pub const MIN_LEN: usize = HEADER_LEN + BLOCK_LEN + MAC_LEN;

/// Url-safe base64 that accepts the padding present or absent and ignores non-zero trailing
/// bits, so a token whose `=` padding was stripped (some ORMs, URLs) still reads. Tokens are
/// therefore compared by their decoded bytes, never by their text.
const LENIENT_URL_SAFE: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// Why a text is not a well-formed Fernet token. Never includes the text itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Malformed {
    #[error("empty value")]
    Empty,
    #[error("not url-safe base64")]
    NotBase64,
    #[error("too short for a Fernet token ({len} bytes decoded, at least {MIN_LEN} needed)")]
    TooShort { len: usize },
    #[error("wrong version byte 0x{found:02x} (Fernet tokens start with 0x80)")]
    WrongVersion { found: u8 },
    #[error("ciphertext of {ciphertext_len} bytes is not a whole number of 16-byte blocks")]
    NotBlockAligned { ciphertext_len: usize },
}

/// What a token says about itself, without a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    pub version: u8,
    /// Seconds since the Unix epoch, as the writer's clock stamped it.
    pub timestamp: u64,
    pub iv: [u8; 16],
    pub ciphertext_len: usize,
    /// Decoded length of the whole token.
    pub total_len: usize,
    /// The first 16 bytes of the token's HMAC tag, big-endian: identical tokens have
    /// identical tags, so health finds copied tokens by it (not secret: the tag is part of
    /// the stored token).
    pub tag_prefix: u128,
}

impl TokenInfo {
    /// The timestamp as a date, when chrono can represent it (crafted tokens may not be).
    pub fn datetime(&self) -> Option<DateTime<Utc>> {
        let secs = i64::try_from(self.timestamp).ok()?;
        DateTime::<Utc>::from_timestamp(secs, 0)
    }

    /// True when the token claims to be written after `now` (Unix seconds). Python accepts
    /// such tokens when no TTL is given, so they decrypt; health reports them.
    pub fn is_future(&self, now: u64) -> bool {
        self.timestamp > now
    }

    /// How far ahead of `now` the timestamp is, if it is ahead.
    pub fn seconds_ahead(&self, now: u64) -> Option<u64> {
        self.timestamp.checked_sub(now).filter(|d| *d > 0)
    }

    /// The plaintext length is at most the ciphertext length minus one (PKCS#7 pads 1..=16).
    pub fn max_plaintext_len(&self) -> usize {
        self.ciphertext_len.saturating_sub(1)
    }
}

/// Decodes a token's url-safe base64, padding optional. `None` when it is not base64.
pub fn decode_token(token: &str) -> Option<Vec<u8>> {
    LENIENT_URL_SAFE.decode(token.as_bytes()).ok()
}

/// Tokens whose decoded bytes fit in this many bytes (plaintexts up to about 430 bytes:
/// every `String(N)` column of the demo and fixture models) are decoded on the stack.
const STACK_DECODE: usize = 512;
/// A second, larger stack buffer for `Text` values up to about 4 KiB (a 1 KiB note decoded
/// on the heap cost a tenth of its decryption); kept apart from the small one so that
/// short tokens do not pay for clearing 4 KiB.
const STACK_DECODE_LARGE: usize = 4096;

/// Decodes a token and runs `f` on its bytes, without a heap allocation when the token is
/// small: the census, page decryption and rotation handle millions of tokens, and an
/// allocation per token was a measurable share of decrypting one (BENCHMARKS.md, "Codec
/// and primitives"). The bytes are public (the token itself), so the buffer is not zeroized.
/// `None` when the text is not base64.
pub fn with_decoded<R>(token: &str, f: impl FnOnce(&[u8]) -> R) -> Option<R> {
    let estimate = base64::decoded_len_estimate(token.len());
    if estimate <= STACK_DECODE {
        decode_on_stack::<STACK_DECODE, R>(token, f)
    } else if estimate <= STACK_DECODE_LARGE {
        decode_on_stack::<STACK_DECODE_LARGE, R>(token, f)
    } else {
        decode_token(token).map(|data| f(&data))
    }
}

fn decode_on_stack<const N: usize, R>(token: &str, f: impl FnOnce(&[u8]) -> R) -> Option<R> {
    let mut buf = [0u8; N];
    let len = LENIENT_URL_SAFE
        .decode_slice(token.as_bytes(), &mut buf)
        .ok()?;
    Some(f(&buf[..len]))
}

/// Checks the structure of already-decoded token bytes, in the spec's order of fields.
pub fn parse_decoded(data: &[u8]) -> Result<TokenInfo, Malformed> {
    if data.is_empty() {
        return Err(Malformed::Empty);
    }
    if data[0] != VERSION {
        return Err(Malformed::WrongVersion { found: data[0] });
    }
    // Too short to hold header and tag is "too short"; a partial block in between is "not
    // block-aligned" (the spec's vectors tell these apart); no block at all is too short.
    let Some(ciphertext_len) = data.len().checked_sub(HEADER_LEN + MAC_LEN) else {
        return Err(Malformed::TooShort { len: data.len() });
    };
    if ciphertext_len % BLOCK_LEN != 0 {
        return Err(Malformed::NotBlockAligned { ciphertext_len });
    }
    if ciphertext_len == 0 {
        return Err(Malformed::TooShort { len: data.len() });
    }
    let mut ts = [0u8; 8];
    ts.copy_from_slice(&data[1..9]);
    let mut iv = [0u8; 16];
    iv.copy_from_slice(&data[9..HEADER_LEN]);
    let mut tag = [0u8; 16];
    let mac_at = data.len() - MAC_LEN;
    tag.copy_from_slice(&data[mac_at..mac_at + 16]);
    Ok(TokenInfo {
        version: data[0],
        timestamp: u64::from_be_bytes(ts),
        iv,
        ciphertext_len,
        total_len: data.len(),
        tag_prefix: u128::from_be_bytes(tag),
    })
}

/// Inspects a bare token (use `unquote` first for values read from JSON columns).
pub fn inspect(token: &str) -> Result<TokenInfo, Malformed> {
    if token.is_empty() {
        return Err(Malformed::Empty);
    }
    with_decoded(token, parse_decoded).unwrap_or(Err(Malformed::NotBase64))
}

/// A quick test for "this stored value is meant to be a token": the `gAAAAA` prefix every
/// token of this era has (0x80, then a timestamp below 2^36, i.e. before the year 4147),
/// and it decodes as base64. Structural errors past that are for `inspect` to explain.
pub fn looks_like_token(text: &str) -> bool {
    let text = unquote(text);
    text.starts_with("gAAAAA") && with_decoded(text, |_| ()).is_some()
}

/// Strips surrounding whitespace and one pair of JSON double quotes: JSON columns hold the
/// token as a JSON string (`"gAAAA..."`, DESIGN §3), other columns hold it bare.
pub fn unquote(stored: &str) -> &str {
    // The common case, a bare token: ASCII at both ends, neither space nor quote, so there
    // is nothing to trim (checked on two bytes: `trim` decodes chars from both ends, 2% of a
    // census).
    let bare = |b: Option<&u8>| b.is_some_and(|&b| b.is_ascii_graphic() && b != b'"');
    if bare(stored.as_bytes().first()) && bare(stored.as_bytes().last()) {
        return stored;
    }
    let trimmed = stored.trim();
    trimmed
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .map(str::trim)
        .unwrap_or(trimmed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unquote_accepts_quoted_bare_and_padded_forms() {
        assert_eq!(unquote("\"gAAAAAx\""), "gAAAAAx");
        assert_eq!(unquote("  gAAAAAx\n"), "gAAAAAx");
        assert_eq!(unquote("\"unterminated"), "\"unterminated");
        assert_eq!(unquote("\""), "\"");
    }

    #[test]
    fn stack_and_heap_decoding_agree_with_decode_token() {
        use base64::engine::general_purpose::URL_SAFE;
        // Around the stack buffer's size, padded and unpadded, and not base64 at all.
        for len in [
            0, 1, 73, 89, 383, 384, 385, 510, 511, 512, 513, 514, 3070, 3072, 3073, 4096, 5000,
        ] {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
            let padded = URL_SAFE.encode(&bytes);
            for text in [padded.as_str(), padded.trim_end_matches('=')] {
                assert_eq!(with_decoded(text, <[u8]>::to_vec), Some(bytes.clone()));
                assert_eq!(decode_token(text), Some(bytes.clone()));
            }
        }
        assert_eq!(with_decoded("not base64!", <[u8]>::to_vec), None);
        assert_eq!(with_decoded(&"@".repeat(2000), <[u8]>::to_vec), None);
    }

    #[test]
    fn version_is_checked_before_length() {
        assert_eq!(
            parse_decoded(&[0x81, 0, 0]),
            Err(Malformed::WrongVersion { found: 0x81 })
        );
        assert_eq!(
            parse_decoded(&[0x80, 0, 0]),
            Err(Malformed::TooShort { len: 3 })
        );
    }
}
