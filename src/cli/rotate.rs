//! `timber rotate (--model M | --all) [--batch N] [--dry-run] [--encrypt-plaintext]
//! [--resume JOB] [--max-rate N] [--format text|json]`.
//!
//! The rate limit is `--max-rate`, else `ROTATION_MAX_ROWS_PER_SECOND`, else none; the plan
//! and each job's start report it.
//!
//! Text: a progress bar on stderr when stderr is a terminal, one summary line per job on
//! stdout, and the first failures (record id, column, reason; never a value) on stderr.
//! JSON: the progress events as JSON lines on stdout, the last of each job `{"event":
//! "done", ...}` (DESIGN §12); `--dry-run` prints one `{"event": "plan", ...}` per model.
//! Exit 0 when every job completed with no failure, 1 when values were left as failures
//! (the jobs completed; see `timber_rotation_failures`), 2 on an error.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};

use super::args::{GlobalArgs, OutputFormat, RotateArgs};
use super::{CliError, CliResult, Context, block_on};
use crate::audit::AuditLog;
use crate::config::{ModelDef, PolicyAction};
use crate::plural::count;
use crate::rotation::{JobSummary, ModelPlan, RotationEvent, RunOptions, plan_model};
use crate::service::{RotateOutcome, RotateRequest, rotate_many};
use crate::store::{Store, StoreConfig};

