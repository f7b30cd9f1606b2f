//! The Health screen's actions: the run in the background with its progress (one at a
//! time), export of the JSON report to a file, and the jump from a finding to the Data
//! screen at the record its evidence names (a filter on the primary key, so only that
//! record's row is fetched and masked as usual).

use std::sync::Arc;

use super::app::App;
use super::overview_data::HealthView;
use super::screens::Loadable;
use super::screens::data::{MatchKind, Matches};
use super::screens::health_progress::{HealthRun, HealthTick};
use super::tasks::{self, ProgressSender, TaskResult};
use crate::health::PhaseHook;
use crate::health::{HealthOptions, Progress};
use crate::store::Store;
use crate::store::parse_for_column;

impl App {
    /// Runs the health checks in the background (the same checks as `timber health`),
    /// reporting progress. A run asked for while one is going (a refresh after a rotation,
    /// say) starts when that one ends, so the results shown are never older than the ask.
    pub(super) fn spawn_health(&mut self, store: Store) {
        if let Some(run) = &mut self.state.health.run {
            run.rerun = true;
            return;
        }
        let surveyed = self
            .setup
            .models
            .models
            .iter()
            .filter(|m| m.has_encrypted_columns())
            .count();
        self.state.health.view = Loadable::Loading;
        self.state.health.run = Some(HealthRun::new(surveyed));
        let options = HealthOptions {
            now: self.state.now.naive_utc(),
            ..HealthOptions::default()
        };
        let options = with_progress(options, self.tasks.progress());
        let (settings, models) = (self.setup.settings.clone(), self.setup.models.clone());
        self.tasks.spawn(
            "health",
            super::overview_data::health_with(store, settings, models, options),
        );
    }

    /// Refresh on the Health screen: a new run, refused while one is going.
    pub(super) fn rerun_health(&mut self) {
        if let Some(run) = &self.state.health.run {
            let phase = run.phase.clone();
            self.state.notice(format!(
                "health checks already running ({phase}); a second run is refused, results come when this one ends"
            ));
            return;
        }
        if let Some(store) = self.store.clone() {
            self.state.notice("health checks started");
            self.spawn_health(store);
        }
    }

    /// A run's results replace its progress; a run asked for meanwhile starts now.
    pub(super) fn apply_health(&mut self, result: Result<HealthView, String>) {
        let rerun = self.state.health.run.take().is_some_and(|r| r.rerun);
        self.state.health.view = Loadable::from_result(result);
        let len = self.state.health.sorted().len();
        self.state.health.selected = self.state.health.selected.min(len.saturating_sub(1));
        if rerun && let Some(store) = self.store.clone() {
            self.spawn_health(store);
        }
    }

    /// `e`: writes the report as `timber health --format json` prints it.
    pub(super) fn export_health(&mut self) {
        let Some(view) = self.state.health.view.ready() else {
            self.state
                .notice("health checks still running; export once they finish");
            return;
        };
        let name = format!(
            "timber-health-{}.json",
            self.state.now.format("%Y%m%dT%H%M%SZ")
        );
        let path = self.state.health.export_dir.join(name);
        let text = format!("{}\n", view.report_json);
        match std::fs::write(&path, text) {
            Ok(()) => self
                .state
                .notice(format!("health report written to {}", path.display())),
            Err(e) => self.state.error(format!(
                "cannot write the health report to {}: {e}",
                path.display()
            )),
        }
    }

    /// `enter`: the Data screen at the finding's model, on its first named record.
    pub(super) fn open_finding(&mut self) {
        let Some(finding) = self.state.health.selected_finding() else {
            return;
        };
        let Some(model_name) = finding.model.clone() else {
            self.state
                .notice(format!("{} names no model to open", finding.id));
            return;
        };
        let record = finding.record_id.clone();
        self.open_table(&model_name);
        let (Some(record), Some(model), Some(store)) =
            (record, self.model(&model_name), self.store.clone())
        else {
            return;
        };
        let pk = model.primary_key().clone();
        let value = match parse_for_column(&record, &pk) {
            Ok(value) => value,
            Err(reason) => {
                self.state
                    .error(format!("record id `{record}` of {model_name}: {reason}"));
                return;
            }
        };
        let Some(table) = &mut self.state.data.table else {
            return;
        };
        let generation = table.begin_matches(Matches {
            kind: MatchKind::Filter,
            field: pk.name.clone(),
            label: format!("{} = {record} (from health)", pk.name),
        });
        let work = tasks::matches(
            store,
            self.setup.ring.clone(),
            self.access.clone(),
            self.audit_log.clone(),
            model,
            pk.name.clone(),
            value,
            generation,
        );
        self.tasks.spawn("matches", work);
    }
}

/// Options whose hooks send each phase and each page of the survey to the console.
fn with_progress(mut options: HealthOptions, progress: ProgressSender) -> HealthOptions {
    let rows = progress.clone();
    options.scan.progress = Some(Arc::new(move |p: &Progress| {
        rows.send(TaskResult::HealthProgress(HealthTick::Rows {
            model: p.model.clone(),
            rows_done: p.rows_done,
            rows_expected: p.rows_expected,
        }))
    }));
    options.phase = PhaseHook::new(move |phase| {
        progress.send(TaskResult::HealthProgress(HealthTick::Phase(phase.into())))
    });
    options
}
