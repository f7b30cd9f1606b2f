//! Property tests: our Fernet and the `fernet` crate oracle open each other's tokens for
//! arbitrary plaintext; future-stamped tokens decrypt (as in Python) and are flagged by
//! inspection; and no input, however crafted, makes inspection, decryption or the key
//! ring panic (tests run in debug builds, so an arithmetic overflow would panic).

use crate::crypto_fixture;

use base64::Engine;
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use crypto_fixture::column;
use hmac::{Hmac, KeyInit, Mac};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use sha2::Sha256;
use timber::config::ColumnType;
use timber::crypto::fernet::{FernetKey, unix_now};
use timber::crypto::{CellError, Key, KeyRing, inspect};

const SECRET: &str = "cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=";

fn key() -> Key {
    Key::from_base64(SECRET).unwrap()
}

/// A token with a valid MAC under `SECRET` around arbitrary header fields and body bytes:
/// the MAC check passes, so everything after it (timestamp rules, AES, padding) is reached.
fn signed_token(timestamp: u64, iv: [u8; 16], body: &[u8]) -> String {
    let k = key();
    let mut data = vec![0x80];
    data.extend_from_slice(&timestamp.to_be_bytes());
    data.extend_from_slice(&iv);
    data.extend_from_slice(body);
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(k.signing_key()).unwrap();
    mac.update(&data);
    data.extend_from_slice(&mac.finalize().into_bytes());
    URL_SAFE.encode(&data)
}

fn crafted_timestamp() -> impl Strategy<Value = u64> {
    prop_oneof![
        Just(0u64),
        Just(u64::MAX),
        Just(u64::MAX - 59),
        Just(i64::MAX as u64),
        Just(i64::MAX as u64 + 1),
        any::<u64>(),
    ]
}

proptest! {
    // A failing case is saved next to this file (`<file>.proptest-regressions`), as when it was
    // a test binary of its own: proptest's default would now put it under
    // tests/proptest-regressions/, the area's folder having a main.rs.
    #![proptest_config(ProptestConfig {
        cases: 128,
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("proptest-regressions"))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn oracle_decrypts_what_we_encrypt(plaintext in proptest::collection::vec(any::<u8>(), 0..300)) {
        let token = FernetKey::new(&key()).encrypt(&plaintext);
        let opened = fernet::Fernet::new(SECRET).unwrap().decrypt(&token).unwrap();
        prop_assert_eq!(opened, plaintext);
    }

    #[test]
    fn we_decrypt_what_the_oracle_encrypts(plaintext in proptest::collection::vec(any::<u8>(), 0..300)) {
        let token = fernet::Fernet::new(SECRET).unwrap().encrypt(&plaintext);
        let opened = FernetKey::new(&key()).decrypt(&token).unwrap();
        prop_assert_eq!(&*opened, &plaintext[..]);
        // Stripped padding (some stores drop it) still reads.
        let opened = FernetKey::new(&key()).decrypt(token.trim_end_matches('=')).unwrap();
        prop_assert_eq!(&*opened, &plaintext[..]);
    }

    #[test]
    fn future_stamped_tokens_decrypt_and_inspect_as_future(
        plaintext in proptest::collection::vec(any::<u8>(), 0..64),
        iv in any::<[u8; 16]>(),
    ) {
        let now = unix_now();
        let token = FernetKey::new(&key()).encrypt_at(&plaintext, now + 600, iv);
        prop_assert_eq!(&*FernetKey::new(&key()).decrypt(&token).unwrap(), &plaintext[..]);
        let info = inspect::inspect(&token).unwrap();
        prop_assert!(info.is_future(now));
        prop_assert_eq!(info.seconds_ahead(now), Some(600));
        // With a TTL the spec's clock-skew rule applies and refuses it.
        prop_assert!(FernetKey::new(&key()).decrypt_with_ttl(&token, 60, now).is_err());
    }

    #[test]
    fn arbitrary_text_never_panics(text in ".{0,200}", ttl in any::<u64>(), now in crafted_timestamp()) {
        let fk = FernetKey::new(&key());
        let _ = inspect::inspect(&text);
        let _ = inspect::looks_like_token(&text);
        let _ = fk.decrypt(&text);
        let _ = fk.decrypt_with_ttl(&text, ttl, now);
        let ring = KeyRing::from_key(key());
        let _ = ring.identify(&text);
        for ty in [ColumnType::Text, ColumnType::Json, ColumnType::Integer, ColumnType::DateTime] {
            let got = ring.decrypt_value(&text, &column(ty), None);
            prop_assert!(got.is_err() || text.contains("gAAAAA"));
        }
    }

    #[test]
    fn arbitrary_token_shaped_bytes_never_panic(
        timestamp in crafted_timestamp(),
        body in proptest::collection::vec(any::<u8>(), 0..100),
        ttl in prop_oneof![Just(u64::MAX), Just(0u64), any::<u64>()],
        now in crafted_timestamp(),
        sign in any::<bool>(),
        strip_padding in any::<bool>(),
    ) {
        let token = if sign {
            signed_token(timestamp, [7; 16], &body)
        } else {
            let mut data = vec![0x80];
            data.extend_from_slice(&timestamp.to_be_bytes());
            data.extend_from_slice(&body);
            URL_SAFE.encode(&data)
        };
        let token = if strip_padding { token.trim_end_matches('=').to_string() } else { token };
        let fk = FernetKey::new(&key());
        let info = inspect::inspect(&token);
        if let Ok(info) = &info {
            let _ = (info.datetime(), info.is_future(now), info.seconds_ahead(now));
        }
        let _ = fk.decrypt(&token);
        let _ = fk.decrypt_with_ttl(&token, ttl, now);
        let ring = KeyRing::from_key(key());
        let result = ring.decrypt_token(&token, None);
        // A structurally bad token is never blamed on a key, and an unsigned one never
        // matches our key.
        if info.is_err() {
            prop_assert_eq!(result.err(), Some(CellError::NotAToken));
        } else if !sign {
            prop_assert_eq!(result.err(), Some(CellError::UnknownKey));
        }
        let _ = ring.decrypt_value(&format!("\"{token}\""), &column(ColumnType::Json), None);
    }
}

#[test]
fn signed_token_with_huge_timestamp_and_ttl_does_not_overflow() {
    let fk = FernetKey::new(&key());
    let token = fk.encrypt_at(b"x", u64::MAX, [1; 16]);
    assert_eq!(
        &*fk.decrypt(&token).unwrap(),
        b"x",
        "no TTL: any timestamp decrypts"
    );
    assert_eq!(
        &*fk.decrypt_with_ttl(&token, u64::MAX, u64::MAX).unwrap(),
        b"x"
    );
    assert!(
        fk.decrypt_with_ttl(&token, u64::MAX, 0).is_err(),
        "far future with TTL refused"
    );
    let info = inspect::inspect(&token).unwrap();
    assert_eq!(
        info.datetime(),
        None,
        "not representable as a date, and no panic"
    );
    assert!(info.is_future(u64::MAX - 1));
}

#[test]
fn tokens_compare_by_decoded_bytes_not_text() {
    let token = FernetKey::new(&key()).encrypt(b"same");
    let data = URL_SAFE.decode(&token).unwrap();
    let unpadded = URL_SAFE_NO_PAD.encode(&data);
    assert!(timber::crypto::fernet::same_token(&token, &unpadded));
    let other = FernetKey::new(&key()).encrypt(b"same");
    assert!(
        !timber::crypto::fernet::same_token(&token, &other),
        "fresh IV each time"
    );
}
