//! Conversions between the application's typed [`Value`] and the driver's [`SqlValue`], by
//! the column's declared type, plus the lenient coercion SQLite and MySQL results need
//! (SQLite stores whatever it was given; a DateTime there is TEXT like
//! `2025-01-01 00:00:00.000000`).

use chrono::{NaiveDate, NaiveDateTime};

use super::backend::{SqlValue, decode_error};
use super::dialect::{Wire, wire_for};
use crate::config::{ColumnDef, ColumnType};
use crate::value::Value;

/// Coerces a dynamically typed result value to the wire shape the caller asked for.
pub(crate) fn coerce(value: SqlValue, wire: Wire, index: usize) -> Result<SqlValue, sqlx::Error> {
    let bad = |what: &str| decode_error(index, format!("expected {wire:?}, found {what}"));
    Ok(match (wire, value) {
        (_, SqlValue::Null(_)) => SqlValue::Null(wire),
        // Bytes that are not UTF-8 stay bytes: one such cell must not fail the page it is
        // on. Readers decide per cell: an encrypted cell is unreadable `not_text`, a plain
        // one a bytes value, raw readers list it in `not_text`.
        (Wire::Text, SqlValue::Bytes(b)) => match String::from_utf8(b) {
            Ok(s) => SqlValue::Text(s),
            Err(not_text) => SqlValue::Bytes(not_text.into_bytes()),
        },
        (Wire::Text, other) => SqlValue::Text(other.into_text().unwrap_or_default()),
        (Wire::Int, SqlValue::Int(i)) => SqlValue::Int(i),
        (Wire::Int, SqlValue::Bool(b)) => SqlValue::Int(b as i64),
        (Wire::Int, SqlValue::Float(f)) if f.fract() == 0.0 => SqlValue::Int(f as i64),
        (Wire::Int, SqlValue::Text(s)) => SqlValue::Int(
            s.trim()
                .parse()
                .map_err(|_| bad("text that is not an integer"))?,
        ),
        (Wire::Float, SqlValue::Float(f)) => SqlValue::Float(f),
        (Wire::Float, SqlValue::Int(i)) => SqlValue::Float(i as f64),
        (Wire::Float, SqlValue::Text(s)) => SqlValue::Float(
            s.trim()
                .parse()
                .map_err(|_| bad("text that is not a number"))?,
        ),
        (Wire::Bool, SqlValue::Bool(b)) => SqlValue::Bool(b),
        (Wire::Bool, SqlValue::Int(i)) => SqlValue::Bool(i != 0),
        (Wire::Bool, SqlValue::Text(s)) => SqlValue::Bool(match s.trim() {
            "1" | "true" | "TRUE" | "True" => true,
            "0" | "false" | "FALSE" | "False" => false,
            _ => return Err(bad("text that is not a boolean")),
        }),
        (Wire::Date, SqlValue::Date(d)) => SqlValue::Date(d),
        (Wire::Date, SqlValue::DateTime(t)) => SqlValue::Date(t.date()),
        (Wire::Date, SqlValue::Text(s)) => {
            SqlValue::Date(parse_date(&s).ok_or_else(|| bad("text that is not a date"))?)
        }
        (Wire::DateTime, SqlValue::DateTime(t)) => SqlValue::DateTime(t),
        (Wire::DateTime, SqlValue::Date(d)) => SqlValue::DateTime(d.and_time(Default::default())),
        (Wire::DateTime, SqlValue::Text(s)) => SqlValue::DateTime(
            parse_datetime(&s).ok_or_else(|| bad("text that is not a datetime"))?,
        ),
        (Wire::Bytes, SqlValue::Bytes(b)) => SqlValue::Bytes(b),
        (Wire::Bytes, SqlValue::Text(s)) => SqlValue::Bytes(s.into_bytes()),
        (_, other) => {
            return Err(bad(&format!("{other:?}")
                .chars()
                .take(40)
                .collect::<String>()));
        }
    })
}

/// Parses the DateTime texts SQLAlchemy and others leave in SQLite.
pub fn parse_datetime(text: &str) -> Option<NaiveDateTime> {
    let text = text.trim();
    if let Some(at) = parse_sqlalchemy_micros(text) {
        return Some(at);
    }
    const FORMATS: [&str; 4] = [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
    ];
    FORMATS
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
        .or_else(|| parse_date(text).map(|d| d.and_time(Default::default())))
}

