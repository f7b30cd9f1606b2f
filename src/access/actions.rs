//! What a role may do beyond reading masked data: the policy's per-role `actions:` (DESIGN
//! §6). Default deny: a role that lists no action may only read what its field levels
//! show, masked; the built-in policy (no policy file) grants nothing. With
//! `ENABLE_ACCESS_CONTROL=false` every action is granted, as every field is revealable.
//!
//! What each action governs (the CLI and the console both ask [`Grants`], nowhere else):
//!
//! - `reveal`: showing a secret in plaintext after an audited reveal: console `r` on a cell
//!   or an audit entry, `timber audit --show ID --reveal`. The field's level must be
//!   `reveal` too: the action says the role may reveal at all, the levels say what.
//! - `export`: revealing many records in one action, which is what `timber browse --reveal`
//!   does (it needs `reveal` and `export`): it writes plaintext out of the console, to a
//!   pipe or a file as easily as to a terminal, and its size is bounded only by `--limit`.
//!   A single cell or entry revealed on screen needs `reveal` alone.
//! - `rotate`: `timber rotate` (also `--encrypt-plaintext`, and `--resume` of a paused or
//!   failed job), console `R`, and `p` to pause or resume a job. `--dry-run` needs nothing:
//!   a plan is counts per key, like the census.
//! - `takeover_job`: continuing a job whose worker is gone (console `p` on an `interrupted`
//!   job, `timber rotate --resume` of a job still marked running); it needs `rotate` too.
//!   The rotation service checks it when it claims the job, so a worker dying between the
//!   check and the claim cannot slip a takeover past it.
//! - `cancel_job`: console `x` (cancel the selected job, of any process).
//! - `retire`: `timber keys retire`, console `X`.
//! - `init`: `timber init` (creates tables).
//! - `checkpoint`: governs `timber audit checkpoint` once audit checkpoints exist; accepted
//!   in policies now so they need no edit then. Nothing else checks it.
//!
//! `owner_sees_own` is not an action: it is the policy's own grant for a user's own rows.

use std::collections::BTreeSet;
use std::path::Path;

use super::AccessError;
use super::identity::Identity;
use crate::config::Settings;
use crate::config::{Policy, PolicyAction};

/// The actions one role is granted, with what a refusal must name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grants {
    role: String,
    granted: BTreeSet<PolicyAction>,
    /// `ENABLE_ACCESS_CONTROL=false`: every action is granted.
    everything: bool,
    /// The policy file, as configured; `None` for the built-in policy.
    policy_file: Option<String>,
}

/// An action the role is not granted. Nothing was done.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("role {role} may not {}: {}", verb(*.action), why(.policy_file, *.action))]
pub struct ActionRefused {
    pub role: String,
    pub action: PolicyAction,
    policy_file: Option<String>,
}

impl ActionRefused {
    /// The refusal without the policy's path, for the console's message line at 80 columns.
    pub fn short(&self) -> String {
        let source = match self.policy_file {
            Some(_) => "the policy grants it",
            None => "no policy file, so",
        };
        format!(
            "role {} may not {}: {source} no \"{}\" action",
            self.role,
            verb(self.action),
            self.action.as_str()
        )
    }
}

impl Grants {
    /// The grants of `role` in `policy`; a role the policy does not define is granted nothing.
    pub fn new(policy: &Policy, role: &str, access_control_enabled: bool) -> Grants {
        Grants {
            role: role.to_string(),
            granted: policy
                .roles
                .get(role)
                .map(|r| r.actions.clone())
                .unwrap_or_default(),
            everything: !access_control_enabled,
            policy_file: policy.source.as_deref().map(shown_path),
        }
    }

    /// The grants of the role a command acts under: the policy of `--policy` /
    /// `TIMBER_POLICY` (else the built-in one), the role of `--role` / `TIMBER_ROLE` (else
    /// the policy's default), `ENABLE_ACCESS_CONTROL`. For commands that mask nothing.
    pub fn from_settings(settings: &Settings) -> Result<Grants, AccessError> {
        let policy = super::view::policy_from_settings(settings)?;
        let identity = Identity::from_settings(settings, &policy)?;
        Ok(Grants::new(
            &policy,
            &identity.role,
            settings.enable_access_control,
        ))
    }

