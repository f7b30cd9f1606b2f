//! The key ring as the program builds it: from `Settings` (env file, environment, key
//! files), through `KeyRing::from_settings`.

use crate::crypto_fixture;

use std::collections::BTreeMap;

use crypto_fixture::{column, fixture, python_timber_env};
use timber::config::ColumnType;
use timber::config::{Flags, Settings};
use timber::crypto::{Key, KeyId, KeyRing, KeyRole};
use timber::value::Value;

#[test]
fn the_python_fixtures_env_file_gives_a_ring_that_reads_its_data() {
    let flags = Flags {
        env_file: Some(fixture("python-timber/fixture.env")),
        ..Flags::default()
    };
    let settings = Settings::from_sources(&flags, &BTreeMap::new(), &fixture("python-timber"))
        .expect("fixture.env loads");
    let ring = KeyRing::from_settings(&settings).unwrap();

    let env = python_timber_env();
    let entries = ring.entries();
    assert_eq!(entries.len(), 2, "primary and master: {entries:?}");
    assert_eq!(
        (entries[0].id.clone(), entries[0].role),
        (KeyId::Primary, KeyRole::Primary)
    );
    let primary = Key::from_base64(&env["ENCRYPTION_KEY"]).unwrap();
    assert_eq!(entries[0].fingerprint, primary.fingerprint());
    assert!(
        entries[0].source.contains("ENCRYPTION_KEY"),
        "{}",
        entries[0].source
    );
    assert_eq!(entries[1].role, KeyRole::Master);

    let cases = crypto_fixture::read_json("python-timber/cases.json");
    let case = &cases["typed_values"][0];
    let got = ring
        .decrypt_value(
            case["token"].as_str().unwrap(),
            &column(ColumnType::Text),
            None,
        )
        .unwrap();
    assert_eq!(
        got.value,
        Value::Text(case["plaintext"].as_str().unwrap().into())
    );
}

#[test]
fn every_kind_of_key_setting_lands_in_the_ring_with_its_id_and_source() {
    let keys: Vec<String> = (0..5)
        .map(|_| Key::generate().to_base64().to_string())
        .collect();
    let env: BTreeMap<String, String> = [
        ("ENCRYPTION_KEY", keys[0].clone()),
        ("ENCRYPTION_KEY_OLD", format!("{},{}", keys[1], keys[2])),
        ("TIMBER_KEY_REPORTS", keys[3].clone()),
        ("MASTER_ENCRYPTION_KEY", keys[4].clone()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let dir = tempfile::tempdir().unwrap();
    let settings = Settings::from_sources(&Flags::default(), &env, dir.path()).unwrap();
    let ring = KeyRing::from_settings(&settings).unwrap();
    let ids: Vec<String> = ring.entries().iter().map(|e| e.id.to_string()).collect();
    assert_eq!(ids, ["primary", "old_1", "old_2", "reports", "master"]);
    for (entry, text) in ring.entries().iter().zip(&keys) {
        assert_eq!(
            entry.fingerprint,
            Key::from_base64(text).unwrap().fingerprint()
        );
    }
    assert!(
        ring.entries()[2].source.ends_with("#2"),
        "{}",
        ring.entries()[2].source
    );
}

#[test]
fn a_bad_key_file_is_named_by_its_variable_and_path_never_its_content() {
    let dir = tempfile::tempdir().unwrap();
    let secret = "c2hvcnQta2V5LW9ubHktMTYtYg=="; // 19 bytes: wrong length
    std::fs::write(dir.path().join("primary.key"), format!("{secret}\n")).unwrap();
    let env: BTreeMap<String, String> =
        [("ENCRYPTION_KEY_FILE".to_string(), "primary.key".to_string())].into();
    let settings = Settings::from_sources(&Flags::default(), &env, dir.path()).unwrap();
    let err = KeyRing::from_settings(&settings).unwrap_err();
    let message = err.to_string();
    assert!(message.contains("ENCRYPTION_KEY_FILE"), "{message}");
    assert!(message.contains("primary.key"), "{message}");
    assert!(message.contains("19 bytes"), "{message}");
    assert!(
        !message.contains(secret) && !format!("{err:?}").contains(secret),
        "{message}"
    );
}
