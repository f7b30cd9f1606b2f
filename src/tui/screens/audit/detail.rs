//! The Audit screen's detail pane: loading one entry masked for the role, its reveal with a
//! reason (`access::audit_reveal` writes the reveal's audit entry before anything is shown,
//! through the append-only audit connection, so also in a read-only session), and the
//! moment it masks again (the tick, in `actions.rs`).

use chrono::Duration;

use super::feed;
use super::{AuditState, DetailPane, Effect, InputKind};
use crate::access::EntryView;
use crate::tui::context::{Ctx, Loadable};

impl AuditState {
    pub(super) fn open_detail(&mut self, ctx: &Ctx) -> Effect {
        match self.selected_line().map(|l| l.id) {
            Some(id) => self.load_detail(id, None, ctx),
            None => Effect::notice("no entry selected"),
        }
    }

    /// Loads entry `id` masked, or with `reveal` (its reason) revealed under an audit entry.
    pub(super) fn load_detail(
        &mut self,
        id: i64,
        reveal: Option<Option<String>>,
        ctx: &Ctx,
    ) -> Effect {
        let s = ctx.services;
        let Some(store) = s.store.clone() else {
            return Effect::None;
        };
        if reveal.is_none() {
            self.detail = Some(DetailPane {
                id,
                view: Loadable::Loading,
                masked: None,
                revealed_until: None,
            });
        }
        let work = feed::detail(
            store,
            s.ring.clone(),
            s.models.clone(),
            s.access.clone(),
            s.audit_log.clone(),
            id,
            reveal,
        );
        Effect::spawn("audit detail", work)
    }

    /// `r` in the detail pane: asks for a reason when the role must give one.
    pub(super) fn reveal_entry(&mut self, ctx: &Ctx) -> Effect {
        let Some(view) = self.detail.as_ref().and_then(|p| p.view.ready()) else {
            return Effect::notice("open an entry (enter) to reveal its values");
        };
        if view.revealed_by.is_some() {
            return Effect::None;
        }
        if let Some(why) = &self.reveal_blocked {
            return Effect::error(format!("reveal unavailable: {why}"));
        }
        if view.revealable.is_empty() {
            return Effect::notice(format!(
                "role {} may reveal nothing in this entry",
                ctx.role()
            ));
        }
        if ctx.services.access.require_reason() {
            self.open_input(InputKind::Reason);
            Effect::None
        } else {
            let id = view.entry.id;
            Effect::notice("revealing (writing the audit entry)…").then(self.load_detail(
                id,
                Some(None),
                ctx,
            ))
        }
    }

    pub(super) fn submit_reason(&mut self, reason: String, ctx: &Ctx) -> Effect {
        let Some(input) = &mut self.input else {
            return Effect::None;
        };
        if reason.is_empty() {
            input.error = Some(format!("role {} must give a reason to reveal", ctx.role()));
            return Effect::None;
        }
        let Some(id) = self.detail.as_ref().map(|p| p.id) else {
            self.input = None;
            return Effect::None;
        };
        input.busy = true;
        input.error = None;
        self.load_detail(id, Some(Some(reason)), ctx)
    }

    pub(super) fn apply_detail(
        &mut self,
        id: i64,
        revealed: bool,
        result: Result<Box<EntryView>, String>,
        ctx: &Ctx,
    ) -> Effect {
        let result = result.map(|view| *view);
        let reason_open = matches!(&self.input, Some(i) if i.kind == InputKind::Reason);
        let Some(pane) = self.detail.as_mut().filter(|p| p.id == id) else {
            return Effect::None;
        };
        match (result, revealed) {
            (Ok(view), false) => pane.view = Loadable::Ready(view),
            (Ok(view), true) => {
                let seconds = ctx.reveal_timeout_seconds;
                if let Loadable::Ready(masked) = std::mem::take(&mut pane.view) {
                    pane.masked = Some(masked);
                }
                pane.revealed_until = Some(ctx.now + Duration::seconds(seconds as i64));
                let by = view.revealed_by;
                pane.view = Loadable::Ready(view);
                if reason_open {
                    self.input = None;
                }
                // The reveal is itself an entry: the tail shows it on the next poll.
                return Effect::Notice(match by {
                    Some(by) => format!(
                        "revealed entry #{id}'s values (audit entry #{by}); masks again in {seconds} s"
                    ),
                    None => format!("entry #{id} holds nothing to reveal"),
                });
            }
            (Err(message), false) => pane.view = Loadable::Failed(message),
            (Err(message), true) => {
                if let Some(input) = &mut self.input {
                    input.busy = false;
                    input.error = Some(message.clone());
                }
                return Effect::Error(message);
            }
        }
        Effect::None
    }
}
