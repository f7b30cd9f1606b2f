//! Builds [`Settings`] from flags, an environment map and the env file (the rules are
//! documented on [`Settings::from_sources`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::env_layers::{Layers, Level, origin, read_env_file};
use super::key_sources::{refuse_implicit_commands, resolve_list, resolve_single};
use super::settings::{DatabaseUrl, Flags, SecretText, Settings, Source, Sourced};
use super::settings_error::ConfigError;

pub(crate) const DEFAULT_DATABASE_URL: &str = "sqlite://timber.db";
pub(crate) const DEFAULT_MODELS_DIR: &str = "./data/models";
const NAMED_KEY_PREFIX: &str = "TIMBER_KEY_";
const SECRET_SUFFIXES: [&str; 5] = ["_API_KEY", "_SECRET", "_SECRET_KEY", "_TOKEN", "_PASSWORD"];

/// Every variable this module reads (besides `TIMBER_KEY_*`), for `Settings::load` to know
/// which non-UTF-8 values are worth an error.
pub(crate) const KNOWN_VARS: &[&str] = &[
    "DATABASE_URL",
    "ENCRYPTION_KEY",
    "ENCRYPTION_KEY_FILE",
    "ENCRYPTION_KEY_COMMAND",
    "ENCRYPTION_KEY_OLD",
    "ENCRYPTION_KEY_OLD_FILE",
    "ENCRYPTION_KEY_OLD_COMMAND",
    "MASTER_ENCRYPTION_KEY",
    "MASTER_ENCRYPTION_KEY_FILE",
    "MASTER_ENCRYPTION_KEY_COMMAND",
    "MASTER_ENCRYPTION_KEY_OLD",
    "MASTER_ENCRYPTION_KEY_OLD_FILE",
    "MASTER_ENCRYPTION_KEY_OLD_COMMAND",
    "KEY_ROTATION_DATE",
    "OAK_ENV",
    "REQUIRE_SSL",
    "SSL_CERT_PATH",
    "SSL_KEY_PATH",
    "SSL_ROOT_CERT_PATH",
    "ENABLE_AUDIT_LOG",
    "ENABLE_ACCESS_CONTROL",
    "TIMBER_MODELS",
    "TIMBER_POLICY",
    "TIMBER_ROLE",
    "TIMBER_USER",
    "TIMBER_THEME",
    "ROTATION_MAX_ROWS_PER_SECOND",
    "AUDIT_SIGNING_KEY",
    "AUDIT_SIGNING_KEY_FILE",
    "AUDIT_SIGNING_KEY_COMMAND",
    "AUDIT_SIGNING_KEY_OLD",
    "AUDIT_SIGNING_KEY_OLD_FILE",
    "AUDIT_SIGNING_KEY_OLD_COMMAND",
    "AUDIT_PUBLIC_KEY",
    "AUDIT_PUBLIC_KEY_FILE",
];

pub(crate) fn build(
    flags: &Flags,
    env: &BTreeMap<String, String>,
    cwd: &Path,
    timeout: Duration,
) -> Result<Settings, ConfigError> {
    if flags.read_only && flags.write {
        return Err(ConfigError::ReadOnlyAndWrite);
    }
    let layers = Layers {
        env,
        file: read_env_file(flags.env_file.as_deref(), cwd)?,
    };
    refuse_implicit_commands(&layers)?;

    let database_url = match &flags.database_url {
        Some(url) => Sourced {
            value: DatabaseUrl::new(url.trim()),
            source: Source::Flag("--database-url"),
        },
        None => match layers.get("DATABASE_URL") {
            Some(v) => Sourced {
                value: DatabaseUrl::new(v.value),
                source: v.source,
            },
            None => Sourced {
                value: DatabaseUrl::new(DEFAULT_DATABASE_URL),
                source: Source::Default,
            },
        },
    };

    let oak_env = layers.get("OAK_ENV");
    let production = oak_env
        .as_ref()
        .is_some_and(|e| e.value.eq_ignore_ascii_case("production"));

    Ok(Settings {
        database_url,
        encryption_key: resolve_single(&layers, "ENCRYPTION_KEY", cwd, timeout)?,
        encryption_key_old: resolve_list(&layers, "ENCRYPTION_KEY_OLD", cwd, timeout)?,
        master_key: resolve_single(&layers, "MASTER_ENCRYPTION_KEY", cwd, timeout)?,
        master_key_old: resolve_single(&layers, "MASTER_ENCRYPTION_KEY_OLD", cwd, timeout)?,
        named_keys: named_keys(&layers)?,
        key_rotation_date: rotation_date(&layers)?,
        oak_env,
        require_ssl: boolean(&layers, "REQUIRE_SSL", false)?,
        ssl_cert_path: tls_file(&layers, "SSL_CERT_PATH", cwd)?,
        ssl_key_path: tls_file(&layers, "SSL_KEY_PATH", cwd)?,
        ssl_root_cert_path: tls_file(&layers, "SSL_ROOT_CERT_PATH", cwd)?,
        enable_audit_log: boolean(&layers, "ENABLE_AUDIT_LOG", true)?,
        enable_access_control: boolean(&layers, "ENABLE_ACCESS_CONTROL", true)?,
        models_dirs: models_dirs(flags, &layers)?,
        policy: match &flags.policy {
            Some(path) => Some(Sourced {
                value: path.clone(),
                source: Source::Flag("--policy"),
            }),
            None => layers.get("TIMBER_POLICY").map(|v| Sourced {
                value: PathBuf::from(v.value),
                source: v.source,
            }),
        },
        role: flag_or_var(flags.role.clone(), "--role", &layers, "TIMBER_ROLE"),
        user: flag_or_var(flags.user.clone(), "--user", &layers, "TIMBER_USER"),
        theme: flag_or_var(flags.theme.clone(), "--theme", &layers, "TIMBER_THEME"),
        rotation_max_rows_per_second: max_rate(&layers)?,
        audit_signing_key: resolve_single(&layers, "AUDIT_SIGNING_KEY", cwd, timeout)?,
        audit_signing_key_old: resolve_single(&layers, "AUDIT_SIGNING_KEY_OLD", cwd, timeout)?,
        audit_public_key: audit_public_key(&layers, cwd)?,
        read_only: flags.read_only || (production && !flags.write),
        secret_like_vars: secret_like_vars(&layers),
        env_file: layers.file.as_ref().map(|f| f.path.clone()),
    })
}

