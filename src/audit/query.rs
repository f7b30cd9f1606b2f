//! Reading the audit log: filtered pages newest first, following new entries written by any
//! process, and verifying the stored chain. Reads go through the ordinary store (they work
//! on a read-only session); verifying needs the audit key, listing does not.

use std::time::Duration;

use futures_util::StreamExt;

use super::AuditError;
use super::chain::{AuditKey, from_hex};
use super::entry::AuditEntry;
use super::log::from_stored;
use super::public_verify::{PublicReport, PublicVerifier};
use super::verify::{ChainVerifier, StoredHead, VerifyReport};
use crate::crypto::signed_note::NoteVerifier;
pub use crate::store::AuditFilter;
use crate::store::AuditRange;
use crate::store::AuditRowRef;
use crate::store::AuditSearch;
use crate::store::Store;

impl AuditFilter {
    fn search(&self, limit: u32) -> AuditSearch {
        AuditSearch {
            filter: self.clone(),
            limit,
            ..AuditSearch::default()
        }
    }
}

/// One page of matching entries, newest first; `before` is the id of the last entry of the
/// previous page (`None` for the first page).
pub async fn list(
    store: &Store,
    filter: &AuditFilter,
    before: Option<i64>,
    limit: u32,
) -> Result<Vec<AuditEntry>, AuditError> {
    let mut out = Vec::new();
    let mut before = before;
    // A record filter is narrowed after reading (see `record_match`): read on until the page
    // is full or the log is exhausted.
    loop {
        let search = AuditSearch {
            before_id: before,
            newest_first: true,
            ..filter.search(limit)
        };
        let batch = store.audit_search(&search).await?;
        let exhausted = batch.len() < limit as usize;
        before = batch.last().map(|e| e.id);
        out.extend(
            batch
                .into_iter()
                .map(from_stored)
                .filter(|e| filter.keeps(e)),
        );
        if exhausted || out.len() >= limit as usize || before.is_none() {
            out.truncate(limit as usize);
            return Ok(out);
        }
    }
}

/// Matching entries with ids after `after`, oldest first.
pub async fn after(
    store: &Store,
    filter: &AuditFilter,
    after: i64,
    limit: u32,
) -> Result<Vec<AuditEntry>, AuditError> {
    let search = AuditSearch {
        after_id: Some(after),
        ..filter.search(limit)
    };
    Ok(store
        .audit_search(&search)
        .await?
        .into_iter()
        .map(from_stored)
        .filter(|e| filter.keeps(e))
        .collect())
}

/// How an entry concerns a record id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordMatch {
    /// The entry names the id: its `record_id`, or one of the `ids` of a rows reveal.
    Named,
    /// A rows reveal that may have shown it without naming it: its `ids` were cut at the
    /// bound (`ids_truncated`), or an export entry written before exports listed ids.
    Possible,
}

impl RecordMatch {
    pub fn as_str(self) -> &'static str {
        match self {
            RecordMatch::Named => "named",
            RecordMatch::Possible => "possible",
        }
    }
}

/// Whether `entry` showed or touched record `id`. Only the plain detail (facts) is read:
/// record ids are not secret (they are shown to every role), so reveals keep them in the
/// clear, searchable on every backend; an encrypted detail (a write's values) is addressed
/// by its `record_id` column.
pub fn record_match(entry: &AuditEntry, id: &str) -> Option<RecordMatch> {
    if entry.content.record_id.as_deref() == Some(id) {
        return Some(RecordMatch::Named);
    }
    let detail = entry.content.detail.as_deref()?;
    if detail.starts_with("gAAAAA") {
        return None;
    }
    let facts: serde_json::Value = serde_json::from_str(detail).ok()?;
    let ids = facts.get("ids").and_then(serde_json::Value::as_array);
    if ids.is_some_and(|ids| ids.iter().any(|v| v.as_str() == Some(id))) {
        return Some(RecordMatch::Named);
    }
    let truncated = facts.get("ids_truncated") == Some(&serde_json::Value::Bool(true));
    let old_export = ids.is_none()
        && entry.content.record_id.is_none()
        && facts.get("scope").and_then(serde_json::Value::as_str) == Some("export");
    (truncated || old_export).then_some(RecordMatch::Possible)
}

