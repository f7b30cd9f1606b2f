//! The two layers settings are read from below the flags: the process environment, then one
//! env file (`--env-file F`, or else `./.env` when it exists). A variable set in the
//! environment wins over the same variable in the file; an empty value counts as unset, so
//! `FOO=` never hides a value from a lower layer.
//!
//! The env file is parsed with dotenvy's iterator over the file path and is never loaded into
//! the process environment. Within the file the last assignment of a variable wins, as when a
//! shell sources it. dotenvy expands `${VAR}` in unquoted and double-quoted values (from the
//! process environment and earlier lines); single-quote a value that must stay literal.
//!
//! An env file decides which keys are used and may name key commands, so it must be as
//! trustworthy as the user running timber: one that is group- or world-writable, or owned by
//! another user (root excepted), is refused before it is read (direnv's rule). Whether the
//! file was named explicitly is remembered: `./.env` is picked up implicitly, and key commands
//! from it are refused (see `key_sources::refuse_implicit_commands`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::settings::{Source, Sourced};
use super::settings_error::ConfigError;

/// Which layer a value was found in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Level {
    Env,
    File,
}

/// Variables of an env file, with the file's path.
pub(crate) struct EnvFile {
    pub path: PathBuf,
    pub vars: BTreeMap<String, String>,
    /// Named by `--env-file` (true), or `./.env` picked up because it exists (false).
    pub explicit: bool,
}

/// The environment over the env file.
pub(crate) struct Layers<'a> {
    pub env: &'a BTreeMap<String, String>,
    pub file: Option<EnvFile>,
}

impl Layers<'_> {
    /// The trimmed, non-empty value of `name` at one level.
    pub fn at(&self, level: Level, name: &str) -> Option<Sourced<String>> {
        let (value, source) = match level {
            Level::Env => (self.env.get(name)?, Source::Env(name.to_string())),
            Level::File => {
                let file = self.file.as_ref()?;
                let source = Source::EnvFile {
                    path: file.path.clone(),
                    var: name.to_string(),
                };
                (file.vars.get(name)?, source)
            }
        };
        let value = value.trim();
        (!value.is_empty()).then(|| Sourced {
            value: value.to_string(),
            source,
        })
    }

    /// The value of `name`: from the environment if set there, else from the env file.
    pub fn get(&self, name: &str) -> Option<Sourced<String>> {
        self.at(Level::Env, name)
            .or_else(|| self.at(Level::File, name))
    }

    /// How a level is named in messages.
    pub fn describe(&self, level: Level) -> String {
        match (level, &self.file) {
            (Level::Env, _) => "the environment".to_string(),
            (Level::File, Some(file)) => format!("env file {}", file.path.display()),
            (Level::File, None) => "the env file".to_string(),
        }
    }

    /// Names set (non-empty) at `level`, for scans such as `TIMBER_KEY_*`.
    pub fn names(&self, level: Level) -> Vec<&str> {
        let map = match level {
            Level::Env => Some(self.env),
            Level::File => self.file.as_ref().map(|f| &f.vars),
        };
        map.into_iter()
            .flat_map(|m| m.iter())
            .filter(|(_, v)| !v.trim().is_empty())
            .map(|(k, _)| k.as_str())
            .collect()
    }
}

/// Where from a value came, for messages about non-secret values.
pub(crate) fn origin(source: &Source) -> String {
    match source {
        Source::Env(_) => "the environment".to_string(),
        Source::EnvFile { path, .. } => format!("env file {}", path.display()),
        other => other.to_string(),
    }
}

/// How a variable set in an env file is placed in messages: `env file PATH:LINE` (the line
/// of its last assignment, which is the one that counts), or `env file PATH` when the line
/// cannot be found (the file changed, or the value came from a multi-line quote).
pub(crate) fn env_file_place(path: &Path, var: &str) -> String {
    match assignment_line_in(path, var) {
        Some(line) => format!("env file {}:{line}", path.display()),
        None => format!("env file {}", path.display()),
    }
}

/// The 1-based line of the last assignment of `var` in the file at `path`, if found.
pub(crate) fn assignment_line_in(path: &Path, var: &str) -> Option<usize> {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|text| assignment_line(&text, var))
}

/// The 1-based line of the last `VAR=` (or `export VAR=`) in `text`.
fn assignment_line(text: &str, var: &str) -> Option<usize> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| {
            let line = line.trim_start();
            let line = line.strip_prefix("export ").map_or(line, str::trim_start);
            line.strip_prefix(var)
                .is_some_and(|rest| rest.trim_start().starts_with('='))
        })
        .map(|(index, _)| index + 1)
        .last()
}

