//! What the Audit screen (and the Overview's audit tile) lists, as plain data, and the
//! background work that reads it through the `audit` service: the feed (recent entries,
//! the rate, the chain), a filtered page, one entry (masked or revealed), a verify.
//! Nothing here holds a value or a key; nothing builds SQL.

use std::sync::Arc;

use chrono::{DateTime, NaiveDateTime, Utc};

use super::Msg;
use crate::access::Access;
use crate::audit::checkpoint::{write_checkpoint, write_if_due};
use crate::audit::{AuditEntry, AuditFilter, AuditLog, lookup, query};
use crate::config::ModelSet;
use crate::crypto::KeyRing;
use crate::crypto::signed_note::{NoteSigner, NoteVerifier};
use crate::store::Store;
use crate::tui::context::SharedLog;

/// Minutes shown by the events-per-minute sparkline.
pub const SPARK_MINUTES: usize = 30;
/// Entries listed as "recent".
pub const RECENT_ENTRIES: u32 = 200;

/// One audit entry as listed (never its detail, which may hold values).
#[derive(Clone, Debug, PartialEq)]
pub struct AuditLine {
    pub id: i64,
    pub at: NaiveDateTime,
    pub actor: String,
    pub action: String,
    pub table: Option<String>,
    pub record_id: Option<String>,
    pub fields: Vec<String>,
}

/// The state of the hash chain.
#[derive(Clone, Debug, PartialEq)]
pub enum ChainStatus {
    Intact {
        entries: u64,
    },
    Broken {
        first_broken: Option<i64>,
        reason: String,
    },
    /// The chain cannot be checked (no MASTER_ENCRYPTION_KEY, say); the reason says why.
    Unchecked(String),
}

/// The signed checkpoints, checked with the audit public key (AUDIT_PUBLIC_KEY, or the
/// public half of AUDIT_SIGNING_KEY).
#[derive(Clone, Debug, PartialEq)]
pub enum SignedStatus {
    /// No audit key is configured: nothing to check against.
    NoKey,
    /// The log hashes to the newest checkpoint it reached.
    Verified {
        checkpoint: Option<i64>,
        size: u64,
        at: Option<NaiveDateTime>,
        /// The key's fingerprint.
        key: String,
        /// Entries written after that checkpoint.
        uncovered: u64,
    },
    /// Broken (`altered`, `checkpoint_forged`, …) or unverified; the reason says which.
    Failed(String),
}

#[derive(Clone, Debug, PartialEq)]
pub struct AuditView {
    /// Newest first.
    pub recent: Vec<AuditLine>,
    /// Entries per minute, oldest minute first, the last being the current minute.
    pub per_minute: Vec<u64>,
    pub chain: ChainStatus,
    pub signed: SignedStatus,
}

/// Recent entries, the per-minute rate and the chain's state.
pub async fn feed(
    store: Store,
    ring: Arc<KeyRing>,
    signed_key: Option<Arc<NoteVerifier>>,
    now: DateTime<Utc>,
) -> Msg {
    Msg::Feed(audit_view(&store, &ring, signed_key.as_deref(), now).await)
}

async fn audit_view(
    store: &Store,
    ring: &KeyRing,
    signed_key: Option<&NoteVerifier>,
    now: DateTime<Utc>,
) -> Result<AuditView, String> {
    let entries = query::list(store, &AuditFilter::default(), None, RECENT_ENTRIES)
        .await
        .map_err(|e| e.to_string())?;
    // One reading of the log feeds both verifiers (the keyed chain and the signed
    // checkpoints): at a million entries the reading is what costs.
    let key = ring.audit_key();
    let old = ring.audit_key_old();
    let both = query::verify_log(
        store,
        key.as_ref().map(|k| (k, old.as_ref())),
        None,
        signed_key.map(|k| (k, None)),
    )
    .await;
    let (chain_report, public_report) = match both {
        Ok(both) => (Ok(both.chain), Ok(both.public)),
        Err(e) => (Err(e.to_string()), Err(e.to_string())),
    };
    let chain = match chain_report {
        Ok(None) => ChainStatus::Unchecked(
            "MASTER_ENCRYPTION_KEY is not set; the chain cannot be verified".into(),
        ),
        Ok(Some(report)) if report.ok => ChainStatus::Intact {
            entries: report.entries,
        },
        Ok(Some(report)) => ChainStatus::Broken {
            first_broken: report.first_broken,
            reason: report.reason.unwrap_or_else(|| "chain broken".into()),
        },
        Err(e) => ChainStatus::Unchecked(e),
    };
    let signed = match (signed_key, public_report) {
        (None, _) | (_, Ok(None)) => SignedStatus::NoKey,
        (Some(key), Ok(Some(report))) if report.ok => {
            let to = report.verified_to.clone();
            SignedStatus::Verified {
                checkpoint: to.as_ref().and_then(|t| t.checkpoint),
                size: to.as_ref().map_or(0, |t| t.size),
                at: to.and_then(|t| t.at),
                key: key.fingerprint(),
                uncovered: report.uncovered,
            }
        }
        (Some(_), Ok(Some(report))) => SignedStatus::Failed(report.reason.unwrap_or_default()),
        (Some(_), Err(e)) => SignedStatus::Failed(e),
    };
    Ok(AuditView {
        per_minute: per_minute(&entries, now.naive_utc()),
        recent: entries.into_iter().map(AuditLine::from).collect(),
        chain,
        signed,
    })
}

