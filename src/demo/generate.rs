//! Writes the demo directory: `.env` (demo keys, marked as such), `models/`, `policy.yaml`
//! and `timber.db`, seeded and with the problems of `plant.rs` planted.

use std::path::{Path, PathBuf};

use super::ages::era_time;
use super::data::{DemoData, Row};
use super::history::write_history;
use super::keys::{DEMO_MASTER_KEY, DEMO_OLD_KEY, DEMO_PRIMARY_KEY};
use super::plant::{Planted, plant_problems};
use super::undeclared::{UNDECLARED_TABLE, plant_undeclared};
use crate::config::{DatabaseUrl, ModelDef, ModelSet, load_models, parse_models};
use crate::crypto::{KeyError, KeyRing};
use crate::store::{
    AUDIT_CHECKPOINTS, AUDIT_HEAD, AUDIT_LOG, KEYS, ROTATION_CHUNKS, ROTATION_FAILURES,
    ROTATION_JOBS,
};
use crate::store::{Store, StoreConfig, StoreError};
use crate::value::Value;

/// Demo model files, embedded so `timber demo` works from any directory.
const MODEL_FILES: &[(&str, &str)] = &[
    (
        "users.yaml",
        include_str!("../../assets/demo/models/users.yaml"),
    ),
    (
        "research.yaml",
        include_str!("../../assets/demo/models/research.yaml"),
    ),
    (
        "sensitive.yaml",
        include_str!("../../assets/demo/models/sensitive.yaml"),
    ),
];
const POLICY: &str = include_str!("../../assets/demo/policy.yaml");
/// Files the demo owns in its directory; `--force` replaces only these.
const OWNED: &[&str] = &[
    ".env",
    "policy.yaml",
    "timber.db",
    "timber.db-wal",
    "timber.db-shm",
];

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("{0} already holds a demo database; pass --force to replace it")]
    Exists(PathBuf),
    #[error("writing {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("demo models: {0}")]
    Models(String),
    #[error("demo keys: {0}")]
    Keys(#[from] KeyError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("demo audit history: {0}")]
    Audit(String),
    /// The schema or database named for a server demo holds tables already.
    #[error(
        "{place} already holds {}; pass --force to {}, or name another with --schema",
        tables_text(.tables),
        if *.only_demo { "replace the demo in it" } else { "write the demo beside them (only the demo's own tables are replaced; the others are left alone)" }
    )]
    NamespaceInUse {
        place: String,
        tables: Vec<String>,
        only_demo: bool,
    },
}

/// `3 tables (a, b, c)`, naming at most five.
fn tables_text(tables: &[String]) -> String {
    let shown: Vec<&str> = tables.iter().take(5).map(String::as_str).collect();
    let more = if tables.len() > 5 { ", …" } else { "" };
    format!(
        "{} ({}{more})",
        crate::plural::count(tables.len() as u64, "table"),
        shown.join(", ")
    )
}

/// A database server to write the demo to (`timber demo --database-url`): the server as
/// the operator named it, and the schema (PostgreSQL) or database (MySQL/MariaDB) the demo
/// creates there and fills.
#[derive(Clone, Debug)]
pub struct DemoServer {
    pub config: StoreConfig,
    pub schema: String,
}

#[derive(Clone, Debug)]
pub struct DemoOptions {
    pub dir: PathBuf,
    pub rows: usize,
    pub seed: u64,
    pub force: bool,
}

