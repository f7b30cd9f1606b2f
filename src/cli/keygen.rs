//! `timber keygen`: one new Fernet key on stdout, nothing else (so it can be piped into a
//! secret store). This is the only place a key is ever printed, and only a fresh one.
//!
//! `timber keygen --audit [--name NAME]`: a new Ed25519 audit signing key, as two lines to
//! paste into the environment: `AUDIT_SIGNING_KEY=PRIVATE+KEY+…` (secret: it signs
//! checkpoints) and `AUDIT_PUBLIC_KEY=NAME+hash+…` (public: give it to auditors).

use std::io::Write;
use std::process::ExitCode;

use super::args::KeygenArgs;
use super::{CliError, CliResult};
use crate::crypto::Key;
use crate::crypto::signed_note::NoteSigner;

pub fn run(args: &KeygenArgs) -> CliResult {
    let mut out = std::io::stdout().lock();
    let written = if args.audit {
        let signer = NoteSigner::generate(&args.name)
            .map_err(|e| CliError::msg(format!("--name {:?}: {e}", args.name)))?;
        let private = signer.to_text();
        writeln!(out, "AUDIT_SIGNING_KEY={}", private.as_str())
            .and_then(|()| writeln!(out, "AUDIT_PUBLIC_KEY={}", signer.verifier().to_text()))
    } else {
        let key = Key::generate();
        let text = key.to_base64();
        writeln!(out, "{}", text.as_str())
    };
    written.map_err(CliError::stdout)?;
    Ok(ExitCode::SUCCESS)
}
