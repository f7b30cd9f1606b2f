//! Streaming scans: a whole table is read in the database's own order by one streamed
//! statement (`Store::raw_stream`: on a SQLite file on a read-only connection of its own; a
//! sample, the first N by key, in key order), an in-memory SQLite database by keyset pages
//! (never OFFSET, never the whole table in memory), and each batch is split across the
//! worker pool while the next one is being read. Reading is async (sqlx); classification is
//! CPU-bound (an HMAC per candidate key), so it runs on `spawn_blocking` threads, one chunk
//! per core.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use tokio::task::JoinSet;

use super::classify::{ChunkStats, Classifier, ColumnJob, TableJob, record_id, token_tag};
use super::stats::ColumnStats;
use crate::config::{ColumnDef, ModelDef};
use crate::crypto::MasterGeneration;
use crate::crypto::{KeyId, inspect};
use crate::store::{RawRow, Recycler, Store, StoreError};
use crate::value::Value;

// Which tables and columns a scan reads. A model is scanned when it has encrypted columns
// and its table exists; only columns the table really has are read (drift is reported by
// `schema.drift`, not by a failed scan).

/// The column holding the search hash of `column`: its declared `blind_index`, else a
/// non-encrypted `<name>_hash` column of the same model (the pattern Timber's guide shows,
/// `email` / `email_hash`, which declares no link).
pub fn hash_column<'m>(model: &'m ModelDef, column: &ColumnDef) -> Option<&'m ColumnDef> {
    if let Some(name) = &column.blind_index {
        return model.column(name);
    }
    model
        .column(&format!("{}_hash", column.name))
        .filter(|c| !c.encrypted)
}

/// The scan of `model`, given the table's actual column names. `with_hashes` adds the
/// blind-index columns (health compares them with the plaintext). `None` when there is
/// nothing to read.
pub fn table_job(model: &ModelDef, existing: &[String], with_hashes: bool) -> Option<TableJob> {
    let exists = |name: &str| existing.iter().any(|c| c.eq_ignore_ascii_case(name));
    let mut fetch: Vec<String> = Vec::new();
    let position = |fetch: &mut Vec<String>, name: &str| -> usize {
        match fetch.iter().position(|f| f == name) {
            Some(i) => i,
            None => {
                fetch.push(name.to_string());
                fetch.len() - 1
            }
        }
    };
    let mut columns = Vec::new();
    for column in model.encrypted_columns().filter(|c| exists(&c.name)) {
        let value_at = position(&mut fetch, &column.name);
        let hash_at = if with_hashes {
            hash_column(model, column)
                .filter(|h| exists(&h.name))
                .map(|h| position(&mut fetch, &h.name))
        } else {
            None
        };
        columns.push(ColumnJob {
            def: column.clone(),
            value_at,
            hash_at,
        });
    }
    if columns.is_empty() {
        return None;
    }
    let owner_at = (model.encryption.per_user
        && model.column(&model.owner_column).is_some()
        && exists(&model.owner_column))
    .then(|| position(&mut fetch, &model.owner_column));
    Some(TableJob {
        model: model.name.clone(),
        table: model.table_name.clone(),
        fetch,
        columns,
        owner_at,
    })
}

/// Rows per keyset page.
pub const PAGE_ROWS: u32 = 4000;

/// Where a scan is, for a progress line or a TUI gauge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Progress {
    pub model: String,
    pub rows_done: u64,
    /// The store's fast estimate (may be off), or the sample size.
    pub rows_expected: u64,
}

pub type ProgressFn = Arc<dyn Fn(&Progress) + Send + Sync>;

/// How a scan reads.
#[derive(Clone)]
pub struct ScanOptions {
    /// Read at most this many rows per table (`--sample N`).
    pub sample: Option<u64>,
    pub page_rows: u32,
    /// Classification threads (default: the machine's cores).
    pub workers: usize,
    pub progress: Option<ProgressFn>,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            sample: None,
            page_rows: PAGE_ROWS,
            workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
            progress: None,
        }
    }
}

impl std::fmt::Debug for ScanOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScanOptions")
            .field("sample", &self.sample)
            .field("page_rows", &self.page_rows)
            .field("workers", &self.workers)
            .finish_non_exhaustive()
    }
}

/// One table's scan result.
#[derive(Debug)]
pub struct TableScan {
    pub job: Arc<TableJob>,
    /// One entry per `job.columns`.
    pub columns: Vec<ColumnStats>,
    pub rows: u64,
    /// True when `--sample` stopped the scan before the end of the table.
    pub sampled: bool,
}

/// Token fingerprints seen so far across every scanned column, and those seen twice.
///
/// `seen` holds every token's tag (millions on a big database), hashed with foldhash's
/// quality variant: std's SipHash was a fifth of a health run. It is seeded at random per
/// process, so tags an attacker writes into the database cannot be chosen to collide in it
/// (an unseeded hash of the tag's own bits could be flooded: tags of tokens that do not
/// authenticate are collected too).
#[derive(Debug, Default)]
pub struct DuplicateTracker {
    seen: HashSet<u128, foldhash::quality::RandomState>,
    pub repeated: HashSet<u128>,
}

