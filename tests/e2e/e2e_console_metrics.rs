//! `timber console --metrics-addr` (issue 18 item 5) in a real terminal: while the console
//! runs, `/metrics` answers with the Prometheus text format, the audit log's count at once
//! and the health checks and census once their first background run ends; quitting the
//! console stops the server.

use crate::tmux_support::*;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::time::{Duration, Instant};

fn scrape(port: u16) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    Some(response)
}

#[test]
fn the_console_serves_metrics_while_it_runs() {
    if !tmux_available() {
        eprintln!("SKIP: e2e_console_metrics: tmux is not installed");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let demo = tmp.path().join("demo");
    let bin = env!("CARGO_BIN_EXE_timber");
    let made = Command::new(bin)
        .current_dir(tmp.path())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", tmp.path())
        .args(["demo", "--no-console", "--rows", "40", "--dir"])
        .arg(&demo)
        .output()
        .expect("timber demo");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    // A free port: bound and released (the console binds it a moment later).
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let tmux = Tmux::start(100, 30);
    tmux.command(&format!(
        "cd {demo} && env -i PATH=\"$PATH\" HOME={home} TERM=xterm-256color {bin} --env-file .env console --metrics-addr 127.0.0.1:{port}",
        demo = demo.display(),
        home = tmp.path().display(),
    ));
    tmux.wait_until("the console", |s| {
        s.contains("Overview") || s.contains("timber:")
    });
    let deadline = Instant::now() + WAIT;
    let body = loop {
        if let Some(response) = scrape(port) {
            assert!(response.starts_with("HTTP/1.1 200 OK"), "{response}");
            assert!(
                response.contains("timber_audit_entries_total "),
                "{response}"
            );
            if response.contains("timber_census_values{") {
                break response;
            }
        }
        assert!(Instant::now() < deadline, "no census in the metrics");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(
        body.contains("timber_health_check_status{check=\"key.primary\"}"),
        "{body}"
    );
    assert!(
        !body.contains(timber::demo::DEMO_PRIMARY_KEY),
        "no key in the metrics"
    );
    assert!(
        !body.contains(timber::demo::DEMO_MASTER_KEY),
        "no key in the metrics"
    );
    tmux.keys(&["q"]);
    let deadline = Instant::now() + WAIT;
    while scrape(port).is_some() {
        assert!(Instant::now() < deadline, "the server outlived the console");
        std::thread::sleep(Duration::from_millis(100));
    }
}
