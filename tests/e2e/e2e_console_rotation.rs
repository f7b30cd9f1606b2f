//! End to end, issue #8's "Done means": the real `timber` binary in a real terminal (tmux).
//!
//! - A rotation of all models started from the Keys screen finishes, and the Health screen's
//!   old-key finding (`data.old_key`), present before, is gone after.
//! - The Audit screen's live tail shows, within a second, an entry another `timber` process
//!   wrote.
//! - A rotation started from the console survives the console being killed (`kill -9`): the
//!   next console lists the job as interrupted, `p` takes it over and finishes it, and every
//!   value is then under the new key with none lost (census counts and revealed values equal).
//! - A read-only console refuses to start a rotation, saying why on screen.
//!
//! Every console run ends with `stty -g` equal to before. Skips, saying so, without tmux.

use crate::tmux_support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::Value as Json;
use tmux_support::{Tmux, tmux_available, wait_for_file};

const BIN: &str = env!("CARGO_BIN_EXE_timber");

/// Rows of the main demo models in the kill and pause tests. The job is held to
/// [`KILL_RATE`] rows per second (`ROTATION_MAX_ROWS_PER_SECOND` in the demo's `.env`), so
/// it lasts about `KILL_ROWS / KILL_RATE` = 8 s however fast rotation itself is, and the
/// kill and the pause land part-way on any machine.
const KILL_ROWS: u64 = 1_200;
const KILL_RATE: u64 = 150;

/// One test at a time: they share two cores, and the kill test needs its rotation to last.
static SERIAL: Mutex<()> = Mutex::new(());

fn skip(test: &str) -> bool {
    if tmux_available() {
        return false;
    }
    eprintln!("SKIP: e2e_console_rotation::{test}: tmux is not installed; install tmux to run it");
    true
}

/// `timber` (another process than the console) in the demo directory, reading its `.env`.
fn timber(demo: &Path, home: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .current_dir(demo)
        .env("HOME", home)
        .args(args)
        .output()
        .expect("timber runs")
}

fn stdout_of(out: &Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn json_lines(text: &str) -> Vec<Json> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

/// Writes the shell's terminal settings to `path` and waits for them.
fn record_stty(tmux: &Tmux, path: &Path) -> String {
    tmux.command(&format!("stty -g > {}", path.display()));
    wait_for_file(path)
}

/// The console in the pane, from `dir`, as `timber <args>`; its pid goes to `pid`, and the
/// terminal's settings after it exits to `after`.
fn launch(tmux: &Tmux, dir: &Path, home: &Path, args: &str, pid: &Path, after: &Path) {
    tmux.command(&format!(
        "cd {dir} && HOME={home} NO_COLOR= bash -c 'echo $$ > {pid}; exec {BIN} {args}'; \
         stty -g > {after}",
        dir = dir.display(),
        home = home.display(),
        pid = pid.display(),
        after = after.display(),
    ));
}

/// Quits the console and checks the terminal got its settings back.
fn quit_and_check_terminal(tmux: &Tmux, before: &str, after: &Path) {
    tmux.keys(&["q"]);
    let after_text = wait_for_file(after);
    assert_eq!(
        before, after_text,
        "terminal settings are restored after quitting"
    );
}

/// A fresh demo opened in the console in its own tmux (120x40) and temp dir, one test at a
/// time; `flags` go after `demo --dir <tmp>/demo --rows N`. `None` (after saying so) when
/// tmux is missing.
struct DemoConsole {
    tmux: Tmux,
    demo: PathBuf,
    before: String,
    after: PathBuf,
    tmp: tempfile::TempDir,
    _serial: MutexGuard<'static, ()>,
}

impl DemoConsole {
    fn open(test: &str, flags: &str) -> Option<DemoConsole> {
        if skip(test) {
            return None;
        }
        let serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        let tmp = tempfile::tempdir().unwrap();
        let (home, demo) = (tmp.path(), tmp.path().join("demo"));
        let tmux = Tmux::start(120, 40);
        let before = record_stty(&tmux, &home.join("stty.before"));
        let after = home.join("stty.after");
        let args = format!("demo --dir {} {flags}", demo.display());
        launch(&tmux, home, home, &args, &home.join("pid"), &after);
        tmux.wait_for("Encryption coverage", "the overview");
        Some(DemoConsole {
            tmux,
            demo,
            before,
            after,
            tmp,
            _serial: serial,
        })
    }

    fn home(&self) -> &Path {
        self.tmp.path()
    }

    /// Quits the console and checks the terminal got its settings back.
    fn quit(&self) {
        quit_and_check_terminal(&self.tmux, &self.before, &self.after);
    }
}

/// The screen's lines of one health check.
fn check_lines<'a>(screen: &'a str, id: &str) -> Vec<&'a str> {
    screen.lines().filter(|l| l.contains(id)).collect()
}

