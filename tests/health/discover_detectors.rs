//! Issue 19 item 2: each discovery detector against realistic negatives (precision: UUIDs,
//! hex digests, timestamps and dates, ticker symbols, JSON blobs, version strings, IP
//! addresses, amounts, ids, free text) and realistic positives (recall: the formats people
//! and systems actually write). A detector that fires on a UUID column would bury the real
//! findings; one that misses `(555) 010-4477` would hide them.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use timber::crypto::{FernetKey, Key};
use timber::health::discover::Kind;
use timber::health::discover::detect::{
    is_api_key, is_card_number, is_email, is_fernet_token, is_iban, is_jwt, is_phone, is_ssn,
};

/// Deterministic pseudo-random bytes (xorshift), so the generated negatives are the same
/// on every run.
fn bytes(seed: u64, n: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|b| format!("{b:02x}")).collect()
}

/// Values that are not sensitive, as they sit in real tables.
fn negatives() -> Vec<String> {
    let mut out: Vec<String> = [
        // Identifiers and digests.
        "550e8400-e29b-41d4-a716-446655440000",
        "00000000-0000-0000-0000-000000000000",
        "d41d8cd98f00b204e9800998ecf8427e",
        "da39a3ee5e6b4b0d3255bfef95601890afd80709",
        "user-12",
        "demo-loader",
        "demo-0123456789abcdef",
        "record 12",
        "INV-2024-000123",
        // Times and dates.
        "2026-01-01 09:00:00",
        "2026-01-01 09:00:00.000000",
        "2026-01-01T09:00:00Z",
        "2026-01-01T09:00:00.123456+00:00",
        "2024-03-01",
        "01/03/2024",
        "03.01.2024",
        "2024.03.01",
        "20240301",
        "1700000000",
        "1700000000123",
        "12:30:45",
        "2024-2025",
        // Ticker symbols and enums.
        "AAPL",
        "BRK.B",
        "NVDA",
        "stock_research",
        "active",
        "archived",
        // JSON blobs (an address inside JSON is not a column of addresses).
        r#"{"sentiment": 0.5, "technical_score": 0.71, "tags": ["momentum"]}"#,
        r#"{"momentum_signal": "buy", "n": 12}"#,
        r#"{"email": "ada@example.com"}"#,
        r#"{"entry_price": 120.0, "target_price": 140.4, "stop_loss": null}"#,
        "[1, 2, 3]",
        "null",
        "true",
        // Version strings and addresses.
        "1.2.3",
        "v2.10.0",
        "10.0.19045.2965",
        "1.0.0-beta.1",
        "192.168.100.200",
        "10.0.0.1",
        "2001:db8::1",
        // Numbers and codes.
        "42",
        "3.14159",
        "-17.5",
        "1234567.89",
        "100000000",
        "0012345678",
        "1234567890123456",
        "9876543210987654",
        "94103",
        "94103-1234",
        "978-3-16-148410-0",
        "#ff00aa",
        // Free text.
        "Prefers phone contact after 5pm",
        "Met with CFO; do not share",
        "O'Brien",
        "Call +1-555-0100 after 5pm",
        "mail me at ada@example.com",
        "aGVsbG8gd29ybGQ=",
        "***-**-1234",
        "DE12",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for n in 0..300u64 {
        let b = bytes(n, 16);
        let h = hex(&b);
        out.push(format!(
            "{}-{}-{}-{}-{}",
            &h[..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..]
        ));
        out.push(hex(&Sha256::digest(n.to_be_bytes())));
        out.push((1_420_070_400 + n * 7_919_113).to_string());
        out.push(format!("{}.{}.{}", n % 7, n % 13, n));
        out.push(format!("{}.{:02}", n * 37, n % 100));
    }
    out
}

/// Each detector, and the kind `Kind::of` must give its positives.
fn check(name: &str, detector: fn(&str) -> bool, kind: Kind, positives: &[String]) {
    for value in positives {
        assert!(detector(value), "{name} misses {value:?}");
        assert_eq!(Kind::of(value), Some(kind), "{value:?}");
    }
    let false_positives: Vec<String> = negatives().into_iter().filter(|v| detector(v)).collect();
    assert!(
        false_positives.is_empty(),
        "{name} fires on {false_positives:?}"
    );
}

fn owned(values: &[&str]) -> Vec<String> {
    values.iter().map(|s| s.to_string()).collect()
}

#[test]
fn email_detector() {
    check(
        "email",
        is_email,
        Kind::Email,
        &owned(&[
            "ada.lovelace@example.com",
            "j.doe+news@mail.example.co.uk",
            "o'brien@corp.example",
            "x@y.io",
            "USER_12@Example.ORG",
            "zoë.3@example.net",
            "  grace.7@example.org ",
        ]),
    );
    for bad in [
        "ada@",
        "@example.com",
        "ada@example",
        "a@b@c.com",
        "ada@exa mple.com",
    ] {
        assert!(!is_email(bad), "{bad}");
    }
}

#[test]
fn phone_detector() {
    check(
        "phone",
        is_phone,
        Kind::Phone,
        &owned(&[
            "+1-555-0100",
            "+1 (555) 010-0199",
            "(555) 010-4477",
            "555-010-4477",
            "555.010.4477",
            "1-800-555-0100",
            "+44 20 7946 0958",
            "020 7946 0958",
            "+49 30 901820",
            "+33 1 23 45 67 89",
            "+81-3-1234-5678",
            "+15550100123",
        ]),
    );
}

#[test]
fn ssn_detector() {
    check(
        "ssn",
        is_ssn,
        Kind::Ssn,
        &owned(&["123-45-6789", "078-05-1120", "219-09-9999", "536-90-4399"]),
    );
    // Ranges the SSA never issues.
    for bad in [
        "000-12-3456",
        "666-12-3456",
        "912-12-3456",
        "123-00-4567",
        "123-45-0000",
    ] {
        assert!(!is_ssn(bad), "{bad}");
    }
}

#[test]
fn card_number_detector_checks_luhn() {
    check(
        "card",
        is_card_number,
        Kind::Card,
        &owned(&[
            "4111 1111 1111 1111",
            "4111-1111-1111-1111",
            "4012888888881881",
            "5500005555555559",
            "2223003122003222",
            "378282246310005",
            "6011111111111117",
            "3530111333300000",
        ]),
    );
    // One digit off: the Luhn check fails.
    assert!(!is_card_number("4111 1111 1111 1112"));
    assert!(!is_card_number("5500005555555558"));
}

#[test]
fn iban_detector_checks_mod_97() {
    check(
        "iban",
        is_iban,
        Kind::Iban,
        &owned(&[
            "DE89370400440532013000",
            "GB82 WEST 1234 5698 7654 32",
            "GB82WEST12345698765432",
            "FR1420041010050500013M02606",
            "NL91ABNA0417164300",
            "CH9300762011623852957",
        ]),
    );
    // The check digits wrong.
    assert!(!is_iban("DE88370400440532013000"));
    assert!(!is_iban("GB83WEST12345698765432"));
}

#[test]
fn jwt_detector() {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","kid":"k1","typ":"JWT"}"#);
    let claims = URL_SAFE_NO_PAD.encode(br#"{"sub":"user-12","exp":1767225600}"#);
    let signature = URL_SAFE_NO_PAD.encode(bytes(7, 256));
    check(
        "jwt",
        is_jwt,
        Kind::Jwt,
        &[
            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c".to_string(),
            format!("{header}.{claims}.{signature}"),
        ],
    );
    // Three dotted base64 parts whose header is not a JOSE header.
    let not_jose = URL_SAFE_NO_PAD.encode(br#"{"hello":"world"}"#);
    assert!(!is_jwt(&format!("{not_jose}.{claims}.{signature}")));
}

#[test]
fn api_key_detector() {
    check(
        "api_key",
        is_api_key,
        Kind::ApiKey,
        &owned(&[
            "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
            "ghp_1a2B3c4D5e6F7g8H9i0J1k2L3m4N5o6P7q8R",
            "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz",
            "glpat-xXxXxXxXxXxXxXxXxXxX",
            "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
            "AKIAIOSFODNN7EXAMPLE",
            "AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY",
            "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789ABCD",
        ]),
    );
}

#[test]
fn fernet_token_detector() {
    let key = FernetKey::new(&Key::generate());
    let tokens: Vec<String> = (0..5)
        .map(|n| key.encrypt(format!("value {n}").as_bytes()))
        .collect();
    let mut positives = tokens.clone();
    // As a JSON column holds it.
    positives.push(format!("\"{}\"", tokens[0]));
    check("fernet", is_fernet_token, Kind::Fernet, &positives);
    // Token-shaped but cut: not a well-formed token.
    assert!(!is_fernet_token(&tokens[1][..60]));
}

#[test]
fn no_negative_is_any_kind() {
    let hits: Vec<(String, Kind)> = negatives()
        .into_iter()
        .filter_map(|v| Kind::of(&v).map(|k| (v, k)))
        .collect();
    assert!(hits.is_empty(), "{hits:?}");
}
