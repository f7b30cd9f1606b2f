//! Appending to the audit log: [`AuditLog`] chains each entry to the head under the store's
//! append lock, encrypts values in `detail`, and moves the sealed head. It is also the
//! store's [`WriteObserver`], so writes to `AuditMixin` models are recorded.
//!
//! An action that must be audited calls [`AuditLog::append`] (or [`AuditLog::record`])
//! *before* doing what it records, and does not do it if the append fails.

use std::sync::Arc;

use chrono::Utc;
use futures_util::future::BoxFuture;

use super::AuditError;
use super::chain::{
    AuditKey, GENESIS, MASTER_KEY_ACTION, encode_canonical, entry_hash, from_hex, handover_seal,
    head_mac, head_mac_matches, to_hex,
};
use super::entry::{Action, AuditEntry, EntryContent};
use crate::config::Mixin;
use crate::crypto::{FernetKey, KeyRing};
use crate::store::AUDIT_LOG;
use crate::store::{AuditEntry as StoredEntry, AuditHead, AuditRow};
use crate::store::{AuditWriter, Store, WriteEvent, WriteObserver};

/// What `detail` holds.
#[derive(Clone, Debug, PartialEq)]
pub enum Detail {
    None,
    /// Non-sensitive facts (a reason, a job id, a count), stored as plain JSON: searchable.
    Facts(serde_json::Value),
    /// Values (old and new field values): stored as a Fernet token under the audit data key
    /// derived from the master (`timber-audit-data-v1`), never under a data key.
    Values(serde_json::Value),
}

/// One entry to append; the log adds the time and the hashes.
#[derive(Clone, Debug, PartialEq)]
pub struct NewEntry {
    pub actor: String,
    pub action: Action,
    pub table_name: Option<String>,
    pub record_id: Option<String>,
    pub fields: Vec<String>,
    pub detail: Detail,
}

/// The writing side of the audit log.
pub struct AuditLog {
    store: Store,
    writer: AuditWriter,
    key: AuditKey,
    /// The primary Fernet key, for `Detail::Values`; `None` when ENCRYPTION_KEY is unset.
    values_key: Option<Arc<FernetKey>>,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AuditLog({:?}, {:?})", self.store, self.key)
    }
}

impl AuditLog {
    /// Opens the append-only audit connection. Refuses without MASTER_ENCRYPTION_KEY: an
    /// unkeyed chain could be rewritten by anyone with database access.
    pub async fn open(store: &Store, ring: &KeyRing) -> Result<AuditLog, AuditError> {
        let key = ring.audit_key().ok_or(AuditError::NoMasterKey)?;
        if !store.table_exists(AUDIT_LOG).await? {
            return Err(AuditError::NotInitialized {
                url: store.url_redacted(),
            });
        }
        let writer = store.audit_writer().await?;
        let genesis = AuditHead {
            entry_id: 0,
            entry_hash: to_hex(&GENESIS),
            mac: to_hex(&head_mac(&key, 0, &GENESIS)),
            updated_at: Utc::now().naive_utc(),
        };
        store.audit_ensure_head(&genesis).await?;
        let log = AuditLog {
            store: store.clone(),
            writer,
            key,
            values_key: ring.audit_data_key().map(Arc::new),
        };
        if let Some(old) = ring.audit_key_old() {
            log.hand_over_from(&old).await?;
        }
        Ok(log)
    }

    /// After a master-key rotation (MASTER_ENCRYPTION_KEY_OLD set): when the head is still
    /// sealed by the old key, appends an `audit.master_key` entry hashed under the new key
    /// and carrying the old key's seal over the chain so far, so the move to the new key is
    /// vouched for by both (the verifier requires it at the switch).
    async fn hand_over_from(&self, old: &AuditKey) -> Result<(), AuditError> {
        let Some(head) = self.store.audit_head().await? else {
            return Ok(());
        };
        let (Some(hash), Some(mac)) = (from_hex(&head.entry_hash), from_hex(&head.mac)) else {
            return Ok(());
        };
        let sealed_by_old = head.entry_id > 0
            && head_mac_matches(old, head.entry_id, &hash, &mac)
            && !head_mac_matches(&self.key, head.entry_id, &hash, &mac);
        if !sealed_by_old {
            return Ok(());
        }
        let entry = NewEntry {
            actor: "timber".into(),
            action: Action::Other(MASTER_KEY_ACTION.into()),
            table_name: None,
            record_id: None,
            fields: Vec::new(),
            detail: Detail::None,
        };
        self.append_sealed(entry, Some(old)).await?;
        Ok(())
    }

