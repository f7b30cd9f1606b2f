//! `timber demo`: writes a seeded demo directory with planted problems, then opens the
//! console on it (or, with `--no-console`, says how to look around). The data goes to
//! `DIR/timber.db`, or, with `--database-url postgres://…|mysql://…`, to a schema (database)
//! the demo creates on that server (`--schema`, default `timber_demo`).

use std::collections::BTreeMap;
use std::io::Write;
use std::process::ExitCode;

use super::args::{DemoArgs, GlobalArgs};
use super::{CliError, CliResult, Context, block_on};
use crate::config::Settings;
use crate::config::is_key_variable;
use crate::demo::{DemoOptions, DemoServer, DemoSummary, generate, generate_on_server};
use crate::plural::count_as;
use crate::store::{Dialect, StoreConfig, valid_namespace};

/// The schema (database) a server demo writes to unless `--schema` names another.
const DEFAULT_SCHEMA: &str = "timber_demo";

pub fn run(global: &GlobalArgs, args: &DemoArgs) -> CliResult {
    // The demo writes and then opens its own models, policy and `.env`: a flag naming
    // others would be ignored while writing and then obeyed by the console. Given before
    // `demo` they are global flags, after it the demo's own (hidden from its --help).
    let foreign = [
        (
            "--env-file",
            global.env_file.is_some() || args.env_file.is_some(),
        ),
        (
            "--models",
            !global.models.is_empty() || !args.models.is_empty(),
        ),
        ("--policy", global.policy.is_some() || args.policy.is_some()),
    ];
    if let Some((flag, _)) = foreign.iter().find(|(_, given)| *given) {
        return Err(CliError::msg(format!(
            "{flag} is not used by `timber demo`: it writes its own models, policy and .env \
             into --dir and opens the console on them"
        )));
    }
    let server = server(global, args)?;
    // Said first, before anything is written or the console takes the terminal.
    let mut env = Settings::process_env()?;
    let ignored = set_aside_exported(&mut env);
    if !ignored.is_empty() {
        eprintln!(
            "timber demo: ignoring exported {} for the demo (it uses its own keys, database, \
             models and policy from {})",
            ignored.join(", "),
            args.dir.join(".env").display()
        );
    }
    let options = DemoOptions {
        dir: args.dir.clone(),
        rows: args.rows,
        seed: args.seed,
        force: args.force,
    };
    let target = match &server {
        Some(s) => format!(" and schema `{}` on {}", s.schema, s.config.shown_url()),
        None => String::new(),
    };
    eprintln!(
        "timber demo: writing {} rows per main model into {}{target} (seed {})",
        args.rows,
        args.dir.display(),
        args.seed
    );
    let started = std::time::Instant::now();
    let summary = block_on(async {
        match &server {
            Some(server) => generate_on_server(&options, server).await,
            None => generate(&options).await,
        }
    })
    .map_err(|e| CliError::msg(e.to_string()))?;
    print_summary(&summary, started.elapsed().as_secs_f64(), &ignored);
    if args.no_console {
        return Ok(ExitCode::SUCCESS);
    }
    open_console(global, &summary, env)
}

/// The server `--database-url` names, with the schema to write to; `None` for the default
/// SQLite demo. A SQLite URL, a bad schema name, or `--schema` without a server is refused.
fn server(global: &GlobalArgs, args: &DemoArgs) -> Result<Option<DemoServer>, CliError> {
    let Some(url) = args.database_url.as_ref().or(global.database_url.as_ref()) else {
        if args.schema.is_some() {
            return Err(CliError::msg(
                "--schema names the schema (database) to fill on a server; give the \
                 server with --database-url postgres://… or mysql://…",
            ));
        }
        return Ok(None);
    };
    let config = StoreConfig::from_url(url.trim())
        .map_err(|e| CliError::msg(format!("timber demo --database-url: {e}")))?;
    if config.dialect == Dialect::Sqlite {
        return Err(CliError::msg(
            "timber demo --database-url is for a PostgreSQL or MySQL/MariaDB server; the SQLite \
             demo is written to DIR/timber.db (choose DIR with --dir)",
        ));
    }
    let schema = args.schema.as_deref().unwrap_or(DEFAULT_SCHEMA);
    if !valid_namespace(schema) {
        return Err(CliError::msg(format!(
            "timber demo --schema {schema:?} is not a plain name; use lower-case letters, digits \
             and _ (not starting with a digit), at most 63 characters"
        )));
    }
    Ok(Some(DemoServer {
        config,
        schema: schema.to_string(),
    }))
}

