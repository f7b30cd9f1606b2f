//! End to end: the real `timber` binary in a real terminal (tmux). `timber demo --dir <tmp>`
//! opens the console; the test waits for text, switches tabs, pages through a table,
//! reveals a cell with a reason, quits, and checks that the terminal's settings afterwards
//! equal those before (`stty -g`). Skips, saying so, when tmux is not installed.

use crate::tmux_support;

use std::process::Command;

use tmux_support::{Tmux, tmux_available, wait_for_file};

#[test]
fn demo_console_in_a_real_terminal() {
    if !tmux_available() {
        eprintln!(
            "SKIP: e2e_console: tmux is not installed; install tmux to run the end-to-end console test"
        );
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let demo = tmp.path().join("demo");
    let before = tmp.path().join("stty.before");
    let after = tmp.path().join("stty.after");
    let bin = env!("CARGO_BIN_EXE_timber");
    let tmux = Tmux::start(120, 36);

    tmux.type_text(&format!("stty -g > {}", before.display()));
    tmux.keys(&["Enter"]);
    wait_for_file(&before);
    tmux.type_text(&format!(
        "HOME={home} NO_COLOR= {bin} demo --dir {demo} --rows 120 --role security_admin --user e2e; stty -g > {after}",
        home = tmp.path().display(),
        demo = demo.display(),
        after = after.display()
    ));
    tmux.keys(&["Enter"]);

    tmux.wait_for("Encryption coverage", "the overview");
    tmux.wait_for("role security_admin", "the status bar");
    tmux.keys(&["4"]);
    tmux.wait_for("Key ring", "the keys tab");
    tmux.keys(&["3"]);
    tmux.wait_for("Audit log", "the audit tab");

    // Data: the UserProfile table through the palette, then a page down and back.
    tmux.keys(&["2"]);
    tmux.wait_for("Models (enter opens)", "the data tab");
    tmux.keys(&[":"]);
    tmux.type_text("model UserProfile");
    tmux.keys(&["Enter"]);
    let first = tmux.wait_for("first page", "the first page");
    tmux.keys(&["NPage"]);
    let second = tmux.wait_for("↑", "the second page");
    assert_ne!(first, second, "page down shows other rows");
    tmux.keys(&["g"]);
    tmux.wait_for("first page", "back to the first page");

    // Reveal the email of the first row (third column) with a reason.
    tmux.keys(&["l", "l", "r"]);
    tmux.wait_for("Reveal (audited)", "the reveal dialog");
    tmux.type_text("E2E-1 checking a customer's address");
    tmux.keys(&["Enter"]);
    let revealed = tmux.wait_for("revealed email (audited)", "the reveal");
    assert!(
        revealed.contains("◉ "),
        "the revealed cell is marked:\n{revealed}"
    );

    tmux.keys(&["q"]);
    let after_text = wait_for_file(&after);
    let before_text = std::fs::read_to_string(&before).unwrap();
    assert_eq!(
        before_text, after_text,
        "terminal settings are restored after quitting"
    );
    let shell = tmux.screen();
    assert!(
        !shell.contains("Encryption coverage"),
        "the alternate screen was left:\n{shell}"
    );

    let audit = Command::new(bin)
        .current_dir(&demo)
        .args(["audit", "--format", "json", "--limit", "5"])
        .output()
        .expect("timber audit runs");
    let listing = String::from_utf8_lossy(&audit.stdout);
    assert!(
        listing.contains("\"action\":\"reveal\""),
        "the reveal is in the audit log: {listing}"
    );
    assert!(listing.contains("\"actor\":\"e2e\""), "{listing}");
}

#[test]
fn without_a_terminal_or_with_a_bad_theme_the_console_explains_and_exits_2() {
    let tmp = tempfile::tempdir().unwrap();
    let bin = env!("CARGO_BIN_EXE_timber");
    let run = |args: &[&str]| {
        Command::new(bin)
            .current_dir(tmp.path())
            .env("HOME", tmp.path())
            .env(
                "DATABASE_URL",
                format!("sqlite://{}", tmp.path().join("none.db").display()),
            )
            .env("TIMBER_MODELS", tmp.path())
            .args(args)
            .output()
            .expect("timber runs")
    };
    let out = run(&["console"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("the console needs a terminal"), "{err}");
    let out = run(&["--theme", "neon"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("unknown theme `neon`; available: dark, high-contrast, light, mono"),
        "{err}"
    );
}

/// An operator's exported `DATABASE_URL`, `TIMBER_MODELS` and `TIMBER_POLICY` (their own
/// database) do not turn the demo's console onto that database: it opens the SQLite file the
/// demo just wrote (it opened the exported, here unreachable, PostgreSQL URL).
#[test]
fn the_demo_console_opens_the_demo_database_whatever_the_environment_says() {
    if !tmux_available() {
        eprintln!("SKIP: e2e_console: tmux is not installed");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let demo = tmp.path().join("demo");
    let after = tmp.path().join("stty.after");
    let bin = env!("CARGO_BIN_EXE_timber");
    let tmux = Tmux::start(100, 30);
    tmux.type_text(&format!(
        "HOME={home} DATABASE_URL=postgres://nobody@127.0.0.1:1/prod TIMBER_MODELS={home} \
         TIMBER_POLICY={home}/none.yaml {bin} demo --dir {demo} --rows 40; stty -g > {after}",
        home = tmp.path().display(),
        demo = demo.display(),
        after = after.display()
    ));
    tmux.keys(&["Enter"]);
    let shown = tmux.wait_until("the demo's census on the overview", |s| {
        s.contains("ResearchSession.analysis")
            || s.contains("not connected")
            || s.contains("timber:")
    });
    assert!(shown.contains("sqlite:timber.db"), "{shown}");
    assert!(!shown.contains("not connected"), "{shown}");
    tmux.keys(&["q"]);
    wait_for_file(&after);
}

/// Exported keys (valid ones, of the operator's own database) do not replace the demo's in
/// its console: the Keys panel shows the demo's primary and master fingerprints, not the
/// exported ones (whose data would read as undecryptable), and after quitting the shell
/// shows the note naming the variables that were set aside.
#[test]
fn the_demo_console_uses_the_demo_keys_whatever_keys_are_exported() {
    use timber::crypto::Key;
    use timber::demo::{DEMO_MASTER_KEY, DEMO_PRIMARY_KEY};
    if !tmux_available() {
        eprintln!("SKIP: e2e_console: tmux is not installed");
        return;
    }
    let fp = |text: &str| Key::from_base64(text).unwrap().fingerprint().to_string();
    let (theirs, their_master) = (Key::generate(), Key::generate());
    let tmp = tempfile::tempdir().unwrap();
    let demo = tmp.path().join("demo");
    let after = tmp.path().join("stty.after");
    let bin = env!("CARGO_BIN_EXE_timber");
    let tmux = Tmux::start(100, 30);
    tmux.type_text(&format!(
        "HOME={home} ENCRYPTION_KEY={primary} MASTER_ENCRYPTION_KEY={master} {bin} demo \
         --dir {demo} --rows 40; stty -g > {after}",
        home = tmp.path().display(),
        primary = theirs.to_base64().as_str(),
        master = their_master.to_base64().as_str(),
        demo = demo.display(),
        after = after.display()
    ));
    tmux.keys(&["Enter"]);
    let shown = tmux.wait_until("the demo's keys on the overview", |s| {
        (s.contains("ResearchSession") && s.contains("master ")) || s.contains("timber:")
    });
    assert!(shown.contains(&fp(DEMO_PRIMARY_KEY)), "{shown}");
    assert!(shown.contains(&fp(DEMO_MASTER_KEY)), "{shown}");
    assert!(
        !shown.contains(&theirs.fingerprint().to_string()),
        "{shown}"
    );
    assert!(
        !shown.contains(&their_master.fingerprint().to_string()),
        "{shown}"
    );
    tmux.keys(&["q"]);
    wait_for_file(&after);
    // The note was printed before the demo was written and the console opened (it is in
    // the shell's scrollback above the summary, not after quitting).
    let history = tmux.run(&["capture-pane", "-t", "e2e", "-p", "-J", "-S", "-"]);
    let shell = String::from_utf8_lossy(&history.stdout);
    let note = shell
        .find("ignoring exported ENCRYPTION_KEY, MASTER_ENCRYPTION_KEY for the demo")
        .unwrap_or_else(|| panic!("the note: {shell}"));
    let summary = shell
        .find("wrote ")
        .unwrap_or_else(|| panic!("the summary: {shell}"));
    assert!(note < summary, "the note comes first: {shell}");
}
