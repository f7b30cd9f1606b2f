//! SCHEMA family: column widths against token lengths, indexes on ciphertext, legacy
//! search hashes, blind-index columns without an index, model/table drift, and encrypted
//! fields without `EncryptedFieldMixin`. Table facts come from the store's catalogue.

use super::census::Survey;
use super::report::{Evidence, Finding, Severity};
use super::scan::hash_column;
use crate::config::{ColumnDef, ColumnType, Mixin, ModelDef};
use crate::store::Dialect;
use crate::store::fernet_token_len;
use crate::store::{ColumnInfo, IndexInfo};

/// What the database has for one model's table (`None` columns: the table is missing).
#[derive(Clone, Debug, Default)]
pub struct TableFacts {
    pub columns: Vec<ColumnInfo>,
    pub indexes: Vec<IndexInfo>,
}

impl TableFacts {
    pub fn exists(&self) -> bool {
        !self.columns.is_empty()
    }

    pub fn column(&self, name: &str) -> Option<&ColumnInfo> {
        self.columns
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case(name))
    }

    /// Indexes whose columns include `name` (any position).
    pub fn indexes_on(&self, name: &str) -> impl Iterator<Item = &IndexInfo> {
        self.indexes
            .iter()
            .filter(move |i| i.columns.iter().any(|c| c.eq_ignore_ascii_case(name)))
    }

    /// True when an index can serve lookups on `name` (it is the index's first column).
    pub fn leads_an_index(&self, name: &str) -> bool {
        self.indexes.iter().any(|i| {
            i.columns
                .first()
                .is_some_and(|c| c.eq_ignore_ascii_case(name))
        })
    }
}

/// The longest plaintext, in bytes, a value of this declared type encrypts: `String(N)`
/// as N ASCII characters; others as their longest `json.dumps` text. `None`: unbounded.
pub fn max_plaintext_bytes(ty: &ColumnType) -> Option<usize> {
    Some(match ty {
        ColumnType::String(Some(n)) => *n as usize,
        ColumnType::Integer => 11,
        ColumnType::BigInteger => 20,
        ColumnType::Boolean => 5,
        ColumnType::Float => 24,
        ColumnType::Numeric(p, _) => *p as usize + 2,
        ColumnType::Date => 12,
        ColumnType::DateTime => 28,
        ColumnType::String(None)
        | ColumnType::Text
        | ColumnType::Json
        | ColumnType::LargeBinary => {
            return None;
        }
    })
}

/// schema.column_width. Three thresholds per encrypted column of bounded type:
/// - the database column is narrower than the token of a value of the declared size
///   (ASCII): fail (warn on SQLite, which does not enforce widths);
/// - it holds that but not the token of the declared size in 4-byte characters: warn;
/// - the model declares `String(N)` with N below the shortest token (100 characters):
///   warn, because Python Timber creates `VARCHAR(N)` from the same YAML and no token fits.
pub fn column_width(
    models: &[&ModelDef],
    facts: &dyn Fn(&str) -> Option<TableFacts>,
    dialect: Dialect,
) -> Vec<Finding> {
    let id = "schema.column_width";
    let mut out = Vec::new();
    let mut checked = 0;
    for model in models {
        let table = facts(&model.name).unwrap_or_default();
        for column in model.encrypted_columns() {
            let Some(bytes) = max_plaintext_bytes(&column.ty) else {
                continue;
            };
            checked += 1;
            let needed = fernet_token_len(bytes);
            let needed_wide = match column.ty {
                ColumnType::String(Some(n)) => fernet_token_len(n as usize * 4),
                _ => needed,
            };
            let evidence = || {
                Evidence::at(&model.name, &model.table_name, Some(&column.name))
                    .with("declared", column.ty.yaml_name())
                    .with("needed", needed)
            };
            let width = table.column(&column.name).and_then(|c| c.max_chars);
            if let Some(width) = width.map(|w| w as usize) {
                if width < needed {
                    let (severity, note) = if dialect == Dialect::Sqlite {
                        (
                            Severity::Warn,
                            " (SQLite does not enforce it; PostgreSQL and MySQL would refuse or truncate)",
                        )
                    } else {
                        (Severity::Fail, "")
                    };
                    out.push(Finding::new(id, severity, format!(
                        "column is {width} characters wide but a {} value's token takes {needed}{note}", column.ty.yaml_name()))
                        .evidence(evidence().with("width", width))
                        .remedy(format!("Widen {}.{} to at least {needed_wide} characters (or TEXT)", model.table_name, column.name)));
                    continue;
                }
                if width < needed_wide {
                    out.push(Finding::warn(id, format!(
                        "column is {width} characters wide: a {} value in multi-byte characters takes up to {needed_wide}", column.ty.yaml_name()))
                        .evidence(evidence().with("width", width).with("needed", needed_wide))
                        .remedy(format!("Widen {}.{} to {needed_wide} characters (or TEXT)", model.table_name, column.name)));
                    continue;
                }
            }
            if let ColumnType::String(Some(n)) = column.ty {
                let shortest = fernet_token_len(0);
                if (n as usize) < shortest {
                    out.push(Finding::warn(id, format!(
                        "declared String({n}) cannot hold any Fernet token (at least {shortest} characters, {needed} for {n}): Python Timber creates VARCHAR({n}) from this model"))
                        .evidence(evidence().with("width", n))
                        .remedy(format!("Declare {}.{} as String({needed}) or Text in the model YAML, and widen existing tables", model.name, column.name)));
                }
            }
        }
    }
    if out.is_empty() {
        out.push(Finding::ok(
            id,
            format!("{checked} encrypted columns of bounded type are wide enough for their tokens"),
        ));
    }
    out
}

