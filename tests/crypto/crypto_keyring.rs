//! The key ring as an operator meets it: bad keys are refused with the variable named and
//! the value never shown; nothing's `Debug` shows key text; a token's key is found among
//! several by HMAC, with AES run only for the match; unreadable cells are classified.

use crate::crypto_fixture;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE;
use crypto_fixture::{column, python_timber_env, read_json};
use timber::config::ColumnType;
use timber::config::{SecretText, Source, Sourced};
use timber::crypto::fernet::FernetKey;
use timber::crypto::{
    AuditKey, BlindIndexKey, CellError, CodecError, Key, KeyChoice, KeyError, KeyId, KeyRing,
    KeyRole, KeySources,
};
use timber::value::Value;

fn env_key(var: &str, text: &str) -> Sourced<SecretText> {
    Sourced {
        value: SecretText::new(text),
        source: Source::Env(var.into()),
    }
}

fn fresh() -> String {
    Key::generate().to_base64().to_string()
}

/// Asserts the error names `var` and shows no part of the key text.
fn assert_names_var_without_value(err: &KeyError, var: &str, text: &str) {
    let message = err.to_string();
    assert!(
        message.contains(var),
        "message does not name {var}: {message}"
    );
    let secret = text.trim();
    if secret.len() >= 4 {
        assert!(
            !message.contains(secret),
            "message echoes the key: {message}"
        );
        assert!(!format!("{err:?}").contains(secret), "Debug echoes the key");
    }
}

#[test]
fn bad_keys_are_refused_naming_the_variable_never_the_value() {
    let short = URL_SAFE.encode([7u8; 16]);
    let valid = fresh();
    let padded = format!(" {valid}\n");
    let cases: Vec<(&str, &str)> = vec![
        ("", "is empty"),
        ("   \t", "only whitespace"),
        ("this is not base64!!", "not valid url-safe base64"),
        (short.as_str(), "decodes to 16 bytes"),
        (padded.as_str(), "leading or trailing whitespace"),
        ("YzpZgClxLl3CBp3nBLueMYrq95oNaQFcXsF3P122yPw", ""), // unpadded: valid
    ];
    for (text, reason) in cases {
        let got = KeyRing::builder().primary(text, "ENCRYPTION_KEY");
        if reason.is_empty() {
            assert!(got.is_ok(), "a key without its `=` padding is accepted");
            continue;
        }
        let err = got.err().expect("bad key refused");
        assert!(err.to_string().contains(reason), "{text:?}: {err}");
        assert_names_var_without_value(&err, "ENCRYPTION_KEY", text);
    }
    // The same through settings sources: an old key names ENCRYPTION_KEY_OLD and its entry.
    let old = [
        env_key("ENCRYPTION_KEY_OLD", &fresh()),
        env_key("ENCRYPTION_KEY_OLD", "bad!"),
    ];
    let err = KeyRing::from_sources(&KeySources {
        old: &old,
        ..KeySources::default()
    })
    .unwrap_err();
    assert_names_var_without_value(&err, "ENCRYPTION_KEY_OLD (entry 2)", "bad!");
    let master = env_key("MASTER_ENCRYPTION_KEY", &short);
    let err = KeyRing::from_sources(&KeySources {
        master: Some(&master),
        ..KeySources::default()
    })
    .unwrap_err();
    assert_names_var_without_value(&err, "MASTER_ENCRYPTION_KEY", &short);
}

#[test]
fn keys_in_the_standard_base64_alphabet_load_as_python_loads_them() {
    // Python's Fernet(base64.b64encode(raw)) works ('+' and '/' accepted); so must we.
    let raw: [u8; 32] = std::array::from_fn(|i| if i % 2 == 0 { 0xfb } else { 0xff });
    let standard = base64::engine::general_purpose::STANDARD.encode(raw);
    assert!(standard.contains('+') && standard.contains('/'));
    let key = Key::from_base64_named(&standard, "ENCRYPTION_KEY").unwrap();
    assert_eq!(key.raw(), &raw);
    assert_eq!(
        key.to_base64().as_str(),
        URL_SAFE.encode(raw),
        "written back url-safe"
    );
}

