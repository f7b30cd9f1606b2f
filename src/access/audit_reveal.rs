//! One audit entry as the acting role may see it: its facts (who, what, where, the plain
//! detail such as a reason or a job id) and, when the stored detail is an encrypted token
//! holding the old and new values of a write, each changed field masked exactly as the Data
//! screen masks that column's cells (DESIGN §6). The values reach a caller as plaintext only
//! for plain columns or after [`Access::reveal_entry`] wrote its own audit entry.
//!
//! Decided here (the design is silent):
//! - a field whose model or column is no longer declared is `redact`ed and not revealable:
//!   without the declaration there is no rule saying who may read it;
//! - `owner_sees_own` does not apply: an entry's values are not the acting user's row;
//! - the reveal covers every field of the entry the role may reveal, with ONE audit entry
//!   (table, record and those fields, the reason, the role, `scope: audit_entry` and the
//!   revealed entry's id); it writes nothing when there is nothing to reveal.

use serde_json::Value as Json;

use super::cell::Cell;
use super::reveal::RevealError;
use super::view::{Access, Decision};
use crate::audit::{Action, AuditEntry, AuditLog, read_detail};
use crate::config::{ColumnDef, ColumnType, Level, ModelSet, PolicyAction};
use crate::crypto::{CellError, KeyRing, decode_plaintext};
use crate::value::Value;

/// One field of a write: its value before and after (`None`: that side has no value, as
/// the old side of an insert).
#[derive(Clone, Debug, PartialEq)]
pub struct ChangedField {
    pub field: String,
    pub old: Option<Cell>,
    pub new: Option<Cell>,
    /// The column is secret (encrypted or ruled): a revealed value is marked as such.
    pub secret: bool,
}

/// What an entry's stored detail says about values.
#[derive(Clone, Debug, PartialEq)]
pub enum EntryValues {
    /// No values: the detail is absent or plain facts.
    None,
    /// Old and new values, one per field (hidden columns left out).
    Changes(Vec<ChangedField>),
    /// The values cannot be read (no key, another key, corrupted); never a value.
    Unreadable(String),
}

/// An entry for display; the stored detail token itself is not kept.
#[derive(Clone, Debug, PartialEq)]
pub struct EntryView {
    /// The entry with `detail` removed when it was a token (it is shown as `values`).
    pub entry: AuditEntry,
    /// The plain detail (reason, role, job id...), when the detail is not encrypted.
    pub facts: Option<Json>,
    pub values: EntryValues,
    /// Fields shown masked that this role may reveal (with a reason when the role says so).
    pub revealable: Vec<String>,
    /// The audit entry that recorded the reveal, when the values are shown revealed.
    pub revealed_by: Option<i64>,
}

impl EntryView {
    /// `timber audit --show --format json`: the entry's listing fields, its hashes, the plain
    /// detail and the changes (`{"field", "old", "new"}`, masked unless revealed).
    pub fn to_json(&self) -> Json {
        let mut json = self.entry.to_json();
        let changes = match &self.values {
            EntryValues::Changes(changes) => Json::Array(
                changes
                    .iter()
                    .map(|c| {
                        let side = |cell: &Option<Cell>| cell.as_ref().and_then(Cell::to_json);
                        serde_json::json!({ "field": c.field, "old": side(&c.old), "new": side(&c.new) })
                    })
                    .collect(),
            ),
            _ => Json::Null,
        };
        if let Json::Object(map) = &mut json {
            map.insert("prev_hash".into(), self.entry.prev_hash.clone().into());
            map.insert("entry_hash".into(), self.entry.entry_hash.clone().into());
            map.insert("detail".into(), self.facts.clone().unwrap_or(Json::Null));
            map.insert("changes".into(), changes);
            if let EntryValues::Unreadable(why) = &self.values {
                map.insert("values_error".into(), why.clone().into());
            }
            map.insert("revealable".into(), self.revealable.clone().into());
            map.insert("revealed_by".into(), self.revealed_by.into());
        }
        json
    }
}

impl Access {
    /// The entry masked for this role (nothing revealed, nothing written).
    pub fn view_entry(&self, ring: &KeyRing, models: &ModelSet, entry: &AuditEntry) -> EntryView {
        self.entry_view(ring, models, entry, false)
    }

