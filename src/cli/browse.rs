//! `timber browse MODEL`: one page of records (or the matches of `--find`), decrypted, as a
//! table, JSON lines (DESIGN §12) or CSV. Rows go to stdout; how many, and the cursor of the
//! next page, go to stderr.
//!
//! Every cell passes through [`output_row`], the one place a decrypted cell becomes what is
//! printed: it goes through access control's masking, so each cell is at the role's level
//! and a hidden column is left out. `--reveal` shows what the role may reveal, after ONE
//! audit entry for the whole export has been written (no entry, no plaintext); the owner
//! rule's rows are revealed the same way. A search by a secret field needs at least `hash`
//! on it and writes its own entry (see `access::search`).
//!
//! Output cannot drive a terminal or a spreadsheet (issue 13): control characters in a
//! table or CSV cell are written as `\u{..}` escapes (ESC as `\u{1b}`), JSON escapes them
//! (C1 and DEL included), and a CSV cell starting with `=`, `+`, `-`, `@`, tab or CR gets a
//! leading `'` (OWASP's CSV-injection rule; typed numbers such as `-5` are left alone).

use std::io::{self, Write};
use std::process::ExitCode;

use serde_json::{Map, Value as Json};

use super::args::{BrowseArgs, BrowseFormat, GlobalArgs};
use super::output_text::{csv_plain, csv_text, escape_controls, json_escape_c1, table_cell};
use super::{CliError, CliResult, Context, block_on};
use crate::access::{
    Access, Cell as ViewCell, HashKeySource, RevealGrant, RowsRequest, SearchAudit,
};
use crate::audit::AuditLog;
use crate::config::{ModelDef, ModelSet};
use crate::crypto::{CellError, KeyRing};
use crate::store::parse_for_column;
use crate::store::{PageRequest, Record, Store, StoreConfig, StoreError};

/// What is printed for one field.
#[derive(Clone, Debug, PartialEq)]
pub enum OutputCell {
    /// A revealed value, as typed JSON.
    Value(Json),
    /// A masked value (access control's glyphs).
    Masked(String),
    /// A cell that could not be read.
    Error(CellError),
}

impl OutputCell {
    pub fn to_json(&self) -> Json {
        match self {
            OutputCell::Value(v) => v.clone(),
            OutputCell::Masked(m) => Json::String(m.clone()),
            OutputCell::Error(e) => serde_json::json!({ "error": e.as_str() }),
        }
    }

    /// Text for a table or CSV cell: strings bare, NULL empty, the rest as JSON.
    fn text(&self) -> String {
        match self {
            OutputCell::Value(Json::String(s)) | OutputCell::Masked(s) => s.clone(),
            OutputCell::Value(Json::Null) => String::new(),
            other => other.to_json().to_string(),
        }
    }
}

/// The printed fields of one record, in model order, masked for the acting role (revealed
/// where `grant` covers them); a hidden field is left out.
pub fn output_row(
    access: &Access,
    model: &ModelDef,
    record: &Record,
    grant: Option<&RevealGrant>,
) -> Vec<(String, OutputCell)> {
    access
        .mask_row(model, record, grant)
        .cells
        .into_iter()
        .filter_map(|(name, cell)| {
            let out = match cell {
                ViewCell::Revealed(v) => OutputCell::Value(v.to_json()),
                ViewCell::Masked { text, .. } => OutputCell::Masked(text),
                ViewCell::Error(e) => OutputCell::Error(e),
                ViewCell::Null => OutputCell::Value(Json::Null),
                ViewCell::Hidden => return None,
            };
            Some((name, out))
        })
        .collect()
}

