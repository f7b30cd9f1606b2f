//! The Data screen's `/` filter as k9s and lazygit users expect it (issue 16, item 6): it
//! narrows the table as you type, at the next tick (no query per key); a bare word matches
//! any column the role sees plain, in any case, in the database; `field=value` matches a
//! plain column exactly or searches a blind-indexed one (on enter, audited); a field the
//! model does not have is refused naming it; the prompt opens with the current filter and
//! the first key typed replaces it; `ctrl-u`, `ctrl-w`, `ctrl-a`, `ctrl-e` edit it; esc
//! puts the table back as it was.

use crate::tui_support;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use timber::tui::state::Popup;
use timber::tui::{App, Event};
use timber::value::Value;
use tui_support::*;

fn ids(app: &App) -> Vec<i64> {
    let table = app.state.data.table.as_ref().expect("a table is open");
    table
        .rows
        .iter()
        .map(|r| match r.id {
            Value::Int(i) => i,
            _ => -1,
        })
        .collect()
}

fn ctrl(c: char) -> Event {
    Event::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL))
}

async fn customers(role: &str) -> (tempfile::TempDir, App) {
    let dir = tempfile::tempdir().unwrap();
    let config = seeded_db(dir.path()).await;
    let mut app = started(config, role, 80, 24).await;
    press(&mut app, &[ch('2'), key(KeyCode::Enter)]).await;
    (dir, app)
}

/// The text in the open prompt.
fn prompt_text(app: &App) -> String {
    match &app.state.popup {
        Popup::Prompt(p) => p.input.lines().join(""),
        other => panic!("the prompt is open, not {other:?}"),
    }
}

fn prompt_error(app: &App) -> Option<String> {
    match &app.state.popup {
        Popup::Prompt(p) => p.error.clone(),
        _ => None,
    }
}

#[tokio::test]
async fn the_filter_narrows_the_table_as_you_type() {
    let (_dir, mut app) = customers("viewer").await;
    press(&mut app, &[ch('/')]).await;
    type_text(&mut app, "CUSTOMER 01");
    app.settle().await;
    assert_eq!(ids(&app)[..3], [1, 2, 3], "nothing runs before the tick");
    press(&mut app, &[Event::Tick]).await;
    assert!(matches!(app.state.popup, Popup::Prompt(_)), "still typing");
    assert_eq!(ids(&app), (10..=19).collect::<Vec<_>>(), "any case");
    type_text(&mut app, "5");
    press(&mut app, &[Event::Tick]).await;
    assert_eq!(ids(&app), vec![15]);
    assert!(
        screen(&app).contains("filter \"CUSTOMER 015\""),
        "{}",
        screen(&app)
    );

    // Another column (user_id); an encrypted column's plaintext is never matched.
    press(&mut app, &[ctrl('u')]).await;
    type_text(&mut app, "u-04");
    press(&mut app, &[Event::Tick]).await;
    assert_eq!(ids(&app), (40..=49).collect::<Vec<_>>());
    press(&mut app, &[ctrl('u')]).await;
    type_text(&mut app, "zqxmail7");
    press(&mut app, &[Event::Tick]).await;
    assert!(ids(&app).is_empty(), "{:?}", ids(&app));

    // Enter keeps the filter; esc on the table goes back to browsing.
    press(&mut app, &[ctrl('u')]).await;
    type_text(&mut app, "u-04");
    press(&mut app, &[key(KeyCode::Enter)]).await;
    assert!(matches!(app.state.popup, Popup::None));
    let text = screen(&app);
    assert!(text.contains("1-10 of 10 matches"), "{text}");
    insta::assert_snapshot!("data_filtered_80x24", text);
    press(&mut app, &[key(KeyCode::Esc)]).await;
    assert_eq!(ids(&app)[..3], [1, 2, 3]);
}

