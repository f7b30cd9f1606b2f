//! Per-column counts gathered by a scan, and the small ordered samples of record ids that
//! go into evidence. Workers fill partial stats for a chunk of rows; chunks are merged in
//! any order, and because every sample id carries its row's position in the scan, the
//! merged sample is always the first ids the scan met, whatever the thread timing (shown
//! in key order).

use std::collections::BTreeMap;

use crate::crypto::KeyId;

use super::report::MAX_RECORD_IDS;
use super::token_age::TokenTimes;

/// A count and the record ids of its first rows (by position in the scan).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Samples {
    pub count: u64,
    /// (position in the scan's order, record id), sorted, at most `MAX_RECORD_IDS`.
    first: Vec<(u64, String)>,
}

impl Samples {
    pub fn add(&mut self, position: u64, id: &str) {
        self.add_with(position, || id.to_string());
    }

    /// Counts one row; `id` is only called when the row joins the sample, so a scan does
    /// not format a record id for every row it counts.
    pub fn add_with(&mut self, position: u64, id: impl FnOnce() -> String) {
        self.count += 1;
        if self.first.len() < MAX_RECORD_IDS
            || self.first.last().is_some_and(|(p, _)| position < *p)
        {
            let at = self.first.partition_point(|(p, _)| *p < position);
            self.first.insert(at, (position, id()));
            self.first.truncate(MAX_RECORD_IDS);
        }
    }

    pub fn merge(&mut self, other: Samples) {
        self.count += other.count;
        self.first.extend(other.first);
        self.first.sort_by_key(|(p, _)| *p);
        self.first.truncate(MAX_RECORD_IDS);
    }

    /// The sampled record ids, in key order (integer keys by value, others by their text).
    /// Which rows are sampled: the first the scan met; a whole table is read in the
    /// database's own order, not by key (`Store::raw_stream` says why).
    pub fn ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.first.iter().map(|(_, id)| id.clone()).collect();
        sort_in_key_order(&mut ids);
        ids
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
}

/// Record ids as evidence lists them: integers first by value, then other ids by text. A
/// total order, so a listing is the same however its ids arrived.
pub fn sort_in_key_order(ids: &mut [String]) {
    ids.sort_by_cached_key(|id| match id.parse::<i64>() {
        Ok(n) => (false, n, String::new()),
        Err(_) => (true, 0, id.clone()),
    });
}

/// Which key a token is under, as the census counts it: a configured key of the ring, or
/// any per-user key derived from the master (one bucket), or from the old master.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyBucket {
    Configured(KeyId),
    PerUser,
    PerUserOld,
}

impl KeyBucket {
    pub fn of(id: &KeyId) -> KeyBucket {
        match id {
            KeyId::User(_) => KeyBucket::PerUser,
            KeyId::UserOld(_) => KeyBucket::PerUserOld,
            other => KeyBucket::Configured(other.clone()),
        }
    }
}

/// Everything a scan learned about one encrypted column.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ColumnStats {
    /// Rows read (nulls included).
    pub rows: u64,
    pub null: u64,
    /// Tokens whose HMAC matched a key, per key (samples for the old-key evidence).
    pub by_key: BTreeMap<KeyBucket, Samples>,
    /// When the tokens under each key were written (their headers' timestamps).
    pub times: BTreeMap<KeyBucket, TokenTimes>,
    /// Values that are not tokens at all.
    pub plaintext: Samples,
    /// Token-shaped values that are not well-formed tokens (bad base64, truncated, ...).
    pub malformed: Samples,
    /// Well-formed tokens whose HMAC matches no configured key.
    pub unknown_key: Samples,
    /// Health only: HMAC matched but the content does not decrypt to the declared type.
    pub corrupted: Samples,
    /// Health only: authenticated timestamps beyond the allowed clock skew.
    pub future: Samples,
    /// Health only: authenticated timestamps before the plausible epoch.
    pub ancient: Samples,
    /// Health only: the blind-index hash column next to this one.
    pub hashes: HashStats,
}

/// How the search hashes of one blind-index column compare with their plaintext.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HashStats {
    pub keyed: u64,
    pub legacy: Samples,
    /// Hashes that match neither scheme (stale, or made some other way).
    pub mismatch: Samples,
    /// Hashes present where the value could not be read (no plaintext to compare).
    pub unchecked: u64,
}

impl HashStats {
    fn merge(&mut self, other: HashStats) {
        self.keyed += other.keyed;
        self.legacy.merge(other.legacy);
        self.mismatch.merge(other.mismatch);
        self.unchecked += other.unchecked;
    }
}

impl ColumnStats {
    pub fn merge(&mut self, other: ColumnStats) {
        self.rows += other.rows;
        self.null += other.null;
        for (bucket, samples) in other.by_key {
            self.by_key.entry(bucket).or_default().merge(samples);
        }
        for (bucket, times) in other.times {
            self.times.entry(bucket).or_default().merge(times);
        }
        self.plaintext.merge(other.plaintext);
        self.malformed.merge(other.malformed);
        self.unknown_key.merge(other.unknown_key);
        self.corrupted.merge(other.corrupted);
        self.future.merge(other.future);
        self.ancient.merge(other.ancient);
        self.hashes.merge(other.hashes);
    }

    /// Values under any key (not null, and a token some key authenticated).
    pub fn under_keys(&self) -> u64 {
        self.by_key.values().map(|s| s.count).sum()
    }

    /// Records the write time of one token counted under `bucket`. The bucket is cloned
    /// only the first time it is seen in this chunk.
    pub fn time_under(&mut self, bucket: &KeyBucket, unix_seconds: u64) {
        match self.times.get_mut(bucket) {
            Some(times) => times.add(unix_seconds),
            None => {
                let mut times = TokenTimes::default();
                times.add(unix_seconds);
                self.times.insert(bucket.clone(), times);
            }
        }
    }

    pub fn count_under(&self, bucket: &KeyBucket) -> u64 {
        self.by_key.get(bucket).map_or(0, |s| s.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_keep_the_first_ids_met_whatever_the_merge_order() {
        // Integer keys met at scan positions 100..120 by one worker and 0..5 by another.
        let mut late = Samples::default();
        for p in 100..120 {
            late.add(p, &p.to_string());
        }
        let mut early = Samples::default();
        for p in (0..5).rev() {
            early.add(p, &p.to_string());
        }
        late.merge(early);
        assert_eq!(late.count, 25);
        let ids = late.ids();
        assert_eq!(ids.len(), MAX_RECORD_IDS);
        // The first met, shown in key order: integers by value ("100" after "4").
        assert_eq!(&ids[..6], ["0", "1", "2", "3", "4", "100"]);
    }

    #[test]
    fn the_ids_met_first_are_shown_in_key_order() {
        // Text keys met in scan order z, a, m (a whole table is read in the database's
        // order, not by key): the sample is the first met, listed by key.
        let mut samples = Samples::default();
        for (p, id) in ["zeta", "alpha", "mu", "beta"].iter().enumerate() {
            samples.add(p as u64, id);
        }
        for p in 10..30 {
            samples.add(p, "later");
        }
        let ids = samples.ids();
        assert_eq!(&ids[..4], ["alpha", "beta", "later", "later"]);
        assert!(ids.contains(&"zeta".to_string()) && ids.contains(&"mu".to_string()));
        assert_eq!(ids.len(), MAX_RECORD_IDS);
    }
}
