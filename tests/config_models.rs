//! Model YAML loading (DESIGN §5): the valid fixtures load into the expected definitions, and
//! every invalid fixture is refused with a message naming file:line:column and what was
//! expected. Fixtures live in tests/fixtures/models_ok/ and tests/fixtures/invalid_models/.

use std::path::{Path, PathBuf};

use timber::config::{
    Classification, ColumnType, Mixin, ModelDef, ModelError, load_model_file, load_models,
    parse_models,
};

const OK_DIR: &str = "tests/fixtures/models_ok";
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

fn model<'a>(models: &'a [ModelDef], name: &str) -> &'a ModelDef {
    models
        .iter()
        .find(|m| m.name == name)
        .unwrap_or_else(|| panic!("model {name} missing"))
}

fn encrypted_names(model: &ModelDef) -> Vec<&str> {
    model.encrypted_columns().map(|c| c.name.as_str()).collect()
}

#[test]
fn python_timber_models_load_with_both_encryption_forms() {
    let models = load_model_file(&Path::new(OK_DIR).join("app.yaml")).unwrap();
    let profile = model(&models, "UserProfile");
    assert_eq!(profile.table_name, "user_profiles");
    // Per-column `encrypted: true`.
    assert_eq!(
        encrypted_names(profile),
        ["email", "phone", "research_notes"]
    );
    let session = model(&models, "ResearchSession");
    // Model-level `encryption.fields`.
    assert_eq!(
        encrypted_names(session),
        [
            "analysis_data",
            "proprietary_signals",
            "ai_insights",
            "strategy_details"
        ]
    );
    assert_eq!(
        session.column("analysis_data").unwrap().ty,
        ColumnType::Json
    );

    let id = profile.primary_key();
    assert_eq!(
        (id.name.as_str(), &id.ty, id.nullable),
        ("id", &ColumnType::String(Some(36)), false)
    );
    let user_id = profile.column("user_id").unwrap();
    assert!(!user_id.nullable && user_id.indexed);
    assert!(
        profile.column("email").unwrap().nullable,
        "nullable defaults to true"
    );
    // created_at is declared, updated_at comes from TimestampMixin, as in the Python tables.
    assert!(!profile.column("created_at").unwrap().from_mixin);
    let updated = profile.column("updated_at").unwrap();
    assert!(updated.from_mixin && updated.nullable && updated.ty == ColumnType::DateTime);
    assert_eq!(profile.columns.last().unwrap().name, "updated_at");
    assert_eq!(profile.mixins, [Mixin::Timestamp, Mixin::EncryptedField]);
    assert_eq!(profile.owner_column, "user_id");
    assert_eq!(profile.source, Path::new(OK_DIR).join("app.yaml"));
}

#[test]
fn every_type_mixin_and_addition_is_read() {
    let models = load_model_file(&Path::new(OK_DIR).join("full.yaml")).unwrap();
    let customer = model(&models, "Customer");
    let types: Vec<(&str, ColumnType)> = customer
        .columns
        .iter()
        .map(|c| (c.name.as_str(), c.ty.clone()))
        .collect();
    let expected = [
        ("id", ColumnType::BigInteger),
        ("account_id", ColumnType::String(Some(36))),
        ("email", ColumnType::String(Some(255))),
        ("email_bidx", ColumnType::String(Some(64))),
        ("nickname", ColumnType::String(None)),
        ("bio", ColumnType::Text),
        ("visits", ColumnType::Integer),
        ("score", ColumnType::Float),
        ("balance", ColumnType::Numeric(12, 2)),
        ("vip", ColumnType::Boolean),
        ("birthday", ColumnType::Date),
        ("last_seen", ColumnType::DateTime),
        ("preferences", ColumnType::Json),
        ("avatar", ColumnType::LargeBinary),
        ("created_at", ColumnType::DateTime),
        // Added by mixins, in mixin order, created_at being declared already.
        ("updated_at", ColumnType::DateTime),
        ("created_by", ColumnType::String(Some(255))),
        ("updated_by", ColumnType::String(Some(255))),
        ("deleted_at", ColumnType::DateTime),
    ];
    assert_eq!(types, expected);
    let from_mixin: Vec<&str> = customer
        .columns
        .iter()
        .filter(|c| c.from_mixin)
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(
        from_mixin,
        ["updated_at", "created_by", "updated_by", "deleted_at"]
    );
    assert_eq!(customer.mixins, Mixin::ALL);
    assert_eq!(
        encrypted_names(customer),
        ["email", "bio", "birthday", "preferences"]
    );

    let email = customer.column("email").unwrap();
    assert_eq!(email.blind_index.as_deref(), Some("email_bidx"));
    let bidx = customer.column("email_bidx").unwrap();
    assert!(bidx.indexed && bidx.unique && !bidx.encrypted);
    assert_eq!(
        customer
            .column("account_id")
            .unwrap()
            .foreign_key
            .as_deref(),
        Some("accounts.id")
    );
    assert!(!customer.column("created_at").unwrap().nullable);
    let defaults: Vec<(&str, Option<&str>)> = ["nickname", "visits", "vip", "score"]
        .iter()
        .map(|n| (*n, customer.column(n).unwrap().default.as_deref()))
        .collect();
    assert_eq!(
        defaults,
        [
            ("nickname", Some("anon")),
            ("visits", Some("0")),
            ("vip", Some("false")),
            ("score", None)
        ]
    );

    assert_eq!(customer.classification, Some(Classification::Critical));
    // Lower-cased, like the names read from TIMBER_KEY_<NAME>.
    assert_eq!(
        customer.encryption.key_identifier.as_deref(),
        Some("customer_data")
    );
    assert!(!customer.encryption.per_user);
    let gdpr = customer.gdpr.as_ref().unwrap();
    assert_eq!(gdpr.user_field.as_deref(), Some("account_id"));
    assert_eq!(gdpr.export_fields, ["email", "bio", "preferences"]);
    let indexes: Vec<(Vec<&str>, bool)> = customer
        .indexes
        .iter()
        .map(|i| (i.columns.iter().map(String::as_str).collect(), i.unique))
        .collect();
    assert_eq!(
        indexes,
        [
            (vec!["account_id", "created_at"], true),
            (vec!["deleted_at"], false)
        ]
    );

    let vault = model(&models, "Vault");
    assert_eq!(vault.table_name, "vault_items");
    assert_eq!(vault.classification, Some(Classification::Sensitive));
    assert!(vault.encryption.per_user);
    assert_eq!(vault.encryption.key_identifier, None);
    assert_eq!(vault.owner_column, "owner");
    assert_eq!(encrypted_names(vault), ["secret", "notes"]);
    assert!(vault.mixins.is_empty() && vault.gdpr.is_none());
    assert_eq!(vault.columns.len(), 5, "no mixin, no added column");
}

