//! `timber audit --show ID [--reveal [--reason TEXT]] [--format json]`: one entry in full,
//! the headless twin of the console's Audit detail pane. Its hashes (short in text, whole in
//! JSON), its plain detail (reason, role, job id) and, when it recorded a write, each changed
//! field's old and new value masked for the acting role; `--reveal` shows what the role may
//! reveal after writing the reveal's own audit entry (also in read-only mode: it goes through
//! the append-only audit connection, as `browse --reveal` does).

use std::io::{self, Write};
use std::process::ExitCode;

use super::args::{AuditArgs, OutputFormat};
use super::{CliError, CliResult, Context, block_on};
use crate::access::{Access, Cell, EntryValues, EntryView};
use crate::audit::format_time;
use crate::audit::{AuditLog, lookup};
use crate::store::{Store, StoreConfig};

pub fn run(ctx: &Context, config: StoreConfig, id: i64, args: &AuditArgs) -> CliResult {
    let ring = ctx.keyring()?;
    // Undeclared models are fine: their fields show redacted.
    let models = ctx.models().unwrap_or_default();
    let access =
        Access::from_settings(&ctx.settings, &ring).map_err(|e| CliError::msg(e.to_string()))?;
    let url = config.shown_url();
    let view = block_on(async {
        let store = Store::connect(config).await?;
        let result = async {
            let entry = lookup::entry(&store, id)
                .await
                .map_err(|e| CliError::msg(e.to_string()))?
                .ok_or_else(|| CliError::msg(format!("no audit entry with id {id} in {url}")))?;
            if !args.reveal {
                return Ok(access.view_entry(&ring, &models, &entry));
            }
            let log = AuditLog::open(&store, &ring)
                .await
                .map_err(|e| CliError::msg(format!("reveal refused: {e}")))?;
            access
                .reveal_entry(&log, &ring, &models, &entry, args.reason.as_deref())
                .await
                .map_err(|e| CliError::msg(e.to_string()))
        }
        .await;
        store.close().await;
        result
    })?;
    match view.revealed_by {
        Some(by) => eprintln!(
            "timber audit: revealed the values of entry {id} as {} (audit entry {by})",
            access.identity().role
        ),
        None if args.reveal => eprintln!("timber audit: entry {id} holds nothing to reveal"),
        None => {}
    }
    let mut out = io::stdout().lock();
    let written = match args.format {
        OutputFormat::Json => writeln!(out, "{}", view.to_json()),
        OutputFormat::Text => write!(out, "{}", text(&view, &access.identity().role)),
    };
    match written.and_then(|()| out.flush()) {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(e) => Err(CliError::stdout(e)),
    }
}

/// The entry one fact a line; values as the role sees them.
fn text(view: &EntryView, role: &str) -> String {
    let c = &view.entry.content;
    let mut lines = vec![format!("audit entry #{}", view.entry.id)];
    let mut fact = |name: &str, value: String| lines.push(format!("  {name:<9} {}", clean(&value)));
    fact("time", format_time(&c.created_at));
    fact("actor", c.actor.clone());
    fact("action", c.action.clone());
    fact("table", c.table_name.clone().unwrap_or_else(|| "-".into()));
    fact("record", c.record_id.clone().unwrap_or_else(|| "-".into()));
    fact("fields", c.fields.join(", "));
    fact("prev", short(&view.entry.prev_hash));
    fact("hash", short(&view.entry.entry_hash));
    if let Some(facts) = &view.facts {
        fact("detail", facts.to_string());
    }
    match &view.values {
        EntryValues::None => {}
        EntryValues::Unreadable(why) => lines.push(format!("  values    ⚠ {}", clean(why))),
        EntryValues::Changes(changes) => {
            let how = match view.revealed_by {
                Some(by) => format!("revealed, audit entry #{by}"),
                None if view.revealable.is_empty() => format!("as role {role} sees them"),
                None => format!(
                    "masked for role {role}; --reveal --reason TEXT reveals {}",
                    view.revealable.join(", ")
                ),
            };
            lines.push(format!("changes ({how}):"));
            for change in changes {
                lines.push(format!(
                    "  {:<14} old: {}  new: {}",
                    change.field,
                    side(&change.old),
                    side(&change.new)
                ));
            }
        }
    }
    lines.push(String::new());
    lines.join("\n")
}

fn side(cell: &Option<Cell>) -> String {
    match cell {
        None => "-".into(),
        Some(Cell::Null) => "∅".into(),
        Some(cell) => clean(&cell.display()),
    }
}

/// The first 16 hex digits: enough to compare by eye (`--format json` has them whole).
pub fn short(hash: &str) -> String {
    match hash.get(..16) {
        Some(head) if hash.len() > 16 => format!("{head}…"),
        _ => hash.to_string(),
    }
}

/// Text from the database without control characters, so it cannot drive the terminal.
fn clean(text: &str) -> String {
    text.chars()
        .map(|ch| if ch.is_control() { '·' } else { ch })
        .collect()
}
