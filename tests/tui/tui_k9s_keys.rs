//! What k9s and lazygit users expect (issue 16, item 9, the console's half): `y` copies the
//! selected cell (a plain value, or a revealed one after its `copy` audit entry; never a
//! mask) and `Y` the row id, through OSC 52; `ctrl-s` writes the screen as shown to a file,
//! with revealed values masked, naming the file; `o` and `:sort` sort the table in the
//! database, refusing an encrypted or masked column with the reason; help is searched with
//! `/` and names the live keymap's keys.

use crate::tui_support;

use base64::Engine;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use timber::tui::state::Popup;
use timber::tui::{App, Event, Keymap};
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

async fn customers(role: &str, keymap: Option<&str>) -> (tempfile::TempDir, App) {
    let dir = tempfile::tempdir().unwrap();
    let config = seeded_db(dir.path()).await;
    let mut setup = setup(config, role, clock());
    if let Some(text) = keymap {
        setup.keymap = Keymap::parse(text, std::path::Path::new("km.yaml"));
    }
    let mut app = App::new(setup).unwrap();
    app.handle_event(Event::Resize(80, 24));
    app.start();
    app.settle().await;
    press(&mut app, &[ch('2'), key(KeyCode::Enter)]).await;
    (dir, app)
}

/// The clipboard texts of the OSC 52 sequences the console asked the terminal to write.
fn clipboard(app: &mut App) -> Vec<String> {
    let mut out = Vec::new();
    timber::tui::terminal::write_output(app, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    text.split("\x1b]52;c;")
        .skip(1)
        .map(|rest| {
            let encoded = rest.split('\x07').next().unwrap();
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .unwrap();
            String::from_utf8(bytes).unwrap()
        })
        .collect()
}

#[tokio::test]
async fn y_copies_the_selected_cell_only_when_it_is_a_value() {
    let (_dir, mut app) = customers("security_admin", None).await;
    // name (plain): copied as it is.
    press(&mut app, &[ch('l'), ch('l'), ch('y')]).await;
    assert_eq!(clipboard(&mut app), vec!["Customer 001"]);
    assert!(screen(&app).contains("copied name of Customer 1 to the clipboard"));
    // email, masked: refused, nothing written.
    press(&mut app, &[ch('l'), ch('y')]).await;
    assert!(clipboard(&mut app).is_empty());
    assert!(
        screen(&app).contains("email of Customer 1 is masked: reveal it first (r)"),
        "{}",
        screen(&app)
    );
    // Revealed, then copied, after its own audit entry.
    press(&mut app, &[ch('r')]).await;
    type_text(&mut app, "INC-9 copy the address");
    press(&mut app, &[key(KeyCode::Enter)]).await;
    press(&mut app, &[ch('y')]).await;
    assert_eq!(clipboard(&mut app), vec!["zqxmail1@example.com"]);
    let store = app.store().unwrap();
    let entries = timber::audit::query::list(store, &Default::default(), None, 5)
        .await
        .unwrap();
    let detail = entries[0].content.detail.clone().unwrap_or_default();
    assert!(detail.contains("\"scope\":\"copy\""), "{detail}");
    // Y: the row id, from any column.
    press(&mut app, &[ch('j'), ch('Y')]).await;
    assert_eq!(clipboard(&mut app), vec!["2"]);
}

#[tokio::test]
async fn ctrl_s_writes_the_screen_as_shown_with_reveals_masked() {
    let (dir, mut app) = customers("security_admin", None).await;
    app.state.dump_dir = dir.path().to_path_buf();
    press(&mut app, &[ch('l'), ch('l'), ch('l'), ch('r')]).await;
    type_text(&mut app, "INC-9 a screen for the ticket");
    press(&mut app, &[key(KeyCode::Enter)]).await;
    assert!(screen(&app).contains("◉ zqxmail1@example.com"));
    press(&mut app, &[ctrl('s')]).await;
    let path = dir.path().join("timber-screen-20261129T120000Z.txt");
    let written = std::fs::read_to_string(&path).expect("the screen file");
    assert_eq!(
        app.state.status.message.clone().unwrap_or_default(),
        format!(
            "screen written to {} (revealed values masked)",
            path.display()
        )
    );
    assert!(
        written.contains("│▶ 1   u-001   Customer 001 ⊙ z***@example.com"),
        "{written}"
    );
    assert!(written.contains("first page · id 1…16"), "{written}");
    assert!(
        !written.contains("zqxmail1"),
        "a reveal is not written:\n{written}"
    );
    assert_eq!(written.lines().count(), 24);
    // The screen still shows the reveal.
    assert!(screen(&app).contains("◉ zqxmail1@example.com"));
    // From inside a popup too.
    press(&mut app, &[ch('?'), ctrl('s')]).await;
    assert!(matches!(app.state.popup, Popup::Help(_)));
}

#[tokio::test]
async fn o_and_sort_order_the_table_in_the_database_and_refuse_secret_columns() {
    let (_dir, mut app) = customers("viewer", None).await;
    // tier is the eighth column: bronze (ids ≡ 2 mod 3) first, then gold, then silver.
    for _ in 0..7 {
        app.handle_event(ch('l'));
    }
    press(&mut app, &[ch('o')]).await;
    assert!(
        ids(&app).iter().take(20).all(|id| id % 3 == 2),
        "{:?}",
        ids(&app)
    );
    assert_eq!(ids(&app).len(), CUSTOMERS, "every row, sorted");
    assert!(screen(&app).contains("sort tier ↑"), "{}", screen(&app));
    press(&mut app, &[ch('o')]).await;
    assert!(
        ids(&app).iter().take(20).all(|id| id % 3 == 1),
        "silver first"
    );
    assert!(screen(&app).contains("sort tier ↓"));
    press(&mut app, &[ch('o')]).await;
    assert_eq!(ids(&app)[..3], [1, 2, 3], "unsorted: browsing by key again");

    // :sort with a filter: the filter's rows, in that order.
    press(&mut app, &[ch('/')]).await;
    type_text(&mut app, "gold");
    press(&mut app, &[key(KeyCode::Enter), ch(':')]).await;
    type_text(&mut app, "sort name desc");
    press(&mut app, &[key(KeyCode::Enter)]).await;
    assert_eq!(ids(&app)[..3], [60, 57, 54], "{:?}", ids(&app));
    assert!(
        screen(&app).contains("filter \"gold\" · sort name ↓"),
        "{}",
        screen(&app)
    );

    // Refused, with the reason and the columns that can be sorted.
    press(&mut app, &[ch(':')]).await;
    type_text(&mut app, "sort email");
    press(&mut app, &[key(KeyCode::Enter)]).await;
    let error = app.state.status.last_error.clone().unwrap_or_default();
    assert_eq!(
        error,
        "cannot sort Customer by `email`: it is encrypted: its stored tokens have no order; \
         sort on a plain column (id, user_id, name, tier, created_at)"
    );
    press(&mut app, &[ch(':')]).await;
    type_text(&mut app, "sort email_hash");
    press(&mut app, &[key(KeyCode::Enter)]).await;
    let error = app.state.status.last_error.clone().unwrap_or_default();
    assert!(
        error.contains("role viewer sees it masked, and its order would tell what the mask hides"),
        "{error}"
    );
    press(&mut app, &[ch(':')]).await;
    type_text(&mut app, "sort nosuch");
    press(&mut app, &[key(KeyCode::Enter)]).await;
    let error = app.state.status.last_error.clone().unwrap_or_default();
    assert!(
        error.starts_with("Customer has no column `nosuch`; columns: id, user_id"),
        "{error}"
    );
    assert_eq!(ids(&app)[..3], [60, 57, 54], "the table is as it was");
}

/// Help names the live keymap's keys (remapped: the new ones, in its lines and its title)
/// and `/` searches it.
#[tokio::test]
async fn help_is_searched_with_its_live_key_and_names_remapped_keys() {
    let (_dir, mut app) = customers("viewer", Some("filter: f\ncopy: c\n")).await;
    press(&mut app, &[ch('?')]).await;
    let text = screen(&app);
    assert!(text.contains("· f search"), "{text}");
    press(&mut app, &[ch('f')]).await;
    type_text(&mut app, "COPY");
    let text = screen(&app);
    // The two keys' lines, and the palette's row that names :copy.
    assert!(text.contains("3 lines match"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.contains("  c  copy the selected cell")),
        "{text}"
    );
    assert!(!text.contains("move down"), "{text}");
    // enter keeps the search, esc clears it, esc again closes.
    press(&mut app, &[key(KeyCode::Enter), ch('j')]).await;
    assert!(screen(&app).contains("3 lines match"));
    press(&mut app, &[key(KeyCode::Esc)]).await;
    assert!(screen(&app).contains("move down"));
    press(&mut app, &[key(KeyCode::Esc)]).await;
    assert!(matches!(app.state.popup, Popup::None));
}
