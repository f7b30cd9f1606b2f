//! Which masking level a role gets for one column of one model (DESIGN §6).
//!
//! Precedence, most specific first (the first that matches decides):
//!
//! 1. `Model.field`: the exact column of the exact model;
//! 2. `Model.*`: every *encrypted* column of the model;
//! 3. `*.field`: that column name in every model;
//! 4. the role's `default`: every *encrypted* column.
//!
//! Model names match the model's `name` or its `table_name`; model and field names match
//! without regard to ASCII case, because a rule someone wrote for `userprofile.email` is
//! meant for that column and silently ignoring it would show more than intended.
//!
//! Columns that are not encrypted are not secret by declaration, so they are shown as
//! they are, unless a rule names them (`Model.field` or `*.field`): then that rule's level
//! applies (typically `hidden`). `Model.*` and the default do not reach them: they describe
//! how to treat the model's secrets, not its ids and timestamps.
//!
//! The primary key is always shown: reveals and audit entries address a record by it, and
//! hiding it would only make the row unaddressable, not its secrets safer.
//!
//! With `ENABLE_ACCESS_CONTROL=false` every column may be revealed (reveals are still audited).

use crate::config::{ColumnDef, Level, ModelDef, RolePolicy};

/// How specific a matching rule is; larger wins.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Specificity {
    AnyField,
    ModelWildcard,
    Exact,
}

/// A parsed `model.field` pattern from the policy.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Pattern {
    /// `None` for `*`.
    model: Option<String>,
    /// `None` for `*`.
    field: Option<String>,
}

impl Pattern {
    /// `Model.field`, `Model.*`, `*.field`; a bare `field` means `*.field`.
    fn parse(text: &str) -> Pattern {
        let text = text.trim();
        let (model, field) = match text.split_once('.') {
            Some((m, f)) => (m.trim(), f.trim()),
            None => ("*", text),
        };
        let part = |s: &str| {
            if s == "*" || s.is_empty() {
                None
            } else {
                Some(s.to_string())
            }
        };
        Pattern {
            model: part(model),
            field: part(field),
        }
    }

    /// How specifically this pattern names `column` of `model`, if it names it at all.
    fn matches(&self, model: &ModelDef, column: &ColumnDef) -> Option<Specificity> {
        let model_ok = self.model.as_deref().is_none_or(|m| {
            m.eq_ignore_ascii_case(&model.name) || m.eq_ignore_ascii_case(&model.table_name)
        });
        let field_ok = self
            .field
            .as_deref()
            .is_none_or(|f| f.eq_ignore_ascii_case(&column.name));
        if !(model_ok && field_ok) {
            return None;
        }
        match (&self.model, &self.field) {
            (Some(_), Some(_)) => Some(Specificity::Exact),
            (Some(_), None) => Some(Specificity::ModelWildcard),
            (None, Some(_)) => Some(Specificity::AnyField),
            // `*.*` says no more than the role default does.
            (None, None) => None,
        }
    }
}

/// A role's rules, parsed once.
#[derive(Clone, Debug)]
pub struct RoleRules {
    default: Level,
    rules: Vec<(Pattern, Level)>,
    /// `ENABLE_ACCESS_CONTROL`: when false every column may be revealed.
    enabled: bool,
}

impl RoleRules {
    pub fn new(role: &RolePolicy, access_control_enabled: bool) -> RoleRules {
        let mut default = role.default;
        let mut rules = Vec::with_capacity(role.fields.len());
        for (text, level) in &role.fields {
            let pattern = Pattern::parse(text);
            if pattern.model.is_none() && pattern.field.is_none() {
                // `*.*` is another way to write the default.
                default = *level;
            } else {
                rules.push((pattern, *level));
            }
        }
        RoleRules {
            default,
            rules,
            enabled: access_control_enabled,
        }
    }

