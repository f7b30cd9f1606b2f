//! The message line above the status bar, as QA found it at 80x24: the newest message is
//! the one shown (an old error must not hide a later notice), and long messages wrap
//! instead of losing their end.

use crate::tui_support;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use timber::tui::Event;
use tui_support::*;

fn ctrl(c: char) -> Event {
    Event::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL))
}

async fn console(read_only: bool) -> (tempfile::TempDir, timber::tui::App) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = seeded_db(dir.path()).await;
    config.read_only = read_only;
    let app = started(config, "security_admin", 80, 24).await;
    (dir, app)
}

/// A refused `x` on the Keys screen (an error), then a health re-run (a notice): the notice
/// is shown, and the stale error is gone; a newer error replaces the notice in turn.
#[tokio::test]
async fn a_newer_notice_replaces_an_older_error() {
    let (_dir, mut app) = console(true).await;
    press(&mut app, &[ch('4'), ch('x')]).await;
    assert!(
        screen(&app).contains("✗ read-only session"),
        "{}",
        screen(&app)
    );
    app.handle_event(ch('5'));
    app.handle_event(ctrl('r'));
    let text = screen(&app);
    assert!(text.contains("health checks started"), "{text}");
    assert!(
        !text.contains("✗ read-only session"),
        "stale error:\n{text}"
    );
    app.settle().await;
    press(&mut app, &[ch('4'), ch('x')]).await;
    let text = screen(&app);
    assert!(text.contains("✗ read-only session"), "{text}");
    assert!(!text.contains("health checks started"), "{text}");
}

