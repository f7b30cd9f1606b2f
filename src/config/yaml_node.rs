//! Typed reading of a parsed YAML `Value` that remembers the path of every node, so each
//! complaint can be located later (see `yaml_locate`). Shared by the model and policy loaders.
//!
//! Reading is strict on purpose: a typo'd key (`encrypt: true`) or a wrong kind of value
//! (`primary_key: "yes"`) is an error naming the key and what was expected, never ignored,
//! because a silently ignored `encrypted` flag would leave data in plaintext.

use super::yaml_value::{Mapping, Value};

use super::yaml_locate::{PathError, YamlPath};

/// A node of the document and where it is.
#[derive(Clone, Copy)]
pub struct Node<'v, 'p> {
    pub value: &'v Value,
    pub path: &'p YamlPath,
}

/// Result of reading a node.
pub type Read<T> = Result<T, PathError>;

/// A short description of a value's kind for "expected X, found Y" messages.
pub fn describe(value: &Value) -> String {
    match value {
        Value::Null => "nothing".to_string(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => format!("the text {s:?}"),
        Value::Sequence(_) => "a list".to_string(),
        Value::Mapping(_) => "a mapping".to_string(),
    }
}

/// Owns the path so children can borrow it; `Node` is the borrowed view.
pub struct Owned<'a> {
    pub value: &'a Value,
    pub path: YamlPath,
}

impl<'a> Owned<'a> {
    pub fn root(value: &'a Value) -> Owned<'a> {
        Owned {
            value,
            path: YamlPath::root(),
        }
    }

    pub fn node(&self) -> Node<'a, '_> {
        Node {
            value: self.value,
            path: &self.path,
        }
    }
}

impl<'a> Node<'a, '_> {
    pub fn error(&self, message: impl Into<String>) -> PathError {
        PathError::new(self.path, message)
    }

    fn mapping(&self, what: &str) -> Read<&'a Mapping> {
        match self.value {
            Value::Mapping(m) => Ok(m),
            other => Err(self.error(format!(
                "expected a mapping for {what}, found {}",
                describe(other)
            ))),
        }
    }

    /// Checks that this is a mapping whose keys are all text and all in `allowed`.
    pub fn expect_keys(&self, allowed: &[&str], what: &str) -> Read<()> {
        for key in self.mapping(what)?.keys() {
            let Value::String(key) = key else {
                return Err(self.error(format!(
                    "{what} has a key that is not text ({}); allowed keys: {}",
                    describe(key),
                    allowed.join(", ")
                )));
            };
            if !allowed.contains(&key.as_str()) {
                return Err(PathError::new(
                    &self.path.key_name(key),
                    format!(
                        "unknown key {key:?} in {what}; allowed keys: {}",
                        allowed.join(", ")
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The value under `key`, if the key is present (even when its value is null).
    pub fn get(&self, key: &str) -> Option<Owned<'a>> {
        let Value::Mapping(m) = self.value else {
            return None;
        };
        m.get(key).map(|value| Owned {
            value,
            path: self.path.key(key),
        })
    }

    /// The value under `key`; a missing key is an error at this mapping.
    pub fn require(&self, key: &str, what: &str) -> Read<Owned<'a>> {
        self.get(key)
            .ok_or_else(|| self.error(format!("{what} is missing the required key {key:?}")))
    }

    /// The keys and values of a mapping in file order (keys must be text).
    pub fn entries(&self, what: &str) -> Read<Vec<(&'a str, Owned<'a>)>> {
        let mut out = Vec::new();
        for (key, value) in self.mapping(what)?.iter() {
            let Value::String(key) = key else {
                return Err(self.error(format!(
                    "{what} has a key that is not text ({})",
                    describe(key)
                )));
            };
            out.push((
                key.as_str(),
                Owned {
                    value,
                    path: self.path.key(key),
                },
            ));
        }
        Ok(out)
    }

    /// The elements of a list; null (a key with nothing after it) reads as an empty list.
    pub fn list(&self, what: &str) -> Read<Vec<Owned<'a>>> {
        match self.value {
            Value::Null => Ok(Vec::new()),
            Value::Sequence(items) => Ok(items
                .iter()
                .enumerate()
                .map(|(i, item)| Owned {
                    value: &item.value,
                    path: self.path.index(i),
                })
                .collect()),
            other => Err(self.error(format!(
                "expected a list for {what}, found {}",
                describe(other)
            ))),
        }
    }

    pub fn text(&self, what: &str) -> Read<&'a str> {
        match self.value {
            Value::String(s) if !s.trim().is_empty() => Ok(s.as_str()),
            Value::String(_) => Err(self.error(format!("{what} is empty"))),
            other => Err(self.error(format!(
                "expected text for {what}, found {}",
                describe(other)
            ))),
        }
    }

    pub fn boolean(&self, what: &str) -> Read<bool> {
        match self.value {
            Value::Bool(b) => Ok(*b),
            other => Err(self.error(format!(
                "expected true or false for {what}, found {}",
                describe(other)
            ))),
        }
    }

    pub fn unsigned(&self, what: &str) -> Read<u64> {
        self.value.as_u64().ok_or_else(|| {
            self.error(format!(
                "expected a non-negative whole number for {what}, found {}",
                describe(self.value)
            ))
        })
    }

    /// A scalar as text (`'active'`, `0`, `true`); lists and mappings as JSON text.
    /// `None` for null. Used for column defaults, which Timber passes through unchanged.
    pub fn scalar_text(&self, what: &str) -> Read<Option<String>> {
        match self.value {
            Value::Null => Ok(None),
            Value::Bool(b) => Ok(Some(b.to_string())),
            Value::Number(n) => Ok(Some(n.to_string())),
            Value::String(s) => Ok(Some(s.clone())),
            Value::Sequence(_) | Value::Mapping(_) => serde_json::to_string(self.value)
                .map(Some)
                .map_err(|e| self.error(format!("{what} cannot be written as JSON: {e}"))),
        }
    }

    /// A list of text items, each located on error.
    pub fn text_list(&self, what: &str) -> Read<Vec<(String, YamlPath)>> {
        let mut out = Vec::new();
        for item in self.list(what)? {
            let text = item.node().text(what)?.trim().to_string();
            out.push((text, item.path));
        }
        Ok(out)
    }
}

/// `^[A-Za-z_][A-Za-z0-9_]{0,62}$`: what we accept as a table, column or model name, so that
/// every name from YAML is safe to quote into SQL and fits every backend's identifier limit.
pub fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    (first.is_ascii_alphabetic() || first == '_')
        && name.len() <= 63
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}
