//! Shared by the settings tests: the env fixtures, test key texts and small builders.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use timber::config::{ConfigError, Flags, Settings};

/// Test key texts (32 bytes of ASCII each, url-safe base64), used nowhere else.
pub const FILE_KEY: &str = "ZW52LWZpbGUgcHJpbWFyeSBrZXkgZm9yIHRlc3RzISE=";
pub const KEYFILE_KEY: &str = "a2V5IGZpbGUgZml4dHVyZSBmb3IgdGltYmVyIHRlc3Q=";
pub const NAMED_KEY: &str = "cmVwb3J0aW5nIG5hbWVkIGtleSBmaXh0dXJlIHRlc3Q=";

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/env")
}

pub fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Settings from `pairs` as the environment, in an empty working directory.
pub fn from_env(pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
    let cwd = tempfile::tempdir().unwrap();
    Settings::from_sources(&Flags::default(), &vars(pairs), cwd.path())
}

pub fn layered_flags() -> Flags {
    Flags {
        env_file: Some(fixtures().join("layered.env")),
        ..Flags::default()
    }
}
