//! Reading single entries by id: the detail of one entry (`timber audit --show ID`, the
//! console's detail pane) and the page of entries around one (the console's jump to the
//! first broken link of a chain, wherever it is in the log).

use super::AuditError;
use super::entry::AuditEntry;
use super::log::from_stored;
use crate::store::AuditRange;
use crate::store::Store;

/// The entry with this id, if the log holds one.
pub async fn entry(store: &Store, id: i64) -> Result<Option<AuditEntry>, AuditError> {
    let range = AuditRange {
        after: Some(id.saturating_sub(1)),
        before: Some(id.saturating_add(1)),
        limit: 1,
        newest_first: false,
    };
    Ok(store
        .audit_entries(&range)
        .await?
        .into_iter()
        .next()
        .map(from_stored)
        .filter(|e| e.id == id))
}

/// Up to `limit` entries around `id`, newest first: about a quarter of them newer than
/// `id`, the rest older (what is above a broken link is usually less interesting than
/// what led to it). Unfiltered: a broken link is shown whatever the filter was.
pub async fn around(store: &Store, id: i64, limit: u32) -> Result<Vec<AuditEntry>, AuditError> {
    let newer = i64::from(limit / 4);
    let range = AuditRange {
        after: None,
        before: Some(id.saturating_add(newer).saturating_add(1)),
        limit,
        newest_first: true,
    };
    Ok(store
        .audit_entries(&range)
        .await?
        .into_iter()
        .map(from_stored)
        .collect())
}
