//! Which console actions are disabled, and why: a read-only session disables the writes
//! (`R`, `X`, `p`, `x`), the policy disables what the role is not granted (`r` needs
//! `reveal`; `R` and `p` need `rotate`; `x` needs `cancel_job`; `X` needs `retire`; `p` on
//! an interrupted job also needs `takeover_job`, checked when pressed). The titles, the hint
//! line, help and the key handlers all ask here, so what is shown disabled is exactly what
//! is refused. The decision itself is `access::Grants`, shared with the CLI.

use super::keymap::Action;
use super::state::State;
use crate::access::ActionRefused;
use crate::config::PolicyAction;

/// Why an action cannot be used in this session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Disabled {
    /// A write in a read-only session (restart with --write).
    ReadOnly,
    /// The role's policy does not grant it.
    NotGranted(ActionRefused),
}

/// The policy action a console key needs, if any.
pub fn policy_action(action: Action) -> Option<PolicyAction> {
    match action {
        Action::Reveal => Some(PolicyAction::Reveal),
        Action::Rotate | Action::PauseJob => Some(PolicyAction::Rotate),
        Action::CancelJob => Some(PolicyAction::CancelJob),
        Action::RetireKey => Some(PolicyAction::Retire),
        _ => None,
    }
}

impl State {
    /// Why `action` is disabled, read-only first (its remedy is a restart).
    pub fn disabled(&self, action: Action) -> Option<Disabled> {
        if self.status.read_only && action.writes() {
            return Some(Disabled::ReadOnly);
        }
        let needed = policy_action(action)?;
        self.grants.check(needed).err().map(Disabled::NotGranted)
    }

    /// The keys of `actions` the role is not granted (read-only aside), as `R, p, x`.
    pub fn not_granted_keys(&self, actions: &[Action]) -> Vec<String> {
        actions
            .iter()
            .filter(|a| matches!(self.disabled(**a), Some(Disabled::NotGranted(_))))
            .map(|a| self.keymap.label(*a))
            .collect()
    }

    /// `role support has no "rotate" grant` for help and titles; `None` when granted.
    pub fn grant_note(&self, action: Action) -> Option<String> {
        match self.disabled(action)? {
            Disabled::NotGranted(refused) => Some(format!(
                "role {} has no \"{}\" grant",
                refused.role,
                refused.action.as_str()
            )),
            Disabled::ReadOnly => None,
        }
    }
}