impl AuditFilter {
    /// The exact test behind the SQL pre-filter (only the record filter needs one).
    fn keeps(&self, entry: &AuditEntry) -> bool {
        self.record
            .as_deref()
            .is_none_or(|id| record_match(entry, id).is_some())
    }
}

/// The newest entry's id (0 for an empty log), whatever the filter.
pub async fn newest_id(store: &Store) -> Result<i64, AuditError> {
    let range = AuditRange {
        limit: 1,
        newest_first: true,
        ..AuditRange::default()
    };
    Ok(store
        .audit_entries(&range)
        .await?
        .first()
        .map_or(0, |e| e.id))
}

/// Follows the log: each call to [`next`](Self::next) waits for entries newer than the last
/// one seen, polling by id; the wait between polls starts at 100 ms and doubles to 1 s while
/// nothing arrives, and resets when something does.
pub struct Follower {
    store: Store,
    filter: AuditFilter,
    last_id: i64,
    delay: Duration,
}

const FIRST_DELAY: Duration = Duration::from_millis(100);
const MAX_DELAY: Duration = Duration::from_secs(1);

impl Follower {
    /// Follows entries after `last_id` (use [`newest_id`] to start from now).
    pub fn new(store: &Store, filter: AuditFilter, last_id: i64) -> Follower {
        Follower {
            store: store.clone(),
            filter,
            last_id,
            delay: FIRST_DELAY,
        }
    }

    /// The next non-empty batch of new matching entries, oldest first.
    pub async fn next(&mut self) -> Result<Vec<AuditEntry>, AuditError> {
        loop {
            let batch = after(&self.store, &self.filter, self.last_id, 500).await?;
            if let Some(last) = batch.last() {
                self.last_id = last.id;
                self.delay = FIRST_DELAY;
                return Ok(batch);
            }
            tokio::time::sleep(self.delay).await;
            self.delay = (self.delay * 2).min(MAX_DELAY);
        }
    }
}

/// Rows read per query while verifying (memory stays bounded however long the log is).
const VERIFY_PAGE: u32 = 5_000;
/// Windows of rows fetched ahead while the verifier hashes the current one.
const PREFETCH_WINDOWS: usize = 3;

/// [`verify_rotated`] without a key from before a master-key rotation.
pub async fn verify(
    store: &Store,
    key: &AuditKey,
    expect_head: Option<&str>,
) -> Result<VerifyReport, AuditError> {
    verify_rotated(store, key, None, expect_head).await
}

/// Verifies the whole stored chain in id order, then the head. `expect_head` is the `head`
/// an earlier verify printed (64 hex digits), kept by the operator outside the database.
///
/// `old` is the audit key of MASTER_ENCRYPTION_KEY_OLD: after a master-key rotation the
/// oldest entries are chained under it and the rest under `key`, and the log verifies
/// whole (the chain may move to the new key once, never back).
pub async fn verify_rotated(
    store: &Store,
    key: &AuditKey,
    old: Option<&AuditKey>,
    expect_head: Option<&str>,
) -> Result<VerifyReport, AuditError> {
    // With keys given, the chain's verdict is always there.
    verify_log(store, Some((key, old)), expect_head, None)
        .await?
        .chain
        .ok_or(AuditError::NoMasterKey)
}

/// What one reading of the log found: the keyed chain's verdict (with the audit key) and
/// the public-key verdict (with the signing key's public half), each when asked for.
#[derive(Clone, Debug)]
pub struct LogVerification {
    pub chain: Option<VerifyReport>,
    pub public: Option<PublicReport>,
}

