//! The Fernet specification's test vectors (tests/fixtures/fernet-spec), on our Fernet and
//! on the `fernet` crate kept as an oracle: both must agree with the spec, and ours must
//! give each invalid token its own specific reason.

use crate::crypto_fixture;

use crypto_fixture::{read_json, unix};
use timber::crypto::Key;
use timber::crypto::fernet::{FernetError, FernetKey, same_token};
use timber::crypto::inspect::{self, Malformed};

fn ours(secret: &str) -> FernetKey {
    FernetKey::new(&Key::from_base64(secret).expect("spec secret is a valid key"))
}

fn oracle(secret: &str) -> fernet::Fernet {
    fernet::Fernet::new(secret).expect("oracle accepts the spec secret")
}

fn iv_of(case: &serde_json::Value) -> [u8; 16] {
    let bytes: Vec<u8> = case["iv"]
        .as_array()
        .expect("iv array")
        .iter()
        .map(|b| b.as_u64().expect("iv byte") as u8)
        .collect();
    bytes.try_into().expect("16-byte IV")
}

#[test]
fn generate_vectors_produce_the_exact_spec_token() {
    let cases = read_json("fernet-spec/generate.json");
    assert!(!cases.as_array().unwrap().is_empty());
    for case in cases.as_array().unwrap() {
        let secret = case["secret"].as_str().unwrap();
        let src = case["src"].as_str().unwrap();
        let now = unix(case["now"].as_str().unwrap());
        let want = case["token"].as_str().unwrap();

        let token = ours(secret).encrypt_at(src.as_bytes(), now, iv_of(case));
        assert_eq!(token, want, "our token differs from the spec's");

        // The oracle cannot take a fixed IV; it must produce a token with the spec's
        // timestamp that our codec opens, and it must open the spec token itself.
        let oracle_token = oracle(secret).encrypt_at_time(src.as_bytes(), now);
        assert_eq!(inspect::inspect(&oracle_token).unwrap().timestamp, now);
        assert_eq!(
            &*ours(secret).decrypt(&oracle_token).unwrap(),
            src.as_bytes()
        );
        assert_eq!(
            oracle(secret).decrypt_at_time(want, None, now).unwrap(),
            src.as_bytes()
        );
    }
}

#[test]
fn verify_vectors_decrypt_within_their_ttl() {
    let cases = read_json("fernet-spec/verify.json");
    for case in cases.as_array().unwrap() {
        let secret = case["secret"].as_str().unwrap();
        let token = case["token"].as_str().unwrap();
        let now = unix(case["now"].as_str().unwrap());
        let ttl = case["ttl_sec"].as_u64().unwrap();
        let src = case["src"].as_str().unwrap().as_bytes();

        assert_eq!(
            &*ours(secret).decrypt_with_ttl(token, ttl, now).unwrap(),
            src
        );
        assert_eq!(&*ours(secret).decrypt(token).unwrap(), src);
        assert_eq!(
            oracle(secret)
                .decrypt_at_time(token, Some(ttl), now)
                .unwrap(),
            src
        );

        // Same token without its base64 padding: still the same token, still decrypts.
        let unpadded = token.trim_end_matches('=');
        assert_ne!(
            unpadded, token,
            "vector should carry padding for this check"
        );
        assert!(same_token(unpadded, token));
        assert_eq!(
            &*ours(secret).decrypt_with_ttl(unpadded, ttl, now).unwrap(),
            src
        );
    }
}

fn expected_reason(desc: &str, err: &FernetError) -> bool {
    match desc {
        "incorrect mac" => *err == FernetError::MacMismatch,
        "too short" => matches!(err, FernetError::TooShort { .. }),
        "invalid base64" => *err == FernetError::InvalidBase64,
        "payload size not multiple of block size" => {
            matches!(err, FernetError::NotBlockAligned { .. })
        }
        "payload padding error" | "incorrect IV (causes padding error)" => {
            *err == FernetError::PaddingError
        }
        "far-future TS (unacceptable clock skew)" => {
            matches!(err, FernetError::FutureTimestamp { .. })
        }
        "expired TTL" => matches!(err, FernetError::Expired { .. }),
        other => panic!("invalid.json has a case this test does not know: {other}"),
    }
}

#[test]
fn invalid_vectors_are_rejected_each_with_its_own_reason() {
    let cases = read_json("fernet-spec/invalid.json");
    let cases = cases.as_array().unwrap();
    assert_eq!(cases.len(), 8, "all eight spec invalid cases present");
    let mut reasons = std::collections::HashSet::new();
    for case in cases {
        let desc = case["desc"].as_str().unwrap();
        let secret = case["secret"].as_str().unwrap();
        let token = case["token"].as_str().unwrap();
        let now = unix(case["now"].as_str().unwrap());
        let ttl = case["ttl_sec"].as_u64().unwrap();

        let err = ours(secret)
            .decrypt_with_ttl(token, ttl, now)
            .expect_err(desc);
        assert!(expected_reason(desc, &err), "{desc}: got {err:?}");
        reasons.insert(std::mem::discriminant(&err));
        // The message says what is wrong without repeating the token.
        assert!(
            !err.to_string().contains(token),
            "{desc}: message echoes the token"
        );

        assert!(
            oracle(secret)
                .decrypt_at_time(token, Some(ttl), now)
                .is_err(),
            "oracle accepted invalid case {desc}"
        );
    }
    // 8 cases, 7 distinct failure kinds (two cases are both padding errors).
    assert_eq!(reasons.len(), 7);
}

#[test]
fn without_ttl_expired_and_future_spec_tokens_still_decrypt() {
    // Python's Fernet.decrypt(token) has no TTL and no future limit; neither do we.
    let cases = read_json("fernet-spec/invalid.json");
    for case in cases.as_array().unwrap() {
        let desc = case["desc"].as_str().unwrap();
        if desc == "expired TTL" || desc.starts_with("far-future") {
            let key = ours(case["secret"].as_str().unwrap());
            let plaintext = key.decrypt(case["token"].as_str().unwrap());
            assert!(plaintext.is_ok(), "{desc}: {plaintext:?}");
        }
    }
}

#[test]
fn inspection_reports_structure_of_spec_tokens_without_a_key() {
    let generate = read_json("fernet-spec/generate.json");
    let case = &generate[0];
    let info = inspect::inspect(case["token"].as_str().unwrap()).unwrap();
    assert_eq!(info.version, 0x80);
    assert_eq!(info.timestamp, unix(case["now"].as_str().unwrap()));
    assert_eq!(info.iv, iv_of(case));
    assert_eq!(info.ciphertext_len, 16, "\"hello\" pads to one block");
    assert_eq!(info.total_len, 1 + 8 + 16 + 16 + 32);
    assert_eq!(
        info.datetime().unwrap().to_rfc3339(),
        "1985-10-26T08:20:00+00:00",
        "timestamp shown as a date"
    );

    let invalid = read_json("fernet-spec/invalid.json");
    for case in invalid.as_array().unwrap() {
        let token = case["token"].as_str().unwrap();
        let got = inspect::inspect(token);
        match case["desc"].as_str().unwrap() {
            "too short" => assert!(matches!(got, Err(Malformed::TooShort { len: 40 }))),
            "invalid base64" => assert_eq!(got, Err(Malformed::NotBase64)),
            "payload size not multiple of block size" => {
                assert!(matches!(got, Err(Malformed::NotBlockAligned { .. })))
            }
            // The rest are well-formed; only a key can tell what is wrong with them.
            desc => assert!(got.is_ok(), "{desc}: {got:?}"),
        }
    }
}