/// Joins the screen's lines with the border glyphs and padding removed, so a wrapped
/// message can be matched whole.
fn flat(text: &str) -> String {
    text.lines()
        .map(|l| l.trim_matches(|c: char| c == '│' || c == ' ' || c == '╭' || c == '╰'))
        .collect::<Vec<_>>()
        .join(" ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// `:role nosuch` lists every role it knows; at 80 columns the list wraps onto a second
/// message line instead of losing its end.
#[tokio::test]
async fn an_unknown_role_lists_every_role_at_80x24() {
    let (_dir, mut app) = console(false).await;
    press(&mut app, &[ch(':')]).await;
    type_text(&mut app, "role nosuch");
    press(&mut app, &[key(KeyCode::Enter)]).await;
    let text = screen(&app);
    let error = app.state.status.last_error.clone().expect("an error");
    assert!(flat(&text).contains(&flat(&error)), "{error}\n{text}");
}

/// A bad Data-screen filter value: the prompt shows its whole error.
#[tokio::test]
async fn a_bad_data_filter_shows_its_whole_error_at_80x24() {
    let (_dir, mut app) = console(false).await;
    press(&mut app, &[ch('2'), key(KeyCode::Enter), ch('/')]).await;
    type_text(&mut app, "nosuch=x");
    press(&mut app, &[key(KeyCode::Enter)]).await;
    let text = screen(&app);
    let timber::tui::state::Popup::Prompt(prompt) = &app.state.popup else {
        panic!("the prompt stays open:\n{text}");
    };
    let error = prompt.error.clone().expect("an error");
    // The popup sits over the table: read its inner column only (`│ row │ popup │ row │`).
    let inside: String = text
        .lines()
        .filter_map(|l| l.split('│').nth(2).filter(|_| l.matches('│').count() >= 4))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(flat(&inside).contains(&flat(&error)), "{error}\n{text}");
}

/// A bad audit filter (`since=x`): the prompt box grows to show its whole error.
#[tokio::test]
async fn a_bad_audit_filter_shows_its_whole_error_at_80x24() {
    let (_dir, mut app) = console(false).await;
    press(&mut app, &[ch('3'), ch('/')]).await;
    type_text(
        &mut app,
        "since=not-a-time-at-all-and-not-a-duration-either",
    );
    press(&mut app, &[key(KeyCode::Enter)]).await;
    let text = screen(&app);
    let input = app
        .state
        .audit
        .input
        .as_ref()
        .expect("the prompt stays open");
    let error = input.error.clone().expect("an error");
    assert!(flat(&text).contains(&flat(&error)), "{error}\n{text}");
}

/// The Data screen's hints stay on their own row while a message is shown (`:role viewer`
/// used to replace them with ` role viewer`).
#[tokio::test]
async fn hints_stay_while_a_message_is_shown() {
    let (_dir, mut app) = console(false).await;
    press(&mut app, &[ch('2'), key(KeyCode::Enter), ch(':')]).await;
    type_text(&mut app, "role viewer");
    press(&mut app, &[key(KeyCode::Enter)]).await;
    let text = screen(&app);
    let rows: Vec<&str> = text.lines().collect();
    let (message, hints) = (rows[rows.len() - 3], rows[rows.len() - 2]);
    assert!(message.contains("role viewer"), "{text}");
    assert!(
        hints.contains("/ filter") && hints.contains("q quit"),
        "{text}"
    );
}

/// A notice goes after five seconds of the console's clock and an error after ten (read at
/// the tick; no test sleeps); the hints never go; `:messages` lists them all, newest first.
#[tokio::test]
async fn messages_expire_by_the_clock_and_are_kept_in_the_history() {
    let dir = tempfile::tempdir().unwrap();
    let config = seeded_db(dir.path()).await;
    let clock = clock();
    let mut app = timber::tui::App::new(setup(config, "security_admin", clock.clone())).unwrap();
    app.handle_event(Event::Resize(80, 24));
    app.start();
    app.settle().await;
    press(&mut app, &[ch(':')]).await;
    type_text(&mut app, "theme light");
    press(&mut app, &[key(KeyCode::Enter)]).await;
    assert!(screen(&app).contains(" theme light"), "{}", screen(&app));

    clock.advance(chrono::Duration::seconds(4));
    press(&mut app, &[Event::Tick]).await;
    assert!(screen(&app).contains(" theme light"), "4 s: still shown");
    clock.advance(chrono::Duration::seconds(1));
    press(&mut app, &[Event::Tick]).await;
    let text = screen(&app);
    assert!(!text.contains(" theme light"), "5 s: expired\n{text}");
    assert!(text.contains("q quit"), "the hints stay\n{text}");

    // An error lasts longer.
    press(&mut app, &[ch(':')]).await;
    type_text(&mut app, "model Nope");
    press(&mut app, &[key(KeyCode::Enter)]).await;
    assert!(screen(&app).contains("no model named `Nope`"));
    clock.advance(chrono::Duration::seconds(9));
    press(&mut app, &[Event::Tick]).await;
    assert!(
        screen(&app).contains("no model named `Nope`"),
        "9 s: still shown"
    );
    clock.advance(chrono::Duration::seconds(1));
    press(&mut app, &[Event::Tick]).await;
    assert!(
        !screen(&app).contains("no model named `Nope`"),
        "10 s: expired"
    );

    // The history, newest first, with the clock's times and the error marked.
    press(&mut app, &[ch(':')]).await;
    type_text(&mut app, "messages");
    press(&mut app, &[key(KeyCode::Enter)]).await;
    let text = screen(&app);
    let error = text
        .lines()
        .position(|l| l.contains("12:00:05 ✗ no model named `Nope`"))
        .unwrap_or_else(|| panic!("the error in the history:\n{text}"));
    let notice = text
        .lines()
        .position(|l| l.contains("12:00:00   theme light"))
        .unwrap_or_else(|| panic!("the notice in the history:\n{text}"));
    assert!(error < notice, "newest first:\n{text}");
    insta::assert_snapshot!("messages_history_80x24", text);
    press(&mut app, &[key(KeyCode::Esc)]).await;
    assert!(matches!(app.state.popup, timber::tui::state::Popup::None));
    // Its key opens it too.
    press(&mut app, &[ch('M')]).await;
    assert!(
        screen(&app).contains("Messages, newest first"),
        "{}",
        screen(&app)
    );
}

/// Pause and cancel on the Keys screen report what happened to which job: the request,
/// then (from the jobs table, where another process's worker records it) `cancelled job 2`
/// or `paused job 1`; never the stale `rotation: done` of another job. A job that had
/// stopped already says so.
#[tokio::test]
async fn job_actions_report_what_happened_to_which_job() {
    let (_dir, mut app) = console(false).await;
    let store = app.store().expect("connected").clone();
    // Two jobs run by a worker on another host (alive as far as this console can tell).
    let worker = "elsewhere.example:4242";
    for table in ["tickets", "customers"] {
        store
            .rotation_create_job(table, r#"["email"]"#, "primary", 60, worker, "{}")
            .await
            .unwrap();
    }
    // The Keys screen polls the jobs table at its ticks.
    press(&mut app, &[ch('4'), Event::Tick]).await;
    let text = screen(&app);
    assert!(text.contains("#2 customers running"), "{text}");

    // The newest job (2) is selected: cancel it (irreversible: it asks first, and a key
    // other than enter keeps the job).
    press(&mut app, &[ch('x')]).await;
    assert!(
        screen(&app).contains("cancel job 2? it cannot be undone: enter confirms, esc keeps it"),
        "{}",
        screen(&app)
    );
    press(&mut app, &[key(KeyCode::Esc)]).await;
    assert!(
        screen(&app).contains("job 2 not cancelled"),
        "{}",
        screen(&app)
    );
    press(&mut app, &[ch('x'), key(KeyCode::Enter)]).await;
    let text = screen(&app);
    assert!(
        text.contains("cancelling job 2 after its current batch"),
        "{text}"
    );
    store
        .rotation_finish_job(2, worker, timber::rotation::JobStatus::Cancelled, None)
        .await
        .unwrap();
    press(&mut app, &[Event::Tick]).await;
    let text = screen(&app);
    assert!(text.contains("cancelled job 2 (customers)"), "{text}");
    assert!(
        !text.contains("rotation: done") && !text.contains("job 1"),
        "{text}"
    );

    // Job 1: pause it.
    press(&mut app, &[ch('j'), ch('p')]).await;
    assert!(screen(&app).contains("pausing job 1 after its current batch"));
    store
        .rotation_finish_job(1, worker, timber::rotation::JobStatus::Paused, None)
        .await
        .unwrap();
    press(&mut app, &[Event::Tick]).await;
    let text = screen(&app);
    assert!(text.contains("paused job 1 (tickets)"), "{text}");

    // Job 2 again: it had stopped, and the message says so.
    press(&mut app, &[ch('k'), ch('x'), key(KeyCode::Enter)]).await;
    let text = screen(&app);
    assert!(
        text.contains("job 2 was not cancelled: it is no longer running (it is cancelled)"),
        "{text}"
    );
}
