//! Model YAML refusals (DESIGN §5, §11): each fixture in tests/fixtures/invalid_models/ is
//! refused with the full message, naming file:line:column, the model and column, and what was
//! expected; plus contradictions between encryption settings and clashes across files.

use std::path::Path;

use timber::config::{load_model_file, load_models, parse_models};

const BAD_DIR: &str = "tests/fixtures/invalid_models";

/// The full message for an invalid fixture (which must be refused).
fn refusal(file: &str) -> String {
    let path = Path::new(BAD_DIR).join(file);
    match load_model_file(&path) {
        Ok(models) => panic!(
            "{file} loaded {} model(s) but should be refused",
            models.len()
        ),
        Err(err) => err.to_string(),
    }
}

#[test]
fn a_model_name_declared_in_two_files_is_refused() {
    let err = load_models(&[Path::new(BAD_DIR).join("duplicate_across_files")]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "tests/fixtures/invalid_models/duplicate_across_files/b.yaml:8:11: duplicate model name \
         \"UserProfile\"; first declared at tests/fixtures/invalid_models/duplicate_across_files/a.yaml:2:11"
    );
    let issue = err.issue().unwrap();
    assert_eq!(issue.position, Some((8, 11)));
}

#[test]
fn malformed_yaml() {
    assert_eq!(
        refusal("malformed.yaml"),
        "tests/fixtures/invalid_models/malformed.yaml:7:8: invalid YAML: while parsing a block \
         collection, did not find expected '-' indicator"
    );
}

#[test]
fn empty_file() {
    assert_eq!(
        refusal("empty.yaml"),
        "tests/fixtures/invalid_models/empty.yaml: the file is empty; expected a mapping with a `models:` list"
    );
}

#[test]
fn missing_table_name() {
    assert_eq!(
        refusal("missing_table_name.yaml"),
        "tests/fixtures/invalid_models/missing_table_name.yaml:2:5: model UserProfile is missing the \
         required key \"table_name\""
    );
}

#[test]
fn unknown_type() {
    assert_eq!(
        refusal("unknown_type.yaml"),
        "tests/fixtures/invalid_models/unknown_type.yaml:6:15: unknown column type \"Strng(36)\" for \
         UserProfile.id; expected one of String(N), String, Text, Integer, BigInteger, Float, \
         Numeric(p,s), Boolean, Date, DateTime, JSON, LargeBinary"
    );
}

#[test]
fn bad_type_arguments() {
    assert_eq!(
        refusal("bad_type_arguments.yaml"),
        "tests/fixtures/invalid_models/bad_type_arguments.yaml:9:15: bad column type \"Numeric(2,5)\" \
         for Invoice.total; Numeric takes a precision (1 to 1000) and a scale no larger than it, e.g. \
         Numeric(10,2)"
    );
}

#[test]
fn duplicate_column() {
    assert_eq!(
        refusal("duplicate_column.yaml"),
        "tests/fixtures/invalid_models/duplicate_column.yaml:11:15: duplicate column \"Email\" in model \
         UserProfile (first declared at line 8 column 15)"
    );
}

#[test]
fn duplicate_table() {
    assert_eq!(
        refusal("duplicate_table.yaml"),
        "tests/fixtures/invalid_models/duplicate_table.yaml:9:17: duplicate table \"User_Profiles\"; \
         first declared at tests/fixtures/invalid_models/duplicate_table.yaml:3:17"
    );
}

#[test]
fn no_primary_key() {
    assert_eq!(
        refusal("no_primary_key.yaml"),
        "tests/fixtures/invalid_models/no_primary_key.yaml:2:11: model UserProfile has no primary key; \
         mark one column with primary_key: true"
    );
}

#[test]
fn two_primary_keys() {
    assert_eq!(
        refusal("two_primary_keys.yaml"),
        "tests/fixtures/invalid_models/two_primary_keys.yaml:10:22: model Membership has more than one \
         primary key (user_id and group_id); composite primary keys are not supported"
    );
}

#[test]
fn encrypted_primary_key() {
    assert_eq!(
        refusal("encrypted_primary_key.yaml"),
        "tests/fixtures/invalid_models/encrypted_primary_key.yaml:6:23: primary key UserProfile.id \
         cannot be encrypted; rows are found by it"
    );
}

#[test]
fn invalid_identifier() {
    assert_eq!(
        refusal("invalid_identifier.yaml"),
        "tests/fixtures/invalid_models/invalid_identifier.yaml:3:17: invalid table_name of model \
         UserProfile: \"user_profiles; DROP TABLE users\"; expected a letter or _, then letters, digits \
         or _ (63 at most)"
    );
}

#[test]
fn blind_index_missing() {
    assert_eq!(
        refusal("blind_index_missing.yaml"),
        "tests/fixtures/invalid_models/blind_index_missing.yaml:11:22: blind_index of UserProfile.email \
         names \"email_hash\", which is not a column of UserProfile"
    );
}

