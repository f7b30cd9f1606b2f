//! A batch's first decision pass spread over the machine's cores (issue #9).
//!
//! On SQLite a rotation is CPU-bound: decrypting and re-encrypting every value was half of
//! its time, on one core. Deciding is pure (no I/O, `Decider` is `Sync`), so the rows are cut
//! into contiguous chunks decided on scoped threads, and the results are joined back in row
//! order: the writes, failures and flags are exactly those of a one-thread pass, so the
//! transaction that follows (compare-and-set, failures, cursor) does not change at all.

use std::num::NonZeroUsize;
use std::sync::OnceLock;
use std::thread;

use super::batch::{ColumnWrites, Tally, decide};
use super::decide::Decider;
use super::scope::Scope;
use crate::store::{FailureRow, RotationRow};

/// Below this many rows per thread, starting a thread costs more than it saves (a value
/// takes a few microseconds; a thread start tens of them).
const MIN_ROWS_PER_THREAD: usize = 64;

/// What one chunk decided, per column (so failures can be joined column by column, the
/// order a one-thread pass records them in).
struct Chunk {
    writes: Vec<ColumnWrites>,
    failures: Vec<Vec<FailureRow>>,
    failed: Vec<usize>,
}

/// Decides every column of every row: the writes per column (in row order), with failed rows
/// marked in `failed` and their failures recorded in `tally`, as the one-thread pass did.
pub(crate) fn decide_all(
    decider: &Decider<'_>,
    scope: &Scope<'_>,
    rows: &[RotationRow],
    cores: Cores,
    failed: &mut [bool],
    tally: &mut Tally,
) -> Vec<ColumnWrites> {
    let threads = threads_for(rows.len(), cores);
    let per = rows.len().div_ceil(threads.max(1)).max(1);
    let chunks: Vec<Chunk> = if threads <= 1 {
        vec![decide_chunk(decider, scope, rows, 0)]
    } else {
        thread::scope(|s| {
            let mut parts = rows.chunks(per).enumerate();
            // This thread decides the first chunk itself while the others run.
            let first = parts.next();
            let handles: Vec<_> = parts
                .map(|(n, part)| s.spawn(move || decide_chunk(decider, scope, part, n * per)))
                .collect();
            let mut done = Vec::with_capacity(handles.len() + 1);
            if let Some((_, part)) = first {
                done.push(decide_chunk(decider, scope, part, 0));
            }
            for handle in handles {
                // Deciding does not panic on any input; if it ever did, the panic is
                // carried to this thread as it would have happened here.
                done.push(
                    handle
                        .join()
                        .unwrap_or_else(|p| std::panic::resume_unwind(p)),
                );
            }
            done
        })
    };
    join(chunks, scope.columns.len(), failed, tally)
}

/// The rows at `offset..offset + rows.len()` of the batch, every column.
fn decide_chunk(
    decider: &Decider<'_>,
    scope: &Scope<'_>,
    rows: &[RotationRow],
    offset: usize,
) -> Chunk {
    let pairs: Vec<(usize, &RotationRow)> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| (offset + i, r))
        .collect();
    // Indexed by batch position, so sized for the whole batch up to this chunk's end.
    let mut flags = vec![false; offset + rows.len()];
    let mut chunk = Chunk {
        writes: Vec::with_capacity(scope.columns.len()),
        failures: Vec::with_capacity(scope.columns.len()),
        failed: Vec::new(),
    };
    for ci in 0..scope.columns.len() {
        let mut column_tally = Tally::default();
        chunk.writes.push(decide(
            decider,
            scope,
            ci,
            &pairs,
            &mut flags,
            &mut column_tally,
        ));
        chunk.failures.push(column_tally.failures);
    }
    chunk.failed = (offset..flags.len()).filter(|&i| flags[i]).collect();
    chunk
}

/// Joins the chunks column by column, in row order.
fn join(
    chunks: Vec<Chunk>,
    columns: usize,
    failed: &mut [bool],
    tally: &mut Tally,
) -> Vec<ColumnWrites> {
    let mut writes: Vec<ColumnWrites> = (0..columns)
        .map(|_| ColumnWrites {
            updates: Vec::new(),
            at: Vec::new(),
        })
        .collect();
    let mut failures: Vec<Vec<FailureRow>> = (0..columns).map(|_| Vec::new()).collect();
    for chunk in chunks {
        for i in chunk.failed {
            failed[i] = true;
        }
        for (ci, (w, f)) in chunk.writes.into_iter().zip(chunk.failures).enumerate() {
            writes[ci].updates.extend(w.updates);
            writes[ci].at.extend(w.at);
            failures[ci].extend(f);
        }
    }
    tally.failures.extend(failures.into_iter().flatten());
    writes
}

/// Which of the machine's cores a decision may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Cores {
    /// Every core: nothing else runs meanwhile.
    All,
    /// All but one, left to the database writing the previous batch (a SQLite write runs
    /// in this process: deciding on every core slowed it by half).
    AllButOne,
}

/// How many threads a batch of `rows` rows is worth: one per core it may use, none idle
/// for lack of rows.
fn threads_for(rows: usize, cores: Cores) -> usize {
    static CORES: OnceLock<usize> = OnceLock::new();
    let all = *CORES.get_or_init(|| {
        thread::available_parallelism()
            .map(NonZeroUsize::get)
            .unwrap_or(1)
    });
    let usable = match cores {
        Cores::All => all,
        Cores::AllButOne => all - 1,
    };
    usable.min(rows / MIN_ROWS_PER_THREAD).max(1)
}
