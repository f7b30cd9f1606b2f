//! One detector per kind of sensitive value. Each looks at one whole stored value (trimmed):
//! a column is sensitive when many of its values ARE e-mail addresses, not when a note
//! mentions one. Each is written for precision first: the shapes that resemble it in real
//! schemas (UUIDs, hex digests, timestamps, dates, version strings, IP addresses, ticker
//! symbols, JSON) must not match, and checksums are checked where the format has one
//! (Luhn for card numbers, ISO 7064 mod 97 for IBANs). Their tests are in
//! `tests/health/discover_detectors.rs`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::crypto::inspect;

/// What a value looks like.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Email,
    Phone,
    Ssn,
    Card,
    Iban,
    Jwt,
    ApiKey,
    Fernet,
}

impl Kind {
    /// Every kind, in the order a value is tried (the most specific shapes first).
    pub const ALL: [Kind; 8] = [
        Kind::Fernet,
        Kind::Jwt,
        Kind::ApiKey,
        Kind::Email,
        Kind::Iban,
        Kind::Card,
        Kind::Ssn,
        Kind::Phone,
    ];

    /// The stable name (`--format json`).
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Email => "email",
            Kind::Phone => "phone",
            Kind::Ssn => "ssn",
            Kind::Card => "card",
            Kind::Iban => "iban",
            Kind::Jwt => "jwt",
            Kind::ApiKey => "api_key",
            Kind::Fernet => "fernet_token",
        }
    }

    /// What people read: "e-mail addresses".
    pub fn describe(self) -> &'static str {
        match self {
            Kind::Email => "e-mail addresses",
            Kind::Phone => "phone numbers",
            Kind::Ssn => "US social security numbers",
            Kind::Card => "payment card numbers (Luhn-checked)",
            Kind::Iban => "IBANs (checksum verified)",
            Kind::Jwt => "JSON Web Tokens",
            Kind::ApiKey => "API keys",
            Kind::Fernet => "Fernet tokens (encrypted, but undeclared)",
        }
    }

    /// The detector of this kind.
    pub fn matches(self, value: &str) -> bool {
        match self {
            Kind::Email => is_email(value),
            Kind::Phone => is_phone(value),
            Kind::Ssn => is_ssn(value),
            Kind::Card => is_card_number(value),
            Kind::Iban => is_iban(value),
            Kind::Jwt => is_jwt(value),
            Kind::ApiKey => is_api_key(value),
            Kind::Fernet => is_fernet_token(value),
        }
    }

    /// The first kind `value` looks like, if any.
    pub fn of(value: &str) -> Option<Kind> {
        let value = value.trim();
        if value.is_empty() || value.len() > 4096 {
            return None;
        }
        Kind::ALL.into_iter().find(|k| k.matches(value))
    }
}

/// `local@domain.tld`: one `@`, a local part of RFC 5322 atom characters and dots, a
/// domain of at least two LDH labels and an alphabetic top-level label of two or more.
pub fn is_email(value: &str) -> bool {
    let value = value.trim();
    let Some((local, domain)) = value.split_once('@') else {
        return false;
    };
    if local.is_empty() || local.len() > 64 || domain.len() > 253 || domain.contains('@') {
        return false;
    }
    let atom = |c: char| c.is_alphanumeric() || "!#$%&'*+/=?^_`{|}~-.".contains(c);
    if !local.chars().all(atom) || local.starts_with('.') || local.ends_with('.') {
        return false;
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 {
        return false;
    }
    let label_ok = |l: &&str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_alphanumeric() || c == '-')
    };
    let tld = labels[labels.len() - 1];
    labels.iter().all(label_ok) && tld.len() >= 2 && tld.chars().all(char::is_alphabetic)
}

