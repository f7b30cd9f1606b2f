//! Property tests for the three promises a security engineer relies on most:
//!
//! - encryption through the key ring round trips any bytes, and any single flipped bit of
//!   a stored token is refused rather than read as some other value;
//! - the value codec round trips every declared type (encrypt, store, decrypt, same value),
//!   which is what rotation and every write depend on;
//! - masking below `reveal` never shows the plaintext: not for any level, any value type,
//!   nor through the access layer's cells that the TUI and CLI render.
//!
//! (Oracle interop and no-panic properties of raw Fernet live in `crypto_fernet_props.rs`.)

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE;
use chrono::{NaiveDate, NaiveDateTime};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use serde_json::Value as Json;
use timber::access::REDACTED;
use timber::access::{MaskHasher, mask_text, partial};
use timber::config::Level;
use timber::config::{ColumnDef, ColumnType};
use timber::crypto::{Key, KeyChoice, KeyRing};
use timber::value::Value;

const SECRET: &str = "cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=";

fn ring() -> KeyRing {
    KeyRing::from_key(Key::from_base64(SECRET).unwrap())
}

fn column(ty: ColumnType) -> ColumnDef {
    ColumnDef {
        name: "secret".into(),
        ty,
        primary_key: false,
        nullable: true,
        encrypted: true,
        indexed: false,
        unique: false,
        default: None,
        foreign_key: None,
        blind_index: None,
        from_mixin: false,
    }
}

/// Dates Python's `datetime.date` can hold (years 1..=9999).
fn date() -> impl Strategy<Value = NaiveDate> {
    (1i32..=9999, 1u32..=12, 1u32..=31)
        .prop_filter_map("a real day", |(y, m, d)| NaiveDate::from_ymd_opt(y, m, d))
}

/// Datetimes with microsecond precision (Python has no nanoseconds).
fn datetime() -> impl Strategy<Value = NaiveDateTime> {
    (date(), 0u32..24, 0u32..60, 0u32..60, 0u32..1_000_000)
        .prop_map(|(d, h, m, s, us)| d.and_hms_micro_opt(h, m, s, us).expect("valid time"))
}

/// Arbitrary JSON documents (finite numbers: JSON has no NaN).
fn json() -> impl Strategy<Value = Json> {
    let leaf = prop_oneof![
        Just(Json::Null),
        any::<bool>().prop_map(Json::Bool),
        any::<i64>().prop_map(Json::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Json::from),
        ".{0,12}".prop_map(Json::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Json::Array),
            proptest::collection::vec((".{0,6}", inner), 0..4)
                .prop_map(|kv| Json::Object(kv.into_iter().collect())),
        ]
    })
}

/// A value and a column type it belongs in, for every declared type.
fn typed_value() -> impl Strategy<Value = (Value, ColumnType)> {
    prop_oneof![
        ".{0,40}".prop_map(|s| (Value::Text(s), ColumnType::String(Some(255)))),
        any::<String>().prop_map(|s| (Value::Text(s), ColumnType::Text)),
        any::<i64>().prop_map(|i| (Value::Int(i), ColumnType::Integer)),
        any::<i64>().prop_map(|i| (Value::Int(i), ColumnType::BigInteger)),
        any::<f64>().prop_map(|f| (Value::Float(f), ColumnType::Float)),
        "-?[0-9]{1,12}(\\.[0-9]{1,6})?"
            .prop_map(|n| (Value::Numeric(n), ColumnType::Numeric(18, 6))),
        any::<bool>().prop_map(|b| (Value::Bool(b), ColumnType::Boolean)),
        date().prop_map(|d| (Value::Date(d), ColumnType::Date)),
        datetime().prop_map(|t| (Value::DateTime(t), ColumnType::DateTime)),
        // Timber stores a string in a JSON column as-is, so a string that is itself JSON
        // text (`"123"`) reads back as that JSON; Python has the same ambiguity.
        json()
            .prop_filter(
                "a bare string that parses as JSON is ambiguous by design",
                |j| { !matches!(j, Json::String(s) if serde_json::from_str::<Json>(s).is_ok()) }
            )
            .prop_map(|j| (Value::Json(j), ColumnType::Json)),
        proptest::collection::vec(any::<u8>(), 0..200)
            .prop_map(|b| (Value::Bytes(b), ColumnType::LargeBinary)),
    ]
}

/// Equality with NaN equal to itself (Python writes and reads `NaN`).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Float(x), Value::Float(y)) => x == y || (x.is_nan() && y.is_nan()),
        _ => a == b,
    }
}

/// Plaintext made of letters, digits and punctuation seen in real data, but none of the
/// glyphs masks are drawn with (`*`, `#`, `·`, `[`), so "contains the plaintext" is never
/// a coincidence of the glyphs.
fn secret_text() -> impl Strategy<Value = String> {
    "[A-Za-z0-9 @._+()\\-]{1,40}".prop_filter("not blank", |s| !s.trim().is_empty())
}

/// Every scalar inside a JSON document, as text (keys are kept by `partial`, by design).
fn json_scalars(j: &Json, out: &mut Vec<String>) {
    match j {
        Json::Array(items) => items.iter().for_each(|i| json_scalars(i, out)),
        Json::Object(map) => map.values().for_each(|v| json_scalars(v, out)),
        Json::Null => {}
        Json::String(s) => out.push(s.clone()),
        other => out.push(other.to_string()),
    }
}