/// A flag's value if given (and not blank), else the variable's.
fn flag_or_var(
    flag: Option<String>,
    flag_name: &'static str,
    layers: &Layers<'_>,
    var: &str,
) -> Option<Sourced<String>> {
    match flag.map(|f| f.trim().to_string()).filter(|f| !f.is_empty()) {
        Some(value) => Some(Sourced {
            value,
            source: Source::Flag(flag_name),
        }),
        None => layers.get(var),
    }
}

/// `--models DIR` (repeatable) > `TIMBER_MODELS` (separated by `:` or `,`) > `./data/models`.
fn models_dirs(flags: &Flags, layers: &Layers<'_>) -> Result<Sourced<Vec<PathBuf>>, ConfigError> {
    if !flags.models.is_empty() {
        return Ok(Sourced {
            value: flags.models.clone(),
            source: Source::Flag("--models"),
        });
    }
    let Some(var) = layers.get("TIMBER_MODELS") else {
        return Ok(Sourced {
            value: vec![PathBuf::from(DEFAULT_MODELS_DIR)],
            source: Source::Default,
        });
    };
    let dirs: Vec<PathBuf> = var
        .value
        .split([':', ','])
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .collect();
    if dirs.is_empty() {
        return Err(ConfigError::NoModelDirs {
            var: "TIMBER_MODELS".into(),
            origin: origin(&var.source),
        });
    }
    Ok(Sourced {
        value: dirs,
        source: var.source,
    })
}

/// `true/false/1/0/yes/no`, any case.
fn boolean(layers: &Layers<'_>, var: &str, default: bool) -> Result<bool, ConfigError> {
    let Some(v) = layers.get(var) else {
        return Ok(default);
    };
    match v.value.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        _ => Err(ConfigError::InvalidBool {
            var: var.to_string(),
            value: v.value,
            origin: origin(&v.source),
        }),
    }
}

/// `KEY_ROTATION_DATE`: `YYYY-MM-DD`, or an RFC 3339 time (its date in its own offset).
fn rotation_date(layers: &Layers<'_>) -> Result<Option<Sourced<chrono::NaiveDate>>, ConfigError> {
    let var = "KEY_ROTATION_DATE";
    let Some(v) = layers.get(var) else {
        return Ok(None);
    };
    let date = chrono::NaiveDate::parse_from_str(&v.value, "%Y-%m-%d")
        .ok()
        .or_else(|| {
            chrono::DateTime::parse_from_rfc3339(&v.value)
                .ok()
                .map(|t| t.date_naive())
        });
    match date {
        Some(value) => Ok(Some(Sourced {
            value,
            source: v.source,
        })),
        None => Err(ConfigError::InvalidDate {
            var: var.to_string(),
            value: v.value,
            origin: origin(&v.source),
        }),
    }
}

/// `ROTATION_MAX_ROWS_PER_SECOND`: rows per second, a whole number; 0 means unlimited (`None`).
fn max_rate(layers: &Layers<'_>) -> Result<Option<Sourced<u64>>, ConfigError> {
    let var = "ROTATION_MAX_ROWS_PER_SECOND";
    let Some(v) = layers.get(var) else {
        return Ok(None);
    };
    match parse_rate(&v.value) {
        Ok(0) => Ok(None),
        Ok(value) => Ok(Some(Sourced {
            value,
            source: v.source,
        })),
        Err(reason) => Err(ConfigError::InvalidRate {
            var: var.to_string(),
            value: v.value,
            origin: origin(&v.source),
            reason,
        }),
    }
}

