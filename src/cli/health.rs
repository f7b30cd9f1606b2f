//! `timber health [--only ID,...] [--sample N] [--format text|json]`: every check of
//! DESIGN §12, as text grouped by family or as the JSON report. Exit 0 when all is ok,
//! 1 on warnings, 2 on failures (and 2, with one line, when it cannot run at all).

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::args::{GlobalArgs, HealthArgs, OutputFormat};
use super::{CliError, CliResult, Context, block_on};
use crate::health::health_text;
use crate::health::{HealthOptions, Progress, ProgressFn, Selection, run_health};
use crate::store::{Store, StoreConfig};

pub fn run(global: &GlobalArgs, args: &HealthArgs) -> CliResult {
    let selection = Selection::parse(&args.only).map_err(|e| CliError::msg(e.to_string()))?;
    let ctx = Context::load(global.to_flags())?;
    let models = ctx.models()?;
    let config = StoreConfig::from_settings(&ctx.settings)?;
    let mut options = HealthOptions {
        selection,
        ..HealthOptions::default()
    };
    options.scan.sample = args.sample;
    options.scan.progress = progress_on_stderr();
    let report = block_on(async {
        let store = Store::connect(config).await?;
        let report = run_health(&ctx.settings, &models, &store, &options).await;
        store.close().await;
        report.map_err(|e| CliError::msg(e.to_string()))
    })?;
    end_progress();
    let text = match args.format {
        OutputFormat::Json => format!("{}\n", report.to_json()),
        OutputFormat::Text => health_text(&report, output_width()),
    };
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        // `timber health | head`: the reader stopped early, the verdict still stands.
        Ok(()) => {}
        Err(e) => match CliError::stdout(e) {
            CliError::ClosedPipe => {}
            other => return Err(other),
        },
    }
    Ok(ExitCode::from(report.exit_code()))
}

/// How wide text output may be: `COLUMNS` when set to a number, else the terminal's width
/// when stdout is one, else 100 (a pipe or a file).
pub(crate) fn output_width() -> usize {
    if let Some(columns) = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|c| *c > 0)
    {
        return columns;
    }
    if std::io::stdout().is_terminal()
        && let Some(columns) = crate::tui::terminal_columns()
    {
        return usize::from(columns);
    }
    100
}

/// A progress line on stderr, redrawn at most ten times a second, when stderr is a
/// terminal (never in pipes or logs).
pub(crate) fn progress_on_stderr() -> Option<ProgressFn> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let last = Mutex::new(None::<Instant>);
    Some(Arc::new(move |p: &Progress| {
        let mut last = last.lock().unwrap_or_else(|e| e.into_inner());
        if last.is_some_and(|t| t.elapsed() < Duration::from_millis(100)) {
            return;
        }
        *last = Some(Instant::now());
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\r\x1b[2Kscanning {}: {} / ~{} rows",
            p.model, p.rows_done, p.rows_expected
        );
        let _ = err.flush();
    }))
}

/// Clears the progress line, if one was drawn.
pub(crate) fn end_progress() {
    if std::io::stderr().is_terminal() {
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[2K");
        let _ = err.flush();
    }
}
