//! Audited reveals (DESIGN §6): plaintext of a secret is shown only after an audit entry
//! (who, role, table, record ids, fields, reason; never a value) has been written. The proof
//! is a [`RevealGrant`], which only this module can make, and only after the append
//! succeeded; [`Access::mask_row`] reveals exactly what a grant covers.
//!
//! Three kinds of reveal, each ONE entry:
//! - one cell ([`Access::reveal_cell`]): record id and field;
//! - rows ([`Access::reveal_rows`]): an export (`browse --reveal`: the role's `reveal` fields
//!   of every row) and/or the rows the owner rule shows (`owner_sees_own`: every field the
//!   role does not have `hidden`, of the acting user's own rows), for one CLI invocation or
//!   one console page. The entry's plain detail records the row count, the filter (field
//!   names and paging, never a searched value), the SHA-256 of the revealed ids and the ids
//!   themselves up to [`MAX_LOGGED_IDS`] (see [`ids_digest`]);
//! - an audit entry's values (`audit_reveal`);
//! - and, after a reveal, a copy of the value out of the console ([`Access::audit_copy`]):
//!   a `reveal` entry with scope `copy` naming the record and field.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use super::actions::ActionRefused;
use super::cell::Cell;
use super::view::{Access, Decision, owner_text};
use crate::audit::{Action, AuditError, AuditLog};
use crate::config::{Level, ModelDef, PolicyAction};
use crate::store::Record;
use crate::value::{Value, hex_lower};

/// Longest reason accepted (it is stored in every entry and shown in listings).
const MAX_REASON: usize = 500;

/// Record ids kept in a rows reveal's entry. Beyond it the entry keeps the count and the
/// digest of all of them (and `ids_truncated: true`), so it stays small enough for every
/// backend and `timber audit --record` reports such an entry as a possible match.
pub const MAX_LOGGED_IDS: usize = 1000;

