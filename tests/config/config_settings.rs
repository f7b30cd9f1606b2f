//! Settings (DESIGN §4): precedence flags > environment > env file > defaults, the env file
//! itself, and validation of non-key variables. Key sources are in config_settings_keys.rs.
//! Uses real files (tests/fixtures/env/, temp dirs).

use crate::config_support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use config_support::*;
use timber::config::{Flags, Settings, Source};

#[test]
fn defaults_apply_when_nothing_is_set() {
    let s = from_env(&[]).unwrap();
    assert_eq!(s.database_url.value.expose(), "sqlite://timber.db");
    assert_eq!(s.database_url.source, Source::Default);
    assert_eq!(s.models_dirs.value, [PathBuf::from("./data/models")]);
    assert_eq!(s.models_dirs.source, Source::Default);
    assert!(s.enable_audit_log && s.enable_access_control && !s.require_ssl && !s.read_only);
    assert!(
        s.encryption_key.is_none() && s.master_key.is_none() && s.encryption_key_old.is_empty()
    );
    assert!(s.named_keys.is_empty() && s.secret_like_vars.is_empty());
    assert_eq!(
        (s.env_file, s.policy, s.role, s.user),
        (None, None, None, None)
    );
}

#[test]
fn flags_beat_environment_which_beats_the_env_file() {
    let file = fixtures().join("layered.env");
    let flags = Flags {
        database_url: Some("sqlite://flag.db".into()),
        ..layered_flags()
    };
    let env = vars(&[
        ("TIMBER_ROLE", "security_admin"),
        ("TIMBER_USER", "  "),
        ("OAK_ENV", ""),
    ]);
    let s = Settings::from_sources(&flags, &env, &fixtures()).unwrap();
    assert_eq!(s.database_url.value.expose(), "sqlite://flag.db");
    assert_eq!(s.database_url.source, Source::Flag("--database-url"));
    let role = s.role.unwrap();
    assert_eq!(
        (role.value.as_str(), role.source),
        ("security_admin", Source::Env("TIMBER_ROLE".into()))
    );
    // A blank variable does not hide the file's value.
    let user = s.user.unwrap();
    assert_eq!(user.value, "file-user");
    assert_eq!(
        user.source,
        Source::EnvFile {
            path: file.clone(),
            var: "TIMBER_USER".into()
        }
    );
    let oak = s.oak_env.unwrap();
    assert_eq!(
        (oak.value.as_str(), &oak.source),
        (
            "production",
            &Source::EnvFile {
                path: file.clone(),
                var: "OAK_ENV".into()
            }
        )
    );
    assert!(
        s.read_only,
        "OAK_ENV=production from the file means read-only"
    );
    assert_eq!(s.env_file, Some(file));
}

#[test]
fn the_env_file_fills_in_every_kind_of_value() {
    let s = Settings::from_sources(&layered_flags(), &BTreeMap::new(), &fixtures()).unwrap();
    assert_eq!(
        s.database_url.value.expose(),
        "postgres://timber:file-db-password@db.internal:5432/app"
    );
    assert_eq!(s.role.unwrap().value, "support", "`export` prefix accepted");
    assert_eq!(
        s.models_dirs.value,
        [
            PathBuf::from("models/a"),
            PathBuf::from("models/b"),
            PathBuf::from("models/c")
        ]
    );
    assert_eq!(s.encryption_key.unwrap().value.expose(), FILE_KEY);
    assert_eq!(s.named_keys.len(), 1);
    assert_eq!(s.named_keys[0].0, "reporting");
    assert_eq!(s.named_keys[0].1.value.expose(), NAMED_KEY);
    assert_eq!(
        s.key_rotation_date.unwrap().value,
        chrono::NaiveDate::from_ymd_opt(2025, 1, 1).unwrap()
    );
    assert!(s.require_ssl && !s.enable_audit_log && s.enable_access_control);
    assert_eq!(s.secret_like_vars.len(), 1);
    assert_eq!(s.secret_like_vars[0].0, "STRIPE_API_KEY");
    assert_eq!(s.secret_like_vars[0].1.value.expose(), "sk_test_file_value");
}

#[test]
fn dot_env_in_the_working_directory_is_optional_and_env_file_replaces_it() {
    let cwd = tempfile::tempdir().unwrap();
    std::fs::write(
        cwd.path().join(".env"),
        "TIMBER_THEME=light\nTIMBER_ROLE=from-dotenv\n",
    )
    .unwrap();
    let s = Settings::from_sources(&Flags::default(), &BTreeMap::new(), cwd.path()).unwrap();
    assert_eq!(s.theme.unwrap().value, "light");
    assert_eq!(s.env_file, Some(cwd.path().join(".env")));

    let s = Settings::from_sources(&layered_flags(), &BTreeMap::new(), cwd.path()).unwrap();
    assert!(
        s.theme.is_none(),
        "./.env is not read when --env-file is given"
    );
    assert_eq!(s.role.unwrap().value, "support");
}

#[test]
fn a_missing_env_file_is_named() {
    let cwd = tempfile::tempdir().unwrap();
    let flags = Flags {
        env_file: Some("prod.env".into()),
        ..Flags::default()
    };
    let err = Settings::from_sources(&flags, &BTreeMap::new(), cwd.path()).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "env file {} (given by --env-file) does not exist",
            cwd.path().join("prod.env").display()
        )
    );
}