/// Verifies the log in one reading for both verifiers: the keyed chain (`chain_keys`: the
/// audit key and the one before a master-key rotation) and the signed checkpoints
/// (`public`: the verifier key and a checkpoint kept outside). Reading is what costs
/// (DESIGN §7, BENCHMARKS.md); hashing for both is a small part of it.
pub async fn verify_log(
    store: &Store,
    chain_keys: Option<(&AuditKey, Option<&AuditKey>)>,
    expect_head: Option<&str>,
    public: Option<(&NoteVerifier, Option<&str>)>,
) -> Result<LogVerification, AuditError> {
    let expected = match expect_head {
        None => None,
        Some(text) => Some(from_hex(text).ok_or(AuditError::BadExpectedHead)?),
    };
    let mut chain =
        chain_keys.map(|(key, old)| ChainVerifier::new(key, expected).with_old_key(old));
    let mut signed = match public {
        Some((key, outside)) => Some(PublicVerifier::prepare(store, key, outside).await?),
        None => None,
    };
    // Every row is read, whatever its id: the chain starts at id 1, so a row with an id of 0
    // or less was put there by hand, and is named (it once was never read, yet listed as
    // real). The count taken first is compared with what was read at the end.
    let counted = store.audit_count().await?;
    let mut last_id: Option<i64> = None;
    // Rows of the SQLite scan are hashed from the bytes read (no owned entry per row).
    let mut sink = |read: Read<'_>| match read {
        Read::Row(row) => {
            if let Some(chain) = chain.as_mut() {
                chain.push_row(row);
            }
            if let Some(signed) = signed.as_mut() {
                signed.push_row(row);
            }
        }
        Read::Entry(entry) => {
            if let Some(chain) = chain.as_mut() {
                chain.push(&entry);
            }
            if let Some(signed) = signed.as_mut() {
                signed.push(&entry);
            }
        }
    };
    read_all(store, &mut sink, &mut last_id).await?;
    loop {
        let head = store.audit_head().await?;
        // Another process may have appended after our last page: a head that names a newer
        // entry is read again, and only entries that never come are reported missing.
        let newer = head
            .as_ref()
            .is_some_and(|h| h.entry_id > last_id.unwrap_or(0));
        if newer && read_rows_after(store, &mut sink, &mut last_id).await? > 0 {
            continue;
        }
        let head = head.map(|h| StoredHead {
            last_id: h.entry_id,
            last_hash: h.entry_hash,
            head_mac: h.mac,
        });
        let chain = chain.map(|verifier| {
            let mut report = verifier.finish(head.as_ref());
            let unread = counted.max(0) as u64;
            if report.ok && report.entries < unread {
                report.fail_unread(unread - report.entries);
            }
            report
        });
        return Ok(LogVerification {
            chain,
            public: signed.map(PublicVerifier::finish),
        });
    }
}

/// Feeds every row of the log to `sink` in id order (rows with an id of 0 or less first),
/// as verification reads them; returns how many. Checkpoints and proofs build their
/// Merkle tree from this one reading.
pub async fn for_each_entry(
    store: &Store,
    sink: &mut (dyn FnMut(AuditEntry) + Send),
) -> Result<u64, AuditError> {
    let mut last_id = None;
    let mut owned = |read: Read<'_>| {
        sink(match read {
            Read::Row(row) => from_stored(row.to_entry()),
            Read::Entry(entry) => *entry,
        })
    };
    read_all(store, &mut owned, &mut last_id).await
}

/// A row as read: borrowed from the SQLite scan's buffer, or an entry of a page.
enum Read<'a> {
    Row(&'a AuditRowRef<'a>),
    Entry(Box<AuditEntry>),
}

/// Where rows go as they are read.
type ReadSink<'s> = dyn FnMut(Read<'_>) + Send + 's;

/// Reads every row in id order (rows below the chain's ids first): one scan of a SQLite
/// file on its own thread ([`Store::audit_scan`]), else keyset pages; then whatever was
/// appended meanwhile.
async fn read_all(
    store: &Store,
    sink: &mut ReadSink<'_>,
    last_id: &mut Option<i64>,
) -> Result<u64, AuditError> {
    let scanned = store
        .audit_scan_rows(None, &mut |row| sink(Read::Row(row)))
        .await?;
    if let Some((read, last)) = scanned {
        *last_id = last;
        return Ok(read + read_rows_after(store, sink, last_id).await?);
    }
    let below = read_rows_before_the_chain(store, sink, last_id).await?;
    Ok(below + read_rows_after(store, sink, last_id).await?)
}

/// Feeds the rows with an id of 0 or less (none in a genuine log) first.
async fn read_rows_before_the_chain(
    store: &Store,
    sink: &mut ReadSink<'_>,
    last_id: &mut Option<i64>,
) -> Result<u64, AuditError> {
    let mut read = 0;
    loop {
        let range = AuditRange {
            after: *last_id,
            before: Some(1),
            limit: VERIFY_PAGE,
            newest_first: false,
        };
        let page = store.audit_entries(&range).await?;
        let full = page.len() == VERIFY_PAGE as usize;
        for stored in page {
            *last_id = Some(stored.id);
            sink(Read::Entry(Box::new(from_stored(stored))));
            read += 1;
        }
        if !full {
            return Ok(read);
        }
    }
}

