//! One batch inside its transaction: decide every value, compare-and-set the writes per
//! column, and re-read (inside the transaction) the rows that changed since they were read,
//! deciding again, so a concurrent application write is never overwritten.

use std::collections::{HashMap, HashSet};

use super::RotationError;
use super::decide::{Decider, Outcome, reason};
use super::job::key_text;
use super::scope::Scope;
use super::split::{Cores, decide_all};
use crate::config::ColumnDef;
use crate::store::{ColumnCas, FailureRow, RotationRow, RotationTx};
use crate::value::Value;

pub(crate) const FIRST_BATCH: u32 = 250;
const MIN_BATCH: u32 = 50;
const MAX_BATCH: u32 = 4000;
/// Re-reads of a row whose value keeps changing under us, before it is recorded as a
/// `conflict` failure (left untouched, for a later run).
const CONFLICT_RETRIES: usize = 5;

/// What one batch did.
#[derive(Default)]
pub(crate) struct Tally {
    pub(crate) done: i64,
    pub(crate) skipped: i64,
    pub(crate) failed: i64,
    pub(crate) conflicts: u64,
    pub(crate) failures: Vec<FailureRow>,
}

/// Doubles a fast batch, halves a slow one (aiming at 0.1 to 0.5 s per transaction, so row
/// locks are short for the live application).
pub(crate) fn adapt(batch: u32, seconds: f64) -> u32 {
    if seconds < 0.1 {
        (batch * 2).min(MAX_BATCH)
    } else if seconds > 0.5 {
        (batch / 2).max(MIN_BATCH)
    } else {
        batch
    }
}

/// A batch's first decision (every column of every row), made before its transaction:
/// pure CPU work over the rows as read, so it can run while the previous batch is written.
/// Nothing here is trusted later without the compare-and-set: a row changed since it was
/// read misses its write and is re-read and decided again inside the transaction.
pub(crate) struct Decided {
    writes: Vec<ColumnWrites>,
    failed: Vec<bool>,
    tally: Tally,
}

/// Decides every column of `rows` on every core (`split.rs`): the crypto is most of a
/// SQLite rotation's time.
pub(crate) fn decide_batch(
    decider: &Decider<'_>,
    scope: &Scope<'_>,
    rows: &[RotationRow],
    cores: Cores,
) -> Decided {
    let mut tally = Tally::default();
    let mut failed = vec![false; rows.len()];
    let writes = decide_all(decider, scope, rows, cores, &mut failed, &mut tally);
    Decided {
        writes,
        failed,
        tally,
    }
}

