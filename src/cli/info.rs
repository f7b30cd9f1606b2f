//! `timber info`: where every setting came from, the backend, the models with their
//! encrypted fields, and the key ring as fingerprints. Reads files only; never connects
//! and never prints a key or a DSN password.

use std::io::Write;
use std::process::ExitCode;

use serde_json::{Value as Json, json};

use super::args::{GlobalArgs, InfoArgs, OutputFormat};
use super::{CliError, CliResult, Context};
use crate::config::Sourced;
use crate::config::{ModelDef, Policy, load_policy_setting};

pub fn run(global: &GlobalArgs, args: &InfoArgs) -> CliResult {
    let ctx = Context::load(global.to_flags())?;
    // Refuse a URL no other command would accept (it used to be shown as "backend foo" with
    // exit 0); the parse does not connect, and its message shows the URL password-redacted.
    crate::store::StoreConfig::from_settings(&ctx.settings)
        .map_err(|e| CliError::msg(e.to_string()))?;
    let report = build_report(&ctx)?;
    let text = match args.format {
        OutputFormat::Json => format!(
            "{}\n",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        ),
        OutputFormat::Text => render_text(&report),
    };
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(CliError::stdout)?;
    Ok(ExitCode::SUCCESS)
}

fn sourced<T: std::fmt::Display>(item: &Sourced<T>) -> Json {
    json!({"value": item.value.to_string(), "source": item.source.to_string()})
}

fn optional<T: std::fmt::Display>(item: &Option<Sourced<T>>) -> Json {
    item.as_ref().map(sourced).unwrap_or(Json::Null)
}

fn model_key(model: &ModelDef) -> String {
    if model.encryption.per_user {
        format!("per-user (user_{{{}}})", model.owner_column)
    } else if let Some(name) = &model.encryption.key_identifier {
        name.clone()
    } else {
        "primary".to_string()
    }
}

/// The whole report as JSON; the text form is rendered from it so both say the same.
pub fn build_report(ctx: &Context) -> Result<Json, CliError> {
    let s = &ctx.settings;
    let models = ctx.models()?;
    let ring = ctx.keyring()?;
    let policy = match &s.policy {
        Some(p) => load_policy_setting(p).map_err(|e| CliError::msg(e.to_string()))?,
        None => Policy::builtin(),
    };
    let role = s
        .role
        .as_ref()
        .map(|r| r.value.clone())
        .unwrap_or(policy.default_role.clone());
    let dirs: Vec<String> = s
        .models_dirs
        .value
        .iter()
        .map(|d| d.display().to_string())
        .collect();
    let models_json: Vec<Json> = models
        .models
        .iter()
        .map(|m| {
            json!({
                "name": m.name,
                "table": m.table_name,
                "file": m.source.display().to_string(),
                "encrypted_fields": m.encrypted_columns().map(|c| c.name.clone()).collect::<Vec<_>>(),
                "key": model_key(m),
                "classification": m.classification.map(|c| c.as_str()),
                "mixins": m.mixins.iter().map(|x| x.yaml_name()).collect::<Vec<_>>(),
            })
        })
        .collect();
    let keys_json: Vec<Json> = ring
        .entries()
        .iter()
        .map(|k| {
            json!({"id": k.id.to_string(), "fingerprint": k.fingerprint.to_string(),
                   "source": k.source, "role": k.role.as_str()})
        })
        .collect();
    Ok(json!({
        "env_file": s.env_file.as_ref().map(|p| p.display().to_string()),
        "database": sourced(&s.database_url),
        "backend": s.database_url.value.scheme(),
        "environment": optional(&s.oak_env),
        "read_only": s.read_only,
        "models_dirs": {"value": dirs, "source": s.models_dirs.source.to_string()},
        "policy": s.policy.as_ref().map(|p| json!({"value": p.value.display().to_string(), "source": p.source.to_string()})),
        "role": role,
        "user": optional(&s.user),
        "audit_log": s.enable_audit_log,
        "access_control": s.enable_access_control,
        "key_rotation_date": optional(&s.key_rotation_date),
        "models": models_json,
        "keys": keys_json,
    }))
}

fn text_of(v: &Json) -> String {
    match v {
        Json::Null => "-".to_string(),
        Json::String(s) => s.clone(),
        Json::Object(o) => match (o.get("value"), o.get("source")) {
            (Some(value), Some(source)) => format!("{}  ({})", text_of(value), text_of(source)),
            _ => v.to_string(),
        },
        Json::Array(items) => items.iter().map(text_of).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

/// Aligned, sectioned text for people.
pub fn render_text(r: &Json) -> String {
    let mut out = String::new();
    out.push_str("Configuration\n");
    for (label, key) in [
        ("env file", "env_file"),
        ("database", "database"),
        ("backend", "backend"),
        ("environment", "environment"),
        ("read-only", "read_only"),
        ("models", "models_dirs"),
        ("policy", "policy"),
        ("role", "role"),
        ("user", "user"),
        ("audit log", "audit_log"),
        ("access control", "access_control"),
        ("key rotated", "key_rotation_date"),
    ] {
        out.push_str(&format!("  {label:<15} {}\n", text_of(&r[key])));
    }
    let models = r["models"].as_array().cloned().unwrap_or_default();
    out.push_str(&format!("\nModels ({})\n", models.len()));
    for m in &models {
        out.push_str(&format!(
            "  {:<24} {:<28} key {:<10} encrypted: {}\n",
            text_of(&m["name"]),
            text_of(&m["table"]),
            text_of(&m["key"]),
            text_of(&m["encrypted_fields"]),
        ));
    }
    let keys = r["keys"].as_array().cloned().unwrap_or_default();
    out.push_str(&format!("\nKeys ({})\n", keys.len()));
    for k in &keys {
        out.push_str(&format!(
            "  {:<12} {:<18} {:<11} {}\n",
            text_of(&k["id"]),
            text_of(&k["fingerprint"]),
            text_of(&k["role"]),
            text_of(&k["source"]),
        ));
    }
    out
}
