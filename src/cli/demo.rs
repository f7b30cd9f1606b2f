//! `timber demo`: writes a seeded demo directory with planted problems, then opens the
//! console on it (or, with `--no-console`, says how to look around).

use std::collections::BTreeMap;
use std::io::Write;
use std::process::ExitCode;

use super::args::{DemoArgs, GlobalArgs};
use super::{CliError, CliResult, Context, block_on};
use crate::config::Settings;
use crate::config::is_key_variable;
use crate::demo::{DemoOptions, DemoSummary, generate};
use crate::plural::count_as;

pub fn run(global: &GlobalArgs, args: &DemoArgs) -> CliResult {
    // The demo writes and then opens its own SQLite database, models and policy: a flag
    // naming others would be silently ignored while writing and then obeyed by the console
    // (opening another database than the one just written).
    let foreign = [
        ("--database-url", global.database_url.is_some()),
        ("--env-file", global.env_file.is_some()),
        ("--models", !global.models.is_empty()),
        ("--policy", global.policy.is_some()),
    ];
    if let Some((flag, _)) = foreign.iter().find(|(_, given)| *given) {
        return Err(CliError::msg(format!(
            "timber demo: {flag} is not used; the demo writes its own SQLite database, models \
             and policy into --dir and opens the console on them"
        )));
    }
    let options = DemoOptions {
        dir: args.dir.clone(),
        rows: args.rows,
        seed: args.seed,
        force: args.force,
    };
    eprintln!(
        "timber demo: writing {} rows per main model into {} (seed {})",
        args.rows,
        args.dir.display(),
        args.seed
    );
    let started = std::time::Instant::now();
    let summary = block_on(generate(&options)).map_err(|e| CliError::msg(e.to_string()))?;
    print_summary(&summary, started.elapsed().as_secs_f64());
    if args.no_console {
        return Ok(ExitCode::SUCCESS);
    }
    open_console(global, &summary)
}

fn print_summary(summary: &DemoSummary, seconds: f64) {
    let mut err = std::io::stderr().lock();
    let total: u64 = summary.rows.iter().map(|(_, n)| n).sum();
    let _ = writeln!(
        err,
        "wrote {total} rows in {seconds:.1}s to {}",
        summary.database.display()
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
        let _ = writeln!(
            err,
            "  {:<22} {}.{:<18} {} ({})",
            p.check,
            p.model,
            p.column,
            p.what,
            p.record_ids.join(", ")
        );
    }
    let dir = summary.dir.display();
    let _ = writeln!(
        err,
        "\nthe demo keys are published in timber's source: demo use only"
    );
    let _ = writeln!(err, "try:  cd {dir} && timber health");
    let _ = writeln!(err, "      cd {dir} && timber browse UserProfile --limit 5");
    let _ = writeln!(
        err,
        "      cd {dir} && timber --role security_admin browse UserProfile --reveal --reason demo"
    );
}

/// Opens the console on the demo: settings come from the demo's `.env`, whose paths are
/// relative to the demo directory, so the console runs from there. The database, models
/// and policy are also given as flags, which beat the environment: an operator's exported
/// `DATABASE_URL` (or `TIMBER_MODELS`, `TIMBER_POLICY`) must not turn the demo's console
/// onto their own database. Exported key variables are set aside (there is no flag for a
/// key): they outrank the `.env`, and the demo's data would read as undecryptable.
fn open_console(global: &GlobalArgs, summary: &DemoSummary) -> CliResult {
    std::env::set_current_dir(&summary.dir)
        .map_err(|e| CliError::msg(format!("entering {}: {e}", summary.dir.display())))?;
    let mut global = global.clone();
    let database = summary.database.file_name().unwrap_or_default();
    global.database_url = Some(format!("sqlite://{}", database.to_string_lossy()));
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
    let mut env = Settings::process_env()?;
    let ignored = set_aside_exported(&mut env);
    if !ignored.is_empty() {
        eprintln!(
            "timber demo: ignoring exported {} for the demo (it uses its own keys, database, \
             models and policy from {})",
            ignored.join(", "),
            summary.dir.join(".env").display()
        );
    }
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