/// A phone number as people write one: 7 to 15 digits (E.164's maximum) with the usual
/// separators (space, `-`, `.`, parentheses) and an optional leading `+`. Fewer than three
/// groups of digits count only with the `+` or parentheses (else it is as likely an id, an
/// amount, a year range or a Unix time);
/// dates, times, IPv4 addresses, version strings and the SSN layout `3-2-4` are not phones.
pub fn is_phone(value: &str) -> bool {
    let value = value.trim();
    let body = value.strip_prefix('+').unwrap_or(value);
    let plus = body.len() != value.len();
    if body.is_empty()
        || !body
            .chars()
            .all(|c| c.is_ascii_digit() || " -.()".contains(c))
        || !body.starts_with(|c: char| c.is_ascii_digit() || c == '(')
        || !body.ends_with(|c: char| c.is_ascii_digit())
    {
        return false;
    }
    let digits = body.chars().filter(char::is_ascii_digit).count();
    if !(7..=15).contains(&digits) {
        return false;
    }
    let groups: Vec<&str> = body
        .split(|c: char| !c.is_ascii_digit())
        .filter(|g| !g.is_empty())
        .collect();
    // A bare number, or two groups (`2024-2025`, a ZIP+4 `12345-6789`), is a phone only
    // when it says so with a `+` or an area code in parentheses.
    if groups.len() < 3 && !plus && !body.contains('(') {
        return false;
    }
    let lens: Vec<usize> = groups.iter().map(|g| g.len()).collect();
    // Without a country code, groups are 2 to 5 digits (a leading `1` trunk prefix aside):
    // an ISBN `978-3-16-148410-0` or a serial `12-345678-9` is not a phone.
    if !plus
        && lens
            .iter()
            .enumerate()
            .any(|(i, n)| *n > 5 || (*n < 2 && i > 0))
    {
        return false;
    }
    let separators: String = body.chars().filter(|c| !c.is_ascii_digit()).collect();
    // 2024-03-01, 01.03.2024, 2024.03.01: a date.
    let date = lens.len() == 3 && (lens == [4, 2, 2] || lens == [2, 2, 4]);
    // 192.168.10.200 or 1.2.3.4567: dotted groups are addresses and versions, not phones,
    // unless they read as a phone (3.3.4, as in 555.010.0100).
    let dotted =
        !separators.is_empty() && separators.chars().all(|c| c == '.') && lens != [3, 3, 4];
    let ssn_layout = lens == [3, 2, 4] && separators == "--";
    !date && !dotted && !ssn_layout
}

/// A US social security number in its printed form `AAA-GG-SSSS`, with the ranges the SSA
/// never issues left out (area 000, 666 or 900-999, group 00, serial 0000).
pub fn is_ssn(value: &str) -> bool {
    let value = value.trim();
    let parts: Vec<&str> = value.split('-').collect();
    if parts.len() != 3
        || [3, 2, 4] != [parts[0].len(), parts[1].len(), parts[2].len()]
        || !parts.iter().all(|p| p.bytes().all(|b| b.is_ascii_digit()))
    {
        return false;
    }
    let area: u32 = parts[0].parse().unwrap_or(0);
    area != 0 && area != 666 && area < 900 && parts[1] != "00" && parts[2] != "0000"
}

/// A payment card number: 13 to 19 digits (spaces or dashes between groups allowed), a
/// prefix of a card network (Visa 4, Mastercard 51-55 and 2221-2720, Amex 34 and 37,
/// Discover 6011 and 65, JCB 35, Diners 36 and 38, Maestro 50 and 56-69) and a valid Luhn
/// check digit; not one digit repeated.
pub fn is_card_number(value: &str) -> bool {
    let value = value.trim();
    if !value
        .chars()
        .all(|c| c.is_ascii_digit() || c == ' ' || c == '-')
        || !value.starts_with(|c: char| c.is_ascii_digit())
    {
        return false;
    }
    let digits: Vec<u32> = value.chars().filter_map(|c| c.to_digit(10)).collect();
    if !(13..=19).contains(&digits.len()) || digits.iter().all(|d| *d == digits[0]) {
        return false;
    }
    let prefix = |n: usize| digits[..n].iter().fold(0u32, |acc, d| acc * 10 + d);
    let network = digits[0] == 4
        || (51..=55).contains(&prefix(2))
        || (2221..=2720).contains(&prefix(4))
        || [34, 37, 35, 36, 38, 50, 65].contains(&prefix(2))
        || (56..=69).contains(&prefix(2))
        || prefix(4) == 6011;
    network && luhn(&digits)
}

