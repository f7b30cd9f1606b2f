//! Issue 19 item 2, done-when: `timber discover` on the demo finds exactly the planted
//! undeclared personal data (`newsletter_signups.email` and `.phone`, a table no model
//! declares) and nothing among the demo's other plain columns (ids, owners, tickers,
//! statuses, labels, legacy hashes, timestamps), prints counts and never a value, and
//! `--suggest` prints a model that loads and declares both columns encrypted.

use std::path::Path;
use std::process::{Command, Output};

use timber::demo::{DemoOptions, generate};

fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_timber"))
        .current_dir(dir)
        .env_clear()
        .args(args)
        .output()
        .expect("run timber")
}

#[test]
fn discover_finds_exactly_the_demos_planted_columns_and_shows_no_value() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let summary = rt
        .block_on(generate(&DemoOptions {
            dir: dir.clone(),
            rows: 200,
            seed: 42,
            force: false,
        }))
        .unwrap();
    let planted: Vec<(String, String)> = summary
        .planted
        .iter()
        .filter(|p| p.check == "data.undeclared_sensitive")
        .map(|p| (p.model.clone(), p.column.clone()))
        .collect();
    assert_eq!(
        planted,
        [
            ("newsletter_signups".to_string(), "email".to_string()),
            ("newsletter_signups".to_string(), "phone".to_string())
        ]
    );

    let out = run(&dir, &["discover", "--format", "json"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let found: Vec<(String, String, String)> = j["found"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            assert!(f["model"].is_null(), "no model declares it: {f}");
            (
                f["table"].as_str().unwrap().to_string(),
                f["column"].as_str().unwrap().to_string(),
                f["kind"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        found,
        [
            ("newsletter_signups".into(), "email".into(), "email".into()),
            ("newsletter_signups".into(), "phone".into(), "phone".into()),
        ],
        "exactly the planted columns, no false positive: {j:#}"
    );
    // Every signup has an e-mail address; about two in three a phone (NULLs not counted).
    let email = &j["found"][0];
    assert_eq!(email["matches"], email["values"]);
    assert_eq!(email["percent"], 100.0);
    let phone = &j["found"][1];
    assert_eq!(phone["matches"], phone["values"]);
    assert!(phone["rows"].as_u64() > phone["values"].as_u64(), "{phone}");
    // The demo's five model tables and the undeclared one were sampled, timber's own not.
    assert_eq!(j["tables"], 6, "{j}");
    assert!(j["columns"].as_u64().unwrap() >= 25, "{j}");
    assert_eq!(j["sample"], 1000);
    let all = String::from_utf8_lossy(&out.stdout);
    assert!(
        !all.contains('@') && !all.contains("555"),
        "no value: {all}"
    );

    // Text, with the suggestion: a model for the table, both columns encrypted.
    let out = run(&dir, &["discover", "--suggest"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("UNDECLARED SENSITIVE DATA"), "{text}");
    assert!(
        text.contains("newsletter_signups.email")
            && text.contains("e-mail addresses")
            && text.contains("100.0%"),
        "{text}"
    );
    assert!(!text.contains('@'), "no value: {text}");
    assert!(
        text.contains("timber rotate --model NewsletterSignup --encrypt-plaintext"),
        "{text}"
    );
    let yaml: String = text
        .lines()
        .skip_while(|l| !l.starts_with("models:"))
        .take_while(|l| !l.starts_with("# then"))
        .collect::<Vec<_>>()
        .join("\n");
    let models = timber::config::parse_models(&yaml, Path::new("suggested.yaml"))
        .unwrap_or_else(|e| panic!("{e}\n{yaml}"));
    let model = &models[0];
    assert_eq!(model.table_name, "newsletter_signups");
    assert!(model.primary_key().name == "id");
    let encrypted: Vec<&str> = model.encrypted_columns().map(|c| c.name.as_str()).collect();
    assert_eq!(encrypted, ["email", "phone"]);

    // A smaller sample still finds them.
    let out = run(&dir, &["discover", "--sample", "5", "--format", "json"]);
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["sample"], 5);
    assert_eq!(j["found"].as_array().unwrap().len(), 2, "{j}");
    assert!(j["found"][0]["rows"].as_u64() <= Some(5));
}
