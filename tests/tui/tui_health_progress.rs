//! A health run on the Health screen, driven one task result at a time on a real SQLite
//! database: while the checks run, the screen shows which family runs, which model the
//! survey reads and how many rows it has read; a second run asked for meanwhile is refused
//! with a notice; the finished results replace the progress.

use crate::tui_support;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use timber::tui::screens::health::{HealthTick, Msg as HealthMsg};
use timber::tui::{App, Event, TaskResult};
use tui_support::*;

const NEW_PRIMARY: &str = "bXlfbmV3X3ByaW1hcnlfa2V5X2Zvcl90ZXN0c18wMDE=";

/// A console on the Health screen, started but with no task result applied yet.
async fn starting(w: u16, h: u16) -> (tempfile::TempDir, App) {
    let dir = tempfile::tempdir().unwrap();
    let config = seeded_db(dir.path()).await;
    let env = [
        ("ENCRYPTION_KEY", NEW_PRIMARY),
        ("ENCRYPTION_KEY_OLD", PRIMARY),
    ];
    let mut app = App::new(setup_with(config, "security_admin", clock(), &env)).unwrap();
    app.handle_event(Event::Resize(w, h));
    app.handle_event(ch('5'));
    app.start();
    (dir, app)
}

/// Applies results one at a time until the survey reports reading `model`.
async fn until_survey_reads(app: &mut App, model: &str) {
    loop {
        let result = app.next_result().await;
        let reached = matches!(
            &result,
            TaskResult::Health(HealthMsg::Progress(HealthTick::Rows { model: m, .. })) if m == model
        );
        let finished = matches!(result, TaskResult::Health(HealthMsg::Finished(_)));
        app.apply(result);
        assert!(!finished, "the run ended before the survey read {model}");
        if reached {
            return;
        }
    }
}

#[tokio::test]
async fn progress_is_shown_while_health_runs_and_results_replace_it() {
    let (_dir, mut app) = starting(120, 40).await;
    until_survey_reads(&mut app, "Ticket").await;
    let running = screen(&app);
    assert!(running.contains("Health checks · running"), "{running}");
    assert!(
        running.contains("▶ data") && running.contains("now: DATA"),
        "{running}"
    );
    assert!(running.contains("model Ticket (2 of 2)"), "{running}");
    // Every customer row, then the tickets read so far.
    let scanned = CUSTOMERS + TICKETS;
    assert!(
        running.contains(&format!("{scanned} row(s) scanned so far")),
        "{running}"
    );
    assert!(
        !running.contains("data.old_key"),
        "no results yet:\n{running}"
    );

    // A second run while this one goes is refused, with a notice.
    app.handle_event(Event::Key(KeyEvent::new(
        KeyCode::Char('r'),
        KeyModifiers::CONTROL,
    )));
    let refused = screen(&app);
    assert!(
        refused.contains("health checks already running"),
        "{refused}"
    );

    app.settle().await;
    let done = screen(&app);
    assert!(!done.contains("Health checks · running"), "{done}");
    assert!(done.contains("data.old_key"), "{done}");
    assert!(app.state.health.run.is_none());

    // Once it has ended, a refresh runs the checks again.
    press(&mut app, &[key(KeyCode::F(5))]).await;
    let again = screen(&app);
    assert!(again.contains("health checks started"), "{again}");
    assert!(again.contains("data.old_key"), "{again}");
}

/// The progress at both sizes, at the moment the survey reaches the second model.
#[tokio::test]
async fn health_in_progress_snapshots() {
    for (w, h) in [(80, 24), (160, 48)] {
        let (_dir, mut app) = starting(w, h).await;
        until_survey_reads(&mut app, "Ticket").await;
        insta::assert_snapshot!(format!("health_running_{w}x{h}"), screen(&app));
        app.settle().await;
    }
}
