//! `timber keygen`: one new Fernet key on stdout, nothing else (so it can be piped into a
//! secret store). This is the only place a key is ever printed, and only a fresh one.

use std::io::Write;
use std::process::ExitCode;

use super::{CliError, CliResult};
use crate::crypto::Key;

pub fn run() -> CliResult {
    let key = Key::generate();
    let text = key.to_base64();
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", text.as_str())
        .map_err(|e| CliError::msg(format!("writing to stdout: {e}")))?;
    Ok(ExitCode::SUCCESS)
}
