//! Every settings error says where the setting came from (issue 16, item 4): a model
//! directory, a policy file, a database URL or a TLS file that is wrong is named with its
//! source (a flag, the environment, an env file or the default) and what to change, so an
//! operator pointing timber at their own database never has to guess which layer won.
//! One case per source, through the real settings loader and the real file loaders.

use std::path::Path;

use timber::config::{Flags, Settings, load_models_setting, load_policy_setting};
use timber::store::StoreConfig;

use crate::config_support::vars;

/// An env file in `dir` (owner-only, as the loader demands) holding `text`.
fn env_file(dir: &Path, text: &str) {
    let path = dir.join(".env");
    std::fs::write(&path, text).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
}

fn settings(dir: &Path, flags: &Flags, env: &[(&str, &str)]) -> Settings {
    Settings::from_sources(flags, &vars(env), dir).expect("settings load")
}

fn models_error(s: &Settings) -> String {
    load_models_setting(&s.models_dirs)
        .expect_err("a missing model directory is refused")
        .to_string()
}

#[test]
fn a_missing_model_directory_names_the_setting_it_came_from() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();

    // The default: the message says it is the default and how to change it.
    let default = settings(d, &Flags::default(), &[]);
    assert_eq!(
        models_error(&default),
        "model directory ./data/models (the default; set TIMBER_MODELS or --models) does not exist"
    );

    // The env file.
    env_file(d, "TIMBER_MODELS=from-file\n");
    let file = settings(d, &Flags::default(), &[]);
    let err = models_error(&file);
    assert!(
        err.starts_with("model directory from-file (TIMBER_MODELS from ")
            && err.ends_with(".env) does not exist"),
        "{err}"
    );

    // The environment beats the file, and says so.
    let env = settings(d, &Flags::default(), &[("TIMBER_MODELS", "from-env")]);
    assert_eq!(
        models_error(&env),
        "model directory from-env (TIMBER_MODELS from the environment) does not exist"
    );

    // The flag beats both.
    let flags = Flags {
        models: vec!["from-flag".into()],
        ..Flags::default()
    };
    let flag = settings(d, &flags, &[("TIMBER_MODELS", "from-env")]);
    assert_eq!(
        models_error(&flag),
        "model directory from-flag (--models) does not exist"
    );

    // A file where a directory belongs is named the same way (model paths are taken from
    // the working directory, so this one is absolute).
    let file = d.join("a-file");
    std::fs::write(&file, "").unwrap();
    let shown = file.display().to_string();
    let not_dir = settings(d, &Flags::default(), &[("TIMBER_MODELS", &shown)]);
    assert_eq!(
        models_error(&not_dir),
        format!("model directory {shown} (TIMBER_MODELS from the environment) is not a directory")
    );
}

#[test]
fn an_unreadable_policy_file_names_the_setting_it_came_from() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let error = |s: &Settings| {
        load_policy_setting(s.policy.as_ref().expect("a policy is configured"))
            .expect_err("a missing policy file is refused")
            .to_string()
    };

    env_file(d, "TIMBER_POLICY=policy.yaml\n");
    let file = settings(d, &Flags::default(), &[]);
    let err = error(&file);
    assert!(
        err.starts_with("TIMBER_POLICY=policy.yaml from ")
            && err.contains(".env: cannot read policy file policy.yaml: "),
        "{err}"
    );

    let env = settings(d, &Flags::default(), &[("TIMBER_POLICY", "env.yaml")]);
    assert!(
        error(&env).starts_with(
            "TIMBER_POLICY=env.yaml from the environment: cannot read policy file env.yaml: "
        ),
        "{}",
        error(&env)
    );

    let flags = Flags {
        policy: Some("flag.yaml".into()),
        ..Flags::default()
    };
    let flag = settings(d, &flags, &[("TIMBER_POLICY", "env.yaml")]);
    assert!(
        error(&flag).starts_with("--policy flag.yaml: cannot read policy file flag.yaml: "),
        "{}",
        error(&flag)
    );

    // No default policy file exists: without a setting the built-in policy applies.
    std::fs::remove_file(d.join(".env")).unwrap();
    assert!(settings(d, &Flags::default(), &[]).policy.is_none());
}

