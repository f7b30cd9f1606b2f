//! Canary: no key and no plaintext value ever appears in what `timber health` and
//! `timber census` print (stdout and stderr, text and JSON), even with plaintext planted in
//! encrypted columns, a plaintext `*_API_KEY`, weak and duplicate keys, and a broken key.

use crate::health_support;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use health_support::*;
use timber::crypto::{Key, KeyId, KeyRing};
use timber::health::KeyConfig;
use timber::value::Value;

const MODELS: &str = r#"
models:
  - name: Patient
    table_name: canary_patients
    classification: critical
    columns:
      - {name: id, type: String(36), primary_key: true}
      - {name: email, type: String(255), encrypted: true, blind_index: email_hash}
      - {name: email_hash, type: String(64)}
      - {name: diagnosis, type: Text, encrypted: true}
    mixins: [EncryptedFieldMixin]
"#;

/// Every spelling of a key that could leak: padded and unpadded base64, hex of its bytes.
fn spellings(text: &str) -> Vec<String> {
    let key = Key::from_base64(text).unwrap();
    let hex: String = key.raw().iter().map(|b| format!("{b:02x}")).collect();
    vec![text.to_string(), URL_SAFE_NO_PAD.encode(key.raw()), hex]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_key_or_value_in_any_report() {
    let dir = tempfile::tempdir().unwrap();
    let (models, store, mut vars) = sqlite_world(dir.path(), MODELS).await;
    let ring = KeyRing::from_settings(&settings(&vars, dir.path())).unwrap();
    let patient = models.find("Patient").unwrap();
    let secrets: Vec<String> = (1..=6)
        .map(|n| format!("CANARY-diagnosis-{n}-zebra"))
        .collect();
    let emails: Vec<String> = (1..=6)
        .map(|n| format!("canary{n}@secret.example"))
        .collect();
    let rows: Vec<Vec<(String, Value)>> = (0..6)
        .map(|i| {
            vec![
                ("id".into(), Value::Text(format!("p{i}"))),
                ("email".into(), Value::Text(emails[i].clone())),
                ("diagnosis".into(), Value::Text(secrets[i].clone())),
            ]
        })
        .collect();
    store
        .insert_many(patient, &ring, &rows, None)
        .await
        .unwrap();
    // Plaintext in an encrypted column, a legacy hash of a real email, an old-key value.
    let in_clear = "CANARY-stored-in-clear-okapi";
    set_stored(&store, &models, "Patient", "p1", "diagnosis", in_clear).await;
    set_stored(
        &store,
        &models,
        "Patient",
        "p2",
        "email_hash",
        &timber::crypto::blind_index::legacy_sha256(&emails[2]),
    )
    .await;
    let old = ring.key(&KeyId::Old(1)).unwrap();
    set_stored(
        &store,
        &models,
        "Patient",
        "p3",
        "diagnosis",
        &old.encrypt(secrets[3].as_bytes()),
    )
    .await;
    let api = "CANARY-api-key-narwhal";
    vars.push(("ALPHA_VANTAGE_API_KEY", api.to_string()));

    let mut keys: Vec<String> = vars
        .iter()
        .filter(|(k, _)| k.contains("KEY") && !k.contains("API") && !k.contains("DATE"))
        .map(|(_, v)| v.clone())
        .collect();
    let weak = URL_SAFE_NO_PAD.encode([7u8; 32]) + "=";
    let named = Key::generate().to_base64().to_string();
    let runs: Vec<Vec<(&str, String)>> = vec![
        vars.clone(),
        // Weak, duplicated and broken keys: their findings name variables, not texts.
        [
            vars.clone(),
            vec![
                ("TIMBER_KEY_LEGACY", weak.clone()),
                ("TIMBER_KEY_SPARE", named.clone()),
            ],
        ]
        .concat(),
        {
            let mut v = vars.clone();
            let primary = v
                .iter()
                .find(|(k, _)| *k == "ENCRYPTION_KEY")
                .unwrap()
                .1
                .clone();
            v.retain(|(k, _)| *k != "MASTER_ENCRYPTION_KEY");
            v.push(("MASTER_ENCRYPTION_KEY", primary));
            v
        },
    ];
    keys.push(weak.clone());
    keys.push(named);
    let mut printed = String::new();
    for run in &runs {
        for args in [
            &["health"][..],
            &["health", "--format", "json"],
            &["census"],
            &["census", "--format", "json"],
        ] {
            let out = timber_cli(dir.path(), args, run);
            assert!(out.status.code().is_some_and(|c| c <= 2), "{args:?}");
            printed.push_str(&String::from_utf8_lossy(&out.stdout));
            printed.push_str(&String::from_utf8_lossy(&out.stderr));
        }
    }
    // A broken key text (not base64) is named by variable only.
    let mut broken = vars.clone();
    broken.push(("TIMBER_KEY_BROKEN", "CANARY-not-a-key-walrus".into()));
    let out = timber_cli(dir.path(), &["health", "--format", "json"], &broken);
    printed.push_str(&String::from_utf8_lossy(&out.stdout));
    printed.push_str(&String::from_utf8_lossy(&out.stderr));
    // The library's own Debug output of the key configuration.
    printed.push_str(&format!(
        "{:?}",
        KeyConfig::from_settings(&settings(&vars, dir.path())).keys
    ));

    assert!(
        printed.contains("data.plaintext") && printed.contains("p1"),
        "the reports ran"
    );
    assert!(printed.contains("fp:"), "keys are shown by fingerprint");
    for key in &keys {
        for spelling in spellings(key) {
            assert!(!printed.contains(&spelling), "a key leaked into the output");
        }
    }
    for value in secrets
        .iter()
        .chain(&emails)
        .chain([&in_clear.to_string(), &api.to_string()])
    {
        assert!(
            !printed.contains(value.as_str()),
            "value {value} leaked into the output"
        );
    }
    assert!(!printed.contains("CANARY"), "no canary text at all");
    store.close().await;
}