/// Why a reveal was refused. Nothing was revealed.
#[derive(Debug, thiserror::Error)]
pub enum RevealError {
    #[error("role `{role}` must give a reason to reveal (--reason TEXT)")]
    ReasonRequired { role: String },
    #[error("the reason is longer than {MAX_REASON} characters")]
    ReasonTooLong,
    #[error("role `{role}` may not reveal {model}.{field} (its level is {level})")]
    NotAllowed {
        role: String,
        model: String,
        field: String,
        level: &'static str,
    },
    #[error("{model} has no field `{field}`")]
    UnknownField { model: String, field: String },
    #[error("reveal refused: its audit entry could not be written ({0})")]
    Audit(#[from] AuditError),
    /// The role is not granted the `reveal` (or, for an export, `export`) action.
    #[error(transparent)]
    NotGranted(#[from] ActionRefused),
}

/// Proof that a reveal was audited: which model, which records, which fields. Views drop
/// it after the policy's `reveal_timeout_seconds`.
#[derive(Clone, Debug)]
pub struct RevealGrant {
    model: String,
    /// The records whose `fields` are revealed (id texts).
    records: HashSet<String>,
    /// The role's `reveal` fields revealed for `records`.
    fields: Vec<String>,
    /// The acting user's own rows revealed by the owner rule (every field not hidden).
    own: HashSet<String>,
    entry_id: i64,
    issued: Instant,
}

impl RevealGrant {
    /// Whether `field` of record `id` was revealed (a `reveal` field of a covered record).
    pub fn covers(&self, model: &ModelDef, id: &Value, field: &str) -> bool {
        self.model == model.name
            && self.fields.iter().any(|f| f == field)
            && owner_text(id).is_some_and(|id| self.records.contains(&id))
    }

    /// Whether record `id` was revealed as the acting user's own row.
    pub fn covers_own(&self, model: &ModelDef, id: &Value) -> bool {
        self.model == model.name && owner_text(id).is_some_and(|id| self.own.contains(&id))
    }

    /// The audit entry that records this reveal.
    pub fn entry_id(&self) -> i64 {
        self.entry_id
    }

    /// The `reveal` fields revealed (owner-rule rows show every field not hidden).
    pub fn fields(&self) -> &[String] {
        &self.fields
    }

    /// How many rows the owner rule revealed.
    pub fn own_rows(&self) -> usize {
        self.own.len()
    }

    pub fn is_expired(&self, timeout: Duration) -> bool {
        self.issued.elapsed() >= timeout
    }
}

/// What a rows reveal is, for its audit entry.
#[derive(Clone, Debug, Default)]
pub struct RowsRequest {
    /// `export` (`browse --reveal`), `browse` (a CLI listing), `page` or `search` (console).
    pub scope: String,
    /// Reveal the role's `reveal` fields of every row (an export); otherwise only the
    /// owner rule's rows are revealed.
    pub export: bool,
    pub reason: Option<String>,
    /// How the rows were chosen: field names and paging only, never a searched value.
    pub filter: serde_json::Value,
}

/// The plain detail of a rows reveal, documented for auditors:
/// `rows` (how many records were revealed), `ids` (their ids as text, in the order shown,
/// at most [`MAX_LOGGED_IDS`]), `ids_truncated` (true when `ids` is not all of them),
/// `ids_sha256` (hex SHA-256 over every revealed id as text, each followed by `\n`, in the
/// order shown: `printf '%s\n' ID... | sha256sum` recomputes it), `owner_rows` (how many were
/// revealed by the owner rule), `filter`, `scope`, `role`, `reason`, and `asserted_user_from`
/// when the user was named by a flag or variable rather than the OS account.
pub fn ids_digest(ids: &[String]) -> String {
    let mut hasher = Sha256::new();
    for id in ids {
        hasher.update(id.as_bytes());
        hasher.update(b"\n");
    }
    hex_lower(&hasher.finalize()[..])
}

impl Access {
    /// Reveals one cell: checks the role (and reason), writes the audit entry, then returns
    /// the plaintext cell with its grant. A cell of the user's own row (owner rule) is
    /// audited the same way, without a reason.
    pub async fn reveal_cell(
        &self,
        log: &AuditLog,
        model: &ModelDef,
        record: &Record,
        field: &str,
        reason: Option<&str>,
    ) -> Result<(Cell, Option<RevealGrant>), RevealError> {
        let column = model
            .column(field)
            .ok_or_else(|| RevealError::UnknownField {
                model: model.name.clone(),
                field: field.to_string(),
            })?;
        let decision = self.decide(model, column);
        if decision == Decision::Plain {
            let row = self.mask_row(model, record, None);
            return Ok((row.cell(field).cloned().unwrap_or(Cell::Hidden), None));
        }
        let own = decision != Decision::Secret(Level::Hidden) && self.is_own_row(model, record);
        // The owner rule is not an action (it needs no grant); any other reveal needs `reveal`.
        if !own && decision == Decision::Secret(Level::Reveal) {
            self.grants().check(PolicyAction::Reveal)?;
        }
        if !own && decision != Decision::Secret(Level::Reveal) {
            let level = match decision {
                Decision::Secret(l) => l.as_str(),
                Decision::Plain => "plain",
            };
            return Err(RevealError::NotAllowed {
                role: self.identity().role.clone(),
                model: model.name.clone(),
                field: field.to_string(),
                level,
            });
        }
        let reason = if own {
            self.length_checked(reason)?
        } else {
            self.checked_reason(reason)?
        };
        let record_id = owner_text(&record.id).unwrap_or_default();
        let fields = vec![field.to_string()];
        let mut facts = self.base_facts(if own { "owner" } else { "cell" }, reason);
        let entry_id = log
            .record(
                &self.identity().user,
                Action::Reveal,
                Some(&model.table_name),
                Some(&record_id),
                &fields,
                Some(facts.take()),
            )
            .await?;
        let ids: HashSet<String> = [record_id].into_iter().collect();
        let grant = RevealGrant {
            model: model.name.clone(),
            records: if own { HashSet::new() } else { ids.clone() },
            fields: if own { Vec::new() } else { fields },
            own: if own { ids } else { HashSet::new() },
            entry_id,
            issued: Instant::now(),
        };
        let row = self.mask_row(model, record, Some(&grant));
        Ok((
            row.cell(field).cloned().unwrap_or(Cell::Hidden),
            Some(grant),
        ))
    }

    /// Records that the value of `field` of record `record_id`, already revealed on the
    /// operator's screen, was copied out of it (the console's `y`, to the clipboard): ONE
    /// `reveal` entry with scope `copy` (table, record id, field, role; never the value), so
    /// a copy is as visible in the log as the reveal it follows. A plain field needs no
    /// entry. Refused (and nothing may be copied) when the role may not reveal the field
    /// and it is not the operator's own row, or when the entry cannot be written.
    pub async fn audit_copy(
        &self,
        log: &AuditLog,
        model: &ModelDef,
        record_id: &Value,
        field: &str,
        own_row: bool,
    ) -> Result<(), RevealError> {
        let column = model
            .column(field)
            .ok_or_else(|| RevealError::UnknownField {
                model: model.name.clone(),
                field: field.to_string(),
            })?;
        let decision = self.decide(model, column);
        if decision == Decision::Plain {
            return Ok(());
        }
        if !own_row {
            if decision != Decision::Secret(Level::Reveal) {
                let level = match decision {
                    Decision::Secret(l) => l.as_str(),
                    Decision::Plain => "plain",
                };
                return Err(RevealError::NotAllowed {
                    role: self.identity().role.clone(),
                    model: model.name.clone(),
                    field: field.to_string(),
                    level,
                });
            }
            self.grants().check(PolicyAction::Reveal)?;
        }
        let record_id = owner_text(record_id).unwrap_or_default();
        let mut facts = self.base_facts("copy", None);
        log.record(
            &self.identity().user,
            Action::Reveal,
            Some(&model.table_name),
            Some(&record_id),
            &[field.to_string()],
            Some(facts.take()),
        )
        .await?;
        Ok(())
    }

    /// Reveals rows with ONE audit entry: for an export (`request.export`) the role's
    /// `reveal` fields of every record, and in any case the acting user's own rows under the
    /// owner rule. `None` (and no entry) when nothing would be revealed. A reason is
    /// required only for an export by a role that requires one.
    pub async fn reveal_rows(
        &self,
        log: &AuditLog,
        model: &ModelDef,
        records: &[Record],
        request: &RowsRequest,
    ) -> Result<Option<RevealGrant>, RevealError> {
        if request.export {
            // An export writes plaintext outside the console: `reveal` and `export`.
            self.grants()
                .check_all(&[PolicyAction::Reveal, PolicyAction::Export])?;
        }
        let export_fields = if request.export {
            self.revealable_fields(model)
        } else {
            Vec::new()
        };
        let reason = if export_fields.is_empty() {
            self.length_checked(request.reason.as_deref())?
        } else {
            self.checked_reason(request.reason.as_deref())?
        };
        let owner_fields = self.owner_fields(model);
        let own: Vec<String> = if owner_fields.is_empty() {
            Vec::new()
        } else {
            records
                .iter()
                .filter(|r| self.is_own_row(model, r))
                .filter_map(|r| owner_text(&r.id))
                .collect()
        };
        if export_fields.is_empty() && own.is_empty() {
            return Ok(None);
        }
        let ids: Vec<String> = if export_fields.is_empty() {
            own.clone()
        } else {
            records.iter().filter_map(|r| owner_text(&r.id)).collect()
        };
        let fields: Vec<String> = model
            .columns
            .iter()
            .map(|c| &c.name)
            .filter(|name| {
                export_fields.contains(name) || (!own.is_empty() && owner_fields.contains(name))
            })
            .cloned()
            .collect();
        let mut facts = self.base_facts(&request.scope, reason);
        facts.insert("rows", ids.len().into());
        facts.insert("owner_rows", own.len().into());
        facts.insert(
            "ids",
            ids.iter()
                .take(MAX_LOGGED_IDS)
                .cloned()
                .collect::<Vec<_>>()
                .into(),
        );
        facts.insert("ids_truncated", (ids.len() > MAX_LOGGED_IDS).into());
        facts.insert("ids_sha256", ids_digest(&ids).into());
        facts.insert("filter", request.filter.clone());
        // One revealed record is addressed by the entry itself, as a cell reveal is.
        let record_id = (ids.len() == 1).then(|| ids[0].clone());
        let entry_id = log
            .record(
                &self.identity().user,
                Action::Reveal,
                Some(&model.table_name),
                record_id.as_deref(),
                &fields,
                Some(facts.take()),
            )
            .await?;
        Ok(Some(RevealGrant {
            model: model.name.clone(),
            records: if export_fields.is_empty() {
                HashSet::new()
            } else {
                ids.into_iter().collect()
            },
            fields: export_fields,
            own: own.into_iter().collect(),
            entry_id,
            issued: Instant::now(),
        }))
    }

    /// The secret fields the owner rule shows in plaintext on the user's own rows (every
    /// secret the role does not have `hidden`); empty when the rule is off.
    pub fn owner_fields(&self, model: &ModelDef) -> Vec<String> {
        if !self.policy().owner_sees_own {
            return Vec::new();
        }
        model
            .columns
            .iter()
            .filter(|c| matches!(self.decide(model, c), Decision::Secret(l) if l != Level::Hidden))
            .map(|c| c.name.clone())
            .collect()
    }

    /// The facts every audited action of a role records: role, scope, reason, and where an
    /// asserted user came from.
    pub(crate) fn base_facts(&self, scope: &str, reason: Option<String>) -> Facts {
        let mut facts = Facts::default();
        facts.insert("reason", reason.into());
        facts.insert("role", self.identity().role.clone().into());
        facts.insert("scope", scope.into());
        if let Some(source) = &self.identity().asserted_by {
            facts.insert("asserted_user_from", source.clone().into());
            facts.insert(
                "os_user",
                self.identity().os_user.clone().unwrap_or_default().into(),
            );
        }
        facts
    }

    /// The reason when one is given but not required: trimmed and bounded.
    fn length_checked(&self, reason: Option<&str>) -> Result<Option<String>, RevealError> {
        let reason = reason.map(str::trim).filter(|r| !r.is_empty());
        if reason.is_some_and(|r| r.chars().count() > MAX_REASON) {
            return Err(RevealError::ReasonTooLong);
        }
        Ok(reason.map(str::to_string))
    }

    /// The reason, trimmed; required when the role says so.
    pub(crate) fn checked_reason(
        &self,
        reason: Option<&str>,
    ) -> Result<Option<String>, RevealError> {
        let reason = reason.map(str::trim).filter(|r| !r.is_empty());
        if reason.is_none() && self.require_reason() {
            return Err(RevealError::ReasonRequired {
                role: self.identity().role.clone(),
            });
        }
        if reason.is_some_and(|r| r.chars().count() > MAX_REASON) {
            return Err(RevealError::ReasonTooLong);
        }
        Ok(reason.map(str::to_string))
    }
}

/// A JSON object built in a fixed key order (the stored detail is hashed as written).
#[derive(Debug, Default)]
pub(crate) struct Facts(serde_json::Map<String, serde_json::Value>);

impl Facts {
    pub(crate) fn insert(&mut self, key: &str, value: serde_json::Value) {
        self.0.insert(key.to_string(), value);
    }

    pub(crate) fn take(&mut self) -> serde_json::Value {
        serde_json::Value::Object(std::mem::take(&mut self.0))
    }
}
