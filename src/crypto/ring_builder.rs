//! Building a `KeyRing`: from `Settings` (the program) or key by key (tests, tools).
//!
//! Every key text is parsed with the name of the variable it came from, so a bad key's
//! message says which variable to fix and never shows the text. The ring refuses two
//! variables holding the same key: identification by HMAC could not tell them apart, and
//! a master key equal to the data key would let anyone holding the data key derive every
//! per-user, blind-index and audit key.

use std::sync::Arc;

use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::fernet::FernetKey;
use super::key::{Key, KeyError};
use super::keyring::{KeyId, KeyRing, MasterKey, RingKey};
use super::user_keys::{USER_KEY_CACHE_CAPACITY, UserKeyCache};
use crate::config::{SecretText, Settings, Source, Sourced};

struct Slot {
    id: KeyId,
    key: Key,
    var: String,
    source: String,
}

struct MasterSlot {
    text: Zeroizing<String>,
    key: Key,
    var: String,
    source: String,
}

/// Adds keys one at a time; `build` checks that they are distinct.
#[derive(Default)]
pub struct KeyRingBuilder {
    primary: Option<Slot>,
    old: Vec<Slot>,
    named: Vec<Slot>,
    master: Option<MasterSlot>,
    master_old: Option<MasterSlot>,
    user_cache_capacity: Option<usize>,
}

impl KeyRing {
    pub fn builder() -> KeyRingBuilder {
        KeyRingBuilder::default()
    }

    /// A ring holding only a primary key (tests, `timber keygen` checks).
    pub fn from_key(primary: Key) -> KeyRing {
        let mut builder = KeyRing::builder();
        builder.primary = Some(Slot {
            id: KeyId::Primary,
            key: primary,
            var: "primary key".into(),
            source: "given".into(),
        });
        builder
            .build()
            .unwrap_or_else(|_| unreachable!("a single key cannot be a duplicate"))
    }

    /// The ring the settings describe (see `from_sources`).
    pub fn from_settings(settings: &Settings) -> Result<KeyRing, KeyError> {
        KeyRing::from_sources(&KeySources {
            primary: settings.encryption_key.as_ref(),
            old: &settings.encryption_key_old,
            named: &settings.named_keys,
            master: settings.master_key.as_ref(),
            master_old: settings.master_key_old.as_ref(),
        })
    }

    /// `ENCRYPTION_KEY` as `primary`, `ENCRYPTION_KEY_OLD` entries as `old_1`, `old_2`, …,
    /// `TIMBER_KEY_<NAME>` keys by name, `MASTER_ENCRYPTION_KEY` and
    /// `MASTER_ENCRYPTION_KEY_OLD`. Any key may be absent. Messages name the variable each
    /// key came from (the file for `*_FILE`, the variable for `*_COMMAND`).
    pub fn from_sources(sources: &KeySources<'_>) -> Result<KeyRing, KeyError> {
        let mut b = KeyRing::builder();
        if let Some(s) = sources.primary {
            let var = var_name(&s.source, "ENCRYPTION_KEY") + &in_file(&s.source);
            b = b.add_primary(s.value.expose(), var, s.source.to_string())?;
        }
        let several = sources.old.len() > 1;
        for (i, s) in sources.old.iter().enumerate() {
            let mut var = var_name(&s.source, "ENCRYPTION_KEY_OLD");
            let mut source = s.source.to_string();
            if several {
                var = format!("{var} (entry {})", i + 1);
                source = format!("{source} #{}", i + 1);
            }
            var.push_str(&in_file(&s.source));
            b = b.add_old(s.value.expose(), var, source)?;
        }
        for (name, s) in sources.named {
            let default_var = format!("TIMBER_KEY_{}", name.to_ascii_uppercase());
            let var = var_name(&s.source, &default_var) + &in_file(&s.source);
            b = b.add_named(name, s.value.expose(), var, s.source.to_string())?;
        }
        if let Some(s) = sources.master {
            b = b.add_master(s, "MASTER_ENCRYPTION_KEY", false)?;
        }
        if let Some(s) = sources.master_old {
            b = b.add_master(s, "MASTER_ENCRYPTION_KEY_OLD", true)?;
        }
        b.build()
    }
}

