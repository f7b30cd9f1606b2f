//! Settings from flags > environment > `--env-file` (or `./.env`) > defaults (DESIGN §4).
//! Every value remembers where it came from, so `timber info` can say so.
//! Secrets (key texts, DSN passwords) live in zeroizing buffers and are redacted in `Debug`.
//! The rules are documented on [`Settings::from_sources`]; the loading itself lives in
//! `settings_load`, `env_layers` (environment over env file) and `key_sources` (key texts
//! from variables, files and commands).

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use super::key_sources::KEY_COMMAND_TIMEOUT;
pub use super::settings_error::ConfigError;
use super::settings_load;
use super::url_redact::redact_url;

/// Where a setting's value came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    Default,
    Flag(&'static str),
    Env(String),
    EnvFile {
        path: PathBuf,
        var: String,
    },
    /// `ENCRYPTION_KEY_FILE` (or a `*_FILE` sibling): the file named.
    KeyFile(PathBuf),
    /// `ENCRYPTION_KEY_COMMAND`: the variable that named the command (never its output).
    KeyCommand(String),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Default => write!(f, "default"),
            Source::Flag(name) => write!(f, "flag {name}"),
            Source::Env(var) => write!(f, "env {var}"),
            Source::EnvFile { path, var } => write!(f, "{} ({var})", path.display()),
            Source::KeyFile(path) => write!(f, "file {}", path.display()),
            Source::KeyCommand(var) => write!(f, "command ({var})"),
        }
    }
}

impl Source {
    /// Where a value came from, as a phrase after the setting in a message: `from ./.env`
    /// (an env file, relative to the working directory when under it), `from the
    /// environment`, `from --policy`, `(the default)`.
    pub fn phrase(&self) -> String {
        match self {
            Source::Default => "(the default)".to_string(),
            Source::Flag(name) => format!("from {name}"),
            Source::Env(_) => "from the environment".to_string(),
            Source::EnvFile { path, .. } => format!("from {}", dotted_path(path)),
            Source::KeyFile(path) => format!("from file {}", dotted_path(path)),
            Source::KeyCommand(var) => format!("from the command in {var}"),
        }
    }
}

/// `./.env` for a file in the working directory, `dir/f` as `./dir/f`, else absolute.
fn dotted_path(path: &Path) -> String {
    let shown = super::shown_path(path);
    if Path::new(&shown).is_relative() {
        format!("./{shown}")
    } else {
        shown
    }
}

/// A setting as an operator wrote it, with where it came from, to start an error about it:
/// `TIMBER_POLICY=policy.yaml from ./.env`, `TIMBER_POLICY=p.yaml from the environment`,
/// `--policy p.yaml`, or `TIMBER_MODELS=./data/models (the default; set TIMBER_MODELS or
/// --models)`. Only for values that are not secret (paths, names).
pub fn setting_origin(var: &str, flag: &str, value: &str, source: &Source) -> String {
    match source {
        Source::Flag(name) => format!("{name} {value}"),
        Source::Default => format!("{var}={value} (the default; set {var} or {flag})"),
        other => format!("{var}={value} {}", other.phrase()),
    }
}

/// A value with its provenance.
#[derive(Clone, Debug, PartialEq)]
pub struct Sourced<T> {
    pub value: T,
    pub source: Source,
}

/// Secret text (a key as written in the environment). `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretText(pub Zeroizing<String>);

impl SecretText {
    pub fn new(text: impl Into<String>) -> Self {
        SecretText(Zeroizing::new(text.into()))
    }
    pub fn expose(&self) -> &str {
        self.0.as_str()
    }
}

impl fmt::Debug for SecretText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretText(<redacted>)")
    }
}

/// A database URL whose credentials never appear in `Debug` or `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(Zeroizing<String>);

