//! HMAC-SHA256 (RFC 2104, with SHA-256 of FIPS 180-4) straight over `sha2::compress256`.
//!
//! Why not the `hmac` crate: identifying a token's key runs one HMAC per candidate key and
//! millions of them per census, and each `hmac` call clones a pre-keyed state with its
//! block buffers and runs the generic buffered update/finalize. Here a key is reduced once to
//! the two SHA-256 chaining values after its ipad and opad blocks (RFC 2104 §4, "the
//! intermediate results ... may be precomputed"); a MAC then copies 32 bytes, compresses the
//! message's whole blocks in place, pads the tail on the stack and runs one compression for
//! the outer hash. `sha2` picks SHA-NI at run time, so the compressions are the hardware's.
//!
//! Key material: the two chaining values are derived from the key and let anyone compute
//! MACs, so they are zeroized on drop and never shown by `Debug`.

use std::fmt;

use sha2::block_api::compress256;
use sha2::digest::array::Array;
use sha2::digest::consts::U64;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, Zeroizing};

/// SHA-256's block length B (RFC 2104 §2: B = 64 for SHA-256).
const BLOCK: usize = 64;
/// SHA-256's output length L (RFC 2104 §2).
pub const TAG_LEN: usize = 32;
/// RFC 2104 §2: ipad = 0x36 repeated B times, opad = 0x5C repeated B times.
const IPAD: u8 = 0x36;
const OPAD: u8 = 0x5c;
/// FIPS 180-4 §5.3.3: SHA-256's initial hash value H(0).
const SHA256_IV: [u32; 8] = [
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];

/// A key reduced to its inner and outer chaining values (RFC 2104 §4).
#[derive(Clone)]
pub struct HmacKey {
    /// SHA-256 state after compressing `K ⊕ ipad`.
    inner: [u32; 8],
    /// SHA-256 state after compressing `K ⊕ opad`.
    outer: [u32; 8],
}

impl Drop for HmacKey {
    fn drop(&mut self) {
        self.inner.zeroize();
        self.outer.zeroize();
    }
}

impl fmt::Debug for HmacKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HmacKey(..)")
    }
}

/// One SHA-256 compression of one block into `state` (FIPS 180-4 §6.2.2).
#[inline(always)]
fn compress(state: &mut [u32; 8], block: &[u8; BLOCK]) {
    compress256(state, std::slice::from_ref(block));
}

/// Compresses every whole block of `data` in one call (one call per block cost a third
/// more for a 1 KiB value: SHA-NI loads and stores the state around each call) and
/// returns the partial block left over. `hybrid-array`'s safe views do the reslicing.
fn compress_whole_blocks<'a>(state: &mut [u32; 8], data: &'a [u8]) -> &'a [u8] {
    let (blocks, rest) = Array::<u8, U64>::slice_as_chunks(data);
    if !blocks.is_empty() {
        compress256(state, Array::cast_slice_to_core(blocks));
    }
    rest
}

/// The state after compressing the key block XOR `pad` from SHA-256's IV.
fn keyed_state(key_block: &[u8; BLOCK], pad: u8) -> [u32; 8] {
    let mut block = Zeroizing::new([0u8; BLOCK]);
    for (out, k) in block.iter_mut().zip(key_block) {
        *out = k ^ pad;
    }
    let mut state = SHA256_IV;
    compress(&mut state, &block);
    state
}

/// The state's big-endian bytes: the digest (FIPS 180-4 §6.2.2 step 4).
fn digest_bytes(state: &[u32; 8]) -> [u8; TAG_LEN] {
    let mut out = [0u8; TAG_LEN];
    for (chunk, word) in out.chunks_exact_mut(4).zip(state) {
        chunk.copy_from_slice(&word.to_be_bytes());
    }
    out
}

/// Merkle-Damgård padding of the final partial block (FIPS 180-4 §5.1.1): `tail` (under 64
/// bytes), 0x80, zeros, then the whole message's length in bits, big-endian, in one or two
/// blocks (compressed in one call: a Fernet token of a short value needs two).
fn finish_blocks(state: &mut [u32; 8], tail: &[u8], total_len: u64) {
    debug_assert!(tail.len() < BLOCK);
    let mut blocks = [[0u8; BLOCK]; 2];
    blocks[0][..tail.len()].copy_from_slice(tail);
    blocks[0][tail.len()] = 0x80;
    let bits = total_len.wrapping_mul(8).to_be_bytes();
    let used = if tail.len() + 1 + 8 <= BLOCK { 1 } else { 2 };
    blocks[used - 1][BLOCK - 8..].copy_from_slice(&bits);
    compress256(state, &blocks[..used]);
}

/// Constant-time equality of a computed tag and a stored one (a stored tag of another length
/// never matches): four 64-bit words through `subtle`, rather than 32 byte comparisons.
fn tags_equal(tag: &[u8; TAG_LEN], stored: &[u8]) -> bool {
    let Ok(stored) = <&[u8; TAG_LEN]>::try_from(stored) else {
        return false;
    };
    let word = |bytes: &[u8; TAG_LEN], i: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&bytes[i * 8..i * 8 + 8]);
        u64::from_ne_bytes(w)
    };
    let mut equal = subtle::Choice::from(1);
    for i in 0..TAG_LEN / 8 {
        equal &= word(tag, i).ct_eq(&word(stored, i));
    }
    equal.into()
}

