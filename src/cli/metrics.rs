//! `timber metrics` (the metrics once on stdout, for node_exporter's textfile collector) and
//! `--metrics-addr HOST:PORT` on `rotate` and `console` (`/metrics` served over HTTP while
//! the command runs). What the metrics are and how they are gathered is `crate::metrics`;
//! this file only prints or serves them.
//!
//! The server is a `tokio` TCP listener that answers `GET /metrics` (and `HEAD`) with one
//! HTTP/1.1 response and closes the connection; anything else gets 404 or 405. Not hyper:
//! no HTTP server is in the dependency tree (sqlx brings none), and Prometheus needs one
//! idempotent GET on a listener meant for loopback or a scrape network, which is a few
//! lines of reading a request head and writing a response; hyper, hyper-util and
//! http-body-util would add a dozen crates for it.

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::RwLock;

use super::args::{GlobalArgs, MetricsArgs};
use super::{CliError, CliResult, Context, block_on};
use crate::config::{ModelSet, Settings};
use crate::metrics::{
    CONTENT_TYPE, ScanFacts, Snapshot, gather_audit, gather_jobs, gather_scans, render,
};
use crate::store::{Store, StoreConfig};

/// How often a server runs the health checks and the census again (each reads every
/// encrypted value): the jobs and the audit log are read at every scrape.
const SCAN_REFRESH: Duration = Duration::from_secs(300);

/// The longest request head read before answering (a scrape's is a few hundred bytes).
const MAX_REQUEST_HEAD: usize = 8192;

/// `timber metrics`: every metric once, on stdout.
pub fn run(global: &GlobalArgs, _args: &MetricsArgs) -> CliResult {
    let ctx = Context::load(global.to_flags())?;
    let models = ctx.models()?;
    let config = StoreConfig::from_settings(&ctx.settings)?;
    let text = block_on(async {
        let store = Store::connect(config).await?;
        let scans = gather_scans(&ctx.settings, &models, &store).await;
        for error in &scans.errors {
            eprintln!("timber metrics: {error}");
        }
        let snapshot = snapshot(&store, Some(scans)).await;
        store.close().await;
        snapshot.map(|s| render(&s))
    })?;
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(CliError::stdout)?;
    Ok(ExitCode::SUCCESS)
}

/// The database's facts now, with the scans given.
async fn snapshot(store: &Store, scans: Option<ScanFacts>) -> Result<Snapshot, CliError> {
    let jobs = gather_jobs(store).await?;
    let audit = gather_audit(store).await?;
    Ok(Snapshot { jobs, audit, scans })
}

/// Binds `addr` and serves `/metrics` on the current tokio runtime until it shuts down.
/// The bind happens here, so a port in use is an error before any work starts.
pub async fn serve(addr: &str, ctx: &Context) -> Result<SocketAddr, CliError> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| CliError::msg(format!("--metrics-addr {addr}: cannot listen: {e}")))?;
    let bound = listener
        .local_addr()
        .map_err(|e| CliError::msg(format!("--metrics-addr {addr}: {e}")))?;
    let models = ctx.models()?;
    let config = StoreConfig::from_settings(&ctx.settings)?;
    // A pool of its own: scrapes never wait behind the rotation's connections.
    let store = Store::connect(config).await?;
    let scans: Arc<RwLock<Option<ScanFacts>>> = Arc::default();
    tokio::spawn(refresh_scans(
        store.clone(),
        ctx.settings.clone(),
        models,
        scans.clone(),
    ));
    tokio::spawn(accept(listener, store, scans));
    tracing::info!(addr = %bound, "metrics served");
    Ok(bound)
}

async fn refresh_scans(
    store: Store,
    settings: Settings,
    models: ModelSet,
    scans: Arc<RwLock<Option<ScanFacts>>>,
) {
    loop {
        let facts = gather_scans(&settings, &models, &store).await;
        for error in &facts.errors {
            tracing::warn!(error = %error, "metrics scan failed");
        }
        *scans.write().await = Some(facts);
        tokio::time::sleep(SCAN_REFRESH).await;
    }
}

async fn accept(listener: TcpListener, store: Store, scans: Arc<RwLock<Option<ScanFacts>>>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let (store, scans) = (store.clone(), scans.clone());
        tokio::spawn(async move {
            let _ = answer(stream, &store, &scans).await;
        });
    }
}

/// Reads one request head and writes one response.
async fn answer(
    mut stream: TcpStream,
    store: &Store,
    scans: &RwLock<Option<ScanFacts>>,
) -> std::io::Result<()> {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < MAX_REQUEST_HEAD {
        let read = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf))
            .await
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))??;
        if read == 0 {
            break;
        }
        head.extend_from_slice(&buf[..read]);
    }
    let line = String::from_utf8_lossy(&head);
    let mut parts = line.lines().next().unwrap_or_default().split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let path = target.split('?').next().unwrap_or("");
    let (status, content_type, body) = match (method, path) {
        ("GET" | "HEAD", "/metrics") => {
            let scans = scans.read().await.clone();
            match snapshot(store, scans).await {
                Ok(snapshot) => ("200 OK", CONTENT_TYPE, render(&snapshot)),
                Err(e) => (
                    "503 Service Unavailable",
                    "text/plain; charset=utf-8",
                    format!("{e}\n"),
                ),
            }
        }
        (_, "/metrics") => (
            "405 Method Not Allowed",
            "text/plain; charset=utf-8",
            "GET /metrics\n".to_string(),
        ),
        _ => (
            "404 Not Found",
            "text/plain; charset=utf-8",
            "metrics are at /metrics\n".to_string(),
        ),
    };
    let mut response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    if method != "HEAD" {
        response.push_str(&body);
    }
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await
}
