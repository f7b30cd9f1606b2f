//! Key retirement from the Keys screen (`X` on the selected key of the ring): the refusals
//! that need no scan (the primary or master, a derived or unconfigured key, a read-only
//! session), then the census of the key in the background with its progress, then either
//! the refusal with its evidence or the type-the-id confirmation, then the audited
//! retirement through the rotation service (`retire_key`, as `timber keys retire` does),
//! after which the key list is read again and shows the key retired.

use std::sync::Arc;

use crossterm::event::{KeyCode, KeyEvent};
use ratatui_textarea::TextArea;
use tokio::sync::OnceCell;

use super::app::App;
use super::screens::retire::{RetireState, RetireStep, RetireUpdate, RetireUse};
use super::state::Popup;
use super::tasks::{ProgressSender, TaskResult};
use crate::audit::AuditLog;
use crate::config::{ModelSet, PolicyAction};
use crate::crypto::{KeyId, KeyRing};
use crate::rotation::key_usage_with_progress;
use crate::rotation::retirable;
use crate::rotation::{RotationError, retire_key};
use crate::store::Store;

/// Why retirement is disabled in a read-only session (short enough for the message line at
/// 80 columns, remedy included).
pub const READ_ONLY_RETIRE: &str =
    "read-only session: retiring a key writes timber_keys; restart with --write";

impl App {
    /// `X`: the census of the selected key, or the reason it cannot be retired.
    pub(super) fn open_retire(&mut self) {
        if self.state.status.read_only {
            self.state.error(READ_ONLY_RETIRE);
            return;
        }
        if !self.state.keys.ring_focused() {
            self.state.keys.focus_ring();
            self.state
                .notice("key ring selected: choose the key with j/k, then X retires it");
            return;
        }
        let Some(row) = self.state.keys.selected_key().cloned() else {
            self.state.notice("no key selected");
            return;
        };
        if row.status.as_deref() == Some("retired") {
            self.state.notice(format!("{} is already retired", row.id));
            return;
        }
        let (ring, models) = (self.setup.ring.clone(), self.setup.models.clone());
        let id = match retirable(&ring, &models.models, &row.id) {
            Ok((id, fingerprint)) if fingerprint == row.fingerprint => id,
            // A registered key no longer configured can share its id with a configured one
            // (`old_1` before and after a new old key): never retire the other key.
            Ok((id, fingerprint)) => {
                self.state.error(format!(
                    "cannot retire {} ({}): it is not configured ({id} is now {fingerprint}), \
                     so the values under it cannot be identified",
                    row.id, row.fingerprint
                ));
                return;
            }
            Err(e) => {
                let never = matches!(KeyId::parse(&row.id), KeyId::Primary | KeyId::Master);
                let lead = if never {
                    "the primary and master keys can never be retired"
                } else {
                    "cannot retire"
                };
                self.state.error(format!("{lead}: {e}"));
                return;
            }
        };
        let Some(store) = self.store.clone() else {
            self.state
                .error("not connected: the census of the key needs the database");
            return;
        };
        let surveyed = surveyed(&models);
        self.state.popup = Popup::Retire(RetireState::new(
            row.id.clone(),
            row.fingerprint.clone(),
            surveyed.len(),
        ));
        let work = census(CensusWork {
            store,
            ring,
            models,
            id,
            key: row.id,
            progress: self.tasks.progress(),
        });
        self.tasks.spawn("key census", work);
    }

    /// Keys of the open retirement dialog.
    pub(super) fn retire_key_input(&mut self, key: KeyEvent) {
        let Popup::Retire(dialog) = &mut self.state.popup else {
            return;
        };
        if key.code == KeyCode::Esc {
            self.state.popup = Popup::None;
            return;
        }
        let name = dialog.key.clone();
        match &mut dialog.step {
            RetireStep::Confirm { input, error } => {
                if key.code != KeyCode::Enter {
                    input.input(key);
                    return;
                }
                let typed = input.lines().join("").trim().to_string();
                if typed != name {
                    *error = Some(format!(
                        "type `{name}` exactly to retire it (you typed `{typed}`); nothing was retired"
                    ));
                    return;
                }
                dialog.step = RetireStep::Retiring;
                self.spawn_retirement(name);
            }
            RetireStep::Refused { .. } | RetireStep::Failed(_) if key.code == KeyCode::Enter => {
                self.state.popup = Popup::None;
            }
            _ => {}
        }
    }

    /// Pasted text goes into the confirmation field.
    pub(super) fn retire_paste(&mut self, text: &str) {
        if let Popup::Retire(RetireState {
            step: RetireStep::Confirm { input, .. },
            ..
        }) = &mut self.state.popup
        {
            input.insert_str(text);
        }
    }

