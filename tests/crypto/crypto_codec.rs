//! The value codec (typed value ⇄ Timber plaintext), PBKDF2, search hashes and derived
//! keys. Expected strings marked "CPython" were computed with CPython 3.11's json, hashlib
//! and hmac modules, an implementation independent of ours.

use crate::crypto_fixture;

use chrono::{NaiveDate, NaiveDateTime};
use crypto_fixture::column;
use serde_json::json;
use timber::config::ColumnType;
use timber::crypto::blind_index::{HashKind, classify_hash, keyed, legacy_sha256};
use timber::crypto::pbkdf2_hmac_sha256;
use timber::crypto::{
    AuditKey, BlindIndexKey, CodecError, Key, KeyChoice, KeyRing, decode_plaintext,
    encode_plaintext, unwrap_stored, wrap_for_column,
};
use timber::value::{Value, hex_lower};

fn encode(v: &Value, ty: &ColumnType) -> String {
    encode_plaintext(v, ty).unwrap().to_string()
}

fn datetime(text: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f").unwrap()
}

#[test]
fn every_type_round_trips_through_encryption() {
    let ring = KeyRing::from_key(Key::generate());
    let cases = vec![
        (
            Value::Text("zoë\n\"x\"".into()),
            ColumnType::String(Some(255)),
        ),
        (Value::Text(String::new()), ColumnType::Text),
        (Value::Int(i64::MIN), ColumnType::BigInteger),
        (Value::Int(7), ColumnType::Integer),
        (Value::Float(-2.5e-9), ColumnType::Float),
        (
            Value::Numeric("-12345.6700".into()),
            ColumnType::Numeric(12, 4),
        ),
        (Value::Bool(true), ColumnType::Boolean),
        (
            Value::Date(NaiveDate::from_ymd_opt(2025, 2, 28).unwrap()),
            ColumnType::Date,
        ),
        (
            Value::DateTime(datetime("2025-02-28 23:59:58.000123")),
            ColumnType::DateTime,
        ),
        (
            Value::DateTime(datetime("2025-02-28 00:00:00")),
            ColumnType::DateTime,
        ),
        (
            Value::Json(json!({"k": [1, 2.0, "ü", null]})),
            ColumnType::Json,
        ),
        (Value::Json(json!("a bare string")), ColumnType::Json),
        (Value::Bytes(vec![0, 255, 1, 2, 3]), ColumnType::LargeBinary),
    ];
    for (value, ty) in cases {
        let col = column(ty.clone());
        let stored = ring
            .encrypt_value(&value, &col, KeyChoice::Primary)
            .unwrap();
        let back = ring.decrypt_value(&stored, &col, None).unwrap();
        assert_eq!(back.value, value, "{ty:?}");
    }
}

#[test]
fn plaintexts_are_spelled_as_python_writes_them() {
    // json.dumps spellings (CPython).
    assert_eq!(encode(&Value::Float(150.0), &ColumnType::Float), "150.0");
    assert_eq!(
        encode(&Value::Int(3), &ColumnType::Float),
        "3",
        "json.dumps(3) in a Float column"
    );
    assert_eq!(encode(&Value::Bool(false), &ColumnType::Boolean), "false");
    assert_eq!(
        encode(
            &Value::Json(json!({"a": [1, 2, null], "é": 1e16})),
            &ColumnType::Json
        ),
        r#"{"a": [1, 2, null], "\u00e9": 1e+16}"#
    );
    // Strings are encrypted as-is, even in a JSON column (Timber's isinstance(str) rule).
    assert_eq!(encode(&Value::Json(json!("hi")), &ColumnType::Json), "hi");
    assert_eq!(encode(&Value::Text("hi".into()), &ColumnType::Json), "hi");
    // Our decisions where json.dumps would raise: documented in codec.rs.
    assert_eq!(
        encode(&Value::Numeric("1.50".into()), &ColumnType::Numeric(10, 2)),
        "1.50"
    );
    let d = NaiveDate::from_ymd_opt(2025, 1, 31).unwrap();
    assert_eq!(
        encode(&Value::Date(d), &ColumnType::Date),
        r#""2025-01-31""#
    );
    assert_eq!(
        encode(
            &Value::DateTime(datetime("2025-01-31 12:30:00.5")),
            &ColumnType::DateTime
        ),
        r#""2025-01-31 12:30:00.500000""#,
        "json.dumps(dt, default=str)"
    );
    assert_eq!(
        encode(&Value::Bytes(b"hi!".to_vec()), &ColumnType::LargeBinary),
        "aGkh"
    );
}

