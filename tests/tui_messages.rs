//! The message line above the status bar, as QA found it at 80x24: the newest message is
//! the one shown (an old error must not hide a later notice), and long messages wrap
//! instead of losing their end.

mod tui_support;

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
