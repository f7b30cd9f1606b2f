//! Routing finished background work: a screen's message goes to that screen (with its
//! popup, when it has one open); the root keeps only the connection and a crashed task.

use super::{App, ctx};
use crate::store::Store;
use crate::tui::app::state::Connection;
use crate::tui::app::tasks::TaskResult;
use crate::tui::screens::data;

impl App {
    /// Applies one task result (the event loop and [`App::settle`] call this).
    pub fn apply(&mut self, result: TaskResult) {
        match result {
            TaskResult::Connected(Ok(store)) => self.connected(store),
            TaskResult::Connected(Err(message)) => self.connection_failed(message),
            TaskResult::Overview(msg) => {
                let effect = self.state.overview.update(msg);
                self.run_overview(effect);
            }
            TaskResult::Data(msg) => {
                self.with_data_popup(|data, popup, ctx| data.update(msg, popup, ctx))
            }
            TaskResult::Audit(msg) => {
                let ctx = ctx(&self.services, &self.state);
                let effect = self.state.audit.update(msg, &ctx);
                self.run_audit(effect);
            }
            TaskResult::Keys(msg) => {
                self.with_keys_popup(|keys, popup, ctx| keys.update(msg, popup, ctx))
            }
            TaskResult::Health(msg) => {
                let ctx = ctx(&self.services, &self.state);
                let effect = self.state.health.update(msg, &ctx);
                self.run_health(effect);
            }
            TaskResult::Report(Ok(notice)) => self.state.notice(notice),
            TaskResult::Report(Err(error)) => self.state.error(error),
            TaskResult::Crashed { task } => {
                self.fatal = Some(format!(
                    "internal error: the background task `{task}` failed; please report it"
                ));
                self.state.quit = true;
            }
        }
    }

    /// The database answered: every screen loads, and an open table loads again.
    fn connected(&mut self, store: Store) {
        self.state.status.connection = Connection::Connected;
        self.services.connection_error = None;
        self.services.store = Some(store.clone());
        let estimates = data::loaders::estimates(store, self.services.models.clone());
        self.tasks.spawn(
            "estimates",
            async move { TaskResult::Data(estimates.await) },
        );
        self.load_all();
        let ctx = ctx(&self.services, &self.state);
        let effect = self.state.data.reopen_table(&ctx);
        self.run_data(effect);
    }

    /// The database could not be reached: every screen that waits on it says why.
    fn connection_failed(&mut self, message: String) {
        self.state.status.connection = Connection::Failed(message.clone());
        self.services.connection_error = Some(message.clone());
        self.state.error(message.clone());
        let failed = format!("not connected: {message}");
        self.state.overview.disconnected(&failed);
        self.state.audit.disconnected(&failed);
        self.state.health.disconnected(&failed);
        self.state.keys.disconnected(&failed);
    }
}
