//! Reading what `/` (and `s`) typed, and which columns may be matched or sorted; the
//! matching and sorting themselves are SQL in `store` (`Store::query_rows`).
//!
//! - a bare term (`user-12`, `Gold`): a case-insensitive substring of any plain column the
//!   role sees plain;
//! - `field=value`: `=` on a plain column, the blind index of an encrypted one (a search,
//!   audited, its value never shown); a `field` the model does not have is refused naming
//!   it, with the fields there are.

use super::table::{ColumnInfo, Narrow};
use crate::access::Decision;
use crate::config::{ColumnDef, ColumnType, ModelDef};
use crate::crypto::decode_plaintext;
use crate::tui::context::Ctx;

/// The narrowing `text` asks for (`None` when empty), or why it cannot be one.
pub fn parse(
    text: &str,
    model: &ModelDef,
    shown: &[ColumnInfo],
    ctx: &Ctx,
) -> Result<Option<Narrow>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    if let Some((left, right)) = text.split_once('=') {
        let field = left.trim();
        if is_identifier(field) {
            return equals(field, right.trim(), model, shown, ctx).map(Some);
        }
    }
    if !model.columns.iter().any(|c| plain(model, c, ctx)) {
        return Err(format!(
            "{} has no plain column to match text in; use field=value",
            model.name
        ));
    }
    Ok(Some(Narrow::Text(text.to_string())))
}

fn equals(
    field: &str,
    value: &str,
    model: &ModelDef,
    shown: &[ColumnInfo],
    ctx: &Ctx,
) -> Result<Narrow, String> {
    let column = model
        .column(field)
        .filter(|_| shown.iter().any(|c| c.name == field))
        .ok_or_else(|| {
            let names: Vec<&str> = shown.iter().map(|c| c.name.as_str()).collect();
            format!(
                "{} has no field `{field}`; fields: {}",
                model.name,
                names.join(", ")
            )
        })?;
    let secret = equality(model, column, ctx)?;
    let value = decode_plaintext(value.as_bytes(), &column.ty)
        .map_err(|e| format!("{field} is {}: {e}", column.ty.yaml_name()))?;
    let label = if secret {
        format!("{field} = ••• (value not shown)")
    } else {
        format!("{field} = {}", value_text(&value))
    };
    Ok(Narrow::Equals {
        field: field.to_string(),
        value,
        secret,
        label,
    })
}

/// Whether `field=value` may be asked of `column`: `Ok(false)` for a plain column, `Ok(true)`
/// for a secret one the role may search (audited), else why not.
pub fn equality(model: &ModelDef, column: &ColumnDef, ctx: &Ctx) -> Result<bool, String> {
    let access = &ctx.services.access;
    let name = format!("{}.{}", model.name, column.name);
    if column.encrypted && column.blind_index.is_none() {
        return Err(format!(
            "{name} is encrypted and has no blind index, so it cannot be matched"
        ));
    }
    if plain(model, column, ctx) {
        if column.ty == ColumnType::Json {
            return Err(format!(
                "{name} is JSON, which has no equality; type a word to match its text"
            ));
        }
        return Ok(false);
    }
    if !access.may_search(model, &column.name) {
        return Err(format!(
            "role {} may not search {name}: a search needs at least hash on the field",
            ctx.role()
        ));
    }
    Ok(true)
}

/// Why `column` cannot be sorted on for this role, if it cannot.
pub fn sortable(model: &ModelDef, column: &str, ctx: &Ctx) -> Result<(), String> {
    let Some(column) = model.column(column) else {
        return Err(format!("{} has no column `{column}`", model.name));
    };
    if column.encrypted {
        return Err("it is encrypted: its stored tokens have no order".into());
    }
    if !plain(model, column, ctx) {
        return Err(format!(
            "role {} sees it masked, and its order would tell what the mask hides",
            ctx.role()
        ));
    }
    Ok(())
}

/// A column the role sees as it is stored: not encrypted, no rule masks it.
pub fn plain(model: &ModelDef, column: &ColumnDef, ctx: &Ctx) -> bool {
    !column.encrypted && ctx.services.access.decide(model, column) == Decision::Plain
}

fn is_identifier(text: &str) -> bool {
    let mut chars = text.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn value_text(value: &crate::value::Value) -> String {
    match value.to_json() {
        serde_json::Value::String(s) => s,
        other => other.to_string(),
    }
}
