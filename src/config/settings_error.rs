//! Why settings could not be loaded. Every message names the variable, flag or file to fix
//! and never contains a secret: key texts, key-command output and env-file lines are not
//! repeated; values are shown only for variables that are not secret (booleans, dates).

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("--read-only and --write contradict each other; give only one")]
    ReadOnlyAndWrite,

    #[error("env file {} (given by --env-file) does not exist", path.display())]
    EnvFileMissing { path: PathBuf },

    #[error("cannot read env file {}: {reason}", path.display())]
    EnvFileRead { path: PathBuf, reason: String },

    #[error(
        "{}{}: malformed line in env file; expected NAME=value (the line is not shown, it may hold a secret)",
        path.display(),
        line.map(|l| format!(":{l}")).unwrap_or_default()
    )]
    EnvFileLine { path: PathBuf, line: Option<usize> },

    #[error(
        "env file {} is group- or world-writable (mode {mode:o}), so another user could change \
         the keys and key commands it sets; refused (fix: chmod go-w {})",
        path.display(),
        path.display()
    )]
    EnvFileWritable { path: PathBuf, mode: u32 },

    #[error(
        "env file {} is owned by uid {owner}, not by you (uid {me}) or root, so that user decides \
         the keys and key commands it sets; refused (fix: use a copy you own, or chown it)",
        path.display()
    )]
    EnvFileForeignOwner { path: PathBuf, owner: u32, me: u32 },

    #[error(
        "{var} in {place} was not run: a .env in the working directory is picked up implicitly, \
         so a checked-out or planted file could run commands; to trust this file pass \
         --env-file ./.env, or export {var} instead"
    )]
    KeyCommandInImplicitEnvFile { var: String, place: String },

    #[error("{var} is not valid UTF-8")]
    NotUnicode { var: String },

    #[error("set only one of {family}; {level} sets {found}")]
    KeySourceConflict {
        family: String,
        found: String,
        level: String,
    },

    #[error("{var} names {}, which does not exist", path.display())]
    KeyFileMissing { var: String, path: PathBuf },

    #[error("cannot read {} (named by {var}): {reason}", path.display())]
    KeyFileRead {
        var: String,
        path: PathBuf,
        reason: String,
    },

    #[error("{what} is empty; expected a key")]
    KeyEmpty { what: String },

    #[error("{what} holds more than one line; expected a single key")]
    KeyMultiline { what: String },

    #[error("{var} could not be started: {reason}")]
    KeyCommandSpawn { var: String, reason: String },

    #[error("{var} failed ({status}); its output is not shown because it may hold the key")]
    KeyCommandFailed { var: String, status: String },

    #[error("{var} did not finish within {limit:?} and was stopped")]
    KeyCommandTimeout {
        var: String,
        limit: std::time::Duration,
    },

    #[error("{var} printed something that is not UTF-8 text; expected the key")]
    KeyCommandNotUtf8 { var: String },

    #[error("{var} has an invalid key name; use TIMBER_KEY_<NAME> with letters, digits and _")]
    InvalidKeyName { var: String },

    #[error("{first} and {second} both name the key {name:?} (key names ignore case); keep one")]
    DuplicateKeyName {
        name: String,
        first: String,
        second: String,
    },

    #[error("invalid {var} {value:?} in {origin}; expected true, false, 1, 0, yes or no")]
    InvalidBool {
        var: String,
        value: String,
        origin: String,
    },

    #[error(
        "invalid {var} {value:?} in {origin}; expected a date (YYYY-MM-DD) or an RFC 3339 time"
    )]
    InvalidDate {
        var: String,
        value: String,
        origin: String,
    },

    #[error("invalid {var} {value:?} in {origin}: {reason}")]
    InvalidRate {
        var: String,
        value: String,
        origin: String,
        reason: String,
    },

    #[error("{var} in {origin} lists no directory; separate directories with : or ,")]
    NoModelDirs { var: String, origin: String },

    #[error("{var}: {reason}")]
    AuditPublicKey { var: String, reason: String },

    #[error("{setting}: no such file (a certificate or key file for TLS to the database)")]
    TlsFileMissing { setting: String },
}

impl ConfigError {
    /// The error about a key variable (`*_FILE`, `*_COMMAND`) that was set at `source`: when
    /// that is an env file, the variable is named with the file (" in env file PATH"), so
    /// the message says which file to fix, as the other settings errors do.
    pub(crate) fn set_in(mut self, source: &super::settings::Source) -> Self {
        let super::settings::Source::EnvFile { path, var } = source else {
            return self;
        };
        let place = format!(" in {}", super::env_layers::env_file_place(path, var));
        match &mut self {
            ConfigError::KeyFileMissing { var, .. }
            | ConfigError::KeyFileRead { var, .. }
            | ConfigError::KeyCommandSpawn { var, .. }
            | ConfigError::KeyCommandFailed { var, .. }
            | ConfigError::KeyCommandTimeout { var, .. }
            | ConfigError::KeyCommandNotUtf8 { var } => var.push_str(&place),
            ConfigError::KeyEmpty { what } => what.push_str(&place),
            _ => {}
        }
        self
    }
}
