//! What a subcommand needs, loaded once from the global flags: settings, models, keys.
//! Loading is lazy per part so `timber keygen` never reads a config file.

use crate::config::ModelSet;
use crate::config::settings::{Flags, Settings};
use crate::crypto::KeyRing;

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

    /// The models of every configured model directory, validated.
    pub fn models(&self) -> Result<ModelSet, CliError> {
        crate::config::load_models(&self.settings.models_dirs.value)
            .map_err(|e| CliError::msg(e.to_string()))
    }

    /// The key ring from the configured keys (never printed; errors name the variable).
    pub fn keyring(&self) -> Result<KeyRing, CliError> {
        KeyRing::from_settings(&self.settings).map_err(|e| CliError::msg(e.to_string()))
    }
}