#[test]
fn blind_index_encrypted() {
    assert_eq!(
        refusal("blind_index_encrypted.yaml"),
        "tests/fixtures/invalid_models/blind_index_encrypted.yaml:11:22: blind_index of \
         UserProfile.email names \"email_hash\", which is encrypted; the hash column must be plain"
    );
}

#[test]
fn unknown_mixin() {
    assert_eq!(
        refusal("unknown_mixin.yaml"),
        "tests/fixtures/invalid_models/unknown_mixin.yaml:10:9: unknown mixin \"TimeStampMixin\" in \
         model UserProfile; expected one of TimestampMixin, EncryptedFieldMixin, AuditMixin, \
         SoftDeleteMixin, GDPRComplianceMixin"
    );
}

#[test]
fn unknown_classification() {
    assert_eq!(
        refusal("unknown_classification.yaml"),
        "tests/fixtures/invalid_models/unknown_classification.yaml:4:21: unknown classification \
         \"secret\" for model UserProfile; expected one of critical, sensitive, standard"
    );
}

#[test]
fn index_missing_column() {
    // created_at comes from TimestampMixin and is accepted; status is not a column.
    assert_eq!(
        refusal("index_missing_column.yaml"),
        "tests/fixtures/invalid_models/index_missing_column.yaml:13:27: index of model ResearchSession \
         names \"status\", which is not a column of ResearchSession"
    );
}

#[test]
fn unknown_key() {
    assert_eq!(
        refusal("unknown_key.yaml"),
        "tests/fixtures/invalid_models/unknown_key.yaml:10:9: unknown key \"encrypt\" in column \
         UserProfile.email; allowed keys: name, type, primary_key, nullable, encrypted, indexed, \
         unique, default, foreign_key, blind_index, description"
    );
}

#[test]
fn encryption_field_missing() {
    assert_eq!(
        refusal("encryption_field_missing.yaml"),
        "tests/fixtures/invalid_models/encryption_field_missing.yaml:6:31: encryption.fields of model \
         ResearchSession names \"ai_insight\", which is not a column of ResearchSession"
    );
}

#[test]
fn wrong_value_kind() {
    assert_eq!(
        refusal("wrong_value_kind.yaml"),
        "tests/fixtures/invalid_models/wrong_value_kind.yaml:7:22: expected true or false for \
         primary_key of column UserProfile.id, found the text \"yes\""
    );
}

#[test]
fn gdpr_user_field_missing() {
    assert_eq!(
        refusal("gdpr_user_field_missing.yaml"),
        "tests/fixtures/invalid_models/gdpr_user_field_missing.yaml:12:19: gdpr.user_field of model \
         UserProfile names \"owner_id\", which is not a column of UserProfile"
    );
}

/// Contradictions between the two encryption forms, and between per_user and a named key.
#[test]
fn contradictory_encryption_settings_are_refused() {
    let disabled = "models:\n  - name: A\n    table_name: a\n    encryption: {enabled: false}\n    columns:\n      - {name: id, type: Integer, primary_key: true}\n      - {name: s, type: Text, encrypted: true}\n";
    assert_eq!(
        parse_models(disabled, Path::new("m.yaml"))
            .unwrap_err()
            .to_string(),
        "m.yaml:7:42: column A.s is encrypted: true but the model's encryption.enabled is false \
         (disabled at line 4 column 27)"
    );
    let both = "models:\n  - name: A\n    table_name: a\n    encryption:\n      key_identifier: k1\n      per_user: true\n    columns:\n      - {name: id, type: Integer, primary_key: true}\n      - {name: user_id, type: Text}\n";
    assert_eq!(
        parse_models(both, Path::new("m.yaml"))
            .unwrap_err()
            .to_string(),
        "m.yaml:6:17: model A sets both encryption.per_user and encryption.key_identifier; choose one"
    );
    let no_owner = "models:\n  - name: A\n    table_name: a\n    encryption: {per_user: true, fields: [s]}\n    columns:\n      - {name: id, type: Integer, primary_key: true}\n      - {name: s, type: Text}\n";
    assert_eq!(
        parse_models(no_owner, Path::new("m.yaml"))
            .unwrap_err()
            .to_string(),
        "m.yaml:2:11: model A uses per_user encryption but has no owner column \"user_id\" (set owner_column)"
    );
}

/// Issue 13 item 10: model, policy, theme and keymap files are untrusted input, so no YAML
/// parser built on libyaml transliterated from C with `unsafe` (`unsafe-libyaml`, archived;
/// `libyaml-rs`), nor a crate that pulls one in, may be in the build.
#[test]
fn no_unsafe_libyaml_parser_is_in_the_build() {
    let lock = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.lock"))
        .expect("Cargo.lock is committed");
    assert!(
        lock.contains("name = \"serde-saphyr\"\n"),
        "the YAML parser is serde-saphyr"
    );
    for name in [
        "unsafe-libyaml",
        "libyaml-rs",
        "serde_yaml_ng",
        "serde_yaml",
        "serde_yml",
        "yaml_serde",
    ] {
        assert!(
            !lock.contains(&format!("name = \"{name}\"\n")),
            "{name} is in Cargo.lock"
        );
    }
}