    fn spawn_retirement(&mut self, key: String) {
        // `X` was refused without the grant; this holds whatever led here.
        if let Err(refused) = self.state.grants.check(PolicyAction::Retire) {
            self.state.error(refused.short());
            return;
        }
        let Some(store) = self.store.clone() else {
            self.state
                .error("not connected: retiring needs the database");
            return;
        };
        let (ring, models) = (self.setup.ring.clone(), self.setup.models.clone());
        let actor = self.access.identity().user.clone();
        let log = self.audit_log.clone();
        self.tasks.spawn("key retire", async move {
            let result = retire(&store, &ring, &models, &log, &actor, &key).await;
            TaskResult::Retire(RetireUpdate::Retired { key, result })
        });
    }

    /// Applies a census step, its plan, or the retirement's end.
    pub(super) fn apply_retire(&mut self, update: RetireUpdate) {
        let dialog = match &mut self.state.popup {
            Popup::Retire(d) => Some(d),
            _ => None,
        };
        match update {
            RetireUpdate::Progress {
                key,
                done,
                total,
                model,
                rows,
                found,
            } => {
                if let Some(d) = dialog.filter(|d| d.key == key)
                    && matches!(d.step, RetireStep::Census { .. })
                {
                    d.step = RetireStep::Census {
                        done,
                        total,
                        model: Some(model),
                        rows,
                        found,
                    };
                }
            }
            RetireUpdate::Census { key, result } => {
                let Some(d) = dialog.filter(|d| d.key == key) else {
                    return;
                };
                d.step = match result {
                    Ok(uses) if uses.is_empty() => {
                        let mut input = TextArea::default();
                        input.set_cursor_line_style(ratatui::style::Style::default());
                        input.set_placeholder_text(key);
                        RetireStep::Confirm {
                            input: Box::new(input),
                            error: None,
                        }
                    }
                    Ok(uses) => RetireStep::Refused { uses },
                    Err(message) => RetireStep::Failed(format!("census failed: {message}")),
                };
            }
            RetireUpdate::Retired { key, result } => match result {
                Ok(()) => {
                    if dialog.is_some_and(|d| d.key == key) {
                        self.state.popup = Popup::None;
                    }
                    self.state.status.last_error = None;
                    self.state.notice(format!(
                        "retired {key}: no stored value depends on it (audited, recorded in timber_keys)"
                    ));
                    self.refresh_after_retire();
                }
                Err(message) => {
                    if let Some(d) = dialog.filter(|d| d.key == key) {
                        d.step = RetireStep::Failed(message.clone());
                    }
                    self.state.error(format!("retire {key}: {message}"));
                }
            },
        }
    }

    /// The key list (now showing the key retired) and the audit views read again.
    fn refresh_after_retire(&mut self) {
        let Some(store) = self.store.clone() else {
            return;
        };
        let ring = self.setup.ring.clone();
        let now = self.state.now;
        self.tasks.spawn(
            "keys",
            super::tasks::key_registry(store.clone(), ring.clone()),
        );
        self.tasks
            .spawn("audit", super::overview_data::audit(store, ring, now));
    }
}

/// Models with encrypted columns: the ones a census reads.
fn surveyed(models: &ModelSet) -> Vec<&crate::config::ModelDef> {
    models
        .models
        .iter()
        .filter(|m| m.encrypted_columns().next().is_some())
        .collect()
}

struct CensusWork {
    store: Store,
    ring: Arc<KeyRing>,
    models: Arc<ModelSet>,
    id: KeyId,
    key: String,
    progress: ProgressSender,
}

/// Counts the values under the key, one model at a time so progress can be shown.
async fn census(work: CensusWork) -> TaskResult {
    let CensusWork {
        store,
        ring,
        models,
        id,
        key,
        progress,
    } = work;
    let scanned = surveyed(&models);
    let mut uses = Vec::new();
    let mut found = 0;
    let total = scanned.len();
    for (done, model) in scanned.iter().enumerate() {
        let report = |name: &str, rows: u64| {
            progress.send(TaskResult::Retire(RetireUpdate::Progress {
                key: key.clone(),
                done,
                total,
                model: name.to_string(),
                rows,
                found,
            }))
        };
        report(&model.name, 0);
        let one = std::slice::from_ref(*model);
        match key_usage_with_progress(&store, &ring, one, &id, &report).await {
            Ok(counted) => {
                for u in counted {
                    found += u.count;
                    uses.push(RetireUse {
                        model: model.name.clone(),
                        table: u.table,
                        column: u.column,
                        count: u.count,
                    });
                }
            }
            Err(e) => {
                let result = Err(format!("{}: {e}", model.name));
                return TaskResult::Retire(RetireUpdate::Census { key, result });
            }
        }
    }
    TaskResult::Retire(RetireUpdate::Census {
        key,
        result: Ok(uses),
    })
}

/// The audited retirement (it proves the census again before it writes).
async fn retire(
    store: &Store,
    ring: &KeyRing,
    models: &ModelSet,
    log: &OnceCell<AuditLog>,
    actor: &str,
    key: &str,
) -> Result<(), String> {
    let log = log
        .get_or_try_init(|| AuditLog::open(store, ring))
        .await
        .map_err(|e| RotationError::Audit(e).to_string())?;
    retire_key(store, ring, &models.models, log, actor, key)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}