    /// The level this role has for `column` of `model` (before the owner rule).
    pub fn level(&self, model: &ModelDef, column: &ColumnDef) -> Level {
        if !self.enabled || column.primary_key {
            return Level::Reveal;
        }
        let mut best: Option<(Specificity, Level)> = None;
        for (pattern, level) in &self.rules {
            let Some(spec) = pattern.matches(model, column) else {
                continue;
            };
            if spec == Specificity::ModelWildcard && !column.encrypted {
                continue;
            }
            // Strictly greater: among equally specific rules the first in the file wins.
            if best.is_none_or(|(b, _)| spec > b) {
                best = Some((spec, *level));
            }
        }
        match best {
            Some((_, level)) => level,
            None if column.encrypted => self.default,
            None => Level::Reveal,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ColumnType;
    use std::path::PathBuf;

    pub(crate) fn column(name: &str, encrypted: bool) -> ColumnDef {
        ColumnDef {
            name: name.into(),
            ty: ColumnType::Text,
            primary_key: name == "id",
            nullable: true,
            encrypted,
            indexed: false,
            unique: false,
            default: None,
            foreign_key: None,
            blind_index: None,
            from_mixin: false,
        }
    }

    fn model(name: &str, table: &str) -> ModelDef {
        ModelDef {
            name: name.into(),
            table_name: table.into(),
            columns: vec![column("id", false)],
            mixins: vec![],
            indexes: vec![],
            encryption: Default::default(),
            classification: None,
            owner_column: "user_id".into(),
            gdpr: None,
            source: PathBuf::from("m.yaml"),
        }
    }

    fn role(default: Level, fields: &[(&str, Level)]) -> RolePolicy {
        RolePolicy {
            default,
            require_reason: false,
            fields: fields.iter().map(|(p, l)| (p.to_string(), *l)).collect(),
            actions: Default::default(),
        }
    }

    #[test]
    fn most_specific_rule_wins_regardless_of_file_order() {
        let r = RoleRules::new(
            &role(
                Level::Partial,
                &[
                    ("*.notes", Level::Hidden),
                    ("UserProfile.*", Level::Hash),
                    ("UserProfile.notes", Level::Redact),
                ],
            ),
            true,
        );
        let up = model("UserProfile", "user_profiles");
        let other = model("Session", "sessions");
        assert_eq!(r.level(&up, &column("notes", true)), Level::Redact);
        assert_eq!(r.level(&up, &column("email", true)), Level::Hash);
        assert_eq!(r.level(&other, &column("notes", true)), Level::Hidden);
        assert_eq!(r.level(&other, &column("email", true)), Level::Partial);
        // The table name and any case name the same model.
        let r2 = RoleRules::new(
            &role(Level::Reveal, &[("user_profiles.EMAIL", Level::Redact)]),
            true,
        );
        assert_eq!(r2.level(&up, &column("email", true)), Level::Redact);
    }

    #[test]
    fn plain_columns_show_unless_named_and_primary_key_always_shows() {
        let r = RoleRules::new(
            &role(
                Level::Redact,
                &[("UserProfile.*", Level::Hidden), ("*.ip", Level::Hidden)],
            ),
            true,
        );
        let up = model("UserProfile", "user_profiles");
        assert_eq!(r.level(&up, &column("created_at", false)), Level::Reveal);
        assert_eq!(r.level(&up, &column("ip", false)), Level::Hidden);
        assert_eq!(r.level(&up, &column("id", false)), Level::Reveal);
        assert_eq!(r.level(&up, &column("email", true)), Level::Hidden);
    }

    #[test]
    fn disabled_access_control_reveals_everything() {
        let r = RoleRules::new(&role(Level::Hidden, &[("*.email", Level::Hidden)]), false);
        let up = model("UserProfile", "user_profiles");
        assert_eq!(r.level(&up, &column("email", true)), Level::Reveal);
        assert_eq!(r.level(&up, &column("notes", true)), Level::Reveal);
    }
}
