//! A terminal that survives (issue 16, item 10): the console killed by SIGHUP (a dropped SSH
//! session) mid-rotation, then by SIGTERM, each time leaves the shell's terminal as it was
//! (`stty -a` shows echo and icanon, the pane is back on the main screen, mouse tracking
//! off, the cursor shown), and the job it was running pauses after its current batch, so
//! `timber rotate --resume ID` finishes it with no value lost.

use std::path::Path;

use super::kill::{big_demo, running_progress, start_user_profile_rotation};
use super::*;

/// The console in the pane as in [`launch`], also writing its exit status to `status`.
fn launch_with_status(tmux: &Tmux, dir: &Path, home: &Path, pid: &Path, status: &Path) {
    tmux.command(&format!(
        "cd {dir} && HOME={home} NO_COLOR= bash -c 'echo $$ > {pid}; exec {BIN} --role \
         security_admin --user e2e'; echo $? > {status}",
        dir = dir.display(),
        home = home.display(),
        pid = pid.display(),
        status = status.display(),
    ));
}

/// What tmux knows of the pane's modes: alternate screen, any mouse tracking, cursor shown.
fn pane_modes(tmux: &Tmux) -> String {
    let out = tmux.run(&[
        "display-message",
        "-p",
        "-t",
        "e2e",
        "alternate=#{alternate_on} mouse=#{mouse_any_flag} cursor=#{cursor_flag}",
    ]);
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Sends `signal` to the console, waits for it to exit, and checks the terminal: its exit
/// status is 128 + the signal's number, the settings equal those before, `stty -a` shows
/// echo and canonical input, and the pane left the alternate screen and mouse tracking.
fn signal_and_check(tmux: &Tmux, home: &Path, round: &str, signal: &str, code: &str) {
    let pid = wait_for_file(&home.join(format!("pid.{round}")));
    let sent = Command::new("kill")
        .args([&format!("-{signal}"), pid.trim()])
        .status()
        .unwrap();
    assert!(sent.success(), "kill -{signal} {pid}");
    let status = wait_for_file(&home.join(format!("status.{round}")));
    assert_eq!(status.trim(), code, "the exit status after {signal}");
    let stty = home.join(format!("stty-a.{round}"));
    tmux.command(&format!("stty -a > {}", stty.display()));
    let stty = wait_for_file(&stty);
    let flags: Vec<&str> = stty.split_whitespace().collect();
    for on in ["echo", "icanon", "isig", "icrnl", "opost"] {
        assert!(
            flags.contains(&on),
            "`{on}` is on again after {signal}:\n{stty}"
        );
    }
    let before = std::fs::read_to_string(home.join("stty.before")).unwrap();
    let after = home.join(format!("stty.after.{round}"));
    tmux.command(&format!("stty -g > {}", after.display()));
    assert_eq!(before, wait_for_file(&after), "stty -g as before {signal}");
    assert_eq!(
        pane_modes(tmux),
        "alternate=0 mouse=0 cursor=1",
        "the pane's modes after {signal}"
    );
    let shell = tmux.screen();
    assert!(
        !shell.contains("Encryption coverage"),
        "the console's screen is gone after {signal}:\n{shell}"
    );
}

#[test]
fn sighup_and_sigterm_restore_the_terminal_and_leave_the_job_resumable() {
    if skip("sighup_and_sigterm_restore_the_terminal_and_leave_the_job_resumable") {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    let (home, demo) = (tmp.path(), tmp.path().join("demo"));
    big_demo(home, &demo);
    let tmux = Tmux::start(120, 40);
    record_stty(&tmux, &home.join("stty.before"));

    // SIGHUP mid-rotation.
    launch_with_status(
        &tmux,
        &demo,
        home,
        &home.join("pid.1"),
        &home.join("status.1"),
    );
    tmux.wait_for("Encryption coverage", "the overview");
    start_user_profile_rotation(&tmux);
    tmux.wait_until("the UserProfile job running part-way", |s| {
        running_progress(s).is_some_and(|n| n < KILL_ROWS)
    });
    signal_and_check(&tmux, home, "1", "HUP", "129");

    // The job paused after a whole batch: part-way, its counts those of committed batches.
    let job = &jobs_json(&demo, home)[0];
    assert_eq!(job["status"], "paused", "{job}");
    let handled = job["rows_done"].as_u64().unwrap() + job["rows_skipped"].as_u64().unwrap();
    assert!(handled < KILL_ROWS, "paused part-way: {job}");
    // ... and `timber rotate --resume` finishes it.
    let id = job["id"].as_i64().unwrap().to_string();
    let resumed = timber(
        &demo,
        home,
        &[
            "--role",
            "security_admin",
            "rotate",
            "--resume",
            &id,
            "--max-rate",
            "0",
        ],
    );
    stdout_of(&resumed, "timber rotate --resume");
    let job = &jobs_json(&demo, home)[0];
    assert_eq!(job["status"], "completed", "{job}");
    let handled = job["rows_done"].as_u64().unwrap() + job["rows_skipped"].as_u64().unwrap();
    assert_eq!(handled, KILL_ROWS, "every row handled once resumed: {job}");
    assert_eq!(job["rows_failed"], 0, "{job}");

    // SIGTERM in a console on the Data screen (mouse tracking and the alternate screen on).
    launch_with_status(
        &tmux,
        &demo,
        home,
        &home.join("pid.2"),
        &home.join("status.2"),
    );
    tmux.wait_for("Encryption coverage", "the second console");
    tmux.keys(&["2"]);
    tmux.wait_for("Models (enter opens)", "the Data screen");
    assert_eq!(pane_modes(&tmux), "alternate=1 mouse=1 cursor=0");
    signal_and_check(&tmux, home, "2", "TERM", "143");
}

fn jobs_json(demo: &Path, home: &Path) -> Vec<Json> {
    json_lines(&stdout_of(
        &timber(demo, home, &["jobs", "--format", "json"]),
        "timber jobs",
    ))
}
