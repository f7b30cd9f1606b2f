//! The Audit screen's live tail on a real SQLite database: an entry written through another
//! connection (as another process would) shows on the next tick; scrolling away pauses the
//! tail, `g` follows again.

use crate::tui_support;

use timber::audit::{Action, AuditLog};
use timber::store::Store;
use timber::tui::{App, Event};
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

/// Entries written by another connection: `n` by bob, after one by carol (the oldest).
async fn write_entries(config: &timber::store::StoreConfig, bobs: usize) -> (Store, AuditLog) {
    let other = Store::connect(config.clone()).await.unwrap();
    let log = AuditLog::open(&other, &ring()).await.unwrap();
    log.record("carol", Action::KeyRetire, None, None, &[], None)
        .await
        .unwrap();
    for i in 0..bobs {
        log.record(
            "bob",
            Action::Reveal,
            Some("customers"),
            Some(&(i + 1).to_string()),
            &["ssn".into()],
            Some(serde_json::json!({ "reason": format!("case {i}") })),
        )
        .await
        .unwrap();
    }
    (other, log)
}

/// Runs SQL on the database file as someone with database access but no keys would.
async fn tamper(config: &timber::store::StoreConfig, sql: &str) {
    use sqlx::Connection;
    let mut conn = sqlx::SqliteConnection::connect(config.url.expose())
        .await
        .expect("connect to tamper");
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
        .execute(&mut conn)
        .await
        .expect("tamper");
}

fn selected_id(app: &timber::tui::App) -> Option<i64> {
    app.state.audit.selected_line().map(|l| l.id)
}

#[tokio::test]
async fn the_filter_is_applied_in_sql_and_finds_entries_older_than_the_page() {
    let dir = tempfile::tempdir().unwrap();
    let config = seeded_db(dir.path()).await;
    // 250 newer entries: carol's is older than the 200 the tail loads.
    let (other, _log) = write_entries(&config, 250).await;
    let mut app = started(config, "security_admin", 160, 48).await;
    press(&mut app, &[ch('3')]).await;
    app.handle_event(Event::Tick);
    app.settle().await;
    assert!(!screen(&app).contains("carol"), "{}", screen(&app));
    let listed = app.state.audit.list.ready().map_or(0, Vec::len);
    assert_eq!(listed, 200, "the unfiltered tail loads one page");

    press(&mut app, &[ch('/')]).await;
    type_text(&mut app, "actor=carol");
    press(&mut app, &[key(crossterm::event::KeyCode::Enter)]).await;
    let text = screen(&app);
    assert!(text.contains("filter: actor=carol"), "{text}");
    assert!(
        text.contains("carol") && text.contains("key.retire"),
        "{text}"
    );
    assert!(!text.contains("bob"), "{text}");
    assert_eq!(selected_id(&app), Some(2), "entry 1 is the seed's genesis");

    // The tail keeps the filter: a new matching entry shows, another actor's does not.
    let log = AuditLog::open(&other, &ring()).await.unwrap();
    let carol2 = log
        .record("carol", Action::HealthRun, None, None, &[], None)
        .await
        .unwrap();
    log.record("bob", Action::HealthRun, None, None, &[], None)
        .await
        .unwrap();
    app.handle_event(Event::Tick);
    app.settle().await;
    let text = screen(&app);
    assert!(text.contains(&format!("#{carol2}")), "{text}");
    assert!(!text.contains("bob"), "{text}");

    // Several fields at once, then esc clears the filter.
    press(&mut app, &[ch('/')]).await;
    for _ in 0.."actor=carol".len() {
        app.handle_event(key(crossterm::event::KeyCode::Backspace));
    }
    type_text(
        &mut app,
        "actor=bob action=reveal text=\"case 7\" since=2026-01-01",
    );
    press(&mut app, &[key(crossterm::event::KeyCode::Enter)]).await;
    let ids: Vec<i64> = app
        .state
        .audit
        .list
        .ready()
        .unwrap()
        .iter()
        .map(|l| l.id)
        .collect();
    // "case 7" matches case 7 and case 70..79 (bob's reveals 8 and 71..80; ids + 2: the
    // genesis and carol's entry come first).
    assert_eq!(ids.len(), 11, "{ids:?}");
    assert!(ids.contains(&10) && ids.contains(&73), "{ids:?}");
    press(&mut app, &[key(crossterm::event::KeyCode::Esc)]).await;
    let text = screen(&app);
    assert!(!text.contains("filter:"), "{text}");
    assert_eq!(app.state.audit.list.ready().map_or(0, Vec::len), 200);
    other.close().await;
}

