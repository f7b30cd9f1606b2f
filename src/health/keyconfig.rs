//! The configured keys as health sees them: each variable parsed on its own (so one bad key
//! does not hide the others), and a key ring for the data scan built from the keys that are
//! usable. `KeyRing::from_settings` refuses a bad or duplicate key outright, which is right
//! for reading and writing data; health must instead report every problem and still scan.

use std::sync::Arc;

use subtle::ConstantTimeEq;

use crate::config::Settings;
use crate::config::{SecretText, Sourced};
use crate::crypto::{Key, KeyError, KeyId, KeyRing, KeySources};

/// One key variable and what parsing it gave. The key itself stays inside `parsed`.
pub struct ConfiguredKey {
    pub id: KeyId,
    /// The variable (or file / command) it came from, for messages.
    pub var: String,
    pub source: String,
    pub parsed: Result<Key, KeyError>,
}

impl std::fmt::Debug for ConfiguredKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let fp = self.parsed.as_ref().map(|k| k.fingerprint().to_string());
        f.debug_struct("ConfiguredKey")
            .field("id", &self.id)
            .field("var", &self.var)
            .field("key", &fp.unwrap_or_else(|_| "invalid".into()))
            .finish()
    }
}

impl ConfiguredKey {
    /// `primary fp:1a2b3c4d5e6f`, or `primary (invalid)`: how findings name a key.
    pub fn label(&self) -> String {
        match &self.parsed {
            Ok(key) => format!("{} {}", self.id, key.fingerprint()),
            Err(_) => format!("{} (invalid)", self.id),
        }
    }
}

/// Every configured key, plus the ring the scan uses.
pub struct KeyConfig {
    /// In trial order: primary, old_1.., named, master, master_old.
    pub keys: Vec<ConfiguredKey>,
    pub ring: Arc<KeyRing>,
    /// Why the ring the program would build was refused, if it was (the scan then runs
    /// with the usable keys only).
    pub ring_error: Option<KeyError>,
    /// Key ids left out of the scan ring (invalid, or a duplicate of an earlier key).
    pub excluded: Vec<KeyId>,
}

impl KeyConfig {
    pub fn from_settings(settings: &Settings) -> KeyConfig {
        let mut keys = Vec::new();
        let mut add = |id: KeyId, default_var: &str, s: &Sourced<SecretText>| {
            let var = var_of(s, default_var);
            keys.push(ConfiguredKey {
                parsed: Key::from_base64_named(s.value.expose(), &var),
                id,
                var,
                source: s.source.to_string(),
            });
        };
        if let Some(s) = &settings.encryption_key {
            add(KeyId::Primary, "ENCRYPTION_KEY", s);
        }
        for (i, s) in settings.encryption_key_old.iter().enumerate() {
            add(KeyId::Old(i + 1), "ENCRYPTION_KEY_OLD", s);
        }
        for (name, s) in &settings.named_keys {
            let var = format!("TIMBER_KEY_{}", name.to_ascii_uppercase());
            add(KeyId::Named(name.clone()), &var, s);
        }
        if let Some(s) = &settings.master_key {
            add(KeyId::Master, "MASTER_ENCRYPTION_KEY", s);
        }
        if let Some(s) = &settings.master_key_old {
            add(KeyId::MasterOld, "MASTER_ENCRYPTION_KEY_OLD", s);
        }

        let (ring, ring_error, excluded) = match KeyRing::from_settings(settings) {
            Ok(ring) => (ring, None, Vec::new()),
            Err(err) => {
                let (ring, excluded) = usable_ring(settings, &keys);
                (ring, Some(err), excluded)
            }
        };
        KeyConfig {
            keys,
            ring: Arc::new(ring),
            ring_error,
            excluded,
        }
    }

    pub fn get(&self, id: &KeyId) -> Option<&ConfiguredKey> {
        self.keys.iter().find(|k| &k.id == id)
    }

    /// Pairs of configured keys holding the same key (compared in constant time).
    pub fn equal_pairs(&self) -> Vec<(&ConfiguredKey, &ConfiguredKey)> {
        let mut pairs = Vec::new();
        for (i, a) in self.keys.iter().enumerate() {
            for b in &self.keys[i + 1..] {
                if let (Ok(x), Ok(y)) = (&a.parsed, &b.parsed)
                    && bool::from(x.raw().ct_eq(y.raw()))
                {
                    pairs.push((a, b));
                }
            }
        }
        pairs
    }
}

/// The variable named in messages for a key from `s`.
fn var_of(s: &Sourced<SecretText>, default: &str) -> String {
    use crate::config::Source;
    match &s.source {
        Source::Env(var) | Source::EnvFile { var, .. } => var.clone(),
        Source::KeyFile(path) => format!("{default}_FILE ({})", path.display()),
        Source::KeyCommand(var) => format!("the output of {var}"),
        Source::Flag(flag) => (*flag).to_string(),
        Source::Default => default.to_string(),
    }
}

/// A ring of the keys that parse and are not duplicates of an earlier key (trial order).
/// An unusable old key is replaced by a fresh random key so that `old_2` keeps its number;
/// the stand-in matches no token and is listed in `excluded` so no report shows it.
fn usable_ring(settings: &Settings, keys: &[ConfiguredKey]) -> (KeyRing, Vec<KeyId>) {
    let mut excluded = Vec::new();
    let mut accepted: Vec<&Key> = Vec::new();
    let mut usable = |id: &KeyId| -> bool {
        let Some(k) = keys.iter().find(|k| &k.id == id) else {
            return false;
        };
        let ok = match &k.parsed {
            Ok(key) => !accepted
                .iter()
                .any(|a| bool::from(a.raw().ct_eq(key.raw()))),
            Err(_) => false,
        };
        if ok {
            if let Ok(key) = &k.parsed {
                accepted.push(key);
            }
        } else {
            excluded.push(id.clone());
        }
        ok
    };
    let primary = settings
        .encryption_key
        .as_ref()
        .filter(|_| usable(&KeyId::Primary));
    let old: Vec<Sourced<SecretText>> = settings
        .encryption_key_old
        .iter()
        .enumerate()
        .map(|(i, s)| {
            if usable(&KeyId::Old(i + 1)) {
                s.clone()
            } else {
                Sourced {
                    value: SecretText(Key::generate().to_base64()),
                    source: s.source.clone(),
                }
            }
        })
        .collect();
    let named: Vec<(String, Sourced<SecretText>)> = settings
        .named_keys
        .iter()
        .filter(|(name, _)| usable(&KeyId::Named(name.clone())))
        .cloned()
        .collect();
    let master = settings
        .master_key
        .as_ref()
        .filter(|_| usable(&KeyId::Master));
    let master_old = settings
        .master_key_old
        .as_ref()
        .filter(|_| usable(&KeyId::MasterOld));
    let sources = KeySources {
        primary,
        old: &old,
        named: &named,
        master,
        master_old,
    };
    // Every key left is valid and distinct; what can still be refused is a named key with
    // a reserved name. Then the named keys are left out too; an empty ring is the last,
    // safe fallback (the scan then reports tokens as under an unknown key).
    let ring = KeyRing::from_sources(&sources).or_else(|_| {
        excluded.extend(named.iter().map(|(name, _)| KeyId::Named(name.clone())));
        KeyRing::from_sources(&KeySources {
            named: &[],
            ..sources
        })
    });
    let ring = ring.unwrap_or_else(|_| {
        KeyRing::builder()
            .build()
            .unwrap_or_else(|_| unreachable!("an empty ring has no duplicates"))
    });
    (ring, excluded)
}