#[test]
fn a_malformed_env_file_line_is_located_without_echoing_it() {
    let flags = Flags {
        env_file: Some(fixtures().join("malformed.env")),
        ..Flags::default()
    };
    let err = Settings::from_sources(&flags, &BTreeMap::new(), &fixtures())
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        format!(
            "{}:3: malformed line in env file; expected NAME=value (the line is not shown, it may hold a secret)",
            fixtures().join("malformed.env").display()
        )
    );
    assert!(!err.contains("hunter2"));

    // A bad value (unquoted space) in ./.env: dotenvy reports only the value; the line is found.
    let cwd = tempfile::tempdir().unwrap();
    std::fs::write(
        cwd.path().join(".env"),
        "A=1\n\nENCRYPTION_KEY=hunter2 more-secret\n",
    )
    .unwrap();
    let err = Settings::from_sources(&Flags::default(), &BTreeMap::new(), cwd.path())
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(&format!(
            "{}:3: malformed line",
            cwd.path().join(".env").display()
        )),
        "{err}"
    );
    assert!(!err.contains("hunter2"));
}

#[test]
fn model_directories_from_flags_or_a_separated_list() {
    let flags = Flags {
        models: vec!["x".into(), "y".into()],
        ..Flags::default()
    };
    let s = Settings::from_sources(
        &flags,
        &vars(&[("TIMBER_MODELS", "ignored")]),
        Path::new("."),
    )
    .unwrap();
    assert_eq!(
        s.models_dirs.value,
        [PathBuf::from("x"), PathBuf::from("y")]
    );
    assert_eq!(s.models_dirs.source, Source::Flag("--models"));

    let s = from_env(&[("TIMBER_MODELS", "/srv/models,, ./more:")]).unwrap();
    assert_eq!(
        s.models_dirs.value,
        [PathBuf::from("/srv/models"), PathBuf::from("./more")]
    );
    let err = from_env(&[("TIMBER_MODELS", " , :")]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "TIMBER_MODELS in the environment lists no directory; separate directories with : or ,"
    );
}

#[test]
fn rotation_dates_and_booleans_are_validated() {
    let s = from_env(&[("KEY_ROTATION_DATE", "2025-03-31T23:30:00-02:00")]).unwrap();
    assert_eq!(
        s.key_rotation_date.unwrap().value,
        chrono::NaiveDate::from_ymd_opt(2025, 3, 31).unwrap()
    );
    let err = from_env(&[("KEY_ROTATION_DATE", "31/03/2025")]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid KEY_ROTATION_DATE \"31/03/2025\" in the environment; expected a date (YYYY-MM-DD) or an RFC 3339 time"
    );

    let s = from_env(&[
        ("REQUIRE_SSL", "YES"),
        ("ENABLE_AUDIT_LOG", "no"),
        ("ENABLE_ACCESS_CONTROL", "False"),
    ])
    .unwrap();
    assert!(s.require_ssl && !s.enable_audit_log && !s.enable_access_control);
    let s = from_env(&[("REQUIRE_SSL", "1"), ("ENABLE_AUDIT_LOG", "0")]).unwrap();
    assert!(s.require_ssl && !s.enable_audit_log);
    let err = from_env(&[("ENABLE_ACCESS_CONTROL", "maybe")]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid ENABLE_ACCESS_CONTROL \"maybe\" in the environment; expected true, false, 1, 0, yes or no"
    );
}

#[test]
fn production_is_read_only_unless_write_is_given() {
    let prod = vars(&[("OAK_ENV", "Production")]);
    let cwd = tempfile::tempdir().unwrap();
    let s = Settings::from_sources(&Flags::default(), &prod, cwd.path()).unwrap();
    assert!(s.read_only && s.is_production());
    let write = Flags {
        write: true,
        ..Flags::default()
    };
    assert!(
        !Settings::from_sources(&write, &prod, cwd.path())
            .unwrap()
            .read_only
    );
    let ro = Flags {
        read_only: true,
        ..Flags::default()
    };
    assert!(
        Settings::from_sources(&ro, &BTreeMap::new(), cwd.path())
            .unwrap()
            .read_only
    );
    let both = Flags {
        read_only: true,
        write: true,
        ..Flags::default()
    };
    let err = Settings::from_sources(&both, &BTreeMap::new(), cwd.path()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "--read-only and --write contradict each other; give only one"
    );
}

/// `Settings::load` reads the real process environment (which this test does not change).
#[test]
fn load_reads_the_process_environment() {
    let s = Settings::load(&Flags::default()).unwrap();
    let expected = std::env::var("DATABASE_URL")
        .ok()
        .filter(|v| !v.trim().is_empty());
    assert_eq!(
        s.database_url.value.expose(),
        expected.as_deref().unwrap_or("sqlite://timber.db")
    );
    let err = Settings::load(&Flags {
        env_file: Some("/nonexistent/timber.env".into()),
        ..Flags::default()
    })
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "env file /nonexistent/timber.env (given by --env-file) does not exist"
    );
}
