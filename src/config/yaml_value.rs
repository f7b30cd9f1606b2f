//! The YAML parser every config file goes through (models, policies, themes, keymaps), and
//! the document tree the model and policy readers walk.
//!
//! The parser is serde-saphyr: pure Rust (`#![forbid(unsafe_code)]`, on the granit/saphyr
//! parser), maintained, with a parse budget and alias limits against alias bombs. serde_yaml
//! is archived (RUSTSEC-2024-0320), serde_yml unsound (RUSTSEC-2025-0068), and serde_yaml_ng
//! and yaml_serde both run libyaml transliterated from C with `unsafe` throughout
//! (`unsafe-libyaml`, `libyaml-rs`); a config file is untrusted input, so its parser must be
//! memory safe.
//!
//! Files are read with YAML 1.2 scalars (`yes`, `no`, `on` stay text, so `country: NO` is
//! not `false`), duplicate keys are an error, and a tag the parser does not know is an error
//! rather than silently dropped. Every node of a [`Located`] tree carries its line and column,
//! which is how `yaml_locate` points messages at `file:line:column`.

use std::fmt;

use serde::de::{self, DeserializeOwned, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, SerializeSeq, Serializer};
use serde::{Deserialize, Serialize};

/// A YAML value; the children of lists and mappings know where they are.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Number(Number),
    String(String),
    Sequence(Vec<Located>),
    Mapping(Mapping),
}

/// A node and its 1-based line and column in the text (0 when the parser did not say).
#[derive(Clone, Debug, PartialEq)]
pub struct Located {
    pub value: Value,
    pub line: usize,
    pub column: usize,
}

impl Located {
    /// The position, when known.
    pub fn position(&self) -> Option<(usize, usize)> {
        (self.line > 0).then_some((self.line, self.column))
    }
}

/// A mapping's entries in file order (duplicate keys are refused while parsing).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Mapping(pub Vec<(Located, Located)>);

impl Mapping {
    /// The entry whose key is the text `key`.
    pub fn entry(&self, key: &str) -> Option<&(Located, Located)> {
        self.0
            .iter()
            .find(|(k, _)| matches!(&k.value, Value::String(s) if s == key))
    }

    /// The value under the text key `key`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.entry(key).map(|(_, v)| &v.value)
    }

    pub fn keys(&self) -> impl Iterator<Item = &Value> {
        self.0.iter().map(|(k, _)| &k.value)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&Value, &Value)> {
        self.0.iter().map(|(k, v)| (&k.value, &v.value))
    }
}

/// A YAML number as the parser read it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Number {
    Int(i64),
    UInt(u64),
    Float(f64),
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Number::Int(i) => write!(f, "{i}"),
            Number::UInt(u) => write!(f, "{u}"),
            Number::Float(x) if x.is_nan() => f.write_str(".nan"),
            Number::Float(x) if x.is_infinite() => {
                f.write_str(if x > 0.0 { ".inf" } else { "-.inf" })
            }
            // JSON's spelling keeps the `.0` of a whole float (`1.0`, not `1`).
            Number::Float(x) => match serde_json::Number::from_f64(x) {
                Some(n) => write!(f, "{n}"),
                None => write!(f, "{x}"),
            },
        }
    }
}

impl Value {
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The text of a string value.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// A whole number that is not negative.
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Value::Number(Number::UInt(u)) => Some(*u),
            Value::Number(Number::Int(i)) => u64::try_from(*i).ok(),
            _ => None,
        }
    }
}

/// A parse failure: the parser's message (without its own "at line ..." suffix) and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct YamlError {
    pub position: Option<(usize, usize)>,
    pub message: String,
}

impl YamlError {
    fn from_saphyr(err: &serde_saphyr::Error) -> YamlError {
        let text = err.to_string();
        let position = err
            .location()
            .map(|loc| (loc.line() as usize, loc.column() as usize))
            .filter(|(line, _)| *line > 0);
        let message = match position {
            // The parser appends the position; it is printed in front instead.
            Some((line, column)) => {
                let used = format!(" (used at line {line}, column {column})");
                let plain = format!(" at line {line}, column {column}");
                [used, plain]
                    .iter()
                    .find_map(|suffix| {
                        text.rfind(suffix.as_str())
                            .map(|at| format!("{}{}", &text[..at], &text[at + suffix.len()..]))
                    })
                    .unwrap_or(text)
            }
            None => text,
        };
        // The parser's advice to the programmer is not for the person editing the file.
        let message = message.replace(
            ", set DuplicateKeyPolicy in Options if acceptable",
            " (a key may appear once)",
        );
        YamlError { position, message }
    }

    /// `FILE:LINE:COLUMN: message` (or `FILE: message` when the parser gave no position).
    pub fn at(&self, file: &std::path::Path) -> String {
        match self.position {
            Some((line, column)) => format!("{}:{line}:{column}: {}", file.display(), self.message),
            None => format!("{}: {}", file.display(), self.message),
        }
    }
}

/// How every config file is parsed (see the module comment).
fn options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        strict_booleans: true,
        reject_unsupported_tags: true,
        with_snippet: false,
    }
}