#[test]
fn master_equal_to_primary_and_duplicates_are_refused() {
    let env = python_timber_env();
    let primary_text = &env["ENCRYPTION_KEY"];
    let primary = env_key("ENCRYPTION_KEY", primary_text);
    // Same key bytes written without padding is still the same key.
    let master = env_key("MASTER_ENCRYPTION_KEY", primary_text.trim_end_matches('='));
    let err = KeyRing::from_sources(&KeySources {
        primary: Some(&primary),
        master: Some(&master),
        ..KeySources::default()
    })
    .unwrap_err();
    assert!(
        matches!(err, KeyError::MasterEqualsPrimary { .. }),
        "{err:?}"
    );
    assert_names_var_without_value(&err, "MASTER_ENCRYPTION_KEY", primary_text);
    assert!(
        err.to_string().contains("ENCRYPTION_KEY;"),
        "names the primary too: {err}"
    );

    let old = [env_key("ENCRYPTION_KEY_OLD", primary_text)];
    let err = KeyRing::from_sources(&KeySources {
        primary: Some(&primary),
        old: &old,
        ..KeySources::default()
    })
    .unwrap_err();
    assert!(matches!(err, KeyError::Duplicate { .. }), "{err:?}");
    assert_names_var_without_value(&err, "ENCRYPTION_KEY_OLD", primary_text);

    let named = [(
        "primary".to_string(),
        env_key("TIMBER_KEY_PRIMARY", &fresh()),
    )];
    let err = KeyRing::from_sources(&KeySources {
        named: &named,
        ..KeySources::default()
    })
    .unwrap_err();
    assert!(matches!(err, KeyError::ReservedName { .. }), "{err:?}");
}

#[test]
fn debug_output_never_contains_key_text() {
    let env = python_timber_env();
    let texts = [&env["ENCRYPTION_KEY"], &env["MASTER_ENCRYPTION_KEY"]];
    let primary = Key::from_base64(texts[0]).unwrap();
    let master = Key::from_base64(texts[1]).unwrap();
    let ring = KeyRing::builder()
        .primary(texts[0], "ENCRYPTION_KEY")
        .unwrap()
        .master(texts[1], "MASTER_ENCRYPTION_KEY")
        .unwrap()
        .build()
        .unwrap();
    let err = KeyRing::builder()
        .primary(texts[0], "ENCRYPTION_KEY")
        .unwrap()
        .master(texts[0], "MASTER_ENCRYPTION_KEY")
        .unwrap()
        .build()
        .unwrap_err();
    let debugs = [
        format!("{primary:?}"),
        format!("{master:?}"),
        format!("{ring:?}"),
        format!("{:?}", FernetKey::new(&primary)),
        format!("{:?}", BlindIndexKey::from_master(&master)),
        format!("{:?}", AuditKey::from_master(&master)),
        format!("{:?}", ring.entries()),
        format!("{err:?} {err}"),
    ];
    for shown in &debugs {
        for text in texts {
            assert!(!shown.contains(text.as_str()), "key text in {shown}");
            assert!(
                !shown.contains(text.trim_end_matches('=')),
                "key text in {shown}"
            );
        }
        for key in [&primary, &master] {
            let hex = timber::value::hex_lower(key.raw());
            assert!(!shown.contains(&hex), "raw key bytes in {shown}");
        }
    }
    assert_eq!(debugs[0], format!("Key({})", primary.fingerprint()));
    assert!(
        debugs[2].contains(&primary.fingerprint().to_string()),
        "ring shows fingerprints"
    );
}