/// The key settings a ring is built from: the key fields of `Settings`, borrowed.
#[derive(Clone, Copy, Debug, Default)]
pub struct KeySources<'a> {
    pub primary: Option<&'a Sourced<SecretText>>,
    pub old: &'a [Sourced<SecretText>],
    pub named: &'a [(String, Sourced<SecretText>)],
    pub master: Option<&'a Sourced<SecretText>>,
    pub master_old: Option<&'a Sourced<SecretText>>,
}

/// Where an env-file key was set, appended to its variable in messages (" in env file
/// PATH"): a bad key in a file must name the file to fix, as other settings errors do.
fn in_file(source: &Source) -> String {
    match source {
        Source::EnvFile { path, var } => {
            format!(
                " in {}",
                crate::config::env_layers::env_file_place(path, var)
            )
        }
        _ => String::new(),
    }
}

/// The variable to name in messages about a key from `source`.
fn var_name(source: &Source, default: &str) -> String {
    match source {
        Source::Env(var) | Source::EnvFile { var, .. } => var.clone(),
        Source::KeyFile(path) => format!("{default}_FILE ({})", path.display()),
        Source::KeyCommand(var) => format!("the output of {var}"),
        Source::Flag(flag) => (*flag).to_string(),
        Source::Default => default.to_string(),
    }
}

fn is_reserved(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    matches!(lower.as_str(), "primary" | "master" | "master_old")
        || lower.starts_with("old_")
        || lower.starts_with("user_")
}

impl KeyRingBuilder {
    /// `ENCRYPTION_KEY`: encrypts new data. `var` names the variable in error messages.
    pub fn primary(self, text: &str, var: &str) -> Result<Self, KeyError> {
        self.add_primary(text, var.to_string(), format!("env {var}"))
    }

    /// An old key (decrypt-only); numbered `old_1`, `old_2`, … in the order added.
    pub fn old(self, text: &str, var: &str) -> Result<Self, KeyError> {
        self.add_old(text, var.to_string(), format!("env {var}"))
    }

    /// A named key for `encryption.key_identifier`.
    pub fn named(self, name: &str, text: &str, var: &str) -> Result<Self, KeyError> {
        self.add_named(name, text, var.to_string(), format!("env {var}"))
    }

    /// `MASTER_ENCRYPTION_KEY`: its text is the per-user PBKDF2 password.
    pub fn master(self, text: &str, var: &str) -> Result<Self, KeyError> {
        let sourced = Sourced {
            value: SecretText::new(text),
            source: Source::Env(var.into()),
        };
        self.add_master(&sourced, var, false)
    }

    /// `MASTER_ENCRYPTION_KEY_OLD`: reads per-user data during a master rotation.
    pub fn master_old(self, text: &str, var: &str) -> Result<Self, KeyError> {
        let sourced = Sourced {
            value: SecretText::new(text),
            source: Source::Env(var.into()),
        };
        self.add_master(&sourced, var, true)
    }

    /// Bounds the per-user key cache (default `USER_KEY_CACHE_CAPACITY`).
    pub fn user_cache_capacity(mut self, capacity: usize) -> Self {
        self.user_cache_capacity = Some(capacity);
        self
    }

    fn add_primary(mut self, text: &str, var: String, source: String) -> Result<Self, KeyError> {
        let key = Key::from_base64_named(text, &var)?;
        self.primary = Some(Slot {
            id: KeyId::Primary,
            key,
            var,
            source,
        });
        Ok(self)
    }

    fn add_old(mut self, text: &str, var: String, source: String) -> Result<Self, KeyError> {
        let key = Key::from_base64_named(text, &var)?;
        let id = KeyId::Old(self.old.len() + 1);
        self.old.push(Slot {
            id,
            key,
            var,
            source,
        });
        Ok(self)
    }