/// Parses `text` into `T` (themes and keymaps, read into typed structs).
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, YamlError> {
    serde_saphyr::from_str_with_options(text, options()).map_err(|e| YamlError::from_saphyr(&e))
}

/// Parses `text` into a located tree; an empty document (or only comments) is `Null`.
pub fn parse(text: &str) -> Result<Located, YamlError> {
    let root: Option<Located> = from_str(text)?;
    Ok(root.unwrap_or(Located {
        value: Value::Null,
        line: 0,
        column: 0,
    }))
}

impl<'de> Deserialize<'de> for Located {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let spanned = serde_saphyr::Spanned::<Value>::deserialize(deserializer)?;
        Ok(Located {
            value: spanned.value,
            line: spanned.referenced.line() as usize,
            column: spanned.referenced.column() as usize,
        })
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        Value::deserialize(deserializer)
    }
    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }
    fn visit_i64<E: de::Error>(self, i: i64) -> Result<Value, E> {
        Ok(Value::Number(Number::Int(i)))
    }
    fn visit_u64<E: de::Error>(self, u: u64) -> Result<Value, E> {
        Ok(Value::Number(Number::UInt(u)))
    }
    // Wider than 64 bits: kept as a float, as YAML libraries commonly do.
    fn visit_i128<E: de::Error>(self, i: i128) -> Result<Value, E> {
        Ok(Value::Number(match i64::try_from(i) {
            Ok(i) => Number::Int(i),
            Err(_) => Number::Float(i as f64),
        }))
    }
    fn visit_u128<E: de::Error>(self, u: u128) -> Result<Value, E> {
        Ok(Value::Number(match u64::try_from(u) {
            Ok(u) => Number::UInt(u),
            Err(_) => Number::Float(u as f64),
        }))
    }
    fn visit_f64<E: de::Error>(self, x: f64) -> Result<Value, E> {
        Ok(Value::Number(Number::Float(x)))
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<Value, E> {
        Ok(Value::String(s.to_string()))
    }
    fn visit_string<E: de::Error>(self, s: String) -> Result<Value, E> {
        Ok(Value::String(s))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Located>()? {
            items.push(item);
        }
        Ok(Value::Sequence(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Located>()? {
            let value = map.next_value::<Located>()?;
            entries.push((key, value));
        }
        Ok(Value::Mapping(Mapping(entries)))
    }
}

/// As JSON would have it (column defaults that are lists or mappings are kept as JSON text).
impl Serialize for Value {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Null => serializer.serialize_unit(),
            Value::Bool(b) => serializer.serialize_bool(*b),
            Value::Number(Number::Int(i)) => serializer.serialize_i64(*i),
            Value::Number(Number::UInt(u)) => serializer.serialize_u64(*u),
            Value::Number(Number::Float(x)) => serializer.serialize_f64(*x),
            Value::String(s) => serializer.serialize_str(s),
            Value::Sequence(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(&item.value)?;
                }
                seq.end()
            }
            Value::Mapping(m) => {
                let mut map = serializer.serialize_map(Some(m.0.len()))?;
                for (key, value) in m.iter() {
                    map.serialize_entry(key, value)?;
                }
                map.end()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root(text: &str) -> Located {
        parse(text).unwrap()
    }

    #[test]
    fn nodes_know_their_line_and_column() {
        let doc = root("a:\n  - x\n  - 'y'\nb: 2\n");
        let Value::Mapping(m) = &doc.value else {
            panic!("{doc:?}")
        };
        let (key, list) = m.entry("a").unwrap();
        assert_eq!((key.line, key.column), (1, 1));
        let Value::Sequence(items) = &list.value else {
            panic!("{list:?}")
        };
        assert_eq!((items[1].line, items[1].column), (3, 5));
        let (_, two) = m.entry("b").unwrap();
        assert_eq!(two.value, Value::Number(Number::UInt(2)));
        assert_eq!((two.line, two.column), (4, 4));
    }

    #[test]
    fn yaml_1_1_booleans_stay_text_and_an_empty_file_is_null() {
        let doc = root("country: NO\nok: true\n");
        let Value::Mapping(m) = &doc.value else {
            panic!()
        };
        assert_eq!(m.get("country"), Some(&Value::String("NO".into())));
        assert_eq!(m.get("ok"), Some(&Value::Bool(true)));
        assert!(root("# nothing\n").value.is_null());
        assert!(root("").value.is_null());
    }

    #[test]
    fn duplicate_keys_and_unknown_tags_are_errors_with_a_position() {
        let err = parse("a: 1\na: 2\n").unwrap_err();
        assert!(err.position.is_some(), "{err:?}");
        let err = parse("a: !custom 1\n").unwrap_err();
        assert!(err.position.is_some(), "{err:?}");
    }

    #[test]
    fn floats_keep_their_point_and_json_writes_lists() {
        assert_eq!(Number::Float(1.0).to_string(), "1.0");
        assert_eq!(Number::Float(f64::INFINITY).to_string(), ".inf");
        let doc = root("[1, two, {k: 0.5}]");
        assert_eq!(
            serde_json::to_string(&doc.value).unwrap(),
            r#"[1,"two",{"k":0.5}]"#
        );
    }
}
