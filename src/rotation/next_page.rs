//! A worker's next page (`workers.rs`): read in the job's order, and for a lone worker
//! decided while the batch before it is written, also across a chunk's end.

use std::future::Future;
use std::sync::Mutex;

use super::batch::{Decided, decide_batch};
use super::decide::Decider;
use super::job::RowOrder;
use super::run::{Live, Runner, chunk_span};
use super::scope::Scope;
use super::split::Cores;
use crate::store::{ChunkLease, ChunkRow, RotationRow, StoreError};
use crate::value::Value;

/// A page as a worker holds it between batches: its rows, the limit it was read at, and
/// its decision when it was decided ahead.
pub(super) type Page = (Vec<RotationRow>, u32, Option<Decided>);

/// The first page of the chunk a lone worker will most likely claim next, read and decided
/// while the last batch of its chunk was written (issue 17). Without it, each chunk began
/// with a read and a decision that nothing overlapped: about 20 ms per 10 000-row chunk on
/// SQLite, a fifth of the Timber-shaped rotation. The chunk is not claimed yet, so this is
/// a guess: the page is used only for the very chunk and start it was read for.
pub(super) struct CarriedPage {
    /// The chunk it was read for, and where that chunk started then.
    chunk: i64,
    lo: Option<String>,
    hi: Option<String>,
    cursor: Option<String>,
    page: Page,
}

impl CarriedPage {
    pub(super) fn new(chunk: ChunkRow, page: Page) -> CarriedPage {
        CarriedPage {
            chunk: chunk.chunk,
            lo: chunk.lo,
            hi: chunk.hi,
            cursor: chunk.cursor,
            page,
        }
    }

    /// The page, when `lease` is the chunk it was read for and starts where it was read
    /// from (the same bounds and cursor); otherwise nothing, and the chunk reads its own.
    /// Another chunk's page would move this chunk's cursor past rows it never read. Rows
    /// changed since the read are safe either way: every write is a compare-and-set.
    pub(super) fn for_lease(self, lease: &ChunkLease) -> Option<Page> {
        (self.chunk == lease.chunk
            && self.lo == lease.lo
            && self.hi == lease.hi
            && self.cursor == lease.cursor)
            .then_some(self.page)
    }
}

impl Runner<'_> {
    /// Whether a batch is decided while the one before it is written
    /// ([`write_deciding_next`]): on a multi-thread runtime, for a lone worker.
    pub(super) fn pipelines(&self) -> bool {
        self.workers <= 1
            && tokio::runtime::Handle::try_current()
                .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread)
    }

    /// Up to `limit` rows of the job's table after `after` up to `until`, in the job's order.
    pub(super) async fn read_page(
        &self,
        live: &Live<'_>,
        scope: &Scope<'_>,
        after: Option<&Value>,
        until: Option<&Value>,
        limit: u32,
    ) -> Result<Vec<RotationRow>, StoreError> {
        let model = live.model;
        match live.options.order {
            RowOrder::Key => {
                self.store
                    .rotation_range_page(model, &scope.read, scope.owner, after, until, limit)
                    .await
            }
            RowOrder::Rowid => {
                let rowid = |v: Option<&Value>| match v {
                    Some(Value::Int(n)) => Some(*n),
                    _ => None,
                };
                self.store
                    .rotation_rowid_page(
                        model,
                        &scope.read,
                        scope.owner,
                        rowid(after),
                        rowid(until),
                        limit,
                    )
                    .await
            }
        }
    }

    /// The first page of the first pending chunk after `lease`'s, read as that chunk's own
    /// first read would be; the chunk it was read for goes in `ahead`. `None` when there is
    /// no such chunk, or it could not be read (the chunk then reads its own first page).
    pub(super) async fn first_page_of_next_chunk(
        &self,
        live: &Live<'_>,
        scope: &Scope<'_>,
        lease: &ChunkLease,
        limit: u32,
        ahead: &Mutex<Option<ChunkRow>>,
    ) -> Option<Result<Vec<RotationRow>, StoreError>> {
        let next = match self
            .store
            .rotation_next_pending_chunk(lease.job_id, lease.chunk)
            .await
        {
            Ok(next) => next?,
            Err(e) => {
                // Only a guess failed: the next chunk reads its own first page.
                tracing::debug!(job = lease.job_id, chunk = lease.chunk, error = %e, "no read-ahead of the next chunk");
                return None;
            }
        };
        // An unreadable bound is the claiming worker's error to report, not this guess's.
        let (start, until) = chunk_span(
            &next.lo,
            &next.hi,
            &next.cursor,
            live.model,
            live.options.order,
        )
        .ok()?;
        let page = self
            .read_page(live, scope, start.as_ref(), until.as_ref(), limit)
            .await;
        match &page {
            Ok(_) => *ahead.lock().unwrap_or_else(|e| e.into_inner()) = Some(next),
            Err(e) => {
                tracing::debug!(job = lease.job_id, chunk = next.chunk, error = %e, "the next chunk's first page was not read ahead");
            }
        }
        Some(page)
    }
}