/// The masks that carry no part of the value by construction: `hidden` shows nothing,
/// `redact` fixed glyphs, `hash` `#` and 8 hex digits of a keyed MAC (a short plaintext
/// such as `b` may occur among those digits by chance, so the digits are checked for
/// shape, not for containment).
fn assert_mask_shape(level: Level, shown: &str) {
    match level {
        Level::Hidden => assert_eq!(shown, "", "hidden produced text"),
        Level::Redact => assert_eq!(shown, REDACTED),
        Level::Hash => assert!(
            shown.len() == 9
                && shown.starts_with('#')
                && shown[1..].chars().all(|c| c.is_ascii_hexdigit()),
            "hash mask {shown:?}"
        ),
        _ => {}
    }
}

const BELOW_REVEAL: [Level; 4] = [Level::Hidden, Level::Redact, Level::Hash, Level::Partial];

proptest! {
    // A failing case is saved next to this file (`<file>.proptest-regressions`), as when it was
    // a test binary of its own: proptest's default would now put it under
    // tests/proptest-regressions/, the area's folder having a main.rs.
    #![proptest_config(ProptestConfig {
        cases: 256,
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("proptest-regressions"))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn ring_round_trips_any_bytes_and_refuses_any_flipped_bit(
        plaintext in proptest::collection::vec(any::<u8>(), 0..400),
        flip in any::<prop::sample::Index>(),
        bit in 0u8..8,
    ) {
        let ring = ring();
        let col = column(ColumnType::LargeBinary);
        let stored = ring.encrypt_plaintext(&plaintext, &col, KeyChoice::Primary).unwrap();
        let (opened, _) = ring.decrypt_token(&stored, None).unwrap();
        prop_assert_eq!(&*opened, &plaintext[..]);

        let mut raw = URL_SAFE.decode(&stored).unwrap();
        let at = flip.index(raw.len());
        raw[at] ^= 1 << bit;
        let tampered = URL_SAFE.encode(&raw);
        prop_assert!(ring.decrypt_token(&tampered, None).is_err(), "byte {} bit {} accepted", at, bit);
    }

    #[test]
    fn every_type_round_trips_through_the_codec_and_the_ring((value, ty) in typed_value()) {
        let ring = ring();
        let col = column(ty.clone());
        let stored = ring.encrypt_value(&value, &col, KeyChoice::Primary).unwrap();
        let back = ring.decrypt_value(&stored, &col, None).unwrap();
        prop_assert!(same(&back.value, &value), "{:?}: {:?} came back as {:?}", ty, value, back.value);
        // What the store holds is a token, never the plaintext. Only a text with a character
        // outside url-safe base64 can be told apart from a piece of a token: "abcd" turns up
        // in a random token now and then, "ab cd" never does (issue 14).
        if let Value::Text(s) = &value
            && s.len() >= 4
            && s.chars().any(|c| !(c.is_ascii_alphanumeric() || "-_=".contains(c)))
        {
            prop_assert!(!stored.contains(s.as_str()));
        }
    }

    #[test]
    fn masking_below_reveal_never_shows_secret_text(text in secret_text()) {
        let hasher = MaskHasher::ephemeral();
        let value = Value::Text(text.clone());
        for level in BELOW_REVEAL {
            let shown = mask_text(level, &value, &hasher).unwrap_or_default();
            assert_mask_shape(level, &shown);
            if level == Level::Partial {
                prop_assert!(!shown.contains(text.trim()), "partial showed {:?} as {:?}", text, shown);
            }
        }
    }

    #[test]
    fn masking_below_reveal_never_shows_a_typed_value((value, _ty) in typed_value()) {
        let hasher = MaskHasher::ephemeral();
        for level in BELOW_REVEAL {
            let shown = mask_text(level, &value, &hasher).unwrap_or_default();
            assert_mask_shape(level, &shown);
            if level != Level::Partial {
                continue;
            }
            let secrets: Vec<String> = match &value {
                Value::Text(s) => vec![s.trim().to_string()],
                Value::Int(i) => vec![i.to_string()],
                Value::Float(f) => vec![f.to_string()],
                Value::Numeric(n) => vec![n.clone()],
                Value::Bool(b) => vec![b.to_string()],
                Value::Date(d) => vec![d.format("%Y-%m-%d").to_string()],
                Value::DateTime(t) => vec![t.format("%Y-%m-%d %H:%M").to_string()],
                Value::Json(j) => {
                    let mut out = Vec::new();
                    json_scalars(j, &mut out);
                    out
                }
                Value::Bytes(b) => vec![String::from_utf8_lossy(b).into_owned()],
                Value::Null => vec![],
            };
            for secret in secrets {
                // Glyph-only or empty plaintext (`*`, `#`, `""`) cannot be told from a mask;
                // nor can an e-mail whose local part is glyphs only (`*@x.y`), since the mask
                // keeps the domain by design.
                let hidden = secret.rsplit_once('@').map_or(secret.as_str(), |(local, _)| local);
                if hidden.chars().all(|c| !c.is_alphanumeric()) {
                    continue;
                }
                prop_assert!(
                    !shown.contains(&secret),
                    "{:?} of {:?} showed {:?}", level, value, shown
                );
            }
        }
    }
}

/// `partial` keeps the magnitude of a number visible but never its digits; the non-finite
/// floats are values too, and were once shown as themselves (`NaN`, `inf`).
#[test]
fn partial_masks_non_finite_floats() {
    for f in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let shown = partial(&Value::Float(f));
        assert!(
            !shown.to_ascii_lowercase().contains("nan")
                && !shown.to_ascii_lowercase().contains("inf"),
            "{f} masked as {shown}"
        );
    }
}
