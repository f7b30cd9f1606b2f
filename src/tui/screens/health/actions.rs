//! The Health screen's keys and messages: the run in the background with its progress (one
//! at a time), export of the JSON report to a file, and the jump from a finding to the
//! Data screen at the record its evidence names.

use super::{Effect, HealthRun, HealthState, HealthView, Msg, loaders};
use crate::health::HealthOptions;
use crate::tui::context::{Ctx, Loadable, Task};
use crate::tui::keymap::Action;

impl HealthState {
    /// An action on the Health screen.
    pub fn on_action(&mut self, action: Action, ctx: &Ctx) -> Effect {
        match action {
            Action::Refresh => return self.rerun(ctx),
            Action::Severity => self.cycle_severity(),
            Action::Export => return self.export(ctx),
            Action::Open => return self.open_finding(),
            Action::Down => self.move_by(1),
            Action::Up => self.move_by(-1),
            Action::Back => return Effect::ClearMessage,
            _ => {}
        }
        Effect::None
    }

    /// Applies one message.
    pub fn update(&mut self, msg: Msg, ctx: &Ctx) -> Effect {
        match msg {
            Msg::Progress(tick) => {
                self.apply_tick(tick);
                Effect::None
            }
            Msg::Finished(result) => self.finish(result, ctx),
        }
    }

    /// The database could not be reached: the findings say why.
    pub fn disconnected(&mut self, failed: &str) {
        self.view = Loadable::Failed(failed.to_string());
    }

    /// Runs the health checks in the background (the same checks as `timber health`),
    /// reporting progress. A run asked for while one is going (a refresh after a rotation,
    /// say) starts when that one ends, so the results shown are never older than the ask.
    pub fn load(&mut self, ctx: &Ctx) -> Effect {
        let Some(store) = ctx.services.store.clone() else {
            return Effect::None;
        };
        if let Some(run) = &mut self.run {
            run.rerun = true;
            return Effect::None;
        }
        let surveyed = ctx.services.encrypted_models().count();
        self.view = Loadable::Loading;
        self.run = Some(HealthRun::new(surveyed));
        let options = HealthOptions {
            now: ctx.now.naive_utc(),
            ..HealthOptions::default()
        };
        let (settings, models) = (ctx.services.settings.clone(), ctx.services.models.clone());
        Effect::Spawn(Task::with_progress("health", move |progress| {
            let options = loaders::with_progress(options, progress);
            loaders::run(store, settings, models, options)
        }))
    }

    /// Refresh on the Health screen: a new run, refused while one is going.
    fn rerun(&mut self, ctx: &Ctx) -> Effect {
        if let Some(run) = &self.run {
            return Effect::notice(format!(
                "health checks already running ({}); a second run is refused, results come when this one ends",
                run.phase
            ));
        }
        if ctx.services.store.is_none() {
            return Effect::None;
        }
        Effect::notice("health checks started").then(self.load(ctx))
    }

    /// A run's results replace its progress; a run asked for meanwhile starts now.
    fn finish(&mut self, result: Result<HealthView, String>, ctx: &Ctx) -> Effect {
        let rerun = self.run.take().is_some_and(|r| r.rerun);
        self.view = Loadable::from_result(result);
        let len = self.rows().len();
        self.selected = self.selected.min(len.saturating_sub(1));
        if rerun {
            return self.load(ctx);
        }
        Effect::None
    }

    /// `e`: writes the report as `timber health --format json` prints it.
    fn export(&mut self, ctx: &Ctx) -> Effect {
        let Some(view) = self.view.ready() else {
            return Effect::notice("health checks still running; export once they finish");
        };
        let name = format!("timber-health-{}.json", ctx.now.format("%Y%m%dT%H%M%SZ"));
        let path = self.export_dir.join(name);
        let text = format!("{}\n", view.report_json);
        match std::fs::write(&path, text) {
            Ok(()) => Effect::notice(format!("health report written to {}", path.display())),
            Err(e) => Effect::error(format!(
                "cannot write the health report to {}: {e}",
                path.display()
            )),
        }
    }

    /// `enter`: a group of repeats expands or collapses; a finding opens the Data screen at
    /// its model, on its first named record.
    fn open_finding(&mut self) -> Effect {
        let group = match self.rows().get(self.selected) {
            Some(super::HealthRow::Group { findings, .. }) => {
                findings.first().map(|f| (f.id.clone(), f.severity.clone()))
            }
            _ => None,
        };
        if let Some(key) = group {
            if !self.expanded.remove(&key) {
                self.expanded.insert(key);
            }
            return Effect::None;
        }
        let Some(finding) = self.selected_finding() else {
            return Effect::None;
        };
        match finding.model.clone() {
            Some(model) => Effect::OpenModel {
                model,
                record: finding.record_id.clone(),
            },
            None => Effect::notice(format!("{} names no model to open", finding.id)),
        }
    }
}