impl DuplicateTracker {
    fn absorb(&mut self, tags: Vec<u128>) {
        for tag in tags {
            if !self.seen.insert(tag) {
                self.repeated.insert(tag);
            }
        }
    }
}

/// Scans one table (`estimate` rows, for the progress shown): one streamed statement (keyset
/// pages on an in-memory SQLite database), chunks classified in parallel, stats merged.
pub async fn scan_table(
    store: &Store,
    model: &ModelDef,
    estimate: u64,
    job: Arc<TableJob>,
    classifier: Arc<Classifier>,
    options: &ScanOptions,
    mut duplicates: Option<&mut DuplicateTracker>,
) -> Result<TableScan, StoreError> {
    let expected = match options.sample {
        Some(n) => n,
        None => estimate,
    };
    let names = job.fetch.clone();
    let fetch: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut scan = Classify {
        job,
        classifier,
        workers: options.workers.max(1),
        columns: Vec::new(),
        pending: JoinSet::new(),
        rows_read: 0,
        recycler: None,
    };
    scan.columns = vec![ColumnStats::default(); scan.job.columns.len()];
    let mut sampled = false;
    // One more row than the sample, to tell whether the table has more.
    if let Some(mut stream) = store.raw_stream(model, &fetch, options.sample.map(|n| n + 1))? {
        scan.recycler = Some(stream.recycler());
        while let Some(page) = stream.next().await {
            let mut page = page?;
            if let Some(n) = options.sample {
                let left = usize::try_from(n.saturating_sub(scan.rows_read)).unwrap_or(usize::MAX);
                if page.len() > left {
                    page.truncate(left);
                    sampled = true;
                }
            }
            scan.feed(page, &mut duplicates).await?;
            report(options, model, scan.rows_read, expected);
        }
    } else {
        let mut after: Option<Value> = None;
        loop {
            let mut limit = options.page_rows.max(1);
            if let Some(n) = options.sample {
                let left = n.saturating_sub(scan.rows_read);
                if left == 0 {
                    // A sample ends early only if the table has more rows.
                    sampled = !store
                        .raw_page(model, &fetch, after.as_ref(), 1)
                        .await?
                        .is_empty();
                    break;
                }
                limit = limit.min(u32::try_from(left).unwrap_or(u32::MAX));
            }
            let page = store.raw_page(model, &fetch, after.as_ref(), limit).await?;
            let full = page.len() as u32 == limit;
            let Some(last) = page.last() else { break };
            after = Some(last.id.clone());
            scan.feed(page, &mut duplicates).await?;
            report(options, model, scan.rows_read, expected);
            if !full {
                break;
            }
        }
    }
    while !scan.pending.is_empty() {
        absorb(&mut scan.pending, &mut scan.columns, &mut duplicates).await?;
    }
    Ok(TableScan {
        job: scan.job,
        columns: scan.columns,
        rows: scan.rows_read,
        sampled,
    })
}

fn report(options: &ScanOptions, model: &ModelDef, rows_done: u64, expected: u64) {
    if let Some(progress) = &options.progress {
        progress(&Progress {
            model: model.name.clone(),
            rows_done,
            rows_expected: expected.max(rows_done),
        });
    }
}

/// A table's classification in progress: pages split across the workers, at most two
/// pages in flight.
struct Classify {
    job: Arc<TableJob>,
    classifier: Arc<Classifier>,
    workers: usize,
    columns: Vec<ColumnStats>,
    pending: JoinSet<ChunkStats>,
    rows_read: u64,
    /// Where pages go when classified (a SQLite file's reader refills them).
    recycler: Option<Recycler>,
}

/// A page shared by the chunks classifying it. The last chunk done hands it back to the
/// reading thread ([`Recycler`]), so its rows are refilled there rather than freed here.
struct SharedPage {
    rows: Vec<RawRow>,
    back: Option<Recycler>,
}

impl Drop for SharedPage {
    fn drop(&mut self) {
        if let Some(back) = &self.back {
            back.give_back(std::mem::take(&mut self.rows));
        }
    }
}

impl Classify {
    async fn feed(
        &mut self,
        page: Vec<RawRow>,
        duplicates: &mut Option<&mut DuplicateTracker>,
    ) -> Result<(), StoreError> {
        if page.is_empty() {
            return Ok(());
        }
        let page = Arc::new(SharedPage {
            rows: page,
            back: self.recycler.clone(),
        });
        if let Some(owner_at) = self.job.owner_at {
            derive_owner_keys(&self.classifier, &page.rows, owner_at, self.workers).await?;
        }
        let rows = page.rows.len();
        let chunk_len = rows.div_ceil(self.workers);
        for (i, start) in (0..rows).step_by(chunk_len).enumerate() {
            let (page, job, classifier) = (page.clone(), self.job.clone(), self.classifier.clone());
            let end = (start + chunk_len).min(rows);
            let position = self.rows_read + (i * chunk_len) as u64;
            self.pending
                .spawn_blocking(move || classifier.chunk(&job, &page.rows[start..end], position));
        }
        self.rows_read += rows as u64;
        // Keep at most two pages in flight: reading overlaps classification, memory stays
        // bounded.
        while self.pending.len() > 2 * self.workers {
            absorb(&mut self.pending, &mut self.columns, duplicates).await?;
        }
        Ok(())
    }
}

