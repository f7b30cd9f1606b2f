//! Snapshots of the Audit screen at 80x24 and 160x48 on a real SQLite database with a fixed
//! clock: the filtered list, the detail pane of a recorded write (values masked for the
//! role), and the broken-chain badge after verify on a tampered log.
//!
//! Entries are appended through the audit log, then given fixed times and a fixed-IV token
//! and re-sealed with the audit key, so every hash on screen is the same on every run.

use crate::tui_support;

use crossterm::event::KeyCode;
use timber::audit::{Action, AuditLog, Detail, NewEntry, query};
use timber::store::{Store, StoreConfig};
use tui_support::*;

const SIZES: [(u16, u16); 2] = [(80, 24), (160, 48)];

/// Five entries: two reveals by bob, a key retirement by carol, an update of customer 7
/// holding its old and new email, and a health run by ana.
async fn entries(config: &StoreConfig) {
    let store = Store::connect(config.clone()).await.unwrap();
    let log = AuditLog::open(&store, &ring()).await.unwrap();
    for record in ["3", "9"] {
        log.record(
            "bob",
            Action::Reveal,
            Some("customers"),
            Some(record),
            &["ssn".into()],
            Some(serde_json::json!({ "reason": format!("INC-{record}"), "role": "support" })),
        )
        .await
        .unwrap();
    }
    log.record(
        "carol",
        Action::KeyRetire,
        None,
        None,
        &[],
        Some(serde_json::json!({ "key": "old_1" })),
    )
    .await
    .unwrap();
    log.append(NewEntry {
        actor: "app".into(),
        action: Action::Update,
        table_name: Some("customers".into()),
        record_id: Some("7".into()),
        fields: vec!["email".into(), "tier".into()],
        detail: Detail::Values(serde_json::json!({
            "old": { "email": "zqxmail7@example.com", "tier": "gold" },
            "new": { "email": "zqxmail7b@example.org", "tier": "silver" },
        })),
    })
    .await
    .unwrap();
    log.record("ana", Action::HealthRun, None, None, &[], None)
        .await
        .unwrap();
    fix_times(&store).await;
    let report = query::verify(&store, log.key(), None).await.unwrap();
    assert!(report.ok, "re-sealed chain verifies: {report:?}");
    store.close().await;
}

#[tokio::test]
async fn filtered_list_detail_pane_and_broken_chain_badge() {
    for (w, h) in SIZES {
        let dir = tempfile::tempdir().unwrap();
        let config = seeded_db(dir.path()).await;
        entries(&config).await;
        let mut app = started(config.clone(), "security_admin", w, h).await;
        let name = |what: &str| format!("audit_{what}_{w}x{h}");

        press(&mut app, &[ch('3'), ch('/')]).await;
        type_text(&mut app, "actor=bob action=reveal");
        press(&mut app, &[key(KeyCode::Enter)]).await;
        insta::assert_snapshot!(name("filtered"), screen(&app));

        // The update of customer 7 (second newest): masked for the role until revealed.
        press(&mut app, &[key(KeyCode::Esc)]).await;
        press(&mut app, &[ch('j'), key(KeyCode::Enter)]).await;
        let text = screen(&app);
        assert!(!text.contains("xmail"), "{text}");
        insta::assert_snapshot!(name("detail"), text);

        press(&mut app, &[key(KeyCode::Esc)]).await;
        let url = config.url.expose().to_string();
        tamper_actor(&url, 2).await;
        press(&mut app, &[ch('V')]).await;
        insta::assert_snapshot!(name("broken"), screen(&app));
    }
}

/// Rewrites entry `id`'s actor as someone with database access but no keys would.
async fn tamper_actor(url: &str, id: i64) {
    use sqlx::Connection;
    let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
    sqlx::query("UPDATE timber_audit_log SET actor = 'mallory' WHERE id = ?")
        .bind(id)
        .execute(&mut conn)
        .await
        .unwrap();
}