/// What was written, for the summary the CLI prints.
#[derive(Clone, Debug)]
pub struct DemoSummary {
    pub dir: PathBuf,
    /// Where the data went, as shown to people: the SQLite file, or the server's schema or
    /// database with the URL's credentials redacted.
    pub database: String,
    /// The URL the demo's `.env` names, as a console started in `dir` opens it.
    pub url: DatabaseUrl,
    pub rows: Vec<(String, u64)>,
    pub planted: Vec<Planted>,
    /// Entries of the seeded audit history (updates, reveals, a health run).
    pub audit_entries: usize,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> DemoError + '_ {
    move |source| DemoError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Rows per second the demo's rotations are held to (its `.env`): 2 000 rows per main model
/// take a few seconds each, long enough to follow the gauges, short enough for a demo.
pub const DEMO_ROTATION_RATE: u64 = 500;

/// The URL of the demo's SQLite file, from the demo directory.
const SQLITE_URL: &str = "sqlite://timber.db";

/// The `.env` the demo writes, with `url` as its database. The keys are published in
/// timber's source: demo only.
fn env_file_text_for(url: &str) -> String {
    format!(
        "# timber demo settings.\n\
         # DEMO KEYS: published in timber's source code; they protect nothing.\n\
         # Never use them for real data (`timber health` flags them as key.weak).\n\
         DATABASE_URL={url}\n\
         ENCRYPTION_KEY={DEMO_PRIMARY_KEY}\n\
         ENCRYPTION_KEY_OLD={DEMO_OLD_KEY}\n\
         MASTER_ENCRYPTION_KEY={DEMO_MASTER_KEY}\n\
         KEY_ROTATION_DATE=2026-01-01\n\
         OAK_ENV=demo\n\
         TIMBER_MODELS=models\n\
         TIMBER_POLICY=policy.yaml\n\
         TIMBER_ROLE=support\n\
         # Rotations of the demo are held to this many rows per second so that one can be\n\
         # watched on the Keys screen (a few seconds per model); 0 lifts the limit.\n\
         ROTATION_MAX_ROWS_PER_SECOND={DEMO_ROTATION_RATE}\n"
    )
}

/// Writes the config files (`url` as the `.env`'s database) and returns the loaded models.
fn write_files(dir: &Path, url: &str) -> Result<ModelSet, DemoError> {
    let models_dir = dir.join("models");
    std::fs::create_dir_all(&models_dir).map_err(io_err(&models_dir))?;
    for (name, text) in MODEL_FILES {
        let path = models_dir.join(name);
        std::fs::write(&path, text).map_err(io_err(&path))?;
    }
    let policy = dir.join("policy.yaml");
    std::fs::write(&policy, POLICY).map_err(io_err(&policy))?;
    let env = dir.join(".env");
    std::fs::write(&env, env_file_text_for(url)).map_err(io_err(&env))?;
    // Owner-only whatever the umask or an earlier file's mode (`--force` rewrites in place):
    // it holds keys, and timber refuses a group- or world-writable env file.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&env, std::fs::Permissions::from_mode(0o600))
            .map_err(io_err(&env))?;
    }
    load_models(&[models_dir]).map_err(|e| DemoError::Models(e.to_string()))
}

/// The ring the demo's `.env` describes, and one whose primary is the old key (for the
/// ~15% of rows written "before the last rotation").
fn demo_rings() -> Result<(KeyRing, KeyRing), KeyError> {
    let current = KeyRing::builder()
        .primary(DEMO_PRIMARY_KEY, "ENCRYPTION_KEY")?
        .old(DEMO_OLD_KEY, "ENCRYPTION_KEY_OLD")?
        .master(DEMO_MASTER_KEY, "MASTER_ENCRYPTION_KEY")?
        .build()?;
    let before_rotation = KeyRing::builder()
        .primary(DEMO_OLD_KEY, "ENCRYPTION_KEY_OLD")?
        .master(DEMO_MASTER_KEY, "MASTER_ENCRYPTION_KEY")?
        .build()?;
    Ok((current, before_rotation))
}

/// Row counts per model for `--rows N`: the two main models get N, the others fewer.
fn rows_for(model: &str, rows: usize) -> usize {
    match model {
        "UserProfile" | "ResearchSession" => rows,
        "SecureResearchSession" | "SensitiveData" => (rows / 4).max(8),
        _ => (rows / 10).max(8),
    }
}

fn generate_row(data: &mut DemoData, model: &str, n: usize, users: usize) -> Row {
    match model {
        "UserProfile" => data.user_profile(n, users),
        "ResearchSession" => data.research_session(n, users),
        "SecureResearchSession" => data.secure_research_session(n, users),
        "SensitiveData" => data.sensitive_data(n, users),
        // Per-user keys cost one PBKDF2 each (100 000 rounds): keep the owners few.
        _ => data.patient_record(n, users.min(25)),
    }
}

