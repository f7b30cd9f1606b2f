//! One audit entry: what is stored in a `timber_audit_log` row (DESIGN §7), and the fixed
//! vocabulary of actions the console writes.

use chrono::{Datelike, NaiveDateTime, Timelike};

/// What happened. Stored as its text; rows written by other tools may hold other texts,
/// which read back as [`Action::Other`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// An operator revealed secrets: one cell (record and field set), or rows (an export,
    /// the owner rule's rows of a listing or page), with the record ids in the plain detail.
    Reveal,
    /// An operator searched by a secret field (field names and match count; never the value).
    Search,
    /// A row of an `AuditMixin` model was written.
    Insert,
    Update,
    Delete,
    RotationStart,
    RotationEnd,
    KeyRetire,
    HealthRun,
    /// `timber report` or the console's `:report` made an evidence report (issue 19).
    ReportGenerate,
    Other(String),
}

impl Action {
    pub fn as_str(&self) -> &str {
        match self {
            Action::Reveal => "reveal",
            Action::Search => "search",
            Action::Insert => "insert",
            Action::Update => "update",
            Action::Delete => "delete",
            Action::RotationStart => "rotation.start",
            Action::RotationEnd => "rotation.end",
            Action::KeyRetire => "key.retire",
            Action::HealthRun => "health.run",
            Action::ReportGenerate => "report.generate",
            Action::Other(text) => text,
        }
    }

    pub fn parse(text: &str) -> Action {
        match text {
            "reveal" => Action::Reveal,
            "search" => Action::Search,
            "insert" => Action::Insert,
            "update" => Action::Update,
            "delete" => Action::Delete,
            "rotation.start" => Action::RotationStart,
            "rotation.end" => Action::RotationEnd,
            "key.retire" => Action::KeyRetire,
            "health.run" => Action::HealthRun,
            "report.generate" => Action::ReportGenerate,
            other => Action::Other(other.to_string()),
        }
    }
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The hashed content of an entry: everything but its id and the two hashes.
///
/// `detail` is the *stored* text: a Fernet token when the entry carries values (old and new
/// values of a write), or plain JSON of non-sensitive facts (a reason, a job id). The hash
/// covers the stored text, so verifying never needs the encryption key, only the audit key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntryContent {
    /// UTC, truncated to microseconds (what every backend's timestamp column keeps).
    pub created_at: NaiveDateTime,
    pub actor: String,
    pub action: String,
    pub table_name: Option<String>,
    pub record_id: Option<String>,
    /// Field (column) names concerned, never values.
    pub fields: Vec<String>,
    pub detail: Option<String>,
}

impl EntryContent {
    /// `created_at` as stored and hashed: microsecond precision.
    pub fn truncate_to_micros(at: NaiveDateTime) -> NaiveDateTime {
        let nanos = at.nanosecond() / 1_000 * 1_000;
        at.with_nanosecond(nanos).unwrap_or(at)
    }
}

/// A row of `timber_audit_log` as read back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEntry {
    pub id: i64,
    pub content: EntryContent,
    /// Lower-case hex of the previous entry's `entry_hash` (64 zeros for the first entry).
    pub prev_hash: String,
    /// Lower-case hex of HMAC-SHA256(audit key, prev_hash bytes ‖ canonical content).
    pub entry_hash: String,
}

impl AuditEntry {
    /// The JSON line `timber audit --format json` prints (DESIGN §12); never the detail.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "id": self.id,
            "created_at": format_time(&self.content.created_at),
            "actor": self.content.actor,
            "action": self.content.action,
            "table": self.content.table_name,
            "record_id": self.content.record_id,
            "fields": self.content.fields,
        })
    }
}

const TIME_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.6fZ";

/// `2026-11-29T16:30:31.123456Z`: the one text form of an entry time (hashing, JSON, text).
pub fn format_time(at: &NaiveDateTime) -> String {
    match time_digits(at) {
        Some(bytes) => bytes.iter().map(|&b| b as char).collect(),
        None => at.format(TIME_FORMAT).to_string(),
    }
}

/// Appends `format_time(at)` to `out` (the canonical encoding hashes it for every entry).
pub fn push_time(at: &NaiveDateTime, out: &mut Vec<u8>) {
    match time_digits(at) {
        Some(bytes) => out.extend_from_slice(&bytes),
        None => out.extend_from_slice(at.format(TIME_FORMAT).to_string().as_bytes()),
    }
}

/// `TIME_FORMAT` written digit by digit: verifying a million entries formatted each time
/// through chrono's format interpreter, which cost more than hashing them. Only for years
/// 0-9999 and no leap second (the forms where `%Y` is four digits and `%S` below 60);
/// `None` sends the rest to chrono, so the text is always chrono's.
fn time_digits(at: &NaiveDateTime) -> Option<[u8; 27]> {
    let year = u32::try_from(at.year()).ok().filter(|y| *y <= 9999)?;
    let nanos = at.nanosecond();
    if nanos >= 1_000_000_000 {
        return None;
    }
    let mut out = *b"0000-00-00T00:00:00.000000Z";
    let mut put = |end: usize, width: usize, mut n: u32| {
        for i in (end - width..end).rev() {
            out[i] = b'0' + (n % 10) as u8;
            n /= 10;
        }
    };
    put(4, 4, year);
    put(7, 2, at.month());
    put(10, 2, at.day());
    put(13, 2, at.hour());
    put(16, 2, at.minute());
    put(19, 2, at.second());
    put(26, 6, nanos / 1_000);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn actions_round_trip_and_unknown_actions_are_kept() {
        for a in [
            Action::Reveal,
            Action::Search,
            Action::Insert,
            Action::Update,
            Action::Delete,
            Action::RotationStart,
            Action::RotationEnd,
            Action::KeyRetire,
            Action::HealthRun,
        ] {
            assert_eq!(Action::parse(a.as_str()), a);
        }
        assert_eq!(Action::parse("login"), Action::Other("login".into()));
    }

    #[test]
    fn times_keep_microseconds_only() {
        let t = NaiveDate::from_ymd_opt(2026, 11, 29)
            .unwrap()
            .and_hms_nano_opt(16, 30, 31, 123_456_789)
            .unwrap();
        let t = EntryContent::truncate_to_micros(t);
        assert_eq!(format_time(&t), "2026-11-29T16:30:31.123456Z");
        // The digit-by-digit form agrees with chrono's, and chrono handles the rest.
        for (y, nanos) in [(1, 0), (999, 5_000), (2026, 999_999_000), (9999, 1_000)] {
            let at = NaiveDate::from_ymd_opt(y, 12, 31)
                .unwrap()
                .and_hms_nano_opt(23, 59, 59, nanos)
                .unwrap();
            assert_eq!(format_time(&at), at.format(TIME_FORMAT).to_string());
            let mut pushed = Vec::new();
            push_time(&at, &mut pushed);
            assert_eq!(pushed, format_time(&at).into_bytes());
        }
        let far = NaiveDate::from_ymd_opt(12345, 1, 1)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap();
        assert_eq!(format_time(&far), far.format(TIME_FORMAT).to_string());
    }
}
