//! The Audit screen's detail pane: loading one entry masked for the role, its reveal with a
//! reason (`access::audit_reveal` writes the reveal's audit entry before anything is shown,
//! through the append-only audit connection, so also in a read-only session), and the
//! moment it masks again. The list, filter, verify and the tick are in `app_audit`.

use chrono::Duration;

use super::app::App;
use super::screens::Loadable;
use super::screens::audit::{AuditResult, DetailPane, InputKind};
use super::tasks::TaskResult;
use crate::audit::{AuditLog, lookup};

impl App {
    pub(super) fn open_audit_detail(&mut self) {
        match self.state.audit.selected_line().map(|l| l.id) {
            Some(id) => self.load_audit_detail(id, None),
            None => self.state.notice("no entry selected"),
        }
    }

    /// Loads entry `id` masked, or with `reveal` (its reason) revealed under an audit entry.
    pub(super) fn load_audit_detail(&mut self, id: i64, reveal: Option<Option<String>>) {
        let Some(store) = self.store.clone() else {
            return;
        };
        if reveal.is_none() {
            self.state.audit.detail = Some(DetailPane {
                id,
                view: Loadable::Loading,
                masked: None,
                revealed_until: None,
            });
        }
        let (ring, models, access) = (
            self.setup.ring.clone(),
            self.setup.models.clone(),
            self.access.clone(),
        );
        let log = self.audit_log.clone();
        let revealed = reveal.is_some();
        self.tasks.spawn("audit detail", async move {
            let result = async {
                let entry = lookup::entry(&store, id)
                    .await
                    .map_err(|e| e.to_string())?
                    .ok_or_else(|| format!("entry #{id} is no longer in the audit log"))?;
                let Some(reason) = reveal else {
                    return Ok(access.view_entry(&ring, &models, &entry));
                };
                let log = log
                    .get_or_try_init(|| AuditLog::open(&store, &ring))
                    .await
                    .map_err(|e| format!("reveal refused: the audit log cannot be opened ({e})"))?;
                access
                    .reveal_entry(log, &ring, &models, &entry, reason.as_deref())
                    .await
                    .map_err(|e| e.to_string())
            }
            .await
            .map(Box::new);
            TaskResult::AuditScreen(AuditResult::Detail {
                id,
                revealed,
                result,
            })
        });
    }

    /// `r` in the detail pane: asks for a reason when the role must give one.
    pub(super) fn reveal_audit_entry(&mut self) {
        let Some(view) = self
            .state
            .audit
            .detail
            .as_ref()
            .and_then(|p| p.view.ready())
        else {
            self.state
                .notice("open an entry (enter) to reveal its values");
            return;
        };
        if view.revealed_by.is_some() {
            return;
        }
        if let Some(why) = &self.state.audit.reveal_blocked {
            self.state.error(format!("reveal unavailable: {why}"));
            return;
        }
        if view.revealable.is_empty() {
            self.state.notice(format!(
                "role {} may reveal nothing in this entry",
                self.state.status.role
            ));
            return;
        }
        if self.access.require_reason() {
            self.open_audit_input(InputKind::Reason);
        } else {
            let id = view.entry.id;
            self.state.notice("revealing (writing the audit entry)…");
            self.load_audit_detail(id, Some(None));
        }
    }

    pub(super) fn submit_audit_reason(&mut self, reason: String) {
        let Some(input) = &mut self.state.audit.input else {
            return;
        };
        if reason.is_empty() {
            input.error = Some(format!(
                "role {} must give a reason to reveal",
                self.access.identity().role
            ));
            return;
        }
        let Some(id) = self.state.audit.detail.as_ref().map(|p| p.id) else {
            self.state.audit.input = None;
            return;
        };
        input.busy = true;
        input.error = None;
        self.load_audit_detail(id, Some(Some(reason)));
    }

    pub(super) fn apply_audit_detail(
        &mut self,
        id: i64,
        revealed: bool,
        result: Result<Box<crate::access::EntryView>, String>,
    ) {
        let result = result.map(|view| *view);
        let reason_open = matches!(&self.state.audit.input, Some(i) if i.kind == InputKind::Reason);
        let Some(pane) = self.state.audit.detail.as_mut().filter(|p| p.id == id) else {
            return;
        };
        match (result, revealed) {
            (Ok(view), false) => pane.view = Loadable::Ready(view),
            (Ok(view), true) => {
                let seconds = self.state.reveal_timeout_seconds;
                if let Loadable::Ready(masked) = std::mem::take(&mut pane.view) {
                    pane.masked = Some(masked);
                }
                pane.revealed_until = Some(self.state.now + Duration::seconds(seconds as i64));
                let by = view.revealed_by;
                pane.view = Loadable::Ready(view);
                if reason_open {
                    self.state.audit.input = None;
                }
                self.state.status.last_error = None;
                self.state.notice(match by {
                    Some(by) => format!(
                        "revealed entry #{id}'s values (audit entry #{by}); masks again in {seconds} s"
                    ),
                    None => format!("entry #{id} holds nothing to reveal"),
                });
                // The reveal is itself an entry: the tail shows it on the next poll.
            }
            (Err(message), false) => pane.view = Loadable::Failed(message),
            (Err(message), true) => {
                if let Some(input) = &mut self.state.audit.input {
                    input.busy = false;
                    input.error = Some(message.clone());
                }
                self.state.error(message);
            }
        }
    }
}
