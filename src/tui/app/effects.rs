//! The closed set of effects the screens ask for, run by the root: spawn a task, open or
//! close a popup, a notice or an error, clear the message line, switch screen, refresh
//! what other screens show, open a model's record, quit. A screen's effects carry its own
//! message and popup types; they are mapped into the root's here.

use std::convert::Infallible;

use super::{App, ctx};
use crate::tui::app::state::Popup;
use crate::tui::app::tasks::TaskResult;
use crate::tui::context::{Effect, Refresh};
use crate::tui::screens::{audit, data, health, keys, overview};

/// An effect in the root's terms.
pub(super) type RootEffect = Effect<TaskResult, Popup>;

fn no_popup(never: Infallible) -> Popup {
    match never {}
}

impl App {
    pub(super) fn run(&mut self, effect: RootEffect) {
        match effect {
            Effect::None => {}
            Effect::Spawn(task) => self.tasks.spawn_task(task),
            Effect::Popup(popup) => self.state.popup = popup,
            Effect::ClosePopup => self.state.popup = Popup::None,
            Effect::Notice(text) => self.state.notice(text),
            Effect::Error(text) => self.state.error(text),
            Effect::ClearMessage => self.state.clear_message(),
            Effect::Switch(screen) => self.state.screen = screen,
            Effect::Clipboard(text) => self
                .terminal_out
                .extend(crate::tui::app::terminal::osc52(&text)),
            Effect::Refresh(Refresh::All) => self.load_all(),
            Effect::Refresh(Refresh::AuditFeed) => {
                let ctx = ctx(&self.services, &self.state);
                let effect = self.state.audit.load(&ctx);
                self.run_audit(effect);
            }
            Effect::OpenModel { model, record } => {
                let ctx = ctx(&self.services, &self.state);
                let effect = self.state.data.open_record(&model, record, &ctx);
                self.run_data(effect);
            }
            Effect::Quit => self.state.quit = true,
            Effect::Batch(all) => {
                for effect in all {
                    self.run(effect);
                }
            }
        }
    }

    pub(super) fn run_data(&mut self, effect: data::Effect) {
        self.run(effect.map(TaskResult::Data, Popup::from));
    }

    pub(super) fn run_keys(&mut self, effect: keys::Effect) {
        self.run(effect.map(TaskResult::Keys, Popup::from));
    }

    pub(super) fn run_audit(&mut self, effect: audit::Effect) {
        self.run(effect.map(TaskResult::Audit, no_popup));
    }

    pub(super) fn run_health(&mut self, effect: health::Effect) {
        self.run(effect.map(TaskResult::Health, no_popup));
    }

    pub(super) fn run_overview(&mut self, effect: overview::Effect) {
        self.run(effect.map(TaskResult::Overview, no_popup));
    }

    /// Runs `handle` on the Data screen with its popup, if one of its popups is open; the
    /// popup is put back (changed) before the effects run.
    pub(super) fn with_data_popup(
        &mut self,
        handle: impl FnOnce(
            &mut data::DataState,
            Option<&mut data::Popup>,
            &crate::tui::context::Ctx,
        ) -> data::Effect,
    ) {
        let (mut mine, other) = std::mem::take(&mut self.state.popup).split_data();
        let ctx = ctx(&self.services, &self.state);
        let effect = handle(&mut self.state.data, mine.as_mut(), &ctx);
        self.state.popup = mine.map_or(other, Popup::from);
        self.run_data(effect);
    }

    /// As [`App::with_data_popup`], for the Keys screen.
    pub(super) fn with_keys_popup(
        &mut self,
        handle: impl FnOnce(
            &mut keys::KeysState,
            Option<&mut keys::Popup>,
            &crate::tui::context::Ctx,
        ) -> keys::Effect,
    ) {
        let (mut mine, other) = std::mem::take(&mut self.state.popup).split_keys();
        let ctx = ctx(&self.services, &self.state);
        let effect = handle(&mut self.state.keys, mine.as_mut(), &ctx);
        self.state.popup = mine.map_or(other, Popup::from);
        self.run_keys(effect);
    }

    /// Starts every Overview load (census, audit feed, jobs and key registry, health).
    pub(super) fn load_all(&mut self) {
        if self.services.store.is_none() {
            return;
        }
        let ctx = ctx(&self.services, &self.state);
        let overview = self.state.overview.load(&ctx);
        let audit = self.state.audit.load(&ctx);
        let keys = self.state.keys.load(&ctx);
        let health = self.state.health.load(&ctx);
        self.run_overview(overview);
        self.run_audit(audit);
        self.run_keys(keys);
        self.run_health(health);
    }
}
