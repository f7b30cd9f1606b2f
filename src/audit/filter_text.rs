//! The audit filter as an operator types it, in the console's `/` prompt and in scripts:
//! `actor=alice action=reveal model=Customer since=2026-11-01 until=2h text=foo`.
//!
//! Each `field=value` pair narrows the listing (every condition must hold, as in
//! [`AuditFilter`]); a word without `=` is searched as text. A value with spaces is quoted
//! (`since="2026-11-29 16:30"`). The result is the same filter `timber audit --actor ...`
//! builds, pushed down to SQL by [`super::query`]. Errors name the word and what is accepted.

use chrono::{Duration, NaiveDate, NaiveDateTime};

use super::query::AuditFilter;
use crate::config::ModelSet;

/// The fields a filter accepts, for messages and hints.
pub const FILTER_FIELDS: &str = "actor=, action=, model=, since=, until=, text=";

/// Parses `text` into a filter; `None` when it sets nothing (the filter is cleared).
/// `now` is the base of relative times (`15m`, `2h`, `7d` ago).
pub fn parse_filter(
    text: &str,
    models: &ModelSet,
    now: NaiveDateTime,
) -> Result<Option<AuditFilter>, String> {
    let mut filter = AuditFilter::default();
    let mut words: Vec<String> = Vec::new();
    for token in tokens(text)? {
        let Some((field, value)) = token.split_once('=') else {
            words.push(token);
            continue;
        };
        let value = value.trim().to_string();
        if value.is_empty() {
            return Err(format!("`{field}=` needs a value"));
        }
        match field.trim().to_ascii_lowercase().as_str() {
            "actor" | "user" => filter.actor = Some(value),
            "action" => filter.action = Some(value),
            "model" | "table" => {
                // A model that is no longer declared still has entries: its name is then
                // taken as the table name (as `timber audit --model` does).
                let table = models
                    .find(&value)
                    .map_or_else(|| value.clone(), |m| m.table_name.clone());
                filter.tables = vec![table];
            }
            "since" => filter.since = Some(time_value("since", &value, now)?),
            "until" => filter.until = Some(time_value("until", &value, now)?),
            "text" | "grep" => words.push(value),
            other => {
                return Err(format!(
                    "unknown filter field `{other}`; use {FILTER_FIELDS} (or a bare word to search text)"
                ));
            }
        }
    }
    if !words.is_empty() {
        filter.text = Some(words.join(" "));
    }
    if let (Some(since), Some(until)) = (filter.since, filter.until)
        && since >= until
    {
        return Err("since= must be before until=".to_string());
    }
    Ok((filter != AuditFilter::default()).then_some(filter))
}

fn time_value(field: &str, value: &str, now: NaiveDateTime) -> Result<NaiveDateTime, String> {
    parse_time(value, now).ok_or_else(|| bad_time(field, value))
}

/// The message for a time that cannot be read, naming the field and the accepted forms.
pub fn bad_time(field: &str, text: &str) -> String {
    format!(
        "{field} `{text}` is not a time: use 2026-11-29, 2026-11-29T16:30:00Z, \
         \"2026-11-29 16:30\" or a duration ago such as 15m, 2h, 7d"
    )
}

/// Splits on whitespace, keeping double-quoted runs together (quotes removed).
fn tokens(text: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in text.chars() {
        match c {
            '"' => quoted = !quoted,
            c if c.is_whitespace() && !quoted => {
                if !current.is_empty() {
                    out.push(std::mem::take(&mut current));
                }
            }
            c => current.push(c),
        }
    }
    if quoted {
        return Err("a quote is not closed".to_string());
    }
    if !current.is_empty() {
        out.push(current);
    }
    Ok(out)
}

/// RFC 3339, a date, a date and time (UTC), or a duration ago (`30s`, `15m`, `2h`, `7d`).
pub fn parse_time(text: &str, now: NaiveDateTime) -> Option<NaiveDateTime> {
    let text = text.trim();
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(text) {
        return Some(t.naive_utc());
    }
    for format in [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(text, format) {
            return Some(t);
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return d.and_hms_opt(0, 0, 0);
    }
    let unit = text.chars().last()?;
    let amount: i64 = text[..text.len() - unit.len_utf8()].parse().ok()?;
    let ago = match unit {
        's' => Duration::try_seconds(amount)?,
        'm' => Duration::try_minutes(amount)?,
        'h' => Duration::try_hours(amount)?,
        'd' => Duration::try_days(amount)?,
        _ => return None,
    };
    now.checked_sub_signed(ago)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 11, 29)
            .unwrap()
            .and_hms_opt(12, 0, 0)
            .unwrap()
    }

    fn no_models() -> ModelSet {
        ModelSet::default()
    }

    #[test]
    fn every_field_and_bare_words() {
        let f = parse_filter(
            r#"actor=alice action=reveal model=patients since="2026-11-29 10:00" until=1h ticket 7"#,
            &no_models(),
            now(),
        )
        .unwrap()
        .unwrap();
        assert_eq!(f.actor.as_deref(), Some("alice"));
        assert_eq!(f.action.as_deref(), Some("reveal"));
        assert_eq!(f.tables, vec!["patients".to_string()]);
        assert_eq!(f.since, parse_time("2026-11-29 10:00", now()));
        assert_eq!(f.until, parse_time("2026-11-29 11:00", now()));
        assert_eq!(f.text.as_deref(), Some("ticket 7"));
        assert_eq!(parse_filter("   ", &no_models(), now()), Ok(None));
    }

    #[test]
    fn bad_input_names_the_word() {
        let e = parse_filter("colour=red", &no_models(), now()).unwrap_err();
        assert!(e.contains("unknown filter field `colour`"), "{e}");
        let e = parse_filter("since=yesterday", &no_models(), now()).unwrap_err();
        assert!(e.contains("since `yesterday` is not a time"), "{e}");
        assert!(parse_filter("actor=", &no_models(), now()).is_err());
        assert!(parse_filter("text=\"open", &no_models(), now()).is_err());
        assert!(parse_filter("since=2h until=3h", &no_models(), now()).is_err());
    }

    #[test]
    fn times_in_every_accepted_form() {
        let at = |h, m| {
            NaiveDate::from_ymd_opt(2026, 11, 29)
                .unwrap()
                .and_hms_opt(h, m, 0)
        };
        assert_eq!(parse_time("2h", now()), at(10, 0));
        assert_eq!(parse_time("15m", now()), at(11, 45));
        assert_eq!(parse_time("2026-11-29", now()), at(0, 0));
        assert_eq!(parse_time("2026-11-29 16:30", now()), at(16, 30));
        assert_eq!(parse_time("2026-11-29T18:30:00+02:00", now()), at(16, 30));
        assert_eq!(parse_time("yesterday", now()), None);
        assert_eq!(parse_time("5x", now()), None);
        assert_eq!(parse_time("é", now()), None);
    }
}