/// The Luhn (mod 10) check over all digits, the last being the check digit.
pub fn luhn(digits: &[u32]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| {
            if i % 2 == 1 {
                let twice = d * 2;
                if twice > 9 { twice - 9 } else { twice }
            } else {
                *d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// An IBAN (ISO 13616): two capital letters, two check digits, 11 to 30 letters or digits
/// (spaces between groups of four allowed), and the mod-97 check (ISO 7064) equal to 1.
pub fn is_iban(value: &str) -> bool {
    let compact: String = value.trim().chars().filter(|c| *c != ' ').collect();
    let bytes = compact.as_bytes();
    if !(15..=34).contains(&bytes.len())
        || !bytes[..2].iter().all(u8::is_ascii_uppercase)
        || !bytes[2..4].iter().all(u8::is_ascii_digit)
        || !bytes[4..]
            .iter()
            .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
    {
        return false;
    }
    // Move the first four characters to the end, letters as 10..35, then mod 97, piecewise.
    let rearranged = bytes[4..].iter().chain(&bytes[..4]);
    let mut rest: u64 = 0;
    for b in rearranged {
        let n = if b.is_ascii_digit() {
            u64::from(b - b'0')
        } else {
            u64::from(b - b'A') + 10
        };
        rest = if n >= 10 {
            (rest * 100 + n) % 97
        } else {
            (rest * 10 + n) % 97
        };
    }
    rest == 1
}

/// A JSON Web Token (RFC 7519, JWS compact form): three base64url parts separated by dots,
/// the first a JSON object naming its `alg`.
pub fn is_jwt(value: &str) -> bool {
    let value = value.trim();
    let parts: Vec<&str> = value.split('.').collect();
    if parts.len() != 3 || parts[0].len() < 10 || parts[1].is_empty() {
        return false;
    }
    let b64 = |p: &str| {
        p.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    if !parts.iter().all(|p| b64(p)) {
        return false;
    }
    URL_SAFE_NO_PAD
        .decode(parts[0])
        .ok()
        .and_then(|h| serde_json::from_slice::<serde_json::Value>(&h).ok())
        .is_some_and(|h| h.get("alg").is_some())
}

/// An API key by the prefix its issuer gives it: Stripe (`sk_live_`, `rk_live_`...),
/// GitHub (`ghp_`, `gho_`, `ghs_`, `github_pat_`), GitLab (`glpat-`), Slack (`xoxb-`,
/// `xoxp-`...), AWS access key ids (`AKIA` + 16), Google (`AIza` + 35), OpenAI and
/// Anthropic style `sk-…`; the rest must be a long token of letters, digits, `_` and `-`.
pub fn is_api_key(value: &str) -> bool {
    let value = value.trim();
    let tokenish = |s: &str, min: usize| {
        s.len() >= min
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    };
    const PREFIXED: &[(&str, usize)] = &[
        ("sk_live_", 16),
        ("sk_test_", 16),
        ("rk_live_", 16),
        ("pk_live_", 16),
        ("ghp_", 30),
        ("gho_", 30),
        ("ghu_", 30),
        ("ghs_", 30),
        ("github_pat_", 30),
        ("glpat-", 20),
        ("xoxb-", 20),
        ("xoxp-", 20),
        ("xoxa-", 20),
        ("sk-ant-", 30),
        ("sk-proj-", 30),
        ("sk-", 32),
    ];
    for (prefix, min) in PREFIXED {
        if let Some(rest) = value.strip_prefix(prefix) {
            return tokenish(rest, *min);
        }
    }
    let exact = |prefix: &str, len: usize| {
        value.len() == len
            && value.starts_with(prefix)
            && value[prefix.len()..]
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    };
    (exact("AKIA", 20)
        && value[4..]
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()))
        || exact("AIza", 39)
}

/// A well-formed Fernet token (the `gAAAAA` prefix of this era and a valid structure),
/// bare or quoted as a JSON column holds it. In a column not declared encrypted it is data
/// some application encrypts without the models saying so.
pub fn is_fernet_token(value: &str) -> bool {
    let token = inspect::unquote(value);
    inspect::looks_like_token(token) && inspect::inspect(token).is_ok()
}