    /// Reveals the entry's values the role may reveal: checks the reason, writes the reveal's
    /// audit entry, and only then returns them revealed. Refused (nothing written) when the
    /// role may reveal none of its masked values.
    pub async fn reveal_entry(
        &self,
        log: &AuditLog,
        ring: &KeyRing,
        models: &ModelSet,
        entry: &AuditEntry,
        reason: Option<&str>,
    ) -> Result<EntryView, RevealError> {
        self.grants().check(PolicyAction::Reveal)?;
        let masked = self.entry_view(ring, models, entry, false);
        if masked.revealable.is_empty() {
            return match first_masked(&masked) {
                Some((field, level)) => Err(RevealError::NotAllowed {
                    role: self.identity().role.clone(),
                    model: entry.content.table_name.clone().unwrap_or_default(),
                    field,
                    level,
                }),
                // Nothing is masked: there is nothing to reveal and nothing to audit.
                None => Ok(masked),
            };
        }
        let reason = self.checked_reason(reason)?;
        let facts = serde_json::json!({
            "reason": reason,
            "role": self.identity().role,
            "scope": "audit_entry",
            "audit_entry": entry.id,
        });
        let reveal_id = log
            .record(
                &self.identity().user,
                Action::Reveal,
                entry.content.table_name.as_deref(),
                entry.content.record_id.as_deref(),
                &masked.revealable,
                Some(facts),
            )
            .await?;
        let mut view = self.entry_view(ring, models, entry, true);
        view.revealed_by = Some(reveal_id);
        Ok(view)
    }

    fn entry_view(
        &self,
        ring: &KeyRing,
        models: &ModelSet,
        entry: &AuditEntry,
        reveal: bool,
    ) -> EntryView {
        let encrypted = entry
            .content
            .detail
            .as_deref()
            .is_some_and(|d| d.starts_with("gAAAAA"));
        let mut shown = entry.clone();
        let (facts, values) = match read_detail(ring, entry) {
            Ok(None) => (None, EntryValues::None),
            Ok(Some(json)) if encrypted => (None, self.changes(models, entry, &json, reveal)),
            Ok(Some(json)) => (Some(json), EntryValues::None),
            Err(e) if encrypted => (None, EntryValues::Unreadable(e.to_string())),
            // A plain detail that is not JSON is shown as text (it holds no values).
            Err(_) => (
                entry.content.detail.clone().map(Json::String),
                EntryValues::None,
            ),
        };
        if encrypted {
            shown.content.detail = None;
        }
        let revealable = match (&values, reveal) {
            (EntryValues::Changes(changes), false) => changes
                .iter()
                .filter(|c| is_revealable(&c.old) || is_revealable(&c.new))
                .map(|c| c.field.clone())
                .collect(),
            _ => Vec::new(),
        };
        EntryView {
            entry: shown,
            facts,
            values,
            revealable,
            revealed_by: None,
        }
    }

    /// The `{"old": {...}, "new": {...}}` of a write as masked (or revealed) fields: the
    /// entry's changed fields first, in its order, then any other field the values name.
    fn changes(
        &self,
        models: &ModelSet,
        entry: &AuditEntry,
        json: &Json,
        reveal: bool,
    ) -> EntryValues {
        let side = |key: &str| json.get(key).and_then(Json::as_object);
        let (old, new) = (side("old"), side("new"));
        if old.is_none() && new.is_none() {
            return EntryValues::Unreadable("the values are not an old/new record".into());
        }
        let mut names: Vec<String> = entry.content.fields.clone();
        for map in [old, new].into_iter().flatten() {
            for name in map.keys() {
                if !names.contains(name) {
                    names.push(name.clone());
                }
            }
        }
        let model = entry
            .content
            .table_name
            .as_deref()
            .and_then(|t| models.find(t));
        let mut out = Vec::new();
        for name in names {
            let column = model.and_then(|m| m.column(&name));
            let decision = match (model, column) {
                (Some(m), Some(c)) => self.decide(m, c),
                _ => Decision::Secret(Level::Redact),
            };
            if decision == Decision::Secret(Level::Hidden) {
                continue;
            }
            let cell = |map: Option<&serde_json::Map<String, Json>>| {
                map.and_then(|m| m.get(&name))
                    .map(|j| self.entry_cell(decision, column, j, reveal))
            };
            let (old_cell, new_cell) = (cell(old), cell(new));
            if old_cell.is_none() && new_cell.is_none() {
                continue;
            }
            out.push(ChangedField {
                field: name.clone(),
                old: old_cell,
                new: new_cell,
                secret: decision != Decision::Plain,
            });
        }
        EntryValues::Changes(out)
    }

    fn entry_cell(
        &self,
        decision: Decision,
        column: Option<&ColumnDef>,
        json: &Json,
        reveal: bool,
    ) -> Cell {
        if let Some(error) = cell_error(json) {
            return Cell::Error(error);
        }
        let value = typed(json, column.map(|c| &c.ty));
        if value.is_null() {
            return Cell::Null;
        }
        match decision {
            Decision::Plain => Cell::Revealed(value),
            Decision::Secret(Level::Reveal) if reveal => Cell::Revealed(value),
            Decision::Secret(level) => self.masked(level, &value),
        }
    }
}

fn is_revealable(cell: &Option<Cell>) -> bool {
    matches!(
        cell,
        Some(Cell::Masked {
            revealable: true,
            ..
        })
    )
}