#[test]
fn a_database_url_error_names_the_setting_it_came_from() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let refused = |s: &Settings| {
        StoreConfig::from_settings(s)
            .expect_err("an unsupported scheme is refused")
            .to_string()
    };

    env_file(d, "DATABASE_URL=oracle://scott:tiger@db/orcl\n");
    let file = settings(d, &Flags::default(), &[]);
    let err = refused(&file);
    assert!(
        err.starts_with("unsupported database URL `oracle://scott:***@db/orcl`")
            && err.contains("; the URL is DATABASE_URL from ")
            && err.ends_with(".env"),
        "{err}"
    );
    assert!(!err.contains("tiger"), "no password: {err}");

    let env = settings(d, &Flags::default(), &[("DATABASE_URL", "foo://x")]);
    assert!(
        refused(&env).ends_with("; the URL is DATABASE_URL from the environment"),
        "{}",
        refused(&env)
    );

    let flags = Flags {
        database_url: Some("bar://x".into()),
        ..Flags::default()
    };
    let flag = settings(d, &flags, &[("DATABASE_URL", "foo://x")]);
    assert!(
        refused(&flag).ends_with("; the URL is from --database-url"),
        "{}",
        refused(&flag)
    );

    // The default URL is fine to parse; when its file is missing, connecting says it was the
    // default and how to choose another.
    std::fs::remove_file(d.join(".env")).unwrap();
    let default = settings(d, &Flags::default(), &[]);
    let config = StoreConfig::from_settings(&default).expect("the default parses");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let err = rt
        .block_on(timber::store::Store::connect(config))
        .expect_err("no file at the default path")
        .to_string();
    assert!(
        err.contains("no database file at timber.db")
            && err.ends_with(
                "; the URL is the default DATABASE_URL (set DATABASE_URL or --database-url)"
            ),
        "{err}"
    );
}

#[test]
fn a_missing_tls_file_names_the_setting_it_came_from() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    env_file(d, "SSL_ROOT_CERT_PATH=ca.pem\n");
    let err = Settings::from_sources(&Flags::default(), &vars(&[]), d)
        .expect_err("a CA file that does not exist is refused")
        .to_string();
    assert!(
        err.starts_with("SSL_ROOT_CERT_PATH=ca.pem from ") && err.contains(".env: no such file"),
        "{err}"
    );
    let err = Settings::from_sources(
        &Flags::default(),
        &vars(&[("SSL_KEY_PATH", "client.key")]),
        d,
    )
    .expect_err("a client key that does not exist is refused")
    .to_string();
    assert!(
        err.starts_with("SSL_KEY_PATH=client.key from the environment: no such file"),
        "{err}"
    );
    // Present files are taken as written.
    std::fs::write(d.join("ca.pem"), "not checked here").unwrap();
    let s = Settings::from_sources(&Flags::default(), &vars(&[]), d).unwrap();
    assert_eq!(s.ssl_root_cert_path.as_deref(), Some(Path::new("ca.pem")));
}

/// The example of the README's "Use it on your database" (`assets/example/`) stays valid:
/// its `env.example` loads as an env file, its models and policy through the loaders every
/// command uses, with the encrypted fields, blind index and roles the README describes.
#[test]
fn the_readme_example_loads_with_the_real_loaders() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/example");
    let flags = Flags {
        env_file: Some(example.join("env.example")),
        ..Flags::default()
    };
    let s = Settings::from_sources(&flags, &vars(&[]), &example).expect("env.example loads");
    assert_eq!(s.database_url.value.scheme(), "postgres");
    assert!(s.require_ssl, "the example asks for verified TLS");
    assert!(
        s.database_url
            .value
            .expose()
            .contains("sslmode=verify-full"),
        "{:?}",
        s.database_url
    );
    let models = timber::config::load_models(&[example.join("models")]).expect("models load");
    let customer = models.find("Customer").expect("the Customer model");
    let encrypted: Vec<&str> = customer
        .columns
        .iter()
        .filter(|c| c.encrypted)
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(encrypted, ["email", "phone", "notes"]);
    assert_eq!(
        customer
            .column("email")
            .and_then(|c| c.blind_index.as_deref()),
        Some("email_hash")
    );
    let policy = timber::config::load_policy(&example.join("policy.yaml")).expect("policy loads");
    assert_eq!(policy.default_role, "viewer");
    for role in ["admin", "support", "viewer"] {
        assert!(policy.roles.contains_key(role), "role {role}");
    }
    assert!(
        policy.roles["admin"]
            .actions
            .contains(&timber::config::PolicyAction::Init),
        "admin may run `timber init`"
    );
}
