//! Per-user keys (DESIGN §3): PBKDF2-HMAC-SHA256 with password = the MASTER_ENCRYPTION_KEY
//! text as UTF-8, salt = the user id as UTF-8, 100 000 iterations, 32 bytes; the result,
//! as url-safe base64, is the Fernet key Python Timber uses for key id `user_{user_id}`.
//!
//! PBKDF2 is written here (RFC 8018 §5.2) rather than pulling another crate: it is a few
//! dozen lines, and it lets the HMAC state keyed with the password be computed once for all
//! 100 000 iterations instead of re-keyed every time.
//!
//! Derivation is slow by design (that is PBKDF2's point), so derived keys are cached.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use hmac::{Hmac, KeyInit, Mac};
use sha2::block_api::compress256;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::fernet::FernetKey;
use super::key::Key;

/// Timber's iteration count; changing it changes every per-user key.
pub const USER_KEY_ITERATIONS: u32 = 100_000;

/// Derived keys kept before the least recently used are evicted.
pub const USER_KEY_CACHE_CAPACITY: usize = 10_000;

type HmacSha256 = Hmac<Sha256>;

/// PBKDF2-HMAC-SHA256 (RFC 8018 §5.2) filling `out`. `iterations` of 0 is treated as 1, as
/// the RFC requires c ≥ 1.
pub fn pbkdf2_hmac_sha256(password: &[u8], salt: &[u8], iterations: u32, out: &mut [u8]) {
    // PRF = HMAC-SHA256 keyed once with P; each use clones this state (RFC 8018 §5.2).
    let prf = <HmacSha256 as KeyInit>::new_from_slice(password)
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    let states = PadStates::new(password);
    for (index, chunk) in out.chunks_mut(32).enumerate() {
        // Step 3: T_i = F(P, S, c, i) with i a 32-bit big-endian block index from 1.
        let block_index = u32::try_from(index + 1).unwrap_or(u32::MAX);
        let mut mac = prf.clone();
        mac.update(salt);
        mac.update(&block_index.to_be_bytes());
        // U_1 = PRF(P, S ‖ INT(i)); T = U_1 ⊕ U_2 ⊕ … ⊕ U_c with U_j = PRF(P, U_{j-1}).
        let mut u = Zeroizing::new(<[u8; 32]>::from(mac.finalize().into_bytes()));
        let mut t = Zeroizing::new(*u);
        for _ in 1..iterations.max(1) {
            states.hmac_32(&mut u);
            for (t_byte, u_byte) in t.iter_mut().zip(u.iter()) {
                *t_byte ^= u_byte;
            }
        }
        // Step 4: the last block is truncated to the requested length.
        chunk.copy_from_slice(&t[..chunk.len()]);
    }
}

/// SHA-256 initial hash value (FIPS 180-4 §5.3.3).
const SHA256_IV: [u32; 8] = [
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];

/// HMAC-SHA256 of a 32-byte message, specialised for the PBKDF2 inner loop: the states
/// after absorbing `K ⊕ ipad` and `K ⊕ opad` (RFC 2104) are computed once, and each HMAC is
/// then exactly two compression calls on one pre-padded block. This keeps the 100 000
/// iterations cheap even in debug builds, where generic hashing code is not optimised.
struct PadStates {
    inner: Zeroizing<[u32; 8]>,
    outer: Zeroizing<[u32; 8]>,
}

impl PadStates {
    fn new(password: &[u8]) -> PadStates {
        // RFC 2104: keys longer than the block are hashed first; shorter ones zero-padded.
        let mut key = Zeroizing::new([0u8; 64]);
        if password.len() > 64 {
            key[..32].copy_from_slice(&Sha256::digest(password));
        } else {
            key[..password.len()].copy_from_slice(password);
        }
        let state_after = |pad: u8| {
            let mut block = Zeroizing::new([0u8; 64]);
            for (b, k) in block.iter_mut().zip(key.iter()) {
                *b = k ^ pad;
            }
            let mut state = Zeroizing::new(SHA256_IV);
            compress256(&mut state, std::slice::from_ref(&*block));
            state
        };
        PadStates {
            inner: state_after(0x36),
            outer: state_after(0x5c),
        }
    }

    /// Replaces `msg` with HMAC(K, msg).
    fn hmac_32(&self, msg: &mut [u8; 32]) {
        // One block: 32 message bytes, 0x80, zeros, then the bit length of everything
        // hashed after the key block (64 + 32 bytes = 768 bits), big-endian (FIPS 180-4 §5.1.1).
        let mut block = Zeroizing::new([0u8; 64]);
        block[..32].copy_from_slice(msg);
        block[32] = 0x80;
        block[56..].copy_from_slice(&768u64.to_be_bytes());
        for pass in [&self.inner, &self.outer] {
            let mut state = Zeroizing::new(**pass);
            compress256(&mut state, std::slice::from_ref(&*block));
            for (chunk, word) in block[..32].chunks_exact_mut(4).zip(state.iter()) {
                chunk.copy_from_slice(&word.to_be_bytes());
            }
        }
        msg.copy_from_slice(&block[..32]);
    }
}

