//! `timber jobs | head` (issue 16, item 9): when the reader of stdout closes the pipe, every
//! command stops quietly: exit 0 (or `health`'s verdict), nothing on stderr, no `Broken pipe
//! (os error 32)`. The reader here closes before the command writes anything, so every
//! write fails, which is the worst case of `| head`.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::cli_browse_support::{fixture_dir, stderr};

/// Runs the binary in `dir` with its stdout a pipe whose reader is already gone; returns
/// the exit code and stderr.
fn run_into_closed_pipe(dir: &Path, args: &[&str]) -> (Option<i32>, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_timber"));
    cmd.current_dir(dir)
        .env_clear()
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Ok(path) = std::env::var("PATH") {
        cmd.env("PATH", path);
    }
    let mut child = cmd.spawn().expect("run timber");
    // The reader closes at once: every write the command makes meets a closed pipe.
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("wait for timber");
    (out.status.code(), stderr(&out))
}

#[test]
fn every_command_exits_quietly_when_its_reader_closes_the_pipe() {
    let dir = fixture_dir();
    let d = dir.path();
    // The fixture's role may create tables: the system tables make audit and jobs work.
    let init = Command::new(env!("CARGO_BIN_EXE_timber"))
        .current_dir(d)
        .env_clear()
        .arg("init")
        .output()
        .unwrap();
    assert!(init.status.success(), "{}", stderr(&init));
    // One audit entry, so the audit listings have something to print.
    let reveal = Command::new(env!("CARGO_BIN_EXE_timber"))
        .current_dir(d)
        .env_clear()
        .args(["browse", "UserProfile", "--reveal", "--limit", "1"])
        .output()
        .unwrap();
    assert!(reveal.status.success(), "{}", stderr(&reveal));

    for args in [
        &["jobs"][..],
        &["jobs", "--format", "json"],
        &["audit"],
        &["audit", "--format", "json"],
        &["audit", "--show", "1"],
        &["audit", "export"],
        &["audit", "--verify"],
        &["keys", "list"],
        &["census"],
        &["info"],
        &["info", "--format", "json"],
        &["browse", "UserProfile"],
        &["browse", "UserProfile", "--reveal", "--format", "csv"],
        &["rotate", "--all", "--dry-run"],
        &["init"],
        &["init", "--dry-run"],
        &["keygen"],
        &["--help"],
    ] {
        let (code, err) = run_into_closed_pipe(d, args);
        let what = args.join(" ");
        assert_eq!(
            code,
            Some(0),
            "`timber {what} | head` exit code; stderr: {err}"
        );
        assert!(
            !err.contains("Broken pipe") && !err.contains("os error 32"),
            "`timber {what} | head`: {err}"
        );
        assert!(
            !err.contains("timber:") && !err.contains("panicked"),
            "`timber {what} | head` reported an error: {err}"
        );
    }

    // health keeps its verdict (the fixture's keys have no rotation date: a warning).
    let (code, err) = run_into_closed_pipe(d, &["health"]);
    let (verdict, _) = {
        let out = Command::new(env!("CARGO_BIN_EXE_timber"))
            .current_dir(d)
            .env_clear()
            .arg("health")
            .output()
            .unwrap();
        (out.status.code(), stderr(&out))
    };
    assert_eq!(code, verdict, "health's exit code is its verdict: {err}");
    assert!(
        !err.contains("Broken pipe") && !err.contains("timber:"),
        "{err}"
    );
}
