//! Rendering a value at a masking level (DESIGN §6). Every mask is recognisable without
//! colour: `partial` uses `*` (and `#` for digits), `hash` starts with `#`, `redact` is a
//! fixed run of `•`. Nothing here returns any part of the plaintext beyond what the level
//! documents (the first characters of text, an email's domain, a phone's last four digits,
//! a date's year, a JSON document's keys).

use std::fmt;

use hmac::{Hmac, KeyInit, Mac};
use rand::RngCore;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::config::Level;
use crate::value::{Value, hex_lower};

/// The fixed text of a `redact` cell: the same whatever the value, so nothing leaks.
pub const REDACTED: &str = "••••••";

/// The derivation label of the `hash` level's key.
pub const MASK_HASH_LABEL: &str = "timber-mask-hash-v1";

/// Where the `hash` level's key came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HashKeySource {
    /// Derived from MASTER_ENCRYPTION_KEY: hashes are stable across runs and machines.
    Master,
    /// No master key: a random key for this process; hashes correlate only within this run.
    Ephemeral,
}

/// The key of the `hash` level: equal values give equal short fingerprints, and without
/// the key nobody can test a guess against one.
#[derive(Clone)]
pub struct MaskHasher {
    key: Zeroizing<[u8; 32]>,
    source: HashKeySource,
}

impl fmt::Debug for MaskHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MaskHasher({:?}, <redacted>)", self.source)
    }
}

impl MaskHasher {
    /// A hasher over 32 derived key bytes.
    pub fn from_derived(key: [u8; 32]) -> MaskHasher {
        MaskHasher {
            key: Zeroizing::new(key),
            source: HashKeySource::Master,
        }
    }

    /// The hasher keyed from the audit key (itself derived from MASTER_ENCRYPTION_KEY):
    /// `HMAC(audit key, "timber-mask-hash-v1")`. The label is shorter than any message the
    /// audit key otherwise MACs (entries start with a 32-byte hash), so it cannot collide.
    pub fn from_audit_key(key: &crate::crypto::AuditKey) -> MaskHasher {
        MaskHasher::from_derived(key.mac(&[MASK_HASH_LABEL.as_bytes()]))
    }

    /// The hasher of a configuration: keyed from the master key when there is one, else
    /// a per-process random key (say so to the operator: see [`MaskHasher::source`]).
    pub fn for_ring(ring: &crate::crypto::KeyRing) -> MaskHasher {
        ring.audit_key()
            .map_or_else(MaskHasher::ephemeral, |k| MaskHasher::from_audit_key(&k))
    }

    /// A per-process random key, for when there is no master key (say so to the operator).
    pub fn ephemeral() -> MaskHasher {
        let mut key = Zeroizing::new([0u8; 32]);
        rand::rng().fill_bytes(key.as_mut());
        MaskHasher {
            key,
            source: HashKeySource::Ephemeral,
        }
    }

    pub fn source(&self) -> HashKeySource {
        self.source
    }

    /// `#` + 8 hex digits of HMAC-SHA256 over the value's JSON text (so `"5"` and `5` differ
    /// but equal values of any column look equal).
    pub fn hash(&self, value: &Value) -> String {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(self.key.as_ref())
            .expect("HMAC takes any key length");
        mac.update(value.to_json().to_string().as_bytes());
        let digest = mac.finalize().into_bytes();
        format!("#{}", hex_lower(&digest[..4]))
    }
}

/// The text shown for a non-null `value` at `level`; `None` for `Hidden` and `Reveal`
/// (neither is a mask: one is absent, the other is the value itself).
pub fn mask_text(level: Level, value: &Value, hasher: &MaskHasher) -> Option<String> {
    match level {
        Level::Hidden | Level::Reveal => None,
        Level::Redact => Some(REDACTED.to_string()),
        Level::Hash => Some(hasher.hash(value)),
        Level::Partial => Some(partial(value)),
    }
}

/// The type-aware `partial` mask.
pub fn partial(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::Bool(_) => "*".to_string(),
        Value::Int(i) => digits_masked(&i.to_string()),
        // NaN and infinities have no digits to hide: the text would be the value itself.
        Value::Float(f) if !f.is_finite() => "#".to_string(),
        Value::Float(f) => digits_masked(&f.to_string()),
        Value::Numeric(n) => digits_masked(n),
        Value::Text(s) => partial_text(s),
        Value::Date(d) => d.format("%Y-**-**").to_string(),
        Value::DateTime(t) => t.format("%Y-**-** **:**").to_string(),
        Value::Json(j) => serde_json::Value::to_string(&json_masked(j)),
        Value::Bytes(b) => format!("[{} bytes]", b.len()),
    }
}

/// Text: an email keeps its first character and domain, a phone number its last four
/// digits, anything else its first two characters (none when it is shorter than five, where
/// two characters would be most of it).
pub fn partial_text(text: &str) -> String {
    let text = text.trim();
    if let Some(masked) = partial_email(text) {
        return masked;
    }
    if let Some(masked) = partial_phone(text) {
        return masked;
    }
    if text.chars().count() < 5 {
        return "***".to_string();
    }
    let head: String = text.chars().take(2).map(printable).collect();
    format!("{head}***")
}