/// The per-user key Python Timber derives for `user_id` from the master key text.
pub fn derive_user_key(master_text: &str, user_id: &str) -> Key {
    let mut bytes = Zeroizing::new([0u8; 32]);
    pbkdf2_hmac_sha256(
        master_text.as_bytes(),
        user_id.as_bytes(),
        USER_KEY_ITERATIONS,
        &mut bytes[..],
    );
    Key::from_bytes(*bytes)
}

/// Timber's key id for a user's key.
pub fn user_key_id(user_id: &str) -> String {
    format!("user_{user_id}")
}

/// Which master a per-user key was derived from (during a master rotation both are live).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MasterGeneration {
    Current,
    Old,
}

struct Entry {
    key: Arc<FernetKey>,
    last_used: u64,
}

/// A bounded cache of derived per-user keys. When full, the least recently used tenth is
/// evicted in one pass, so the O(n) scan is paid once per n/10 insertions.
pub struct UserKeyCache {
    inner: Mutex<CacheState>,
    capacity: usize,
}

#[derive(Default)]
struct CacheState {
    entries: HashMap<(MasterGeneration, String), Entry>,
    clock: u64,
}

impl Default for UserKeyCache {
    fn default() -> Self {
        Self::with_capacity(USER_KEY_CACHE_CAPACITY)
    }
}

impl std::fmt::Debug for UserKeyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "UserKeyCache({} keys)", self.len())
    }
}

impl UserKeyCache {
    pub fn with_capacity(capacity: usize) -> Self {
        UserKeyCache {
            inner: Mutex::new(CacheState::default()),
            capacity: capacity.max(1),
        }
    }

    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// The cached key, or derives it. The lock is not held while deriving (≈100 000 HMACs):
    /// two threads may derive the same key at once, which is harmless.
    pub fn get_or_derive(
        &self,
        generation: MasterGeneration,
        master_text: &str,
        user_id: &str,
    ) -> Arc<FernetKey> {
        self.get_or_insert_with(generation, user_id, || {
            FernetKey::new(&derive_user_key(master_text, user_id))
        })
    }

    fn get_or_insert_with(
        &self,
        generation: MasterGeneration,
        user_id: &str,
        derive: impl FnOnce() -> FernetKey,
    ) -> Arc<FernetKey> {
        let id = (generation, user_id.to_string());
        if let Some(key) = self.touch(&id) {
            return key;
        }
        let derived = Arc::new(derive());
        let mut state = self.lock();
        if state.entries.len() >= self.capacity {
            evict_oldest_tenth(&mut state.entries, self.capacity);
        }
        state.clock += 1;
        let last_used = state.clock;
        state.entries.insert(
            id,
            Entry {
                key: Arc::clone(&derived),
                last_used,
            },
        );
        derived
    }

    /// Only what is already cached (no derivation).
    pub fn cached(&self, generation: MasterGeneration, user_id: &str) -> Option<Arc<FernetKey>> {
        self.touch(&(generation, user_id.to_string()))
    }

    /// All cached keys with their user ids, for identification without an owner.
    pub fn snapshot(&self) -> Vec<(MasterGeneration, String, Arc<FernetKey>)> {
        let state = self.lock();
        state
            .entries
            .iter()
            .map(|((g, u), e)| (*g, u.clone(), Arc::clone(&e.key)))
            .collect()
    }

    fn touch(&self, id: &(MasterGeneration, String)) -> Option<Arc<FernetKey>> {
        let mut state = self.lock();
        state.clock += 1;
        let now = state.clock;
        state.entries.get_mut(id).map(|e| {
            e.last_used = now;
            Arc::clone(&e.key)
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, CacheState> {
        // A panic while holding the lock cannot leave the map inconsistent (each operation
        // is a single insert/remove), so a poisoned lock is still safe to use.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn evict_oldest_tenth(entries: &mut HashMap<(MasterGeneration, String), Entry>, capacity: usize) {
    let evict = (capacity / 10).max(1);
    let mut ages: Vec<u64> = entries.values().map(|e| e.last_used).collect();
    ages.sort_unstable();
    let cutoff = ages[evict.min(ages.len()) - 1];
    entries.retain(|_, e| e.last_used > cutoff);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_stays_bounded_and_keeps_recent_keys() {
        let cache = UserKeyCache::with_capacity(20);
        // The eviction logic does not depend on how keys are derived: use cheap random keys.
        let fresh = || FernetKey::new(&Key::generate());
        let first = cache.get_or_insert_with(MasterGeneration::Current, "u0", fresh);
        for i in 1..45 {
            cache.get_or_insert_with(MasterGeneration::Current, &format!("u{i}"), fresh);
            // Keep u0 recently used: it must survive every eviction.
            assert!(
                cache.cached(MasterGeneration::Current, "u0").is_some(),
                "u0 evicted at {i}"
            );
            assert!(cache.len() <= 20, "cache grew to {}", cache.len());
        }
        let again = cache
            .cached(MasterGeneration::Current, "u0")
            .expect("recent key kept");
        assert!(
            Arc::ptr_eq(&first, &again),
            "u0 was re-derived instead of cached"
        );
        assert!(
            cache.cached(MasterGeneration::Current, "u1").is_none(),
            "oldest not evicted"
        );
        // Same user under the other master generation is a different key.
        assert!(cache.cached(MasterGeneration::Old, "u0").is_none());
    }
}
