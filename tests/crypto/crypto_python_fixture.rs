//! Reading what real Python Timber wrote (tests/fixtures/python-timber): every case of
//! cases.json, and every encrypted cell of app.db against expected.json, typed by the
//! column types of models/app.yaml.

use crate::crypto_fixture;

use std::process::Command;

use crypto_fixture::{column, fixture, python_timber_env, read_json};
use serde_json::Value as Json;
use timber::config::ColumnType;
use timber::config::load_model_file;
use timber::crypto::blind_index::legacy_sha256;
use timber::crypto::derive_user_key;
use timber::crypto::{CellError, KeyId, KeyRing, encode_plaintext};
use timber::value::Value;

fn ring() -> KeyRing {
    let env = python_timber_env();
    KeyRing::builder()
        .primary(&env["ENCRYPTION_KEY"], "ENCRYPTION_KEY")
        .unwrap()
        .master(&env["MASTER_ENCRYPTION_KEY"], "MASTER_ENCRYPTION_KEY")
        .unwrap()
        .build()
        .unwrap()
}

/// The typed value a cases.json entry describes.
fn expected_value(ty: &ColumnType, json: &Json) -> Value {
    match ty {
        ColumnType::String(_) | ColumnType::Text => Value::Text(json.as_str().unwrap().into()),
        ColumnType::Integer | ColumnType::BigInteger => Value::Int(json.as_i64().unwrap()),
        ColumnType::Float => Value::Float(json.as_f64().unwrap()),
        ColumnType::Boolean => Value::Bool(json.as_bool().unwrap()),
        ColumnType::Json => Value::Json(json.clone()),
        other => panic!("cases.json has an unexpected type {other:?}"),
    }
}

#[test]
fn typed_cases_decode_to_their_declared_type_and_encode_to_pythons_plaintext() {
    let cases = read_json("python-timber/cases.json");
    let typed = cases["typed_values"].as_array().unwrap();
    assert!(typed.len() >= 9);
    let ring = ring();
    for case in typed {
        let ty = ColumnType::parse(case["type"].as_str().unwrap()).unwrap();
        let want = expected_value(&ty, &case["value"]);
        let token = case["token"].as_str().unwrap();

        let got = ring
            .decrypt_value(token, &column(ty.clone()), None)
            .unwrap();
        assert_eq!(got.value, want, "case {case}");
        assert_eq!(got.key, KeyId::Primary);

        // What we would write for the same value is byte for byte what Python wrote.
        let plaintext = encode_plaintext(&want, &ty).unwrap();
        assert_eq!(
            plaintext.as_str(),
            case["plaintext"].as_str().unwrap(),
            "case {case}"
        );
    }
    // The same text "42" reads as text in a String column and as a number in an Integer
    // one: the declared type decides, not the look of the plaintext.
    let by_type: Vec<(String, Value)> = typed
        .iter()
        .filter(|c| c["plaintext"] == "42")
        .map(|c| {
            let ty = ColumnType::parse(c["type"].as_str().unwrap()).unwrap();
            let v = ring
                .decrypt_value(c["token"].as_str().unwrap(), &column(ty), None)
                .unwrap();
            (c["type"].as_str().unwrap().to_string(), v.value)
        })
        .collect();
    assert!(by_type.contains(&("String".into(), Value::Text("42".into()))));
    assert!(by_type.contains(&("Integer".into(), Value::Int(42))));
}

