//! `timber keys list` and `timber keys retire KEY_ID [--format json]`. Keys are shown by
//! id and fingerprint only. Retiring proves by a full scan that no value is still under
//! the key, refuses (exit 2) saying how many values and where if one is, and otherwise
//! audits the retirement and records it in `timber_keys`.

use std::io::Write;
use std::process::ExitCode;

use serde_json::json;

use super::args::{GlobalArgs, KeysAction, KeysArgs, OutputFormat};
use super::{CliError, CliResult, Context, block_on};
use crate::audit::AuditLog;
use crate::config::PolicyAction;
use crate::rotation::{RotationError, key_listing};
use crate::service;
use crate::store::{Store, StoreConfig};

pub fn run(global: &GlobalArgs, args: &KeysArgs) -> CliResult {
    let ctx = Context::load(global.to_flags())?;
    let ring = ctx.keyring()?;
    let config = StoreConfig::from_settings(&ctx.settings)?;
    let failed = |e: crate::rotation::RotationError| CliError::msg(e.to_string());
    let io = CliError::stdout;
    match &args.action {
        KeysAction::List { format } => {
            let keys = block_on(async {
                let store = Store::connect(config).await?;
                let keys = key_listing(&store, &ring).await.map_err(failed);
                store.close().await;
                keys
            })?;
            let mut out = std::io::stdout().lock();
            if *format == OutputFormat::Json {
                let list: Vec<_> = keys
                    .iter()
                    .map(|k| json!({"id": k.id, "fingerprint": k.fingerprint, "source": k.source, "role": k.role, "status": k.status.as_str(), "retired_at": k.retired_at.map(|t| t.format("%Y-%m-%dT%H:%M:%S").to_string())}))
                    .collect();
                writeln!(out, "{}", json!({ "keys": list })).map_err(io)?;
            } else {
                writeln!(
                    out,
                    "{:<16} {:<18} {:<14} {:<11} SOURCE",
                    "ID", "FINGERPRINT", "STATUS", "ROLE"
                )
                .map_err(io)?;
                for k in &keys {
                    writeln!(
                        out,
                        "{:<16} {:<18} {:<14} {:<11} {}",
                        k.id, k.fingerprint, k.status, k.role, k.source
                    )
                    .map_err(io)?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        KeysAction::Retire { key_id, format } => {
            ctx.require(&[PolicyAction::Retire])?;
            if config.read_only {
                return Err(CliError::msg(
                    "retiring a key writes to timber_keys, but the session is read-only; add --write",
                ));
            }
            let set = ctx.models()?;
            // Refused before connecting when the key may not be retired at all.
            service::check_retirable(&ring, &set.models, key_id)
                .map_err(|e| CliError::msg(e.to_string()))?;
            let actor = super::rotate::actor(&ctx);
            let row = block_on(async {
                let store = Store::connect(config).await?;
                let open_audit = async || {
                    AuditLog::open(&store, &ring)
                        .await
                        .map_err(RotationError::Audit)
                };
                let row =
                    service::retire(&store, &ring, &set.models, key_id, &actor, open_audit).await;
                store.close().await;
                row.map_err(|e| match e {
                    service::RetireError::Rotation(RotationError::Audit(e)) => {
                        CliError::msg(format!("cannot retire: {e}"))
                    }
                    other => CliError::msg(other.to_string()),
                })
            })?;
            let mut out = std::io::stdout().lock();
            if *format == OutputFormat::Json {
                writeln!(
                    out,
                    "{}",
                    json!({"id": row.key_id, "fingerprint": row.fingerprint, "status": row.status.as_str()})
                )
                .map_err(io)?;
            } else {
                writeln!(
                    out,
                    "retired {} ({}): no stored value depends on it",
                    row.key_id, row.fingerprint
                )
                .map_err(io)?;
            }
            super::audit_signed::checkpoint_if_due(&ctx);
            Ok(ExitCode::SUCCESS)
        }
    }
}
