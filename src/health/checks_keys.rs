//! KEY family: presence and format, distinctness, age against the rotation schedule, old
//! keys still needed, weak or published keys. Findings name keys by id and fingerprint,
//! and variables by name; a key's text or bytes never appear.

use chrono::NaiveDate;

use super::census::Survey;
use super::keyconfig::{ConfiguredKey, KeyConfig};
use super::report::{Evidence, Finding, Severity};
use super::stats::KeyBucket;
use crate::config::{Classification, ModelDef, Settings};
use crate::crypto::{Key, KeyId};

const KEYGEN: &str = "generate one with `timber keygen`";

fn key_evidence(key: &ConfiguredKey) -> Evidence {
    Evidence::none()
        .with("key", key.label())
        .with("variable", key.var.clone())
}

/// key.primary: ENCRYPTION_KEY is set and is a Fernet key.
pub fn primary(keys: &KeyConfig) -> Finding {
    let id = "key.primary";
    match keys.get(&KeyId::Primary) {
        None => Finding::fail(
            id,
            "ENCRYPTION_KEY is not set: new values cannot be encrypted",
        )
        .remedy(format!("Set ENCRYPTION_KEY ({KEYGEN})")),
        Some(k) => match &k.parsed {
            Err(err) => Finding::fail(id, err.to_string())
                .evidence(key_evidence(k))
                .remedy(format!("Fix {} ({KEYGEN})", k.var)),
            Ok(key) => Finding::ok(
                id,
                format!(
                    "primary {} from {} is a valid Fernet key",
                    key.fingerprint(),
                    k.source
                ),
            )
            .evidence(key_evidence(k)),
        },
    }
}

/// What needs the master key in this configuration, for messages.
fn master_needed_by(models: &[&ModelDef], settings: &Settings) -> Vec<String> {
    let mut needs = Vec::new();
    if let Some(m) = models.iter().find(|m| m.encryption.per_user) {
        needs.push(format!("per-user keys ({})", m.name));
    }
    if let Some(m) = models
        .iter()
        .find(|m| m.columns.iter().any(|c| c.blind_index.is_some()))
    {
        needs.push(format!("blind indexes ({})", m.name));
    }
    if settings.enable_audit_log {
        needs.push("the audit chain (ENABLE_AUDIT_LOG)".into());
    }
    needs
}

/// key.master: MASTER_ENCRYPTION_KEY is set, valid, and no other key's twin.
pub fn master(keys: &KeyConfig, models: &[&ModelDef], settings: &Settings) -> Finding {
    let id = "key.master";
    let needs = master_needed_by(models, settings);
    let Some(k) = keys.get(&KeyId::Master) else {
        let severity = if needs.is_empty() {
            Severity::Warn
        } else {
            Severity::Fail
        };
        let why = if needs.is_empty() {
            "per-user keys, blind indexes and the audit chain will not work".to_string()
        } else {
            format!("needed by {}", needs.join(", "))
        };
        return Finding::new(
            id,
            severity,
            format!("MASTER_ENCRYPTION_KEY is not set: {why}"),
        )
        .remedy(format!(
            "Set MASTER_ENCRYPTION_KEY to a key distinct from the data keys ({KEYGEN})"
        ));
    };
    let key = match &k.parsed {
        Err(err) => {
            return Finding::fail(id, err.to_string())
                .evidence(key_evidence(k))
                .remedy(format!("Fix {} ({KEYGEN})", k.var));
        }
        Ok(key) => key,
    };
    let twins: Vec<&ConfiguredKey> = keys
        .equal_pairs()
        .into_iter()
        .filter_map(|(a, b)| match (&a.id, &b.id) {
            (KeyId::Master, _) => Some(b),
            (_, KeyId::Master) => Some(a),
            _ => None,
        })
        .collect();
    if let Some(twin) = twins.first() {
        return Finding::fail(
            id,
            format!(
                "MASTER_ENCRYPTION_KEY is the same key as {} ({}): whoever holds that key can \
                 derive every per-user, blind-index and audit key",
                twin.var,
                key.fingerprint()
            ),
        )
        .evidence(key_evidence(k))
        .remedy(
            "Set MASTER_ENCRYPTION_KEY to a new key (`timber keygen`), keep the current one as \
             MASTER_ENCRYPTION_KEY_OLD while `timber rotate --all` re-encrypts per-user data, \
             then rebuild blind indexes",
        );
    }
    Finding::ok(
        id,
        format!(
            "master {} from {} is valid and distinct",
            key.fingerprint(),
            k.source
        ),
    )
    .evidence(key_evidence(k))
}

