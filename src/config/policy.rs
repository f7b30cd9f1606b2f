//! The access policy YAML (`TIMBER_POLICY`, DESIGN §6), loaded and validated.
//! Evaluation (which level applies to a cell) lives in `access`.
//!
//! ```yaml
//! default_role: viewer                 # required; must be one of the roles
//! roles:                               # required, at least one
//!   security_admin: { default: reveal, require_reason: true }
//!   support:
//!     default: partial                 # optional, `redact` when omitted
//!     fields: { "UserProfile.research_notes": redact, "*.api_keys": hidden }
//!     actions: [reveal]                # optional, none when omitted (see `PolicyAction`)
//!   viewer: { default: redact }
//! owner_sees_own: true                 # optional, false when omitted
//! reveal_timeout_seconds: 30           # optional, 30 when omitted; a whole number >= 0
//! may_assert_user: [security_admin]    # optional, nobody when omitted; see below
//! ```
//!
//! `may_assert_user` lists the roles that may act as another user than their operating-system
//! account (`--user` / `TIMBER_USER`) while `owner_sees_own` is on; for every other role such
//! a command is refused (the owner rule would otherwise reveal anyone's rows).
//!
//! Field patterns are `Model.field`, `*.field` or `Model.*`, each part a name of letters,
//! digits and `_`. Unknown keys, unknown levels, unknown actions and malformed patterns are
//! errors naming the file, line and column.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::settings::{Sourced, setting_origin};
use super::yaml_locate::{PathError, YamlIssue};
use super::yaml_node::{Node, Owned, Read, is_identifier};

/// Masking levels, weakest first; `Ord` follows that order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    Hidden,
    Redact,
    Hash,
    Partial,
    Reveal,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Hidden => "hidden",
            Level::Redact => "redact",
            Level::Hash => "hash",
            Level::Partial => "partial",
            Level::Reveal => "reveal",
        }
    }

    pub fn parse(text: &str) -> Option<Level> {
        Some(match text {
            "hidden" => Level::Hidden,
            "redact" => Level::Redact,
            "hash" => Level::Hash,
            "partial" => Level::Partial,
            "reveal" => Level::Reveal,
            _ => return None,
        })
    }
}

/// What a role may do beyond reading masked data, granted per role under `actions:`.
/// What each one governs, and who checks it, is decided in `access::actions`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PolicyAction {
    Reveal,
    Export,
    Rotate,
    Retire,
    CancelJob,
    TakeoverJob,
    Init,
    Checkpoint,
}

impl PolicyAction {
    pub const ALL: [PolicyAction; 8] = [
        PolicyAction::Reveal,
        PolicyAction::Export,
        PolicyAction::Rotate,
        PolicyAction::Retire,
        PolicyAction::CancelJob,
        PolicyAction::TakeoverJob,
        PolicyAction::Init,
        PolicyAction::Checkpoint,
    ];

