//! Key retirement from the Keys screen (`X` on the selected key of the ring): the refusals
//! that need no scan (the primary or master, a derived or unconfigured key, a read-only
//! session), then the census of the key in the background with its progress, then either
//! the refusal with its evidence or the type-the-id confirmation, then the audited
//! retirement through the rotation service (`retire_key`, as `timber keys retire` does),
//! after which the key list is read again and shows the key retired.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui_textarea::TextArea;

use super::loaders::{self, CensusWork};
use super::{Effect, KeysState, Msg, Popup};
use crate::config::PolicyAction;
use crate::crypto::KeyId;
use crate::rotation::retirable;
use crate::store::KeyStatus;
use crate::tui::context::{Ctx, Refresh, Task};

/// Why retirement is disabled in a read-only session (short enough for the message line at
/// 80 columns, remedy included).
pub const READ_ONLY_RETIRE: &str =
    "read-only session: retiring a key writes timber_keys; restart with --write";

/// Values under the key in one column.
#[derive(Clone, Debug, PartialEq)]
pub struct RetireUse {
    pub model: String,
    pub table: String,
    pub column: String,
    pub count: u64,
}

/// What a retirement task reports; `key` drops reports for a dialog no longer open.
#[derive(Clone, Debug, PartialEq)]
pub enum RetireUpdate {
    /// The census is reading model `done + 1` of `total` (`model`, `rows` read so far);
    /// `found` values under the key in the models before it.
    Progress {
        key: String,
        done: usize,
        total: usize,
        model: String,
        rows: u64,
        found: u64,
    },
    /// The census is complete: every column holding values under the key.
    Census {
        key: String,
        result: Result<Vec<RetireUse>, String>,
    },
    /// The audited retirement ended.
    Retired {
        key: String,
        result: Result<(), String>,
    },
}

#[derive(Debug)]
pub enum RetireStep {
    /// The census runs: models read so far of the total, the one being read and its rows.
    Census {
        done: usize,
        total: usize,
        model: Option<String>,
        rows: u64,
        found: u64,
    },
    /// Values still depend on the key: refused, with where they are.
    Refused { uses: Vec<RetireUse> },
    /// Nothing depends on it: the key id must be typed to retire it.
    Confirm {
        /// Boxed: a text area is large next to the other steps.
        input: Box<TextArea<'static>>,
        error: Option<String>,
    },
    /// The retirement runs (its own census again, then the audit entry and `timber_keys`).
    Retiring,
    /// The census or the retirement failed; the message says why.
    Failed(String),
}

#[derive(Debug)]
pub struct RetireState {
    /// The key id as shown and typed (`old_1`, `master_old`, a named key).
    pub key: String,
    pub fingerprint: String,
    /// Models the census reads (those with encrypted columns).
    pub models: usize,
    pub step: RetireStep,
}

impl RetireState {
    pub fn new(key: String, fingerprint: String, models: usize) -> RetireState {
        RetireState {
            key,
            fingerprint,
            models,
            step: RetireStep::Census {
                done: 0,
                total: models,
                model: None,
                rows: 0,
                found: 0,
            },
        }
    }
}

impl KeysState {
    /// `X`: the census of the selected key, or the reason it cannot be retired.
    pub(super) fn open_retire(&mut self, ctx: &Ctx) -> Effect {
        if ctx.read_only {
            return Effect::error(READ_ONLY_RETIRE);
        }
        if !self.ring_focused() {
            self.focus_ring();
            return Effect::notice("key ring selected: choose the key with j/k, then X retires it");
        }
        let Some(row) = self.selected_key().cloned() else {
            return Effect::notice("no key selected");
        };
        if row.status == Some(KeyStatus::Retired) {
            return Effect::notice(format!("{} is already retired", row.id));
        }
        let s = ctx.services;
        let (ring, models) = (s.ring.clone(), s.models.clone());
        let id = match retirable(&ring, &models.models, &row.id) {
            Ok((id, fingerprint)) if fingerprint == row.fingerprint => id,
            // A registered key no longer configured can share its id with a configured one
            // (`old_1` before and after a new old key): never retire the other key.
            Ok((id, fingerprint)) => {
                return Effect::error(format!(
                    "cannot retire {} ({}): it is not configured ({id} is now {fingerprint}), \
                     so the values under it cannot be identified",
                    row.id, row.fingerprint
                ));
            }
            Err(e) => {
                let never = matches!(KeyId::parse(&row.id), KeyId::Primary | KeyId::Master);
                let lead = if never {
                    "the primary and master keys can never be retired"
                } else {
                    "cannot retire"
                };
                return Effect::error(format!("{lead}: {e}"));
            }
        };
        let Some(store) = s.store.clone() else {
            return Effect::error("not connected: the census of the key needs the database");
        };
        let dialog = RetireState::new(
            row.id.clone(),
            row.fingerprint.clone(),
            models.encrypted_models().len(),
        );
        let key = row.id;
        let census = Task::with_progress("key census", move |progress| {
            loaders::census(CensusWork {
                store,
                ring,
                models,
                id,
                key,
                progress,
            })
        });
        Effect::Popup(Popup::Retire(dialog)).then(Effect::Spawn(census))
    }