/// Derives the per-user keys of a page's owners before classifying it, each owner once,
/// spread over the workers. PBKDF2 (100 000 iterations) dominates a per-user scan; left to
/// the classifying chunks, two workers would derive the same owner's key at once.
async fn derive_owner_keys(
    classifier: &Arc<Classifier>,
    page: &[RawRow],
    owner_at: usize,
    workers: usize,
) -> Result<(), StoreError> {
    let ring = &classifier.ring;
    let mut owners: Vec<String> = page
        .iter()
        .filter_map(|r| r.values.get(owner_at).cloned().flatten())
        .filter(|o| {
            ring.user_keys
                .cached(MasterGeneration::Current, o)
                .is_none()
        })
        .collect();
    owners.sort();
    owners.dedup();
    if owners.is_empty() {
        return Ok(());
    }
    let mut tasks = JoinSet::new();
    let per_task = owners.len().div_ceil(workers);
    for group in owners.chunks(per_task) {
        let (ring, group) = (ring.clone(), group.to_vec());
        tasks.spawn_blocking(move || {
            for owner in group {
                ring.key(&KeyId::User(owner.clone()));
                ring.key(&KeyId::UserOld(owner));
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.map_err(|e| worker_stopped(&e))?;
    }
    Ok(())
}

fn worker_stopped(e: &tokio::task::JoinError) -> StoreError {
    StoreError::Query {
        what: "classify stored values".into(),
        table: String::new(),
        reason: format!("a scan worker stopped: {e}"),
    }
}

async fn absorb(
    pending: &mut JoinSet<ChunkStats>,
    columns: &mut [ColumnStats],
    duplicates: &mut Option<&mut DuplicateTracker>,
) -> Result<(), StoreError> {
    let Some(joined) = pending.join_next().await else {
        return Ok(());
    };
    let chunk = joined.map_err(|e| worker_stopped(&e))?;
    for (total, part) in columns.iter_mut().zip(chunk.columns) {
        total.merge(part);
    }
    if let Some(tracker) = duplicates.as_deref_mut() {
        tracker.absorb(chunk.tags);
    }
    Ok(())
}

/// A cell holding a repeated token: model, column, record id, position in the scan's order.
pub type TokenPlace = (String, String, String, u64);

/// Where each repeated token is, per fingerprint, in the order the first pass read the
/// table (a whole table in the database's order, a sample the first rows by key). A second,
/// cheap pass (base64 only, no HMAC), run only when duplicates were found, so the first pass
/// never has to keep every record id in memory. It reads as the first pass does (by key only
/// for a sample): by key a uuid-keyed table's pages are visited at random (3.9 s instead of 0.9 s for a
/// Timber-shaped 300 000-row SQLite table), and this pass runs when copied tokens were
/// found, in an incident.
pub async fn locate_tokens(
    store: &Store,
    model: &ModelDef,
    job: &TableJob,
    wanted: &HashSet<u128>,
    sample: Option<u64>,
    found: &mut HashMap<u128, Vec<TokenPlace>>,
) -> Result<(), StoreError> {
    let fetch: Vec<&str> = job.fetch.iter().map(String::as_str).collect();
    let mut rows_read: u64 = 0;
    let mut locate = |page: &[RawRow], rows_read: &mut u64| {
        for row in page {
            for col in &job.columns {
                let Some(Some(stored)) = row.values.get(col.value_at) else {
                    continue;
                };
                let tag = inspect::decode_token(inspect::unquote(stored))
                    .filter(|d| inspect::parse_decoded(d).is_ok())
                    .and_then(|d| token_tag(&d));
                if let Some(tag) = tag.filter(|t| wanted.contains(t)) {
                    found.entry(tag).or_default().push((
                        job.model.clone(),
                        col.def.name.clone(),
                        record_id(&row.id),
                        *rows_read,
                    ));
                }
            }
            *rows_read += 1;
        }
    };
    if let Some(mut stream) = store.raw_stream(model, &fetch, sample)? {
        let back = stream.recycler();
        while let Some(page) = stream.next().await {
            let page = page?;
            locate(&page, &mut rows_read);
            back.give_back(page);
        }
        return Ok(());
    }
    // An in-memory SQLite database: keyset pages.
    let mut after: Option<Value> = None;
    loop {
        let mut limit = PAGE_ROWS;
        if let Some(n) = sample {
            let left = n.saturating_sub(rows_read);
            if left == 0 {
                break;
            }
            limit = limit.min(u32::try_from(left).unwrap_or(u32::MAX));
        }
        let page = store.raw_page(model, &fetch, after.as_ref(), limit).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.id.clone());
        locate(&page, &mut rows_read);
        if (page.len() as u32) < limit {
            break;
        }
    }
    Ok(())
}