fn four_key_ring() -> (KeyRing, Vec<Key>) {
    let keys: Vec<Key> = (0..5).map(|_| Key::generate()).collect();
    let text = |i: usize| keys[i].to_base64().to_string();
    let ring = KeyRing::builder()
        .primary(&text(0), "ENCRYPTION_KEY")
        .unwrap()
        .old(&text(1), "ENCRYPTION_KEY_OLD")
        .unwrap()
        .old(&text(2), "ENCRYPTION_KEY_OLD")
        .unwrap()
        .named("reports", &text(3), "TIMBER_KEY_REPORTS")
        .unwrap()
        .master(&text(4), "MASTER_ENCRYPTION_KEY")
        .unwrap()
        .build()
        .unwrap();
    (ring, keys)
}

fn aes_count(ring: &KeyRing, id: &KeyId) -> u64 {
    ring.aes_decryptions()
        .iter()
        .find(|(k, _)| k == id)
        .map(|(_, n)| *n)
        .unwrap_or(0)
}

#[test]
fn identification_picks_the_right_key_and_runs_aes_only_for_it() {
    let (ring, keys) = four_key_ring();
    let ids = [
        KeyId::Primary,
        KeyId::Old(1),
        KeyId::Old(2),
        KeyId::Named("reports".into()),
    ];
    let entries = ring.entries();
    assert_eq!(
        entries.iter().map(|e| e.id.clone()).collect::<Vec<_>>()[..4],
        ids
    );
    assert_eq!(entries[4].role, KeyRole::Master);
    assert_eq!(entries[1].source, "env ENCRYPTION_KEY_OLD");

    for (i, id) in ids.iter().enumerate() {
        assert_eq!(entries[i].fingerprint, keys[i].fingerprint());
        let token = FernetKey::new(&keys[i]).encrypt(format!("under {id}").as_bytes());
        let before = ring.aes_decryptions();

        // Identification is by HMAC alone: no AES at all.
        assert_eq!(ring.identify(&token), Some(id.clone()));
        assert_eq!(ring.aes_decryptions(), before, "identify ran AES");

        let (plaintext, found) = ring.decrypt_token(&token, None).unwrap();
        assert_eq!(found, *id);
        assert_eq!(&plaintext[..], format!("under {id}").as_bytes());
        for (other, count) in ring.aes_decryptions() {
            let was = before
                .iter()
                .find(|(k, _)| *k == other)
                .map(|(_, n)| *n)
                .unwrap_or(0);
            let want = if other == *id { was + 1 } else { was };
            assert_eq!(
                count, want,
                "AES count of {other} after decrypting a token under {id}"
            );
        }
    }
}

#[test]
fn unreadable_cells_are_classified_without_guessing() {
    let (ring, _) = four_key_ring();
    let text = column(ColumnType::Text);
    for not_token in ["", "plain text", "gAAAAA", "\"gAAAAAAA\"", "%%%%"] {
        assert_eq!(
            ring.decrypt_value(not_token, &text, None).unwrap_err(),
            CellError::NotAToken
        );
    }
    let stranger = FernetKey::new(&Key::generate()).encrypt(b"secret");
    let total_before: u64 = ring.aes_decryptions().iter().map(|(_, n)| n).sum();
    assert_eq!(
        ring.decrypt_value(&stranger, &text, None).unwrap_err(),
        CellError::UnknownKey
    );
    let total_after: u64 = ring.aes_decryptions().iter().map(|(_, n)| n).sum();
    assert_eq!(
        total_before, total_after,
        "no AES for a token no key's MAC matches"
    );

    // The spec's padding-error token has a valid MAC under its secret: corrupted, not unknown.
    let invalid = read_json("fernet-spec/invalid.json");
    let case = invalid
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["desc"] == "payload padding error")
        .unwrap();
    let spec_ring = KeyRing::builder()
        .primary(case["secret"].as_str().unwrap(), "K")
        .unwrap()
        .build()
        .unwrap();
    let token = case["token"].as_str().unwrap();
    assert_eq!(spec_ring.identify(token), Some(KeyId::Primary));
    assert_eq!(
        spec_ring.decrypt_token(token, None).unwrap_err(),
        CellError::Corrupted
    );
    assert_eq!(aes_count(&spec_ring, &KeyId::Primary), 1);

    // Plaintext that does not fit the declared type is corrupted too (never a wrong value).
    let stored = ring
        .encrypt_value(&Value::Text("abc".into()), &text, KeyChoice::Primary)
        .unwrap();
    let err = ring
        .decrypt_value(&stored, &column(ColumnType::Integer), None)
        .unwrap_err();
    assert_eq!(err, CellError::Corrupted);
    assert_eq!(err.as_str(), "corrupted");
    assert_eq!(CellError::NotAToken.as_str(), "not_a_token");
    assert_eq!(CellError::UnknownKey.as_str(), "unknown_key");
}