pub fn run(global: &GlobalArgs, args: &BrowseArgs) -> CliResult {
    // A page of no rows is never what was meant (it used to print one row silently).
    if args.limit == 0 {
        return Err(CliError::msg(
            "browse: --limit must be at least 1 (the number of rows to print; default 50)",
        ));
    }
    let ctx = Context::load(global.to_flags())?;
    let models = ctx.models()?;
    let model = find_model(&models, &args.model)?;
    let ring = ctx.keyring()?;
    let access =
        Access::from_settings(&ctx.settings, &ring).map_err(|e| CliError::msg(e.to_string()))?;
    if access.hash_key_source() == HashKeySource::Ephemeral {
        eprintln!(
            "timber browse: MASTER_ENCRYPTION_KEY is not set: `hash` masks use a key of this run only"
        );
    }
    let find = args.find.as_deref().map(split_find).transpose()?;
    // Refused before any query: a search below `hash` would be an equality oracle.
    let search_audit = match &find {
        Some((field, _)) => access
            .authorize_search(model, field)
            .map_err(|e| CliError::msg(e.to_string()))?,
        None => SearchAudit::NotNeeded,
    };
    let config = StoreConfig::from_settings(&ctx.settings)?;
    let url = config.shown_url();
    let (records, next, grant) = block_on(async {
        let store = Store::connect(config).await?;
        let fetched = fetch(&store, model, &ring, args, find.as_ref()).await;
        // Records are fetched first (a failed read needs no audit entry), but nothing is
        // printed before the search's and the reveal's audit entries are written.
        let audited = match &fetched {
            Ok((records, _)) => {
                audit(&store, &ring, &access, model, args, records, search_audit).await
            }
            Err(_) => Ok(None),
        };
        store.close().await;
        let (records, next) = fetched?;
        Ok::<_, CliError>((records, next, audited?))
    })?;
    let rows: Vec<Vec<(String, OutputCell)>> = records
        .iter()
        .map(|r| output_row(&access, model, r, grant.as_ref()))
        .collect();
    let header: Vec<String> = access
        .visible_columns(model)
        .iter()
        .map(|c| c.name.clone())
        .collect();
    match write_rows(args.format, &header, &rows) {
        Ok(()) => {}
        // `timber browse ... | head` closing the pipe is not an error (`CliError::ClosedPipe`).
        Err(e) => return Err(CliError::stdout(e)),
    }
    eprintln!(
        "timber browse: {} record(s) of {} ({}) from {url}",
        rows.len(),
        model.name,
        model.table_name
    );
    if let Some(next) = next {
        eprintln!(
            "timber browse: more after this page: --after {}",
            escape_controls(&next)
        );
    }
    super::audit_signed::checkpoint_if_due(&ctx);
    Ok(ExitCode::SUCCESS)
}

/// `FIELD=VALUE` of `--find`.
fn split_find(find: &str) -> Result<(String, String), CliError> {
    match find.split_once('=') {
        Some((field, value)) if !field.trim().is_empty() => {
            Ok((field.trim().to_string(), value.to_string()))
        }
        _ => Err(CliError::msg(format!(
            "browse: --find takes FIELD=VALUE (got `{}`)",
            escape_controls(find)
        ))),
    }
}

/// Writes this invocation's audit entries, before anything is printed: the search's (when
/// it searched by a secret field; refused if it cannot be written) and ONE reveal entry for
/// what is revealed (the export's `reveal` fields with `--reveal`, and the acting user's own
/// rows under the owner rule). Returns what the reveal lets through.
///
/// Without `--reveal`, own rows whose entry cannot be written are shown masked (with a note)
/// rather than failing the listing: nothing is revealed without its entry either way.
async fn audit(
    store: &Store,
    ring: &KeyRing,
    access: &Access,
    model: &ModelDef,
    args: &BrowseArgs,
    records: &[Record],
    search: SearchAudit,
) -> Result<Option<RevealGrant>, CliError> {
    let owner_rows = !access.owner_fields(model).is_empty()
        && records.iter().any(|r| access.is_own_row(model, r));
    if search == SearchAudit::NotNeeded && !args.reveal && !owner_rows {
        return Ok(None);
    }
    let log = AuditLog::open(store, ring).await;
    let find_field = args
        .find
        .as_deref()
        .and_then(|f| f.split_once('='))
        .map(|(f, _)| f.trim());
    if search == SearchAudit::Required {
        let log = log.as_ref().map_err(|e| {
            CliError::msg(format!(
                "search refused: its audit entry could not be written ({e})"
            ))
        })?;
        let fields: Vec<String> = find_field.map(str::to_string).into_iter().collect();
        access
            .audit_search(log, model, &fields, records.len(), args.limit, "browse")
            .await
            .map_err(|e| CliError::msg(e.to_string()))?;
    }
    if !args.reveal && !owner_rows {
        return Ok(None);
    }
    let request = RowsRequest {
        scope: if args.reveal { "export" } else { "browse" }.to_string(),
        export: args.reveal,
        reason: args.reason.clone(),
        filter: serde_json::json!({
            "find": find_field.map(|f| vec![f]),
            "after": args.after,
            "limit": args.limit,
        }),
    };
    let revealed = match &log {
        Ok(log) => access
            .reveal_rows(log, model, records, &request)
            .await
            .map_err(|e| e.to_string()),
        Err(e) => Err(format!(
            "reveal refused: its audit entry could not be written ({e})"
        )),
    };
    let grant = match revealed {
        Ok(grant) => grant,
        Err(message) if args.reveal => return Err(CliError::msg(message)),
        Err(message) => {
            eprintln!("timber browse: your own rows are shown masked: {message}");
            return Ok(None);
        }
    };
    let role = &access.identity().role;
    match &grant {
        Some(g) if args.reveal && !g.fields().is_empty() => eprintln!(
            "timber browse: revealed {} of {} record(s) as {role} (audit entry {})",
            g.fields().join(", "),
            records.len(),
            g.entry_id()
        ),
        _ if args.reveal => eprintln!(
            "timber browse: role {role} may reveal no field of {}; shown masked",
            model.name
        ),
        _ => {}
    }
    if let Some(g) = grant.as_ref().filter(|g| g.own_rows() > 0) {
        eprintln!(
            "timber browse: {} of your own row(s) shown by the owner rule (audit entry {})",
            g.own_rows(),
            g.entry_id()
        );
    }
    Ok(grant)
}