/// Incremental input over a copied inner state: whole blocks go straight to the
/// compression function, only a partial block is buffered.
struct Inner {
    state: [u32; 8],
    buf: [u8; BLOCK],
    buffered: usize,
    /// Bytes hashed so far, including the key block.
    len: u64,
}

impl Inner {
    fn new(state: [u32; 8]) -> Inner {
        Inner {
            state,
            buf: [0u8; BLOCK],
            buffered: 0,
            len: BLOCK as u64,
        }
    }

    fn update(&mut self, mut data: &[u8]) {
        self.len += data.len() as u64;
        if self.buffered > 0 {
            let take = (BLOCK - self.buffered).min(data.len());
            self.buf[self.buffered..self.buffered + take].copy_from_slice(&data[..take]);
            self.buffered += take;
            data = &data[take..];
            if self.buffered < BLOCK {
                return;
            }
            let block = self.buf;
            compress(&mut self.state, &block);
            self.buffered = 0;
        }
        let rest = compress_whole_blocks(&mut self.state, data);
        self.buf[..rest.len()].copy_from_slice(rest);
        self.buffered = rest.len();
    }

    /// H(K ⊕ ipad ‖ text), the inner hash of RFC 2104 §2 step 4.
    fn finish(mut self) -> [u8; TAG_LEN] {
        let tail = self.buf;
        finish_blocks(&mut self.state, &tail[..self.buffered], self.len);
        digest_bytes(&self.state)
    }
}

impl HmacKey {
    /// RFC 2104 §2 step 1 and §3: a key longer than B is replaced by its hash, a shorter one
    /// is padded with zeros to B bytes; then the ipad and opad blocks are compressed once.
    pub fn new(key: &[u8]) -> HmacKey {
        let mut block = Zeroizing::new([0u8; BLOCK]);
        if key.len() > BLOCK {
            let mut hashed: [u8; TAG_LEN] = Sha256::digest(key).into();
            block[..TAG_LEN].copy_from_slice(&hashed);
            hashed.zeroize();
        } else {
            block[..key.len()].copy_from_slice(key);
        }
        HmacKey {
            inner: keyed_state(&block, IPAD),
            outer: keyed_state(&block, OPAD),
        }
    }

    /// RFC 2104 §2 steps 5-7: H(K ⊕ opad ‖ inner hash), one compression plus padding.
    fn outer(&self, inner: &[u8; TAG_LEN]) -> [u8; TAG_LEN] {
        let mut state = self.outer;
        finish_blocks(&mut state, inner, (BLOCK + TAG_LEN) as u64);
        digest_bytes(&state)
    }

    /// HMAC-SHA256(key, message), RFC 2104 §2.
    pub fn mac(&self, message: &[u8]) -> [u8; TAG_LEN] {
        // The common case, one slice: whole blocks compressed in place, no buffering.
        let mut state = self.inner;
        let rest = compress_whole_blocks(&mut state, message);
        finish_blocks(&mut state, rest, (BLOCK + message.len()) as u64);
        self.outer(&digest_bytes(&state))
    }

    /// HMAC-SHA256 of the concatenation of `parts` (no copy of the whole message).
    pub fn mac_parts(&self, parts: &[&[u8]]) -> [u8; TAG_LEN] {
        let mut inner = Inner::new(self.inner);
        for part in parts {
            inner.update(part);
        }
        self.outer(&inner.finish())
    }

    /// True when `tag` is the MAC of `message`, compared in constant time (Fernet spec,
    /// "Verifying": the HMAC must be checked before anything else is trusted). A tag of the
    /// wrong length never matches.
    pub fn verify(&self, message: &[u8], tag: &[u8]) -> bool {
        tags_equal(&self.mac(message), tag)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_boundaries_match_sha256() {
        // Messages whose inner hash needs one or two final blocks (55/56 bytes after the
        // key block is where the length stops fitting).
        for len in [0, 1, 54, 55, 56, 57, 63, 64, 65, 119, 120, 128, 200] {
            let message: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let key = HmacKey::new(b"k");
            let mut kb = [0u8; BLOCK];
            kb[0] = b'k';
            let ipad: Vec<u8> = kb.iter().map(|b| b ^ IPAD).collect();
            let opad: Vec<u8> = kb.iter().map(|b| b ^ OPAD).collect();
            let inner = Sha256::new().chain_update(&ipad).chain_update(&message);
            let inner = inner.finalize();
            let outer = Sha256::new().chain_update(&opad).chain_update(inner);
            assert_eq!(key.mac(&message)[..], outer.finalize()[..], "len {len}");
        }
    }

    #[test]
    fn debug_shows_no_state() {
        assert_eq!(format!("{:?}", HmacKey::new(b"secret")), "HmacKey(..)");
    }
}
