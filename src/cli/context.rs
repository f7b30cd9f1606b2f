//! What a subcommand needs, loaded once from the global flags: settings, models, keys.
//! Loading is lazy per part so `timber keygen` never reads a config file.

use crate::access::Grants;
use crate::config::{Flags, Settings};
use crate::config::{ModelSet, PolicyAction};
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
        crate::config::load_models_setting(&self.settings.models_dirs)
            .map_err(|e| CliError::msg(e.to_string()))
    }

    /// The acting role's grants, after checking it is granted each of `actions` (refused
    /// with one line naming the role, the missing action and the policy file).
    pub fn require(&self, actions: &[PolicyAction]) -> Result<Grants, CliError> {
        let grants =
            Grants::from_settings(&self.settings).map_err(|e| CliError::msg(e.to_string()))?;
        grants
            .check_all(actions)
            .map_err(|e| CliError::msg(e.to_string()))?;
        Ok(grants)
    }

    /// The key ring from the configured keys (never printed; errors name the variable).
    pub fn keyring(&self) -> Result<KeyRing, CliError> {
        KeyRing::from_settings(&self.settings).map_err(|e| CliError::msg(e.to_string()))
    }
}