/// schema.encrypted_indexed: an index on an encrypted column, declared in the model or
/// present in the database. Tokens are random, so it never finds a value and `unique`
/// on it is meaningless.
pub fn encrypted_indexed(
    models: &[&ModelDef],
    facts: &dyn Fn(&str) -> Option<TableFacts>,
) -> Vec<Finding> {
    let id = "schema.encrypted_indexed";
    let mut out = Vec::new();
    for model in models {
        let table = facts(&model.name).unwrap_or_default();
        for column in model.encrypted_columns() {
            let mut where_: Vec<String> = Vec::new();
            if column.indexed || column.unique {
                where_.push(format!(
                    "the model marks it {}",
                    if column.unique { "unique" } else { "indexed" }
                ));
            }
            if model
                .indexes
                .iter()
                .any(|i| i.columns.contains(&column.name))
            {
                where_.push("a model index includes it".into());
            }
            let db: Vec<String> = table
                .indexes_on(&column.name)
                .map(|i| i.name.clone())
                .collect();
            if !db.is_empty() {
                where_.push(format!("database index {}", db.join(", ")));
            }
            if where_.is_empty() {
                continue;
            }
            out.push(Finding::warn(id, format!(
                "encrypted column is indexed ({}): Fernet tokens are random, so the index can never find a value", where_.join("; ")))
                .evidence(Evidence::at(&model.name, &model.table_name, Some(&column.name)).with("database_indexes", db.clone()))
                .remedy(format!("Remove `indexed`/`unique` from {}.{}{}; search through a blind index (`blind_index: <column>`)",
                    model.name, column.name,
                    if db.is_empty() { String::new() } else { format!(" and DROP INDEX {}", db.join(", ")) })));
        }
    }
    if out.is_empty() {
        out.push(Finding::ok(id, "no index covers an encrypted column"));
    }
    out
}

/// The (encrypted column, hash column) pairs of a model.
fn hash_pairs(model: &ModelDef) -> Vec<(&ColumnDef, &ColumnDef)> {
    model
        .encrypted_columns()
        .filter_map(|c| hash_column(model, c).map(|h| (c, h)))
        .collect()
}

/// schema.legacy_hash: search hashes that are unkeyed `sha256(lower(value))` (anyone with
/// the table can test guesses), and hashes matching neither scheme.
pub fn legacy_hash(models: &[&ModelDef], survey: &Survey, have_master: bool) -> Vec<Finding> {
    let id = "schema.legacy_hash";
    let mut out = Vec::new();
    let mut checked = 0u64;
    for table in &survey.tables {
        let Some(model) = models.iter().find(|m| m.name == table.job.model) else {
            continue;
        };
        for (job, stats) in table.job.columns.iter().zip(&table.columns) {
            let Some(hash) = hash_column(model, &job.def).filter(|_| job.hash_at.is_some()) else {
                continue;
            };
            let h = &stats.hashes;
            checked += h.keyed + h.legacy.count + h.mismatch.count;
            let evidence = |samples: &super::stats::Samples| {
                let ev = Evidence::at(&model.name, &model.table_name, Some(&hash.name))
                    .count(samples.count)
                    .ids(samples.ids())
                    .with("hashes", job.def.name.clone());
                if table.sampled {
                    ev.with("sampled", table.rows)
                } else {
                    ev
                }
            };
            if !h.legacy.is_empty() {
                out.push(Finding::fail(id, format!(
                    "{} search hashes of {} are unkeyed sha256(lower(value)): anyone with the table can test guesses against them",
                    h.legacy.count, job.def.name))
                    .evidence(evidence(&h.legacy))
                    .remedy(format!("Declare `blind_index: {}` on {}.{} with MASTER_ENCRYPTION_KEY set and rewrite these rows through timber, which stores keyed HMAC-SHA256 hashes", hash.name, model.name, job.def.name)));
            }
            if !h.mismatch.is_empty() {
                let why = if have_master {
                    "stale, or made some other way"
                } else {
                    "MASTER_ENCRYPTION_KEY is not set, so keyed hashes cannot be recognised"
                };
                out.push(Finding::warn(id, format!(
                    "{} search hashes of {} match neither the keyed nor the legacy scheme ({why})", h.mismatch.count, job.def.name))
                    .evidence(evidence(&h.mismatch).with("kind", "mismatch"))
                    .remedy("Rewrite these rows through timber so their hashes are recomputed; searches cannot find them meanwhile"));
            }
        }
    }
    if out.is_empty() {
        out.push(Finding::ok(
            id,
            format!("no legacy or stale search hashes ({checked} checked)"),
        ));
    }
    out
}

