//! The Data screen's background work: row estimates, a page, a filter, search or sort, a
//! reveal.
//! Each fetches through `store`, masks through `access` (so plaintext a role may not see
//! never reaches the screen) and answers with the screen's own [`Msg`]; errors become
//! one-line messages.

use std::sync::Arc;

use super::table::{Matches, Narrow};
use super::{MatchedRows, Msg};
use crate::access::{Access, Decision, RevealGrant, RowsRequest, SearchAudit, ViewRow};
use crate::audit::AuditLog;
use crate::config::{ModelDef, ModelSet};
use crate::crypto::KeyRing;
use crate::store::{Contains, Order, PageRequest, Record, RowQuery, Store};
use crate::tui::context::SharedLog;
use crate::value::Value;

/// Rows fetched by one search or filter (they are then paged on screen).
pub const MATCH_LIMIT: u32 = 500;

/// A page of masked rows, and how it was asked for.
#[derive(Clone, Debug)]
pub struct PageView {
    pub model: String,
    pub rows: Vec<ViewRow>,
    pub more_after: bool,
    pub more_before: bool,
    pub request: PageRequest,
    /// Why the operator's own rows are shown masked (their reveal could not be audited).
    pub note: Option<String>,
}

/// Which cell a reveal is for.
#[derive(Clone, Debug, PartialEq)]
pub struct CellRef {
    pub model: String,
    pub id: Value,
    pub column: String,
}

/// Row estimates for the model list (cheap statistics where the backend has them).
pub async fn estimates(store: Store, models: Arc<ModelSet>) -> Msg {
    let mut out = Vec::with_capacity(models.models.len());
    for model in &models.models {
        let estimate = store.estimate_rows(model).await.map_err(|e| e.to_string());
        out.push((model.name.clone(), estimate));
    }
    Msg::Estimates(out)
}

/// One page: fetched, decrypted (only these rows) and masked for the role; the operator's
/// own rows (owner rule) revealed under ONE audit entry for the page.
pub async fn page(
    store: Store,
    ring: Arc<KeyRing>,
    access: Arc<Access>,
    log: SharedLog,
    model: ModelDef,
    request: PageRequest,
    generation: u64,
) -> Msg {
    let result = match store.page(&model, &ring, &request).await {
        Ok(page) => {
            let filter = serde_json::json!({ "limit": request.limit });
            let (grant, note) = owner_grant(
                &store,
                &ring,
                &access,
                &log,
                &model,
                &page.records,
                "page",
                filter,
            )
            .await;
            Ok(PageView {
                model: model.name.clone(),
                rows: page
                    .records
                    .iter()
                    .map(|r| access.mask_row(&model, r, grant.as_ref()))
                    .collect(),
                more_after: page.more_after,
                more_before: page.more_before,
                request,
                note,
            })
        }
        Err(e) => Err(e.to_string()),
    };
    Msg::Page { generation, result }
}

/// The audited reveal of the operator's own rows among `records` (`None` when there are
/// none). When its entry cannot be written the rows stay masked, and the note says why.
#[allow(clippy::too_many_arguments)]
async fn owner_grant(
    store: &Store,
    ring: &Arc<KeyRing>,
    access: &Access,
    log: &SharedLog,
    model: &ModelDef,
    records: &[Record],
    scope: &str,
    filter: serde_json::Value,
) -> (Option<RevealGrant>, Option<String>) {
    if access.owner_fields(model).is_empty() || !records.iter().any(|r| access.is_own_row(model, r))
    {
        return (None, None);
    }
    let request = RowsRequest {
        scope: scope.to_string(),
        export: false,
        reason: None,
        filter,
    };
    let result = match log.get_or_try_init(|| AuditLog::open(store, ring)).await {
        Ok(log) => access
            .reveal_rows(log, model, records, &request)
            .await
            .map_err(|e| e.to_string()),
        Err(e) => Err(format!("the audit log cannot be opened ({e})")),
    };
    match result {
        Ok(grant) => (grant, None),
        Err(why) => (None, Some(format!("your own rows are shown masked: {why}"))),
    }
}