pub fn run(global: &GlobalArgs, args: &RotateArgs) -> CliResult {
    let ctx = Context::load(global.to_flags())?;
    let set = ctx.models()?;
    let ring = ctx.keyring()?;
    let mut config = StoreConfig::from_settings(&ctx.settings)?;
    let workers = args.workers.map(|n| n as usize);
    if let Some(n) = workers {
        if n > 1 && config.dialect == crate::store::Dialect::Sqlite {
            return Err(CliError::msg(format!(
                "--workers {n}: {} is SQLite, which has one writer at a time, so {n} workers \
                 would only queue behind each other; leave out --workers (one worker)",
                config.url.redacted()
            )));
        }
        // Each worker writes on one connection and reads its next page on another.
        config.max_connections = config.max_connections.max(2 * n as u32 + 2);
    }
    let lease = args.lease.map_or(
        crate::rotation::DEFAULT_LEASE,
        std::time::Duration::from_secs,
    );
    // A worker stalled inside a batch's transaction must not hold its rows (or the job's
    // row) past its lease: the server ends such a transaction (no batch legitimately idles
    // that long; deciding a batch takes well under a second).
    config.idle_transaction_timeout = Some(lease.max(std::time::Duration::from_secs(10)));
    let selected: Vec<&ModelDef> = if args.all {
        set.encrypted_models()
    } else if let Some(name) = &args.model {
        vec![set.find(name).ok_or_else(|| {
            CliError::msg(format!(
                "no model or table named `{name}` in {}",
                models_dirs(&ctx)
            ))
        })?]
    } else {
        Vec::new()
    };
    let max_rate = match args.max_rate {
        Some(rate) => Some(rate).filter(|r| *r > 0),
        None => ctx
            .settings
            .rotation_max_rows_per_second
            .as_ref()
            .map(|r| r.value),
    };
    if args.dry_run {
        return block_on(async {
            let store = Store::connect(config.clone()).await?;
            // What the run would refuse about the lag, the plan refuses too.
            let replica = lag_settings(args, &config, &store).await?;
            if args.max_lag.is_some_and(|l| l > 0.0) {
                crate::rotation::lag_source(store.dialect(), replica.is_some())
                    .map_err(|e| CliError::msg(e.to_string()))?;
            }
            if let Some(replica) = replica {
                replica.close().await;
            }
            let mut plans = Vec::new();
            for model in &selected {
                plans.push(
                    plan_model(&store, &ring, model, args.encrypt_plaintext)
                        .await
                        .map_err(|e| CliError::msg(e.to_string()))?,
                );
            }
            store.close().await;
            print_plans(&plans, max_rate, args.format).map_err(CliError::stdout)?;
            Ok(ExitCode::SUCCESS)
        });
    }
    // A plan only counts values per key (as the census does): no grant needed. Everything
    // else rotates; continuing a job whose worker is gone also needs `takeover_job`, which
    // the runner checks on the very row it claims.
    let grants = ctx.require(&[PolicyAction::Rotate])?;
    if config.read_only {
        return Err(CliError::msg(format!(
            "rotate writes to {}, but the session is read-only (--read-only or OAK_ENV=production); add --write",
            config.url.redacted()
        )));
    }
    let actor = actor(&ctx);
    let format = args.format;
    let options = RunOptions {
        batch: args.batch,
        encrypt_plaintext: args.encrypt_plaintext,
    };
    let outcome = block_on(async {
        if let Some(addr) = &args.metrics_addr {
            let bound = super::metrics::serve(addr, &ctx).await?;
            eprintln!("timber rotate: metrics at http://{bound}/metrics");
        }
        let store = Store::connect(config.clone()).await?;
        let lag_from = lag_settings(args, &config, &store).await?;
        let audit = AuditLog::open(&store, &ring)
            .await
            .map_err(|e| CliError::msg(format!("cannot rotate: {e}")))?;
        let (sender, receiver) = unbounded_channel();
        let printer = std::thread::spawn(move || print_events(receiver, format));
        let request = RotateRequest {
            models: &set.models,
            selected,
            resume: args.resume,
            join: args.join,
            workers,
            lease,
            options,
            actor: &actor,
            max_rate,
            max_lag: args.max_lag.filter(|l| *l > 0.0),
            lag_from,
            // `--max-rate` on this run wins even over a resumed job's stored rate; the
            // setting only applies to jobs started now.
            rate_is_explicit: args.max_rate.is_some(),
            takeover: grants.check(PolicyAction::TakeoverJob),
        };
        let outcome = rotate_many(&store, &ring, &audit, request, sender).await;
        let _ = printer.join();
        for summary in &outcome.jobs {
            report_failures(&store, summary).await;
        }
        store.close().await;
        Ok::<_, CliError>(outcome)
    })?;
    let RotateOutcome {
        jobs: results,
        errors,
    } = outcome;
    super::audit_signed::checkpoint_if_due(&ctx);
    if !errors.is_empty() {
        return Err(CliError::msg(errors.join("; ")));
    }
    if results.iter().any(|s| s.rows_failed > 0) {
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

/// The replica `--lag-from` names: read-only, a small pool, and the main connection's TLS
/// settings (`REQUIRE_SSL` holds for it too).
/// The lag settings checked before any work, for a run and its `--dry-run` alike: a
/// `--lag-from` replica (MySQL/MariaDB only) connected and asked once, and on PostgreSQL a
/// `--max-lag` this session can read. Returns the replica.
async fn lag_settings(
    args: &RotateArgs,
    config: &StoreConfig,
    store: &Store,
) -> Result<Option<Store>, CliError> {
    let lag_from = match &args.lag_from {
        Some(_) if config.dialect != crate::store::Dialect::Mysql => {
            return Err(CliError::msg(
                "--lag-from names a MySQL/MariaDB replica to read the lag on; \
                 PostgreSQL's lag is read on the primary: leave out --lag-from"
                    .to_string(),
            ));
        }
        Some(url) => Some(connect_replica(url, config).await?),
        None => None,
    };
    // A lag limit this session cannot read is refused before any work.
    if args.max_lag.is_some_and(|l| l > 0.0) && store.dialect() == crate::store::Dialect::Postgres {
        store
            .replication_lag()
            .await
            .map_err(|e| CliError::msg(format!("--max-lag: {e}")))?;
    }
    Ok(lag_from)
}

async fn connect_replica(url: &str, main: &StoreConfig) -> Result<Store, CliError> {
    let mut config =
        StoreConfig::from_url(url).map_err(|e| CliError::msg(format!("--lag-from: {e}")))?;
    config.read_only = true;
    config.max_connections = 2;
    config.require_ssl = main.require_ssl;
    config.ssl_root_cert_path = main.ssl_root_cert_path.clone();
    config.ssl_cert_path = main.ssl_cert_path.clone();
    config.ssl_key_path = main.ssl_key_path.clone();
    let redacted = config.url.redacted();
    let store = Store::connect(config)
        .await
        .map_err(|e| CliError::msg(format!("--lag-from {redacted}: {e}")))?;
    // Asked once now, so a URL that is no replica is refused before any work.
    if let Err(e) = store.replica_lag().await {
        return Err(CliError::msg(format!("--lag-from {redacted}: {e}")));
    }
    Ok(store)
}

fn models_dirs(ctx: &Context) -> String {
    ctx.settings
        .models_dirs
        .value
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Who the audit log names: TIMBER_USER / --user, else the OS account (not `$USER`).
pub fn actor(ctx: &Context) -> String {
    ctx.settings
        .user
        .as_ref()
        .map(|u| u.value.clone())
        .or_else(crate::access::os_user)
        .unwrap_or_else(|| "unknown".into())
}

fn print_events(mut receiver: UnboundedReceiver<RotationEvent>, format: OutputFormat) {
    let bar = format == OutputFormat::Text && std::io::stderr().is_terminal();
    while let Some(event) = receiver.blocking_recv() {
        let mut out = std::io::stdout().lock();
        if format == OutputFormat::Json {
            let _ = writeln!(out, "{}", event.to_json());
            let _ = out.flush();
            continue;
        }
        match &event {
            RotationEvent::Started {
                job,
                table,
                total,
                resumed,
                joined,
                max_rate,
                ..
            } => {
                let verb = match (*joined, *resumed) {
                    (true, _) => "joining",
                    (false, true) => "resuming",
                    (false, false) => "rotating",
                };
                eprintln!(
                    "timber rotate: {verb} `{table}` as job {job} ({total} rows{})",
                    limit_text(*max_rate)
                );
            }
            RotationEvent::Adopted { .. } => {
                if let Some(text) = event.adoption_text() {
                    eprintln!("timber rotate: {text}");
                }
            }
            RotationEvent::RateChanged { job, max_rate } => {
                if bar {
                    eprintln!();
                }
                match max_rate {
                    Some(rate) => {
                        eprintln!("timber rotate: job {job} now limited to {rate} rows/s")
                    }
                    None => eprintln!("timber rotate: job {job} no longer rate-limited"),
                }
            }
            RotationEvent::Batch {
                total,
                done,
                skipped,
                failed,
                rate,
                eta_seconds,
                ..
            } if bar => {
                eprint!(
                    "\r{}",
                    progress_bar(done + skipped + failed, *total, *rate, *eta_seconds)
                );
            }
            RotationEvent::Batch { .. } => {}
            RotationEvent::ChunkTakenOver { job, chunk, from } => {
                if bar {
                    eprintln!();
                }
                eprintln!(
                    "timber rotate: job {job}: took chunk {chunk} over from {from} (its lease had expired or its process is gone)"
                );
            }
            RotationEvent::Lagging {
                job,
                lag_seconds,
                max_lag,
                waiting,
            } => {
                if bar {
                    eprintln!();
                }
                match (waiting, lag_seconds) {
                    (true, Some(lag)) => eprintln!(
                        "timber rotate: job {job} waiting: replication lag {lag:.1} s is over --max-lag {max_lag} s"
                    ),
                    (true, None) => eprintln!(
                        "timber rotate: job {job} waiting: the replica reports no lag (its replication is stopped)"
                    ),
                    (false, lag) => eprintln!(
                        "timber rotate: job {job} going on: replication lag {:.1} s is back under {max_lag} s",
                        lag.unwrap_or(0.0)
                    ),
                }
            }
            RotationEvent::Fenced { job, chunk, worker } => {
                if bar {
                    eprintln!();
                }
                eprintln!(
                    "timber rotate: job {job}: worker {worker} lost chunk {chunk} to another worker; its late batch was refused and nothing of it was written"
                );
            }
            RotationEvent::Done(summary) => {
                if bar {
                    eprintln!();
                }
                let _ = writeln!(out, "{}", summary_line(summary));
            }
            RotationEvent::Failed { job, error } => {
                if bar {
                    eprintln!();
                }
                eprintln!("timber rotate: job {job} failed: {error}");
            }
        }
    }
}

fn progress_bar(handled: u64, total: u64, rate: f64, eta: Option<f64>) -> String {
    const WIDTH: usize = 30;
    let fraction = if total == 0 {
        1.0
    } else {
        (handled as f64 / total as f64).min(1.0)
    };
    let filled = (fraction * WIDTH as f64) as usize;
    let eta = eta.map_or("--".into(), |s| format!("{s:.0}s"));
    format!(
        "[{}{}] {handled}/{total} rows  {rate:.0} rows/s  eta {eta}  ",
        "#".repeat(filled),
        "-".repeat(WIDTH - filled)
    )
}

pub fn summary_line(s: &JobSummary) -> String {
    format!(
        "job {} {}: {}, {} rotated, {} unchanged, {} failed, {} retried, {:.2} s",
        s.job,
        s.table,
        s.status.as_str(),
        count(s.rows_done, "row"),
        s.rows_skipped,
        s.rows_failed,
        count(s.conflicts, "conflict"),
        s.seconds
    )
}

async fn report_failures(store: &Store, summary: &JobSummary) {
    if summary.rows_failed == 0 {
        return;
    }
    if let Ok(failures) = store.rotation_failures(summary.job, 10).await {
        eprintln!(
            "timber rotate: job {} left {} row(s) untouched; first failures:",
            summary.job, summary.rows_failed
        );
        for f in failures {
            eprintln!(
                "  {} record {} column {}: {}",
                summary.table, f.record_id, f.column_name, f.reason
            );
        }
    }
}

/// `, limited to N rows/s` when the job has a rate limit.
fn limit_text(max_rate: Option<u64>) -> String {
    max_rate.map_or(String::new(), |r| format!(", limited to {r} rows/s"))
}

fn print_plans(
    plans: &[ModelPlan],
    max_rate: Option<u64>,
    format: OutputFormat,
) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    for plan in plans {
        if format == OutputFormat::Json {
            let mut json = plan.to_json();
            json["max_rate"] = serde_json::json!(max_rate);
            writeln!(out, "{json}")?;
            continue;
        }
        let approx = if plan.sampled { "~" } else { "" };
        writeln!(
            out,
            "plan {} ({}) -> {}: {}, {approx}{} to change{}{}",
            plan.table,
            plan.model,
            plan.target,
            count(plan.rows_total, "row"),
            plan.estimated_rows_to_change(),
            if plan.sampled {
                format!(
                    " (estimated from the first {})",
                    count(plan.rows_scanned, "row")
                )
            } else {
                String::new()
            },
            limit_text(max_rate)
        )?;
        for c in &plan.columns {
            let failing: u64 = c.failing.values().sum();
            let keys = c
                .by_key
                .iter()
                .map(|(k, n)| format!("{k} {n}"))
                .collect::<Vec<_>>()
                .join(", ");
            let reasons = c
                .failing
                .iter()
                .map(|(k, n)| format!("{k} {n}"))
                .collect::<Vec<_>>()
                .join(", ");
            writeln!(
                out,
                "  {}: {} to rotate, {} to rehash, {} current, {} plaintext, {} to encrypt, {} failing{}, {} null; by key: {}",
                c.column,
                c.to_rotate,
                c.to_rehash,
                c.current,
                c.plaintext,
                c.to_encrypt,
                failing,
                if reasons.is_empty() {
                    String::new()
                } else {
                    format!(" ({reasons})")
                },
                c.null,
                if keys.is_empty() { "-".into() } else { keys }
            )?;
        }
    }
    out.flush()
}
