//! What a subcommand needs, loaded once from the global flags: settings, models, keys.
//! Loading is lazy per part so `timber keygen` never reads a config file.

use crate::config::settings::{Flags, Settings};

use super::CliError;

/// Loaded configuration for one command run.
#[derive(Debug)]
pub struct Context {
    pub flags: Flags,
    pub settings: Settings,
}

impl Context {
    pub fn load(flags: Flags) -> Result<Context, CliError> {
        let settings = Settings::load(&flags)?;
        Ok(Context { flags, settings })
    }
}