/// The forms SQLAlchemy, this store and sqlx write, `YYYY-MM-DD HH:MM:SS[.f]` (1 to 9
/// fraction digits, ` ` or `T`), read without chrono's format interpreter: every audit
/// entry and DateTime cell read from SQLite takes this path. Dates and times are still
/// validated (`from_ymd_opt`, `and_hms_nano_opt`); anything else is left to the general
/// formats.
fn parse_sqlalchemy_micros(text: &str) -> Option<NaiveDateTime> {
    let b = text.as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b' ' | b'T') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |digits: &[u8]| -> Option<u32> {
        digits.iter().try_fold(0u32, |n, &d| {
            d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
        })
    };
    let nanos = match &b[19..] {
        [] => 0,
        [b'.', fraction @ ..] if (1..=9).contains(&fraction.len()) => {
            num(fraction)? * 10u32.pow(9 - fraction.len() as u32)
        }
        _ => return None,
    };
    let date = NaiveDate::from_ymd_opt(num(&b[0..4])? as i32, num(&b[5..7])?, num(&b[8..10])?)?;
    date.and_hms_nano_opt(num(&b[11..13])?, num(&b[14..16])?, num(&b[17..19])?, nanos)
}

pub fn parse_date(text: &str) -> Option<NaiveDate> {
    let text = text.trim();
    NaiveDate::parse_from_str(text.get(..10).unwrap_or(text), "%Y-%m-%d").ok()
}

/// A decoded plain (unencrypted) column value as the application sees it.
pub(crate) fn to_value(raw: SqlValue, column: &ColumnDef) -> Result<Value, String> {
    Ok(match (raw, &column.ty) {
        (SqlValue::Null(_), _) => Value::Null,
        (SqlValue::Text(s), ColumnType::Json) => Value::Json(
            serde_json::from_str(&s).map_err(|e| format!("stored JSON does not parse: {e}"))?,
        ),
        (SqlValue::Text(s), ColumnType::Numeric(_, scale)) => Value::Numeric(with_scale(s, *scale)),
        (SqlValue::Text(s), _) => Value::Text(s),
        (SqlValue::Int(i), _) => Value::Int(i),
        (SqlValue::Float(f), _) => Value::Float(f),
        (SqlValue::Bool(b), _) => Value::Bool(b),
        (SqlValue::Date(d), _) => Value::Date(d),
        (SqlValue::DateTime(t), _) => Value::DateTime(t),
        (SqlValue::Bytes(b), _) => Value::Bytes(b),
        (SqlValue::IntArray(_) | SqlValue::TextArray(_), _) => {
            return Err("an array is not a column value".into());
        }
    })
}

/// SQLite keeps a NUMERIC as an integer or a float (`12.50` becomes `12.5`); the declared
/// scale restores the decimal text PostgreSQL and MySQL return.
fn with_scale(text: String, scale: u32) -> String {
    let digits = text.trim_start_matches('-');
    let plain = !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit() || c == '.');
    if !plain || digits.matches('.').count() > 1 {
        return text;
    }
    let have = text.split_once('.').map(|(_, f)| f.len()).unwrap_or(0);
    if have >= scale as usize {
        return text;
    }
    let mut out = text;
    if have == 0 {
        out.push('.');
    }
    out.extend(std::iter::repeat_n('0', scale as usize - have));
    out
}

