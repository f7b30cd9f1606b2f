//! Which console actions are disabled, and why: a read-only session disables the writes
//! (`R`, `X`, `p`, `x`), the policy disables what the role is not granted (`r` needs
//! `reveal`; `R` and `p` need `rotate`; `x` needs `cancel_job`; `X` needs `retire`; `p` on
//! an interrupted job also needs `takeover_job`, checked when pressed). The titles, the hint
//! line, help and the key handlers all ask here (through [`super::Ui::disabled`]), so what
//! is shown disabled is exactly what is refused. The decision itself is `access::Grants`,
//! shared with the CLI.

use crate::access::{ActionRefused, Grants};
use crate::config::PolicyAction;
use crate::tui::keymap::Action;

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
        Action::Checkpoint => Some(PolicyAction::Checkpoint),
        _ => None,
    }
}

/// Why `action` is disabled under `grants`, read-only first (its remedy is a restart).
pub fn disabled(grants: &Grants, read_only: bool, action: Action) -> Option<Disabled> {
    if read_only && action.writes() {
        return Some(Disabled::ReadOnly);
    }
    let needed = policy_action(action)?;
    grants.check(needed).err().map(Disabled::NotGranted)
}
