//! The audit log as a SIEM reads it (issue 15): one entry per line, in id order, with its
//! hash and the checkpoint that covers it, as JSON lines (Splunk, Elastic, Loki) or as
//! ArcSight CEF. Values never leave: an entry's encrypted detail (a write's values) is left
//! out; its plain detail (a reason, the record ids a reveal listed) is kept.

use std::fmt::Write as _;

use serde_json::Value as Json;

use super::checkpoint::ORIGIN;
use super::entry::{AuditEntry, format_time};

/// The checkpoint that covers an entry: its id and tree size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CoveredBy {
    pub checkpoint: i64,
    pub size: u64,
}

/// One JSON line: the entry as `timber audit --format json` lists it, plus `detail` when it
/// is plain JSON, `prev_hash`, `entry_hash`, its place in the Merkle tree (`leaf_index`)
/// and the checkpoint covering it (`null` until one does).
pub fn json_line(entry: &AuditEntry, leaf_index: u64, covered: Option<CoveredBy>) -> Json {
    let mut json = entry.to_json();
    if let Json::Object(map) = &mut json {
        if let Some(detail) = plain_detail(entry) {
            map.insert("detail".into(), detail);
        }
        map.insert("prev_hash".into(), entry.prev_hash.clone().into());
        map.insert("entry_hash".into(), entry.entry_hash.clone().into());
        map.insert("log".into(), ORIGIN.into());
        map.insert("leaf_index".into(), leaf_index.into());
        map.insert(
            "checkpoint".into(),
            covered.map_or(
                Json::Null,
                |c| serde_json::json!({"id": c.checkpoint, "size": c.size}),
            ),
        );
    }
    json
}

/// One CEF line (ArcSight Common Event Format, revision 25): the header's signature id is
/// the action, the extension carries the actor (`suser`), time (`rt`, epoch ms), table,
/// record id, fields, hashes and checkpoint. Escaping follows the format: `\` and `|` in
/// the header; `\`, `=` and line breaks in extension values.
pub fn cef_line(entry: &AuditEntry, version: &str, covered: Option<CoveredBy>) -> String {
    let c = &entry.content;
    let mut line = format!(
        "CEF:0|Timber|timber-console|{}|{}|timber audit {}|{}|",
        header(version),
        header(&c.action),
        header(&c.action),
        severity(&c.action)
    );
    let mut ext = vec![
        ("rt", c.created_at.and_utc().timestamp_millis().to_string()),
        ("suser", c.actor.clone()),
        ("cn1Label", "auditId".into()),
        ("cn1", entry.id.to_string()),
    ];
    if let Some(t) = &c.table_name {
        ext.push(("cs1Label", "table".into()));
        ext.push(("cs1", t.clone()));
    }
    if let Some(r) = &c.record_id {
        ext.push(("cs2Label", "recordId".into()));
        ext.push(("cs2", r.clone()));
    }
    if !c.fields.is_empty() {
        ext.push(("cs3Label", "fields".into()));
        ext.push(("cs3", c.fields.join(",")));
    }
    ext.push(("cs4Label", "entryHash".into()));
    ext.push(("cs4", entry.entry_hash.clone()));
    if let Some(reason) = plain_detail(entry)
        .as_ref()
        .and_then(|d| d.get("reason"))
        .and_then(Json::as_str)
    {
        ext.push(("cs5Label", "reason".into()));
        ext.push(("cs5", reason.to_string()));
    }
    if let Some(cov) = covered {
        ext.push(("cn2Label", "checkpoint".into()));
        ext.push(("cn2", cov.checkpoint.to_string()));
    }
    ext.push(("end", format_time(&c.created_at)));
    for (i, (key, value)) in ext.iter().enumerate() {
        if i > 0 {
            line.push(' ');
        }
        let _ = write!(line, "{key}={}", extension(value));
    }
    line
}

/// The detail when it is plain JSON facts (never an encrypted value token).
fn plain_detail(entry: &AuditEntry) -> Option<Json> {
    let text = entry.content.detail.as_deref()?;
    match serde_json::from_str::<Json>(text) {
        Ok(json @ Json::Object(_)) => Some(json),
        _ => None,
    }
}

fn severity(action: &str) -> u8 {
    match action {
        "key.retire" | "rotation.start" | "rotation.end" => 7,
        "reveal" | "search" => 5,
        _ => 3,
    }
}

fn header(text: &str) -> String {
    text.replace('\\', "\\\\").replace('|', "\\|")
}

fn extension(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('=', "\\=")
        .replace('\n', "\\n")
        .replace('\r', "\\r")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::EntryContent;

    #[test]
    fn cef_escapes_what_the_format_reserves() {
        let entry = AuditEntry {
            id: 4,
            content: EntryContent {
                created_at: chrono::NaiveDateTime::default(),
                actor: "ana|x".into(),
                action: "reveal".into(),
                table_name: Some("t=1".into()),
                record_id: Some("a\\b\nc".into()),
                fields: vec!["email".into()],
                detail: Some(r#"{"reason":"ticket=42"}"#.into()),
            },
            prev_hash: "00".into(),
            entry_hash: "ab".into(),
        };
        let line = cef_line(&entry, "0.1.0", None);
        assert!(
            line.starts_with("CEF:0|Timber|timber-console|0.1.0|reveal|timber audit reveal|5|")
        );
        assert!(
            line.contains("suser=ana|x"),
            "a pipe is plain in the extension: {line}"
        );
        assert!(line.contains("cs1=t\\=1"), "{line}");
        assert!(line.contains("cs2=a\\\\b\\nc"), "{line}");
        assert!(line.contains("cs5=ticket\\=42"), "{line}");
        assert!(!line.contains('\n'));
        let json = json_line(
            &entry,
            3,
            Some(CoveredBy {
                checkpoint: 2,
                size: 10,
            }),
        );
        assert_eq!(json["checkpoint"]["id"], 2);
        assert_eq!(json["detail"]["reason"], "ticket=42");
        let token = AuditEntry {
            content: EntryContent {
                detail: Some("gAAAAABtoken".into()),
                ..entry.content.clone()
            },
            ..entry
        };
        assert!(
            json_line(&token, 0, None).get("detail").is_none(),
            "values never leave"
        );
    }
}