/// key.distinct: no two configured keys are the same (pairs with the master are
/// `key.master`'s to report).
pub fn distinct(keys: &KeyConfig) -> Vec<Finding> {
    let id = "key.distinct";
    let pairs: Vec<_> = keys
        .equal_pairs()
        .into_iter()
        .filter(|(a, b)| a.id != KeyId::Master && b.id != KeyId::Master)
        .collect();
    if pairs.is_empty() {
        let valid = keys.keys.iter().filter(|k| k.parsed.is_ok()).count();
        return vec![Finding::ok(
            id,
            format!("{valid} configured keys are all distinct"),
        )];
    }
    pairs
        .into_iter()
        .map(|(a, b)| {
            Finding::fail(
                id,
                format!("{} and {} hold the same key ({})", a.var, b.var, b.label()),
            )
            .evidence(key_evidence(b))
            .remedy(format!(
                "Remove the duplicate from {}; each variable must hold a different key",
                b.var
            ))
        })
        .collect()
}

/// The model with the strictest rotation schedule among those with encrypted columns
/// (a model without `classification` counts as standard).
pub fn strictest<'m>(models: &[&'m ModelDef]) -> Option<(&'m ModelDef, Classification)> {
    models
        .iter()
        .filter(|m| m.has_encrypted_columns())
        .map(|m| (*m, m.classification.unwrap_or(Classification::Standard)))
        .min_by_key(|(_, c)| c.rotation_days())
}

/// key.age: KEY_ROTATION_DATE against the strictest schedule. Within the period: ok;
/// past it: warn (due); past twice the period: fail (overdue). No date: warn.
pub fn age(settings: &Settings, models: &[&ModelDef], today: NaiveDate) -> Finding {
    let id = "key.age";
    let Some((model, class)) = strictest(models) else {
        return Finding::ok(
            id,
            "no model has encrypted columns: no rotation schedule applies",
        );
    };
    let period = class.rotation_days();
    let evidence = Evidence::at(&model.name, &model.table_name, None)
        .with("classification", class.as_str())
        .with("period_days", period);
    let schedule = format!(
        "{} ({}) rotates every {period} days",
        model.name,
        class.as_str()
    );
    let rotate = "Rotate: move ENCRYPTION_KEY to ENCRYPTION_KEY_OLD, set a new ENCRYPTION_KEY \
                  (`timber keygen`), run `timber rotate --all`, then set KEY_ROTATION_DATE to today";
    let Some(date) = &settings.key_rotation_date else {
        return Finding::warn(id, format!("KEY_ROTATION_DATE is not set: cannot tell whether rotation is due; {schedule}"))
            .evidence(evidence)
            .remedy("Set KEY_ROTATION_DATE=YYYY-MM-DD to the day ENCRYPTION_KEY was created or last rotated");
    };
    let days = (today - date.value).num_days();
    let evidence = evidence
        .count(days.max(0) as u64)
        .with("rotated", date.value.to_string());
    if days < 0 {
        return Finding::warn(
            id,
            format!("KEY_ROTATION_DATE {} is in the future", date.value),
        )
        .evidence(evidence)
        .remedy("Set KEY_ROTATION_DATE to the day the current ENCRYPTION_KEY was put in place");
    }
    let due = date.value + chrono::Duration::days(period);
    if days <= period {
        return Finding::ok(
            id,
            format!("key rotated {days} days ago; {schedule}; next due {due}"),
        )
        .evidence(evidence);
    }
    let severity = if days > 2 * period {
        Severity::Fail
    } else {
        Severity::Warn
    };
    let word = if severity == Severity::Fail {
        "overdue"
    } else {
        "due"
    };
    Finding::new(
        id,
        severity,
        format!("rotation {word}: key rotated {days} days ago; {schedule}"),
    )
    .evidence(evidence)
    .remedy(rotate)
}

