//! `timber audit`: list the audit log newest first (filtered), follow it, or verify its
//! chain (DESIGN §7, §12). Entries go to stdout (text lines or JSON lines), narration to
//! stderr. `--verify` exits 2 when the chain is broken.
//!
//! Listing never shows `detail` (it may hold encrypted values); it shows who, what, which
//! table and record, and which fields, plus the row count of a reveal of rows. `--record ID`
//! lists every entry that showed or touched that record (see `audit::query::record_match`);
//! an empty listing prints `no entries` in text format.

use std::io::{self, Write};
use std::process::ExitCode;

use chrono::{NaiveDateTime, Utc};

use super::args::{AuditAction, AuditArgs, GlobalArgs, OutputFormat};
use super::{CliError, CliResult, Context, block_on};
use crate::audit::format_time;
use crate::audit::query::{self, AuditFilter, Follower, RecordMatch};
use crate::audit::{AuditEntry, AuditError, VerifyReport};
use crate::store::{Store, StoreConfig};

pub fn run(global: &GlobalArgs, args: &AuditArgs) -> CliResult {
    let ctx = Context::load(global.to_flags())?;
    let filter = filter(&ctx, args)?;
    let config = StoreConfig::from_settings(&ctx.settings)?;
    if let Some(id) = args.show {
        let shown = super::audit_show::run(&ctx, config, id, args);
        if shown.is_ok() {
            super::audit_signed::checkpoint_if_due(&ctx);
        }
        return shown;
    }
    match &args.command {
        Some(AuditAction::Checkpoint { format }) => {
            return super::audit_signed::checkpoint(&ctx, config, *format);
        }
        Some(AuditAction::Prove { id }) => return super::audit_signed::prove_entry(config, *id),
        Some(AuditAction::RotateSigningKey { format }) => {
            return super::audit_signed::rotate_signing_key(&ctx, config, *format);
        }
        Some(AuditAction::Migrate { format }) => {
            return super::audit_signed::migrate(&ctx, config, *format);
        }
        Some(AuditAction::Export {
            since,
            until,
            format,
        }) => {
            return super::audit_signed::export(
                config,
                since.as_deref(),
                until.as_deref(),
                *format,
            );
        }
        None => {}
    }
    if args.verify && (args.public_key.is_some() || args.checkpoint.is_some()) {
        return super::audit_signed::verify(
            &ctx,
            config,
            args.public_key.as_deref(),
            args.checkpoint.as_deref(),
            args.format,
        );
    }
    if args.verify {
        let ring = ctx.keyring()?;
        let key = ring
            .audit_key()
            .ok_or_else(|| CliError::msg(AuditError::NoMasterKey.to_string()))?;
        let report = block_on(async {
            let store = Store::connect(config).await?;
            let old = ring.audit_key_old();
            let report =
                query::verify_rotated(&store, &key, old.as_ref(), args.expect_head.as_deref())
                    .await;
            store.close().await;
            report
        })
        .map_err(|e: AuditError| CliError::msg(e.to_string()))?;
        return print_report(&report, args.format);
    }
    let listed = block_on(async {
        let store = Store::connect(config).await?;
        let result = list_then_follow(&store, &filter, args).await;
        store.close().await;
        result
    });
    if listed.is_ok() {
        super::audit_signed::checkpoint_if_due(&ctx);
    }
    listed
}

/// Lists a page newest first; with `--follow`, the same entries oldest first and then
/// every new matching entry as it is written, until interrupted.
async fn list_then_follow(store: &Store, filter: &AuditFilter, args: &AuditArgs) -> CliResult {
    let failed = |e: AuditError| CliError::msg(e.to_string());
    // Following starts after the newest id taken *before* the backlog is listed, so an
    // entry written while the backlog prints is followed, not lost.
    let (before, start) = if args.follow {
        let newest = query::newest_id(store).await.map_err(failed)?;
        (Some(newest + 1), newest)
    } else {
        (args.before, 0)
    };
    let page = query::list(store, filter, before, args.limit.max(1))
        .await
        .map_err(failed)?;
    let mut out = io::stdout().lock();
    if !args.follow {
        let printed = if page.is_empty() && args.format == OutputFormat::Text {
            writeln!(out, "no entries").and_then(|()| out.flush())
        } else {
            print_entries(&mut out, page.iter(), args.format, filter)
        };
        if let Err(e) = printed {
            return pipe_closed(e);
        }
        if page.len() == args.limit.max(1) as usize
            && let Some(last) = page.last()
        {
            eprintln!("timber audit: more before this page: --before {}", last.id);
        }
        return Ok(ExitCode::SUCCESS);
    }
    if let Err(e) = print_entries(&mut out, page.iter().rev(), args.format, filter) {
        return pipe_closed(e);
    }
    drop(out);
    eprintln!("timber audit: following new entries (Ctrl-C to stop)");
    let mut follower = Follower::new(store, filter.clone(), start);
    loop {
        let batch = follower.next().await.map_err(failed)?;
        let mut out = io::stdout().lock();
        if let Err(e) = print_entries(&mut out, batch.iter(), args.format, filter) {
            return pipe_closed(e);
        }
    }
}

fn pipe_closed(e: io::Error) -> CliResult {
    Err(CliError::stdout(e))
}

