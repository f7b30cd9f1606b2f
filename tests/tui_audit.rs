//! The Audit screen's live tail on a real SQLite database: an entry written through another
//! connection (as another process would) shows on the next tick; scrolling away pauses the
//! tail, `g` follows again.

mod tui_support;

use timber::audit::{Action, AuditLog};
use timber::store::Store;
use timber::tui::Event;
use tui_support::*;

#[tokio::test]
async fn the_tail_shows_entries_of_another_connection_and_pauses_while_scrolled() {
    let dir = tempfile::tempdir().unwrap();
    let config = seeded_db(dir.path()).await;
    let mut app = started(config.clone(), "security_admin", 160, 48).await;
    press(&mut app, &[ch('3')]).await;
    assert!(screen(&app).contains("▶ live"), "{}", screen(&app));

    let other = Store::connect(config).await.unwrap();
    let log = AuditLog::open(&other, &ring()).await.unwrap();
    let first = log
        .record(
            "bob",
            Action::Reveal,
            Some("customers"),
            Some("41"),
            &["ssn".into()],
            None,
        )
        .await
        .unwrap();
    app.handle_event(Event::Tick);
    app.settle().await;
    let text = screen(&app);
    assert!(
        text.contains(&format!("#{first}")) && text.contains("bob"),
        "{text}"
    );

    // Scrolled away: a new entry is not pulled in until the operator follows again.
    let second = log
        .record(
            "bob",
            Action::Reveal,
            Some("customers"),
            Some("42"),
            &["ssn".into()],
            None,
        )
        .await
        .unwrap();
    app.handle_event(Event::Tick);
    app.settle().await;
    assert!(screen(&app).contains(&format!("#{second}")));
    press(&mut app, &[ch('j')]).await;
    let third = log
        .record(
            "bob",
            Action::Reveal,
            Some("customers"),
            Some("43"),
            &["ssn".into()],
            None,
        )
        .await
        .unwrap();
    app.handle_event(Event::Tick);
    app.settle().await;
    let paused = screen(&app);
    assert!(paused.contains("paused while scrolled"), "{paused}");
    assert!(!paused.contains(&format!("#{third}")), "{paused}");
    press(&mut app, &[ch('g')]).await;
    app.handle_event(Event::Tick);
    app.settle().await;
    let live = screen(&app);
    assert!(live.contains(&format!("#{third}")), "{live}");
    assert!(live.contains("entries/s"), "{live}");
    other.close().await;
}