    /// A key while the retirement dialog is open.
    pub fn retire_key_input(
        &mut self,
        dialog: &mut RetireState,
        key: KeyEvent,
        ctx: &Ctx,
    ) -> Effect {
        if key.code == KeyCode::Esc {
            return Effect::ClosePopup;
        }
        let name = dialog.key.clone();
        match &mut dialog.step {
            RetireStep::Confirm { input, error } => {
                if key.code != KeyCode::Enter {
                    crate::tui::widgets::line_input::edit(input, &mut false, key);
                    return Effect::None;
                }
                let typed = input.lines().join("").trim().to_string();
                if typed != name {
                    *error = Some(format!(
                        "type `{name}` exactly to retire it (you typed `{typed}`); nothing was retired"
                    ));
                    return Effect::None;
                }
                dialog.step = RetireStep::Retiring;
                self.spawn_retirement(name, ctx)
            }
            RetireStep::Refused { .. } | RetireStep::Failed(_) if key.code == KeyCode::Enter => {
                Effect::ClosePopup
            }
            _ => Effect::None,
        }
    }

    /// Pasted text goes into the confirmation field.
    pub fn retire_paste(dialog: &mut RetireState, text: &str) {
        if let RetireStep::Confirm { input, .. } = &mut dialog.step {
            input.insert_str(text);
        }
    }

    fn spawn_retirement(&mut self, key: String, ctx: &Ctx) -> Effect {
        // `X` was refused without the grant; this holds whatever led here.
        if let Err(refused) = ctx.grants().check(PolicyAction::Retire) {
            return Effect::error(refused.short());
        }
        let s = ctx.services;
        let Some(store) = s.store.clone() else {
            return Effect::error("not connected: retiring needs the database");
        };
        let (ring, models, log) = (s.ring.clone(), s.models.clone(), s.audit_log.clone());
        let actor = s.access.identity().user.clone();
        Effect::spawn("key retire", async move {
            let result = loaders::retire(&store, &ring, &models, &log, &actor, &key).await;
            Msg::Retire(RetireUpdate::Retired { key, result })
        })
    }

    /// Applies a census step, its plan, or the retirement's end (`dialog` is the open
    /// retirement dialog; reports for another key are dropped).
    pub(super) fn apply_retire(
        &mut self,
        dialog: Option<&mut RetireState>,
        update: RetireUpdate,
        ctx: &Ctx,
    ) -> Effect {
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
                Effect::None
            }
            RetireUpdate::Census { key, result } => {
                if let Some(d) = dialog.filter(|d| d.key == key) {
                    d.step = census_step(key, result);
                }
                Effect::None
            }
            RetireUpdate::Retired { key, result } => self.retired(dialog, key, result, ctx),
        }
    }

    /// The retirement ended: closed and refreshed, or the failure in the dialog.
    fn retired(
        &mut self,
        dialog: Option<&mut RetireState>,
        key: String,
        result: Result<(), String>,
        ctx: &Ctx,
    ) -> Effect {
        let dialog = dialog.filter(|d| d.key == key);
        match result {
            Ok(()) => {
                let close = if dialog.is_some() {
                    Effect::ClosePopup
                } else {
                    Effect::None
                };
                close
                    .then(Effect::notice(format!(
                        "retired {key}: no stored value depends on it (audited, recorded in timber_keys)"
                    )))
                    .then(self.refresh_after_retire(ctx))
            }
            Err(message) => {
                if let Some(d) = dialog {
                    d.step = RetireStep::Failed(message.clone());
                }
                Effect::error(format!("retire {key}: {message}"))
            }
        }
    }

    /// The key list (now showing the key retired) and the audit views read again.
    fn refresh_after_retire(&mut self, ctx: &Ctx) -> Effect {
        let Some(store) = ctx.services.store.clone() else {
            return Effect::None;
        };
        let registry = loaders::key_registry(store, ctx.services.ring.clone());
        Effect::spawn("keys", registry).then(Effect::Refresh(Refresh::AuditFeed))
    }
}

/// The dialog's step once the census is in: confirm (nothing depends on the key), refused
/// (with where values still are), or failed.
fn census_step(key: String, result: Result<Vec<RetireUse>, String>) -> RetireStep {
    match result {
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
    }
}
