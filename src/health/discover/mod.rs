//! Undeclared sensitive data (`timber discover`, health's `data.undeclared_sensitive`):
//! sample every column that no model declares encrypted, in the models' tables and in
//! tables no model declares, and report the columns whose values look like e-mail
//! addresses, phone numbers, SSNs, card numbers, IBANs, JWTs, API keys or Fernet tokens.
//! Only counts and shares leave this module: never a value.
//!
//! - [`detect`]: one detector per kind;
//! - [`discover`]: the bounded sample (the store's `sample_table`, the first `sample` rows
//!   of each table) and the classification, on a blocking thread per table while the next
//!   table is read, so both cores work;
//! - [`suggest`]: the model YAML that would declare what was found.

pub mod detect;
mod suggest;

use std::collections::BTreeMap;

use serde_json::{Value as Json, json};

pub use detect::Kind;
pub use suggest::suggest_yaml;

use crate::config::ModelDef;
use crate::plural::count;
use crate::store::{Store, StoreError, TableSample};

/// Rows read per table unless `--sample` says otherwise.
pub const DEFAULT_SAMPLE: u32 = 1000;

/// A column is reported for a kind when at least this share (percent) of its sampled
/// values are of that kind: a column of e-mail addresses with some blanks is found, a
/// free-text column where one note is an address is not.
pub const MIN_SHARE_PERCENT: u64 = 20;

/// One column whose values look sensitive, and how many of them do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SensitiveColumn {
    pub table: String,
    /// The model declaring the table; `None` for a table no model declares.
    pub model: Option<String>,
    pub column: String,
    /// Whether the model lists the column (a table column it does not list is `false`).
    pub declared: bool,
    /// The database's type for the column (`VARCHAR(255)`, `text`).
    pub data_type: String,
    pub kind: Kind,
    /// Values of this kind among those sampled.
    pub matches: u64,
    /// Non-null values sampled.
    pub values: u64,
    /// Rows read from the table.
    pub rows: u64,
}

impl SensitiveColumn {
    /// The share of sampled values of this kind, in percent (one decimal in output).
    pub fn percent(&self) -> f64 {
        if self.values == 0 {
            0.0
        } else {
            self.matches as f64 * 100.0 / self.values as f64
        }
    }

    /// `Model.column`, or `table.column` for an undeclared table.
    pub fn place(&self) -> String {
        format!(
            "{}.{}",
            self.model.as_deref().unwrap_or(&self.table),
            self.column
        )
    }
}

/// What a discovery run sampled and found.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Discovery {
    pub found: Vec<SensitiveColumn>,
    /// Rows read at most per table.
    pub sample: u32,
    pub tables: u64,
    /// Columns whose values were looked at.
    pub columns: u64,
    /// Tables or columns not looked at, and why (system tables are not listed).
    pub notes: Vec<String>,
    /// The primary key of each table no model declares: (table, column, database type),
    /// for `--suggest`.
    pub keys: Vec<(String, String, String)>,
}

/// How to run a discovery.
#[derive(Clone, Copy, Debug)]
pub struct DiscoverOptions {
    pub sample: u32,
}

impl Default for DiscoverOptions {
    fn default() -> Self {
        DiscoverOptions {
            sample: DEFAULT_SAMPLE,
        }
    }
}

/// timber's own tables (`timber_audit_log`, `timber_keys`, ...): their tokens and names are
/// the tool's, not the application's data.
fn is_system_table(table: &str) -> bool {
    table.starts_with("timber_")
}

/// The columns of `model` not to sample: the encrypted ones (declared), and their
/// blind-index hash columns (keyed digests of them).
fn declared_protected(model: &ModelDef) -> Vec<&str> {
    let mut out = Vec::new();
    for c in model.encrypted_columns() {
        out.push(c.name.as_str());
        if let Some(hash) = &c.blind_index {
            out.push(hash.as_str());
        }
    }
    out
}

