//! Who is acting, and under which role (DESIGN §6).
//!
//! Role: `--role` / `TIMBER_ROLE`, else the policy's `default_role`. User: `--user` /
//! `TIMBER_USER`, else the operating-system account: the name of the process's effective
//! uid in the passwd database (not `$USER`, which anyone can set). The settings loader
//! already folds flag over environment into `Settings::{role, user}`; this module adds the
//! fallbacks and checks the role against the policy.
//!
//! A user named by `--user` / `TIMBER_USER` that is not the OS account is *asserted*: nothing
//! proves it. It is recorded as such ([`Identity::asserted_by`]); under `owner_sees_own` only
//! the roles of the policy's `may_assert_user` may act on it (see [`super::Access::new`]),
//! since the owner rule would otherwise reveal the rows of whoever the flag names.

use crate::config::Settings;
use crate::config::{Policy, RolePolicy};

use super::AccessError;

/// The acting user and role, as written into audit entries and shown in the status bar.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    pub user: String,
    pub role: String,
    /// Where the role came from (`--role`, `TIMBER_ROLE`, `policy default_role`), for messages.
    pub role_source: String,
    /// The OS account running this process; `None` when it has no passwd entry.
    pub os_user: Option<String>,
    /// Where `user` came from when it was named on the command line or in the environment
    /// and is not the OS account (`flag --user`, `env TIMBER_USER`...); `None` otherwise.
    pub asserted_by: Option<String>,
}

impl Identity {
    /// Resolves role and user from what a trusted caller (library code, a test) says; `None`
    /// = not given. `role_source` names where `role` came from, for an unknown role's message.
    /// The user is taken as given (not asserted): use [`Identity::from_settings`] for what
    /// an operator typed.
    pub fn resolve(
        policy: &Policy,
        role: Option<(&str, &str)>,
        user: Option<&str>,
    ) -> Result<Identity, AccessError> {
        let (role, role_source) = checked_role(policy, role)?;
        let os_user = os_user();
        let user = match user.map(str::trim).filter(|u| !u.is_empty()) {
            Some(u) => u.to_string(),
            None => os_user.clone().unwrap_or_else(|| UNKNOWN_USER.to_string()),
        };
        Ok(Identity {
            user,
            role,
            role_source,
            os_user,
            asserted_by: None,
        })
    }

    /// Resolves from loaded settings (flag over `TIMBER_ROLE` / `TIMBER_USER`). A user that
    /// differs from the OS account is marked asserted, with where it came from.
    pub fn from_settings(settings: &Settings, policy: &Policy) -> Result<Identity, AccessError> {
        let role = settings
            .role
            .as_ref()
            .map(|r| (r.value.as_str(), r.source.to_string()));
        let (role, role_source) =
            checked_role(policy, role.as_ref().map(|(r, s)| (*r, s.as_str())))?;
        let os_user = os_user();
        let named = settings
            .user
            .as_ref()
            .map(|u| (u.value.trim().to_string(), u.source.to_string()))
            .filter(|(u, _)| !u.is_empty());
        let (user, asserted_by) = match named {
            Some((user, _)) if os_user.as_deref() == Some(user.as_str()) => (user, None),
            Some((user, source)) => (user, Some(source)),
            None => (
                os_user.clone().unwrap_or_else(|| UNKNOWN_USER.to_string()),
                None,
            ),
        };
        Ok(Identity {
            user,
            role,
            role_source,
            os_user,
            asserted_by,
        })
    }

    /// The same user (asserted or not) under another role of the policy (the console's
    /// `:role`), so a role switch cannot shed the user check.
    pub fn with_role(
        &self,
        policy: &Policy,
        role: &str,
        origin: &str,
    ) -> Result<Identity, AccessError> {
        let (role, role_source) = checked_role(policy, Some((role, origin)))?;
        Ok(Identity {
            role,
            role_source,
            ..self.clone()
        })
    }

    /// The user the owner rule compares with a row's owner: `None` when the user is the
    /// `unknown` stand-in of an account without a name (no row is anybody's then).
    pub fn owner_user(&self) -> Option<&str> {
        let stand_in = self.os_user.is_none() && self.asserted_by.is_none();
        (!(stand_in && self.user == UNKNOWN_USER)).then_some(self.user.as_str())
    }

    /// The role's rules. Present by construction (`resolve` checked the name).
    pub fn role_policy<'p>(&self, policy: &'p Policy) -> Result<&'p RolePolicy, AccessError> {
        policy
            .roles
            .get(&self.role)
            .ok_or_else(|| unknown_role(policy, &self.role, &self.role_source))
    }
}

/// The name used when the OS account has no name and no user was given.
const UNKNOWN_USER: &str = "unknown";

fn checked_role(
    policy: &Policy,
    role: Option<(&str, &str)>,
) -> Result<(String, String), AccessError> {
    let (role, role_source) = match role {
        Some((name, source)) => (name.trim().to_string(), source.to_string()),
        None => (
            policy.default_role.clone(),
            "the policy's default_role".to_string(),
        ),
    };
    if !policy.roles.contains_key(&role) {
        return Err(unknown_role(policy, &role, &role_source));
    }
    Ok((role, role_source))
}

fn unknown_role(policy: &Policy, role: &str, origin: &str) -> AccessError {
    AccessError::UnknownRole {
        role: role.to_string(),
        origin: origin.to_string(),
        policy: policy_name(policy),
        known: policy.roles.keys().cloned().collect::<Vec<_>>().join(", "),
    }
}

/// The operating-system account running this process: the passwd name of the effective
/// uid (NSS-aware, so LDAP and SSSD accounts resolve), `None` when it has none.
/// Environment variables (`$USER`, `$LOGNAME`) are not consulted: anyone can set them.
#[cfg(unix)]
pub fn os_user() -> Option<String> {
    let uid = nix::unistd::geteuid();
    nix::unistd::User::from_uid(uid)
        .ok()
        .flatten()
        .map(|u| u.name)
        .filter(|name| !name.trim().is_empty())
}

/// Elsewhere there is no account database to ask: no OS user (the owner rule matches no
/// row unless the policy lets the role name one).
#[cfg(not(unix))]
pub fn os_user() -> Option<String> {
    None
}

/// How a policy is named in messages: its file, or "the built-in policy".
pub fn policy_name(policy: &Policy) -> String {
    match &policy.source {
        Some(path) => format!("policy {}", path.display()),
        None => "the built-in policy".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Level;

    fn two_roles() -> Policy {
        let mut policy = Policy::builtin();
        policy.roles.insert(
            "security_admin".into(),
            RolePolicy {
                default: Level::Reveal,
                require_reason: true,
                fields: vec![],
                actions: Default::default(),
            },
        );
        policy
    }

    #[test]
    fn unknown_role_error_lists_the_known_roles_and_the_source() {
        let err = Identity::resolve(&two_roles(), Some(("root", "--role")), Some("ana"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("`root`"), "{err}");
        assert!(err.contains("--role"), "{err}");
        assert!(err.contains("security_admin, viewer"), "{err}");
        assert!(err.contains("built-in policy"), "{err}");
    }

    #[test]
    fn missing_role_falls_back_to_the_policy_default_and_user_is_kept() {
        let id = Identity::resolve(&two_roles(), None, Some("ana")).unwrap();
        assert_eq!(id.role, "viewer");
        assert_eq!(id.user, "ana");
        let id =
            Identity::resolve(&two_roles(), Some(("security_admin", "TIMBER_ROLE")), None).unwrap();
        assert_eq!(id.role, "security_admin");
        assert!(!id.user.is_empty());
    }
}