/// What [`write_deciding_next`] gives back: the next page, if one was read, and its decision.
pub(super) type NextPage = Option<Result<(Vec<RotationRow>, Option<Decided>), StoreError>>;

/// Writes a batch (`write`) while reading the next page (`next`) and, once it is read,
/// deciding it on other threads: the crypto of batch N+1 runs while the database writes
/// batch N, instead of after it (issue 17: a lone worker's rotation was the sum of the two).
///
/// Why `block_in_place`: the decision is CPU work on threads borrowing the job's decider,
/// and the write future borrows the worker; neither is `'static`, so neither can be
/// spawned. This thread drives both futures itself (`Handle::block_on`, which tokio allows
/// inside `block_in_place` on a multi-thread runtime) inside a thread scope, and the
/// runtime moves this worker thread's other tasks elsewhere meanwhile. Futures polled in
/// the same task wait until the batch is written, so this is for a lone worker only:
/// several workers of one process are futures of one task, and they overlap each other.
pub(super) fn write_deciding_next<W, N>(
    write: W,
    next: N,
    decider: &Decider<'_>,
    scope: &Scope<'_>,
) -> (W::Output, NextPage)
where
    W: Future,
    N: Future<Output = Option<Result<Vec<RotationRow>, StoreError>>>,
{
    let handle = tokio::runtime::Handle::current();
    tokio::task::block_in_place(|| {
        std::thread::scope(|threads| {
            let (written, deciding) = handle.block_on(async {
                let next = async {
                    next.await.map(|page| {
                        page.map(|rows| {
                            threads.spawn(move || {
                                let decided = decide_batch(decider, scope, &rows, Cores::AllButOne);
                                (rows, decided)
                            })
                        })
                    })
                };
                tokio::join!(write, next)
            });
            let next = deciding.map(|page| {
                page.map(|thread| {
                    // Deciding does not panic on any input; if it ever did, the panic is
                    // carried here as if it had happened on this thread.
                    let (rows, decided) = thread
                        .join()
                        .unwrap_or_else(|p| std::panic::resume_unwind(p));
                    (rows, Some(decided))
                })
            });
            (written, next)
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::ChunkStatus;

    fn chunk(n: i64, cursor: Option<&str>) -> ChunkRow {
        ChunkRow {
            job_id: 1,
            chunk: n,
            lo: Some(format!("{}", n * 100)),
            hi: Some(format!("{}", n * 100 + 100)),
            status: ChunkStatus::Pending,
            lease_owner: None,
            lease_expires_at: None,
            generation: 0,
            cursor: cursor.map(str::to_string),
            rows_done: 0,
            rows_skipped: 0,
            rows_failed: 0,
            conflicts: 0,
            claimed_at: None,
            claimed_rows: 0,
        }
    }

    fn lease(row: &ChunkRow) -> ChunkLease {
        ChunkLease {
            job_id: row.job_id,
            chunk: row.chunk,
            generation: row.generation + 1,
            owner: "host/1/w1".into(),
            lo: row.lo.clone(),
            hi: row.hi.clone(),
            cursor: row.cursor.clone(),
            took_over_from: None,
        }
    }

    fn carried(row: ChunkRow) -> CarriedPage {
        CarriedPage::new(row, (Vec::new(), 7, None))
    }

    #[test]
    fn a_page_read_ahead_serves_only_the_chunk_and_start_it_was_read_for() {
        let read_for = chunk(2, None);
        let page = carried(read_for.clone()).for_lease(&lease(&read_for));
        assert_eq!(page.map(|p| p.1), Some(7), "the very chunk, from its start");
        // Another worker took the guessed chunk: the claim got the one after it.
        assert!(
            carried(read_for.clone())
                .for_lease(&lease(&chunk(3, None)))
                .is_none()
        );
        // The guessed chunk, but someone committed rows in it meanwhile.
        let moved_on = chunk(2, Some("150"));
        assert!(carried(read_for).for_lease(&lease(&moved_on)).is_none());
        // The same chunk number with other bounds (a job's chunks are never redrawn, but
        // the bounds are what the page was read within).
        let mut redrawn = chunk(2, None);
        redrawn.hi = Some("999".into());
        assert!(
            carried(chunk(2, None))
                .for_lease(&lease(&redrawn))
                .is_none()
        );
        // Read from a cursor, claimed with the same cursor.
        let resumed = chunk(2, Some("150"));
        assert!(
            carried(resumed.clone())
                .for_lease(&lease(&resumed))
                .is_some()
        );
    }
}
