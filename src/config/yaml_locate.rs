//! Where a YAML node is: file, line and column for messages like
//! `models/app.yaml:14:15: unknown column type ...`.
//!
//! serde_yaml_ng (chosen because serde_yaml is archived, RUSTSEC-2024-0320, and serde_yml is
//! unsound, RUSTSEC-2025-0068) has no `Spanned` wrapper and keeps its libyaml event stream
//! private, but it does attach the position of the node being deserialized to any error raised
//! there. We use that: validation works on a parsed `Value` and records a [`YamlPath`]; when a
//! check fails, [`locate`] deserializes the text once more with a seed that walks that path and
//! fails on purpose at the target node, and reads the position back from the error. This costs a
//! second parse only when there is an error, and needs no second YAML crate.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

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
        if let Some((phrase, related)) = &self.related {
            if let Some((line, column)) = locate(text, related) {
                message.push_str(&format!(" ({phrase} line {line} column {column})"));
            }
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
    /// A parse error from serde_yaml_ng: its own location, its message without the trailing
    /// "at line L column C" (we print the position in front instead).
    pub fn from_parse(err: &serde_yaml_ng::Error, file: &Path) -> YamlIssue {
        let text = err.to_string();
        let Some(loc) = err.location() else {
            let message = format!("invalid YAML: {text}");
            return YamlIssue {
                file: file.to_path_buf(),
                position: None,
                message,
            };
        };
        let suffix = format!(" at line {} column {}", loc.line(), loc.column());
        let message = match text.find(&suffix) {
            Some(at) => format!(
                "invalid YAML: {}{}",
                &text[..at],
                &text[at + suffix.len()..]
            ),
            None => format!("invalid YAML: {text}"),
        };
        YamlIssue {
            file: file.to_path_buf(),
            position: Some((loc.line(), loc.column())),
            message,
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
    let seed = Probe {
        rest: &path.segs,
        key_itself: path.key_itself,
    };
    match seed.deserialize(serde_yaml_ng::Deserializer::from_str(text)) {
        // The walk ended without reaching the node (the path does not exist in this text).
        Ok(()) => None,
        Err(err) => err.location().map(|loc| (loc.line(), loc.column())),
    }
}

/// Walks `rest`; at the end, refuses whatever node is there, so the error carries its mark.
struct Probe<'p> {
    rest: &'p [Seg],
    key_itself: bool,
}

/// Every visit method of a visitor without overrides fails with `invalid_type`, which
/// serde_yaml_ng marks with the position of the node being visited.
struct RefuseAny;

impl<'de> Visitor<'de> for RefuseAny {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the node being located")
    }
}

impl<'de> DeserializeSeed<'de> for Probe<'_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        match self.rest.first() {
            None => deserializer.deserialize_any(RefuseAny),
            Some(_) => deserializer.deserialize_any(self),
        }
    }
}

impl<'de> Visitor<'de> for Probe<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a mapping or sequence on the path being located")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let Some(Seg::Key(target)) = self.rest.first() else {
            return Ok(());
        };
        let last = self.rest.len() == 1;
        let fail_on_key = last && self.key_itself;
        while let Some(matched) = map.next_key_seed(KeyProbe {
            target,
            fail_on_key,
        })? {
            if matched {
                let next = Probe {
                    rest: &self.rest[1..],
                    key_itself: self.key_itself,
                };
                return map.next_value_seed(next);
            }
            map.next_value::<IgnoredAny>()?;
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let Some(Seg::Index(target)) = self.rest.first() else {
            return Ok(());
        };
        for _ in 0..*target {
            if seq.next_element::<IgnoredAny>()?.is_none() {
                return Ok(());
            }
        }
        let next = Probe {
            rest: &self.rest[1..],
            key_itself: self.key_itself,
        };
        seq.next_element_seed(next)?;
        Ok(())
    }

    // A scalar where the path wants to go deeper: the path does not exist here.
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
}

/// Reads one mapping key; says whether it is the target, or fails on it when asked to.
struct KeyProbe<'t> {
    target: &'t str,
    fail_on_key: bool,
}

impl<'de> DeserializeSeed<'de> for KeyProbe<'_> {
    type Value = bool;
    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for KeyProbe<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a mapping key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<bool, E> {
        let matched = key == self.target;
        if matched && self.fail_on_key {
            return Err(E::custom("located"));
        }
        Ok(matched)
    }

    // Keys that are not text never match a path step (validation rejects them first).
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_unit<E: de::Error>(self) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(false)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<bool, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(false)
    }
}
