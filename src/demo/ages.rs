//! Realistic data ages: the ~15% of demo values under the old key were, in the story, written
//! before the last rotation (`KEY_ROTATION_DATE=2026-01-01`). Tokens carry their write time,
//! so the seeding (which writes everything "now") re-stamps each of them at a time between
//! 2024-03-01 and 2025-12-31, spread deterministically over that range; the census, health's
//! `data.old_key` and the report then say how old the data under old_1 is. Done by
//! compare-and-set of stored text, like the planted problems.

use super::generate::DemoError;
use crate::config::ModelDef;
use crate::crypto::inspect::unquote;
use crate::crypto::{FernetKey, KeyId, KeyRing, wrap_for_column};
use crate::store::{CasUpdate, Store};

/// 2024-03-01T00:00:00Z and 2025-12-31T00:00:00Z: when the old key's values were written.
const FROM: u64 = 1_709_251_200;
const UNTIL: u64 = 1_767_139_200;
/// Rows read and rewritten per compare-and-set batch.
const BATCH: u32 = 500;

/// A write time in the old key's era for the `n`th value (a fixed spread, the same on
/// every run, at a whole second of a working day's hours).
fn era_time(n: u64) -> u64 {
    let span = UNTIL - FROM;
    let day = (n.wrapping_mul(2_654_435_761) % (span / 86_400)) * 86_400;
    FROM + day + 8 * 3600 + (n.wrapping_mul(40_503) % (10 * 3600))
}

/// Re-stamps every token under the demo's old key in `model`'s encrypted columns.
pub async fn restamp_old_values(
    store: &Store,
    model: &ModelDef,
    ring: &KeyRing,
    old: &FernetKey,
) -> Result<u64, DemoError> {
    let columns: Vec<&str> = model.encrypted_columns().map(|c| c.name.as_str()).collect();
    if columns.is_empty() || model.encryption.per_user {
        return Ok(0);
    }
    let mut after = None;
    let mut done = 0u64;
    loop {
        let rows = store
            .raw_page(model, &columns, after.as_ref(), BATCH)
            .await?;
        let Some(last) = rows.last() else {
            break;
        };
        after = Some(last.id.clone());
        let mut updates = Vec::new();
        for row in &rows {
            for (at, name) in columns.iter().enumerate() {
                let (Some(stored), Some(column)) = (
                    row.values.get(at).and_then(|v| v.clone()),
                    model.column(name),
                ) else {
                    continue;
                };
                let token = unquote(&stored);
                if ring.identify(token) != Some(KeyId::Old(1)) {
                    continue;
                }
                let Ok(plain) = old.decrypt(token) else {
                    continue;
                };
                let mut iv = [0u8; 16];
                rand::RngCore::fill_bytes(&mut rand::rng(), &mut iv);
                let when = era_time(done);
                updates.push(CasUpdate {
                    id: row.id.clone(),
                    column: name.to_string(),
                    expected: stored.clone(),
                    new: wrap_for_column(&old.encrypt_at(&plain, when, iv), &column.ty),
                });
                done += 1;
            }
        }
        store.compare_and_set(model, &updates).await?;
        if rows.len() < BATCH as usize {
            break;
        }
    }
    Ok(done)
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