fn partial_email(text: &str) -> Option<String> {
    let (local, domain) = text.split_once('@')?;
    let plausible = !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !text.chars().any(|c| c.is_whitespace() || c.is_control())
        && !domain.contains('@');
    if !plausible {
        return None;
    }
    let first = local.chars().next().map(printable)?;
    Some(format!("{first}***@{domain}"))
}

fn partial_phone(text: &str) -> Option<String> {
    let phone_chars = |c: char| c.is_ascii_digit() || " +-().".contains(c);
    if text.is_empty() || !text.chars().all(phone_chars) {
        return None;
    }
    let digits: Vec<char> = text.chars().filter(char::is_ascii_digit).collect();
    if digits.len() < 7 {
        return None;
    }
    let last4: String = digits[digits.len() - 4..].iter().collect();
    Some(format!("***-***-{last4}"))
}

/// Digits become `#`; sign, point and exponent stay, so the magnitude is visible.
fn digits_masked(number: &str) -> String {
    number
        .chars()
        .map(|c| if c.is_ascii_digit() { '#' } else { c })
        .collect()
}

/// JSON keeps its structure and keys; every scalar is replaced (strings by `***`, numbers
/// by `#`, booleans by `*`); `null` stays `null`, as it holds nothing.
pub fn json_masked(value: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value as J;
    match value {
        J::Null => J::Null,
        J::Bool(_) => J::String("*".into()),
        J::Number(_) => J::String("#".into()),
        J::String(_) => J::String("***".into()),
        J::Array(items) => J::Array(items.iter().map(json_masked).collect()),
        J::Object(map) => J::Object(
            map.iter()
                .map(|(k, v)| (sanitize(k), json_masked(v)))
                .collect(),
        ),
    }
}

/// Control characters would drive the terminal; a mask shows `·` instead.
fn printable(c: char) -> char {
    if c.is_control() { '·' } else { c }
}

fn sanitize(text: &str) -> String {
    text.chars().map(printable).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;
    use serde_json::json;

    #[test]
    fn partial_text_shapes() {
        assert_eq!(partial_text("jane.doe@example.com"), "j***@example.com");
        assert_eq!(partial_text("+1 (555) 010-0100"), "***-***-0100");
        assert_eq!(partial_text("555-0100"), "***-***-0100");
        assert_eq!(partial_text("Confidential merger notes"), "Co***");
        assert_eq!(partial_text("abc"), "***");
        assert_eq!(partial_text("2024"), "***");
        // Not an email: no dot in the domain; not a phone: too few digits.
        assert_eq!(partial_text("me@localhost"), "me***");
        assert_eq!(partial_text("12-34"), "12***");
        assert_eq!(partial_text("\u{1b}[2Jhello"), "·[***");
    }

    #[test]
    fn partial_typed_values() {
        assert_eq!(partial(&Value::Int(-12345)), "-#####");
        assert_eq!(partial(&Value::Numeric("1234.50".into())), "####.##");
        assert_eq!(partial(&Value::Bool(true)), "*");
        let d = NaiveDate::from_ymd_opt(1984, 7, 3).unwrap();
        assert_eq!(partial(&Value::Date(d)), "1984-**-**");
        assert_eq!(
            partial(&Value::DateTime(d.and_hms_opt(10, 20, 30).unwrap())),
            "1984-**-** **:**"
        );
        let j = json!({"score": 0.93, "signals": ["buy", true], "note": "secret", "none": null});
        assert_eq!(
            partial(&Value::Json(j)),
            r##"{"score":"#","signals":["***","*"],"note":"***","none":null}"##
        );
        assert_eq!(partial(&Value::Bytes(vec![1, 2, 3])), "[3 bytes]");
    }

    #[test]
    fn hash_is_keyed_stable_and_short() {
        let h = MaskHasher::from_derived([7u8; 32]);
        let a = h.hash(&Value::Text("jane@example.com".into()));
        assert_eq!(a, h.hash(&Value::Text("jane@example.com".into())));
        assert_ne!(a, h.hash(&Value::Text("john@example.com".into())));
        assert_ne!(
            a,
            MaskHasher::from_derived([8u8; 32]).hash(&Value::Text("jane@example.com".into()))
        );
        assert!(a.starts_with('#') && a.len() == 9, "{a}");
        assert_eq!(MaskHasher::ephemeral().source(), HashKeySource::Ephemeral);
        assert!(!format!("{h:?}").contains("7, 7"));
    }

    #[test]
    fn redact_and_hidden() {
        let h = MaskHasher::ephemeral();
        let v = Value::Text("top secret".into());
        assert_eq!(mask_text(Level::Redact, &v, &h).as_deref(), Some(REDACTED));
        assert_eq!(mask_text(Level::Hidden, &v, &h), None);
        assert_eq!(mask_text(Level::Reveal, &v, &h), None);
    }
}
