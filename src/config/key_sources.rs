//! Where key texts come from. Each key variable `X` (`ENCRYPTION_KEY`, `ENCRYPTION_KEY_OLD`,
//! `MASTER_ENCRYPTION_KEY`, `MASTER_ENCRYPTION_KEY_OLD`) has three forms:
//!
//! - `X`: the key text itself;
//! - `X_FILE`: a file holding it (relative paths from the working directory; surrounding
//!   whitespace, such as the trailing newline, is trimmed);
//! - `X_COMMAND`: a shell command (`sh -c`) printing it on stdout, like a credential helper.
//!   Run with no stdin, its stderr discarded, stopped after [`KEY_COMMAND_TIMEOUT`]. A non-zero
//!   exit is an error naming the variable and exit status; neither its stdout nor its stderr is
//!   repeated, since either may hold the secret.
//!
//! Exactly one form may be set at one level: the environment, or else the env file. Two forms
//! at the same level are an error ("set only one of ..."), rather than a silent choice; a form
//! in the environment overrides any form in the env file, as for every other variable.
//! A single key must be one line; `ENCRYPTION_KEY_OLD` may list keys separated by commas or
//! newlines.
//!
//! `X_COMMAND` runs code, so it is taken only from the process environment or from an env
//! file named with `--env-file`. A `./.env` is read just because it is in the working
//! directory (a cloned repository, an unpacked archive, a shared folder can hold one), so a
//! command found there is refused before any command runs. `X_FILE` stays allowed there:
//! reading a file runs nothing, and no message repeats what a key file holds.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use zeroize::Zeroizing;

use super::env_layers::{Layers, Level};
use super::settings::{SecretText, Source, Sourced};
use super::settings_error::ConfigError;

/// How long a key command may run.
pub const KEY_COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

/// The key variables that have `_FILE` and `_COMMAND` forms.
pub(crate) const KEY_BASES: [&str; 6] = [
    "ENCRYPTION_KEY",
    "ENCRYPTION_KEY_OLD",
    "MASTER_ENCRYPTION_KEY",
    "MASTER_ENCRYPTION_KEY_OLD",
    "AUDIT_SIGNING_KEY",
    "AUDIT_SIGNING_KEY_OLD",
];

/// Refuses every key command set in an env file that was picked up implicitly (`./.env`),
/// naming the first one by its line in the file. Called before any key is resolved, so
/// nothing from such a file runs, even a command whose key the environment overrides.
pub(crate) fn refuse_implicit_commands(layers: &Layers<'_>) -> Result<(), ConfigError> {
    let Some(file) = layers.file.as_ref().filter(|f| !f.explicit) else {
        return Ok(());
    };
    let set = layers.names(Level::File);
    let mut commands: Vec<(Option<usize>, String)> = KEY_BASES
        .iter()
        .map(|base| format!("{base}_COMMAND"))
        .filter(|var| set.contains(&var.as_str()))
        .map(|var| (super::env_layers::assignment_line_in(&file.path, &var), var))
        .collect();
    commands.sort();
    match commands.into_iter().next() {
        Some((_, var)) => Err(ConfigError::KeyCommandInImplicitEnvFile {
            place: super::env_layers::env_file_place(&file.path, &var),
            var,
        }),
        None => Ok(()),
    }
}

/// The key text of `base` in whichever form is set, or `None` when no form is.
pub(crate) fn resolve_text(
    layers: &Layers<'_>,
    base: &str,
    cwd: &Path,
    timeout: Duration,
) -> Result<Option<(Zeroizing<String>, Source)>, ConfigError> {
    let forms = [
        base.to_string(),
        format!("{base}_FILE"),
        format!("{base}_COMMAND"),
    ];
    for level in [Level::Env, Level::File] {
        let set: Vec<(usize, Sourced<String>)> = forms
            .iter()
            .enumerate()
            .filter_map(|(i, name)| layers.at(level, name).map(|v| (i, v)))
            .collect();
        match set.as_slice() {
            [] => continue,
            [(form, found)] => {
                let found = Sourced {
                    value: Zeroizing::new(found.value.clone()),
                    source: found.source.clone(),
                };
                let set_in = found.source.clone();
                let text = match form {
                    0 => (found.value, found.source),
                    1 => read_key_file(&forms[1], Path::new(found.value.as_str()), cwd)
                        .map_err(|e| e.set_in(&set_in))?,
                    _ => run_key_command(&forms[2], &found.value, cwd, timeout)
                        .map_err(|e| e.set_in(&set_in))?,
                };
                return Ok(Some(text));
            }
            several => {
                let found: Vec<&str> = several.iter().map(|(i, _)| forms[*i].as_str()).collect();
                return Err(ConfigError::KeySourceConflict {
                    family: forms.join(", "),
                    found: found.join(" and "),
                    level: layers.describe(level),
                });
            }
        }
    }
    Ok(None)
}

