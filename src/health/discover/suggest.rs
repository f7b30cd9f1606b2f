//! `timber discover --suggest`: the model YAML that would declare what discovery found. A
//! column of a model becomes `encrypted: true` (shown as the entry to put in that model's
//! file); a table no model declares gets a new model naming its primary key and the
//! sensitive columns. Then `timber rotate --model M --encrypt-plaintext` encrypts the
//! values already stored.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::{Discovery, SensitiveColumn};
use crate::config::ModelDef;

/// `newsletter_signups` → `NewsletterSignup`: a model name for an undeclared table.
fn model_name_for(table: &str) -> String {
    let mut name: String = table
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut chars = w.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect();
    if name.ends_with('s') && !name.ends_with("ss") {
        name.pop();
    }
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert_str(0, "Table");
    }
    name
}

/// The model type for a database type (the primary key of an undeclared table).
fn yaml_type(data_type: &str) -> String {
    let t = data_type.to_ascii_lowercase();
    if t.contains("bigint") || t == "int8" {
        return "BigInteger".into();
    }
    if t.contains("int") {
        return "Integer".into();
    }
    if t.contains("char") {
        let n: String = t.chars().filter(char::is_ascii_digit).collect();
        return if n.is_empty() {
            "String".into()
        } else {
            format!("String({n})")
        };
    }
    "Text".into()
}

fn why(f: &SensitiveColumn) -> String {
    format!(
        "{}: {} of {} sampled values",
        f.kind.describe(),
        f.matches,
        f.values
    )
}

/// The YAML to add, as text with comments saying where each part goes.
pub fn suggest_yaml(discovery: &Discovery, models: &[&ModelDef]) -> String {
    let mut out = String::new();
    if discovery.found.is_empty() {
        out.push_str("# nothing to declare: no undeclared sensitive data was found\n");
        return out;
    }
    // One entry per column, the first kind found for it.
    let mut by_model: BTreeMap<&str, Vec<&SensitiveColumn>> = BTreeMap::new();
    let mut by_table: BTreeMap<&str, Vec<&SensitiveColumn>> = BTreeMap::new();
    for f in &discovery.found {
        let list = match &f.model {
            Some(model) => by_model.entry(model).or_default(),
            None => by_table.entry(&f.table).or_default(),
        };
        if !list.iter().any(|g| g.column == f.column) {
            list.push(f);
        }
    }
    let mut rotate = Vec::new();
    for (name, found) in &by_model {
        let model = models.iter().find(|m| m.name == *name);
        let file = model.map_or_else(String::new, |m| format!(" in {}", m.source.display()));
        let _ = writeln!(
            out,
            "# {name}{file}: declare these columns encrypted (replace their entries)"
        );
        let _ = writeln!(out, "models:\n  - name: {name}\n    columns:");
        for f in found {
            let ty = model
                .and_then(|m| m.column(&f.column))
                .map_or_else(|| "Text".to_string(), |c| c.ty.yaml_name());
            let _ = writeln!(
                out,
                "      - name: {}\n        type: {ty}\n        encrypted: true   # {}",
                f.column,
                why(f)
            );
            if !f.declared {
                let _ = writeln!(
                    out,
                    "        # not in the model yet: the table {} has it",
                    f.table
                );
            }
        }
        rotate.push(name.to_string());
        out.push('\n');
    }
    for (table, found) in &by_table {
        let name = model_name_for(table);
        let (key, key_type) = discovery
            .keys
            .iter()
            .find(|(t, _, _)| t.as_str() == *table)
            .map_or(("id", "Integer".to_string()), |(_, k, ty)| {
                (k.as_str(), yaml_type(ty))
            });
        let _ = writeln!(
            out,
            "# table {table} is declared by no model: a new model file (models/{table}.yaml)"
        );
        let _ = writeln!(
            out,
            "models:\n  - name: {name}\n    table_name: {table}\n    columns:\n      - name: {key}\n        type: {key_type}\n        primary_key: true"
        );
        for f in found {
            let _ = writeln!(
                out,
                "      - name: {}\n        type: Text        # a token is longer than the value: widen a VARCHAR column\n        encrypted: true   # {}",
                f.column,
                why(f)
            );
        }
        out.push_str("    mixins: [EncryptedFieldMixin]\n\n");
        rotate.push(name);
    }
    let _ = writeln!(
        out,
        "# then encrypt the values already stored: {}",
        rotate
            .iter()
            .map(|m| format!("`timber rotate --model {m} --encrypt-plaintext`"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_names_from_table_names() {
        assert_eq!(model_name_for("newsletter_signups"), "NewsletterSignup");
        assert_eq!(model_name_for("address"), "Address");
        assert_eq!(model_name_for("access"), "Access");
        assert_eq!(model_name_for("2fa_codes"), "Table2faCode");
    }

    #[test]
    fn key_types() {
        assert_eq!(yaml_type("INTEGER"), "Integer");
        assert_eq!(yaml_type("bigint"), "BigInteger");
        assert_eq!(yaml_type("VARCHAR(36)"), "String(36)");
        assert_eq!(yaml_type("character varying"), "String");
        assert_eq!(yaml_type("uuid"), "Text");
    }
}