#[test]
fn reading_accepts_the_forms_other_writers_use() {
    let dt = |t: &str| decode_plaintext(t.as_bytes(), &ColumnType::DateTime).unwrap();
    let noon = Value::DateTime(datetime("2025-01-31 12:00:00"));
    for form in [
        "2025-01-31 12:00:00",
        "\"2025-01-31T12:00:00\"",
        "2025-01-31T12:00:00.000",
        "2025-01-31T14:00:00+02:00",
        "\"2025-01-31T12:00:00Z\"",
    ] {
        assert_eq!(dt(form), noon, "{form}");
    }
    let date = |t: &str| decode_plaintext(t.as_bytes(), &ColumnType::Date).unwrap();
    assert_eq!(date("2025-01-31"), date("\"2025-01-31\""));
    let boolean = |t: &str| decode_plaintext(t.as_bytes(), &ColumnType::Boolean).unwrap();
    assert_eq!(boolean("True"), Value::Bool(true));
    assert_eq!(boolean("0"), Value::Bool(false));
    let float = |t: &str| decode_plaintext(t.as_bytes(), &ColumnType::Float).unwrap();
    assert_eq!(float("1e+16"), Value::Float(1e16));
    assert!(matches!(float("NaN"), Value::Float(x) if x.is_nan()));
    assert_eq!(float("-Infinity"), Value::Float(f64::NEG_INFINITY));
    // A Python str stored in a JSON column reads back as that string.
    assert_eq!(
        decode_plaintext(b"not json", &ColumnType::Json).unwrap(),
        Value::Json(json!("not json"))
    );
}

#[test]
fn wrong_types_and_bad_plaintext_are_refused_without_echoing_values() {
    let err = encode_plaintext(&Value::Text("4111-1111".into()), &ColumnType::Integer).unwrap_err();
    assert!(matches!(err, CodecError::TypeMismatch { .. }));
    assert_eq!(
        err.to_string(),
        "a text value cannot be stored in a Integer column"
    );
    let err =
        encode_plaintext(&Value::Numeric("12abc".into()), &ColumnType::Numeric(5, 2)).unwrap_err();
    assert!(!err.to_string().contains("12abc"), "{err}");
    assert_eq!(
        encode_plaintext(&Value::Null, &ColumnType::Text).unwrap_err(),
        CodecError::Null
    );

    for (bytes, ty) in [
        (&b"4111-1111"[..], ColumnType::Integer),
        (b"maybe", ColumnType::Boolean),
        (b"31/01/2025", ColumnType::Date),
        (b"1.2.3", ColumnType::Numeric(5, 2)),
        (b"%%%", ColumnType::LargeBinary),
    ] {
        let err = decode_plaintext(bytes, &ty).unwrap_err();
        assert!(matches!(err, CodecError::Invalid { .. }), "{ty:?}: {err:?}");
        assert!(
            !err.to_string()
                .contains(std::str::from_utf8(bytes).unwrap()),
            "{err}"
        );
    }
    assert!(matches!(
        decode_plaintext(&[0xff, 0xfe], &ColumnType::Text),
        Err(CodecError::NotUtf8 { .. })
    ));
}

#[test]
fn stored_form_is_quoted_only_for_json_columns() {
    assert_eq!(wrap_for_column("gAAAAAx", &ColumnType::Json), "\"gAAAAAx\"");
    assert_eq!(wrap_for_column("gAAAAAx", &ColumnType::Text), "gAAAAAx");
    assert_eq!(unwrap_stored("\"gAAAAAx\""), "gAAAAAx");
    assert_eq!(unwrap_stored("gAAAAAx"), "gAAAAAx");
    // A bare token in a JSON column (another writer) and a quoted one in text both read.
    let ring = KeyRing::from_key(Key::generate());
    let token = ring
        .encrypt_value(
            &Value::Text("t".into()),
            &column(ColumnType::Text),
            KeyChoice::Primary,
        )
        .unwrap();
    assert!(
        ring.decrypt_value(&format!("\"{token}\""), &column(ColumnType::Text), None)
            .is_ok()
    );
    assert_eq!(
        ring.decrypt_value(&token, &column(ColumnType::Json), None)
            .unwrap()
            .value,
        Value::Json(json!("t"))
    );
}

