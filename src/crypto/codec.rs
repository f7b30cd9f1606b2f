//! The value codec: typed value ⇄ the plaintext Python Timber encrypts (DESIGN §3).
//!
//! Writing follows Timber's rule: a string is encrypted as-is, anything else as
//! `json.dumps(value)`. Reading uses the column's declared type, never a guess from the
//! text. Where `json.dumps` itself would fail in Python, a choice had to be made; each is
//! documented on `encode_plaintext` and read back by `decode_plaintext`:
//!
//! - `Numeric`: the decimal text itself (`str(Decimal)`, e.g. `1.50`), no quotes.
//! - `Date` / `DateTime`: `json.dumps(value, default=str)`, the common Python idiom: a JSON
//!   string of `str(date)` (`"2025-01-31"`) or `str(datetime)` (`"2025-01-31 12:30:00"`,
//!   `.ffffff` only when microseconds are non-zero). Reading also accepts the bare text, a
//!   `T` separator and an offset (converted to UTC).
//! - `LargeBinary`: standard base64 text of the bytes.
//!
//! Error messages name the column type and what was expected, never the value.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, NaiveDate, NaiveDateTime, Timelike};
use serde_json::Value as Json;
use zeroize::Zeroizing;

use super::pyjson;
use crate::config::ColumnType;
use crate::value::Value;

/// Why a value could not be turned into plaintext or back. Never includes the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    #[error("NULL is stored as NULL and never encrypted")]
    Null,
    #[error("a {value} value cannot be stored in a {column} column")]
    TypeMismatch { value: &'static str, column: String },
    #[error("decrypted plaintext is not valid UTF-8 (column type {column})")]
    NotUtf8 { column: String },
    #[error("decrypted plaintext is not a valid {expected} for a {column} column")]
    Invalid {
        expected: &'static str,
        column: String,
    },
    #[error("{0} is not a decimal number")]
    BadNumeric(String),
    #[error("no key `{key}` is configured ({hint})")]
    MissingKey { key: String, hint: String },
}

/// The type as written in model YAML, for messages.
pub fn type_name(ty: &ColumnType) -> String {
    match ty {
        ColumnType::String(Some(n)) => format!("String({n})"),
        ColumnType::String(None) => "String".into(),
        ColumnType::Text => "Text".into(),
        ColumnType::Integer => "Integer".into(),
        ColumnType::BigInteger => "BigInteger".into(),
        ColumnType::Float => "Float".into(),
        ColumnType::Numeric(p, s) => format!("Numeric({p},{s})"),
        ColumnType::Boolean => "Boolean".into(),
        ColumnType::Date => "Date".into(),
        ColumnType::DateTime => "DateTime".into(),
        ColumnType::Json => "JSON".into(),
        ColumnType::LargeBinary => "LargeBinary".into(),
    }
}

fn value_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "NULL",
        Value::Bool(_) => "boolean",
        Value::Int(_) => "integer",
        Value::Float(_) => "float",
        Value::Numeric(_) => "numeric",
        Value::Text(_) => "text",
        Value::Date(_) => "date",
        Value::DateTime(_) => "datetime",
        Value::Json(_) => "JSON",
        Value::Bytes(_) => "binary",
    }
}

/// The plaintext Timber encrypts for `value` in a column of type `ty`. The value must fit
/// the declared type (so that `decode_plaintext` reads it back as the same value); an
/// integer is accepted for `Float` and any value for `JSON` (as Python would dump it).
pub fn encode_plaintext(value: &Value, ty: &ColumnType) -> Result<Zeroizing<String>, CodecError> {
    use ColumnType as T;
    let mismatch = || CodecError::TypeMismatch {
        value: value_kind(value),
        column: type_name(ty),
    };
    let text = match (value, ty) {
        (Value::Null, _) => return Err(CodecError::Null),
        (Value::Text(s), T::String(_) | T::Text | T::Json) => s.clone(),
        (Value::Int(i), T::Integer | T::BigInteger | T::Float | T::Json) => i.to_string(),
        (Value::Float(f), T::Float | T::Json) => pyjson::float_repr(*f),
        (Value::Bool(b), T::Boolean | T::Json) => b.to_string(),
        (Value::Numeric(s), T::Numeric(..)) => {
            if !is_decimal(s) {
                return Err(CodecError::BadNumeric(format!(
                    "the value for a {} column",
                    type_name(ty)
                )));
            }
            s.clone()
        }
        (Value::Date(d), T::Date) => pyjson::dumps(&Json::String(d.format("%Y-%m-%d").to_string())),
        (Value::DateTime(t), T::DateTime) => pyjson::dumps(&Json::String(python_str_datetime(t))),
        // Timber's rule is "strings as-is" even inside a JSON column.
        (Value::Json(Json::String(s)), T::Json) => s.clone(),
        (Value::Json(j), T::Json) => pyjson::dumps(j),
        (Value::Bytes(b), T::LargeBinary) => STANDARD.encode(b),
        _ => return Err(mismatch()),
    };
    Ok(Zeroizing::new(text))
}

/// Python's `str(datetime)`: space separator, microseconds only when non-zero (Python has
/// no nanoseconds; anything below a microsecond is dropped).
fn python_str_datetime(t: &NaiveDateTime) -> String {
    let micros = t.nanosecond() / 1_000 % 1_000_000;
    if micros == 0 {
        t.format("%Y-%m-%d %H:%M:%S").to_string()
    } else {
        format!("{}.{micros:06}", t.format("%Y-%m-%d %H:%M:%S"))
    }
}