#[test]
fn values_round_trip_through_named_and_per_user_keys() {
    let (ring, _) = four_key_ring();
    let json_col = column(ColumnType::Json);
    let value = Value::Json(serde_json::json!({"tickers": ["AAPL"], "weight": 0.25}));

    let stored = ring
        .encrypt_value(&value, &json_col, KeyChoice::Named("reports".into()))
        .unwrap();
    let got = ring.decrypt_value(&stored, &json_col, None).unwrap();
    assert_eq!(
        (got.value, got.key),
        (value.clone(), KeyId::Named("reports".into()))
    );

    let stored = ring
        .encrypt_value(&value, &json_col, KeyChoice::User("u-9".into()))
        .unwrap();
    let got = ring.decrypt_value(&stored, &json_col, Some("u-9")).unwrap();
    assert_eq!(
        (got.value, got.key),
        (value.clone(), KeyId::User("u-9".into()))
    );

    let err = ring
        .encrypt_value(&value, &json_col, KeyChoice::Named("nope".into()))
        .unwrap_err();
    assert!(matches!(err, CodecError::MissingKey { .. }), "{err}");
    assert!(err.to_string().contains("TIMBER_KEY_NOPE"), "{err}");
    let no_master = KeyRing::from_key(Key::generate());
    let err = no_master
        .encrypt_value(&value, &json_col, KeyChoice::User("u".into()))
        .unwrap_err();
    assert!(err.to_string().contains("MASTER_ENCRYPTION_KEY"), "{err}");
    assert_eq!(
        ring.encrypt_value(&Value::Null, &json_col, KeyChoice::Primary)
            .unwrap_err(),
        CodecError::Null
    );
}

#[test]
fn per_user_data_stays_readable_during_a_master_rotation() {
    let env = python_timber_env();
    let cases = read_json("python-timber/cases.json");
    let case = &cases["per_user_tokens"][0];
    let new_master = fresh();
    let ring = KeyRing::builder()
        .primary(&env["ENCRYPTION_KEY"], "ENCRYPTION_KEY")
        .unwrap()
        .master(&new_master, "MASTER_ENCRYPTION_KEY")
        .unwrap()
        .master_old(&env["MASTER_ENCRYPTION_KEY"], "MASTER_ENCRYPTION_KEY_OLD")
        .unwrap()
        .build()
        .unwrap();
    let token = case["token"].as_str().unwrap();
    let (plaintext, id) = ring.decrypt_token(token, Some("user-123")).unwrap();
    assert_eq!(
        &plaintext[..],
        case["plaintext"].as_str().unwrap().as_bytes()
    );
    assert_eq!(
        id,
        KeyId::UserOld("user-123".into()),
        "found under the old master's user key"
    );
}