/// One entry as listed: everything but its detail (which may hold values) and hashes.
impl From<AuditEntry> for AuditLine {
    fn from(entry: AuditEntry) -> AuditLine {
        AuditLine {
            id: entry.id,
            at: entry.content.created_at,
            actor: entry.content.actor,
            action: entry.content.action,
            table: entry.content.table_name,
            record_id: entry.content.record_id,
            fields: entry.content.fields,
        }
    }
}

/// Counts of entries in each of the last [`SPARK_MINUTES`] minutes before `now`.
pub fn per_minute(entries: &[AuditEntry], now: NaiveDateTime) -> Vec<u64> {
    let mut buckets = vec![0u64; SPARK_MINUTES];
    for entry in entries {
        let age = (now - entry.content.created_at).num_minutes();
        if (0..SPARK_MINUTES as i64).contains(&age) {
            buckets[SPARK_MINUTES - 1 - age as usize] += 1;
        }
    }
    buckets
}

/// The newest page (or the page around `focus`) under `filter`.
pub async fn list(
    store: Store,
    filter: Option<AuditFilter>,
    focus: Option<i64>,
    generation: u64,
) -> Msg {
    let result = match focus {
        Some(id) => lookup::around(&store, id, RECENT_ENTRIES).await,
        None => {
            let filter = filter.unwrap_or_default();
            query::list(&store, &filter, None, RECENT_ENTRIES).await
        }
    };
    Msg::List {
        generation,
        focus,
        result: result
            .map(|entries| entries.into_iter().map(AuditLine::from).collect())
            .map_err(|e| e.to_string()),
    }
}

/// Entry `id` masked for the role, or with `reveal` (its reason) revealed under an audit
/// entry written first, on the append-only audit connection.
pub async fn detail(
    store: Store,
    ring: Arc<KeyRing>,
    models: Arc<ModelSet>,
    access: Arc<Access>,
    log: SharedLog,
    id: i64,
    reveal: Option<Option<String>>,
) -> Msg {
    let revealed = reveal.is_some();
    let result = async {
        let entry = lookup::entry(&store, id)
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("entry #{id} is no longer in the audit log"))?;
        let Some(reason) = reveal else {
            return Ok(access.view_entry(&ring, &models, &entry));
        };
        let log = log
            .get_or_try_init(|| AuditLog::open(&store, &ring))
            .await
            .map_err(|e| format!("reveal refused: the audit log cannot be opened ({e})"))?;
        access
            .reveal_entry(log, &ring, &models, &entry, reason.as_deref())
            .await
            .map_err(|e| e.to_string())
    }
    .await
    .map(Box::new);
    Msg::Detail {
        id,
        revealed,
        result,
    }
}

/// The whole chain, verified.
pub async fn verify(
    store: Store,
    key: crate::crypto::AuditKey,
    old: Option<crate::crypto::AuditKey>,
) -> Msg {
    let result = query::verify_rotated(&store, &key, old.as_ref(), None)
        .await
        .map_err(|e| e.to_string());
    Msg::Verified(result)
}

/// Signs and stores a checkpoint of the whole log (`C`, `:checkpoint`).
pub async fn checkpoint(store: Store, signer: Arc<NoteSigner>) -> Msg {
    let result = write_checkpoint(&store, &signer)
        .await
        .map(|w| (w.id, w.size))
        .map_err(|e| e.to_string());
    Msg::Checkpointed(result)
}

/// Writes a checkpoint if one is due (see `audit::checkpoint::write_if_due`).
pub async fn checkpoint_if_due(store: Store, signer: Arc<NoteSigner>, now: NaiveDateTime) -> Msg {
    let result = write_if_due(&store, &signer, now)
        .await
        .map(|w| w.map(|w| (w.id, w.size)))
        .map_err(|e| e.to_string());
    Msg::CheckpointDue(result)
}
