//! How old the data under each key is: a Fernet token carries the time it was written
//! (bytes 1..9 of the decoded token, big-endian seconds; public, read without a key), so
//! the census can say "old_1 still encrypts 41 203 values written between 2024-03 and
//! 2025-01" from the token headers alone.
//!
//! The median is kept in bounded memory with a histogram whose buckets start one second
//! wide and double in width whenever more than [`MAX_BUCKETS`] are occupied (each pair of
//! neighbours is folded into one). So a column and key never hold more than
//! `MAX_BUCKETS` counters (about 40 KiB), histograms of two chunks merge exactly in any
//! order (the coarser width wins), and the median is exact while the tokens fall into at
//! most `MAX_BUCKETS` distinct seconds, else precise to one bucket: about 17 hours for a
//! year of data, 3 days for ten. Oldest and newest are always exact.

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value as Json, json};

/// Most occupied buckets one histogram keeps before it doubles their width.
pub const MAX_BUCKETS: usize = 1024;

/// The widest bucket (2^62 s): past it no more folding is needed for any `u64` time.
const MAX_SHIFT: u32 = 62;

/// Token times seen in one column under one key, as they are counted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenTimes {
    count: u64,
    oldest: u64,
    newest: u64,
    /// Bucket width is `1 << shift` seconds; a bucket's key is `time >> shift`.
    shift: u32,
    buckets: BTreeMap<u64, u64>,
}

impl Default for TokenTimes {
    fn default() -> Self {
        TokenTimes {
            count: 0,
            oldest: u64::MAX,
            newest: 0,
            shift: 0,
            buckets: BTreeMap::new(),
        }
    }
}

impl TokenTimes {
    /// Counts one token written at `unix_seconds`.
    pub fn add(&mut self, unix_seconds: u64) {
        self.count += 1;
        self.oldest = self.oldest.min(unix_seconds);
        self.newest = self.newest.max(unix_seconds);
        *self.buckets.entry(unix_seconds >> self.shift).or_default() += 1;
        self.fold_while_too_many();
    }

    /// Adds another chunk's times (exact whatever the order of merging).
    pub fn merge(&mut self, mut other: TokenTimes) {
        if other.count == 0 {
            return;
        }
        let shift = self.shift.max(other.shift);
        self.widen_to(shift);
        other.widen_to(shift);
        self.count += other.count;
        self.oldest = self.oldest.min(other.oldest);
        self.newest = self.newest.max(other.newest);
        for (bucket, n) in other.buckets {
            *self.buckets.entry(bucket).or_default() += n;
        }
        self.fold_while_too_many();
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    fn fold_while_too_many(&mut self) {
        while self.buckets.len() > MAX_BUCKETS && self.shift < MAX_SHIFT {
            self.widen_to(self.shift + 1);
        }
    }

    fn widen_to(&mut self, shift: u32) {
        if shift <= self.shift {
            return;
        }
        let by = shift - self.shift;
        let mut wider = BTreeMap::new();
        for (bucket, n) in std::mem::take(&mut self.buckets) {
            *wider.entry(bucket >> by).or_default() += n;
        }
        self.buckets = wider;
        self.shift = shift;
    }

    /// The lower median (the ⌈n/2⌉-th time in order): exact while buckets are one second
    /// wide, else the start of its bucket, kept within oldest..newest.
    fn median(&self) -> u64 {
        let target = (self.count.saturating_sub(1)) / 2;
        let mut seen = 0u64;
        for (bucket, n) in &self.buckets {
            seen += n;
            if seen > target {
                return (bucket << self.shift).clamp(self.oldest, self.newest);
            }
        }
        self.newest
    }

    /// Oldest, median and newest, once any token was counted.
    pub fn age(&self) -> Option<TokenAge> {
        (self.count > 0).then(|| TokenAge {
            oldest: to_datetime(self.oldest),
            median: to_datetime(self.median()),
            newest: to_datetime(self.newest),
        })
    }
}

/// A time far outside chrono's range (a crafted token) is shown as chrono's last instant.
fn to_datetime(unix_seconds: u64) -> DateTime<Utc> {
    i64::try_from(unix_seconds)
        .ok()
        .and_then(|s| DateTime::<Utc>::from_timestamp(s, 0))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// When the values under one key in one column were written, by their tokens' own clocks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TokenAge {
    pub oldest: DateTime<Utc>,
    pub median: DateTime<Utc>,
    pub newest: DateTime<Utc>,
}

impl TokenAge {
    /// `{"oldest", "median", "newest"}` as RFC 3339 UTC seconds (`2024-03-01T09:00:00Z`).
    pub fn to_json(&self) -> Json {
        let at = |t: &DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Secs, true);
        json!({"oldest": at(&self.oldest), "median": at(&self.median), "newest": at(&self.newest)})
    }

    /// "between 2024-03 and 2025-01" (or "in 2024-03" when both fall in one month).
    pub fn months(&self) -> String {
        let (from, to) = (
            self.oldest.format("%Y-%m").to_string(),
            self.newest.format("%Y-%m").to_string(),
        );
        if from == to {
            format!("in {from}")
        } else {
            format!("between {from} and {to}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn times(values: &[u64]) -> TokenTimes {
        let mut t = TokenTimes::default();
        for v in values {
            t.add(*v);
        }
        t
    }

    #[test]
    fn small_sets_give_the_exact_lower_median() {
        let age = times(&[50, 10, 40, 20, 30]).age().unwrap();
        assert_eq!(age.oldest.timestamp(), 10);
        assert_eq!(age.median.timestamp(), 30);
        assert_eq!(age.newest.timestamp(), 50);
        assert_eq!(
            times(&[10, 20, 30, 40]).age().unwrap().median.timestamp(),
            20
        );
        assert_eq!(TokenTimes::default().age(), None);
    }

    #[test]
    fn many_distinct_times_stay_bounded_and_the_median_within_a_bucket() {
        let base = 1_700_000_000u64;
        // A year of values one every 5 minutes: 105 120 distinct seconds.
        let all: Vec<u64> = (0..105_120u64).map(|i| base + i * 300).collect();
        let t = times(&all);
        assert!(t.buckets.len() <= MAX_BUCKETS, "{}", t.buckets.len());
        let exact = all[(all.len() - 1) / 2];
        let median = t.age().unwrap().median.timestamp() as u64;
        let width = 1u64 << t.shift;
        assert!(
            median <= exact && exact - median < width,
            "{median} vs {exact}"
        );
        assert!(width <= 86_400, "a year is resolved within a day: {width}");
    }

    #[test]
    fn merging_in_any_order_gives_the_same_result() {
        let base = 1_600_000_000u64;
        let a: Vec<u64> = (0..3000u64).map(|i| base + i * 7919).collect();
        let b: Vec<u64> = (0..10u64).map(|i| base + i).collect();
        let (mut ab, mut ba) = (times(&a), times(&b));
        ab.merge(times(&b));
        ba.merge(times(&a));
        assert_eq!(ab, ba);
        assert_eq!(ab.count(), 3010);
    }

    #[test]
    fn a_crafted_time_beyond_chrono_is_shown_as_its_last_instant() {
        let age = times(&[u64::MAX, 5]).age().unwrap();
        assert_eq!(age.newest, DateTime::<Utc>::MAX_UTC);
        assert_eq!(age.oldest.timestamp(), 5);
    }
}
