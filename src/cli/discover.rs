//! `timber discover [--sample N] [--suggest] [--format text|json]`: samples every column
//! not declared encrypted (the models' tables and tables no model declares, timber's own
//! left out) and reports those whose values look like personal data or secrets, with
//! counts and shares, never a value. `--suggest` adds the model YAML that would declare
//! them (in JSON, as `"suggestion"`).

use std::io::Write;
use std::process::ExitCode;

use serde_json::json;

use super::args::{DiscoverArgs, GlobalArgs, OutputFormat};
use super::{CliError, CliResult, Context, block_on};
use crate::config::ModelDef;
use crate::health::discover::{DiscoverOptions, discover, suggest_yaml};
use crate::store::{Store, StoreConfig};

pub fn run(global: &GlobalArgs, args: &DiscoverArgs) -> CliResult {
    let ctx = Context::load(global.to_flags())?;
    let models = ctx.models()?;
    let chosen: Vec<&ModelDef> = models.models.iter().collect();
    let config = StoreConfig::from_settings(&ctx.settings)?;
    let options = DiscoverOptions {
        sample: args.sample,
    };
    let found = block_on(async {
        let store = Store::connect(config).await?;
        let found = discover(&store, &chosen, options).await;
        store.close().await;
        found.map_err(CliError::from)
    })?;
    for note in &found.notes {
        eprintln!("timber: {note}");
    }
    let text = match args.format {
        OutputFormat::Json => {
            let mut out = found.to_json();
            if args.suggest {
                out["suggestion"] = json!(suggest_yaml(&found, &chosen));
            }
            format!("{out}\n")
        }
        OutputFormat::Text if args.suggest => {
            format!("{}\n{}", found.to_text(), suggest_yaml(&found, &chosen))
        }
        OutputFormat::Text => found.to_text(),
    };
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(CliError::stdout)?;
    Ok(ExitCode::SUCCESS)
}