#[tokio::test]
async fn bad_filter_input_is_a_message_in_the_prompt() {
    let dir = tempfile::tempdir().unwrap();
    let config = seeded_db(dir.path()).await;
    let mut app = started(config, "viewer", 80, 24).await;
    press(&mut app, &[ch('3'), ch('/')]).await;
    type_text(&mut app, "colour=red");
    press(&mut app, &[key(crossterm::event::KeyCode::Enter)]).await;
    let text = screen(&app);
    assert!(text.contains("unknown filter field `colour`"), "{text}");
    for _ in 0.."colour=red".len() {
        app.handle_event(key(crossterm::event::KeyCode::Backspace));
    }
    type_text(&mut app, "since=yesterday");
    press(&mut app, &[key(crossterm::event::KeyCode::Enter)]).await;
    let text = screen(&app);
    assert!(text.contains("since `yesterday` is not a time"), "{text}");
    // Esc leaves the prompt; no filter was set.
    press(&mut app, &[key(crossterm::event::KeyCode::Esc)]).await;
    assert!(app.state.audit.filter.is_none());
    assert!(app.state.audit.input.is_none());
}

/// An update of customer 7's email recorded with its values (as an AuditMixin write is).
async fn write_update(config: &timber::store::StoreConfig) -> (Store, AuditLog, i64) {
    use timber::audit::{Detail, NewEntry};
    let other = Store::connect(config.clone()).await.unwrap();
    let log = AuditLog::open(&other, &ring()).await.unwrap();
    let entry = log
        .append(NewEntry {
            actor: "app".into(),
            action: Action::Update,
            table_name: Some("customers".into()),
            record_id: Some("7".into()),
            fields: vec!["email".into()],
            detail: Detail::Values(serde_json::json!({
                "old": { "email": "zqxmail7@example.com", "tier": "gold" },
                "new": { "email": "zqxmail7b@example.org", "tier": "gold" },
            })),
        })
        .await
        .unwrap();
    (other, log, entry.id)
}

#[tokio::test]
async fn the_detail_masks_changed_values_and_reveals_them_with_an_audited_reason() {
    let dir = tempfile::tempdir().unwrap();
    let config = seeded_db(dir.path()).await;
    let (other, _log, id) = write_update(&config).await;

    // viewer: redacted, and the reveal is shown disabled with the reason.
    let mut viewer = started(config.clone(), "viewer", 160, 48).await;
    press(
        &mut viewer,
        &[ch('3'), key(crossterm::event::KeyCode::Enter)],
    )
    .await;
    let text = screen(&viewer);
    assert!(text.contains(&format!("Entry #{id}")), "{text}");
    assert!(text.contains("◼ ••••••"), "{text}");
    assert!(
        text.contains("gold"),
        "plain columns show as they are: {text}"
    );
    assert!(!text.contains("xmail"), "{text}");
    // It names the missing grant: the policy gives viewer no `reveal` action.
    assert!(
        text.contains("reveal unavailable: role viewer has no \"reveal\" grant"),
        "{text}"
    );
    press(&mut viewer, &[ch('r')]).await;
    assert!(!screen(&viewer).contains("xmail"));

    // security_admin: masked until revealed with a reason; the reveal is an entry itself.
    let mut app = started(config, "security_admin", 160, 48).await;
    press(&mut app, &[ch('3'), key(crossterm::event::KeyCode::Enter)]).await;
    let text = screen(&app);
    assert!(text.contains("⊙"), "{text}");
    assert!(!text.contains("xmail"), "{text}");
    press(&mut app, &[ch('r')]).await;
    press(&mut app, &[key(crossterm::event::KeyCode::Enter)]).await;
    assert!(
        screen(&app).contains("must give a reason"),
        "{}",
        screen(&app)
    );
    type_text(&mut app, "TICKET-9 dispute");
    press(&mut app, &[key(crossterm::event::KeyCode::Enter)]).await;
    let text = screen(&app);
    assert!(text.contains("◉ zqxmail7@example.com"), "{text}");
    assert!(text.contains("◉ zqxmail7b@example.org"), "{text}");

    let reveals = timber::audit::query::list(
        &other,
        &timber::audit::AuditFilter {
            action: Some("reveal".into()),
            ..Default::default()
        },
        None,
        10,
    )
    .await
    .unwrap();
    assert_eq!(reveals.len(), 1, "{reveals:?}");
    let reveal = &reveals[0];
    assert_eq!(reveal.content.actor, "ana");
    assert_eq!(reveal.content.table_name.as_deref(), Some("customers"));
    assert_eq!(reveal.content.record_id.as_deref(), Some("7"));
    assert_eq!(reveal.content.fields, vec!["email".to_string()]);
    let facts = timber::audit::read_detail(&ring(), reveal)
        .unwrap()
        .unwrap();
    assert_eq!(facts["reason"], "TICKET-9 dispute");
    assert_eq!(facts["scope"], "audit_entry");
    assert_eq!(facts["audit_entry"], id);
    assert!(!reveal.content.detail.as_deref().unwrap().contains("xmail"));

    other.close().await;
}

