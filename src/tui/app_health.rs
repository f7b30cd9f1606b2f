//! The Health screen's actions: export of the JSON report to a file, and the jump from a
//! finding to the Data screen at the record its evidence names (a filter on the primary
//! key, so only that record's row is fetched and masked as usual).

use super::app::App;
use super::screens::data::{MatchKind, Matches};
use super::tasks;
use crate::store::convert::parse_for_column;

impl App {
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
            model,
            pk.name.clone(),
            value,
            generation,
        );
        self.tasks.spawn("matches", work);
    }
}
