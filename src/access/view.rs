//! The masking pipeline between the store and every caller: a decrypted [`Record`] in, a
//! [`ViewRow`] out, with each cell at the level the acting role has (DESIGN §6).
//!
//! Display rules (where the design was silent, decided here):
//!
//! - A plain column (not encrypted, no rule naming it) and the primary key are shown as they
//!   are: they are not secret by declaration.
//! - A secret the role may reveal (`reveal`) is still shown masked (`partial`, marked
//!   `revealable`) until the operator reveals it; the reveal is audited and yields a
//!   [`RevealGrant`] that `mask_row` honours. So "masked by default" holds for every role.
//! - `owner_sees_own`: a row whose owner column equals the acting user is shown revealed,
//!   without a reveal step (it is the user's own data), except columns the role has `hidden`:
//!   hidden is decided per column, so a table's columns are the same for every row.
//! - NULL stays NULL and an unreadable cell shows its error kind (unless hidden): neither
//!   discloses a stored value.

use super::AccessError;
use super::actions::Grants;
use super::cell::{Cell, ViewRow};
use super::identity::Identity;
use super::mask::{HashKeySource, MaskHasher, mask_text};
use super::reveal::RevealGrant;
use super::rules::RoleRules;
use crate::config::settings::Settings;
use crate::config::{ColumnDef, Level, ModelDef, Policy, load_policy};
use crate::crypto::KeyRing;
use crate::store::{Cell as StoredCell, Record};
use crate::value::Value;

/// How the acting role sees a column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Shown as stored: not a secret.
    Plain,
    /// A secret (or a plain column a rule names), at this level.
    Secret(Level),
}

/// Policy evaluation for one acting user and role.
#[derive(Clone, Debug)]
pub struct Access {
    policy: Policy,
    identity: Identity,
    rules: RoleRules,
    require_reason: bool,
    hasher: MaskHasher,
    enabled: bool,
    grants: Grants,
}

impl Access {
    /// `access_control_enabled` is `ENABLE_ACCESS_CONTROL`; `hasher` keys the `hash` level.
    pub fn new(
        policy: Policy,
        identity: Identity,
        access_control_enabled: bool,
        hasher: MaskHasher,
    ) -> Result<Access, AccessError> {
        let role = identity.role_policy(&policy)?.clone();
        Ok(Access {
            rules: RoleRules::new(&role, access_control_enabled),
            require_reason: role.require_reason,
            grants: Grants::new(&policy, &identity.role, access_control_enabled),
            policy,
            identity,
            hasher,
            enabled: access_control_enabled,
        })
    }