    pub fn role(&self) -> &str {
        &self.role
    }

    pub fn allows(&self, action: PolicyAction) -> bool {
        self.everything || self.granted.contains(&action)
    }

    /// `Ok` when granted, else the refusal naming the role, the action and the policy.
    pub fn check(&self, action: PolicyAction) -> Result<(), ActionRefused> {
        if self.allows(action) {
            return Ok(());
        }
        Err(ActionRefused {
            role: self.role.clone(),
            action,
            policy_file: self.policy_file.clone(),
        })
    }

    /// The first of `actions` not granted, in the order given.
    pub fn check_all(&self, actions: &[PolicyAction]) -> Result<(), ActionRefused> {
        actions.iter().try_for_each(|a| self.check(*a))
    }
}

fn shown_path(path: &Path) -> String {
    path.display().to_string()
}

/// What the action lets a role do, as a refusal says it.
fn verb(action: PolicyAction) -> &'static str {
    match action {
        PolicyAction::Reveal => "reveal values",
        PolicyAction::Export => "export revealed values",
        PolicyAction::Rotate => "rotate keys",
        PolicyAction::Retire => "retire keys",
        PolicyAction::CancelJob => "cancel rotation jobs",
        PolicyAction::TakeoverJob => "take over rotation jobs",
        PolicyAction::Init => "initialise the database",
        PolicyAction::Checkpoint => "write audit checkpoints",
    }
}

/// Why it is not granted, and where that is decided.
fn why(policy_file: &Option<String>, action: PolicyAction) -> String {
    match policy_file {
        Some(file) => format!("{file} grants it no \"{}\" action", action.as_str()),
        None => format!(
            "no policy file is configured, and the built-in policy grants no action \
             (set TIMBER_POLICY to a policy whose role lists \"{}\" under actions:)",
            action.as_str()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse_policy;

    fn policy() -> Policy {
        parse_policy(
            "default_role: viewer\nroles:\n  admin: { actions: [rotate, retire] }\n  viewer: {}\n",
            Path::new("conf/policy.yaml"),
        )
        .unwrap()
    }

    #[test]
    fn only_listed_actions_are_granted() {
        let admin = Grants::new(&policy(), "admin", true);
        assert!(admin.allows(PolicyAction::Rotate));
        assert!(admin.allows(PolicyAction::Retire));
        for action in [
            PolicyAction::Reveal,
            PolicyAction::Init,
            PolicyAction::CancelJob,
        ] {
            assert!(!admin.allows(action), "{action:?}");
        }
        let viewer = Grants::new(&policy(), "viewer", true);
        assert!(PolicyAction::ALL.iter().all(|a| !viewer.allows(*a)));
    }

    #[test]
    fn a_refusal_names_role_action_and_policy_file() {
        let err = Grants::new(&policy(), "viewer", true)
            .check(PolicyAction::Rotate)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "role viewer may not rotate keys: conf/policy.yaml grants it no \"rotate\" action"
        );
        assert_eq!(
            err.short(),
            "role viewer may not rotate keys: the policy grants it no \"rotate\" action"
        );
        let builtin = Grants::new(&Policy::builtin(), "viewer", true)
            .check(PolicyAction::Init)
            .unwrap_err()
            .to_string();
        assert!(
            builtin.contains("no policy file is configured"),
            "{builtin}"
        );
        assert!(builtin.contains("TIMBER_POLICY"), "{builtin}");
    }

    #[test]
    fn check_all_names_the_first_missing_grant() {
        let admin = Grants::new(&policy(), "admin", true);
        let err = admin
            .check_all(&[PolicyAction::Rotate, PolicyAction::TakeoverJob])
            .unwrap_err();
        assert_eq!(err.action, PolicyAction::TakeoverJob);
    }

    #[test]
    fn access_control_off_grants_everything() {
        let viewer = Grants::new(&Policy::builtin(), "viewer", false);
        assert!(PolicyAction::ALL.iter().all(|a| viewer.allows(*a)));
    }
}
