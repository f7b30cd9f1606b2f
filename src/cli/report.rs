//! `timber report [--output FILE] [--since TIME] [--until TIME] [--format html|json]`: the
//! evidence report of `crate::report`, written to a file (or stdout with `-o -`), as the
//! acting user and role. The report is recorded in the audit log before it is written.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::args::{GlobalArgs, ReportArgs, ReportFormat};
use super::audit::time_flag;
use super::{CliError, CliResult, Context, block_on};
use crate::access::Access;
use crate::report::{ReportRequest, default_file_name, generate, to_html, to_json};
use crate::store::{Store, StoreConfig};

pub fn run(global: &GlobalArgs, args: &ReportArgs) -> CliResult {
    let now = chrono::Utc::now().naive_utc();
    let since = time_flag("--since", args.since.as_deref(), now)?;
    let until = time_flag("--until", args.until.as_deref(), now)?;
    let ctx = Context::load(global.to_flags())?;
    let models = ctx.models()?;
    let ring = ctx.keyring()?;
    let access =
        Access::from_settings(&ctx.settings, &ring).map_err(|e| CliError::msg(e.to_string()))?;
    let config = StoreConfig::from_settings(&ctx.settings)?;
    let request = ReportRequest {
        since,
        until,
        now,
        format: args.format.as_str(),
    };
    let report = block_on(async {
        let store = Store::connect(config).await?;
        let report = generate(&ctx.settings, &models, &store, access.identity(), &request).await;
        store.close().await;
        report.map_err(|e| CliError::msg(e.to_string()))
    })?;
    let text = match args.format {
        ReportFormat::Html => to_html(&report),
        ReportFormat::Json => format!("{}\n", to_json(&report)),
    };
    if args.output.as_deref() == Some(Path::new("-")) {
        let mut out = std::io::stdout().lock();
        out.write_all(text.as_bytes())
            .and_then(|()| out.flush())
            .map_err(CliError::stdout)?;
        return Ok(ExitCode::SUCCESS);
    }
    let path = args
        .output
        .clone()
        .unwrap_or_else(|| PathBuf::from(default_file_name(&now, args.format.as_str())));
    std::fs::write(&path, text).map_err(|e| {
        CliError::msg(format!(
            "cannot write the report to {}: {e}",
            path.display()
        ))
    })?;
    eprintln!(
        "timber: report written to {}{}",
        path.display(),
        report
            .header
            .audit_entry
            .map_or_else(String::new, |id| format!(" (audit entry {id})"))
    );
    Ok(ExitCode::SUCCESS)
}
