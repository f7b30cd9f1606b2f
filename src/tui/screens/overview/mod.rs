//! Screen 1, Overview: tiles for encryption coverage (the census), keys, health, audit and
//! rotation jobs. The census is this screen's own; the other tiles draw the state of the
//! screens they summarise (Keys, Health, Audit). The first frame shows "loading…" tiles
//! rather than waiting for a scan, and the coverage tile fills as the census goes: each
//! model's columns as soon as its table is read, with the rows read of the one being read
//! (issue 17: on a large database the tile was blank for seconds).

pub mod view;

use std::sync::Arc;

use crate::config::ModelSet;
use crate::config::Settings;
use crate::health::{CensusColumn, KeyConfig, Progress as ScanProgress, ScanOptions, take_census};
use crate::store::Store;
use crate::tui::context::{Ctx, Loadable, Progress, Refresh, Task};
use crate::tui::keymap::Action;

/// What this screen asks the root to do (it has no popup).
pub type Effect = crate::tui::context::Effect<Msg, std::convert::Infallible>;

/// Answers of this screen's background work.
#[derive(Debug)]
pub enum Msg {
    Census(Result<Vec<CensusColumn>, String>),
    /// While the census runs: one model's columns, its table read.
    Filled(Vec<CensusColumn>),
    /// While the census runs: rows read so far of the model being read.
    Reading {
        model: String,
        rows_done: u64,
        rows_expected: u64,
    },
}

#[derive(Clone, Debug, Default)]
pub struct OverviewState {
    pub census: Loadable<Vec<CensusColumn>>,
    /// The census so far, while it runs.
    pub filling: Option<CensusFill>,
}

/// A census in progress: the columns of the models read so far and where it is.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CensusFill {
    pub columns: Vec<CensusColumn>,
    pub models_done: usize,
    pub models_total: usize,
    /// The model being read: rows read, rows expected (the store's estimate).
    pub reading: Option<(String, u64, u64)>,
}

impl CensusFill {
    /// `census: UserProfile 12000/30000 rows · 1 of 4 models read`.
    pub fn status(&self) -> String {
        let reading = match &self.reading {
            Some((model, done, expected)) => format!("{model} {done}/{expected} rows · "),
            None => String::new(),
        };
        format!(
            "census: {reading}{} of {} models read",
            self.models_done, self.models_total
        )
    }
}

impl OverviewState {
    /// Applies one message.
    pub fn update(&mut self, msg: Msg) -> Effect {
        match msg {
            Msg::Census(result) => {
                self.census = Loadable::from_result(result);
                self.filling = None;
            }
            Msg::Filled(columns) => {
                if let Some(fill) = &mut self.filling {
                    fill.columns.extend(columns);
                    fill.models_done += 1;
                    fill.reading = None;
                }
            }
            Msg::Reading {
                model,
                rows_done,
                rows_expected,
            } => {
                if let Some(fill) = &mut self.filling {
                    fill.reading = Some((model, rows_done, rows_expected));
                }
            }
        }
        Effect::None
    }

    /// An action on the Overview: refresh loads everything it shows again.
    pub fn on_action(&mut self, action: Action) -> Effect {
        match action {
            Action::Refresh => Effect::Refresh(Refresh::All),
            Action::Back => Effect::ClearMessage,
            _ => Effect::None,
        }
    }

    /// Every load of this screen: the census.
    pub fn load(&mut self, ctx: &Ctx) -> Effect {
        let Some(store) = ctx.services.store.clone() else {
            return Effect::None;
        };
        self.census = Loadable::Loading;
        let s = ctx.services;
        self.filling = Some(CensusFill {
            models_total: s.encrypted_models().count(),
            ..CensusFill::default()
        });
        let (settings, models) = (s.settings.clone(), s.models.clone());
        Effect::Spawn(Task::with_progress("census", move |progress| {
            census(store, settings, models, progress)
        }))
    }

    /// The database could not be reached: the census says why.
    pub fn disconnected(&mut self, failed: &str) {
        self.census = Loadable::Failed(failed.to_string());
    }
}

/// The key census of every encrypted column (tokens told apart by HMAC, nothing decrypted),
/// a model at a time, each model's columns and the rows read sent as `progress`.
pub async fn census(
    store: Store,
    settings: Arc<Settings>,
    models: Arc<ModelSet>,
    progress: Progress<Msg>,
) -> Msg {
    let keys = KeyConfig::from_settings(&settings);
    let mut columns = Vec::new();
    for model in models
        .models
        .iter()
        .filter(|m| m.encrypted_columns().next().is_some())
    {
        let rows = progress.clone();
        let options = ScanOptions {
            progress: Some(Arc::new(move |p: &ScanProgress| {
                rows.send(Msg::Reading {
                    model: p.model.clone(),
                    rows_done: p.rows_done,
                    rows_expected: p.rows_expected,
                })
            })),
            ..ScanOptions::default()
        };
        match take_census(&store, &[model], &keys, &options).await {
            Ok(census) => {
                progress.send(Msg::Filled(census.columns.clone()));
                columns.extend(census.columns);
            }
            Err(e) => return Msg::Census(Err(e.to_string())),
        }
    }
    Msg::Census(Ok(columns))
}