/// The key that matched last is tried first (issue 17: a column under an old key paid one
/// HMAC per key before it). The order of trials may change only the cost: tokens under
/// every key, per-user keys of two owners, and a token under no key, interleaved so that each
/// search starts from the previous answer, are each identified exactly as a search in trial
/// order identifies them on a fresh thread.
#[test]
fn the_last_match_tried_first_never_changes_the_answer() {
    let (ring, keys) = four_key_ring();
    let master = keys[4].to_base64().to_string();
    let under = |key: &Key, text: &str| FernetKey::new(key).encrypt(text.as_bytes());
    let alice = timber::crypto::derive_user_key(&master, "alice");
    let bob = timber::crypto::derive_user_key(&master, "bob");
    let stranger = Key::generate();
    // (token, owner, the key it is under)
    let cells: Vec<(String, Option<&str>, Option<KeyId>)> = vec![
        (under(&keys[1], "a"), None, Some(KeyId::Old(1))),
        (under(&keys[1], "b"), None, Some(KeyId::Old(1))),
        (under(&keys[0], "c"), None, Some(KeyId::Primary)),
        (
            under(&alice, "d"),
            Some("alice"),
            Some(KeyId::User("alice".into())),
        ),
        (
            under(&bob, "e"),
            Some("bob"),
            Some(KeyId::User("bob".into())),
        ),
        // Alice's key matched last: Bob's token is not under it, nor is Alice's own
        // token read with Bob as the owner.
        (under(&alice, "f"), Some("bob"), None),
        (
            under(&keys[3], "g"),
            Some("alice"),
            Some(KeyId::Named("reports".into())),
        ),
        (under(&stranger, "h"), None, None),
        (under(&keys[2], "i"), None, Some(KeyId::Old(2))),
        (under(&keys[0], "j"), Some("alice"), Some(KeyId::Primary)),
        (under(&keys[2], "k"), None, Some(KeyId::Old(2))),
        (under(&keys[4], "l"), None, Some(KeyId::Master)),
    ];
    let in_order: Vec<Option<KeyId>> = std::thread::scope(|s| {
        cells
            .iter()
            .map(|(token, owner, _)| {
                // A fresh thread has no last match: the plain trial order.
                s.spawn(|| ring.classify(token, *owner).ok().map(|f| f.id))
                    .join()
                    .unwrap()
            })
            .collect()
    });
    for round in 0..3 {
        for (i, (token, owner, expected)) in cells.iter().enumerate() {
            let found = ring.classify(token, *owner).ok().map(|f| f.id);
            assert_eq!(&found, expected, "round {round}, cell {i}");
            assert_eq!(found, in_order[i], "round {round}, cell {i}");
            let decrypted = ring.decrypt_token(token, *owner).ok().map(|(_, id)| id);
            assert_eq!(&decrypted, expected, "round {round}, cell {i} decrypted");
        }
    }
}

/// Two keys that share their signing half (the first 16 bytes) authenticate the same tokens,
/// so which one a token is "under" could not be told; the ring refuses the second, naming
/// both variables and neither key.
#[test]
fn keys_sharing_a_signing_half_are_refused() {
    let first = Key::generate();
    let mut bytes = URL_SAFE
        .decode(first.to_base64().as_bytes())
        .expect("a key is base64");
    for b in &mut bytes[16..] {
        *b ^= 0x5a;
    }
    let twin = URL_SAFE.encode(&bytes);
    let err = KeyRing::builder()
        .primary(&first.to_base64(), "ENCRYPTION_KEY")
        .unwrap()
        .old(&twin, "ENCRYPTION_KEY_OLD")
        .unwrap()
        .build()
        .expect_err("a key sharing the primary's signing half");
    let text = err.to_string();
    assert!(matches!(err, KeyError::Duplicate { .. }), "{text}");
    assert!(
        text.contains("ENCRYPTION_KEY_OLD") && text.contains("signing half"),
        "{text}"
    );
    assert!(
        !text.contains(&twin) && !text.contains(&*first.to_base64()),
        "{text}"
    );
}
