//! Text that `timber` writes from stored data, made safe for the two places it ends up: a
//! terminal, which obeys control characters (ESC sequences can rewrite the screen, set the
//! window title or, on some terminals, feed input back), and a spreadsheet, which runs a cell
//! starting with `=`, `+`, `-` or `@` as a formula (`=HYPERLINK(...)` exfiltrates on click).
//!
//! One escape form everywhere: a control character becomes `\u{XX}` (Rust's escape: ESC is
//! `\u{1b}`, CR `\u{d}`, DEL `\u{7f}`, CSI `\u{9b}`). It is for reading, not reversible: a
//! value that holds the text `\u{1b}` itself looks the same.

use std::fmt::Write;

/// Every control character (C0, DEL, C1) escaped, except those in `keep`.
fn escape_except(text: &str, keep: &[char]) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() && !keep.contains(&c) {
            // Writing to a String cannot fail.
            let _ = write!(out, "{}", c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    out
}

/// For messages and one-line output: every control character escaped.
pub fn escape_controls(text: &str) -> String {
    escape_except(text, &[])
}

/// A table cell: tab, CR and LF become spaces (one line per row), every other control
/// character is escaped.
pub fn table_cell(text: &str) -> String {
    escape_except(&text.replace(['\t', '\r', '\n'], " "), &[])
}

/// The characters that make a spreadsheet read a cell as a formula (OWASP's list: tab and
/// CR because spreadsheets skip them before looking at the first character).
const FORMULA_START: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// One CSV field (RFC 4180) of a text value:
/// - starting with `=`, `+`, `-`, `@`, tab or CR, it gets a leading `'`, so a spreadsheet
///   shows it as text instead of running it;
/// - control characters are escaped, except tab and LF (a multi-line value keeps its lines
///   inside the quoted field; neither can rewrite what a terminal already shows);
/// - quoted when it holds a comma, quote or line break; inner quotes doubled.
pub fn csv_text(text: &str) -> String {
    let mut field = String::with_capacity(text.len() + 2);
    if text.starts_with(FORMULA_START) {
        field.push('\'');
    }
    field.push_str(&escape_except(text, &['\t', '\n']));
    csv_quoted(&field)
}

/// A CSV field that is not text from a value (a typed number, a header name): quoted as
/// needed, control characters escaped, no formula prefix (`-5` is a number, not a formula).
pub fn csv_plain(text: &str) -> String {
    csv_quoted(&escape_except(text, &['\t', '\n']))
}

fn csv_quoted(field: &str) -> String {
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_string()
    }
}

/// A serialized JSON document with DEL and the C1 controls (U+007F..U+009F) written as
/// `\u00XX`: `serde_json` escapes only U+0000..U+001F, and a raw C1 CSI (U+009B) is an escape
/// sequence to some terminals. Such characters can only occur inside JSON strings, where the
/// escape means the same character, so the document's value is unchanged.
pub fn json_escape_c1(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        if ('\u{7f}'..='\u{9f}').contains(&c) {
            let _ = write!(out, "\\u{:04x}", c as u32);
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_neutralises_formulas_and_controls() {
        assert_eq!(
            csv_text("=HYPERLINK(\"http://x\")"),
            "\"'=HYPERLINK(\"\"http://x\"\")\""
        );
        assert_eq!(csv_text("-1+1"), "'-1+1");
        assert_eq!(csv_text("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_text("+1"), "'+1");
        assert_eq!(csv_text("\tx"), "'\tx");
        assert_eq!(csv_text("\rx"), "'\\u{d}x");
        assert_eq!(csv_text("\u{1b}[31mred"), "\\u{1b}[31mred");
        assert_eq!(csv_text("a\u{7f}b\u{9b}c"), "a\\u{7f}b\\u{9b}c");
        assert_eq!(csv_text("two\nlines"), "\"two\nlines\"");
        assert_eq!(csv_text("plain, text"), "\"plain, text\"");
        assert_eq!(csv_plain("-5"), "-5");
    }

    #[test]
    fn tables_and_json_pass_no_raw_control() {
        assert_eq!(table_cell("a\u{1b}[2Jb\tc\nd"), "a\\u{1b}[2Jb c d");
        let json = serde_json::json!({"v": "x\u{1b}y\u{9b}z\u{7f}"}).to_string();
        let safe = json_escape_c1(&json);
        assert!(!safe.chars().any(|c| c.is_control()), "{safe}");
        let back: serde_json::Value = serde_json::from_str(&safe).unwrap();
        assert_eq!(back["v"], "x\u{1b}y\u{9b}z\u{7f}");
    }
}
