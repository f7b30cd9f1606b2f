//! Audited reveals (DESIGN §6): a secret the role may reveal is shown only after an audit
//! entry (who, role, table, record, fields, reason; never the value) has been written. The
//! proof is a [`RevealGrant`], which only this module can make, and only after the append
//! succeeded; [`Access::mask_row`] reveals exactly what a grant covers.

use std::time::{Duration, Instant};

use super::actions::ActionRefused;
use super::cell::Cell;
use super::view::{Access, Decision};
use crate::audit::{Action, AuditError, AuditLog};
use crate::config::{Level, ModelDef, PolicyAction};
use crate::store::Record;
use crate::value::Value;

/// Longest reason accepted (it is stored in every entry and shown in listings).
const MAX_REASON: usize = 500;

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

/// Proof that a reveal was audited: which model, which record (`None`: every record of an
/// export), which fields. Views drop it after the policy's `reveal_timeout_seconds`.
#[derive(Clone, Debug)]
pub struct RevealGrant {
    model: String,
    record: Option<Value>,
    fields: Vec<String>,
    entry_id: i64,
    issued: Instant,
}

impl RevealGrant {
    pub fn covers(&self, model: &ModelDef, id: &Value, field: &str) -> bool {
        self.model == model.name
            && self.record.as_ref().is_none_or(|r| r == id)
            && self.fields.iter().any(|f| f == field)
    }

    /// The audit entry that records this reveal.
    pub fn entry_id(&self) -> i64 {
        self.entry_id
    }

    pub fn fields(&self) -> &[String] {
        &self.fields
    }

    pub fn is_expired(&self, timeout: Duration) -> bool {
        self.issued.elapsed() >= timeout
    }
}

impl Access {
    /// Reveals one cell: checks the role (and reason), writes the audit entry, then returns
    /// the plaintext cell with its grant. The user's own row needs no reveal and writes none.
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
        if decision == Decision::Plain
            || (decision != Decision::Secret(Level::Hidden) && self.is_own_row(model, record))
        {
            let row = self.mask_row(model, record, None);
            return Ok((row.cell(field).cloned().unwrap_or(Cell::Hidden), None));
        }
        if decision == Decision::Secret(Level::Reveal) {
            self.grants().check(PolicyAction::Reveal)?;
        } else {
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
        let reason = self.checked_reason(reason)?;
        let record_id = super::view::owner_text(&record.id);
        let fields = vec![field.to_string()];
        let grant = self
            .audit_reveal(log, model, record_id.as_deref(), fields, reason, "cell")
            .await?;
        let grant = RevealGrant {
            record: Some(record.id.clone()),
            ..grant
        };
        let row = self.mask_row(model, record, Some(&grant));
        Ok((
            row.cell(field).cloned().unwrap_or(Cell::Hidden),
            Some(grant),
        ))
    }

    /// Reveals, for one export (`browse --reveal`), every field of `model` the role may
    /// reveal, with ONE audit entry. Refused unless the role is granted `reveal` and
    /// `export`; `None` (and no entry) when it may reveal no field of the model.
    pub async fn reveal_export(
        &self,
        log: &AuditLog,
        model: &ModelDef,
        reason: Option<&str>,
    ) -> Result<Option<RevealGrant>, RevealError> {
        self.grants()
            .check_all(&[PolicyAction::Reveal, PolicyAction::Export])?;
        let fields = self.revealable_fields(model);
        if fields.is_empty() {
            return Ok(None);
        }
        let reason = self.checked_reason(reason)?;
        Ok(Some(
            self.audit_reveal(log, model, None, fields, reason, "export")
                .await?,
        ))
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

    async fn audit_reveal(
        &self,
        log: &AuditLog,
        model: &ModelDef,
        record_id: Option<&str>,
        fields: Vec<String>,
        reason: Option<String>,
        scope: &str,
    ) -> Result<RevealGrant, RevealError> {
        let facts = serde_json::json!({
            "reason": reason,
            "role": self.identity().role,
            "scope": scope,
        });
        let entry_id = log
            .record(
                &self.identity().user,
                Action::Reveal,
                Some(&model.table_name),
                record_id,
                &fields,
                Some(facts),
            )
            .await?;
        Ok(RevealGrant {
            model: model.name.clone(),
            record: None,
            fields,
            entry_id,
            issued: Instant::now(),
        })
    }
}
