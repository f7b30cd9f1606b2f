//! The signed half of `timber audit` (issue 15): `audit checkpoint` signs and stores the
//! log's Merkle root and prints the note; `audit prove ID` prints an inclusion proof;
//! `audit --verify --public-key FILE [--checkpoint FILE]` verifies with the public key
//! alone (no data key, no master key: an auditor's laptop can run it); `audit export`
//! writes the log for a SIEM.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use super::args::{OutputFormat, SiemFormat};
use super::{CliError, CliResult, Context, block_on};
use crate::audit::checkpoint::{self, prove, write_checkpoint, write_if_due};
use crate::audit::export::{CoveredBy, cef_line, json_line};
use crate::audit::public_verify::{PublicReport, verify_public};
use crate::audit::query::for_each_entry;
use crate::audit::{AuditError, AuditLog};
use crate::config::PolicyAction;
use crate::crypto::signed_note::{NoteSigner, NoteVerifier};
use crate::store::{Store, StoreConfig};

fn io(e: std::io::Error) -> CliError {
    CliError::stdout(e)
}

/// `timber audit checkpoint`.
pub fn checkpoint(ctx: &Context, config: StoreConfig, format: OutputFormat) -> CliResult {
    ctx.require(&[PolicyAction::Checkpoint])?;
    let signer = signer(ctx)?;
    let written = block_on(async {
        let store = Store::connect(config).await?;
        let result = write_checkpoint(&store, &signer).await;
        store.close().await;
        result.map_err(|e: AuditError| CliError::msg(format!("cannot write a checkpoint: {e}")))
    })?;
    let mut out = std::io::stdout().lock();
    if format == OutputFormat::Json {
        writeln!(
            out,
            "{}",
            serde_json::json!({"id": written.id, "size": written.size, "note": written.note})
        )
        .map_err(io)?;
    } else {
        write!(out, "{}", written.note).map_err(io)?;
        eprintln!(
            "timber audit: checkpoint {} covers {} entries; keep the note above outside the database",
            written.id, written.size
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `timber audit prove ID`.
pub fn prove_entry(config: StoreConfig, id: i64) -> CliResult {
    let proof = block_on(async {
        let store = Store::connect(config).await?;
        let proof = prove(&store, id).await;
        store.close().await;
        proof.map_err(|e| CliError::msg(e.to_string()))
    })?;
    writeln!(std::io::stdout().lock(), "{}", proof.to_json()).map_err(io)?;
    Ok(ExitCode::SUCCESS)
}

/// `timber audit --verify --public-key FILE [--checkpoint FILE]`: exit 0 intact, 2 not.
pub fn verify(
    ctx: &Context,
    config: StoreConfig,
    public_key: Option<&Path>,
    outside: Option<&Path>,
    format: OutputFormat,
) -> CliResult {
    let key = verifier(ctx, public_key)?;
    let outside = outside
        .map(|path| {
            std::fs::read_to_string(path).map_err(|e| {
                CliError::msg(format!(
                    "--checkpoint {}: cannot read it: {e}",
                    path.display()
                ))
            })
        })
        .transpose()?;
    let report = block_on(async {
        let store = Store::connect(config).await?;
        let report = verify_public(&store, &key, outside.as_deref()).await;
        store.close().await;
        report.map_err(|e| CliError::msg(e.to_string()))
    })?;
    print_report(&report, format)?;
    Ok(if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

fn print_report(report: &PublicReport, format: OutputFormat) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    if format == OutputFormat::Json {
        return writeln!(out, "{}", report.to_json()).map_err(io);
    }
    if !report.ok {
        let reason = report.reason.as_deref().unwrap_or("broken");
        return writeln!(out, "BROKEN ({} entries): {reason}", report.entries).map_err(io);
    }
    let to = report.verified_to.as_ref();
    let at = to.and_then(|v| v.at).map_or(String::new(), |t| {
        format!(", signed {}", t.format("%Y-%m-%d %H:%M:%S"))
    });
    let which = to
        .and_then(|v| v.checkpoint)
        .map_or("the checkpoint kept outside".to_string(), |id| {
            format!("checkpoint {id}")
        });
    writeln!(
        out,
        "intact: {} entries verified to {which} ({} entries{at}) with {}; {} stored checkpoint(s) verified; {} newer entries not yet checkpointed",
        report.entries,
        to.map_or(0, |v| v.size),
        report.key,
        report.checkpoints,
        report.uncovered
    )
    .map_err(io)
}

/// The signing key from AUDIT_SIGNING_KEY (or its `_FILE` / `_COMMAND` form).
fn signer(ctx: &Context) -> Result<NoteSigner, CliError> {
    let sourced = ctx.settings.audit_signing_key.as_ref().ok_or_else(|| {
        CliError::msg(
            "AUDIT_SIGNING_KEY is not set: checkpoints are signed with it; make one with \
             `timber keygen --audit`",
        )
    })?;
    NoteSigner::from_text(sourced.value.expose().trim()).map_err(|e| {
        CliError::msg(format!(
            "AUDIT_SIGNING_KEY from {} is not a signing key: {e}",
            sourced.source
        ))
    })
}

/// The signing key when AUDIT_SIGNING_KEY is set (refusing one that does not parse).
pub fn optional_signer(ctx: &Context) -> Result<Option<NoteSigner>, CliError> {
    match ctx.settings.audit_signing_key {
        Some(_) => signer(ctx).map(Some),
        None => Ok(None),
    }
}

/// The verifier key from `--public-key FILE`, else AUDIT_PUBLIC_KEY(_FILE).
fn verifier(ctx: &Context, file: Option<&Path>) -> Result<NoteVerifier, CliError> {
    let (text, origin) = match file {
        Some(path) => (
            std::fs::read_to_string(path).map_err(|e| {
                CliError::msg(format!(
                    "--public-key {}: cannot read it: {e}",
                    path.display()
                ))
            })?,
            format!("--public-key {}", path.display()),
        ),
        None => match &ctx.settings.audit_public_key {
            Some(s) => (
                s.value.clone(),
                format!("AUDIT_PUBLIC_KEY from {}", s.source),
            ),
            None => {
                return Err(CliError::msg(
                    "no public key: pass --public-key FILE or set AUDIT_PUBLIC_KEY (printed by \
                     `timber keygen --audit`)",
                ));
            }
        },
    };
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("")
        .trim_start_matches("AUDIT_PUBLIC_KEY=");
    NoteVerifier::from_text(line)
        .map_err(|e| CliError::msg(format!("{origin} is not an audit public key: {e}")))
}

/// `timber audit export [--since T] [--until T] [--format jsonl|cef]`: every entry in the
/// range, in id order, one line each on stdout; no key needed.
pub fn export(
    config: StoreConfig,
    since: Option<&str>,
    until: Option<&str>,
    format: SiemFormat,
) -> CliResult {
    let now = chrono::Utc::now().naive_utc();
    let since = super::audit::time_flag("--since", since, now)?;
    let until = super::audit::time_flag("--until", until, now)?;
    let version = env!("CARGO_PKG_VERSION");
    block_on(async {
        let store = Store::connect(config).await?;
        let result = async {
            let checkpoints: Vec<CoveredBy> = store
                .audit_checkpoints()
                .await?
                .into_iter()
                .map(|c| CoveredBy {
                    checkpoint: c.id,
                    size: c.tree_size.max(0) as u64,
                })
                .collect();
            let mut out = std::io::BufWriter::new(std::io::stdout());
            let mut index = 0u64;
            let mut failed = None;
            for_each_entry(&store, &mut |entry| {
                let at = entry.content.created_at;
                let leaf = index;
                index += 1;
                if since.is_some_and(|s| at < s) || until.is_some_and(|u| at >= u) {
                    return;
                }
                // The first (smallest) checkpoint whose tree holds this leaf.
                let covered = checkpoints
                    .iter()
                    .filter(|c| c.size > leaf)
                    .min_by_key(|c| c.size)
                    .copied();
                let line = match format {
                    SiemFormat::Jsonl => json_line(&entry, leaf, covered).to_string(),
                    SiemFormat::Cef => cef_line(&entry, version, covered),
                };
                if failed.is_none()
                    && let Err(e) = writeln!(out, "{line}")
                {
                    failed = Some(e);
                }
            })
            .await
            .map_err(|e| CliError::msg(e.to_string()))?;
            if let Some(e) = failed {
                return Err(io(e));
            }
            out.flush().map_err(io)
        }
        .await;
        store.close().await;
        result.map(|()| ExitCode::SUCCESS)
    })
}

/// After a command that may have appended to the log (browse, rotate, keys retire,
/// audit): writes a checkpoint when one is due and AUDIT_SIGNING_KEY is set (saying so on
/// stderr). It takes the command's own settings, so no key command runs twice. Never fails
/// the command: a checkpoint that cannot be written is reported and left for `timber
/// audit checkpoint`.
pub fn checkpoint_if_due(ctx: &Context) {
    if ctx.settings.audit_signing_key.is_none() {
        return;
    }
    let signer = match signer(ctx) {
        Ok(signer) => signer,
        Err(e) => {
            eprintln!("timber: no checkpoint written: {e}");
            return;
        }
    };
    let Ok(config) = StoreConfig::from_settings(&ctx.settings) else {
        return;
    };
    let now = chrono::Utc::now().naive_utc();
    let written = block_on(async {
        let store = Store::connect(config).await?;
        let written = write_if_due(&store, &signer, now).await;
        store.close().await;
        written.map_err(|e| CliError::msg(e.to_string()))
    });
    match written {
        Ok(Some(w)) => eprintln!(
            "timber: audit checkpoint {} written ({} entries); `timber audit checkpoint` prints one to keep outside",
            w.id, w.size
        ),
        Ok(None) => {}
        Err(e) => eprintln!("timber: no checkpoint written: {e}"),
    }
}

/// `timber audit migrate`: exit 0 with the checkpoint's note on stdout, 2 when refused.
pub fn migrate(ctx: &Context, config: StoreConfig, format: OutputFormat) -> CliResult {
    ctx.require(&[PolicyAction::Checkpoint])?;
    let signer = signer(ctx)?;
    let ring = ctx.keyring()?;
    let actor = super::rotate::actor(ctx);
    let done = block_on(async {
        let store = Store::connect(config).await?;
        let result = async {
            let log = AuditLog::open(&store, &ring).await?;
            let old = ring.audit_key_old();
            crate::audit::checkpoint::migrate(&store, &log, old.as_ref(), &signer, &actor).await
        }
        .await;
        store.close().await;
        result.map_err(|e| CliError::msg(format!("cannot migrate the audit log: {e}")))
    })?;
    let mut out = std::io::stdout().lock();
    let c = &done.checkpoint;
    if format == OutputFormat::Json {
        writeln!(
            out,
            "{}",
            serde_json::json!({
                "verified_entries": done.verified.entries,
                "v1_head": done.verified.head,
                "checkpoint": {"id": c.id, "size": c.size, "note": c.note},
            })
        )
        .map_err(io)?;
    } else {
        write!(out, "{}", c.note).map_err(io)?;
        eprintln!(
            "timber audit: the chain of {} entries verified; checkpoint {} now signs it and the migration entry ({} entries); keep the note above outside the database",
            done.verified.entries, c.id, c.size
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `timber audit rotate-signing-key`: hands the signing over from AUDIT_SIGNING_KEY_OLD to
/// AUDIT_SIGNING_KEY; prints the checkpoint both signed (exit 0), or refuses (exit 2).
pub fn rotate_signing_key(ctx: &Context, config: StoreConfig, format: OutputFormat) -> CliResult {
    ctx.require(&[PolicyAction::Checkpoint])?;
    let new = signer(ctx)?;
    let sourced = ctx.settings.audit_signing_key_old.as_ref().ok_or_else(|| {
        CliError::msg(
            "AUDIT_SIGNING_KEY_OLD is not set: it is the key in force (the one that signed the \
             checkpoints so far); AUDIT_SIGNING_KEY is the new one",
        )
    })?;
    let old = NoteSigner::from_text(sourced.value.expose().trim()).map_err(|e| {
        CliError::msg(format!(
            "AUDIT_SIGNING_KEY_OLD from {} is not a signing key: {e}",
            sourced.source
        ))
    })?;
    let ring = ctx.keyring()?;
    let actor = super::rotate::actor(ctx);
    let done = block_on(async {
        let store = Store::connect(config).await?;
        let result = async {
            let log = AuditLog::open(&store, &ring).await?;
            checkpoint::rotate_signing_key(&store, &log, &old, &new, &actor).await
        }
        .await;
        store.close().await;
        result.map_err(|e| CliError::msg(format!("cannot hand the signing key over: {e}")))
    })?;
    let c = &done.checkpoint;
    let mut out = std::io::stdout().lock();
    if format == OutputFormat::Json {
        writeln!(
            out,
            "{}",
            serde_json::json!({
                "entry": done.entry,
                "old": old.verifier().fingerprint(),
                "new": new.verifier().fingerprint(),
                "checkpoint": {"id": c.id, "size": c.size, "note": c.note},
            })
        )
        .map_err(io)?;
    } else {
        write!(out, "{}", c.note).map_err(io)?;
        eprintln!(
            "timber audit: signing handed over from {} to {} (entry {}, checkpoint {} signed by both); give auditors AUDIT_PUBLIC_KEY={} and drop AUDIT_SIGNING_KEY_OLD",
            old.verifier().fingerprint(),
            new.verifier().fingerprint(),
            done.entry,
            c.id,
            new.verifier().to_text()
        );
    }
    Ok(ExitCode::SUCCESS)
}
