//! `timber`: parse the command line and dispatch; no logic here (DESIGN §2).

#![forbid(unsafe_code)]
#![warn(clippy::unwrap_used, clippy::dbg_macro)]

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // The panic hook restores the terminal first (installed by the console before raw mode);
    // here it only makes a panic report readable.
    let _ = color_eyre::install();
    let cli = timber::cli::Cli::parse();
    match timber::cli::run(cli) {
        Ok(code) => code,
        // `timber jobs | head`: the reader closed the pipe and has what it wanted.
        Err(timber::cli::CliError::ClosedPipe) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("timber: {err}");
            ExitCode::from(2)
        }
    }
}