/// Reads decrypted plaintext as a value of the column's declared type.
pub fn decode_plaintext(plaintext: &[u8], ty: &ColumnType) -> Result<Value, CodecError> {
    use ColumnType as T;
    let text = std::str::from_utf8(plaintext).map_err(|_| CodecError::NotUtf8 {
        column: type_name(ty),
    })?;
    let invalid = |expected| CodecError::Invalid {
        expected,
        column: type_name(ty),
    };
    Ok(match ty {
        T::String(_) | T::Text => Value::Text(text.to_string()),
        T::Integer | T::BigInteger => {
            Value::Int(text.trim().parse().map_err(|_| invalid("integer"))?)
        }
        T::Float => Value::Float(parse_python_float(text.trim()).ok_or_else(|| invalid("float"))?),
        T::Numeric(..) => {
            let t = strip_json_quotes(text.trim());
            if !is_decimal(t) {
                return Err(invalid("decimal number"));
            }
            Value::Numeric(t.to_string())
        }
        T::Boolean => match text.trim().to_ascii_lowercase().as_str() {
            "true" | "1" => Value::Bool(true),
            "false" | "0" => Value::Bool(false),
            _ => return Err(invalid("boolean")),
        },
        T::Date => {
            let t = json_string_or_bare(text);
            Value::Date(NaiveDate::parse_from_str(&t, "%Y-%m-%d").map_err(|_| invalid("date"))?)
        }
        // Python's datetime holds microseconds; finer digits (not written by Python) are
        // dropped here as on writing, so a value read and written back stays the same.
        T::DateTime => Value::DateTime(
            parse_datetime(&json_string_or_bare(text))
                .and_then(|t| t.with_nanosecond(t.nanosecond() / 1_000 * 1_000))
                .ok_or_else(|| invalid("datetime"))?,
        ),
        // A Python `str` in a JSON column was encrypted as-is, so text that is not JSON is
        // that string.
        T::Json => Value::Json(
            serde_json::from_str(text).unwrap_or_else(|_| Json::String(text.to_string())),
        ),
        T::LargeBinary => Value::Bytes(
            base64::engine::general_purpose::STANDARD_NO_PAD
                .decode(text.trim().trim_end_matches('='))
                .map_err(|_| invalid("base64 binary"))?,
        ),
    })
}

/// `json.loads` of a float, including Python's `NaN`, `Infinity`, `-Infinity`.
fn parse_python_float(t: &str) -> Option<f64> {
    match t {
        "NaN" => Some(f64::NAN),
        "Infinity" => Some(f64::INFINITY),
        "-Infinity" => Some(f64::NEG_INFINITY),
        _ => t
            .parse::<serde_json::Number>()
            .ok()
            .and_then(|n| n.as_f64()),
    }
}

/// Sign, digits, optional fraction, optional exponent: what `Decimal(str)` accepts for
/// finite numbers (and what SQL NUMERIC can hold).
fn is_decimal(s: &str) -> bool {
    let s = s.strip_prefix(['+', '-']).unwrap_or(s);
    let (mantissa, exponent) = match s.split_once(['e', 'E']) {
        Some((m, e)) => (m, Some(e)),
        None => (s, None),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits_ok = |d: &str| d.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = (!int.is_empty() || !frac.is_empty()) && digits_ok(int) && digits_ok(frac);
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        !e.is_empty() && digits_ok(e)
    });
    mantissa_ok && exponent_ok
}

fn strip_json_quotes(t: &str) -> &str {
    t.strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(t)
}

/// The text of a JSON string literal, or the trimmed text itself when it is not one.
fn json_string_or_bare(text: &str) -> String {
    match serde_json::from_str::<Json>(text) {
        Ok(Json::String(s)) => s,
        _ => text.trim().to_string(),
    }
}

/// Python `str(datetime)`, `isoformat()` (either separator, optional fraction), an offset
/// or `Z` (converted to UTC, since the column type is naive), or a bare date (midnight).
fn parse_datetime(t: &str) -> Option<NaiveDateTime> {
    for format in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(dt) = NaiveDateTime::parse_from_str(t, format) {
            return Some(dt);
        }
    }
    for format in ["%Y-%m-%d %H:%M:%S%.f%:z", "%Y-%m-%dT%H:%M:%S%.f%:z"] {
        if let Ok(dt) = DateTime::parse_from_str(t, format) {
            return Some(dt.naive_utc());
        }
    }
    if let Ok(dt) = DateTime::parse_from_rfc3339(t) {
        return Some(dt.naive_utc());
    }
    NaiveDate::parse_from_str(t, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
}

/// The form a token is stored in for a column of this type: JSON columns hold it as a JSON
/// string (the ORM serialises the token into the JSON column), all others bare.
pub fn wrap_for_column(token: &str, ty: &ColumnType) -> String {
    match ty {
        ColumnType::Json => format!("\"{token}\""),
        _ => token.to_string(),
    }
}

/// The bare token of a stored value, quoted (JSON column) or not, surrounding whitespace
/// ignored.
pub fn unwrap_stored(stored: &str) -> &str {
    super::inspect::unquote(stored)
}