/// Reads the env file: `explicit` (from `--env-file`, must exist) or else `cwd/.env` if
/// present. Relative paths are taken from `cwd`.
pub(crate) fn read_env_file(
    explicit: Option<&Path>,
    cwd: &Path,
) -> Result<Option<EnvFile>, ConfigError> {
    let path = match explicit {
        Some(path) => {
            let path = cwd.join(path);
            if !path.is_file() {
                return Err(ConfigError::EnvFileMissing { path });
            }
            path
        }
        None => {
            let path = cwd.join(".env");
            if !path.is_file() {
                return Ok(None);
            }
            path
        }
    };
    refuse_untrusted(&path)?;
    let read_error = |e: dotenvy::Error| ConfigError::EnvFileRead {
        path: path.clone(),
        reason: e.to_string(),
    };
    let mut vars = BTreeMap::new();
    for item in dotenvy::from_path_iter(&path).map_err(read_error)? {
        match item {
            Ok((name, value)) => {
                vars.insert(name, value);
            }
            // The line itself is not repeated: it may hold a secret.
            Err(dotenvy::Error::LineParse(line, _)) => {
                let line = std::fs::read_to_string(&path)
                    .ok()
                    .and_then(|text| line_number(&text, &line));
                return Err(ConfigError::EnvFileLine { path, line });
            }
            Err(other) => return Err(read_error(other)),
        }
    }
    Ok(Some(EnvFile {
        path,
        vars,
        explicit: explicit.is_some(),
    }))
}

/// Refuses an env file that someone other than the current user (or root) could have
/// written: group- or world-writable, or owned by another user. The file the path finally
/// names is checked (a symlink is followed), since that is what gets read.
#[cfg(unix)]
fn refuse_untrusted(path: &Path) -> Result<(), ConfigError> {
    use std::os::unix::fs::MetadataExt;

    let meta = std::fs::metadata(path).map_err(|e| ConfigError::EnvFileRead {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    let mode = meta.mode() & 0o7777;
    if mode & 0o022 != 0 {
        return Err(ConfigError::EnvFileWritable {
            path: path.to_path_buf(),
            mode,
        });
    }
    let me = nix::unistd::geteuid().as_raw();
    let owner = meta.uid();
    if owner != me && owner != 0 {
        return Err(ConfigError::EnvFileForeignOwner {
            path: path.to_path_buf(),
            owner,
            me,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn refuse_untrusted(_path: &Path) -> Result<(), ConfigError> {
    Ok(())
}

/// The 1-based line of the text dotenvy reported as unparsable: a whole logical line (a bad
/// key) or only its value (a bad value), which is looked for where it starts a line first.
fn line_number(text: &str, bad: &str) -> Option<usize> {
    let bad = bad.trim_end_matches(['\n', '\r']);
    if bad.trim().is_empty() {
        return None;
    }
    let mut start = 0;
    for (index, line) in text.split_inclusive('\n').enumerate() {
        let rest = &text[start..];
        let ends_cleanly = rest
            .strip_prefix(bad)
            .is_some_and(|after| after.is_empty() || after.starts_with(['\n', '\r']));
        if ends_cleanly {
            return Some(index + 1);
        }
        start += line.len();
    }
    text.find(bad)
        .map(|offset| text[..offset].matches('\n').count() + 1)
}

#[cfg(test)]
mod tests {
    use super::{assignment_line, line_number};

    #[test]
    fn the_last_assignment_of_a_variable_is_its_line() {
        let text = "ENCRYPTION_KEY_OLD=a\nENCRYPTION_KEY=b\n# ENCRYPTION_KEY=c\nexport ENCRYPTION_KEY = d\n";
        assert_eq!(assignment_line(text, "ENCRYPTION_KEY"), Some(4));
        assert_eq!(assignment_line(text, "ENCRYPTION_KEY_OLD"), Some(1));
        assert_eq!(assignment_line(text, "MASTER_ENCRYPTION_KEY"), None);
    }

    #[test]
    fn line_numbers_point_at_the_whole_line_not_a_prefix_of_another() {
        let text = "FOO=1\nFOO\nBAR='x\ny'\n";
        assert_eq!(line_number(text, "FOO"), Some(2));
        assert_eq!(line_number(text, "BAR='x\ny'"), Some(3));
        assert_eq!(line_number(text, "   "), None);
        // dotenvy reports only the value when the value is what cannot be parsed.
        assert_eq!(line_number("A=1\nB=two words\n", "two words"), Some(2));
    }
}
