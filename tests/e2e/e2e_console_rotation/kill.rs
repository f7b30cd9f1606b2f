//! Jobs stopped part-way from the console, on a demo rotating UserProfile to a new primary
//! key. Killed: the console is killed (`kill -9`) mid-run, a new console on the same
//! directory lists the job as interrupted, `p` takes it over from its cursor and finishes
//! it; afterwards every value is under the new key and none is lost (the census counts are
//! those of before, a revealed sample reads the same). Paused: `p` pauses a running job
//! part-way and `p` again resumes it to the end.

use std::path::Path;

use super::*;

/// Makes the demo's `.env` an operator's mid-rotation settings: a new primary key, the old
/// primary and the old key kept for decryption. Every UserProfile row then needs rewriting.
fn rotate_to_a_new_primary(demo: &Path, home: &Path) {
    let key = stdout_of(&timber(demo, home, &["keygen"]), "timber keygen");
    let key = key.trim();
    let path = demo.join(".env");
    let text = std::fs::read_to_string(&path).unwrap();
    let value = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}=")))
            .unwrap_or_else(|| panic!("the demo's .env sets {name}"))
            .to_string()
    };
    let (primary, old) = (value("ENCRYPTION_KEY"), value("ENCRYPTION_KEY_OLD"));
    let lines: Vec<String> = text
        .lines()
        .map(|l| {
            if l.starts_with("ENCRYPTION_KEY=") {
                format!("ENCRYPTION_KEY={key}")
            } else if l.starts_with("ENCRYPTION_KEY_OLD=") {
                format!("ENCRYPTION_KEY_OLD={primary},{old}")
            } else {
                l.to_string()
            }
        })
        .collect();
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
}