#[test]
fn per_user_keys_match_python_and_per_user_tokens_decrypt() {
    let cases = read_json("python-timber/cases.json");
    let env = python_timber_env();
    let master = &env["MASTER_ENCRYPTION_KEY"];
    let shared = ring();
    for case in cases["per_user_keys"].as_array().unwrap() {
        let user = case["user_id"].as_str().unwrap();
        let derived = derive_user_key(master, user);
        assert_eq!(
            derived.to_base64().as_str(),
            case["derived_key"].as_str().unwrap(),
            "{user}"
        );
        let id = KeyId::User(user.to_string());
        assert_eq!(id.to_string(), case["key_id"].as_str().unwrap());
        assert_eq!(shared.fingerprint(&id), Some(derived.fingerprint()));
    }
    for case in cases["per_user_tokens"].as_array().unwrap() {
        let token = case["token"].as_str().unwrap();
        let user = case["key_id"]
            .as_str()
            .unwrap()
            .strip_prefix("user_")
            .unwrap();
        let fresh = ring();
        // Without the owner no per-user key is a candidate, so the token is unknown...
        assert_eq!(fresh.identify(token), None);
        // ...with the owner it is derived, identified and decrypted.
        let (plaintext, id) = fresh.decrypt_token(token, Some(user)).unwrap();
        assert_eq!(
            &plaintext[..],
            case["plaintext"].as_str().unwrap().as_bytes()
        );
        assert_eq!(id, KeyId::User(user.to_string()));
        let found = fresh.classify(token, Some(user)).unwrap();
        assert_eq!(found.id, KeyId::User(user.to_string()));
        // Another user's key does not open it.
        assert_eq!(
            fresh.classify(token, Some("user-456")).unwrap_err(),
            CellError::UnknownKey
        );
    }
}

#[test]
fn legacy_hashes_match_python() {
    let cases = read_json("python-timber/cases.json");
    for case in cases["legacy_hashes"].as_array().unwrap() {
        let value = case["value"].as_str().unwrap();
        assert_eq!(
            legacy_sha256(value),
            case["sha256_lower_hex"].as_str().unwrap(),
            "{value}"
        );
    }
}

/// Rows of a table of app.db as JSON objects, read with the sqlite3 CLI.
fn rows(table: &str) -> Vec<serde_json::Map<String, Json>> {
    let db = fixture("python-timber/app.db");
    let out = Command::new("sqlite3")
        .arg("-readonly")
        .arg("-json")
        .arg(&db)
        .arg(format!("SELECT * FROM {table} ORDER BY id"))
        .output()
        .expect("sqlite3 CLI runs");
    assert!(
        out.status.success(),
        "sqlite3: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let parsed: Vec<Json> = serde_json::from_slice(&out.stdout).expect("sqlite3 -json output");
    parsed
        .into_iter()
        .map(|r| r.as_object().unwrap().clone())
        .collect()
}

#[test]
fn every_encrypted_cell_of_the_python_database_matches_expected() {
    let models = load_model_file(&fixture("python-timber/models/app.yaml")).unwrap();
    let expected = read_json("python-timber/expected.json");
    let ring = ring();
    let mut checked = 0;
    for model in &models {
        let want_rows = expected[&model.table_name].as_object().unwrap();
        let got_rows = rows(&model.table_name);
        assert_eq!(got_rows.len(), want_rows.len(), "{}", model.table_name);
        let encrypted: Vec<_> = model.encrypted_columns().collect();
        assert!(
            !encrypted.is_empty(),
            "{} declares encrypted columns",
            model.name
        );
        for row in &got_rows {
            let id = row["id"].as_str().unwrap();
            let want = &want_rows[id];
            for col in &encrypted {
                let stored = row[&col.name].as_str().unwrap();
                let got = ring
                    .decrypt_value(stored, col, None)
                    .unwrap_or_else(|e| panic!("{}.{} of {id}: {e}", model.table_name, col.name));
                // Typed by the declared column type: JSON columns give JSON, text gives text.
                let want_value = match col.ty {
                    ColumnType::Json => Value::Json(want[&col.name].clone()),
                    _ => Value::Text(want[&col.name].as_str().unwrap().to_string()),
                };
                assert_eq!(
                    got.value, want_value,
                    "{}.{} of {id}",
                    model.table_name, col.name
                );
                assert_eq!(got.key, KeyId::Primary);
                // JSON columns hold the token quoted, others bare (DESIGN §3).
                assert_eq!(stored.starts_with('"'), col.ty == ColumnType::Json);
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 40 * 3 + 20 * 4, "every encrypted cell was checked");
}

#[test]
fn legacy_email_hashes_in_the_python_database_match_their_emails() {
    let expected = read_json("python-timber/expected.json");
    for row in rows("user_profiles") {
        let id = row["id"].as_str().unwrap();
        let email = expected["user_profiles"][id]["email"].as_str().unwrap();
        assert_eq!(
            row["email_hash"].as_str().unwrap(),
            legacy_sha256(email),
            "{id}"
        );
    }
}
