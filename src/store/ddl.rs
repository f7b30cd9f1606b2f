//! `timber init`: CREATE TABLE / CREATE INDEX for the models and the system tables, per
//! dialect, idempotent. Every object is looked up first so the report can say what was
//! created and what already existed (and because MySQL has no `CREATE INDEX IF NOT EXISTS`).
//!
//! Decisions: YAML `default:` is applied by the writer on insert (SQLAlchemy defaults are
//! client-side), so no DEFAULT clause is emitted; foreign keys are not declared (Python
//! Timber's tables have none and they would order table creation); an index or unique
//! constraint declared on an encrypted column is skipped with a note, because Fernet tokens
//! are randomised and such an index can never find anything (search uses `blind_index`).

use sha2::{Digest, Sha256};

use super::Store;
use super::dialect::Dialect;
use super::error::StoreError;
use super::system_tables::system_tables;
use crate::config::{ColumnDef, ColumnType, ModelDef};
use crate::value::hex_lower;

/// What `timber init` did with one object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InitItem {
    pub kind: ObjectKind,
    pub name: String,
    pub table: String,
    pub created: bool,
    /// Why something declared was not created, if it was skipped.
    pub note: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ObjectKind {
    Table,
    Index,
    Skipped,
}

/// A table to create: its CREATE TABLE statement and its indexes.
pub(crate) struct TablePlan {
    pub table: String,
    pub create: String,
    /// (index name, CREATE INDEX statement)
    pub indexes: Vec<(String, String)>,
    pub skipped: Vec<String>,
}

impl Store {
    /// Creates what is missing of the models' tables and the system tables; reports each.
    pub async fn init(&self, models: &[ModelDef]) -> Result<Vec<InitItem>, StoreError> {
        self.init_objects(models, true).await
    }

    /// What [`Store::init`] would do, changing nothing (`timber init --dry-run`): every
    /// object is looked up, and `created` says it would be created. Works on a read-only
    /// session.
    pub async fn init_plan(&self, models: &[ModelDef]) -> Result<Vec<InitItem>, StoreError> {
        self.init_objects(models, false).await
    }

    async fn init_objects(
        &self,
        models: &[ModelDef],
        apply: bool,
    ) -> Result<Vec<InitItem>, StoreError> {
        let dialect = self.dialect();
        let mut plans: Vec<TablePlan> = models.iter().map(|m| model_plan(dialect, m)).collect();
        plans.extend(system_tables(dialect));
        let mut report = Vec::new();
        for plan in plans {
            let table_existed = self.table_exists(&plan.table).await?;
            if !table_existed && apply {
                self.execute_ddl(&plan.create, &plan.table).await?;
            }
            report.push(InitItem {
                kind: ObjectKind::Table,
                name: plan.table.clone(),
                table: plan.table.clone(),
                created: !table_existed,
                note: None,
            });
            for (name, create) in &plan.indexes {
                // A table that does not exist yet has no index either.
                let existed =
                    (table_existed || apply) && self.index_exists(&plan.table, name).await?;
                if !existed && apply {
                    self.execute_ddl(create, &plan.table).await?;
                }
                report.push(InitItem {
                    kind: ObjectKind::Index,
                    name: name.clone(),
                    table: plan.table.clone(),
                    created: !existed,
                    note: None,
                });
            }
            for note in plan.skipped {
                report.push(InitItem {
                    kind: ObjectKind::Skipped,
                    name: String::new(),
                    table: plan.table.clone(),
                    created: false,
                    note: Some(note),
                });
            }
        }
        Ok(report)
    }

    async fn execute_ddl(&self, sql: &str, table: &str) -> Result<(), StoreError> {
        self.backend
            .execute(sql, &[])
            .await
            .map_err(|e| StoreError::query("create", table, e))?;
        Ok(())
    }
}

