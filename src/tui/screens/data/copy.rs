//! `y` and `Y`: the selected cell (on the table, or the record popup's field) or the row's
//! id, to the operator's clipboard through the terminal (OSC 52, so it works over SSH). Only
//! what is on screen as a value is copied: a plain column's value, or a secret revealed (by
//! `r`, audited, or the owner rule); a revealed secret's copy writes its own audit entry
//! (`reveal` with scope `copy`) before anything reaches the clipboard. A masked cell is
//! refused, saying to reveal it first.

use super::loaders::{self, CellRef};
use super::{DataState, Effect};
use crate::access::Cell;
use crate::tui::context::Ctx;
use crate::value::Value;

impl DataState {
    /// `y` on the table: the selected cell.
    pub(super) fn copy_selected(&mut self, ctx: &Ctx) -> Effect {
        match &self.table {
            Some(table) => {
                let field = table.col;
                self.copy_field(field, ctx)
            }
            None => Effect::notice("open a table to copy from it"),
        }
    }

    /// `y` on column `field` of the selected row.
    pub(super) fn copy_field(&mut self, field: usize, ctx: &Ctx) -> Effect {
        let Some(table) = &self.table else {
            return Effect::None;
        };
        let (Some(row), Some(column)) = (table.rows.get(table.row), table.columns.get(field))
        else {
            return Effect::notice("no cell selected; nothing copied");
        };
        let id = id_text(&row.id);
        let place = format!("{} of {} {id}", column.name, table.model);
        match table.cell(row, column) {
            Some(Cell::Revealed(value)) if column.secret => {
                let s = ctx.services;
                let (Some(store), Some(model)) = (s.store.clone(), s.model(&table.model)) else {
                    return Effect::error(s.not_connected());
                };
                let cell = CellRef {
                    model: table.model.clone(),
                    id: row.id.clone(),
                    column: column.name.clone(),
                };
                let work = loaders::copy(
                    store,
                    s.ring.clone(),
                    s.access.clone(),
                    s.audit_log.clone(),
                    model,
                    cell,
                    row.own_row,
                    value_text(value),
                );
                Effect::notice("copying (writing the audit entry)…")
                    .then(Effect::spawn("copy", work))
            }
            Some(Cell::Revealed(value)) => Effect::Clipboard(value_text(value))
                .then(Effect::notice(format!("copied {place} to the clipboard"))),
            Some(Cell::Masked {
                revealable: true, ..
            }) => Effect::error(format!(
                "{place} is masked: reveal it first (r), then copy it; nothing copied"
            )),
            Some(Cell::Masked { .. }) => Effect::error(format!(
                "{place} is masked for role {}; nothing copied",
                ctx.role()
            )),
            Some(Cell::Null) => Effect::notice(format!("{place} is NULL; nothing copied")),
            Some(Cell::Error(e)) => Effect::error(format!(
                "{place} is unreadable ({}); nothing copied",
                e.as_str()
            )),
            Some(Cell::Hidden) | None => Effect::notice("nothing to copy"),
        }
    }

    /// `Y`: the selected row's id (never a secret: ids are always shown).
    pub(super) fn copy_id(&mut self, _ctx: &Ctx) -> Effect {
        let Some(table) = &self.table else {
            return Effect::notice("open a table to copy from it");
        };
        let Some(row) = table.rows.get(table.row) else {
            return Effect::notice("no row selected; nothing copied");
        };
        let id = id_text(&row.id);
        Effect::Clipboard(id.clone()).then(Effect::notice(format!(
            "copied the id of {} {id} to the clipboard",
            table.model
        )))
    }

    /// The audited copy's answer: the clipboard once its entry is written.
    pub(super) fn apply_copy(
        &mut self,
        cell: CellRef,
        text: String,
        result: Result<(), String>,
    ) -> Effect {
        let place = format!("{} of {} {}", cell.column, cell.model, id_text(&cell.id));
        match result {
            Ok(()) => Effect::Clipboard(text)
                .then(Effect::notice(format!(
                    "copied {place} to the clipboard (audited)"
                )))
                .then(Effect::Refresh(crate::tui::context::Refresh::AuditFeed)),
            Err(e) => Effect::error(format!("copy of {place} refused: {e}")),
        }
    }
}

/// A value as text for the clipboard: text as it is, anything else as its JSON.
fn value_text(value: &Value) -> String {
    match value {
        Value::Text(s) => s.clone(),
        Value::Null => String::new(),
        other => match other.to_json() {
            serde_json::Value::String(s) => s,
            json => json.to_string(),
        },
    }
}

fn id_text(id: &Value) -> String {
    match id.to_json() {
        serde_json::Value::String(s) => s,
        other => other.to_string(),
    }
}
