//! `timber browse MODEL`: one page of records (or the matches of `--find`), decrypted, as a
//! table, JSON lines (DESIGN §12) or CSV. Rows go to stdout; how many, and the cursor of the
//! next page, go to stderr.
//!
//! Every cell passes through [`output_row`], the one place a decrypted cell becomes what is
//! printed: it goes through access control's masking, so each cell is at the role's level
//! and a hidden column is left out. `--reveal` shows what the role may reveal, after ONE
//! audit entry for the whole export has been written (no entry, no plaintext).

use std::io::{self, Write};
use std::process::ExitCode;

use serde_json::{Map, Value as Json};

use super::args::{BrowseArgs, BrowseFormat, GlobalArgs};
use super::{CliError, CliResult, Context, block_on};
use crate::access::{Access, Cell as ViewCell, HashKeySource, RevealGrant};
use crate::audit::AuditLog;
use crate::config::{ModelDef, ModelSet};
use crate::crypto::{CellError, KeyRing};
use crate::store::convert::parse_for_column;
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
    let config = StoreConfig::from_settings(&ctx.settings)?;
    let url = config.shown_url();
    let (records, next, grant) = block_on(async {
        let store = Store::connect(config).await?;
        let fetched = fetch(&store, model, &ring, args).await;
        // Records are fetched first (a failed read needs no audit entry), but nothing is
        // printed before the export's audit entry is written.
        let grant = match (&fetched, args.reveal) {
            (Ok(_), true) => reveal(&store, &ring, &access, model, args).await,
            _ => Ok(None),
        };
        store.close().await;
        let (records, next) = fetched?;
        Ok::<_, CliError>((records, next, grant?))
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
        // `timber browse ... | head` closing the pipe is not an error.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(ExitCode::SUCCESS),
        Err(e) => return Err(CliError::msg(format!("writing to stdout: {e}"))),
    }
    eprintln!(
        "timber browse: {} record(s) of {} ({}) from {url}",
        rows.len(),
        model.name,
        model.table_name
    );
    if let Some(next) = next {
        eprintln!("timber browse: more after this page: --after {next}");
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes the export's one audit entry and returns what it lets through.
async fn reveal(
    store: &Store,
    ring: &KeyRing,
    access: &Access,
    model: &ModelDef,
    args: &BrowseArgs,
) -> Result<Option<RevealGrant>, CliError> {
    let log = AuditLog::open(store, ring)
        .await
        .map_err(|e| CliError::msg(e.to_string()))?;
    let grant = access
        .reveal_export(&log, model, args.reason.as_deref())
        .await
        .map_err(|e| CliError::msg(e.to_string()))?;
    match &grant {
        Some(g) => eprintln!(
            "timber browse: revealed {} as {} (audit entry {})",
            g.fields().join(", "),
            access.identity().role,
            g.entry_id()
        ),
        None => eprintln!(
            "timber browse: role {} may reveal no field of {}; shown masked",
            access.identity().role,
            model.name
        ),
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
) -> Result<(Vec<Record>, Option<String>), StoreError> {
    store.check_model(model).await?;
    let limit = args.limit;
    if let Some(find) = &args.find {
        let (field, text) = find
            .split_once('=')
            .ok_or_else(|| StoreError::InvalidValue {
                model: model.name.clone(),
                field: find.clone(),
                reason: "--find takes FIELD=VALUE".into(),
            })?;
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
                writeln!(out, "{}", Json::Object(object))?;
            }
        }
        BrowseFormat::Csv => {
            let header: Vec<String> = header.iter().map(|name| csv_field(name)).collect();
            writeln!(out, "{}", header.join(","))?;
            for row in rows {
                let fields: Vec<String> = row.iter().map(|(_, c)| csv_field(&c.text())).collect();
                writeln!(out, "{}", fields.join(","))?;
            }
        }
        BrowseFormat::Table => write_table(&mut out, header, rows)?,
    }
    out.flush()
}

/// RFC 4180: quote a field holding a comma, quote, CR or LF; double inner quotes.
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
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
        let flat: String = text
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
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
