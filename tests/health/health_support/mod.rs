//! Shared setup for the health and census tests: settings from an environment map, models
//! from YAML written to a temp dir, stored values replaced by compare-and-set (the way a
//! bad writer or an attacker with database access would leave them), raw SQL for the few
//! plants the store has no API for, and lookups into a report.

pub mod accounts;

use std::collections::BTreeMap;
use std::path::Path;

use sqlx::Connection;
use timber::config::Flags;
use timber::config::{ModelSet, Settings, load_models};
use timber::crypto::Key;
use timber::health::{Finding, HealthOptions, HealthReport, Severity, run_health};
use timber::store::{CasUpdate, Store};
use timber::value::Value;

use crate::store_support::{Kind, TestDb};

/// A fresh random key as `.env` text.
pub fn new_key() -> String {
    Key::generate().to_base64().to_string()
}

/// Settings as `timber` would load them from exactly these variables (no `.env`: `cwd` is
/// an empty temp dir).
pub fn settings(vars: &[(&str, String)], cwd: &Path) -> Settings {
    let env: BTreeMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    Settings::from_sources(&Flags::default(), &env, cwd).expect("test settings load")
}

/// Writes `yaml` as `models/models.yaml` under `dir` and loads it like the CLI does.
pub fn models(dir: &Path, yaml: &str) -> ModelSet {
    let models_dir = dir.join("models");
    std::fs::create_dir_all(&models_dir).unwrap();
    std::fs::write(models_dir.join("models.yaml"), yaml).unwrap();
    load_models(&[models_dir]).expect("test models load")
}

/// Replaces the stored text of one cell (compare-and-set on what is stored now).
pub async fn set_stored(
    store: &Store,
    models: &ModelSet,
    model: &str,
    id: &str,
    column: &str,
    new: &str,
) {
    let model = models.find(model).expect("model");
    let rows = store
        .raw_page(model, &[column], None, 10_000)
        .await
        .expect("read rows");
    let row = rows
        .iter()
        .find(|r| r.id == Value::Text(id.to_string()))
        .unwrap_or_else(|| panic!("no row {id}"));
    let outcome = store
        .compare_and_set(
            model,
            &[CasUpdate {
                id: row.id.clone(),
                column: column.to_string(),
                expected: row.values[0].clone().expect("a stored value to replace"),
                new: new.to_string(),
            }],
        )
        .await
        .expect("compare-and-set");
    assert_eq!(outcome.applied, 1, "planting {column} of {id}");
}

/// The stored text of one cell.
pub async fn stored(
    store: &Store,
    models: &ModelSet,
    model: &str,
    id: &str,
    column: &str,
) -> Option<String> {
    let model = models.find(model).expect("model");
    let rows = store
        .raw_page(model, &[column], None, 10_000)
        .await
        .expect("read rows");
    rows.into_iter()
        .find(|r| r.id == Value::Text(id.to_string()))
        .and_then(|r| r.values.into_iter().next().flatten())
}

/// Runs raw SQL on the test database (plants the store has no API for).
pub async fn exec(db: &TestDb, sql: &str) {
    let sql = sqlx::AssertSqlSafe(sql.to_string());
    match db.kind {
        Kind::Sqlite => {
            let mut c = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
            sqlx::raw_sql(sql).execute(&mut c).await.unwrap();
        }
        Kind::Postgres => {
            let mut c = sqlx::PgConnection::connect(&db.url).await.unwrap();
            sqlx::raw_sql(sql).execute(&mut c).await.unwrap();
        }
        Kind::Mysql => {
            let mut c = sqlx::MySqlConnection::connect(&db.url).await.unwrap();
            sqlx::raw_sql(sql).execute(&mut c).await.unwrap();
        }
    }
}

pub async fn health(settings: &Settings, models: &ModelSet, store: &Store) -> HealthReport {
    run_health(settings, models, store, &HealthOptions::default())
        .await
        .expect("health runs")
}

/// The findings of `id`, with a readable dump when a lookup fails.
pub fn of<'a>(report: &'a HealthReport, id: &str) -> Vec<&'a Finding> {
    report.findings.iter().filter(|f| f.id == id).collect()
}

/// The one finding of `id` at `model`.`column` (column `None`: at the model, or anywhere).
pub fn at<'a>(
    report: &'a HealthReport,
    id: &str,
    model: Option<&str>,
    column: Option<&str>,
) -> &'a Finding {
    let found: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|f| f.id == id)
        .filter(|f| model.is_none() || f.evidence.model.as_deref() == model)
        .filter(|f| column.is_none() || f.evidence.column.as_deref() == column)
        .collect();
    assert_eq!(
        found.len(),
        1,
        "expected one {id} finding at {model:?}.{column:?}, got:\n{}",
        dump(report)
    );
    found[0]
}

/// Asserts a finding's severity, count and record ids.
pub fn expect(f: &Finding, severity: Severity, count: Option<u64>, ids: &[&str]) {
    assert_eq!(f.severity, severity, "{}: {}", f.id, f.finding);
    assert_eq!(f.evidence.count, count, "{}: {}", f.id, f.finding);
    assert_eq!(f.evidence.record_ids, ids, "{}: {}", f.id, f.finding);
}

/// Every check id has only `ok` findings.
pub fn all_ok(report: &HealthReport, ids: &[&str]) {
    for id in ids {
        let findings = of(report, id);
        assert!(!findings.is_empty(), "no finding for {id}");
        for f in findings {
            assert_eq!(
                f.severity,
                Severity::Ok,
                "{id}: {}\n{}",
                f.finding,
                dump(report)
            );
        }
    }
}

pub fn dump(report: &HealthReport) -> String {
    report
        .findings
        .iter()
        .map(|f| {
            format!(
                "{} {} {} {:?} {}",
                f.severity.as_str(),
                f.id,
                f.evidence.place(),
                f.evidence.count,
                f.finding
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Runs the `timber` binary in `dir` with exactly these variables (nothing inherited).
pub fn timber_cli(dir: &Path, args: &[&str], vars: &[(&str, String)]) -> std::process::Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_timber"));
    cmd.current_dir(dir).env_clear().args(args);
    for (k, v) in vars {
        cmd.env(k, v);
    }
    cmd.output().expect("run timber")
}

/// A SQLite database file in `dir` with the models of `yaml` created, and the variables
/// that point `timber` at it with fresh keys (primary, old, master) and a recent rotation.
pub async fn sqlite_world(
    dir: &Path,
    yaml: &str,
) -> (ModelSet, Store, Vec<(&'static str, String)>) {
    let models = models(dir, yaml);
    let url = format!("sqlite://{}", dir.join("t.db").display());
    let recent = (chrono::Utc::now().date_naive() - chrono::Duration::days(3)).to_string();
    let vars = vec![
        ("DATABASE_URL", url.clone()),
        ("ENCRYPTION_KEY", new_key()),
        ("ENCRYPTION_KEY_OLD", new_key()),
        ("MASTER_ENCRYPTION_KEY", new_key()),
        ("KEY_ROTATION_DATE", recent),
        ("TIMBER_MODELS", dir.join("models").display().to_string()),
    ];
    let mut config = timber::store::StoreConfig::from_url(&url).unwrap();
    config.create_if_missing = true;
    let store = Store::connect(config).await.unwrap();
    store.init(&models.models).await.unwrap();
    (models, store, vars)
}