/// key.old_needed: each old key (and the old master) is still needed by some values, or
/// can be retired. Only a complete scan may say "unused".
pub fn old_needed(keys: &KeyConfig, survey: &Survey) -> Vec<Finding> {
    let id = "key.old_needed";
    let olds: Vec<(&ConfiguredKey, KeyBucket)> = keys
        .keys
        .iter()
        .filter(|k| k.parsed.is_ok() && !keys.excluded.contains(&k.id))
        .filter_map(|k| match k.id {
            KeyId::Old(_) => Some((k, KeyBucket::Configured(k.id.clone()))),
            KeyId::MasterOld => Some((k, KeyBucket::PerUserOld)),
            _ => None,
        })
        .collect();
    if olds.is_empty() {
        return vec![Finding::ok(id, "no old keys are configured")];
    }
    olds.into_iter()
        .map(|(k, bucket)| {
            let mut n = survey.count_under(&bucket);
            if let KeyId::MasterOld = k.id {
                n += survey.count_under(&KeyBucket::Configured(KeyId::MasterOld));
            }
            let evidence = key_evidence(k).count(n);
            if n > 0 {
                Finding::ok(id, format!("{} still decrypts {}: keep it until {} rotated", k.label(), crate::plural::count(n, "value"), crate::plural::pick(n, "it is", "they are")))
                    .evidence(evidence)
                    .remedy(format!("`timber rotate --all`, then remove it from {}", k.var))
            } else if !survey.complete() {
                Finding::ok(id, format!("{} decrypts no value read, but the scan was partial (sampled or incomplete): scan fully before retiring it", k.label()))
                    .evidence(evidence.with("sampled", true))
            } else {
                Finding::warn(id, format!("{} decrypts no value any more: it can be retired", k.label()))
                    .evidence(evidence)
                    .remedy(format!("Remove it from {} (and `timber keys retire {}` if it is registered)", k.var, k.id))
            }
        })
        .collect()
}

/// Why a key's bytes look chosen rather than random, if they do. A random 32-byte key has
/// about 30 distinct byte values and is almost never all printable text.
pub fn low_entropy(bytes: &[u8; 32]) -> Option<String> {
    let mut seen = [false; 256];
    for b in bytes {
        seen[*b as usize] = true;
    }
    let distinct = seen.iter().filter(|s| **s).count();
    if distinct < 16 {
        return Some(format!(
            "only {distinct} distinct byte values of 32 (a random key has about 30)"
        ));
    }
    if bytes.iter().all(|b| (0x20..=0x7e).contains(b)) {
        return Some("every byte is printable text: a password, not a random key".into());
    }
    let step = bytes[1].wrapping_sub(bytes[0]);
    if bytes.windows(2).all(|w| w[1].wrapping_sub(w[0]) == step) {
        return Some("its bytes are a simple sequence".into());
    }
    if bytes[..16] == bytes[16..] {
        return Some("its signing and encryption halves are equal".into());
    }
    None
}

/// key.weak: a configured key is one of the demo's published keys or has low entropy.
/// A failure in production, a warning elsewhere.
pub fn weak(keys: &KeyConfig, production: bool) -> Vec<Finding> {
    let id = "key.weak";
    let severity = if production {
        Severity::Fail
    } else {
        Severity::Warn
    };
    let demo: Vec<Key> = crate::demo::DEMO_KEYS
        .iter()
        .filter_map(|t| Key::from_base64(t).ok())
        .collect();
    let mut out = Vec::new();
    for k in &keys.keys {
        let Ok(key) = &k.parsed else { continue };
        let why = if demo.iter().any(|d| d == key) {
            Some("is a demo key published in timber's source".to_string())
        } else {
            low_entropy(key.raw()).map(|w| format!("has low entropy: {w}"))
        };
        if let Some(why) = why {
            let env = if production {
                " (OAK_ENV=production)"
            } else {
                ""
            };
            out.push(
                Finding::new(id, severity, format!("{} from {} {why}{env}", k.label(), k.var))
                    .evidence(key_evidence(k))
                    .remedy(format!("Replace {} with a new key ({KEYGEN}) and re-encrypt with `timber rotate --all`", k.var)),
            );
        }
    }
    if out.is_empty() {
        out.push(Finding::ok(
            id,
            "no configured key is a published demo key or has low entropy",
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn low_entropy_flags_chosen_keys_but_not_random_ones() {
        assert!(low_entropy(&[7u8; 32]).unwrap().contains("1 distinct"));
        assert!(
            low_entropy(b"Tr0ub4dor&3-My-Secret-Key-2024!!")
                .unwrap()
                .contains("printable")
        );
        let seq: [u8; 32] = std::array::from_fn(|i| (i * 3) as u8);
        assert!(low_entropy(&seq).unwrap().contains("sequence"));
        for _ in 0..200 {
            assert_eq!(low_entropy(Key::generate().raw()), None);
        }
    }
}
