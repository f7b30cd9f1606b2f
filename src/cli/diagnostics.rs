//! `--log-file F`: structured diagnostics as JSON lines (one `tracing` event a line), for the
//! operator who must later explain what a session did: connections, queries' timing, the
//! lifecycle of background tasks and jobs, errors.
//!
//! What is logged is chosen where the event is raised, and no event carries a key, a token
//! or a field value: connection URLs go through the store's redaction, queries are logged by
//! sqlx as their SQL text (placeholders, never bound values) with their timing, and errors are
//! the same one-line messages the operator sees. `tests/hardening/secret_canary.rs` scans the log of
//! every subcommand for keys and plaintext.
//!
//! `TIMBER_LOG` (process environment only: the log starts before any env file is read) sets
//! the filter in `tracing-subscriber`'s `EnvFilter` syntax; the default is `info` plus sqlx's
//! per-statement events (`sqlx::query=debug`), so the query timings are in the file.

use std::fs::{File, OpenOptions};
use std::path::Path;
use std::sync::Mutex;

use tracing_subscriber::EnvFilter;

use super::CliError;

/// The filter used when `TIMBER_LOG` is unset or empty.
pub const DEFAULT_FILTER: &str = "info,sqlx::query=debug";

/// Starts writing diagnostics to `path` (appended; created with mode 0600 since it describes
/// the session). Without a path nothing is logged, and a set `TIMBER_LOG` gets a warning on
/// stderr rather than silently doing nothing (not an error: a level exported in a shell
/// profile must not stop every command).
pub fn start(path: Option<&Path>, filter: Option<&str>) -> Result<(), CliError> {
    let filter = filter.map(str::trim).filter(|f| !f.is_empty());
    let Some(path) = path else {
        if filter.is_some() {
            eprintln!(
                "timber: warning: TIMBER_LOG (environment) is set but no --log-file is given, so \
                 no diagnostics are written"
            );
        }
        return Ok(());
    };
    let env_filter = match filter {
        Some(text) => EnvFilter::try_new(text).map_err(|e| {
            CliError::msg(format!(
                "TIMBER_LOG (environment) is not a valid log filter ({e}); use a level such as \
                 `info` or `debug`, or directives such as `timber=debug,sqlx=warn`"
            ))
        })?,
        None => EnvFilter::new(DEFAULT_FILTER),
    };
    let file = open_log(path)?;
    let subscriber = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(false)
        .with_target(true)
        .with_ansi(false)
        .with_env_filter(env_filter)
        .with_writer(Mutex::new(file))
        .finish();
    tracing::subscriber::set_global_default(subscriber)
        .map_err(|e| CliError::msg(format!("--log-file {}: {e}", path.display())))?;
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        pid = std::process::id(),
        "session started"
    );
    Ok(())
}

fn open_log(path: &Path) -> Result<File, CliError> {
    let mut options = OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path).map_err(|e| {
        CliError::msg(format!(
            "--log-file {}: cannot open it for appending: {e}",
            path.display()
        ))
    })
}