fn print_entries<'a>(
    out: &mut impl Write,
    entries: impl Iterator<Item = &'a AuditEntry>,
    format: OutputFormat,
    filter: &AuditFilter,
) -> io::Result<()> {
    for entry in entries {
        let matched = filter
            .record
            .as_deref()
            .and_then(|id| query::record_match(entry, id));
        match format {
            OutputFormat::Json => {
                let mut json = entry.to_json();
                if let (Some(m), serde_json::Value::Object(map)) = (matched, &mut json) {
                    map.insert("record_match".into(), m.as_str().into());
                }
                writeln!(out, "{json}")?
            }
            OutputFormat::Text => {
                let mut line = text_line(entry);
                if matched == Some(RecordMatch::Possible) {
                    line.push_str("  (may include it: this reveal's id list is incomplete)");
                }
                writeln!(out, "{line}")?
            }
        }
    }
    out.flush()
}

/// `#12  2026-11-29T16:30:31.123456Z  ana  reveal  user_profiles/7  [email]`; text from the
/// database is printed without control characters so it cannot drive the terminal.
fn text_line(entry: &AuditEntry) -> String {
    let c = &entry.content;
    let target = match (&c.table_name, &c.record_id) {
        (Some(t), Some(r)) => format!("{t}/{r}"),
        (Some(t), None) => format!("{t}/*"),
        (None, _) => "-".to_string(),
    };
    let mut line = format!(
        "#{}  {}  {}  {}  {}  [{}]",
        entry.id,
        format_time(&c.created_at),
        c.actor,
        c.action,
        target,
        c.fields.join(", ")
    );
    if let Some(count) = count_of(entry) {
        line.push_str(&format!("  {count}"));
    }
    line.chars()
        .map(|ch| if ch.is_control() { '·' } else { ch })
        .collect()
}

/// What a reveal of rows (`rows`) or a search (`matches`) counted, from its plain detail
/// (never from an encrypted one): `5 row(s)`, `1 match(es)`.
fn count_of(entry: &AuditEntry) -> Option<String> {
    let detail = entry.content.detail.as_deref()?;
    if detail.starts_with("gAAAAA") {
        return None;
    }
    let facts: serde_json::Value = serde_json::from_str(detail).ok()?;
    let count = |key: &str| facts.get(key).and_then(serde_json::Value::as_u64);
    count("rows")
        .map(|n| format!("{n} row(s)"))
        .or_else(|| count("matches").map(|n| format!("{n} match(es)")))
}

fn print_report(report: &VerifyReport, format: OutputFormat) -> CliResult {
    let mut out = io::stdout().lock();
    let written = match format {
        OutputFormat::Json => writeln!(out, "{}", report.to_json()),
        OutputFormat::Text if report.ok => writeln!(
            out,
            "audit log intact: {} entries; head {}",
            report.entries,
            report.head.as_deref().unwrap_or("(empty log)")
        ),
        OutputFormat::Text => writeln!(
            out,
            "audit log BROKEN{}: {}",
            report
                .first_broken
                .map_or(String::new(), |id| format!(" at entry {id}")),
            report.reason.as_deref().unwrap_or("unknown damage")
        ),
    };
    if let Err(e) = written.and_then(|()| out.flush()) {
        return pipe_closed(e);
    }
    Ok(if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

/// The filters of the command line; a model name becomes its table name.
fn filter(ctx: &Context, args: &AuditArgs) -> Result<AuditFilter, CliError> {
    let tables = match &args.model {
        None => Vec::new(),
        Some(name) => {
            // A model that is not (or no longer) declared still has entries: use the name
            // as a table name then.
            let models = ctx.models().ok();
            let table = models
                .as_ref()
                .and_then(|m| m.find(name))
                .map_or_else(|| name.clone(), |m| m.table_name.clone());
            vec![table]
        }
    };
    let now = Utc::now().naive_utc();
    let time = |flag: &str, text: &Option<String>| time_flag(flag, text.as_deref(), now);
    Ok(AuditFilter {
        tables,
        actor: args.actor.clone(),
        action: args.action.clone(),
        since: time("--since", &args.since)?,
        until: time("--until", &args.until)?,
        text: args.grep.clone(),
        record: args.record.clone().filter(|r| !r.is_empty()),
    })
}

/// `--since` / `--until` as given, or the error naming the flag and what is accepted.
pub(super) fn time_flag(
    flag: &str,
    text: Option<&str>,
    now: NaiveDateTime,
) -> Result<Option<NaiveDateTime>, CliError> {
    text.map(|t| parse_time(t, now).ok_or_else(|| CliError::msg(bad_time(flag, t))))
        .transpose()
}

fn bad_time(flag: &str, text: &str) -> String {
    crate::audit::bad_time(flag, text)
}

/// RFC 3339, a date, a date and time (UTC), or a duration ago (`30s`, `15m`, `2h`, `7d`).
pub use crate::audit::parse_time;

#[cfg(test)]
mod tests {
    use super::parse_time;
    use chrono::NaiveDate;

    #[test]
    fn times_in_every_accepted_form() {
        let now = NaiveDate::from_ymd_opt(2026, 11, 29)
            .unwrap()
            .and_hms_opt(12, 0, 0)
            .unwrap();
        let at = |h, m| {
            NaiveDate::from_ymd_opt(2026, 11, 29)
                .unwrap()
                .and_hms_opt(h, m, 0)
        };
        assert_eq!(parse_time("2h", now), at(10, 0));
        assert_eq!(parse_time("15m", now), at(11, 45));
        assert_eq!(parse_time("2026-11-29", now), at(0, 0));
        assert_eq!(parse_time("2026-11-29 16:30", now), at(16, 30));
        assert_eq!(parse_time("2026-11-29T18:30:00+02:00", now), at(16, 30));
        assert_eq!(parse_time("yesterday", now), None);
        assert_eq!(parse_time("5x", now), None);
        assert_eq!(parse_time("é", now), None);
    }
}