/// schema.blind_index_unindexed: a search-hash column no index leads, so every search
/// reads the whole table.
pub fn blind_index_unindexed(
    models: &[&ModelDef],
    facts: &dyn Fn(&str) -> Option<TableFacts>,
) -> Vec<Finding> {
    let id = "schema.blind_index_unindexed";
    let mut out = Vec::new();
    let mut checked = 0;
    for model in models {
        let Some(table) = facts(&model.name).filter(TableFacts::exists) else {
            continue;
        };
        for (column, hash) in hash_pairs(model) {
            if table.column(&hash.name).is_none() {
                continue;
            }
            checked += 1;
            if table.leads_an_index(&hash.name) {
                continue;
            }
            let declared = hash.indexed || hash.unique;
            let remedy = if declared {
                "The model declares the index but the table lacks it: run `timber init`".to_string()
            } else {
                format!(
                    "Declare `indexed: true` on {}.{} and run `timber init`",
                    model.name, hash.name
                )
            };
            out.push(Finding::warn(id, format!("search hash column for {} has no index: every search scans the whole table", column.name))
                .evidence(Evidence::at(&model.name, &model.table_name, Some(&hash.name)))
                .remedy(remedy));
        }
    }
    if out.is_empty() {
        out.push(Finding::ok(
            id,
            format!("{checked} search hash columns are indexed"),
        ));
    }
    out
}

/// schema.drift: a missing table or missing columns fail; extra table columns are noted.
pub fn drift(models: &[&ModelDef], facts: &dyn Fn(&str) -> Option<TableFacts>) -> Vec<Finding> {
    let id = "schema.drift";
    let mut out = Vec::new();
    for model in models {
        let table = facts(&model.name).unwrap_or_default();
        let at = || Evidence::at(&model.name, &model.table_name, None);
        if !table.exists() {
            out.push(
                Finding::fail(id, format!("table `{}` does not exist", model.table_name))
                    .evidence(at())
                    .remedy("Run `timber init` to create it (or fix table_name in the model YAML)"),
            );
            continue;
        }
        let missing: Vec<&str> = model
            .columns
            .iter()
            .map(|c| c.name.as_str())
            .filter(|n| table.column(n).is_none())
            .collect();
        if !missing.is_empty() {
            out.push(
                Finding::fail(
                    id,
                    format!("table lacks model columns: {}", missing.join(", ")),
                )
                .evidence(
                    at().count(missing.len() as u64)
                        .with("columns", missing.clone()),
                )
                .remedy("Add the columns (a migration), or remove them from the model YAML"),
            );
        }
        let extra: Vec<&str> = table
            .columns
            .iter()
            .map(|c| c.name.as_str())
            .filter(|n| model.column(n).is_none())
            .collect();
        if !extra.is_empty() {
            out.push(
                Finding::ok(
                    id,
                    format!(
                        "table has columns the model does not declare (info): {}",
                        extra.join(", ")
                    ),
                )
                .evidence(
                    at().count(extra.len() as u64)
                        .with("columns", extra.clone()),
                ),
            );
        }
    }
    if !out.iter().any(|f| f.severity != Severity::Ok) {
        out.insert(
            0,
            Finding::ok(
                id,
                format!(
                    "{} {} their tables",
                    crate::plural::count(models.len() as u64, "model"),
                    crate::plural::pick(models.len() as u64, "matches", "match")
                ),
            ),
        );
    }
    out
}

/// schema.mixin: encrypted fields in a model without `EncryptedFieldMixin`. Python Timber
/// only encrypts through the mixin, so its writes to these fields would store plaintext.
pub fn mixin(models: &[&ModelDef]) -> Vec<Finding> {
    let id = "schema.mixin";
    let mut out: Vec<Finding> = models
        .iter()
        .filter(|m| m.has_encrypted_columns() && !m.has_mixin(Mixin::EncryptedField))
        .map(|m| {
            let fields: Vec<&str> = m.encrypted_columns().map(|c| c.name.as_str()).collect();
            Finding::warn(id, format!("encrypts {} without EncryptedFieldMixin: Python Timber would write them in clear", fields.join(", ")))
                .evidence(Evidence::at(&m.name, &m.table_name, None).count(fields.len() as u64))
                .remedy(format!("Add EncryptedFieldMixin to the mixins of {} ({})", m.name, m.source.display()))
        })
        .collect();
    if out.is_empty() {
        out.push(Finding::ok(
            id,
            "every model with encrypted fields declares EncryptedFieldMixin",
        ));
    }
    out
}
