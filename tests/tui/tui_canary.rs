//! For roles that may not reveal, no plaintext of a secret field reaches any rendered
//! buffer: every screen, every page, every record popup, sideways scrolls, help, and a
//! refused reveal, at two sizes. The secret values carry canary substrings that survive
//! each mask's visible characters (see `tui_support::CANARIES`). No key text is ever
//! rendered either: keys appear as fingerprints only.

use crate::tui_support;

use crossterm::event::KeyCode;
use timber::tui::{App, Event};
use tui_support::*;

/// Fails if a canary is on screen; returns the screen for more checks.
fn check(app: &App, role: &str, step: &str) -> String {
    let text = screen(app);
    // Keys are shown as fingerprints only, on every screen and for every role.
    for secret in [PRIMARY, MASTER] {
        assert!(
            !text.contains(&secret[..16]),
            "role {role}, {step}: a key was rendered:\n{text}"
        );
    }
    for canary in CANARIES {
        assert!(
            !text.contains(canary),
            "role {role}, {step}: `{canary}` rendered:\n{text}"
        );
    }
    text
}

async fn walk(role: &str, w: u16, h: u16) {
    let dir = tempfile::tempdir().unwrap();
    let config = seeded_db(dir.path()).await;
    let mut app = started(config, role, w, h).await;
    for screen_key in ['1', '3', '4', '5', '?'] {
        press(&mut app, &[ch(screen_key)]).await;
        check(&app, role, &format!("screen {screen_key}"));
        press(&mut app, &[key(KeyCode::Esc)]).await;
    }
    for model in ["Customer", "Ticket"] {
        press(&mut app, &[ch(':')]).await;
        type_text(&mut app, &format!("model {model}"));
        press(&mut app, &[key(KeyCode::Enter)]).await;
        let mut pages = 0;
        loop {
            check(&app, role, &format!("{model} page {pages}"));
            for row in 0..app.state.data.table.as_ref().unwrap().rows.len() {
                app.state.data.table.as_mut().unwrap().row = row;
                press(&mut app, &[key(KeyCode::Enter)]).await;
                check(&app, role, &format!("{model} record popup, row {row}"));
                press(&mut app, &[key(KeyCode::Esc)]).await;
            }
            for col in 0..12 {
                press(&mut app, &[ch('l'), ch('r')]).await;
                check(&app, role, &format!("{model} column {col} after r"));
            }
            let table = app.state.data.table.as_ref().unwrap();
            if !table.more_after {
                break;
            }
            press(&mut app, &[key(KeyCode::PageDown)]).await;
            pages += 1;
        }
        assert!(pages >= 1 || h > 40, "walked more than one page");
        press(&mut app, &[key(KeyCode::Esc)]).await;
    }
}

#[tokio::test]
async fn masked_roles_never_render_secret_plaintext() {
    for role in ["viewer", "support", "auditor"] {
        for (w, h) in [(80, 24), (160, 48)] {
            walk(role, w, h).await;
        }
    }
}

#[tokio::test]
async fn a_revealing_role_sees_only_what_it_revealed() {
    let dir = tempfile::tempdir().unwrap();
    let config = seeded_db(dir.path()).await;
    let mut app = started(config, "security_admin", 160, 48).await;
    press(&mut app, &[ch('2'), key(KeyCode::Enter)]).await;
    check(&app, "security_admin", "before any reveal");
    // Reveal `ssn` of record 1 (column 6).
    for _ in 0..5 {
        app.handle_event(ch('l'));
    }
    press(&mut app, &[ch('r')]).await;
    type_text(&mut app, "audit sample");
    press(&mut app, &[key(KeyCode::Enter)]).await;
    let text = screen(&app);
    assert!(text.contains("ZQ-SSN-0001"), "{text}");
    let others: Vec<&str> = CANARIES.iter().copied().filter(|c| *c != "SSN-").collect();
    for canary in others {
        assert!(
            !text.contains(canary),
            "`{canary}` was not revealed:\n{text}"
        );
    }
    assert_eq!(
        text.matches("SSN-").count(),
        1,
        "only record 1's ssn:\n{text}"
    );
    app.handle_event(Event::Tick);
}