fn owned(row: Row) -> Vec<(String, Value)> {
    row.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// Seeds one model: ~15% of rows under the old key (not for per-user models), their
/// tokens dated in the old key's era (`ages.rs`). One transaction per model.
async fn seed_model(
    store: &Store,
    model: &ModelDef,
    rings: &(KeyRing, KeyRing),
    data: &mut DemoData,
    rows: usize,
) -> Result<u64, DemoError> {
    let users = (rows / 10).max(10);
    // Streamed: rows are written CHUNK at a time as they are made, so memory stays flat
    // however many rows a presenter asks for (`--rows 1000000`, issue 17).
    let mut bulk = store.bulk_insert(model, Some("demo-loader"))?;
    let (mut current, mut old) = (Vec::with_capacity(CHUNK), Vec::with_capacity(CHUNK));
    let mut dated = 0u64;
    for n in 0..rows_for(&model.name, rows) {
        let row = owned(generate_row(data, &model.name, n, users));
        if !model.encryption.per_user && data.chance(15) {
            old.push((row, era_time(dated)));
            dated += 1;
            if old.len() == CHUNK {
                bulk.push_written_at(&rings.1, &old).await?;
                old.clear();
            }
        } else {
            current.push(row);
            if current.len() == CHUNK {
                bulk.push(&rings.0, &current).await?;
                current.clear();
            }
        }
    }
    bulk.push(&rings.0, &current).await?;
    bulk.push_written_at(&rings.1, &old).await?;
    Ok(bulk.finish().await?)
}

/// Rows per batch handed to the writer (and at most twice this many rows in memory).
const CHUNK: usize = 5_000;

/// Builds the whole demo directory, with its data in `dir/timber.db`.
pub async fn generate(options: &DemoOptions) -> Result<DemoSummary, DemoError> {
    let dir = &options.dir;
    std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    let database = dir.join("timber.db");
    if database.exists() && !options.force {
        return Err(DemoError::Exists(dir.clone()));
    }
    for name in OWNED {
        let path = dir.join(name);
        if path.exists() {
            std::fs::remove_file(&path).map_err(io_err(&path))?;
        }
    }
    let models = write_files(dir, SQLITE_URL)?;
    let mut config = StoreConfig::from_url(&format!("sqlite://{}", database.display()))?;
    config.create_if_missing = true;
    let store = Store::connect(config).await?;
    let mut summary = fill(&store, &models, options).await?;
    summary.database = database.display().to_string();
    summary.url = DatabaseUrl::new(SQLITE_URL);
    Ok(summary)
}

/// Builds the demo directory with its data on a database server: in `server.schema`, a
/// PostgreSQL schema or MySQL/MariaDB database it creates. One that already holds tables is
/// refused unless `options.force`; then only the demo's own tables are replaced (dropped and
/// written again), and any other table is left alone. The directory's `.env` names the URL
/// inside the schema, so `timber` there (and the demo's console) opens the demo's tables.
pub async fn generate_on_server(
    options: &DemoOptions,
    server: &DemoServer,
) -> Result<DemoSummary, DemoError> {
    let schema = &server.schema;
    let inside = server
        .config
        .in_namespace(schema)
        .ok_or_else(|| DemoError::Models("a server demo needs a PostgreSQL or MySQL URL".into()))?;
    let place = format!(
        "{} `{schema}` on {}",
        match server.config.dialect {
            crate::store::Dialect::Postgres => "schema",
            _ => "database",
        },
        server.config.shown_url()
    );
    // Everything is checked before anything is written, here or in the directory.
    let owned = demo_tables()?;
    let admin = Store::connect(server.config.clone()).await?;
    let existing = admin.namespace_tables(schema).await?;
    if !existing.is_empty() && !options.force {
        admin.close().await;
        return Err(DemoError::NamespaceInUse {
            place,
            only_demo: existing.iter().all(|t| owned.contains(t)),
            tables: existing,
        });
    }
    admin.create_namespace(schema).await?;
    admin.close().await;
    let store = Store::connect(inside.clone()).await?;
    store.drop_tables(&owned).await?;

    let dir = &options.dir;
    std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    let models = write_files(dir, inside.url.expose())?;
    let mut summary = fill(&store, &models, options).await?;
    summary.database = place;
    summary.url = inside.url.clone();
    Ok(summary)
}

/// Every table the demo writes: its models' tables, the table no model declares, and the
/// system tables.
fn demo_tables() -> Result<Vec<String>, DemoError> {
    let mut tables = Vec::new();
    for (name, text) in MODEL_FILES {
        let models =
            parse_models(text, Path::new(name)).map_err(|e| DemoError::Models(e.to_string()))?;
        tables.extend(models.into_iter().map(|m| m.table_name));
    }
    for table in [
        UNDECLARED_TABLE,
        AUDIT_LOG,
        AUDIT_HEAD,
        AUDIT_CHECKPOINTS,
        KEYS,
        ROTATION_JOBS,
        ROTATION_FAILURES,
        ROTATION_CHUNKS,
    ] {
        tables.push(table.to_string());
    }
    Ok(tables)
}

/// Creates the tables, seeds every model, plants the problems and writes the audit
/// history; closes the store.
async fn fill(
    store: &Store,
    models: &ModelSet,
    options: &DemoOptions,
) -> Result<DemoSummary, DemoError> {
    let rings = demo_rings()?;
    store.init(&models.models).await?;
    let mut data = DemoData::new(options.seed);
    let mut rows = Vec::new();
    for model in &models.models {
        let written = seed_model(store, model, &rings, &mut data, options.rows).await?;
        rows.push((model.name.clone(), written));
    }
    let mut planted = plant_problems(store, models, &rings.0).await?;
    let signups = (options.rows / 10).max(8);
    planted.extend(plant_undeclared(store, &rings.0, &mut data, signups).await?);
    let audit_entries = write_history(store, models, &rings.0).await?;
    store.close().await;
    Ok(DemoSummary {
        dir: options.dir.clone(),
        database: String::new(),
        url: DatabaseUrl::new(SQLITE_URL),
        rows,
        planted,
        audit_entries,
    })
}