/// The CREATE statements for one model.
pub(crate) fn model_plan(dialect: Dialect, model: &ModelDef) -> TablePlan {
    let table = &model.table_name;
    let pk = model.primary_key();
    let mut lines = Vec::new();
    let mut skipped = Vec::new();
    for column in &model.columns {
        let mut line = format!(
            "{} {}",
            dialect.quote(&column.name),
            dialect.column_type(column)
        );
        if column.primary_key && is_integer(column) {
            line = integer_key_column(dialect, column);
        } else if column.primary_key || !column.nullable {
            line.push_str(" NOT NULL");
        }
        if column.unique && !column.primary_key {
            if column.encrypted {
                skipped.push(format!(
                    "unique on encrypted column {} (tokens are randomised; uniqueness cannot be enforced on them)",
                    column.name
                ));
            } else {
                line.push_str(" UNIQUE");
            }
        }
        lines.push(line);
    }
    // SQLite's rowid alias and MySQL's AUTO_INCREMENT key are declared on the column itself.
    let inline_key = is_integer(pk) && dialect != Dialect::Mysql;
    if !inline_key {
        lines.push(format!("PRIMARY KEY ({})", dialect.quote(&pk.name)));
    }
    let create = create_table(dialect, table, &lines);

    let mut indexes = Vec::new();
    let mut indexed_columns: Vec<Vec<String>> = Vec::new();
    for column in model.columns.iter().filter(|c| c.indexed && !c.primary_key) {
        if column.encrypted {
            skipped.push(format!(
                "index on encrypted column {} (tokens are randomised; declare `blind_index:` to search it)",
                column.name
            ));
            continue;
        }
        indexed_columns.push(vec![column.name.clone()]);
        indexes.push(index_sql(
            dialect,
            table,
            std::slice::from_ref(&column.name),
            false,
        ));
    }
    // A blind index column is searched on every lookup: give it an index if none was declared.
    for hash_column in model.columns.iter().filter_map(|c| c.blind_index.as_ref()) {
        let cols = vec![hash_column.clone()];
        if !indexed_columns.contains(&cols) {
            indexed_columns.push(cols.clone());
            indexes.push(index_sql(dialect, table, &cols, false));
        }
    }
    for index in &model.indexes {
        let encrypted: Vec<&str> = index
            .columns
            .iter()
            .filter(|c| model.column(c).is_some_and(|c| c.encrypted))
            .map(String::as_str)
            .collect();
        if !encrypted.is_empty() {
            skipped.push(format!(
                "index on ({}) includes encrypted column {}",
                index.columns.join(", "),
                encrypted.join(", ")
            ));
            continue;
        }
        indexes.push(index_sql(dialect, table, &index.columns, index.unique));
    }
    TablePlan {
        table: table.clone(),
        create,
        indexes,
        skipped,
    }
}

fn is_integer(column: &ColumnDef) -> bool {
    matches!(column.ty, ColumnType::Integer | ColumnType::BigInteger)
}

/// An integer primary key the database numbers itself.
fn integer_key_column(dialect: Dialect, column: &ColumnDef) -> String {
    let name = dialect.quote(&column.name);
    match dialect {
        // Exactly `INTEGER PRIMARY KEY` makes the column SQLite's rowid.
        Dialect::Sqlite => format!("{name} INTEGER PRIMARY KEY"),
        Dialect::Postgres => format!(
            "{name} {} GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
            if column.ty == ColumnType::BigInteger {
                "BIGINT"
            } else {
                "INTEGER"
            }
        ),
        Dialect::Mysql => format!(
            "{name} {} NOT NULL AUTO_INCREMENT",
            dialect.column_type(column)
        ),
    }
}

pub(crate) fn create_table(dialect: Dialect, table: &str, lines: &[String]) -> String {
    let body = lines.join(",\n  ");
    let suffix = match dialect {
        // Binary collation: keys and hashes compare exactly, as on the other backends.
        Dialect::Mysql => " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
        _ => "",
    };
    format!(
        "CREATE TABLE IF NOT EXISTS {} (\n  {body}\n){suffix}",
        dialect.quote(table)
    )
}

/// `(name, CREATE INDEX ...)`; names follow SQLAlchemy (`ix_<table>_<columns>`), shortened
/// with a hash when longer than PostgreSQL's 63-byte identifier limit.
pub(crate) fn index_sql(
    dialect: Dialect,
    table: &str,
    columns: &[String],
    unique: bool,
) -> (String, String) {
    let name = index_name(table, columns);
    let cols: Vec<String> = columns.iter().map(|c| dialect.quote(c)).collect();
    // MySQL has no IF NOT EXISTS here; `init` looks every index up first anyway.
    let if_not_exists = if dialect == Dialect::Mysql {
        ""
    } else {
        "IF NOT EXISTS "
    };
    let sql = format!(
        "CREATE {}INDEX {if_not_exists}{} ON {} ({})",
        if unique { "UNIQUE " } else { "" },
        dialect.quote(&name),
        dialect.quote(table),
        cols.join(", ")
    );
    (name, sql)
}

pub(crate) fn index_name(table: &str, columns: &[String]) -> String {
    let full = format!("ix_{table}_{}", columns.join("_"));
    if full.len() <= 63 {
        return full;
    }
    let digest = hex_lower(&Sha256::digest(full.as_bytes())[..4]);
    let mut cut = 54;
    while !full.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}_{digest}", &full[..cut])
}
