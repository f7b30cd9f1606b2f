//! The access policy YAML (`TIMBER_POLICY`, DESIGN §6), loaded and validated.
//! Evaluation (which level applies to a cell) lives in `access`.

use std::collections::BTreeMap;
use std::path::PathBuf;

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

#[derive(Clone, Debug, PartialEq)]
pub struct RolePolicy {
    pub default: Level,
    pub require_reason: bool,
    /// Patterns `Model.field`, `*.field`, `Model.*` to levels, in file order.
    pub fields: Vec<(String, Level)>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Policy {
    pub default_role: String,
    pub roles: BTreeMap<String, RolePolicy>,
    pub owner_sees_own: bool,
    pub reveal_timeout_seconds: u64,
    /// The file it came from; `None` for the built-in policy.
    pub source: Option<PathBuf>,
}

impl Policy {
    /// The policy used when no policy file is configured: role `viewer` sees `partial`.
    pub fn builtin() -> Policy {
        let mut roles = BTreeMap::new();
        roles.insert(
            "viewer".to_string(),
            RolePolicy {
                default: Level::Partial,
                require_reason: false,
                fields: Vec::new(),
            },
        );
        Policy {
            default_role: "viewer".to_string(),
            roles,
            owner_sees_own: false,
            reveal_timeout_seconds: 30,
            source: None,
        }
    }
}
