//! Screen 1, Overview: tiles for encryption coverage (the census), keys, health, audit and
//! rotation jobs. The census is this screen's own; the other tiles draw the state of the
//! screens they summarise (Keys, Health, Audit). The first frame shows "loading…" tiles
//! rather than waiting for a scan.

pub mod view;

use std::sync::Arc;

use crate::config::ModelSet;
use crate::config::Settings;
use crate::health::{CensusColumn, KeyConfig, ScanOptions, take_census};
use crate::store::Store;
use crate::tui::context::{Ctx, Loadable, Refresh};
use crate::tui::keymap::Action;

/// What this screen asks the root to do (it has no popup).
pub type Effect = crate::tui::context::Effect<Msg, std::convert::Infallible>;

/// Answers of this screen's background work.
#[derive(Debug)]
pub enum Msg {
    Census(Result<Vec<CensusColumn>, String>),
}

#[derive(Clone, Debug, Default)]
pub struct OverviewState {
    pub census: Loadable<Vec<CensusColumn>>,
}

impl OverviewState {
    /// Applies one message.
    pub fn update(&mut self, msg: Msg) -> Effect {
        match msg {
            Msg::Census(result) => self.census = Loadable::from_result(result),
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
        Effect::spawn(
            "census",
            census(store, s.settings.clone(), s.models.clone()),
        )
    }

    /// The database could not be reached: the census says why.
    pub fn disconnected(&mut self, failed: &str) {
        self.census = Loadable::Failed(failed.to_string());
    }
}

/// The key census of every encrypted column (tokens told apart by HMAC, nothing decrypted).
pub async fn census(store: Store, settings: Arc<Settings>, models: Arc<ModelSet>) -> Msg {
    let keys = KeyConfig::from_settings(&settings);
    let models: Vec<_> = models.models.iter().collect();
    let result = take_census(&store, &models, &keys, &ScanOptions::default()).await;
    Msg::Census(result.map(|c| c.columns).map_err(|e| e.to_string()))
}