fn print_summary(summary: &DemoSummary, seconds: f64, ignored: &[String]) {
    let mut err = std::io::stderr().lock();
    let total: u64 = summary.rows.iter().map(|(_, n)| n).sum();
    let _ = writeln!(
        err,
        "wrote {total} rows in {seconds:.1}s to {}",
        summary.database
    );
    for (model, rows) in &summary.rows {
        let _ = writeln!(err, "  {model:<24} {rows:>8} rows");
    }
    let _ = writeln!(
        err,
        "audit log: {} on the hash chain (`timber audit`)",
        count_as(summary.audit_entries as u64, "entry", "entries")
    );
    let _ = writeln!(err, "planted problems (find them with `timber health`):");
    for p in &summary.planted {
        let ids = if p.record_ids.is_empty() {
            String::new()
        } else {
            format!(" ({})", p.record_ids.join(", "))
        };
        let _ = writeln!(
            err,
            "  {:<25} {}.{:<18} {}{ids}",
            p.check, p.model, p.column, p.what,
        );
    }
    let _ = writeln!(
        err,
        "\nthe demo keys are published in timber's source: demo use only"
    );
    let (flags, unset) = suggested_flags(summary, ignored);
    if !unset.is_empty() {
        let _ = writeln!(
            err,
            "your shell exports {}, which outrank{} any env file: `unset {}` before trying these",
            unset.join(", "),
            if unset.len() == 1 { "s" } else { "" },
            unset.join(" ")
        );
    }
    let dir = summary.dir.display();
    let start = format!("cd {dir} && timber --env-file .env{flags}");
    let _ = writeln!(err, "try:  {start} health");
    let _ = writeln!(err, "      {start} browse UserProfile --limit 5");
    let _ = writeln!(
        err,
        "      {start} --role security_admin browse UserProfile --reveal --reason demo"
    );
}

/// The flags the suggested commands carry beyond `--env-file .env`, so that an exported
/// `DATABASE_URL`, `TIMBER_MODELS` or `TIMBER_POLICY` (which outrank any env file) cannot
/// turn them onto another database: `--database-url` with the demo's URL when it holds no
/// credential to print, `--models`, `--policy`. What no flag can cover (a key, a URL with a
/// password) is returned to be unset.
fn suggested_flags(summary: &DemoSummary, ignored: &[String]) -> (String, Vec<String>) {
    let mut flags = String::new();
    let mut unset = Vec::new();
    for name in ignored {
        match name.as_str() {
            "DATABASE_URL" if summary.url.redacted() == summary.url.expose() => {
                flags.push_str(&format!(" --database-url {}", summary.url.expose()));
            }
            "TIMBER_MODELS" => flags.push_str(" --models models"),
            "TIMBER_POLICY" => flags.push_str(" --policy policy.yaml"),
            other => unset.push(other.to_string()),
        }
    }
    (flags, unset)
}

/// Opens the console on the demo: settings come from the demo's `.env`, whose paths are
/// relative to the demo directory, so the console runs from there. The database, models
/// and policy are also given as flags, which beat the environment: an operator's exported
/// `DATABASE_URL` (or `TIMBER_MODELS`, `TIMBER_POLICY`) must not turn the demo's console
/// onto their own database. Exported key variables are set aside in `env` (there is no flag
/// for a key): they outrank the `.env`, and the demo's data would read as undecryptable.
fn open_console(
    global: &GlobalArgs,
    summary: &DemoSummary,
    env: BTreeMap<String, String>,
) -> CliResult {
    std::env::set_current_dir(&summary.dir)
        .map_err(|e| CliError::msg(format!("entering {}: {e}", summary.dir.display())))?;
    let mut global = global.clone();
    global.database_url = Some(summary.url.expose().to_string());
    global.models = vec!["models".into()];
    global.policy = Some("policy.yaml".into());
    global.env_file = Some(
        summary
            .dir
            .join(".env")
            .canonicalize()
            .unwrap_or_else(|_| ".env".into()),
    );
    let flags = global.to_flags();
    let cwd = std::env::current_dir().unwrap_or_else(|_| summary.dir.clone());
    let settings = Settings::from_sources(&flags, &env, &cwd)?;
    super::console::run_with(Context { flags, settings })
}

/// Removes from `env` the variables the demo replaces with its own (keys, and the database,
/// models and policy it also gives as flags), returning the names that were set.
fn set_aside_exported(env: &mut BTreeMap<String, String>) -> Vec<String> {
    let replaced = ["DATABASE_URL", "TIMBER_MODELS", "TIMBER_POLICY"];
    let names: Vec<String> = env
        .iter()
        .filter(|(name, value)| {
            !value.trim().is_empty() && (is_key_variable(name) || replaced.contains(&name.as_str()))
        })
        .map(|(name, _)| name.clone())
        .collect();
    for name in &names {
        env.remove(name);
    }
    names
}