/// The rows a filter, search or sort asks for, narrowed and ordered by the database (at
/// most [`MATCH_LIMIT`]): a bare term in any column the role sees plain, `field=value` (a
/// blind-index search for a secret field, checked against the role and audited with the
/// field and match count, never the value, before any match is shown), the order of a
/// plain column (refused on a secret one: its order would tell what the mask hides).
pub async fn matches(
    store: Store,
    ring: Arc<KeyRing>,
    access: Arc<Access>,
    log: SharedLog,
    model: ModelDef,
    wanted: Matches,
    generation: u64,
) -> Msg {
    let result = async {
        let mut query = RowQuery {
            limit: MATCH_LIMIT,
            ..RowQuery::default()
        };
        let mut audited = None;
        let mut find = Vec::new();
        match &wanted.narrow {
            Some(Narrow::Text(term)) => {
                let columns = model
                    .columns
                    .iter()
                    .filter(|c| !c.encrypted && access.decide(&model, c) == Decision::Plain)
                    .map(|c| c.name.clone())
                    .collect();
                query.contains = Some(Contains {
                    columns,
                    term: term.clone(),
                });
                find.push("text".to_string());
            }
            Some(Narrow::Equals { field, value, .. }) => {
                let audit = access
                    .authorize_search(&model, field)
                    .map_err(|e| e.to_string())?;
                if audit == SearchAudit::Required {
                    audited = Some(field.clone());
                }
                query.equals = Some((field.clone(), value.clone()));
                find.push(field.clone());
            }
            None => {}
        }
        if let Some(sort) = &wanted.sort {
            let plain = model
                .column(&sort.column)
                .is_some_and(|c| access.decide(&model, c) == Decision::Plain);
            if !plain {
                return Err(format!(
                    "cannot sort {} by `{}`: it is not a plain column for role {}",
                    model.name,
                    sort.column,
                    access.identity().role
                ));
            }
            query.order = Some(Order {
                column: sort.column.clone(),
                descending: sort.descending,
            });
        }
        let (records, more) = store
            .query_rows(&model, &ring, &query)
            .await
            .map_err(|e| e.to_string())?;
        if let Some(field) = audited {
            let log = log
                .get_or_try_init(|| AuditLog::open(&store, &ring))
                .await
                .map_err(|e| {
                    format!("search refused: its audit entry could not be written ({e})")
                })?;
            access
                .audit_search(
                    log,
                    &model,
                    std::slice::from_ref(&field),
                    records.len(),
                    MATCH_LIMIT,
                    "search",
                )
                .await
                .map_err(|e| e.to_string())?;
        }
        let sort = wanted.sort.as_ref().map(|s| s.column.clone());
        let filter = serde_json::json!({ "find": find, "sort": sort, "limit": MATCH_LIMIT });
        let (grant, note) = owner_grant(
            &store, &ring, &access, &log, &model, &records, "search", filter,
        )
        .await;
        let rows = records
            .iter()
            .map(|r| access.mask_row(&model, r, grant.as_ref()))
            .collect();
        Ok(MatchedRows { rows, note, more })
    }
    .await;
    Msg::Matches {
        generation,
        model: model.name.clone(),
        result,
    }
}

/// The audited reveal of one cell (with the operator's reason when the role must give one).
pub async fn reveal(
    store: Store,
    ring: Arc<KeyRing>,
    access: Arc<Access>,
    log: SharedLog,
    model: ModelDef,
    cell: CellRef,
    reason: Option<String>,
) -> Msg {
    let result = async {
        let log = log
            .get_or_try_init(|| AuditLog::open(&store, &ring))
            .await
            .map_err(|e| format!("reveal refused: the audit log cannot be opened ({e})"))?;
        let record = store
            .get(&model, &ring, &cell.id)
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| "the record no longer exists".to_string())?;
        access
            .reveal_cell(log, &model, &record, &cell.column, reason.as_deref())
            .await
            .map(|(value, _grant)| value)
            .map_err(|e| e.to_string())
    }
    .await;
    Msg::Revealed { cell, result }
}

/// The audit entry of a revealed value's copy (`reveal`, scope `copy`), written before the
/// value reaches the clipboard; the answer carries the text back.
#[allow(clippy::too_many_arguments)]
pub async fn copy(
    store: Store,
    ring: Arc<KeyRing>,
    access: Arc<Access>,
    log: SharedLog,
    model: ModelDef,
    cell: CellRef,
    own_row: bool,
    text: String,
) -> Msg {
    let result = async {
        let log = log
            .get_or_try_init(|| AuditLog::open(&store, &ring))
            .await
            .map_err(|e| format!("its audit entry could not be written ({e})"))?;
        access
            .audit_copy(log, &model, &cell.id, &cell.column, own_row)
            .await
            .map_err(|e| e.to_string())
    }
    .await;
    Msg::Copied { cell, text, result }
}
