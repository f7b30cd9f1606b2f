//! Settings from flags > environment > `--env-file` (or `./.env`) > defaults (DESIGN §4).
//! Every value remembers where it came from, so `timber info` can say so.
//! Secrets (key texts, DSN passwords) live in zeroizing buffers and are redacted in `Debug`.

use std::fmt;
use std::path::PathBuf;

use zeroize::Zeroizing;

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

/// A database URL whose password never appears in `Debug` or `Display`.
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
    /// The URL with any password replaced by `***`.
    pub fn redacted(&self) -> String {
        redact_url_password(self.expose())
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

/// Replaces the password of `scheme://user:password@host/...` with `***`.
pub fn redact_url_password(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_string();
    };
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let Some(at) = authority.rfind('@') else {
        return url.to_string();
    };
    let userinfo = &authority[..at];
    match userinfo.find(':') {
        Some(colon) => format!(
            "{}://{}:***{}",
            &url[..scheme_end],
            &userinfo[..colon],
            &rest[at..]
        ),
        None => url.to_string(),
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
    pub log_file: Option<PathBuf>,
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
    pub log_file: Option<PathBuf>,
    /// Read-only: `--read-only`, or `OAK_ENV=production` without `--write`.
    pub read_only: bool,
    /// Variables named like `*_API_KEY`, `*_SECRET`, `*_TOKEN` (for `env.plaintext_secret`).
    pub secret_like_vars: Vec<(String, Sourced<SecretText>)>,
    /// The env file that was read, if any.
    pub env_file: Option<PathBuf>,
}

impl Settings {
    /// Loads settings from the process environment and env file.
    /// (Placeholder until the settings loader lands: refuses clearly.)
    pub fn load(_flags: &Flags) -> Result<Settings, ConfigError> {
        Err(ConfigError::Invalid(
            "settings loading is not available in this build".into(),
        ))
    }

    pub fn is_production(&self) -> bool {
        self.oak_env
            .as_ref()
            .is_some_and(|e| e.value.eq_ignore_ascii_case("production"))
    }
}

/// Why settings could not be loaded. Messages name the variable or file, never a secret.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{0}")]
    Invalid(String),
}
