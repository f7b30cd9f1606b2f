//! A worker's next page (`workers.rs`): read in the job's order, and for a lone worker
//! decided while the batch before it is written.

use std::future::Future;

use super::batch::{Decided, decide_batch};
use super::decide::Decider;
use super::job::RowOrder;
use super::run::{Live, Runner};
use super::scope::Scope;
use super::split::Cores;
use crate::store::{RotationRow, StoreError};
use crate::value::Value;

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
