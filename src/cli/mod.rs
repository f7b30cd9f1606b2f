//! Headless subcommands, one file each (DESIGN §12). `main.rs` parses flags and calls
//! [`run`]; every subcommand prints data on stdout and narration on stderr, and an error
//! becomes one clear line on stderr with exit code 2.

// The headless subcommands are where data is printed on stdout (the crate warns elsewhere).
#![allow(clippy::print_stdout)]

pub mod args;
pub mod audit;
pub mod audit_show;
pub mod audit_signed;
pub mod browse;
pub mod census;
pub mod console;
pub mod context;
pub mod demo;
pub mod diagnostics;
pub mod discover;
pub mod health;
pub mod info;
pub mod init;
pub mod jobs;
pub mod keygen;
pub mod keys;
pub mod metrics;
pub mod output_text;
pub mod report;
pub mod rotate;

pub use args::{Cli, Command, GlobalArgs, OutputFormat};
pub use context::Context;

use std::process::ExitCode;

/// Errors a subcommand reports to the operator: one line, no secret.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error("{0}")]
    Message(String),
    /// Stdout was closed by its reader (`timber jobs | head`): the reader has what it wanted,
    /// so this is not an error and nothing is printed (`main` exits 0).
    #[error("stdout was closed by its reader")]
    ClosedPipe,
}

impl CliError {
    pub fn msg(text: impl Into<String>) -> Self {
        CliError::Message(text.into())
    }

    /// A failed write to stdout: [`CliError::ClosedPipe`] when the reader closed the pipe
    /// (`timber audit | head`), else one line naming the cause.
    pub fn stdout(err: std::io::Error) -> Self {
        if err.kind() == std::io::ErrorKind::BrokenPipe {
            CliError::ClosedPipe
        } else {
            CliError::Message(format!("writing to stdout: {err}"))
        }
    }
}

pub type CliResult = Result<ExitCode, CliError>;

/// Runs the parsed command line. Subcommands that need the database get a tokio runtime.
/// Diagnostics (`--log-file`) start first, so a configuration error is logged too.
pub fn run(cli: Cli) -> CliResult {
    let timber_log = std::env::var("TIMBER_LOG").ok();
    diagnostics::start(cli.global.log_file.as_deref(), timber_log.as_deref())?;
    let command = cli.command.as_ref().map_or("console", Command::name);
    tracing::info!(command, "command started");
    let result = dispatch(cli);
    match &result {
        Ok(_) => tracing::info!(command, "command finished"),
        Err(CliError::ClosedPipe) => tracing::info!(command, "command finished (stdout closed)"),
        Err(err) => tracing::error!(command, error = %err, "command failed"),
    }
    result
}

fn dispatch(cli: Cli) -> CliResult {
    match cli.command {
        Some(Command::Keygen(args)) => keygen::run(&args),
        Some(Command::Info(args)) => info::run(&cli.global, &args),
        Some(Command::Init(args)) => init::run(&cli.global, &args),
        Some(Command::Browse(args)) => browse::run(&cli.global, &args),
        Some(Command::Demo(args)) => demo::run(&cli.global, &args),
        Some(Command::Rotate(args)) => rotate::run(&cli.global, &args),
        Some(Command::Jobs(args)) => jobs::run(&cli.global, &args),
        Some(Command::Keys(args)) => keys::run(&cli.global, &args),
        Some(Command::Audit(args)) => audit::run(&cli.global, &args),
        Some(Command::Census(args)) => census::run(&cli.global, &args),
        Some(Command::Health(args)) => health::run(&cli.global, &args),
        Some(Command::Metrics(args)) => metrics::run(&cli.global, &args),
        Some(Command::Discover(args)) => discover::run(&cli.global, &args),
        Some(Command::Report(args)) => report::run(&cli.global, &args),
        Some(Command::Console(args)) => console::run_serving(&cli.global, args.metrics_addr),
        None => run_console(&cli.global),
    }
}

/// Opens the interactive console with these global flags.
pub fn run_console(global: &GlobalArgs) -> CliResult {
    console::run(global)
}

/// Runs async store work from a synchronous subcommand on a fresh multi-threaded runtime.
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("the tokio runtime starts (threads and timers available)")
        .block_on(future)
}
