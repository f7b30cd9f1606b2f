//! Applying the Audit screen's messages: the feed, a page of the tail, an entry's detail,
//! and a verify (which, on a broken chain, jumps to the first broken link).

use super::{AuditState, ChainStatus, Effect, Msg};
use crate::audit::VerifyReport;
use crate::tui::context::{Ctx, Loadable};

impl AuditState {
    /// Applies one message.
    pub fn update(&mut self, msg: Msg, ctx: &Ctx) -> Effect {
        match msg {
            Msg::Feed(result) => {
                let loaded = result.is_ok();
                self.apply_view(Loadable::from_result(result));
                // With a signing key, the console keeps the log checkpointed (when due).
                match (loaded, ctx.services.audit_signer(), ctx.services.store.clone()) {
                    (true, Ok(signer), Some(store)) => Effect::spawn(
                        "audit checkpoint (when due)",
                        super::feed::checkpoint_if_due(store, signer, ctx.now.naive_utc()),
                    ),
                    _ => Effect::None,
                }
            }
            Msg::List {
                generation,
                focus,
                result,
            } => {
                if generation != self.generation {
                    return Effect::None;
                }
                let error = match &result {
                    Err(message) => Effect::error(format!("audit log: {message}")),
                    Ok(_) => Effect::None,
                };
                self.apply_list(Loadable::from_result(result));
                match focus {
                    Some(id) => error.then(self.select_entry(id, ctx)),
                    None => error,
                }
            }
            Msg::Detail {
                id,
                revealed,
                result,
            } => self.apply_detail(id, revealed, result, ctx),
            Msg::Verified(result) => self.apply_verified(result, ctx),
            Msg::Checkpointed(Ok((id, size))) => Effect::notice(format!(
                "checkpoint {id} written: {size} entries signed; `timber audit checkpoint` prints such a note to keep outside"
            ))
            .then(self.load(ctx)),
            Msg::Checkpointed(Err(message)) => {
                Effect::error(format!("checkpoint not written: {message}"))
            }
            Msg::CheckpointDue(Ok(None)) => Effect::None,
            Msg::CheckpointDue(Ok(Some((id, size)))) => {
                Effect::notice(format!("audit checkpoint {id} written ({size} entries)"))
                    .then(self.load(ctx))
            }
            Msg::CheckpointDue(Err(message)) => {
                Effect::error(format!("no audit checkpoint written: {message}"))
            }
        }
    }

    /// Another role acts now: an entry shown (or revealed) under the old role is not kept.
    pub fn role_changed(&mut self) {
        self.detail = None;
    }

    /// The database could not be reached: the feed says why.
    pub fn disconnected(&mut self, failed: &str) {
        self.view = Loadable::Failed(failed.to_string());
    }

    fn apply_verified(&mut self, result: Result<VerifyReport, String>, ctx: &Ctx) -> Effect {
        self.verifying = false;
        let report = match result {
            Ok(report) => report,
            Err(message) => return Effect::error(format!("verify failed: {message}")),
        };
        self.verified_at = Some(ctx.now);
        let chain = if report.ok {
            ChainStatus::Intact {
                entries: report.entries,
            }
        } else {
            ChainStatus::Broken {
                first_broken: report.first_broken,
                reason: report
                    .reason
                    .clone()
                    .unwrap_or_else(|| "chain broken".into()),
            }
        };
        if let Loadable::Ready(view) = &mut self.view {
            view.chain = chain.clone();
        }
        self.chain = Some(chain);
        if report.ok {
            return Effect::notice(format!("audit chain intact: {} entries", report.entries));
        }
        self.jump_to_broken(report, ctx)
    }

    /// Selects the first broken link on the page around it, unfiltered and read afresh:
    /// the operator sees the row as it is stored now, with its neighbours, whatever the
    /// filter or the loaded page was.
    fn jump_to_broken(&mut self, report: VerifyReport, ctx: &Ctx) -> Effect {
        let reason = report.reason.unwrap_or_default();
        let Some(id) = report.first_broken else {
            return Effect::error(format!("audit chain broken: {reason}"));
        };
        // The badge has the whole reason; the message line names the damage and the entry.
        let damage = reason.split(':').next().unwrap_or("broken");
        // One message holds both facts: a second one would replace the first.
        let cleared = if self.filter.take().is_some() {
            "; filter cleared to show it"
        } else {
            ""
        };
        let error = Effect::error(format!(
            "audit chain broken at entry #{id} ({damage}){cleared}; it is selected below"
        ));
        self.anchor = Some(id);
        error.then(self.reload_list(ctx))
    }

    /// Selects entry `id` (or the nearest older one when it is gone, as a deleted link).
    fn select_entry(&mut self, id: i64, ctx: &Ctx) -> Effect {
        let Some(list) = self.list.ready() else {
            return Effect::None;
        };
        let index = list
            .iter()
            .position(|e| e.id == id)
            .or_else(|| list.iter().position(|e| e.id < id))
            .unwrap_or(0);
        let shown = list[index].id;
        self.selected = index;
        if self.detail.is_some() {
            return self.load_detail(shown, None, ctx);
        }
        Effect::None
    }
}