/// One key: the text must be a single line.
pub(crate) fn resolve_single(
    layers: &Layers<'_>,
    base: &str,
    cwd: &Path,
    timeout: Duration,
) -> Result<Option<Sourced<SecretText>>, ConfigError> {
    let Some((text, source)) = resolve_text(layers, base, cwd, timeout)? else {
        return Ok(None);
    };
    let key = text.trim();
    if key.contains(['\n', '\r']) {
        return Err(ConfigError::KeyMultiline {
            what: describe(base, &source),
        });
    }
    Ok(Some(Sourced {
        value: SecretText::new(key),
        source,
    }))
}

/// A list of keys separated by commas or newlines; empty items are skipped.
pub(crate) fn resolve_list(
    layers: &Layers<'_>,
    base: &str,
    cwd: &Path,
    timeout: Duration,
) -> Result<Vec<Sourced<SecretText>>, ConfigError> {
    let Some((text, source)) = resolve_text(layers, base, cwd, timeout)? else {
        return Ok(Vec::new());
    };
    Ok(text
        .split([',', '\n'])
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(|item| Sourced {
            value: SecretText::new(item),
            source: source.clone(),
        })
        .collect())
}

/// How a key's origin is named in messages (never its text).
fn describe(base: &str, source: &Source) -> String {
    match source {
        Source::KeyFile(path) => format!("{base}_FILE ({})", path.display()),
        Source::KeyCommand(var) => format!("the output of {var}"),
        Source::EnvFile { path, var } => {
            format!("{base} in {}", super::env_layers::env_file_place(path, var))
        }
        _ => base.to_string(),
    }
}

fn read_key_file(
    var: &str,
    path: &Path,
    cwd: &Path,
) -> Result<(Zeroizing<String>, Source), ConfigError> {
    let path = cwd.join(path);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => Zeroizing::new(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(ConfigError::KeyFileMissing {
                var: var.to_string(),
                path,
            });
        }
        Err(e) => {
            return Err(ConfigError::KeyFileRead {
                var: var.to_string(),
                path,
                reason: e.to_string(),
            });
        }
    };
    let trimmed = Zeroizing::new(text.trim().to_string());
    if trimmed.is_empty() {
        return Err(ConfigError::KeyEmpty {
            what: format!("{var} ({})", path.display()),
        });
    }
    Ok((trimmed, Source::KeyFile(path)))
}

/// Runs `command` with `sh -c` in `cwd`; its trimmed stdout is the key.
pub(crate) fn run_key_command(
    var: &str,
    command: &str,
    cwd: &Path,
    timeout: Duration,
) -> Result<(Zeroizing<String>, Source), ConfigError> {
    let spawn_error = |reason: String| ConfigError::KeyCommandSpawn {
        var: var.to_string(),
        reason,
    };
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(command)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| spawn_error(e.to_string()))?;
    let Some(mut stdout) = child.stdout.take() else {
        let _ = child.kill();
        let _ = child.wait();
        return Err(spawn_error("its output could not be captured".to_string()));
    };
    // Read on a thread so a command that prints a lot cannot block on a full pipe.
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let mut out = Zeroizing::new(Vec::new());
        let result = stdout.read_to_end(&mut out).map(|_| out);
        let _ = sender.send(result);
    });

    let deadline = Instant::now() + timeout;
    let timed_out = || ConfigError::KeyCommandTimeout {
        var: var.to_string(),
        limit: timeout,
    };
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(timed_out());
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => return Err(spawn_error(e.to_string())),
        }
    };
    if !status.success() {
        return Err(ConfigError::KeyCommandFailed {
            var: var.to_string(),
            status: status.to_string(),
        });
    }
    // A background process of the command may still hold stdout open: wait no longer than allowed.
    let remaining = deadline.saturating_duration_since(Instant::now());
    let out = match receiver.recv_timeout(remaining) {
        Ok(Ok(out)) => out,
        Ok(Err(e)) => return Err(spawn_error(format!("reading its output failed: {e}"))),
        Err(_) => return Err(timed_out()),
    };
    let Ok(text) = std::str::from_utf8(&out) else {
        return Err(ConfigError::KeyCommandNotUtf8 {
            var: var.to_string(),
        });
    };
    let text = Zeroizing::new(text.trim().to_string());
    if text.is_empty() {
        return Err(ConfigError::KeyEmpty {
            what: format!("the output of {var}"),
        });
    }
    Ok((text, Source::KeyCommand(var.to_string())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_that_hangs_is_stopped_at_the_timeout() {
        let cwd = std::env::temp_dir();
        let err = run_key_command(
            "ENCRYPTION_KEY_COMMAND",
            "sleep 5",
            &cwd,
            Duration::from_millis(200),
        )
        .unwrap_err();
        assert!(
            matches!(err, ConfigError::KeyCommandTimeout { .. }),
            "{err}"
        );
        assert_eq!(
            err.to_string(),
            "ENCRYPTION_KEY_COMMAND did not finish within 200ms and was stopped"
        );
    }
}