    /// The pipeline a command runs with: the policy file (`--policy` / `TIMBER_POLICY`, else
    /// the built-in policy), role and user from the settings, `ENABLE_ACCESS_CONTROL`, and the
    /// `hash` key from the master key (or a per-process key when there is none).
    pub fn from_settings(settings: &Settings, ring: &KeyRing) -> Result<Access, AccessError> {
        let policy = policy_from_settings(settings)?;
        let identity = Identity::from_settings(settings, &policy)?;
        Access::new(
            policy,
            identity,
            settings.enable_access_control,
            MaskHasher::for_ring(ring),
        )
    }

    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// The actions the acting role is granted (reveal, export, rotate, ...).
    pub fn grants(&self) -> &Grants {
        &self.grants
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Whether reveals under this role need a reason.
    pub fn require_reason(&self) -> bool {
        self.require_reason
    }

    /// False when `ENABLE_ACCESS_CONTROL=false` (every secret may be revealed, still audited).
    pub fn access_control_enabled(&self) -> bool {
        self.enabled
    }

    /// `Ephemeral` means hashes only correlate within this process: tell the operator.
    pub fn hash_key_source(&self) -> HashKeySource {
        self.hasher.source()
    }

    /// Seconds after which a view should drop a reveal grant and mask again.
    pub fn reveal_timeout_seconds(&self) -> u64 {
        self.policy.reveal_timeout_seconds
    }

    pub fn decide(&self, model: &ModelDef, column: &ColumnDef) -> Decision {
        let level = self.rules.level(model, column);
        if column.primary_key || (!column.encrypted && level == Level::Reveal) {
            Decision::Plain
        } else {
            Decision::Secret(level)
        }
    }

    /// The columns this role sees (not `hidden`), in model order.
    pub fn visible_columns<'m>(&self, model: &'m ModelDef) -> Vec<&'m ColumnDef> {
        model
            .columns
            .iter()
            .filter(|c| self.decide(model, c) != Decision::Secret(Level::Hidden))
            .collect()
    }

    /// The secret columns this role may reveal (level `reveal`), in model order.
    pub fn revealable_fields(&self, model: &ModelDef) -> Vec<String> {
        model
            .columns
            .iter()
            .filter(|c| self.decide(model, c) == Decision::Secret(Level::Reveal))
            .map(|c| c.name.clone())
            .collect()
    }

    /// True when `owner_sees_own` is on and the record's owner column equals the acting user.
    pub fn is_own_row(&self, model: &ModelDef, record: &Record) -> bool {
        if !self.policy.owner_sees_own {
            return false;
        }
        let owner = record
            .cell(model, &model.owner_column)
            .and_then(StoredCell::value);
        owner
            .and_then(owner_text)
            .is_some_and(|o| o == self.identity.user)
    }

    /// Masks one decrypted record. Plaintext leaves only for plain columns, the user's own
    /// row, and secrets the role may reveal that `grant` (an audited reveal) covers.
    pub fn mask_row(
        &self,
        model: &ModelDef,
        record: &Record,
        grant: Option<&RevealGrant>,
    ) -> ViewRow {
        let own_row = self.is_own_row(model, record);
        let cells = model
            .columns
            .iter()
            .zip(&record.cells)
            .map(|(column, stored)| {
                let cell = match self.decide(model, column) {
                    Decision::Plain => readable(stored, Cell::Revealed),
                    Decision::Secret(Level::Hidden) => Cell::Hidden,
                    Decision::Secret(level) => {
                        let granted = level == Level::Reveal
                            && grant.is_some_and(|g| g.covers(model, &record.id, &column.name));
                        readable(stored, |value| {
                            if own_row || granted {
                                Cell::Revealed(value)
                            } else {
                                self.masked(level, &value)
                            }
                        })
                    }
                };
                (column.name.clone(), cell)
            })
            .collect();
        ViewRow {
            id: record.id.clone(),
            cells,
            own_row,
        }
    }

    /// The mask of a secret the view may not show as plaintext (a `reveal` secret that was
    /// not revealed shows as `partial`, marked revealable).
    pub(crate) fn masked(&self, level: Level, value: &Value) -> Cell {
        let shown = if level == Level::Reveal {
            Level::Partial
        } else {
            level
        };
        let text = mask_text(shown, value, &self.hasher).unwrap_or_default();
        // Without the `reveal` action nothing is offered for reveal: the cell is `partial`.
        Cell::Masked {
            level: shown,
            text,
            revealable: level == Level::Reveal
                && self.grants.allows(crate::config::PolicyAction::Reveal),
        }
    }
}

/// The policy a command runs under: `--policy` / `TIMBER_POLICY`, else the built-in policy.
pub fn policy_from_settings(settings: &Settings) -> Result<Policy, AccessError> {
    match &settings.policy {
        Some(path) => load_policy(&path.value).map_err(|e| AccessError::Policy(e.to_string())),
        None => Ok(Policy::builtin()),
    }
}

/// NULL and unreadable cells are shown as such; a readable value goes through `show`.
fn readable(stored: &StoredCell, show: impl FnOnce(Value) -> Cell) -> Cell {
    match stored {
        StoredCell::Unreadable(e) => Cell::Error(*e),
        StoredCell::Plain(Value::Null) => Cell::Null,
        StoredCell::Decrypted {
            value: Value::Null, ..
        } => Cell::Null,
        StoredCell::Plain(value) | StoredCell::Decrypted { value, .. } => show(value.clone()),
    }
}

/// The owner column's value as the text compared with the user name.
pub(crate) fn owner_text(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::Text(s) => Some(s.clone()),
        Value::Int(i) => Some(i.to_string()),
        Value::Numeric(n) => Some(n.clone()),
        other => match other.to_json() {
            serde_json::Value::String(s) => Some(s),
            json => Some(json.to_string()),
        },
    }
}
