//! Applying the Data screen's messages. Stale answers (a page the operator has already
//! moved past) are dropped by generation; failures become one-line messages.

use chrono::Duration;

use super::loaders::CellRef;
use super::popups::Popup;
use super::table::Reveal;
use super::{DataState, Effect, MatchedRows, Msg};
use crate::access::Cell;
use crate::tui::context::{Ctx, Refresh};

impl DataState {
    /// Applies one message; `popup` is this screen's open popup, if any.
    pub fn update(&mut self, msg: Msg, popup: Option<&mut Popup>, ctx: &Ctx) -> Effect {
        match msg {
            Msg::Estimates(estimates) => {
                for (name, estimate) in estimates {
                    if let Some(entry) = self.models.iter_mut().find(|m| m.name == name) {
                        entry.estimate = Some(estimate);
                    }
                }
                Effect::None
            }
            Msg::Page { generation, result } => self.apply_page(generation, result, ctx),
            Msg::Matches {
                generation,
                model,
                result,
            } => self.apply_matches(generation, &model, result),
            Msg::Revealed { cell, result } => self.apply_reveal(cell, result, popup, ctx),
            Msg::Copied { cell, text, result } => self.apply_copy(cell, text, result),
        }
    }

    fn apply_page(
        &mut self,
        generation: u64,
        result: Result<super::PageView, String>,
        ctx: &Ctx,
    ) -> Effect {
        let Some(table) = &mut self.table else {
            return Effect::None;
        };
        if table.generation != generation {
            return Effect::None;
        }
        let effect = match result {
            Ok(mut page) if page.model == table.model => {
                let note = page.note.take();
                table.apply_page(page);
                note.map_or(Effect::None, Effect::Notice)
            }
            Ok(_) => Effect::None,
            Err(message) => {
                table.fail(message.clone());
                Effect::Error(message)
            }
        };
        table.col_offset = super::columns::keep_visible(table, ctx.size.0);
        effect
    }

    /// The rows of a filter, search or sort (the footer counts them; a stale answer, to
    /// text typed since, is dropped).
    fn apply_matches(
        &mut self,
        generation: u64,
        model: &str,
        result: Result<MatchedRows, String>,
    ) -> Effect {
        let Some(table) = &mut self.table else {
            return Effect::None;
        };
        if table.generation != generation || table.model != model {
            return Effect::None;
        }
        match result {
            Ok(matched) => {
                table.apply_matches(matched.rows, matched.more);
                matched.note.map_or(Effect::None, Effect::Notice)
            }
            Err(message) => {
                table.fail(message.clone());
                Effect::Error(message)
            }
        }
    }

    fn apply_reveal(
        &mut self,
        cell: CellRef,
        result: Result<Cell, String>,
        popup: Option<&mut Popup>,
        ctx: &Ctx,
    ) -> Effect {
        let dialog = match popup {
            Some(Popup::Reveal(d)) if d.cell == cell => Some(d),
            _ => None,
        };
        match result {
            Ok(value) => {
                // The dialog closes; opened from the record, the record comes back.
                let close = match dialog.map(|d| d.from_record) {
                    Some(Some(field)) => Effect::Popup(Popup::Detail { field }),
                    Some(None) => Effect::ClosePopup,
                    None => Effect::None,
                };
                let seconds = ctx.reveal_timeout_seconds;
                let expires_at = ctx.now + Duration::seconds(seconds as i64);
                let column = cell.column.clone();
                if let Some(table) = &mut self.table {
                    table.reveals.retain(|r| r.cell != cell);
                    table.reveals.push(Reveal {
                        cell,
                        value,
                        expires_at,
                    });
                }
                let notice = format!("revealed {column} (audited); masks again in {seconds} s");
                // The audit log changed: refresh the views that show it.
                close
                    .then(Effect::Notice(notice))
                    .then(Effect::Refresh(Refresh::AuditFeed))
            }
            Err(message) => {
                if let Some(dialog) = dialog {
                    dialog.busy = false;
                    dialog.error = Some(message.clone());
                }
                Effect::Error(message)
            }
        }
    }
}
