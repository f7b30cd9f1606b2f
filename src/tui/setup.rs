//! What the console is started with: loaded configuration, no connection yet. Building a
//! [`Setup`] reads files only (models, policy, themes, keymap); the database is opened by
//! a background task after the first frame, so a slow or unreachable server never delays it.

use std::sync::Arc;

use chrono::NaiveDate;

use super::clock::Clock;
use super::keymap::Keymap;
use super::theme::{Theme, ThemeSet};
use crate::access::{Access, AccessError, Identity, MaskHasher};
use crate::config::Settings;
use crate::config::{ModelSet, Policy};
use crate::crypto::KeyRing;
use crate::store::StoreConfig;

/// Everything the console needs before it can draw.
#[derive(Clone, Debug)]
pub struct Setup {
    /// The loaded settings (the health checks judge them).
    pub settings: Arc<Settings>,
    pub models: Arc<ModelSet>,
    pub ring: Arc<KeyRing>,
    pub policy: Policy,
    pub identity: Identity,
    /// `ENABLE_ACCESS_CONTROL`.
    pub access_control: bool,
    /// Keys the `hash` masking level.
    pub hasher: MaskHasher,
    pub store_config: StoreConfig,
    /// `OAK_ENV`, or `development` when unset.
    pub environment: String,
    /// `ENABLE_AUDIT_LOG`.
    pub audit_enabled: bool,
    /// `KEY_ROTATION_DATE`: when the primary key was last rotated, for key ages.
    pub key_rotation_date: Option<NaiveDate>,
    pub theme: Theme,
    pub themes: ThemeSet,
    pub keymap: Keymap,
    pub clock: Clock,
    /// Problems found while loading (keymap conflicts, theme files), shown at start.
    pub warnings: Vec<String>,
}

impl Setup {
    /// The masking pipeline for `role` (same user); the role must exist in the policy.
    pub fn access_for(&self, role: &str, origin: &str) -> Result<Access, AccessError> {
        let identity = self.identity.with_role(&self.policy, role, origin)?;
        Access::new(
            self.policy.clone(),
            identity,
            self.access_control,
            self.hasher.clone(),
        )
    }

    /// The masking pipeline for the role the console was started with.
    pub fn access(&self) -> Result<Access, AccessError> {
        Access::new(
            self.policy.clone(),
            self.identity.clone(),
            self.access_control,
            self.hasher.clone(),
        )
    }

    /// The database as shown in the status bar: scheme and place, never a password.
    pub fn database_label(&self) -> String {
        let url = self.store_config.url.redacted();
        match url.split_once("://") {
            Some(("sqlite", path)) => {
                let path = path.split('?').next().unwrap_or(path);
                let name = std::path::Path::new(path)
                    .file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or(path);
                format!("sqlite:{name}")
            }
            Some((scheme, rest)) => {
                let host_db = rest.rsplit('@').next().unwrap_or(rest);
                format!("{scheme}:{}", host_db.split('?').next().unwrap_or(host_db))
            }
            None => url,
        }
    }
}