#[tokio::test]
async fn a_prefilled_filter_is_replaced_by_typing_and_readline_keys_edit_it() {
    let (_dir, mut app) = customers("viewer").await;
    press(&mut app, &[ch('/')]).await;
    type_text(&mut app, "tier=gold");
    press(&mut app, &[key(KeyCode::Enter)]).await;
    assert_eq!(ids(&app).len(), CUSTOMERS / 3);
    assert!(ids(&app).iter().all(|id| id % 3 == 0));

    // `/` again: the current filter, replaced by the first key typed.
    press(&mut app, &[ch('/')]).await;
    assert_eq!(prompt_text(&app), "tier=gold");
    type_text(&mut app, "s");
    assert_eq!(prompt_text(&app), "s", "typing replaced the filter");
    press(&mut app, &[ctrl('u')]).await;
    assert_eq!(prompt_text(&app), "");
    type_text(&mut app, "tier=silver");
    press(&mut app, &[ctrl('w')]).await;
    assert_eq!(prompt_text(&app), "tier=");
    type_text(&mut app, "bronze");
    press(&mut app, &[ctrl('a')]).await;
    type_text(&mut app, "x");
    assert_eq!(prompt_text(&app), "xtier=bronze");
    // An unknown field is refused, naming it and the fields there are.
    press(&mut app, &[Event::Tick]).await;
    let error = prompt_error(&app).expect("refused");
    assert!(
        error.starts_with("Customer has no field `xtier`; fields: id, user_id, name"),
        "{error}"
    );
    assert_eq!(ids(&app).len(), CUSTOMERS / 3, "the table is as it was");
    // ctrl-a, delete, ctrl-e: the cursor at each end.
    press(&mut app, &[ctrl('a'), key(KeyCode::Delete), ctrl('e')]).await;
    type_text(&mut app, "!");
    assert_eq!(prompt_text(&app), "tier=bronze!");
    press(&mut app, &[key(KeyCode::Backspace), key(KeyCode::Enter)]).await;
    assert!(ids(&app).iter().all(|id| id % 3 == 2), "{:?}", ids(&app));

    // Esc puts back what was filtered when the prompt opened.
    press(&mut app, &[ch('/')]).await;
    type_text(&mut app, "gold");
    press(&mut app, &[Event::Tick]).await;
    assert!(ids(&app).iter().all(|id| id % 3 == 0), "{:?}", ids(&app));
    press(&mut app, &[key(KeyCode::Esc)]).await;
    assert!(ids(&app).iter().all(|id| id % 3 == 2), "{:?}", ids(&app));
    assert!(
        screen(&app).contains("filter tier = bronze"),
        "{}",
        screen(&app)
    );
}

/// `field=value` on a blind-indexed field searches it, on enter only (it is audited and the
/// value is a secret's), for a role that may (auditor: `hash`); refused, saying why, for one
/// that may not (viewer: `redact`). An unknown model is refused naming those there are.
#[tokio::test]
async fn a_secret_field_is_searched_on_enter_and_unknown_names_are_refused() {
    let (_dir, mut app) = customers("viewer").await;
    press(&mut app, &[ch('/')]).await;
    type_text(&mut app, "email=zqxmail7@example.com");
    press(&mut app, &[Event::Tick]).await;
    let error = prompt_error(&app).expect("refused");
    assert!(
        error.contains("role viewer may not search Customer.email"),
        "{error}"
    );
    press(&mut app, &[key(KeyCode::Esc), ch(':')]).await;
    type_text(&mut app, "model Nope");
    press(&mut app, &[key(KeyCode::Enter)]).await;
    assert!(
        screen(&app).contains("no model named `Nope`; models: Customer, Ticket"),
        "{}",
        screen(&app)
    );

    let (_dir, mut app) = customers("auditor").await;
    press(&mut app, &[ch('/')]).await;
    type_text(&mut app, "email=zqxmail7@example.com");
    press(&mut app, &[Event::Tick]).await;
    assert_eq!(ids(&app)[..3], [1, 2, 3], "a search waits for enter");
    assert!(
        screen(&app).contains("enter searches email (audited"),
        "{}",
        screen(&app)
    );
    press(&mut app, &[key(KeyCode::Enter)]).await;
    assert_eq!(ids(&app), vec![7]);
    let text = screen(&app);
    assert!(
        text.contains("search email = ••• (value not shown)"),
        "{text}"
    );
    assert!(!text.contains("zqxmail7"), "{text}");
}