/// The primary key's fingerprint and UserProfile's census columns.
fn census(demo: &Path, home: &Path) -> (String, Vec<Json>) {
    let out = timber(
        demo,
        home,
        &["census", "--model", "UserProfile", "--format", "json"],
    );
    let json: Json = serde_json::from_str(&stdout_of(&out, "timber census")).unwrap();
    let primary = json["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == "primary")
        .expect("a primary key")["fingerprint"]
        .as_str()
        .unwrap()
        .to_string();
    (primary, json["columns"].as_array().unwrap().clone())
}

/// The first rows of UserProfile, every field revealed (one audited action).
fn revealed_sample(demo: &Path, home: &Path, reason: &str) -> String {
    let args = [
        "--role",
        "security_admin",
        "--user",
        "e2e-check",
        "browse",
        "UserProfile",
        "--limit",
        "300",
        "--reveal",
        "--reason",
        reason,
        "--format",
        "json",
    ];
    stdout_of(&timber(demo, home, &args), "the revealing browse")
}

fn jobs(demo: &Path, home: &Path) -> Vec<Json> {
    json_lines(&stdout_of(
        &timber(demo, home, &["jobs", "--format", "json"]),
        "timber jobs",
    ))
}

/// Rows handled so far while the screen lists the UserProfile job as running.
pub(super) fn running_progress(screen: &str) -> Option<u64> {
    let line = screen
        .lines()
        .find(|l| l.contains("user_profiles running"))?;
    let slash = line.find(&format!("/{KILL_ROWS}"))?;
    let digits: Vec<char> = line[..slash]
        .chars()
        .rev()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.into_iter().rev().collect::<String>().parse().ok()
}

/// The wizard's selected scope line.
fn selected_scope(screen: &str) -> Option<String> {
    screen
        .lines()
        .find_map(|l| l.find("▶ ").map(|i| l[i..].chars().take(30).collect()))
}

/// A demo of [`KILL_ROWS`] rows per main model, mid-rotation to a new primary key, its
/// rotations limited to [`KILL_RATE`] rows per second (the rate a job starts with is kept
/// when it is taken over or resumed).
pub(super) fn big_demo(home: &Path, demo: &Path) {
    let (dir, rows) = (demo.to_str().unwrap(), KILL_ROWS.to_string());
    let args = ["demo", "--dir", dir, "--rows", &rows, "--no-console"];
    stdout_of(&timber(home, home, &args), "timber demo");
    rotate_to_a_new_primary(demo, home);
    let path = demo.join(".env");
    let mut env = std::fs::read_to_string(&path).unwrap();
    env.push_str(&format!("ROTATION_MAX_ROWS_PER_SECOND={KILL_RATE}\n"));
    std::fs::write(&path, env).unwrap();
}

/// From the Keys screen: the wizard scoped to UserProfile, its plan, the confirmation.
pub(super) fn start_user_profile_rotation(tmux: &Tmux) {
    tmux.keys(&["4"]);
    tmux.wait_for("R rotate", "the Keys screen");
    tmux.keys(&["R"]);
    tmux.wait_for("▶ all models", "the wizard's scope step");
    for _ in 0..8 {
        let current = selected_scope(&tmux.screen());
        if current
            .as_deref()
            .is_some_and(|s| s.contains("UserProfile"))
        {
            break;
        }
        tmux.keys(&["j"]);
        tmux.wait_until("the scope cursor moving", |s| selected_scope(s) != current);
    }
    tmux.keys(&["Enter"]);
    let plan = tmux.wait_for("row(s) to write", "the plan");
    assert!(
        plan.contains(&format!("{KILL_ROWS} row(s) to write")),
        "every row is under an old key:\n{plan}"
    );
    assert!(
        plan.contains(&format!("limited to {KILL_RATE} rows/s")),
        "the plan shows the rate limit:\n{plan}"
    );
    tmux.keys(&["Enter"]);
    tmux.wait_for("Type `UserProfile` to start", "the confirmation");
    tmux.type_text("UserProfile");
    tmux.keys(&["Enter"]);
}

#[test]
fn a_rotation_survives_the_console_being_killed_and_is_resumed_from_the_console() {
    if skip("a_rotation_survives_the_console_being_killed_and_is_resumed_from_the_console") {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    let (home, demo) = (tmp.path(), tmp.path().join("demo"));
    let rows = KILL_ROWS.to_string();
    big_demo(home, &demo);
    let (new_fp, census_before) = census(&demo, home);
    let sample_before = revealed_sample(&demo, home, "E2E-3 before the rotation");

    let tmux = Tmux::start(120, 40);
    let before = record_stty(&tmux, &tmp.path().join("stty.before"));
    let (pid, after) = (home.join("pid.1"), home.join("stty.after.1"));
    let as_admin = "--role security_admin --user e2e";
    launch(&tmux, &demo, home, as_admin, &pid, &after);
    tmux.wait_for("Encryption coverage", "the overview");
    let pid = wait_for_file(&pid).trim().to_string();

    start_user_profile_rotation(&tmux);

    // Part-way through, the console is killed: no chance to record anything.
    let seen = tmux.wait_until("the UserProfile job running part-way", |s| {
        running_progress(s).is_some_and(|n| n < KILL_ROWS)
    });
    assert!(
        seen.contains(&format!("limited to {KILL_RATE} rows/s")),
        "the running job's progress shows its limit:\n{seen}"
    );
    let killed = Command::new("kill").args(["-9", &pid]).status().unwrap();
    assert!(killed.success(), "kill -9 {pid}");
    wait_for_file(&after);
    let listed = jobs(&demo, home);
    assert_eq!(listed.len(), 1, "{listed:?}");
    let job = &listed[0];
    assert_eq!(
        job["status"], "running",
        "the job was still running when the console was killed (if it completed first, \
         lower KILL_RATE): {job}\nthe screen before the kill:\n{seen}"
    );
    assert_eq!(job["worker_alive"], false, "{job}");

    // A killed console leaves raw mode and the alternate screen behind: restore, as an
    // operator's `reset` would, then start the console again on the same directory.
    let before_2 = home.join("stty.before.2");
    tmux.command(&format!(
        "stty $(cat {}); printf '\\033[?1049l'; clear; stty -g > {}",
        tmp.path().join("stty.before").display(),
        before_2.display()
    ));
    let before_2 = wait_for_file(&before_2);
    assert_eq!(before, before_2, "the shell's terminal settings restored");
    let (pid, after) = (home.join("pid.2"), home.join("stty.after.2"));
    launch(&tmux, &demo, home, as_admin, &pid, &after);
    tmux.wait_for("Encryption coverage", "the second console");
    tmux.keys(&["4"]);
    tmux.wait_for("#1 user_profiles interrupted", "the interrupted job");
    tmux.keys(&["p"]);
    tmux.wait_for("take over job 1", "the takeover question");
    tmux.keys(&["Enter"]);
    // The notice comes with the last event; the jobs list follows at its next poll.
    let done = tmux.wait_until("the taken-over job finishing", |s| {
        s.contains("completed job 1 (UserProfile") && s.contains("#1 user_profiles completed")
    });
    assert!(done.contains(&format!("{rows}/{rows}")), "{done}");
    quit_and_check_terminal(&tmux, &before_2, &after);

    // The same job finished every row, none failed.
    let listed = jobs(&demo, home);
    assert_eq!(listed.len(), 1, "no second job: {listed:?}");
    let job = &listed[0];
    assert_eq!(job["status"], "completed", "{job}");
    let handled = job["rows_done"].as_u64().unwrap() + job["rows_skipped"].as_u64().unwrap();
    assert_eq!(handled, KILL_ROWS, "{job}");
    assert_eq!(job["rows_failed"], 0, "{job}");

    // Every value is under the new key and none was lost.
    let (fp_after, census_after) = census(&demo, home);
    assert_eq!(new_fp, fp_after);
    assert_eq!(census_before.len(), census_after.len());
    for (b, a) in census_before.iter().zip(&census_after) {
        for field in [
            "column",
            "rows",
            "null",
            "plaintext",
            "unknown_key",
            "malformed",
        ] {
            assert_eq!(
                b[field], a[field],
                "{field} of {}: {b} then {a}",
                b["column"]
            );
        }
        let tokens = |c: &Json| -> u64 {
            c["by_key"]
                .as_object()
                .unwrap()
                .values()
                .map(|n| n.as_u64().unwrap())
                .sum()
        };
        assert_eq!(tokens(b), tokens(a), "{b} then {a}");
        let by_key = a["by_key"].as_object().unwrap();
        assert!(
            by_key.keys().all(|fp| *fp == new_fp),
            "every token of {} is under the new key {new_fp}: {a}",
            a["column"]
        );
    }
    let sample_after = revealed_sample(&demo, home, "E2E-3 after the rotation");
    assert_eq!(sample_before.lines().count(), 300);
    assert_eq!(
        sample_before, sample_after,
        "the revealed values read the same after the rotation"
    );
}

/// The pause key in a real terminal: `p` on a running job of this console pauses it after
/// its batch (the job stays part-way, as the jobs table says too), `p` again resumes it
/// from its cursor to the end.
#[test]
fn the_pause_key_pauses_a_running_job_part_way_and_resumes_it() {
    if skip("the_pause_key_pauses_a_running_job_part_way_and_resumes_it") {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    let (home, demo) = (tmp.path(), tmp.path().join("demo"));
    big_demo(home, &demo);

    let tmux = Tmux::start(120, 40);
    let before = record_stty(&tmux, &tmp.path().join("stty.before"));
    let after = home.join("stty.after");
    let as_admin = "--role security_admin --user e2e";
    launch(&tmux, &demo, home, as_admin, &home.join("pid"), &after);
    tmux.wait_for("Encryption coverage", "the overview");
    start_user_profile_rotation(&tmux);

    tmux.wait_until("the UserProfile job running part-way", |s| {
        running_progress(s).is_some_and(|n| n < KILL_ROWS)
    });
    tmux.keys(&["p"]);
    let paused = tmux.wait_until("the job paused (or finished first)", |s| {
        s.contains("#1 user_profiles paused") || s.contains("#1 user_profiles completed")
    });
    assert!(
        paused.contains("#1 user_profiles paused"),
        "the job finished before the pause landed (lower KILL_RATE):\n{paused}"
    );
    let listed = jobs(&demo, home);
    let job = &listed[0];
    assert_eq!(job["status"], "paused", "{job}");
    let handled = job["rows_done"].as_u64().unwrap() + job["rows_skipped"].as_u64().unwrap();
    assert!(handled < KILL_ROWS, "paused part-way: {job}");

    tmux.keys(&["p"]);
    let done = tmux.wait_until("the resumed job finishing", |s| {
        s.contains("completed job 1 (UserProfile") && s.contains("#1 user_profiles completed")
    });
    assert!(done.contains(&format!("{KILL_ROWS}/{KILL_ROWS}")), "{done}");
    quit_and_check_terminal(&tmux, &before, &after);

    let listed = jobs(&demo, home);
    assert_eq!(listed.len(), 1, "resumed, not restarted: {listed:?}");
    let handled =
        listed[0]["rows_done"].as_u64().unwrap() + listed[0]["rows_skipped"].as_u64().unwrap();
    assert_eq!(handled, KILL_ROWS, "{}", listed[0]);
}
