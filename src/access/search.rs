//! Searching by a field (`browse --find FIELD=VALUE`, the console's `s` search). An exact
//! match on a secret is an equality oracle: whoever may search by `email` can test guesses
//! of anyone's email, whatever the cells show. So:
//!
//! - searching by a secret field (encrypted, a blind-index column, or a column a rule names)
//!   needs at least `hash` on it, the level that already lets the role correlate equal
//!   values; below that it is refused, naming the role and the field, before any query;
//! - every search by a secret field writes an audit entry (action `search`: table, the
//!   field names, the number of matches, the role), never the searched value; the matches
//!   are shown only once it is written. A search by a plain column is not one: the role
//!   reads that column in full on every page anyway.

use super::view::{Access, Decision};
use crate::audit::{Action, AuditError, AuditLog};
use crate::config::{Level, ModelDef};

/// Why a search was refused. Nothing was searched or shown.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error(
        "role `{role}` may not search {model} by {field}: its level for that field is {level}, and searching needs at least hash"
    )]
    NotAllowed {
        role: String,
        model: String,
        field: String,
        level: &'static str,
    },
    #[error("search refused: its audit entry could not be written ({0})")]
    Audit(#[from] AuditError),
}

/// Whether a permitted search has to be audited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SearchAudit {
    /// A plain column: no entry.
    NotNeeded,
    /// A secret: [`Access::audit_search`] must succeed before the matches are shown.
    Required,
}

impl Access {
    /// Checks that this role may search `model` by `field`. An unknown field is left to the
    /// store, which names it.
    pub fn authorize_search(
        &self,
        model: &ModelDef,
        field: &str,
    ) -> Result<SearchAudit, SearchError> {
        let Some(column) = model.column(field) else {
            return Ok(SearchAudit::NotNeeded);
        };
        match self.decide(model, column) {
            Decision::Plain => Ok(SearchAudit::NotNeeded),
            Decision::Secret(level) if level >= Level::Hash => Ok(SearchAudit::Required),
            Decision::Secret(level) => Err(SearchError::NotAllowed {
                role: self.identity().role.clone(),
                model: model.name.clone(),
                field: column.name.clone(),
                level: level.as_str(),
            }),
        }
    }

    /// Whether the role may search by `field` (for offering it in a prompt).
    pub fn may_search(&self, model: &ModelDef, field: &str) -> bool {
        self.authorize_search(model, field).is_ok()
    }

    /// Writes the `search` entry: table, field names, how many records matched (at most
    /// `limit` were asked for), role and scope; never the value searched for.
    pub async fn audit_search(
        &self,
        log: &AuditLog,
        model: &ModelDef,
        fields: &[String],
        matches: usize,
        limit: u32,
        scope: &str,
    ) -> Result<i64, SearchError> {
        let mut facts = self.base_facts(scope, None);
        facts.insert("matches", matches.into());
        facts.insert("limit", limit.into());
        Ok(log
            .record(
                &self.identity().user,
                Action::Search,
                Some(&model.table_name),
                None,
                fields,
                Some(facts.take()),
            )
            .await?)
    }
}
