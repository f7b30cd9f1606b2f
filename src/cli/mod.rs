//! Headless subcommands, one file each (DESIGN §12). `main.rs` parses flags and calls
//! [`run`]; every subcommand prints data on stdout and narration on stderr, and an error
//! becomes one clear line on stderr with exit code 2.

pub mod args;
pub mod context;
pub mod info;
pub mod keygen;

pub use args::{Cli, Command, GlobalArgs, OutputFormat};
pub use context::Context;

use std::process::ExitCode;

/// Errors a subcommand reports to the operator: one line, no secret.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Config(#[from] crate::config::settings::ConfigError),
    #[error("{0}")]
    Message(String),
}

impl CliError {
    pub fn msg(text: impl Into<String>) -> Self {
        CliError::Message(text.into())
    }
}

pub type CliResult = Result<ExitCode, CliError>;

/// Runs the parsed command line. Subcommands that need the database get a tokio runtime.
pub fn run(cli: Cli) -> CliResult {
    match cli.command {
        Some(Command::Keygen) => keygen::run(),
        Some(Command::Info(args)) => info::run(&cli.global, &args),
        None | Some(Command::Console) => Err(CliError::msg(
            "the console is not built yet; use a subcommand (see `timber --help`)",
        )),
    }
}