/// Samples every table of the connection's namespace except timber's own, and reports
/// the columns not declared encrypted whose values look sensitive.
pub async fn discover(
    store: &Store,
    models: &[&ModelDef],
    options: DiscoverOptions,
) -> Result<Discovery, StoreError> {
    let tables = store.list_tables().await?;
    let mut out = Discovery {
        sample: options.sample,
        ..Discovery::default()
    };
    tracing::info!(
        tables = tables.len(),
        sample = options.sample,
        "discovery started"
    );
    let mut pending = Vec::new();
    for table in tables.iter().filter(|t| !is_system_table(t)) {
        let model = models.iter().find(|m| &m.table_name == table).copied();
        let skip = model.map(declared_protected).unwrap_or_default();
        let sample = match store.sample_table(table, &skip, options.sample).await {
            Ok(sample) => sample,
            Err(err) => {
                out.notes.push(format!("{table} not sampled: {err}"));
                continue;
            }
        };
        out.tables += 1;
        if model.is_none()
            && let Some(key) = sample.columns.iter().find(|c| c.primary_key)
        {
            out.keys
                .push((table.clone(), key.name.clone(), key.data_type.clone()));
        }
        out.columns += sample.columns.iter().filter(|c| !c.skipped).count() as u64;
        let model_name = model.map(|m| m.name.clone());
        let listed: Vec<String> = model
            .map(|m| m.columns.iter().map(|c| c.name.clone()).collect())
            .unwrap_or_default();
        // Classified on a blocking thread while the next table is read.
        pending.push(tokio::task::spawn_blocking(move || {
            classify_table(&sample, model_name, &listed)
        }));
    }
    for task in pending {
        match task.await {
            Ok(found) => out.found.extend(found),
            Err(err) => out
                .notes
                .push(format!("a sample was not classified: {err}")),
        }
    }
    tracing::info!(found = out.found.len(), "discovery finished");
    Ok(out)
}

/// The sensitive columns of one sampled table.
pub fn classify_table(
    sample: &TableSample,
    model: Option<String>,
    listed: &[String],
) -> Vec<SensitiveColumn> {
    let mut out = Vec::new();
    for column in sample.columns.iter().filter(|c| !c.skipped) {
        let mut kinds: BTreeMap<Kind, u64> = BTreeMap::new();
        for value in &column.values {
            if let Some(kind) = Kind::of(value) {
                *kinds.entry(kind).or_default() += 1;
            }
        }
        let values = column.values.len() as u64;
        for (kind, matches) in kinds {
            if matches * 100 >= values * MIN_SHARE_PERCENT {
                out.push(SensitiveColumn {
                    table: sample.table.clone(),
                    model: model.clone(),
                    column: column.name.clone(),
                    declared: listed.contains(&column.name),
                    data_type: column.data_type.clone(),
                    kind,
                    matches,
                    values,
                    rows: sample.rows,
                });
            }
        }
    }
    out
}

impl Discovery {
    /// `{"sample", "tables", "columns", "found": [{"table", "model", "column", "declared",
    /// "kind", "matches", "values", "rows", "percent"}]}`: counts only, never a value.
    pub fn to_json(&self) -> Json {
        let found: Vec<Json> = self
            .found
            .iter()
            .map(|f| {
                json!({
                    "table": f.table, "model": f.model, "column": f.column,
                    "declared": f.declared, "kind": f.kind.as_str(),
                    "matches": f.matches, "values": f.values, "rows": f.rows,
                    "percent": (f.percent() * 10.0).round() / 10.0,
                })
            })
            .collect();
        json!({
            "sample": self.sample, "tables": self.tables, "columns": self.columns,
            "found": found,
        })
    }

    /// The report for people: one line per column found, then what was sampled.
    pub fn to_text(&self) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        let scope = format!(
            "{} of {} (at most {} each; values are never shown)",
            count(self.columns, "column"),
            count(self.tables, "table"),
            count(u64::from(self.sample), "row")
        );
        if self.found.is_empty() {
            let _ = writeln!(out, "no undeclared sensitive data found in {scope}");
            return out;
        }
        let _ = writeln!(out, "UNDECLARED SENSITIVE DATA in {scope}");
        let place_w = self
            .found
            .iter()
            .map(|f| f.place().len())
            .max()
            .unwrap_or(6)
            .max(6);
        let kind_w = self
            .found
            .iter()
            .map(|f| f.kind.describe().len())
            .max()
            .unwrap_or(4);
        let _ = writeln!(
            out,
            "  {:place_w$}  {:kind_w$}  {:>7}  {:>7}  {:>6}  where",
            "column", "looks like", "matches", "sampled", "share"
        );
        for f in &self.found {
            let place = match (&f.model, f.declared) {
                (None, _) => format!("table {} (no model)", f.table),
                (Some(_), true) => "declared, not encrypted".to_string(),
                (Some(_), false) => format!("in {} but not in the model", f.table),
            };
            let _ = writeln!(
                out,
                "  {:place_w$}  {:kind_w$}  {:>7}  {:>7}  {:>5.1}%  {place}",
                f.place(),
                f.kind.describe(),
                f.matches,
                f.values,
                f.percent()
            );
        }
        out
    }
}
