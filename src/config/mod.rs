//! Configuration: settings (flags > environment > env file), model YAML, access policy YAML.
//! Reads files (and runs `ENCRYPTION_KEY_COMMAND`); never touches the database.
//!
//! YAML is read with serde-saphyr, a memory-safe parser (why: `yaml_value`); every node keeps
//! its line and column, which `yaml_locate` uses to point messages at `file:line:column`.

pub(crate) mod env_layers;
mod key_sources;
mod model;
mod model_loader;
mod model_parse;
mod model_validate;
mod policy;
mod settings;
mod settings_error;
mod settings_load;
pub use settings_load::parse_rate;
mod url_redact;
mod yaml_locate;
mod yaml_node;
mod yaml_value;

pub use model::{
    Classification, ColumnDef, ColumnType, EncryptionSettings, GdprSettings, IndexDef, Mixin,
    ModelDef, ModelSet,
};
pub use model_loader::{
    ModelError, load_model_file, load_models, load_models_setting, parse_models,
};
pub use policy::{Level, Policy, PolicyAction, PolicyError, RolePolicy};
pub use policy::{load_policy, load_policy_setting, parse_policy};
pub use settings::{ConfigError, Flags, Settings, Source};
pub use settings::{DatabaseUrl, SecretText, Sourced, is_key_variable, setting_origin};
pub use url_redact::{is_credential_key, percent_decode_lossy, redact_url};
pub use yaml_locate::YamlIssue;
pub use yaml_value::from_str;

/// A config file's path as shown to people: relative to the working directory when the file is
/// under it (shorter, and the same on every machine a checkout lands on), absolute otherwise.
pub fn shown_path(path: &std::path::Path) -> String {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(cwd).ok())
        .filter(|relative| !relative.as_os_str().is_empty())
        .unwrap_or(path)
        .display()
        .to_string()
}