/// `TIMBER_KEY_<NAME>` variables, by lower-cased name, sorted; the environment wins over the
/// env file for the same name. Two spellings of one name at one level are an error.
fn named_keys(layers: &Layers<'_>) -> Result<Vec<(String, Sourced<SecretText>)>, ConfigError> {
    let mut keys: BTreeMap<String, (String, Sourced<SecretText>)> = BTreeMap::new();
    for level in [Level::Env, Level::File] {
        let mut at_level: BTreeMap<String, String> = BTreeMap::new();
        for var in layers.names(level) {
            let Some(name) = var.strip_prefix(NAMED_KEY_PREFIX) else {
                continue;
            };
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(ConfigError::InvalidKeyName {
                    var: var.to_string(),
                });
            }
            let name = name.to_ascii_lowercase();
            if let Some(first) = at_level.insert(name.clone(), var.to_string()) {
                return Err(ConfigError::DuplicateKeyName {
                    name,
                    first,
                    second: var.to_string(),
                });
            }
            if keys.contains_key(&name) {
                continue; // set in the environment already
            }
            if let Some(v) = layers.at(level, var) {
                let value = Sourced {
                    value: SecretText::new(v.value),
                    source: v.source,
                };
                keys.insert(name, (var.to_string(), value));
            }
        }
    }
    Ok(keys
        .into_iter()
        .map(|(name, (_, value))| (name, value))
        .collect())
}

/// Variables named like third-party secrets (`*_API_KEY`, `*_SECRET`, `*_SECRET_KEY`,
/// `*_TOKEN`, `*_PASSWORD`), for the `env.plaintext_secret` health check. Our own key
/// variables are not included.
fn secret_like_vars(layers: &Layers<'_>) -> Vec<(String, Sourced<SecretText>)> {
    let mut found: BTreeMap<String, Sourced<SecretText>> = BTreeMap::new();
    for level in [Level::Env, Level::File] {
        for var in layers.names(level) {
            let upper = var.to_ascii_uppercase();
            let ours = upper.starts_with(NAMED_KEY_PREFIX) || KNOWN_VARS.contains(&upper.as_str());
            if ours
                || found.contains_key(var)
                || !SECRET_SUFFIXES.iter().any(|s| upper.ends_with(s))
            {
                continue;
            }
            if let Some(v) = layers.at(level, var) {
                found.insert(
                    var.to_string(),
                    Sourced {
                        value: SecretText::new(v.value),
                        source: v.source,
                    },
                );
            }
        }
    }
    found.into_iter().collect()
}

/// A TLS file setting (`SSL_ROOT_CERT_PATH`, ...), kept as written; a file that does not
/// exist is refused here, naming the setting and where it came from, rather than reaching
/// the driver (whose message is only "not found").
fn tls_file(layers: &Layers<'_>, var: &str, cwd: &Path) -> Result<Option<PathBuf>, ConfigError> {
    let Some(v) = layers.get(var) else {
        return Ok(None);
    };
    let path = PathBuf::from(&v.value);
    if !cwd.join(&path).is_file() {
        return Err(ConfigError::TlsFileMissing {
            setting: format!("{var}={} {}", v.value, v.source.phrase()),
        });
    }
    Ok(Some(path))
}

/// Reads a rate as written in a setting or flag: a whole number of rows per second, 0 for
/// unlimited. The error says what was expected (the caller names the setting or flag).
pub fn parse_rate(text: &str) -> Result<u64, String> {
    let text = text.trim();
    if text.starts_with('-') && text[1..].chars().all(|c| c.is_ascii_digit()) && text.len() > 1 {
        return Err("the rate cannot be negative; expected rows per second (0 = unlimited)".into());
    }
    text.parse::<u64>().map_err(|_| {
        "not a whole number; expected rows per second, like 500 (0 = unlimited)".to_string()
    })
}

/// `AUDIT_PUBLIC_KEY` (the verifier key text) or `AUDIT_PUBLIC_KEY_FILE` (a file holding
/// it); public, so no command form. Both set is refused, as for keys.
fn audit_public_key(
    layers: &Layers<'_>,
    cwd: &Path,
) -> Result<Option<Sourced<String>>, ConfigError> {
    let text = layers.get("AUDIT_PUBLIC_KEY");
    let file = layers.get("AUDIT_PUBLIC_KEY_FILE");
    match (text, file) {
        (Some(_), Some(_)) => Err(ConfigError::AuditPublicKey {
            var: "AUDIT_PUBLIC_KEY".into(),
            reason: "both AUDIT_PUBLIC_KEY and AUDIT_PUBLIC_KEY_FILE are set; keep one".into(),
        }),
        (Some(v), None) => Ok(Some(Sourced {
            value: v.value.trim().to_string(),
            source: v.source,
        })),
        (None, Some(v)) => {
            let path = cwd.join(v.value);
            let text = std::fs::read_to_string(&path).map_err(|e| ConfigError::AuditPublicKey {
                var: format!("AUDIT_PUBLIC_KEY_FILE in {}", v.source),
                reason: format!("cannot read {}: {e}", path.display()),
            })?;
            Ok(Some(Sourced {
                value: text.trim().to_string(),
                source: v.source,
            }))
        }
        (None, None) => Ok(None),
    }
}