impl DatabaseUrl {
    pub fn new(url: impl Into<String>) -> Self {
        DatabaseUrl(Zeroizing::new(url.into()))
    }
    /// The full URL, for the driver only.
    pub fn expose(&self) -> &str {
        self.0.as_str()
    }
    /// The URL with every credential (userinfo password, `password=`, `api_token=`, ...)
    /// replaced by `***` ([`redact_url`]).
    pub fn redacted(&self) -> String {
        redact_url(self.expose())
    }
    /// `sqlite`, `postgres`, `mysql`, ... (the part before `:`), lower-cased.
    pub fn scheme(&self) -> String {
        self.expose()
            .split(':')
            .next()
            .unwrap_or("")
            .to_ascii_lowercase()
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({})", self.redacted())
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// The global flags of DESIGN §12 that feed settings.
#[derive(Clone, Debug, Default)]
pub struct Flags {
    pub env_file: Option<PathBuf>,
    pub database_url: Option<String>,
    pub models: Vec<PathBuf>,
    pub policy: Option<PathBuf>,
    pub role: Option<String>,
    pub user: Option<String>,
    pub read_only: bool,
    pub write: bool,
    pub theme: Option<String>,
}

/// Everything the program is configured with. Built by `Settings::load`.
#[derive(Clone, Debug)]
pub struct Settings {
    pub database_url: Sourced<DatabaseUrl>,
    /// `ENCRYPTION_KEY` (or `ENCRYPTION_KEY_FILE` / `ENCRYPTION_KEY_COMMAND`).
    pub encryption_key: Option<Sourced<SecretText>>,
    /// `ENCRYPTION_KEY_OLD`, comma list, in order.
    pub encryption_key_old: Vec<Sourced<SecretText>>,
    pub master_key: Option<Sourced<SecretText>>,
    pub master_key_old: Option<Sourced<SecretText>>,
    /// Named keys from `TIMBER_KEY_<NAME>` variables, for `encryption.key_identifier`.
    pub named_keys: Vec<(String, Sourced<SecretText>)>,
    pub key_rotation_date: Option<Sourced<chrono::NaiveDate>>,
    pub oak_env: Option<Sourced<String>>,
    pub require_ssl: bool,
    pub ssl_cert_path: Option<PathBuf>,
    pub ssl_key_path: Option<PathBuf>,
    pub ssl_root_cert_path: Option<PathBuf>,
    pub enable_audit_log: bool,
    pub enable_access_control: bool,
    pub models_dirs: Sourced<Vec<PathBuf>>,
    pub policy: Option<Sourced<PathBuf>>,
    pub role: Option<Sourced<String>>,
    pub user: Option<Sourced<String>>,
    pub theme: Option<Sourced<String>>,
    /// `ROTATION_MAX_ROWS_PER_SECOND`: a rotation job's row rate cap; `None` when unset or 0
    /// (unlimited). `timber rotate --max-rate` overrides it per run.
    pub rotation_max_rows_per_second: Option<Sourced<u64>>,
    /// The Ed25519 key that signs audit checkpoints (`AUDIT_SIGNING_KEY`, `_FILE`,
    /// `_COMMAND`), in the signed-note signer form `PRIVATE+KEY+name+hash+key`.
    pub audit_signing_key: Option<Sourced<SecretText>>,
    /// The signing key before a handover (`AUDIT_SIGNING_KEY_OLD`, `_FILE`, `_COMMAND`):
    /// read only by `timber audit rotate-signing-key`.
    pub audit_signing_key_old: Option<Sourced<SecretText>>,
    /// The key checkpoints are verified with (`AUDIT_PUBLIC_KEY` or `_FILE`): public.
    pub audit_public_key: Option<Sourced<String>>,
    /// Read-only: `--read-only`, or `OAK_ENV=production` without `--write`.
    pub read_only: bool,
    /// Variables named like `*_API_KEY`, `*_SECRET`, `*_TOKEN` (for `env.plaintext_secret`).
    pub secret_like_vars: Vec<(String, Sourced<SecretText>)>,
    /// The env file that was read, if any.
    pub env_file: Option<PathBuf>,
}

impl Settings {
    /// Loads settings from the real process environment, the env file and `flags`, with
    /// the working directory as `cwd` (see [`Settings::from_sources`]).
    ///
    /// Environment entries that are not UTF-8 are skipped, unless they are variables this
    /// program reads, which is an error naming the variable.
    pub fn load(flags: &Flags) -> Result<Settings, ConfigError> {
        let env = Settings::process_env()?;
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
        Settings::from_sources(flags, &env, &cwd)
    }

    /// The process environment as [`Settings::load`] reads it (non-UTF-8 entries skipped,
    /// or an error for a variable this program reads), for a caller that must set some
    /// variables aside first (`timber demo` ignores exported keys).
    pub fn process_env() -> Result<BTreeMap<String, String>, ConfigError> {
        let mut env = BTreeMap::new();
        for (name, value) in std::env::vars_os() {
            let Some(name) = name.to_str() else { continue };
            match value.into_string() {
                Ok(value) => {
                    env.insert(name.to_string(), value);
                }
                Err(_) if is_read_variable(name) => {
                    return Err(ConfigError::NotUnicode {
                        var: name.to_string(),
                    });
                }
                Err(_) => {}
            }
        }
        Ok(env)
    }

    /// The pure core of [`Settings::load`]: settings from `flags`, the environment `env`, and
    /// the env file (relative paths taken from `cwd`). Only files and key commands are read.
    ///
    /// Precedence, highest first: flags > `env` > the env file (`--env-file F`, which must
    /// exist, or else `cwd/.env` when present) > defaults (`DATABASE_URL=sqlite://timber.db`,
    /// `TIMBER_MODELS=./data/models`). An empty or blank value counts as unset.
    ///
    /// - Keys: `ENCRYPTION_KEY`, `ENCRYPTION_KEY_OLD` (comma list), `MASTER_ENCRYPTION_KEY`,
    ///   `MASTER_ENCRYPTION_KEY_OLD`, each also as `*_FILE` or `*_COMMAND`; setting two forms
    ///   of one key at the same level is an error (see `key_sources`). `TIMBER_KEY_<NAME>`
    ///   adds the named key `<name>` (lower-cased) for `encryption.key_identifier`.
    /// - `TIMBER_MODELS` lists directories separated by `:` or `,`; `--models` repeats.
    ///   Model, policy and SSL paths are kept as written; key files are read from `cwd`.
    /// - Booleans (`REQUIRE_SSL` default false, `ENABLE_AUDIT_LOG` and
    ///   `ENABLE_ACCESS_CONTROL` default true) accept true/false/1/0/yes/no in any case.
    /// - `KEY_ROTATION_DATE` is `YYYY-MM-DD` or an RFC 3339 time.
    /// - `ROTATION_MAX_ROWS_PER_SECOND` is a whole number of rows per second; 0 is unlimited.
    /// - Read-only: `--read-only`, or `OAK_ENV=production` (any case) without `--write`;
    ///   `--read-only` with `--write` is an error.
    /// - `secret_like_vars`: variables named `*_API_KEY`, `*_SECRET`, `*_SECRET_KEY`,
    ///   `*_TOKEN`, `*_PASSWORD`, from either layer, other than our own key variables.
    pub fn from_sources(
        flags: &Flags,
        env: &BTreeMap<String, String>,
        cwd: &Path,
    ) -> Result<Settings, ConfigError> {
        settings_load::build(flags, env, cwd, KEY_COMMAND_TIMEOUT)
    }

    pub fn is_production(&self) -> bool {
        self.oak_env
            .as_ref()
            .is_some_and(|e| e.value.eq_ignore_ascii_case("production"))
    }
}

/// Whether `name` configures a key: `ENCRYPTION_KEY*`, `MASTER_ENCRYPTION_KEY*` (each with
/// `_OLD`, `_FILE`, `_COMMAND` forms) or `TIMBER_KEY_<NAME>`.
pub fn is_key_variable(name: &str) -> bool {
    name.starts_with("TIMBER_KEY_")
        || (settings_load::KNOWN_VARS.contains(&name)
            && (name.starts_with("ENCRYPTION_KEY")
                || name.starts_with("MASTER_ENCRYPTION_KEY")
                || name.starts_with("AUDIT_SIGNING_KEY")))
}

/// Whether `Settings::load` reads this variable (so a non-UTF-8 value must not be skipped).
fn is_read_variable(name: &str) -> bool {
    settings_load::KNOWN_VARS.contains(&name) || name.starts_with("TIMBER_KEY_")
}
