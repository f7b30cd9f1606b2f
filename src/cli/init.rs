//! `timber init`: creates the models' tables and the system tables (DESIGN §7) where they are
//! missing, and prints, one line each, what it created and what already existed. Running it
//! again changes nothing. A SQLite database file is created if needed; REQUIRE_SSL does not
//! apply to a local SQLite file, which is said on stderr rather than refused.
//!
//! `timber init --dry-run` lists what init would create (`would create table ...`) and
//! creates nothing: its session is read-only, a missing SQLite file is not created (the plan
//! is made against an empty database), and it needs no `init` grant, since it only looks.

use std::io::Write;
use std::process::ExitCode;

use super::args::{GlobalArgs, InitArgs};
use super::{CliError, CliResult, Context, block_on};
use crate::audit::genesis::{self, Genesis};
use crate::audit::{AuditError, AuditLog};
use crate::config::PolicyAction;
use crate::crypto::KeyRing;
use crate::crypto::signed_note::NoteSigner;
use crate::store::{InitItem, ObjectKind, Store, StoreConfig, StoreError, TlsMode};

impl From<StoreError> for CliError {
    fn from(err: StoreError) -> CliError {
        CliError::msg(err.to_string())
    }
}

pub fn run(global: &GlobalArgs, args: &InitArgs) -> CliResult {
    let ctx = Context::load(global.to_flags())?;
    if args.dry_run {
        return dry_run(&ctx);
    }
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
    // The genesis needs the audit key (from MASTER_ENCRYPTION_KEY); a signing key, when
    // set, signs a first checkpoint over it. A key that does not parse is refused before
    // anything is created.
    let ring = ctx.keyring();
    let signer = super::audit_signed::optional_signer(&ctx)?;
    let actor = super::rotate::actor(&ctx);
    let (report, genesis) = block_on(async {
        let store = Store::connect(config).await?;
        let report = store.init(&models.models).await;
        let genesis = match (&report, &ring) {
            (Ok(_), Ok(ring)) => Some(begin_audit_log(&store, ring, signer.as_ref(), &actor).await),
            (Ok(_), Err(e)) => {
                eprintln!("timber init: audit log not begun: {e}");
                None
            }
            (Err(_), _) => None,
        };
        store.close().await;
        Ok::<_, CliError>((report?, genesis))
    })?;
    print_report(&report, false).map_err(CliError::stdout)?;
    match genesis {
        Some(Ok(Genesis::Written { entry, checkpoint })) => {
            let signed = checkpoint.map_or(String::new(), |c| {
                format!(
                    ", signed as checkpoint {} (`timber audit checkpoint` prints one to keep outside)",
                    c.id
                )
            });
            println!("created  audit genesis entry {entry}{signed}");
        }
        Some(Ok(Genesis::AlreadyBegun { .. })) => println!("exists   audit genesis"),
        Some(Err(e)) => eprintln!("timber init: audit log not begun: {e}"),
        None => {}
    }
    let created = report.iter().filter(|i| i.created).count();
    let existed = report
        .iter()
        .filter(|i| !i.created && i.kind != ObjectKind::Skipped)
        .count();
    eprintln!("timber init: {created} created, {existed} already existed ({url})");
    Ok(ExitCode::SUCCESS)
}

/// Begins the audit log with its genesis entry, when MASTER_ENCRYPTION_KEY is set.
async fn begin_audit_log(
    store: &Store,
    ring: &KeyRing,
    signer: Option<&NoteSigner>,
    actor: &str,
) -> Result<Genesis, AuditError> {
    let log = AuditLog::open(store, ring).await?;
    genesis::begin(store, &log, signer, actor).await
}

/// `--dry-run`: the same lookups as init on a read-only session, nothing created.
fn dry_run(ctx: &Context) -> CliResult {
    let models = ctx.models()?;
    let mut config = StoreConfig::from_settings(&ctx.settings)?;
    let url = config.shown_url();
    let missing_file = config.missing_sqlite_file();
    if let Some(path) = &missing_file {
        // Nothing to look at, and opening it would create it: plan against an empty database.
        eprintln!(
            "timber init --dry-run: {} does not exist yet; init would create it",
            path.display()
        );
        config = StoreConfig::from_url("sqlite::memory:")?;
    }
    config.read_only = true;
    let report = block_on(async {
        let store = Store::connect(config).await?;
        let report = store.init_plan(&models.models).await;
        store.close().await;
        report
    })?;
    print_report(&report, true).map_err(CliError::stdout)?;
    let create = report.iter().filter(|i| i.created).count();
    let existing = report
        .iter()
        .filter(|i| !i.created && i.kind != ObjectKind::Skipped)
        .count();
    eprintln!(
        "timber init --dry-run: would create {create}, {existing} already exist ({url}); nothing was changed"
    );
    Ok(ExitCode::SUCCESS)
}

fn print_report(report: &[InitItem], dry_run: bool) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    for item in report {
        let status = match (item.created, dry_run) {
            (true, false) => "created",
            (true, true) => "would create",
            (false, _) => "exists",
        };
        let width = if dry_run { 12 } else { 8 };
        match item.kind {
            ObjectKind::Table => writeln!(out, "{status:<width$} table  {}", item.name)?,
            ObjectKind::Index => writeln!(
                out,
                "{status:<width$} index  {} on {}",
                item.name, item.table
            )?,
            ObjectKind::Skipped => writeln!(
                out,
                "{:<width$} {}: {}",
                "skipped",
                item.table,
                item.note.as_deref().unwrap_or_default()
            )?,
        }
    }
    out.flush()
}
