//! `timber census [--model M] [--format text|json]`: for each encrypted column, how many
//! values are under each key fingerprint, plaintext, under an unknown key, or malformed.
//! Keys are told apart by HMAC alone; nothing is decrypted.

use std::io::Write;
use std::process::ExitCode;

use super::args::{CensusArgs, GlobalArgs, OutputFormat};
use super::health::{end_progress, progress_on_stderr};
use super::{CliError, CliResult, Context, block_on};
use crate::config::ModelDef;
use crate::health::census_text;
use crate::health::{KeyConfig, ScanOptions, take_census};
use crate::store::{Store, StoreConfig};

pub fn run(global: &GlobalArgs, args: &CensusArgs) -> CliResult {
    let ctx = Context::load(global.to_flags())?;
    let models = ctx.models()?;
    let chosen: Vec<&ModelDef> = match &args.model {
        None => models.models.iter().collect(),
        Some(name) => vec![models.find(name).ok_or_else(|| {
            let known: Vec<&str> = models.models.iter().map(|m| m.name.as_str()).collect();
            CliError::msg(format!(
                "unknown model `{name}`; the models are: {}",
                known.join(", ")
            ))
        })?],
    };
    let keys = KeyConfig::from_settings(&ctx.settings);
    if let Some(err) = &keys.ring_error {
        eprintln!(
            "timber: {err}; counting with the usable keys (`timber health --only key` explains)"
        );
    }
    let mut config = StoreConfig::from_settings(&ctx.settings)?;
    // The census runs one statement at a time, and a statement's connection is back in
    // the pool before its answer completes (vendor/README.md). One connection at most
    // makes sure no statement ever opens a second one (four or five round trips: TCP, TLS,
    // startup), which over a 50 ms link cost more than the whole of a small census.
    config.max_connections = 1;
    let options = ScanOptions {
        progress: progress_on_stderr(),
        ..ScanOptions::default()
    };
    let census = block_on(async {
        let store = Store::connect(config).await?;
        let census = take_census(&store, &chosen, &keys, &options).await;
        store.close().await;
        census.map_err(CliError::from)
    })?;
    end_progress();
    for note in &census.notes {
        eprintln!("timber: {note}");
    }
    let text = match args.format {
        OutputFormat::Json => format!("{}\n", census.to_json()),
        OutputFormat::Text => census_text(&census),
    };
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(CliError::stdout)?;
    Ok(ExitCode::SUCCESS)
}