/// The first masked field and its level (for the refusal's message).
fn first_masked(view: &EntryView) -> Option<(String, &'static str)> {
    let EntryValues::Changes(changes) = &view.values else {
        return None;
    };
    changes.iter().find_map(|c| {
        [&c.old, &c.new].into_iter().find_map(|cell| match cell {
            Some(Cell::Masked { level, .. }) => Some((c.field.clone(), level.as_str())),
            _ => None,
        })
    })
}

/// `{"error": "unknown_key"}`: the old value could not be read when the write happened.
fn cell_error(json: &Json) -> Option<CellError> {
    let map = json.as_object().filter(|m| m.len() == 1)?;
    match map.get("error")?.as_str()? {
        "not_a_token" => Some(CellError::NotAToken),
        "unknown_key" => Some(CellError::UnknownKey),
        "corrupted" => Some(CellError::Corrupted),
        "not_text" => Some(CellError::NotText),
        _ => None,
    }
}

/// A value as recorded (`Value::to_json`) read back with the column's type when it is
/// declared, so masks are type-aware (an email keeps its domain, a number its shape).
fn typed(json: &Json, ty: Option<&ColumnType>) -> Value {
    let plaintext = match json {
        Json::Null => return Value::Null,
        Json::String(s) => s.clone(),
        other => other.to_string(),
    };
    if let Some(ty) = ty
        && let Ok(value) = decode_plaintext(plaintext.as_bytes(), ty)
    {
        return value;
    }
    match json {
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => n
            .as_i64()
            .map_or_else(|| Value::Numeric(n.to_string()), Value::Int),
        Json::String(s) => Value::Text(s.clone()),
        other => Value::Json(other.clone()),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::access::{Identity, MaskHasher};
    use crate::audit::EntryContent;
    use crate::config::{parse_models, parse_policy};
    use crate::crypto::Key;

    const MODELS: &str = "models:\n  - name: Patient\n    table_name: patients\n    columns:\n      - { name: id, type: Integer, primary_key: true }\n      - { name: email, type: String(255), encrypted: true }\n      - { name: ward, type: String(10) }\n";

    fn access(role: &str) -> Access {
        let policy = parse_policy(
            "default_role: viewer\nroles:\n  admin: { default: reveal, actions: [reveal] }\n  viewer: { default: redact }\n",
            Path::new("p.yaml"),
        )
        .unwrap();
        let identity = Identity::resolve(&policy, Some((role, "test")), Some("ana")).unwrap();
        Access::new(policy, identity, true, MaskHasher::from_derived([3; 32])).unwrap()
    }

    fn ring() -> KeyRing {
        let primary = Key::from_bytes([9; 32]);
        KeyRing::builder()
            .primary(primary.to_base64().as_str(), "ENCRYPTION_KEY")
            .and_then(|b| b.build())
            .unwrap()
    }

    fn entry(ring: &KeyRing, table: &str, values: Json) -> AuditEntry {
        let key = ring.key(&crate::crypto::KeyId::Primary).unwrap();
        AuditEntry {
            id: 4,
            content: EntryContent {
                created_at: chrono::NaiveDateTime::default(),
                actor: "app".into(),
                action: "update".into(),
                table_name: Some(table.into()),
                record_id: Some("1".into()),
                fields: vec!["email".into()],
                detail: Some(key.encrypt(values.to_string().as_bytes())),
            },
            prev_hash: String::new(),
            entry_hash: String::new(),
        }
    }

    #[test]
    fn values_are_masked_per_column_and_the_token_is_not_kept() {
        let ring = ring();
        let models = ModelSet {
            models: parse_models(MODELS, Path::new("m.yaml")).unwrap(),
            ..ModelSet::default()
        };
        let values = serde_json::json!({
            "old": { "email": "wz.secret@example.com", "ward": "A", "ssn": {"error": "unknown_key"} },
            "new": { "email": "wz.other@example.com", "ward": "B", "ssn": null },
        });
        let e = entry(&ring, "patients", values.clone());
        let view = access("admin").view_entry(&ring, &models, &e);
        let shown = format!("{view:?}");
        assert!(
            !shown.contains("wz.") && !shown.contains("gAAAA"),
            "{shown}"
        );
        assert_eq!(view.revealable, vec!["email".to_string()]);
        let EntryValues::Changes(changes) = &view.values else {
            panic!("{view:?}");
        };
        assert_eq!(
            changes[1].new,
            Some(Cell::Revealed(Value::Text("B".into())))
        );
        // `ssn` is not declared: redacted, never revealable; a recorded error stays one.
        assert_eq!(changes[2].old, Some(Cell::Error(CellError::UnknownKey)));
        assert_eq!(changes[2].new, Some(Cell::Null));

        let viewer = access("viewer").view_entry(&ring, &models, &e);
        assert!(viewer.revealable.is_empty());
        let undeclared = access("admin").view_entry(&ring, &models, &entry(&ring, "gone", values));
        assert!(undeclared.revealable.is_empty(), "{undeclared:?}");
        assert!(!format!("{undeclared:?}").contains("wz."));
    }
}
