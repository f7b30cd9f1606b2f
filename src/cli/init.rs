//! `timber init`: creates the models' tables and the system tables (DESIGN §7) where they are
//! missing, and prints, one line each, what it created and what already existed. Running it
//! again changes nothing. A SQLite database file is created if needed; REQUIRE_SSL does not
//! apply to a local SQLite file, which is said on stderr rather than refused.

use std::io::Write;
use std::process::ExitCode;

use super::args::GlobalArgs;
use super::{CliError, CliResult, Context, block_on};
use crate::config::PolicyAction;
use crate::store::{InitItem, ObjectKind, Store, StoreConfig, StoreError, TlsMode};

impl From<StoreError> for CliError {
    fn from(err: StoreError) -> CliError {
        CliError::msg(err.to_string())
    }
}

pub fn run(global: &GlobalArgs) -> CliResult {
    let ctx = Context::load(global.to_flags())?;
    ctx.require(&[PolicyAction::Init])?;
    let models = ctx.models()?;
    let mut config = StoreConfig::from_settings(&ctx.settings)?;
    if config.read_only {
        return Err(CliError::msg(format!(
            "init creates tables, but the session for {} is read-only (--read-only or OAK_ENV=production); add --write",
            config.shown_url()
        )));
    }
    config.create_if_missing = true;
    if config.require_ssl && config.tls_mode() == TlsMode::NotApplicable {
        eprintln!("timber init: REQUIRE_SSL does not apply to a local SQLite file");
    }
    let url = config.shown_url();
    let report = block_on(async {
        let store = Store::connect(config).await?;
        let report = store.init(&models.models).await;
        store.close().await;
        report
    })?;
    print_report(&report).map_err(|e| CliError::msg(format!("writing to stdout: {e}")))?;
    let created = report.iter().filter(|i| i.created).count();
    let existed = report
        .iter()
        .filter(|i| !i.created && i.kind != ObjectKind::Skipped)
        .count();
    eprintln!("timber init: {created} created, {existed} already existed ({url})");
    Ok(ExitCode::SUCCESS)
}

fn print_report(report: &[InitItem]) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    for item in report {
        let status = if item.created { "created" } else { "exists" };
        match item.kind {
            ObjectKind::Table => writeln!(out, "{status:<8} table  {}", item.name)?,
            ObjectKind::Index => {
                writeln!(out, "{status:<8} index  {} on {}", item.name, item.table)?
            }
            ObjectKind::Skipped => writeln!(
                out,
                "skipped  {}: {}",
                item.table,
                item.note.as_deref().unwrap_or_default()
            )?,
        }
    }
    out.flush()
}
