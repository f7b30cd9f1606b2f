//! Snapshots of every screen at 80x24 and 160x48 under two roles (security_admin, who may
//! reveal, and viewer, who sees redactions), on a real SQLite database with a fixed clock.
//! A change to what an operator sees shows up as a snapshot diff to review.

use crate::tui_support;

use crossterm::event::KeyCode;
use timber::tui::Event;
use tui_support::*;

const SIZES: [(u16, u16); 2] = [(80, 24), (160, 48)];
const ROLES: [&str; 2] = ["security_admin", "viewer"];

/// Every screen for one role and size: overview, models, a table, audit, keys, health.
async fn snapshot_screens(role: &str, w: u16, h: u16) {
    let dir = tempfile::tempdir().unwrap();
    let config = seeded_db(dir.path()).await;
    let mut app = started(config, role, w, h).await;
    let name = |screen: &str| format!("{screen}_{role}_{w}x{h}");

    insta::assert_snapshot!(name("1_overview"), screen(&app));
    press(&mut app, &[ch('2')]).await;
    insta::assert_snapshot!(name("2_models"), screen(&app));
    press(&mut app, &[key(KeyCode::Enter)]).await;
    insta::assert_snapshot!(name("2_table"), screen(&app));
    press(&mut app, &[ch('3')]).await;
    insta::assert_snapshot!(name("3_audit"), screen(&app));
    press(&mut app, &[ch('4')]).await;
    insta::assert_snapshot!(name("4_keys"), screen(&app));
    press(&mut app, &[ch('5')]).await;
    insta::assert_snapshot!(name("5_health"), screen(&app));
}

#[tokio::test]
async fn screens_under_two_roles_at_two_sizes() {
    for role in ROLES {
        for (w, h) in SIZES {
            snapshot_screens(role, w, h).await;
        }
    }
}

#[tokio::test]
async fn popups_help_palette_detail_and_reveal_dialog() {
    let dir = tempfile::tempdir().unwrap();
    let config = seeded_db(dir.path()).await;
    let mut app = started(config, "security_admin", 80, 24).await;

    press(&mut app, &[ch('?')]).await;
    insta::assert_snapshot!("popup_help_80x24", screen(&app));
    press(&mut app, &[key(KeyCode::Esc), ch(':')]).await;
    type_text(&mut app, "th");
    insta::assert_snapshot!("popup_palette_80x24", screen(&app));
    press(&mut app, &[key(KeyCode::Esc), ch('2'), key(KeyCode::Enter)]).await;
    press(&mut app, &[ch('j'), key(KeyCode::Enter)]).await;
    insta::assert_snapshot!("popup_detail_80x24", screen(&app));
    // Column 4 is `email`: r asks for a reason (security_admin requires one).
    press(
        &mut app,
        &[key(KeyCode::Esc), ch('l'), ch('l'), ch('l'), ch('r')],
    )
    .await;
    type_text(&mut app, "TICKET-7 fraud check");
    insta::assert_snapshot!("popup_reveal_80x24", screen(&app));
}

#[tokio::test]
async fn a_small_terminal_gets_a_message_and_survives_resizing() {
    let dir = tempfile::tempdir().unwrap();
    let config = seeded_db(dir.path()).await;
    let mut app = started(config, "viewer", 59, 20).await;
    let text = screen(&app);
    assert!(
        text.contains("Terminal too small: need at least 60x15 (now 59x20)"),
        "{text}"
    );
    app.handle_event(Event::Resize(70, 14));
    assert!(screen(&app).contains("(now 70x14)"));
    for (w, h) in [(1, 1), (0, 0), (200, 3), (60, 15), (61, 16)] {
        app.handle_event(Event::Resize(w, h));
        press(&mut app, &[ch('2'), key(KeyCode::Enter), ch('l'), ch('j')]).await;
        let text = screen(&app);
        if w >= 60 && h >= 15 {
            assert!(text.contains("Customer"), "{text}");
        }
    }
}
