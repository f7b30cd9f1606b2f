//! Which key encrypts the values an audit entry recorded (issue 15): new entries use the
//! audit data key derived from the master, but entries written before it were encrypted
//! under a data key (`ENCRYPTION_KEY`, later `_OLD`). Retiring such a key would leave those
//! values unreadable, and they cannot be re-encrypted (the chain covers the token), so the
//! retirement census counts them here and refuses while any remain.

use super::AuditError;
use super::query::for_each_entry;
use crate::crypto::{KeyId, KeyRing};
use crate::store::{AUDIT_LOG, Store};

/// How many audit entries hold values encrypted under `key` (for the old master: under its
/// derived audit data key). Nothing is decrypted beyond the tag check that tells keys apart.
pub async fn values_under(store: &Store, ring: &KeyRing, key: &KeyId) -> Result<u64, AuditError> {
    if !store.table_exists(AUDIT_LOG).await? {
        return Ok(0);
    }
    let derived_old = match key {
        KeyId::MasterOld => ring.audit_data_key_old(),
        KeyId::Master => ring.audit_data_key(),
        _ => None,
    };
    let mut count = 0u64;
    for_each_entry(store, &mut |entry| {
        let Some(token) = entry
            .content
            .detail
            .as_deref()
            .filter(|d| d.starts_with("gAAAAA"))
        else {
            return;
        };
        let under = match &derived_old {
            Some(derived) => derived.decrypt(token).is_ok(),
            None => ring
                .classify(token, None)
                .is_ok_and(|found| &found.id == key),
        };
        if under {
            count += 1;
        }
    })
    .await?;
    Ok(count)
}
