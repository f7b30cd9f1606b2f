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
//! - `owner_sees_own`: a row whose owner column equals the acting user is shown revealed
//!   without a reveal step (it is the user's own data), except columns the role has `hidden`
//!   (hidden is decided per column, so a table's columns are the same for every row). It is
//!   still a reveal: the rows are shown in plaintext only under a [`RevealGrant`] from
//!   [`Access::reveal_rows`], whose audit entry lists them; without one they are masked.
//! - A blind-index column (`blind_index: <column>` on an encrypted field, or a plain
//!   `<field>_hash` column beside an encrypted `<field>` that declares none, Python Timber's
//!   convention) is masked at its source field's level (the weaker of that and any rule
//!   naming the index column itself): whoever cannot read the email cannot read its hash,
//!   which for an unkeyed legacy `sha256(lower(email))` would give the email away to a
//!   dictionary, and for a keyed one would still correlate rows.
//! - NULL stays NULL and an unreadable cell shows its error kind (unless hidden): neither
//!   discloses a stored value.

use super::AccessError;
use super::actions::Grants;
use super::cell::{Cell, ViewRow};
use super::identity::Identity;
use super::mask::{HashKeySource, MaskHasher, mask_text};
use super::reveal::RevealGrant;
use super::rules::RoleRules;
use crate::config::Settings;
use crate::config::{ColumnDef, Level, ModelDef, Policy, load_policy_setting};
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
        check_user_assertion(&policy, &identity)?;
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
        if column.primary_key {
            return Decision::Plain;
        }
        let mut level = self.rules.level(model, column);
        let mut is_index = false;
        for source in index_sources(model, column) {
            is_index = true;
            level = level.min(self.rules.level(model, source));
        }
        if !column.encrypted && !is_index && level == Level::Reveal {
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
        let Some(user) = self.identity.owner_user() else {
            return false;
        };
        if !self.policy.owner_sees_own {
            return false;
        }
        let owner = record
            .cell(model, &model.owner_column)
            .and_then(StoredCell::value);
        owner.and_then(owner_text).is_some_and(|o| o == user)
    }

    /// Masks one decrypted record. Plaintext leaves only for plain columns and for what
    /// `grant` (an audited reveal) covers: secrets the role may reveal, and the user's own
    /// row under the owner rule.
    pub fn mask_row(
        &self,
        model: &ModelDef,
        record: &Record,
        grant: Option<&RevealGrant>,
    ) -> ViewRow {
        let own_row = self.is_own_row(model, record)
            && grant.is_some_and(|g| g.covers_own(model, &record.id));
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
        Some(path) => load_policy_setting(path).map_err(|e| AccessError::Policy(e.to_string())),
        None => Ok(Policy::builtin()),
    }
}

/// The encrypted columns whose blind index `column` is: those naming it in `blind_index`,
/// and, for an encrypted `<field>` that names none, a plain column `<field>_hash`.
pub fn index_sources<'m>(
    model: &'m ModelDef,
    column: &'m ColumnDef,
) -> impl Iterator<Item = &'m ColumnDef> + 'm {
    model.columns.iter().filter(move |source| {
        source.encrypted
            && match &source.blind_index {
                Some(index) => index.eq_ignore_ascii_case(&column.name),
                None => {
                    !column.encrypted
                        && column
                            .name
                            .to_ascii_lowercase()
                            .strip_suffix("_hash")
                            .is_some_and(|base| base == source.name.to_ascii_lowercase())
                }
            }
    })
}

/// Refuses an asserted user (not the OS account) when the owner rule is on, unless the
/// policy's `may_assert_user` lists the role: the owner rule must not reveal the rows of
/// whoever a flag or variable names.
fn check_user_assertion(policy: &Policy, identity: &Identity) -> Result<(), AccessError> {
    let Some(source) = &identity.asserted_by else {
        return Ok(());
    };
    if !policy.owner_sees_own || policy.may_assert_user.contains(&identity.role) {
        return Ok(());
    }
    Err(AccessError::UserAssertion {
        role: identity.role.clone(),
        user: identity.user.clone(),
        source_name: source.clone(),
        os_user: identity
            .os_user
            .clone()
            .unwrap_or_else(|| "(an account without a name)".to_string()),
        policy: super::identity::policy_name(policy),
    })
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

pub(crate) use crate::value::owner_text;