    fn add_named(
        mut self,
        name: &str,
        text: &str,
        var: String,
        source: String,
    ) -> Result<Self, KeyError> {
        if name.is_empty() || is_reserved(name) {
            return Err(KeyError::ReservedName {
                var,
                name: name.to_string(),
            });
        }
        let key = Key::from_base64_named(text, &var)?;
        if let Some(other) = self
            .named
            .iter()
            .find(|s| s.id == KeyId::Named(name.to_string()))
        {
            return Err(KeyError::Duplicate {
                var,
                other: other.var.clone(),
            });
        }
        self.named.push(Slot {
            id: KeyId::Named(name.to_string()),
            key,
            var,
            source,
        });
        Ok(self)
    }

    fn add_master(
        mut self,
        sourced: &Sourced<SecretText>,
        default_var: &str,
        old: bool,
    ) -> Result<Self, KeyError> {
        let var = var_name(&sourced.source, default_var) + &in_file(&sourced.source);
        let text = sourced.value.expose();
        let key = Key::from_base64_named(text, &var)?;
        let slot = MasterSlot {
            text: Zeroizing::new(text.to_string()),
            key,
            var,
            source: sourced.source.to_string(),
        };
        if old {
            self.master_old = Some(slot);
        } else {
            self.master = Some(slot);
        }
        Ok(self)
    }

    /// Checks distinctness and prepares every key once.
    pub fn build(self) -> Result<KeyRing, KeyError> {
        let mut all: Vec<(&Key, &str, bool)> = Vec::new();
        for slot in self.primary.iter().chain(&self.old).chain(&self.named) {
            all.push((&slot.key, &slot.var, false));
        }
        for master in self.master.iter().chain(&self.master_old) {
            all.push((&master.key, &master.var, true));
        }
        for (i, (key, var, is_master)) in all.iter().enumerate() {
            for (j, (earlier, earlier_var, _)) in all[..i].iter().enumerate() {
                // The signing half alone too: a token's key is found by its HMAC, so two keys
                // sharing it could not be told apart, and which one a search names would
                // depend on the order it tried them in (keyring.rs tries the last match
                // first).
                if bool::from(key.raw().ct_eq(earlier.raw()))
                    || bool::from(key.signing_key().ct_eq(earlier.signing_key()))
                {
                    // The primary, when present, is always first in `all`.
                    let earlier_is_primary = j == 0 && self.primary.is_some();
                    return Err(if *is_master && earlier_is_primary {
                        KeyError::MasterEqualsPrimary {
                            var: var.to_string(),
                            primary_var: earlier_var.to_string(),
                        }
                    } else {
                        KeyError::Duplicate {
                            var: var.to_string(),
                            other: earlier_var.to_string(),
                        }
                    });
                }
            }
        }

        let mut keys = Vec::new();
        for slot in self.primary.into_iter().chain(self.old).chain(self.named) {
            let key = Arc::new(FernetKey::new(&slot.key));
            keys.push(RingKey {
                id: slot.id,
                key,
                source: slot.source,
            });
        }
        let mut masters = Vec::new();
        for (slot, id) in [
            (self.master, KeyId::Master),
            (self.master_old, KeyId::MasterOld),
        ] {
            masters.push(slot.map(|m| {
                keys.push(RingKey {
                    id,
                    key: Arc::new(FernetKey::new(&m.key)),
                    source: m.source,
                });
                MasterKey {
                    text: m.text,
                    key: m.key,
                }
            }));
        }
        let master_old = masters.pop().flatten();
        let master = masters.pop().flatten();
        let capacity = self.user_cache_capacity.unwrap_or(USER_KEY_CACHE_CAPACITY);
        Ok(KeyRing {
            keys,
            master,
            master_old,
            user_keys: UserKeyCache::with_capacity(capacity),
        })
    }
}
