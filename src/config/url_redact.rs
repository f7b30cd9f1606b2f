//! The one redaction of database URLs: every place that shows a URL (`timber info`,
//! connection errors, health evidence, the console, logs) goes through [`redact_url`].
//!
//! A URL can carry a credential in three places, and all three are replaced by `***`:
//! - the userinfo password, `scheme://user:password@host`;
//! - a query parameter whose name says it is secret: it contains `pass`, `pwd`, `secret`,
//!   `token` or `key` in any case (`password=`, `sslpassword=`, `api_token=`, `sslkey=`);
//! - the same `name=value` pairs in a libpq keyword string (`host=db password=x`), which has
//!   no `://` at all.
//!
//! Redaction errs towards hiding: a value runs to the next `&` (not to a `#`, which an
//! unencoded password may contain), and a password holding an unencoded `/` or `?` is still
//! found by its `@`.

/// Words that make a parameter name a credential (matched case-insensitively, anywhere).
const SECRET_WORDS: [&str; 5] = ["pass", "pwd", "secret", "token", "key"];

/// The text to show for a hidden credential.
pub const REDACTED: &str = "***";

/// True when a URL query or keyword parameter named `name` holds a credential.
pub fn is_credential_key(name: &str) -> bool {
    let name = percent_decode_lossy(name).to_ascii_lowercase();
    SECRET_WORDS.iter().any(|word| name.contains(word))
}

/// `text` (a database URL, or a message that contains one) with every credential replaced by
/// `***`.
pub fn redact_url(text: &str) -> String {
    let Some(scheme_end) = text.find("://") else {
        return redact_pairs(text, &[' ', '\t', '\n', '&', ';', '?']);
    };
    let head = &text[..scheme_end + 3];
    let rest = &text[scheme_end + 3..];
    let (userinfo_end, after_userinfo) = match userinfo_end(rest) {
        Some(at) => (Some(at), at),
        None => (None, 0),
    };
    let mut out = String::with_capacity(text.len());
    out.push_str(head);
    if let Some(at) = userinfo_end {
        let userinfo = &rest[..at];
        match userinfo.find(':') {
            Some(colon) => {
                out.push_str(&userinfo[..=colon]);
                out.push_str(REDACTED);
            }
            None => out.push_str(userinfo),
        }
    }
    let tail = &rest[after_userinfo..];
    match tail.find('?') {
        Some(q) => {
            out.push_str(&tail[..=q]);
            out.push_str(&redact_pairs(&tail[q + 1..], &['&']));
        }
        None => out.push_str(tail),
    }
    out
}

/// Where the userinfo of `rest` (the URL after `://`) ends: the last `@` of the authority.
/// A password with an unencoded `/`, `?` or `#` ends the authority early for a parser, so an
/// `@` past that point still counts when nothing between looks like a query (`=`).
fn userinfo_end(rest: &str) -> Option<usize> {
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    if let Some(at) = rest[..authority_end].rfind('@') {
        return Some(at);
    }
    let first_at = rest.find('@')?;
    let between = &rest[authority_end..first_at];
    if between.contains('=') {
        return None;
    }
    // The last `@` before the authority that follows the first `@`.
    let after = &rest[first_at..];
    let end = first_at + after.find(['/', '?', '#']).unwrap_or(after.len());
    rest[..end].rfind('@')
}

/// `name=value` pairs separated by any of `separators`, with credential values replaced. A
/// value in single quotes (libpq keyword strings: `password='a b'`) runs to its closing quote.
fn redact_pairs(text: &str, separators: &[char]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while !rest.is_empty() {
        let mut end = rest.find(separators).unwrap_or(rest.len());
        if let Some(eq) = rest[..end].find('=')
            && rest[eq + 1..].starts_with('\'')
        {
            end = quoted_end(rest, eq + 1);
        }
        let pair = &rest[..end];
        match pair.split_once('=') {
            Some((name, _)) if is_credential_key(name) => {
                out.push_str(name);
                out.push('=');
                out.push_str(REDACTED);
            }
            _ => out.push_str(pair),
        }
        let separator_len = rest[end..].chars().next().map_or(0, char::len_utf8);
        out.push_str(&rest[end..end + separator_len]);
        rest = &rest[end + separator_len..];
    }
    out
}

/// The end of the quoted value starting at `open` (a `'`): after its closing quote, skipping
/// backslash escapes; the whole rest when it is never closed.
fn quoted_end(text: &str, open: usize) -> usize {
    let mut escaped = false;
    for (i, c) in text[open + 1..].char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '\'' => return open + 1 + i + 1,
            _ => {}
        }
    }
    text.len()
}

/// `text` with `%XX` escapes and `+` decoded (as a query parser would), invalid escapes kept:
/// the name a driver sees for a query parameter.
pub fn percent_decode_lossy(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    None => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn userinfo_password() {
        assert_eq!(
            redact_url("postgres://u:pw@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact_url("sqlite://timber.db"), "sqlite://timber.db");
    }

    #[test]
    fn passwords_with_reserved_characters_are_still_found() {
        for (url, leak) in [
            ("postgres://u:pa/ss@h/db", "pa/ss"),
            ("postgres://u:pa?ss@h/db", "pa?ss"),
            ("postgres://u:pa#ss@h/db", "pa#ss"),
            ("postgres://u:p@ss@h/db", "p@ss"),
        ] {
            let shown = redact_url(url);
            assert!(!shown.contains(leak), "{url} -> {shown}");
            assert!(shown.contains("u:***@h"), "{url} -> {shown}");
        }
    }

    #[test]
    fn an_at_sign_in_the_query_is_not_userinfo() {
        assert_eq!(
            redact_url("postgres://h:5432/db?application_name=a@b"),
            "postgres://h:5432/db?application_name=a@b"
        );
    }

    #[test]
    fn credential_query_parameters() {
        let shown = redact_url(
            "postgres://u:S0@h/db?sslmode=verify-full&password=S1&sslpassword=S2&api_token=S3&Client_Secret=S4&sslkey=/k.pem&PWD=S5&p%61ss=S6#frag&password=S7;S8",
        );
        assert_eq!(
            shown,
            "postgres://u:***@h/db?sslmode=verify-full&password=***&sslpassword=***&api_token=***&Client_Secret=***&sslkey=***&PWD=***&p%61ss=***&password=***"
        );
    }

    #[test]
    fn keyword_strings_and_messages() {
        assert_eq!(
            redact_url("host=db user=u password=S1 sslmode=require"),
            "host=db user=u password=*** sslmode=require"
        );
        assert_eq!(
            redact_url("host=db password='a \\' b' user=u"),
            "host=db password=*** user=u"
        );
        let message = "error with configuration: bad mysql://r:S1@h/x?token=S2&a=1";
        assert_eq!(
            redact_url(message),
            "error with configuration: bad mysql://r:***@h/x?token=***&a=1"
        );
    }

    #[test]
    fn credential_names() {
        for name in [
            "password",
            "SSLPASSWORD",
            "api_token",
            "secret",
            "sslkey",
            "pwd",
        ] {
            assert!(is_credential_key(name), "{name}");
        }
        for name in ["sslmode", "user", "host", "dbname", "application_name"] {
            assert!(!is_credential_key(name), "{name}");
        }
    }
}
