//! `timber browse MODEL`: one page of records (or the matches of `--find`), decrypted, as a
//! table, JSON lines (DESIGN §12) or CSV. Rows go to stdout; how many, and the cursor of the
//! next page, go to stderr.
//!
//! Every cell passes through [`output_row`], the one place a decrypted cell becomes what is
//! printed; access control plugs in there. Until it does, every field is revealed.

use std::io::{self, Write};
use std::process::ExitCode;

use serde_json::{Map, Value as Json};

use super::args::{BrowseArgs, BrowseFormat, GlobalArgs};
use super::{CliError, CliResult, Context, block_on};
use crate::config::{ModelDef, ModelSet};
use crate::crypto::{CellError, KeyRing};
use crate::store::convert::parse_for_column;
use crate::store::{Cell, PageRequest, Record, Store, StoreConfig, StoreError};

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

/// The printed fields of one record, in model order; a hidden field is left out.
pub fn output_row(model: &ModelDef, record: &Record) -> Vec<(String, OutputCell)> {
    model
        .columns
        .iter()
        .zip(&record.cells)
        .map(|(column, cell)| {
            let out = match cell {
                Cell::Plain(v) | Cell::Decrypted { value: v, .. } => OutputCell::Value(v.to_json()),
                Cell::Unreadable(e) => OutputCell::Error(*e),
            };
            (column.name.clone(), out)
        })
        .collect()
}

pub fn run(global: &GlobalArgs, args: &BrowseArgs) -> CliResult {
    let ctx = Context::load(global.to_flags())?;
    let models = ctx.models()?;
    let model = find_model(&models, &args.model)?;
    let ring = ctx.keyring()?;
    let config = StoreConfig::from_settings(&ctx.settings)?;
    let url = config.url.redacted();
    let (records, next) = block_on(async {
        let store = Store::connect(config).await?;
        let fetched = fetch(&store, model, &ring, args).await;
        store.close().await;
        fetched
    })?;
    let rows: Vec<Vec<(String, OutputCell)>> =
        records.iter().map(|r| output_row(model, r)).collect();
    match write_rows(args.format, model, &rows) {
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
    let limit = args.limit.max(1);
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
    model: &ModelDef,
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
            let header: Vec<String> = model.columns.iter().map(|c| csv_field(&c.name)).collect();
            writeln!(out, "{}", header.join(","))?;
            for row in rows {
                let fields: Vec<String> = row.iter().map(|(_, c)| csv_field(&c.text())).collect();
                writeln!(out, "{}", fields.join(","))?;
            }
        }
        BrowseFormat::Table => write_table(&mut out, model, rows)?,
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
    model: &ModelDef,
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
    let header: Vec<String> = model.columns.iter().map(|c| c.name.clone()).collect();
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
    writeln!(out, "{}", line(&header))?;
    for row in &body {
        writeln!(out, "{}", line(row))?;
    }
    Ok(())
}
