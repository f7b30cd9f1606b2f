//! Who is acting, and under which role (DESIGN §6).
//!
//! Role: `--role` / `TIMBER_ROLE`, else the policy's `default_role`. User: `--user` /
//! `TIMBER_USER`, else the operating-system user (`$USER`, then `$LOGNAME`), else `unknown`.
//! The settings loader already folds flag over environment into `Settings::{role, user}`;
//! this module only adds the fallbacks and checks the role against the policy.

use crate::config::settings::Settings;
use crate::config::{Policy, RolePolicy};

use super::AccessError;

/// The acting user and role, as written into audit entries and shown in the status bar.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    pub user: String,
    pub role: String,
    /// Where the role came from (`--role`, `TIMBER_ROLE`, `policy default_role`), for messages.
    pub role_source: String,
}

impl Identity {
    /// Resolves role and user from what the operator asked for (`None` = not given).
    /// `role_source` names where `role` came from, so an unknown role's message can say so.
    pub fn resolve(
        policy: &Policy,
        role: Option<(&str, &str)>,
        user: Option<&str>,
    ) -> Result<Identity, AccessError> {
        let (role, role_source) = match role {
            Some((name, source)) => (name.trim().to_string(), source.to_string()),
            None => (
                policy.default_role.clone(),
                "the policy's default_role".to_string(),
            ),
        };
        if !policy.roles.contains_key(&role) {
            return Err(AccessError::UnknownRole {
                role,
                origin: role_source,
                policy: policy_name(policy),
                known: policy.roles.keys().cloned().collect::<Vec<_>>().join(", "),
            });
        }
        let user = match user.map(str::trim).filter(|u| !u.is_empty()) {
            Some(u) => u.to_string(),
            None => os_user(),
        };
        Ok(Identity {
            user,
            role,
            role_source,
        })
    }

    /// Resolves from loaded settings (flag over `TIMBER_ROLE` / `TIMBER_USER`).
    pub fn from_settings(settings: &Settings, policy: &Policy) -> Result<Identity, AccessError> {
        let role = settings
            .role
            .as_ref()
            .map(|r| (r.value.as_str(), r.source.to_string()));
        let user = settings.user.as_ref().map(|u| u.value.as_str());
        Identity::resolve(policy, role.as_ref().map(|(r, s)| (*r, s.as_str())), user)
    }

    /// The role's rules. Present by construction (`resolve` checked the name).
    pub fn role_policy<'p>(&self, policy: &'p Policy) -> Result<&'p RolePolicy, AccessError> {
        policy
            .roles
            .get(&self.role)
            .ok_or_else(|| AccessError::UnknownRole {
                role: self.role.clone(),
                origin: self.role_source.clone(),
                policy: policy_name(policy),
                known: policy.roles.keys().cloned().collect::<Vec<_>>().join(", "),
            })
    }
}

/// The operating-system user: `$USER`, then `$LOGNAME`, else `unknown`.
pub fn os_user() -> String {
    ["USER", "LOGNAME"]
        .iter()
        .filter_map(|var| std::env::var(var).ok())
        .map(|v| v.trim().to_string())
        .find(|v| !v.is_empty())
        .unwrap_or_else(|| "unknown".to_string())
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