/// Feeds every row after `last_id` to the verifier, in id order; returns how many were read.
///
/// Up to the newest id at the start, rows are read in windows of ids fetched several at a
/// time on the pool's connections and consumed in order (decoding rows, not hashing, is the
/// cost of verifying a stored log); then keyset pages pick up anything newer. Windows are
/// used only when ids are dense enough: a log with huge id gaps (renumbered rows) is read by
/// keyset pages alone, so no id range can make verification scan empty windows for long.
async fn read_rows_after(
    store: &Store,
    sink: &mut ReadSink<'_>,
    last_id: &mut Option<i64>,
) -> Result<u64, AuditError> {
    let mut read = 0;
    let start = last_id.unwrap_or(0).max(0);
    let newest = newest_id(store).await?;
    let span = newest.saturating_sub(start);
    let dense = span > 0 && span <= 2 * store.audit_count().await?.max(0) + VERIFY_PAGE as i64;
    if dense {
        let page = VERIFY_PAGE as i64;
        let windows = (0..(span + page - 1) / page).map(|i| {
            let after = start + i * page;
            AuditRange {
                after: Some(after),
                before: Some((after + page).min(newest) + 1),
                limit: VERIFY_PAGE,
                newest_first: false,
            }
        });
        let mut pages = futures_util::stream::iter(windows)
            .map(|range| async move { store.audit_entries(&range).await })
            .buffered(PREFETCH_WINDOWS);
        while let Some(page) = pages.next().await {
            for stored in page? {
                *last_id = Some(stored.id);
                sink(Read::Entry(Box::new(from_stored(stored))));
                read += 1;
            }
        }
        *last_id = Some(newest.max(last_id.unwrap_or(0)));
    }
    loop {
        let range = AuditRange {
            after: *last_id,
            limit: VERIFY_PAGE,
            ..AuditRange::default()
        };
        let page = store.audit_entries(&range).await?;
        let full = page.len() == VERIFY_PAGE as usize;
        for stored in page {
            *last_id = Some(stored.id);
            sink(Read::Entry(Box::new(from_stored(stored))));
            read += 1;
        }
        if !full {
            return Ok(read);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::EntryContent;

    fn entry(record_id: Option<&str>, detail: Option<&str>) -> AuditEntry {
        AuditEntry {
            id: 1,
            content: EntryContent {
                created_at: chrono::NaiveDateTime::default(),
                actor: "ana".into(),
                action: "reveal".into(),
                table_name: Some("t".into()),
                record_id: record_id.map(str::to_string),
                fields: vec![],
                detail: detail.map(str::to_string),
            },
            prev_hash: String::new(),
            entry_hash: String::new(),
        }
    }

    #[test]
    fn record_match_names_lists_and_admits_what_it_cannot_know() {
        let named = entry(None, Some(r#"{"ids":["7","a\"b"],"ids_truncated":false}"#));
        assert_eq!(record_match(&named, "7"), Some(RecordMatch::Named));
        assert_eq!(record_match(&named, "a\"b"), Some(RecordMatch::Named));
        assert_eq!(record_match(&named, "77"), None);
        let cell = entry(Some("7"), Some(r#"{"reason":"7"}"#));
        assert_eq!(record_match(&cell, "7"), Some(RecordMatch::Named));
        assert_eq!(record_match(&cell, "8"), None, "a reason is not an id");
        let cut = entry(None, Some(r#"{"ids":["1"],"ids_truncated":true}"#));
        assert_eq!(record_match(&cut, "5000"), Some(RecordMatch::Possible));
        let old_export = entry(None, Some(r#"{"reason":null,"scope":"export"}"#));
        assert_eq!(record_match(&old_export, "3"), Some(RecordMatch::Possible));
        // An encrypted detail (a write's values) is never read for ids.
        assert_eq!(record_match(&entry(None, Some("gAAAAAxyz")), "7"), None);
    }
}
