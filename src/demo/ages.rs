//! Realistic data ages: the ~15% of demo values under the old key were, in the story, written
//! before the last rotation (`KEY_ROTATION_DATE=2026-01-01`). Tokens carry their write time,
//! so the seeding writes those rows' tokens dated between 2024-03-01 and 2025-12-31, spread
//! deterministically over that range (`BulkInsert::push_written_at`); the census, health's
//! `data.old_key` and the report then say how old the data under old_1 is.

/// 2024-03-01T00:00:00Z and 2025-12-31T00:00:00Z: when the old key's values were written.
const FROM: u64 = 1_709_251_200;
const UNTIL: u64 = 1_767_139_200;

/// A write time in the old key's era for the `n`th old row (a fixed spread, the same on
/// every run, at a whole second of a working day's hours).
pub(super) fn era_time(n: u64) -> u64 {
    let span = UNTIL - FROM;
    let day = (n.wrapping_mul(2_654_435_761) % (span / 86_400)) * 86_400;
    FROM + day + 8 * 3600 + (n.wrapping_mul(40_503) % (10 * 3600))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn era_times_stay_in_the_old_keys_era() {
        for n in 0..10_000 {
            let t = era_time(n);
            assert!((FROM..UNTIL + 86_400).contains(&t), "{n}: {t}");
        }
        assert_ne!(era_time(1), era_time(2));
    }
}