#[test]
fn a_directory_loads_in_file_name_order() {
    let set = load_models(&[PathBuf::from(OK_DIR)]).unwrap();
    assert_eq!(
        set.files,
        [
            Path::new(OK_DIR).join("app.yaml"),
            Path::new(OK_DIR).join("full.yaml")
        ]
    );
    let names: Vec<&str> = set.models.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(
        names,
        ["UserProfile", "ResearchSession", "Customer", "Vault"]
    );
    assert_eq!(set.find("vault_items").unwrap().name, "Vault");
    assert_eq!(set.find("userprofile").unwrap().table_name, "user_profiles");
}

#[test]
fn only_yaml_files_directly_in_the_directory_are_read() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(Path::new(OK_DIR).join("app.yaml"), dir.path().join("b.yml")).unwrap();
    // Each of these would fail to load if it were read.
    std::fs::write(dir.path().join("notes.txt"), "models: [oops").unwrap();
    std::fs::write(dir.path().join(".#b.yaml"), "models: [oops").unwrap();
    std::fs::create_dir(dir.path().join("nested")).unwrap();
    std::fs::write(dir.path().join("nested/c.yaml"), "models: [oops").unwrap();
    let set = load_models(&[dir.path().to_path_buf()]).unwrap();
    assert_eq!(set.files, [dir.path().join("b.yml")]);
    assert_eq!(set.models.len(), 2);
}

#[test]
fn a_missing_model_directory_is_named() {
    let err = load_models(&[
        PathBuf::from(OK_DIR),
        PathBuf::from("tests/fixtures/no_such_dir"),
    ])
    .unwrap_err();
    assert!(matches!(err, ModelError::MissingDir(_)));
    assert_eq!(
        err.to_string(),
        "model directory tests/fixtures/no_such_dir does not exist"
    );
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
        "tests/fixtures/invalid_models/malformed.yaml:7:8: invalid YAML: did not find expected '-' \
         indicator, while parsing a block collection at line 5 column 7"
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

#[test]
fn column_types_parse_as_sqlalchemy_spells_them() {
    for text in [
        "String(36)",
        "String",
        "Text",
        "Integer",
        "BigInteger",
        "Float",
        "Numeric(10,2)",
        "Boolean",
        "Date",
        "DateTime",
        "JSON",
        "LargeBinary",
    ] {
        let ty = ColumnType::parse(text).unwrap();
        assert_eq!(ty.yaml_name(), text, "round trip of {text}");
    }
    assert_eq!(
        ColumnType::parse("  String( 20 ) ").unwrap(),
        ColumnType::String(Some(20))
    );
    assert_eq!(
        ColumnType::parse("Numeric(8)").unwrap(),
        ColumnType::Numeric(8, 0)
    );
    // Case-sensitive, like SQLAlchemy; arguments only where the type takes them.
    for bad in [
        "string(36)",
        "Json",
        "String(0)",
        "String(-1)",
        "Text(10)",
        "Numeric",
        "String(36",
    ] {
        assert!(ColumnType::parse(bad).is_err(), "{bad} should be refused");
    }
}