/// The bind value for a plain column, refusing a value of the wrong type.
pub(crate) fn to_sql(value: &Value, column: &ColumnDef) -> Result<SqlValue, String> {
    let wire = wire_for(column);
    let wrong = || {
        format!(
            "expected {}, got {}",
            column.ty.yaml_name(),
            value_kind(value)
        )
    };
    Ok(match (value, &column.ty) {
        (Value::Null, _) => SqlValue::Null(wire),
        (Value::Text(s), ColumnType::String(limit)) => {
            if let Some(n) = limit
                && s.chars().count() > *n as usize
            {
                return Err(format!(
                    "{} characters exceed String({n})",
                    s.chars().count()
                ));
            }
            SqlValue::Text(s.clone())
        }
        (Value::Text(s), ColumnType::Text) => SqlValue::Text(s.clone()),
        (Value::Int(i), ColumnType::Integer | ColumnType::BigInteger) => SqlValue::Int(*i),
        (Value::Float(f), ColumnType::Float) => SqlValue::Float(*f),
        (Value::Int(i), ColumnType::Float) => SqlValue::Float(*i as f64),
        (Value::Numeric(s), ColumnType::Numeric(..)) => {
            s.parse::<f64>()
                .map_err(|_| format!("`{s}` is not a decimal number"))?;
            SqlValue::Text(s.clone())
        }
        (Value::Int(i), ColumnType::Numeric(..)) => SqlValue::Text(i.to_string()),
        (Value::Float(f), ColumnType::Numeric(..)) => SqlValue::Text(f.to_string()),
        (Value::Bool(b), ColumnType::Boolean) => SqlValue::Bool(*b),
        (Value::Date(d), ColumnType::Date) => SqlValue::Date(*d),
        (Value::DateTime(t), ColumnType::DateTime) => SqlValue::DateTime(*t),
        (Value::Json(j), ColumnType::Json) => SqlValue::Text(j.to_string()),
        (Value::Bytes(b), ColumnType::LargeBinary) => SqlValue::Bytes(b.clone()),
        _ => return Err(wrong()),
    })
}

/// Parses operator text (`--after`, `--find`) as a value of the column's type.
pub fn parse_for_column(text: &str, column: &ColumnDef) -> Result<Value, String> {
    let bad = || format!("`{text}` is not a valid {}", column.ty.yaml_name());
    Ok(match column.ty {
        ColumnType::String(_) | ColumnType::Text => Value::Text(text.to_string()),
        ColumnType::Integer | ColumnType::BigInteger => {
            Value::Int(text.trim().parse().map_err(|_| bad())?)
        }
        ColumnType::Float => Value::Float(text.trim().parse().map_err(|_| bad())?),
        ColumnType::Numeric(..) => {
            text.trim().parse::<f64>().map_err(|_| bad())?;
            Value::Numeric(text.trim().to_string())
        }
        ColumnType::Boolean => match text.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => Value::Bool(true),
            "false" | "0" | "no" => Value::Bool(false),
            _ => return Err(bad()),
        },
        ColumnType::Date => Value::Date(parse_date(text).ok_or_else(bad)?),
        ColumnType::DateTime => Value::DateTime(parse_datetime(text).ok_or_else(bad)?),
        ColumnType::Json => Value::Json(serde_json::from_str(text).map_err(|_| bad())?),
        ColumnType::LargeBinary => Value::Bytes(text.as_bytes().to_vec()),
    })
}

fn value_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Int(_) => "an integer",
        Value::Float(_) => "a float",
        Value::Numeric(_) => "a decimal",
        Value::Text(_) => "text",
        Value::Date(_) => "a date",
        Value::DateTime(_) => "a datetime",
        Value::Json(_) => "JSON",
        Value::Bytes(_) => "bytes",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlalchemy_form_reads_as_chrono_reads_it() {
        for text in [
            "2026-11-29 16:30:31.123456",
            "0001-01-01 00:00:00.000000",
            "2024-02-29 23:59:59.999999",
            "2026-01-01 00:00:00.25",
            "2026-01-01T00:00:00.123456789",
            "2026-01-01 00:00:00",
        ] {
            let format = if text.contains('T') {
                "%Y-%m-%dT%H:%M:%S%.f"
            } else {
                "%Y-%m-%d %H:%M:%S%.f"
            };
            let chrono = NaiveDateTime::parse_from_str(text, format).ok();
            assert!(chrono.is_some(), "{text}");
            assert_eq!(parse_sqlalchemy_micros(text), chrono, "{text}");
            assert_eq!(parse_datetime(text), chrono, "{text}");
        }
        // Not a date, or not this form: left to the general formats (which refuse or read).
        assert_eq!(parse_sqlalchemy_micros("2023-02-29 00:00:00.000000"), None);
        assert_eq!(parse_sqlalchemy_micros("2026-11-29 16:30:31.12345x"), None);
        assert_eq!(parse_sqlalchemy_micros("2026-11-29 16:30:31."), None);
        assert_eq!(
            parse_sqlalchemy_micros("2026-11-29 16:30:31.1234567890"),
            None
        );
        assert!(parse_datetime("2026-11-29 16:30").is_some());
        assert!(parse_datetime("2023-02-29 00:00:00.000000").is_none());
    }
}
