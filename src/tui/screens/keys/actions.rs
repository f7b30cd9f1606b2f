//! The Keys screen's keys and messages: moving in the key ring or the jobs, opening the
//! wizard or the retirement dialog, the jobs' controls, the jobs table's polling, and
//! applying what the background work reports.

use super::{Effect, KeysState, Msg, Popup, loaders};
use crate::tui::context::{Ctx, Loadable, Refresh};
use crate::tui::keymap::Action;

impl KeysState {
    /// An action on the Keys screen. A write the role is not granted is refused here, with
    /// the reason the titles, hints and help show (a read-only session's writes are refused
    /// by their handlers, with their remedy).
    pub fn on_action(&mut self, action: Action, ctx: &Ctx) -> Effect {
        let governed = matches!(
            action,
            Action::Rotate | Action::RetireKey | Action::PauseJob | Action::CancelJob
        );
        if governed && let Some(refused) = ctx.not_granted(action) {
            return Effect::Error(refused);
        }
        // A cancel or takeover asked first: `enter` carries it out, any other key drops it.
        if let Some(pending) = self.pending.take() {
            return match action {
                Action::Open => self.confirmed(pending, ctx),
                _ => Effect::notice(match pending {
                    super::PendingJobAction::Cancel(id) => format!("job {id} not cancelled"),
                    super::PendingJobAction::Takeover(id) => format!("job {id} not taken over"),
                }),
            };
        }
        match action {
            Action::Refresh => return Effect::Refresh(Refresh::All),
            Action::Down => self.move_cursor(1),
            Action::Up => self.move_cursor(-1),
            Action::Left | Action::Right => self.toggle_focus(),
            Action::RetireKey => return self.open_retire(ctx),
            Action::Rotate => return self.open_rotation_wizard(ctx),
            Action::PauseJob => return self.pause_or_resume_job(ctx),
            Action::CancelJob => return self.cancel_job(ctx),
            Action::Census => self.show_census = !self.show_census,
            Action::Back if self.show_census => self.show_census = false,
            Action::Back => return Effect::ClearMessage,
            _ => {}
        }
        Effect::None
    }

    /// A key while one of this screen's popups is open.
    pub fn popup_key(
        &mut self,
        popup: &mut Popup,
        key: crossterm::event::KeyEvent,
        ctx: &Ctx,
    ) -> Effect {
        match popup {
            Popup::Rotate(wizard) => self.wizard_key(wizard, key, ctx),
            Popup::Retire(dialog) => self.retire_key_input(dialog, key, ctx),
        }
    }

    /// Pasted text (already one line) goes into the open popup's input.
    pub fn popup_paste(popup: &mut Popup, text: &str) {
        if let Popup::Retire(dialog) = popup {
            KeysState::retire_paste(dialog, text);
        }
    }

    /// Applies one message; `popup` is this screen's open popup, if any.
    pub fn update(&mut self, msg: Msg, popup: Option<&mut Popup>, ctx: &Ctx) -> Effect {
        match msg {
            Msg::Jobs(result) => {
                self.polling_jobs = false;
                self.jobs = Loadable::from_result(result);
                let len = self.jobs.ready().map_or(0, Vec::len);
                self.job_cursor = self.job_cursor.min(len.saturating_sub(1));
                self.answered_requests()
            }
            Msg::Registry(Ok(listing)) => {
                self.apply_registry(listing);
                Effect::None
            }
            Msg::Registry(Err(message)) => Effect::error(format!("key registry: {message}")),
            Msg::Plan(result) => {
                let wizard = match popup {
                    Some(Popup::Rotate(wizard)) => Some(wizard),
                    _ => None,
                };
                self.apply_plan(wizard, result);
                Effect::None
            }
            Msg::Rotation(event) => {
                self.apply_event(&event);
                // A rerun adopting a job whose worker is gone says so, as the CLI does.
                event.adoption_text().map_or(Effect::None, Effect::notice)
            }
            Msg::RotationFinished { jobs, errors } => self.apply_rotation_finished(jobs, errors),
            Msg::JobRequested {
                id,
                request,
                result,
            } => self.apply_job_request(id, request, result),
            Msg::RateSet { id, rate, result } => match result {
                Ok((table, was)) => {
                    let words = |r: Option<u64>| {
                        r.map_or("unlimited".to_string(), |r| format!("{r} rows/s"))
                    };
                    Effect::notice(format!(
                        "job {id} ({table}): max rate {} (was {})",
                        words(rate),
                        words(was)
                    ))
                    .then(Effect::Refresh(Refresh::All))
                }
                Err(e) => Effect::error(format!("job {id}: rate not changed: {e}")),
            },
            Msg::LagSet { id, lag, result } => match result {
                Ok((table, was)) => {
                    let words = |l: Option<f64>| {
                        l.map_or("not watched".to_string(), |l| {
                            format!("{l} s of replication lag")
                        })
                    };
                    Effect::notice(format!(
                        "job {id} ({table}): max lag {} (was {})",
                        words(lag),
                        words(was)
                    ))
                    .then(Effect::Refresh(Refresh::All))
                }
                Err(e) => Effect::error(format!("job {id}: lag limit not changed: {e}")),
            },
            Msg::Retire(update) => {
                let dialog = match popup {
                    Some(Popup::Retire(dialog)) => Some(dialog),
                    _ => None,
                };
                self.apply_retire(dialog, update, ctx)
            }
        }
    }

    /// Every load of this screen: the jobs table and the key registry.
    pub fn load(&mut self, ctx: &Ctx) -> Effect {
        let Some(store) = ctx.services.store.clone() else {
            return Effect::None;
        };
        let registry = loaders::key_registry(store.clone(), ctx.services.ring.clone());
        Effect::spawn("jobs", loaders::jobs(store)).then(Effect::spawn("keys", registry))
    }

    /// Polls the jobs table (jobs of every process) unless a poll is already out.
    pub fn poll_jobs(&mut self, ctx: &Ctx) -> Effect {
        if self.polling_jobs {
            return Effect::None;
        }
        let Some(store) = ctx.services.store.clone() else {
            return Effect::None;
        };
        self.polling_jobs = true;
        Effect::spawn("jobs", loaders::jobs(store))
    }

    /// The database could not be reached: the jobs say why.
    pub fn disconnected(&mut self, failed: &str) {
        self.jobs = Loadable::Failed(failed.to_string());
    }
}