    pub fn key(&self) -> &AuditKey {
        &self.key
    }

    /// Appends one entry chained to the current head; returns it as stored.
    pub async fn append(&self, entry: NewEntry) -> Result<AuditEntry, AuditError> {
        self.append_sealed(entry, None).await
    }

    /// Appends; with `handover`, the detail is the old key's seal over the head the entry
    /// is chained to (computed inside the append's transaction, so a concurrent writer
    /// cannot slip between the seal and the entry).
    async fn append_sealed(
        &self,
        entry: NewEntry,
        handover: Option<&AuditKey>,
    ) -> Result<AuditEntry, AuditError> {
        let detail = match entry.detail {
            Detail::None => None,
            Detail::Facts(json) => Some(json.to_string()),
            Detail::Values(json) => {
                let key = self.values_key.as_ref().ok_or(AuditError::NoPrimaryKey)?;
                Some(key.encrypt(json.to_string().as_bytes()))
            }
        };
        let content = EntryContent {
            created_at: EntryContent::truncate_to_micros(Utc::now().naive_utc()),
            actor: entry.actor,
            action: entry.action.as_str().to_string(),
            table_name: entry.table_name,
            record_id: entry.record_id,
            fields: entry.fields,
            detail,
        };
        let key = &self.key;
        let action = content.action.clone();
        let mut content = content;
        let mut sealed: Option<(String, String)> = None;
        let build = |head: Option<&AuditHead>| -> Result<AuditRow, String> {
            let prev = match head {
                None => GENESIS,
                Some(h) => from_hex(&h.entry_hash).ok_or_else(|| {
                    "the audit head row holds no valid hash; run `timber audit --verify`"
                        .to_string()
                })?,
            };
            if let Some(old) = handover {
                content.detail = Some(
                    serde_json::json!({
                        "old_key_seal": to_hex(&handover_seal(old, &prev)),
                        "after_entry": head.map(|h| h.entry_id),
                    })
                    .to_string(),
                );
            }
            let mut buf = Vec::with_capacity(256);
            encode_canonical(&content, &mut buf);
            let hash = to_hex(&entry_hash(key, &prev, &buf));
            sealed = Some((to_hex(&prev), hash.clone()));
            Ok(to_row(&content, to_hex(&prev), hash))
        };
        let head = |id: i64, row: &AuditRow| {
            let hash = from_hex(&row.entry_hash).unwrap_or(GENESIS);
            AuditHead {
                entry_id: id,
                entry_hash: row.entry_hash.clone(),
                mac: to_hex(&head_mac(key, id, &hash)),
                updated_at: row.created_at,
            }
        };
        let id = self.writer.append(build, head).await.inspect_err(
            |err| tracing::error!(action = %action, error = %err, "audit append failed"),
        )?;
        tracing::info!(entry = id, action = %content.action, table = ?content.table_name, "audit entry appended");
        let (prev_hash, entry_hash) = sealed.unwrap_or_default();
        Ok(AuditEntry {
            id,
            content,
            prev_hash,
            entry_hash,
        })
    }

    /// The console's own actions (reveal, rotation start and end, key retirement, health
    /// run): `facts` are non-sensitive and stay searchable. Returns the entry id.
    pub async fn record(
        &self,
        actor: &str,
        action: Action,
        table_name: Option<&str>,
        record_id: Option<&str>,
        fields: &[String],
        facts: Option<serde_json::Value>,
    ) -> Result<i64, AuditError> {
        let entry = NewEntry {
            actor: actor.to_string(),
            action,
            table_name: table_name.map(str::to_string),
            record_id: record_id.map(str::to_string),
            fields: fields.to_vec(),
            detail: facts.map_or(Detail::None, Detail::Facts),
        };
        Ok(self.append(entry).await?.id)
    }
}

