//! The console and the signed audit log (issue 15): with a signing key the console writes a
//! checkpoint when one is due; the Audit screen says which checkpoint the log verified to
//! and with which key; `C` (or `:checkpoint`) signs one, for a role granted `checkpoint`
//! only; a log that no longer matches its checkpoint is named on the screen and turns the
//! status bar to the failure colour on every screen.

use crate::tui_support;

use sqlx::Connection;
use timber::audit::{Action, AuditLog};
use timber::crypto::signed_note::NoteSigner;
use timber::store::Store;
use timber::tui::{App, Event};
use tui_support::*;

async fn console(config: timber::store::StoreConfig, role: &str, signer: &NoteSigner) -> App {
    let key = signer.to_text();
    let setup = setup_with(
        config,
        role,
        clock(),
        &[("AUDIT_SIGNING_KEY", key.as_str())],
    );
    let mut app = App::new(setup).expect("app builds");
    app.handle_event(Event::Resize(160, 48));
    app.start();
    app.settle().await;
    app
}

#[tokio::test]
async fn the_audit_screen_shows_its_checkpoint_signs_one_and_names_a_rewrite() {
    let dir = tempfile::tempdir().unwrap();
    let config = seeded_db(dir.path()).await;
    let other = Store::connect(config.clone()).await.unwrap();
    let log = AuditLog::open(&other, &ring()).await.unwrap();
    for id in ["41", "42", "43"] {
        log.record(
            "bob",
            Action::Reveal,
            Some("customers"),
            Some(id),
            &["ssn".into()],
            None,
        )
        .await
        .unwrap();
    }
    let signer = NoteSigner::generate("console-test").unwrap();

    // The genesis and three entries, no checkpoint: one is due, and the console writes it by
    // itself.
    let mut viewer = console(config.clone(), "viewer", &signer).await;
    press(&mut viewer, &[ch('3')]).await;
    let shown = screen(&viewer);
    assert!(
        shown.contains("verified to checkpoint 1 (4 entries"),
        "{shown}"
    );
    assert_eq!(other.audit_checkpoints().await.unwrap().len(), 1);
    // A role without the grant cannot sign one on demand; nothing more is written.
    press(&mut viewer, &[ch('C')]).await;
    let refused = screen(&viewer);
    assert!(refused.contains("\"checkpoint\""), "{refused}");
    assert_eq!(other.audit_checkpoints().await.unwrap().len(), 1);

    // security_admin signs one from the palette; the header names it and the key.
    let mut admin = console(config.clone(), "security_admin", &signer).await;
    press(&mut admin, &[ch(':')]).await;
    type_text(&mut admin, "checkpoint");
    press(&mut admin, &[key(crossterm::event::KeyCode::Enter)]).await;
    admin.settle().await;
    let shown = screen(&admin);
    assert!(shown.contains("checkpoint 2 written"), "{shown}");
    let fingerprint = signer.verifier().fingerprint();
    assert!(
        shown.contains("verified to checkpoint 2") && shown.contains(&fingerprint),
        "{shown}"
    );
    assert!(!shown.contains("AUDIT LOG BROKEN"), "{shown}");
    assert_eq!(other.audit_checkpoints().await.unwrap().len(), 2);

    // Someone with database access rewrites an entry: named on the Audit screen, and the
    // status bar says so on every screen.
    let url = config.url.expose().to_string();
    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::query("UPDATE timber_audit_log SET actor = 'mallory' WHERE id = 2")
        .execute(&mut conn)
        .await
        .unwrap();
    press(&mut admin, &[key(crossterm::event::KeyCode::F(5))]).await;
    let broken = screen(&admin);
    assert!(broken.contains("✗ checkpoints: altered"), "{broken}");
    press(&mut admin, &[ch('1')]).await;
    assert!(
        screen(&admin).contains("AUDIT LOG BROKEN"),
        "{}",
        screen(&admin)
    );
    other.close().await;
}
