//! Applying finished background work to state. Stale answers (a page the operator has
//! already moved past) are dropped by generation; failures become one-line messages.

use chrono::Duration;

use super::app::App;
use super::screens::Loadable;
use super::screens::data::Reveal;
use super::state::{Connection, Popup};
use super::tasks::{self, TaskResult};

impl App {
    /// Applies one task result (the event loop and [`App::settle`] call this).
    pub fn apply(&mut self, result: TaskResult) {
        match result {
            TaskResult::Connected(Ok(store)) => {
                self.state.status.connection = Connection::Connected;
                self.store = Some(store.clone());
                self.tasks.spawn(
                    "estimates",
                    tasks::estimates(store, self.setup.models.clone()),
                );
                self.load_overview();
                if let Some(model) = self.state.data.table.as_ref().map(|t| t.model.clone()) {
                    self.open_table(&model);
                }
            }
            TaskResult::Connected(Err(message)) => {
                self.state.status.connection = Connection::Failed(message.clone());
                self.state.error(message.clone());
                let failed = format!("not connected: {message}");
                self.state.overview.census = Loadable::Failed(failed.clone());
                self.state.audit.view = Loadable::Failed(failed.clone());
                self.state.health.view = Loadable::Failed(failed.clone());
                self.state.keys.jobs = Loadable::Failed(failed);
            }
            TaskResult::Estimates(estimates) => {
                for (name, estimate) in estimates {
                    if let Some(entry) = self.state.data.models.iter_mut().find(|m| m.name == name)
                    {
                        entry.estimate = Some(estimate);
                    }
                }
            }
            TaskResult::Page { generation, result } => {
                let Some(table) = &mut self.state.data.table else {
                    return;
                };
                if table.generation != generation {
                    return;
                }
                match result {
                    Ok(mut page) if page.model == table.model => {
                        let note = page.note.take();
                        table.apply_page(page);
                        if let Some(note) = note {
                            self.state.notice(note);
                        }
                    }
                    Ok(_) => {}
                    Err(message) => {
                        table.fail(message.clone());
                        self.state.error(message);
                    }
                }
                let width = self.state.size.0;
                if let Some(table) = &mut self.state.data.table {
                    table.col_offset = super::screens::data_columns::keep_visible(table, width);
                }
            }
            TaskResult::Matches {
                generation,
                model,
                result,
            } => {
                let Some(table) = &mut self.state.data.table else {
                    return;
                };
                if table.generation != generation || table.model != model {
                    return;
                }
                match result {
                    Ok((rows, note)) => {
                        let n = rows.len();
                        table.apply_matches(rows);
                        let mut text = format!("{n} match{}", if n == 1 { "" } else { "es" });
                        if let Some(note) = note {
                            text = format!("{text}; {note}");
                        }
                        self.state.notice(text);
                    }
                    Err(message) => {
                        table.fail(message.clone());
                        self.state.error(message);
                    }
                }
            }
            TaskResult::Revealed { cell, result } => self.apply_reveal(cell, result),
            TaskResult::Census(result) => {
                self.state.overview.census = Loadable::from_result(result)
            }
            TaskResult::Audit(result) => self.state.audit.apply_view(Loadable::from_result(result)),
            TaskResult::AuditScreen(result) => self.apply_audit(result),
            TaskResult::Health(result) => self.apply_health(result),
            TaskResult::HealthProgress(tick) => self.state.health.apply_tick(tick),
            TaskResult::Retire(update) => self.apply_retire(update),
            TaskResult::Jobs(result) => {
                self.jobs_polling = false;
                self.state.keys.jobs = Loadable::from_result(result);
                let len = self.state.keys.jobs.ready().map_or(0, Vec::len);
                self.state.keys.job_cursor = self.state.keys.job_cursor.min(len.saturating_sub(1));
            }
            TaskResult::RotationPlan(result) => self.apply_plan(result),
            TaskResult::Rotation(event) => self.state.keys.apply_event(&event),
            TaskResult::RotationFinished { errors } => self.apply_rotation_finished(errors),
            TaskResult::KeyRegistry(Ok(listing)) => self.state.keys.apply_registry(listing),
            TaskResult::KeyRegistry(Err(message)) => {
                self.state.error(format!("key registry: {message}"));
            }
            TaskResult::Crashed { task } => {
                self.fatal = Some(format!(
                    "internal error: the background task `{task}` failed; please report it"
                ));
                self.state.quit = true;
            }
        }
    }

    fn apply_reveal(&mut self, cell: tasks::CellRef, result: Result<crate::access::Cell, String>) {
        let dialog_open = matches!(&self.state.popup, Popup::Reveal(d) if d.cell == cell);
        match result {
            Ok(value) => {
                if dialog_open {
                    self.state.popup = Popup::None;
                }
                let seconds = self.state.reveal_timeout_seconds;
                let expires_at = self.state.now + Duration::seconds(seconds as i64);
                let column = cell.column.clone();
                if let Some(table) = &mut self.state.data.table {
                    table.reveals.retain(|r| r.cell != cell);
                    table.reveals.push(Reveal {
                        cell,
                        value,
                        expires_at,
                    });
                }
                self.state.status.last_error = None;
                self.state.notice(format!(
                    "revealed {column} (audited); masks again in {seconds} s"
                ));
                // The audit log changed: refresh the views that show it.
                if let Some(store) = self.store.clone() {
                    let now = self.state.now;
                    self.tasks.spawn(
                        "audit",
                        super::overview_data::audit(store, self.setup.ring.clone(), now),
                    );
                }
            }
            Err(message) => {
                if let Popup::Reveal(dialog) = &mut self.state.popup
                    && dialog_open
                {
                    dialog.busy = false;
                    dialog.error = Some(message.clone());
                }
                self.state.error(message);
            }
        }
    }
}
