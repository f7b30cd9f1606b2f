//! A typed field value, as the application sees it (before encryption, after decryption).
//!
//! Timber encrypts strings as-is and everything else as `json.dumps(value)` (DESIGN §3); the
//! column's declared type, not a JSON guess, decides how plaintext is read back.

use chrono::{NaiveDate, NaiveDateTime};

/// One field's value. `Numeric` keeps its decimal text so no precision is lost.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Numeric(String),
    Text(String),
    Date(NaiveDate),
    DateTime(NaiveDateTime),
    Json(serde_json::Value),
    Bytes(Vec<u8>),
}

impl Value {
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The value as JSON, the shape `--format json` prints for a revealed value.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f)
                .map(J::Number)
                .unwrap_or(J::Null),
            Value::Numeric(s) => s
                .parse::<serde_json::Number>()
                .map(J::Number)
                .unwrap_or_else(|_| J::String(s.clone())),
            Value::Text(s) => J::String(s.clone()),
            Value::Date(d) => J::String(d.format("%Y-%m-%d").to_string()),
            Value::DateTime(t) => J::String(t.format("%Y-%m-%dT%H:%M:%S%.f").to_string()),
            Value::Json(v) => v.clone(),
            Value::Bytes(b) => J::String(hex_lower(b)),
        }
    }
}

/// Lower-case hex, used for fingerprints and for showing binary values.
pub fn hex_lower(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[(b >> 4) as usize] as char);
        out.push(DIGITS[(b & 0xf) as usize] as char);
    }
    out
}

/// A record id or owner column's value as text (the user name it is compared with, the
/// record id an audit entry names): strings unquoted, other values as JSON.
pub fn owner_text(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::Text(s) => Some(s.clone()),
        Value::Int(i) => Some(i.to_string()),
        Value::Numeric(n) => Some(n.clone()),
        other => match other.to_json() {
            serde_json::Value::String(s) => Some(s),
            json => Some(json.to_string()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One spelling of an owner for every use: the per-user key a write derives, the one a
    /// rotation derives for the same row, and the record id an audit entry names. (The
    /// store once had its own copy that quoted a date, so a per-user row keyed by a date
    /// was written under one key and rotated under another.)
    #[test]
    fn owner_text_spells_a_date_as_python_str_does() {
        let date = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
        assert_eq!(
            owner_text(&Value::Date(date)).as_deref(),
            Some("2024-01-01")
        );
        assert_eq!(owner_text(&Value::Int(42)).as_deref(), Some("42"));
        assert_eq!(
            owner_text(&Value::Text("alice".into())).as_deref(),
            Some("alice")
        );
        assert_eq!(owner_text(&Value::Null), None);
    }
}
