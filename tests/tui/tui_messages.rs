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
    type_text(&mut app, "email=x");
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