#[tokio::test]
async fn verify_on_a_tampered_chain_selects_the_first_broken_entry() {
    let dir = tempfile::tempdir().unwrap();
    let config = seeded_db(dir.path()).await;
    let (other, _log) = write_entries(&config, 250).await;
    let mut app = started(config.clone(), "security_admin", 160, 48).await;
    press(&mut app, &[ch('3')]).await;
    assert!(screen(&app).contains("✓ chain intact, 252 entries")); // the genesis, carol, 250

    // Entry 5 is far below the loaded page (the newest 200).
    tamper(
        &config,
        "UPDATE timber_audit_log SET actor = 'mallory' WHERE id = 5",
    )
    .await;
    // From another screen, through the palette (`V` on the Audit screen does the same).
    press(&mut app, &[ch('1'), ch(':')]).await;
    type_text(&mut app, "verify");
    press(&mut app, &[key(crossterm::event::KeyCode::Enter)]).await;
    let text = screen(&app);
    assert!(text.contains("✗ chain broken at #5"), "{text}");
    assert!(text.contains("altered"), "{text}");
    assert!(text.contains("▶ #5 "), "{text}");
    assert_eq!(selected_id(&app), Some(5));
    assert!(text.contains("around a broken link"), "{text}");
    // g follows the newest again.
    press(&mut app, &[ch('g')]).await;
    assert_eq!(selected_id(&app), Some(252));
    other.close().await;
}

#[tokio::test]
async fn a_read_only_session_reveals_an_entry_through_the_audit_connection() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = seeded_db(dir.path()).await;
    let (other, _log, id) = write_update(&config).await;
    config.read_only = true;
    let mut app = App::new(setup(config, "security_admin", clock())).unwrap();
    app.handle_event(Event::Resize(160, 48));
    app.start();
    app.settle().await;
    press(&mut app, &[ch('3'), key(crossterm::event::KeyCode::Enter)]).await;
    let text = screen(&app);
    assert!(text.contains(" READ-ONLY "), "{text}");
    assert!(
        text.contains("(audited, read-only: via the audit connection)"),
        "the reveal is offered, saying how it is audited: {text}"
    );
    press(&mut app, &[ch('r')]).await;
    type_text(&mut app, "read-only check");
    press(&mut app, &[key(crossterm::event::KeyCode::Enter)]).await;
    let text = screen(&app);
    assert!(text.contains("◉ zqxmail7@example.com"), "{text}");
    let newest = timber::audit::query::list(&other, &Default::default(), None, 1)
        .await
        .unwrap();
    assert_eq!(newest[0].content.action, "reveal");
    let facts = timber::audit::read_detail(&ring(), &newest[0])
        .unwrap()
        .unwrap();
    assert_eq!(facts["audit_entry"], id);
    other.close().await;
}