fn find_model<'a>(models: &'a ModelSet, name: &str) -> Result<&'a ModelDef, CliError> {
    models.find(name).ok_or_else(|| {
        let known: Vec<&str> = models.models.iter().map(|m| m.name.as_str()).collect();
        CliError::msg(format!(
            "no model named `{name}` in the model files (known: {})",
            if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            }
        ))
    })
}

/// The records asked for, and the key to continue after when more exist.
async fn fetch(
    store: &Store,
    model: &ModelDef,
    ring: &KeyRing,
    args: &BrowseArgs,
    find: Option<&(String, String)>,
) -> Result<(Vec<Record>, Option<String>), StoreError> {
    store.check_model(model).await?;
    let limit = args.limit;
    if let Some((field, text)) = find {
        let field = field.as_str();
        let column = model
            .column(field)
            .ok_or_else(|| StoreError::UnknownField {
                model: model.name.clone(),
                field: field.to_string(),
            })?;
        let value = parse_for_column(text, column).map_err(|reason| StoreError::InvalidValue {
            model: model.name.clone(),
            field: field.to_string(),
            reason,
        })?;
        return Ok((store.find(model, ring, field, &value, limit).await?, None));
    }
    let request = match &args.after {
        None => PageRequest::first(limit),
        Some(text) => {
            let pk = model.primary_key();
            let key = parse_for_column(text, pk).map_err(|reason| StoreError::InvalidValue {
                model: model.name.clone(),
                field: pk.name.clone(),
                reason: format!("--after: {reason}"),
            })?;
            PageRequest::after(key, limit)
        }
    };
    let page = store.page(model, ring, &request).await?;
    let next = page.next(limit).map(|_| {
        let last = &page.records[page.records.len() - 1].id;
        match last.to_json() {
            Json::String(s) => s,
            other => other.to_string(),
        }
    });
    Ok((page.records, next))
}

fn write_rows(
    format: BrowseFormat,
    header: &[String],
    rows: &[Vec<(String, OutputCell)>],
) -> io::Result<()> {
    let mut out = io::BufWriter::new(io::stdout().lock());
    match format {
        BrowseFormat::Json => {
            for row in rows {
                let object: Map<String, Json> = row
                    .iter()
                    .map(|(name, cell)| (name.clone(), cell.to_json()))
                    .collect();
                writeln!(out, "{}", json_escape_c1(&Json::Object(object).to_string()))?;
            }
        }
        BrowseFormat::Csv => {
            let header: Vec<String> = header.iter().map(|name| csv_plain(name)).collect();
            writeln!(out, "{}", header.join(","))?;
            for row in rows {
                let fields: Vec<String> = row.iter().map(|(_, c)| csv_cell(c)).collect();
                writeln!(out, "{}", fields.join(","))?;
            }
        }
        BrowseFormat::Table => write_table(&mut out, header, rows)?,
    }
    out.flush()
}

/// A CSV field: text through OWASP's formula rule and control escaping; a typed number,
/// boolean or error as it is (it cannot start a formula; `-5` stays a number).
fn csv_cell(cell: &OutputCell) -> String {
    match cell {
        OutputCell::Value(Json::String(s)) | OutputCell::Masked(s) => csv_text(s),
        OutputCell::Value(Json::Number(_) | Json::Bool(_) | Json::Null) | OutputCell::Error(_) => {
            csv_plain(&cell.text())
        }
        // JSON documents start with `{` or `[`; the rule applies all the same.
        OutputCell::Value(_) => csv_text(&cell.text()),
    }
}

/// Aligned columns, each cell on one line and at most 40 characters.
fn write_table(
    out: &mut impl Write,
    header: &[String],
    rows: &[Vec<(String, OutputCell)>],
) -> io::Result<()> {
    const WIDTH: usize = 40;
    let shown = |cell: &OutputCell| -> String {
        let text = match cell {
            OutputCell::Error(e) => format!("<{}>", e.as_str()),
            other => other.text(),
        };
        let flat = table_cell(&text);
        if flat.chars().count() > WIDTH {
            let cut: String = flat.chars().take(WIDTH - 1).collect();
            format!("{cut}…")
        } else {
            flat
        }
    };
    let body: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.iter().map(|(_, c)| shown(c)).collect())
        .collect();
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            body.iter()
                .filter_map(|r| r.get(i))
                .chain(std::iter::once(&header[i]))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: &[String]| -> String {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c}{}", " ".repeat(w.saturating_sub(c.chars().count()))))
            .collect();
        padded.join("  ").trim_end().to_string()
    };
    writeln!(out, "{}", line(header))?;
    for row in &body {
        writeln!(out, "{}", line(row))?;
    }
    Ok(())
}
