//! Python's `json.dumps(value)` with its defaults, byte for byte: Timber encrypts
//! `json.dumps(value)` for every non-string value (DESIGN §3), so a value we write must
//! produce the plaintext Python would have written, and the same token length class.
//!
//! Defaults reproduced: separators `", "` and `": "`, `ensure_ascii=True` (every non-ASCII
//! character as `\uXXXX`, astral characters as a surrogate pair, lower-case hex), keys in
//! insertion order (serde_json's `preserve_order`), floats as `float.__repr__` (shortest
//! round-trip digits, `.0` on integral values, exponent form outside 1e-4 ≤ |x| < 1e16),
//! and `NaN` / `Infinity` / `-Infinity` (`allow_nan=True`).

use serde_json::Value as Json;

/// `json.dumps(value)` as Python prints it.
pub fn dumps(value: &Json) -> String {
    let mut out = String::new();
    write_value(&mut out, value);
    out
}

fn write_value(out: &mut String, value: &Json) {
    match value {
        Json::Null => out.push_str("null"),
        Json::Bool(true) => out.push_str("true"),
        Json::Bool(false) => out.push_str("false"),
        Json::Number(n) => {
            if let Some(i) = n.as_i64() {
                out.push_str(&i.to_string());
            } else if let Some(u) = n.as_u64() {
                out.push_str(&u.to_string());
            } else {
                out.push_str(&float_repr(n.as_f64().unwrap_or(f64::NAN)));
            }
        }
        Json::String(s) => write_string(out, s),
        Json::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Json::Object(map) => {
            out.push('{');
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_string(out, key);
                out.push_str(": ");
                write_value(out, item);
            }
            out.push('}');
        }
    }
}

/// A JSON string literal as `json.dumps` with `ensure_ascii=True` writes it
/// (`py_encode_basestring_ascii`): printable ASCII kept, the usual short escapes, and
/// `\uXXXX` for everything else, including DEL.
pub fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            ' '..='~' => out.push(ch),
            _ => {
                let mut units = [0u16; 2];
                for unit in ch.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
    }
    out.push('"');
}

/// Python's `repr(float)` (also what `json.dumps` prints for a float).
pub fn float_repr(x: f64) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x.is_infinite() {
        return if x > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        };
    }
    // Rust's `{:e}` gives the shortest digits that round-trip, as Python's repr does
    // (both pick the closest such string), e.g. "1.2345e-5", "-1e16", "0e0".
    let sci = format!("{x:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (negative, mantissa) = match mantissa.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| c.is_ascii_digit()).collect();
    // Python (`float_repr_style == 'short'`, format code 'r') switches to exponent form when
    // the decimal point position is outside (-4, 16].
    let point = exp + 1;
    let mut out = String::new();
    if negative {
        out.push('-');
    }
    if (-4 < point) && (point <= 16) {
        let point = point as isize;
        let len = digits.len() as isize;
        if point <= 0 {
            out.push_str("0.");
            out.push_str(&"0".repeat((-point) as usize));
            out.push_str(&digits);
        } else if point >= len {
            out.push_str(&digits);
            out.push_str(&"0".repeat((point - len) as usize));
            out.push_str(".0");
        } else {
            out.push_str(&digits[..point as usize]);
            out.push('.');
            out.push_str(&digits[point as usize..]);
        }
    } else {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        out.push_str(&format!("{:02}", exp.unsigned_abs()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_like_python_repr() {
        // Expected strings are what CPython 3 prints for repr() of the same literal.
        let cases = [
            (150.0, "150.0"),
            (3.5, "3.5"),
            (0.1, "0.1"),
            (-0.0, "-0.0"),
            (0.0, "0.0"),
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (1.5e16, "1.5e+16"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.2345e-7, "1.2345e-07"),
            (1e100, "1e+100"),
            (123456789.125, "123456789.125"),
            (5e-324, "5e-324"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
        ];
        for (x, want) in cases {
            assert_eq!(float_repr(x), want, "repr({x:?})");
        }
    }

    #[test]
    fn strings_escape_like_ensure_ascii() {
        let mut s = String::new();
        write_string(&mut s, "zoë \"q\" \\ \n\t\u{7f}\u{1} 🚀/");
        assert_eq!(s, r#""zo\u00eb \"q\" \\ \n\t\u007f\u0001 \ud83d\ude80/""#);
    }
}