#[test]
fn pbkdf2_matches_rfc_7914_and_cpython() {
    let run = |p: &[u8], s: &[u8], c: u32, n: usize| {
        let mut out = vec![0u8; n];
        pbkdf2_hmac_sha256(p, s, c, &mut out);
        hex_lower(&out)
    };
    // RFC 7914 §11 vectors (two output blocks each).
    assert_eq!(
        run(b"passwd", b"salt", 1, 64),
        "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783"
    );
    assert_eq!(
        run(b"Password", b"NaCl", 80000, 64),
        "4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56a1d425a1225833549adb841b51c9b3176a272bdebba1d078478f62b397f33c8d"
    );
    // CPython hashlib: a password longer than the HMAC block, a truncated last block, and
    // a password of exactly one block.
    assert_eq!(
        run(&[b'p'; 100], b"long password is hashed first", 3, 40),
        "1539abe91ab5ab6dc677f6672f2b649352ff2164d5f0b70ab4e1b7e01e691555a9fdc88839e79b09"
    );
    assert_eq!(
        run(&[b'k'; 64], b"exactly one block", 2, 32),
        "735fa64c73336b05f0844a1368015ef4acbd02b481fb014da18081503df49be3"
    );
}

fn test_master() -> Key {
    let bytes: [u8; 32] = std::array::from_fn(|i| i as u8);
    Key::from_bytes(bytes)
}

#[test]
fn blind_index_and_audit_keys_are_derived_from_the_master_as_documented() {
    let master = test_master();
    let bik = BlindIndexKey::from_master(&master);
    // HMAC-SHA256(HMAC-SHA256(master, "timber-blind-index-v1"), strip().lower()) (CPython hmac).
    assert_eq!(
        keyed(&bik, "  User@Example.COM "),
        "842b37ae25b224c9c960bdad38eaed3b49c0fe8dd32257c8556ea7fc3885fac6"
    );
    let audit = AuditKey::from_master(&master);
    let tag = audit.mac(&[b"prev", b"entry"]);
    assert_eq!(tag, audit.mac(&[b"preventry"]), "parts are concatenated");
    assert!(audit.verify(&[b"preventry"], &tag));
    assert!(!audit.verify(&[b"prevEntry"], &tag));
    assert_ne!(
        bik.fingerprint(),
        audit.fingerprint(),
        "labels separate the derived keys"
    );
    let other = BlindIndexKey::from_master(&Key::generate());
    assert_ne!(
        keyed(&other, "user@example.com"),
        keyed(&bik, "user@example.com")
    );
}

#[test]
fn search_hashes_are_classified_keyed_legacy_or_stale() {
    let bik = BlindIndexKey::from_master(&test_master());
    let email = "User@Example.com";
    assert_eq!(
        classify_hash(Some(&bik), email, &keyed(&bik, email)),
        HashKind::Keyed
    );
    let legacy = legacy_sha256(email);
    assert_eq!(
        legacy,
        "b4c9a289323b21a01c3e940f150eb9b8c542587f1abfd8f0e1cc1ffc5e475514"
    );
    assert_eq!(
        classify_hash(Some(&bik), email, &legacy.to_uppercase()),
        HashKind::Legacy
    );
    assert_eq!(classify_hash(None, email, &legacy), HashKind::Legacy);
    assert_eq!(
        classify_hash(Some(&bik), "other@example.com", &legacy),
        HashKind::Mismatch
    );
    // Python's str.lower(): final sigma and dotted capital I (CPython hashlib).
    assert_eq!(
        legacy_sha256("ΣΑΣ İ"),
        "cc9c3a0dd8b8740ced6b7dc7091f5a87e5faa46907860ec7e128db1d814e0450"
    );
}