/// Writes one decided batch inside `tx`; rows that changed since they were read are
/// re-read inside the transaction and decided again.
pub(crate) async fn apply_batch(
    tx: &mut RotationTx<'_>,
    decider: &Decider<'_>,
    scope: &Scope<'_>,
    rows: &[RotationRow],
    decided: Decided,
) -> Result<Tally, RotationError> {
    let Decided {
        writes,
        mut failed,
        mut tally,
    } = decided;
    debug_assert_eq!(failed.len(), rows.len(), "decided for another page");
    let mut wrote = vec![false; rows.len()];
    // A map, not a scan: a linear search per written value made each batch quadratic
    // (11% of a 100k-row rotation's CPU in a profile). Only conflicts need it, so it is
    // built at the first one: a first attempt knows each row's position.
    let mut positions: Option<HashMap<String, usize>> = None;
    // Every column of every row (the rows borrowed, not copied per column) is written in one
    // call: PostgreSQL then writes each row version once, not once per column.
    let targets: Vec<(&ColumnDef, Option<&ColumnDef>)> = scope
        .columns
        .iter()
        .zip(&scope.hashes)
        .map(|(c, h)| (*c, *h))
        .collect();
    let lists: Vec<&[ColumnCas]> = writes.iter().map(|w| w.updates.as_slice()).collect();
    let missed = tx.compare_and_set_columns(&targets, &lists).await?;
    for (ci, mut conflicts) in missed.into_iter().enumerate() {
        let (column, hash_column) = targets[ci];
        mark_written(&writes[ci], &conflicts, &mut wrote);
        let mut attempt = 0;
        while !conflicts.is_empty() {
            let positions = positions.get_or_insert_with(|| {
                rows.iter()
                    .enumerate()
                    .map(|(i, r)| (id_key(&r.id), i))
                    .collect()
            });
            tally.conflicts += conflicts.len() as u64;
            if attempt == CONFLICT_RETRIES {
                for id in &conflicts {
                    if let Some(&i) = positions.get(&id_key(id)) {
                        failed[i] = true;
                    }
                    tally.failures.push(failure(id, column, reason::CONFLICT));
                }
                break;
            }
            attempt += 1;
            // Rows deleted meanwhile do not come back: nothing left to rotate there.
            let reread = tx.read_rows(&scope.read, scope.owner, &conflicts).await?;
            let pending: Vec<(usize, &RotationRow)> = reread
                .iter()
                .filter_map(|r| positions.get(&id_key(&r.id)).map(|&i| (i, r)))
                .collect();
            let retry = decide(decider, scope, ci, &pending, &mut failed, &mut tally);
            conflicts = tx
                .compare_and_set_column(column, hash_column, &retry.updates)
                .await?;
            mark_written(&retry, &conflicts, &mut wrote);
        }
    }
    for i in 0..rows.len() {
        if failed[i] {
            tally.failed += 1;
        } else if wrote[i] {
            tally.done += 1;
        } else {
            tally.skipped += 1;
        }
    }
    Ok(tally)
}

/// The compare-and-sets of one column, with the batch position of each one's row.
pub(crate) struct ColumnWrites {
    pub(crate) updates: Vec<ColumnCas>,
    pub(crate) at: Vec<usize>,
}

/// Decides column `ci` of `rows` (batch position, row): the writes it needs; failures are
/// marked and recorded.
pub(crate) fn decide(
    decider: &Decider<'_>,
    scope: &Scope<'_>,
    ci: usize,
    rows: &[(usize, &RotationRow)],
    failed: &mut [bool],
    tally: &mut Tally,
) -> ColumnWrites {
    let column = scope.columns[ci];
    let hash_at = scope.hash_at(ci);
    let mut writes = ColumnWrites {
        updates: Vec::new(),
        at: Vec::new(),
    };
    for &(i, row) in rows {
        let stored = row.values[ci].as_deref();
        match decider.decide_row(column, row, ci, hash_at).0 {
            Outcome::Write { new, hash, .. } => {
                writes.updates.push(ColumnCas {
                    id: row.id.clone(),
                    expected: stored.unwrap_or_default().to_string(),
                    new,
                    hash,
                    rowid: row.rowid,
                });
                writes.at.push(i);
            }
            Outcome::Fail(why) => {
                failed[i] = true;
                tally.failures.push(failure(&row.id, column, why));
            }
            Outcome::Null | Outcome::Current | Outcome::Plaintext => {}
        }
    }
    writes
}

/// Marks the rows whose write went through (all but the `conflicts`).
fn mark_written(writes: &ColumnWrites, conflicts: &[Value], wrote: &mut [bool]) {
    let missed: HashSet<String> = conflicts.iter().map(id_key).collect();
    for (update, &i) in writes.updates.iter().zip(&writes.at) {
        if missed.is_empty() || !missed.contains(&id_key(&update.id)) {
            wrote[i] = true;
        }
    }
}

fn failure(id: &Value, column: &ColumnDef, why: &str) -> FailureRow {
    FailureRow {
        record_id: key_text(id),
        column_name: column.name.clone(),
        reason: why.to_string(),
    }
}

/// A hashable key for a record id (`Value` holds floats, so it is not `Hash`).
fn id_key(id: &Value) -> String {
    id.to_json().to_string()
}
