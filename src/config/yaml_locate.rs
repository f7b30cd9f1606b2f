//! Where a YAML node is: file, line and column for messages like
//! `models/app.yaml:14:15: unknown column type ...`.
//!
//! Validation works on a parsed tree and records a [`YamlPath`] for each complaint; when a
//! check fails, [`locate`] parses the text once more into a [`Located`] tree (every node
//! knows its line and column, see `yaml_value`) and walks that path. The second parse costs
//! only when there is an error, and lets a message point into another file's text (the first
//! of two models declared in different files).

use std::fmt;
use std::path::{Path, PathBuf};

use super::yaml_value::{Located, Value, YamlError};

/// One step from a node to a child.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seg {
    /// The value under this mapping key.
    Key(String),
    /// This element of a sequence.
    Index(usize),
}

/// The path from the document root to a node; `key_itself` points at the last key rather than
/// its value (for "unknown key" errors).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct YamlPath {
    pub segs: Vec<Seg>,
    pub key_itself: bool,
}

impl YamlPath {
    pub fn root() -> YamlPath {
        YamlPath::default()
    }

    pub fn key(&self, key: &str) -> YamlPath {
        let mut segs = self.segs.clone();
        segs.push(Seg::Key(key.to_string()));
        YamlPath {
            segs,
            key_itself: false,
        }
    }

    pub fn index(&self, index: usize) -> YamlPath {
        let mut segs = self.segs.clone();
        segs.push(Seg::Index(index));
        YamlPath {
            segs,
            key_itself: false,
        }
    }

    /// The key `key` of this mapping (the key text, not its value).
    pub fn key_name(&self, key: &str) -> YamlPath {
        YamlPath {
            key_itself: true,
            ..self.key(key)
        }
    }
}

/// A validation failure at a node, before its position is known.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathError {
    pub path: YamlPath,
    pub message: String,
    /// A second node the message refers to (the first of two duplicates), with the phrase
    /// that introduces its position, e.g. "first declared at".
    pub related: Option<(String, YamlPath)>,
}

impl PathError {
    pub fn new(path: &YamlPath, message: impl Into<String>) -> PathError {
        PathError {
            path: path.clone(),
            message: message.into(),
            related: None,
        }
    }

    pub fn with_related(mut self, phrase: &str, path: &YamlPath) -> PathError {
        self.related = Some((phrase.to_string(), path.clone()));
        self
    }

    /// Resolves the position in `text`, which must be the text `path` was computed from.
    pub fn locate_in(self, text: &str, file: &Path) -> YamlIssue {
        let position = locate(text, &self.path);
        let mut message = self.message;
        if let Some((phrase, related)) = &self.related
            && let Some((line, column)) = locate(text, related)
        {
            message.push_str(&format!(" ({phrase} line {line} column {column})"));
        }
        YamlIssue {
            file: file.to_path_buf(),
            position,
            message,
        }
    }
}

/// A problem in a YAML file, with the 1-based line and column of the node when known.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct YamlIssue {
    pub file: PathBuf,
    pub position: Option<(usize, usize)>,
    pub message: String,
}

impl YamlIssue {
    /// A parse error, its position in front of the message.
    pub fn from_parse(err: &YamlError, file: &Path) -> YamlIssue {
        YamlIssue {
            file: file.to_path_buf(),
            position: err.position,
            message: format!("invalid YAML: {}", err.message),
        }
    }

    /// `file:line:column` (or just `file`), for pointing at a related node in a message.
    pub fn where_(&self) -> String {
        match self.position {
            Some((line, column)) => format!("{}:{line}:{column}", self.file.display()),
            None => self.file.display().to_string(),
        }
    }
}

impl fmt::Display for YamlIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.where_(), self.message)
    }
}

/// The 1-based (line, column) of the node `path` points at in `text`, if it exists.
pub fn locate(text: &str, path: &YamlPath) -> Option<(usize, usize)> {
    let root = super::yaml_value::parse(text).ok()?;
    let mut node: &Located = &root;
    for (i, seg) in path.segs.iter().enumerate() {
        let last = i + 1 == path.segs.len();
        node = match (seg, &node.value) {
            (Seg::Key(key), Value::Mapping(m)) => {
                let (key_node, value) = m.entry(key)?;
                if last && path.key_itself {
                    return key_node.position();
                }
                value
            }
            (Seg::Index(index), Value::Sequence(items)) => items.get(*index)?,
            // A scalar where the path wants to go deeper: the path does not exist here.
            _ => return None,
        };
    }
    node.position()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_leads_to_its_node_or_its_key() {
        let text = "models:\n  - name: A\n    columns:\n      - {name: id, type: Integer}\n";
        let columns = YamlPath::root().key("models").index(0).key("columns");
        assert_eq!(locate(text, &columns.index(0).key("type")), Some((4, 26)));
        assert_eq!(
            locate(
                text,
                &YamlPath::root().key("models").index(0).key_name("name")
            ),
            Some((2, 5))
        );
        assert_eq!(locate(text, &columns.index(3)), None);
        assert_eq!(locate(text, &YamlPath::root().key("nope")), None);
    }
}
