//! Loads Timber model YAML (DESIGN §5) from files and directories into a [`ModelSet`].
//!
//! - [`load_models`] reads every `*.yaml` / `*.yml` file of each directory (sorted by name,
//!   not recursive, dot-files skipped); a directory that does not exist is an error naming it.
//! - [`load_model_file`] reads one file; [`parse_models`] checks text already in memory.
//!
//! Every error names the file, the 1-based line and column of the offending node, and what
//! was expected, e.g. `models/app.yaml:14:15: unknown column type "Strng(36)" for
//! UserProfile.id; expected one of String(N), ...`. Model names and table names must be
//! unique (ignoring case) across all files.

use std::path::{Path, PathBuf};

use super::model::{ModelDef, ModelSet};
use super::model_parse::read_models;
use super::model_validate::finish;
use super::settings::{Source, Sourced};
use super::yaml_locate::{YamlIssue, YamlPath, locate};

/// Why models could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("model directory {} does not exist", .0.display())]
    MissingDir(PathBuf),
    #[error("model directory {} is not a directory", .0.display())]
    NotADirectory(PathBuf),
    /// A configured model directory that is missing or not a directory, with where the
    /// setting came from (`the default; set TIMBER_MODELS or --models`, `TIMBER_MODELS from
    /// ./.env`, `--models`).
    #[error("model directory {} ({origin}) {problem}", path.display())]
    Setting {
        path: PathBuf,
        origin: String,
        problem: &'static str,
    },
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A problem inside a file, with its position.
    #[error("{0}")]
    Yaml(YamlIssue),
}

impl ModelError {
    /// The file, line and column for errors inside a file.
    pub fn issue(&self) -> Option<&YamlIssue> {
        match self {
            ModelError::Yaml(issue) => Some(issue),
            _ => None,
        }
    }
}

/// Parses and validates the models of one file's text; `path` is used in messages and
/// recorded as each model's `source`.
pub fn parse_models(text: &str, path: &Path) -> Result<Vec<ModelDef>, ModelError> {
    let root = super::yaml_value::parse(text)
        .map_err(|e| ModelError::Yaml(YamlIssue::from_parse(&e, path)))?
        .value;
    if root.is_null() {
        let message = "the file is empty; expected a mapping with a `models:` list".to_string();
        return Err(ModelError::Yaml(YamlIssue {
            file: path.to_path_buf(),
            position: None,
            message,
        }));
    }
    let located = |e: super::yaml_locate::PathError| ModelError::Yaml(e.locate_in(text, path));
    let drafts = read_models(&root, path).map_err(located)?;
    let models = drafts
        .into_iter()
        .map(finish)
        .collect::<Result<Vec<_>, _>>()
        .map_err(located)?;
    check_distinct(&[(path, text, &models)])?;
    Ok(models)
}

/// Reads and validates one model file.
pub fn load_model_file(path: &Path) -> Result<Vec<ModelDef>, ModelError> {
    let text = read_text(path)?;
    parse_models(&text, path)
}

/// Loads every model file of `dirs`, in directory order then file-name order.
pub fn load_models(dirs: &[PathBuf]) -> Result<ModelSet, ModelError> {
    let mut files = Vec::new();
    for dir in dirs {
        for file in yaml_files(dir)? {
            if !files.contains(&file) {
                files.push(file);
            }
        }
    }
    let mut loaded: Vec<(PathBuf, String, Vec<ModelDef>)> = Vec::new();
    for file in &files {
        let text = read_text(file)?;
        let models = parse_models(&text, file)?;
        loaded.push((file.clone(), text, models));
    }
    let views: Vec<(&Path, &str, &[ModelDef])> = loaded
        .iter()
        .map(|(p, t, m)| (p.as_path(), t.as_str(), m.as_slice()))
        .collect();
    check_distinct(&views)?;
    let models = loaded
        .into_iter()
        .flat_map(|(_, _, models)| models)
        .collect();
    Ok(ModelSet { models, files })
}

/// Loads the models of the configured directories (`--models`, `TIMBER_MODELS`, or the
/// default `./data/models`); a directory that is missing or not a directory is named with
/// where the setting came from, so the operator knows what to change.
pub fn load_models_setting(setting: &Sourced<Vec<PathBuf>>) -> Result<ModelSet, ModelError> {
    load_models(&setting.value).map_err(|err| {
        let origin = || match &setting.source {
            Source::Default => "the default; set TIMBER_MODELS or --models".to_string(),
            Source::Flag(name) => (*name).to_string(),
            other => format!("TIMBER_MODELS {}", other.phrase()),
        };
        match err {
            ModelError::MissingDir(path) => ModelError::Setting {
                path,
                origin: origin(),
                problem: "does not exist",
            },
            ModelError::NotADirectory(path) => ModelError::Setting {
                path,
                origin: origin(),
                problem: "is not a directory",
            },
            other => other,
        }
    })
}

fn read_text(path: &Path) -> Result<String, ModelError> {
    std::fs::read_to_string(path).map_err(|source| ModelError::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// The YAML files directly inside `dir`, sorted by name.
fn yaml_files(dir: &Path) -> Result<Vec<PathBuf>, ModelError> {
    if !dir.exists() {
        return Err(ModelError::MissingDir(dir.to_path_buf()));
    }
    if !dir.is_dir() {
        return Err(ModelError::NotADirectory(dir.to_path_buf()));
    }
    let entries = std::fs::read_dir(dir).map_err(|source| ModelError::Read {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| ModelError::Read {
            path: dir.to_path_buf(),
            source,
        })?;
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        // Dot-files are editor droppings (`.#app.yaml` locks), not models.
        let is_yaml = name.ends_with(".yaml") || name.ends_with(".yml");
        if is_yaml && !name.starts_with('.') && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// Model names and table names must be unique, ignoring case (lookups ignore case, and
/// MySQL table names may too). The error points at the second declaration and names the first.
fn check_distinct(files: &[(&Path, &str, &[ModelDef])]) -> Result<(), ModelError> {
    let mut seen: Vec<(&Path, &str, usize, &ModelDef)> = Vec::new();
    for (path, text, models) in files {
        for (i, model) in models.iter().enumerate() {
            for (first_path, first_text, first_i, first) in &seen {
                let clash = if first.name.eq_ignore_ascii_case(&model.name) {
                    Some(("name", "model name", &model.name))
                } else if first.table_name.eq_ignore_ascii_case(&model.table_name) {
                    Some(("table_name", "table", &model.table_name))
                } else {
                    None
                };
                if let Some((key, what, value)) = clash {
                    let at = |index: usize| YamlPath::root().key("models").index(index).key(key);
                    let first_where = YamlIssue {
                        file: first_path.to_path_buf(),
                        position: locate(first_text, &at(*first_i)),
                        message: String::new(),
                    }
                    .where_();
                    return Err(ModelError::Yaml(YamlIssue {
                        file: path.to_path_buf(),
                        position: locate(text, &at(i)),
                        message: format!(
                            "duplicate {what} {value:?}; first declared at {first_where}"
                        ),
                    }));
                }
            }
            seen.push((path, text, i, model));
        }
    }
    Ok(())
}
