//! Model YAML loading (DESIGN §5): the valid fixtures in tests/fixtures/models_ok/ load into
//! the expected definitions (every type and mixin, both encryption forms, our additions), and
//! directories are read as documented. Refusals are in config_model_errors.rs.

use std::path::{Path, PathBuf};

use timber::config::{
    Classification, ColumnType, Mixin, ModelDef, ModelError, load_model_file, load_models,
};

const OK_DIR: &str = "tests/fixtures/models_ok";

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
