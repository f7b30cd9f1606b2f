//! `timber jobs [--watch] [--format text|json]`: rotation jobs of every process, read from
//! the jobs table, newest first. A `running` job whose worker is gone shows as `running
//! (worker gone)`: it can be resumed with `timber rotate --resume JOB`.

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::time::Duration;

use chrono::Utc;
use serde_json::json;

use super::args::{GlobalArgs, JobsAction, JobsArgs, OutputFormat};
use super::{CliError, CliResult, Context, block_on};
use crate::config::PolicyAction;
use crate::rotation::{
    JobFleet, JobOptions, JobState, heartbeat_age, job_fleets, set_job_limits, worker_alive,
};
use crate::store::JobRow;
use crate::store::{Store, StoreConfig};

pub fn run(global: &GlobalArgs, args: &JobsArgs) -> CliResult {
    if let Some(JobsAction::Set {
        job,
        max_rate,
        max_lag,
        format,
    }) = &args.action
    {
        return set(global, *job, *max_rate, *max_lag, *format);
    }
    let ctx = Context::load(global.to_flags())?;
    let config = StoreConfig::from_settings(&ctx.settings)?;
    block_on(async {
        let store = Store::connect(config).await?;
        loop {
            let jobs = store.rotation_jobs(args.limit).await?;
            let ids: Vec<i64> = jobs.iter().map(|j| j.id).collect();
            let fleets = job_fleets(&store, &ids).await?;
            let clear =
                args.watch && args.format == OutputFormat::Text && std::io::stdout().is_terminal();
            print_jobs(&jobs, &fleets, args.format, clear).map_err(CliError::stdout)?;
            if !args.watch {
                break;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        store.close().await;
        Ok(ExitCode::SUCCESS)
    })
}

/// The status to show: a `running` job whose worker is gone says so, unless other workers
/// (joined from elsewhere) still hold its chunks.
fn shown_status(job: &JobRow, fleet: Option<&JobFleet>) -> String {
    match JobState::of(job) {
        JobState::Interrupted(status) if fleet.is_some_and(|f| !f.workers.is_empty()) => {
            status.to_string()
        }
        JobState::Interrupted(status) => format!("{status} (worker gone)"),
        JobState::Recorded(status) => status.to_string(),
    }
}

fn print_jobs(
    jobs: &[JobRow],
    fleets: &HashMap<i64, JobFleet>,
    format: OutputFormat,
    clear: bool,
) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    let now = Utc::now().naive_utc();
    if format == OutputFormat::Json {
        for job in jobs {
            let options = JobOptions::parse(job.options.as_deref());
            let columns: serde_json::Value =
                serde_json::from_str(&job.columns).unwrap_or(json!([]));
            let line = json!({
                "id": job.id, "table": job.table_name, "columns": columns, "target_fp": job.target_fp,
                "status": job.status.as_str(), "worker_alive": worker_alive(job), "cursor": job.cursor,
                "rows_total": job.rows_total, "rows_done": job.rows_done,
                "rows_skipped": job.rows_skipped, "rows_failed": job.rows_failed,
                "conflicts": options.conflicts, "max_rate": options.max_rate,
                "max_lag": options.max_lag,
                "started_at": job.started_at.format("%Y-%m-%dT%H:%M:%S").to_string(),
                "heartbeat_age_seconds": heartbeat_age(job, now),
                "worker": job.worker, "error": job.error,
                "chunks": fleets.get(&job.id).map(JobFleet::to_json),
            });
            writeln!(out, "{line}")?;
        }
        return out.flush();
    }
    if clear {
        write!(out, "\x1b[2J\x1b[H")?;
    }
    if jobs.is_empty() {
        writeln!(out, "no rotation jobs")?;
        return out.flush();
    }
    writeln!(
        out,
        "{:>5}  {:<24} {:<22} {:>17} {:>8} {:>7} {:>9}  WORKER",
        "JOB", "TABLE", "STATUS", "DONE/TOTAL", "SKIPPED", "FAILED", "HEARTBEAT"
    )?;
    for job in jobs {
        writeln!(
            out,
            "{:>5}  {:<24} {:<22} {:>17} {:>8} {:>7} {:>8}s  {}",
            job.id,
            job.table_name,
            shown_status(job, fleets.get(&job.id)),
            format!(
                "{}/{}",
                job.rows_done + job.rows_skipped + job.rows_failed,
                job.rows_total
            ),
            job.rows_skipped,
            job.rows_failed,
            heartbeat_age(job, now),
            job.worker.as_deref().unwrap_or("-")
        )?;
        if let Some(fleet) = fleets.get(&job.id).filter(|f| f.chunks_total > 1) {
            writeln!(out, "       {}", fleet.summary())?;
            for w in &fleet.workers {
                writeln!(
                    out,
                    "         {} on chunk {}: {:.0} rows/s",
                    w.owner, w.chunk, w.rows_per_second
                )?;
            }
        }
        if let Some(error) = &job.error {
            writeln!(out, "       error: {error}")?;
        }
    }
    out.flush()
}

/// `timber jobs set JOB [--max-rate N] [--max-lag S]`: the job's rate limit and lag limit,
/// changed in the jobs table (as pausing it is, so the `rotate` grant). A running job's
/// workers read them within a second.
fn set(
    global: &GlobalArgs,
    job: i64,
    rate: Option<u64>,
    lag: Option<f64>,
    format: OutputFormat,
) -> CliResult {
    let ctx = Context::load(global.to_flags())?;
    ctx.require(&[PolicyAction::Rotate])?;
    let config = StoreConfig::from_settings(&ctx.settings)?;
    if config.read_only {
        return Err(CliError::msg(format!(
            "jobs set writes to {}, but the session is read-only (--read-only or OAK_ENV=production); add --write",
            config.url.redacted()
        )));
    }
    let rate_change = rate.map(|r| Some(r).filter(|r| *r > 0));
    let lag_change = lag.map(|l| Some(l).filter(|l| *l > 0.0));
    let before = block_on(async {
        let store = Store::connect(config).await?;
        let before = set_job_limits(&store, job, rate_change, lag_change).await;
        store.close().await;
        before.map_err(|e| CliError::msg(e.to_string()))
    })?;
    let previous = JobOptions::parse(before.options.as_deref());
    let was = previous.max_rate;
    let mut out = std::io::stdout().lock();
    if format == OutputFormat::Json {
        let mut line = json!({
            "job": job, "table": before.table_name, "status": before.status.as_str(),
        });
        if let Some(rate) = rate_change {
            line["max_rate"] = json!(rate);
            line["previous_max_rate"] = json!(was);
        }
        if let Some(lag) = lag_change {
            line["max_lag"] = json!(lag);
            line["previous_max_lag"] = json!(previous.max_lag);
        }
        writeln!(out, "{line}").map_err(CliError::stdout)?;
        return Ok(ExitCode::SUCCESS);
    }
    let words = |r: Option<u64>| r.map_or("unlimited".to_string(), |r| format!("{r} rows/s"));
    let when = match JobState::of(&before) {
        JobState::Recorded(status) if status.is_active() => "its worker runs at it within a second",
        _ => "it applies when the job is resumed",
    };
    let lag_words = |l: Option<f64>| {
        l.map_or("not watched".to_string(), |l| {
            format!("{l} s of replication lag")
        })
    };
    let mut changes = Vec::new();
    if let Some(rate) = rate_change {
        changes.push(format!("max rate {} (was {})", words(rate), words(was)));
    }
    if let Some(lag) = lag_change {
        changes.push(format!(
            "max lag {} (was {})",
            lag_words(lag),
            lag_words(previous.max_lag)
        ));
    }
    let when = when.replace("its worker runs at it", "its workers follow");
    writeln!(
        out,
        "job {job} ({}): {}; {when}",
        before.table_name,
        changes.join(", ")
    )
    .map_err(CliError::stdout)?;
    Ok(ExitCode::SUCCESS)
}