#[test]
fn rotating_all_models_from_the_keys_screen_clears_the_old_key_finding() {
    let Some(console) = DemoConsole::open(
        "rotating_all_models_from_the_keys_screen_clears_the_old_key_finding",
        "--rows 120 --role security_admin --user e2e",
    ) else {
        return;
    };
    let (tmux, home, demo) = (&console.tmux, console.home(), console.demo.as_path());

    // Before: the demo's rows under ENCRYPTION_KEY_OLD are a health finding.
    tmux.keys(&["5"]);
    tmux.wait_until("data.old_key warnings on the Health screen", |s| {
        s.contains("Health checks ·")
            && check_lines(s, "data.old_key")
                .iter()
                .any(|l| l.contains("warn"))
    });

    tmux.keys(&["4"]);
    tmux.wait_for("R rotate", "the Keys screen");
    tmux.keys(&["R"]);
    tmux.wait_for("▶ all models", "the wizard's scope step");
    tmux.keys(&["Enter"]);
    let plan = tmux.wait_for("row(s) to write", "the wizard's plan");
    assert!(plan.contains("UserProfile"), "{plan}");
    let planned: u64 = plan
        .lines()
        .find_map(|l| {
            let end = l.find(" row(s) to write")?;
            l[..end]
                .rsplit(|c: char| !c.is_ascii_digit())
                .next()?
                .parse()
                .ok()
        })
        .expect("the plan counts rows");
    assert!(planned > 0, "the plan finds work:\n{plan}");
    tmux.keys(&["Enter"]);
    tmux.wait_for("Type `all` to start", "the confirmation");
    tmux.type_text("all");
    tmux.keys(&["Enter"]);
    // The notice comes with the last event; the jobs list follows at its next poll.
    let done = tmux.wait_until("the rotation finishing", |s| {
        s.contains("completed job") && s.contains("user_profiles completed")
    });
    assert!(done.contains("120/120"), "the gauges are full:\n{done}");

    // Every model's job completed, as another process reads the jobs table.
    let jobs = json_lines(&stdout_of(
        &timber(demo, home, &["jobs", "--format", "json"]),
        "timber jobs",
    ));
    assert_eq!(jobs.len(), 5, "one job per model with encrypted columns");
    assert!(jobs.iter().all(|j| j["status"] == "completed"), "{jobs:?}");

    // After: the rotation reloaded the health checks; the finding is gone (only its ok line).
    tmux.keys(&["5"]);
    let health = tmux.wait_until("data.old_key ok after the rotation", |s| {
        s.contains("Health checks ·") && {
            let lines = check_lines(s, "data.old_key");
            !lines.is_empty() && lines.iter().all(|l| l.contains("✓ ok"))
        }
    });
    assert!(
        health.contains("every value is under a current key"),
        "{health}"
    );

    console.quit();
}

#[test]
fn the_audit_tail_shows_another_process_entry_within_a_second() {
    let Some(console) = DemoConsole::open(
        "the_audit_tail_shows_another_process_entry_within_a_second",
        "--rows 120 --role security_admin --user e2e",
    ) else {
        return;
    };
    let (tmux, home, demo) = (&console.tmux, console.home(), console.demo.as_path());
    tmux.keys(&["3"]);
    // The Overview has a "chain intact" tile too: wait for the Audit screen's own title.
    let tail = tmux.wait_until("the Audit screen's live tail", |s| {
        s.contains("Audit log · ▶ live") && s.contains("chain intact")
    });
    assert!(!tail.contains("tail-writer"), "{tail}");

    // Another process reveals a record: one audited action, written to the shared log.
    let reveal = timber(
        demo,
        home,
        &[
            "--role",
            "security_admin",
            "--user",
            "tail-writer",
            "browse",
            "UserProfile",
            "--limit",
            "1",
            "--reveal",
            "--reason",
            "E2E-2 audit tail",
            "--format",
            "json",
        ],
    );
    stdout_of(&reveal, "the revealing browse");

    // The tail polls every tick: the entry is on screen within one second of the write.
    let deadline = Instant::now() + Duration::from_secs(1);
    loop {
        let screen = tmux.screen();
        if screen
            .lines()
            .any(|l| l.contains("tail-writer") && l.contains("reveal"))
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the other process's entry is not on the Audit screen within 1 s:\n{screen}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    console.quit();
}

#[test]
fn a_read_only_console_refuses_to_start_a_rotation() {
    let Some(console) = DemoConsole::open(
        "a_read_only_console_refuses_to_start_a_rotation",
        "--rows 60 --read-only --role security_admin --user e2e",
    ) else {
        return;
    };
    let (tmux, home, demo) = (&console.tmux, console.home(), console.demo.as_path());
    tmux.keys(&["4"]);
    tmux.wait_for("read-only session: R, p, x disabled", "the Keys screen");
    tmux.keys(&["R"]);
    let refused = tmux.wait_for(
        "rotation writes to the database; restart with --write",
        "the refusal",
    );
    assert!(!refused.contains("1/3 scope"), "no wizard:\n{refused}");
    console.quit();

    let jobs = timber(demo, home, &["jobs", "--format", "json"]);
    assert_eq!(
        stdout_of(&jobs, "timber jobs").trim(),
        "",
        "no job was created"
    );
}

/// The kill-and-resume flow, the longest, in a file of its own.
mod kill;
mod signals;