/// The stored row of `content` (field names as a JSON list; no list when empty).
fn to_row(content: &EntryContent, prev_hash: String, entry_hash: String) -> AuditRow {
    AuditRow {
        created_at: content.created_at,
        actor: content.actor.clone(),
        action: content.action.clone(),
        table_name: content.table_name.clone(),
        record_id: content.record_id.clone(),
        fields: (!content.fields.is_empty())
            .then(|| serde_json::Value::from(content.fields.clone()).to_string()),
        detail: content.detail.clone(),
        prev_hash,
        entry_hash,
    }
}

/// A stored row as an entry. A `fields` text that is not a JSON list of strings is kept as
/// one opaque name, so the hash (over the list) no longer matches: it reads as altered.
pub fn from_stored(stored: StoredEntry) -> AuditEntry {
    let row = stored.row;
    let fields = match row.fields.as_deref() {
        None | Some("") => Vec::new(),
        Some(text) => {
            serde_json::from_str::<Vec<String>>(text).unwrap_or_else(|_| vec![text.to_string()])
        }
    };
    AuditEntry {
        id: stored.id,
        content: EntryContent {
            created_at: row.created_at,
            actor: row.actor,
            action: row.action,
            table_name: row.table_name,
            record_id: row.record_id,
            fields,
            detail: row.detail,
        },
        prev_hash: row.prev_hash,
        entry_hash: row.entry_hash,
    }
}

/// Reads an entry's detail: plain facts as they are, values decrypted with the key ring.
pub fn read_detail(
    ring: &KeyRing,
    entry: &AuditEntry,
) -> Result<Option<serde_json::Value>, AuditError> {
    let Some(text) = entry.content.detail.as_deref() else {
        return Ok(None);
    };
    let unreadable = |reason: &str| AuditError::Detail {
        id: entry.id,
        reason: reason.to_string(),
    };
    let plain = if text.starts_with("gAAAAA") {
        // The audit data key (of the master, or of the master before a rotation); entries
        // written before it existed were encrypted under a data key of the ring.
        let derived = [ring.audit_data_key(), ring.audit_data_key_old()];
        let bytes = match derived.iter().flatten().find_map(|k| k.decrypt(text).ok()) {
            Some(bytes) => bytes.to_vec(),
            None => ring
                .decrypt_token(text, None)
                .map(|(bytes, _)| bytes.to_vec())
                .map_err(|e| unreadable(e.as_str()))?,
        };
        String::from_utf8(bytes).map_err(|_| unreadable("not UTF-8"))?
    } else {
        text.to_string()
    };
    serde_json::from_str(&plain)
        .map(Some)
        .map_err(|_| unreadable("not JSON"))
}

impl WriteObserver for AuditLog {
    /// A write to an `AuditMixin` model becomes one entry: the changed field names in
    /// `fields`, old and new values encrypted in `detail`.
    fn observe<'a>(&'a self, event: &'a WriteEvent<'a>) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            if !event.model.has_mixin(Mixin::Audit) {
                return Ok(());
            }
            let old: serde_json::Map<String, serde_json::Value> = event
                .old
                .iter()
                .map(|(name, cell)| {
                    let json = match (cell.value(), cell.error()) {
                        (Some(v), _) => v.to_json(),
                        (None, Some(e)) => serde_json::json!({ "error": e.as_str() }),
                        (None, None) => serde_json::Value::Null,
                    };
                    (name.clone(), json)
                })
                .collect();
            let new: serde_json::Map<String, serde_json::Value> = event
                .new
                .iter()
                .map(|(name, v)| (name.clone(), v.to_json()))
                .collect();
            let entry = NewEntry {
                actor: event.actor.unwrap_or("unknown").to_string(),
                action: Action::parse(event.action.as_str()),
                table_name: Some(event.model.table_name.clone()),
                record_id: crate::value::owner_text(event.record_id),
                fields: event.changed.clone(),
                detail: Detail::Values(serde_json::json!({ "old": old, "new": new })),
            };
            self.append(entry)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        })
    }
}