    /// The name written in the policy file.
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyAction::Reveal => "reveal",
            PolicyAction::Export => "export",
            PolicyAction::Rotate => "rotate",
            PolicyAction::Retire => "retire",
            PolicyAction::CancelJob => "cancel_job",
            PolicyAction::TakeoverJob => "takeover_job",
            PolicyAction::Init => "init",
            PolicyAction::Checkpoint => "checkpoint",
        }
    }

    pub fn parse(text: &str) -> Option<PolicyAction> {
        PolicyAction::ALL.into_iter().find(|a| a.as_str() == text)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct RolePolicy {
    pub default: Level,
    pub require_reason: bool,
    /// Patterns `Model.field`, `*.field`, `Model.*` to levels, in file order.
    pub fields: Vec<(String, Level)>,
    /// The actions granted to the role; none when the role lists none (default deny).
    pub actions: BTreeSet<PolicyAction>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Policy {
    pub default_role: String,
    pub roles: BTreeMap<String, RolePolicy>,
    pub owner_sees_own: bool,
    pub reveal_timeout_seconds: u64,
    /// Roles that may name another user than their OS account under `owner_sees_own`.
    pub may_assert_user: Vec<String>,
    /// The file it came from; `None` for the built-in policy.
    pub source: Option<PathBuf>,
}

impl Policy {
    /// The policy used when no policy file is configured: role `viewer` sees `partial` and
    /// is granted no action (reveal, rotate, ... need a policy file that grants them).
    pub fn builtin() -> Policy {
        let mut roles = BTreeMap::new();
        roles.insert(
            "viewer".to_string(),
            RolePolicy {
                default: Level::Partial,
                require_reason: false,
                fields: Vec::new(),
                actions: BTreeSet::new(),
            },
        );
        Policy {
            default_role: "viewer".to_string(),
            roles,
            owner_sees_own: false,
            reveal_timeout_seconds: 30,
            may_assert_user: Vec::new(),
            source: None,
        }
    }
}

/// Why a policy file could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("cannot read policy file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The configured policy file cannot be read: `setting` says how it was configured
    /// (`TIMBER_POLICY=policy.yaml from ./.env`, `--policy p.yaml`).
    #[error("{setting}: cannot read policy file {}: {source}", path.display())]
    Setting {
        setting: String,
        path: PathBuf,
        source: std::io::Error,
    },
    /// A problem inside the file, with its position.
    #[error("{0}")]
    Yaml(YamlIssue),
}

const LEVELS: &str = "hidden, redact, hash, partial, reveal";
const ACTIONS: &str = "reveal, export, rotate, retire, cancel_job, takeover_job, init, checkpoint";
const POLICY_KEYS: &[&str] = &[
    "default_role",
    "roles",
    "owner_sees_own",
    "reveal_timeout_seconds",
    "may_assert_user",
];
const ROLE_KEYS: &[&str] = &["default", "require_reason", "fields", "actions"];

/// Reads and validates a policy file.
pub fn load_policy(path: &Path) -> Result<Policy, PolicyError> {
    let text = std::fs::read_to_string(path).map_err(|source| PolicyError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse_policy(&text, path)
}

/// Reads the configured policy file (`--policy` or `TIMBER_POLICY`); a file that cannot be
/// read is named with where the setting came from
/// (`TIMBER_POLICY=policy.yaml from ./.env: cannot read policy file policy.yaml: ...`).
pub fn load_policy_setting(setting: &Sourced<PathBuf>) -> Result<Policy, PolicyError> {
    load_policy(&setting.value).map_err(|err| match err {
        PolicyError::Read { path, source } => PolicyError::Setting {
            setting: setting_origin(
                "TIMBER_POLICY",
                "--policy",
                &setting.value.display().to_string(),
                &setting.source,
            ),
            path,
            source,
        },
        other => other,
    })
}

/// Validates policy text; `path` is used in messages and recorded as the policy's source.
pub fn parse_policy(text: &str, path: &Path) -> Result<Policy, PolicyError> {
    let root = super::yaml_value::parse(text)
        .map_err(|e| PolicyError::Yaml(YamlIssue::from_parse(&e, path)))?
        .value;
    if root.is_null() {
        let message = "the file is empty; expected default_role and roles".to_string();
        return Err(PolicyError::Yaml(YamlIssue {
            file: path.to_path_buf(),
            position: None,
            message,
        }));
    }
    let mut policy = read_policy(Owned::root(&root).node())
        .map_err(|e| PolicyError::Yaml(e.locate_in(text, path)))?;
    policy.source = Some(path.to_path_buf());
    Ok(policy)
}

fn read_policy(node: Node<'_, '_>) -> Read<Policy> {
    node.expect_keys(POLICY_KEYS, "the policy")?;
    let roles_node = node.require("roles", "the policy")?;
    let mut roles = BTreeMap::new();
    for (name, role) in roles_node.node().entries("roles")? {
        let name = name.trim();
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(PathError::new(
                &roles_node.path.key_name(name),
                format!("invalid role name {name:?}; use letters, digits, _ and -"),
            ));
        }
        roles.insert(name.to_string(), read_role(role.node(), name)?);
    }
    if roles.is_empty() {
        return Err(roles_node
            .node()
            .error("the policy defines no roles; add at least one under roles:"));
    }

    let default_role_node = node.require("default_role", "the policy")?;
    let default_role = default_role_node
        .node()
        .text("default_role")?
        .trim()
        .to_string();
    if !roles.contains_key(&default_role) {
        let known: Vec<&str> = roles.keys().map(String::as_str).collect();
        return Err(default_role_node.node().error(format!(
            "default_role {default_role:?} is not one of the roles: {}",
            known.join(", ")
        )));
    }
    let owner_sees_own = match node.get("owner_sees_own") {
        None => false,
        Some(v) => v.node().boolean("owner_sees_own")?,
    };
    let reveal_timeout_seconds = match node.get("reveal_timeout_seconds") {
        None => 30,
        Some(v) => v.node().unsigned("reveal_timeout_seconds")?,
    };
    let may_assert_user = read_may_assert_user(node, &roles)?;
    Ok(Policy {
        default_role,
        roles,
        owner_sees_own,
        reveal_timeout_seconds,
        may_assert_user,
        source: None,
    })
}

/// `may_assert_user: [role, ...]`: every name must be a role of the policy (a typo would
/// otherwise silently grant nothing, or later grant a role created under that name).
fn read_may_assert_user(
    node: Node<'_, '_>,
    roles: &BTreeMap<String, RolePolicy>,
) -> Read<Vec<String>> {
    let Some(list) = node.get("may_assert_user") else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for (role, path) in list.node().text_list("may_assert_user")? {
        if !roles.contains_key(&role) {
            let known: Vec<&str> = roles.keys().map(String::as_str).collect();
            return Err(PathError::new(
                &path,
                format!(
                    "may_assert_user names {role:?}, which is not one of the roles: {}",
                    known.join(", ")
                ),
            ));
        }
        out.push(role);
    }
    Ok(out)
}

fn read_role(node: Node<'_, '_>, name: &str) -> Read<RolePolicy> {
    let what = format!("role {name}");
    node.expect_keys(ROLE_KEYS, &what)?;
    // Omitted default: `redact`, which shows that a value exists but nothing of it.
    let default = match node.get("default") {
        None => Level::Redact,
        Some(level) => read_level(level.node(), &format!("default of role {name}"))?,
    };
    let require_reason = match node.get("require_reason") {
        None => false,
        Some(v) => v
            .node()
            .boolean(&format!("require_reason of role {name}"))?,
    };
    let mut fields = Vec::new();
    if let Some(map) = node.get("fields")
        && !map.value.is_null()
    {
        for (pattern, level) in map.node().entries(&format!("fields of role {name}"))? {
            if let Err(problem) = check_pattern(pattern) {
                return Err(PathError::new(
                    &map.path.key_name(pattern),
                    format!("bad field pattern {pattern:?} in role {name}: {problem}"),
                ));
            }
            let level = read_level(level.node(), &format!("{pattern} in role {name}"))?;
            fields.push((pattern.trim().to_string(), level));
        }
    }
    let actions = match node.get("actions") {
        None => BTreeSet::new(),
        Some(list) => read_actions(list.node(), name)?,
    };
    Ok(RolePolicy {
        default,
        require_reason,
        fields,
        actions,
    })
}

/// `actions: [rotate, retire]`; an unknown name is refused rather than ignored, because a
/// typo (`rotation`) would otherwise silently grant nothing, or be read as granting.
fn read_actions(node: Node<'_, '_>, role: &str) -> Read<BTreeSet<PolicyAction>> {
    let what = format!("actions of role {role}");
    let mut actions = BTreeSet::new();
    for item in node.list(&what)? {
        let item = item.node();
        let text = item.text(&what)?.trim();
        let action = PolicyAction::parse(text).ok_or_else(|| {
            item.error(format!(
                "unknown action {text:?} in role {role}; expected one of {ACTIONS}"
            ))
        })?;
        actions.insert(action);
    }
    Ok(actions)
}

fn read_level(node: Node<'_, '_>, what: &str) -> Read<Level> {
    let text = node.text(what)?;
    Level::parse(text.trim()).ok_or_else(|| {
        node.error(format!(
            "unknown level {text:?} for {what}; expected one of {LEVELS}"
        ))
    })
}

/// `Model.field`, `*.field` or `Model.*`, names being identifiers.
fn check_pattern(pattern: &str) -> Result<(), &'static str> {
    const EXPECTED: &str = "expected Model.field, *.field or Model.*";
    let Some((model, field)) = pattern.trim().split_once('.') else {
        return Err(EXPECTED);
    };
    match (model, field) {
        ("*", "*") => Err("*.* matches everything; set the role's default instead"),
        ("*", f) if is_identifier(f) => Ok(()),
        (m, "*") if is_identifier(m) => Ok(()),
        (m, f) if is_identifier(m) && is_identifier(f) => Ok(()),
        _ => Err(EXPECTED),
    }
}
