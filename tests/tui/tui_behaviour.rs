//! What an operator does in the console, driven headless on a real SQLite database: paging,
//! sideways scrolling, audited reveals that time out, search, filter, the palette, the
//! mouse, remapped keys, and bad input that must not stop the console.

use crate::tui_support;

use crossterm::event::{KeyCode, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
use timber::store::Store;
use timber::tui::screens::ScreenId;
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

async fn customers(role: &str) -> (tempfile::TempDir, App) {
    let dir = tempfile::tempdir().unwrap();
    let config = seeded_db(dir.path()).await;
    let mut app = started(config, role, 80, 24).await;
    press(&mut app, &[ch('2'), key(KeyCode::Enter)]).await;
    (dir, app)
}

#[tokio::test]
async fn paging_walks_the_table_by_key_in_both_directions() {
    let (_dir, mut app) = customers("viewer").await;
    let page = app.state.page_size() as i64;
    assert_eq!(ids(&app), (1..=page).collect::<Vec<_>>());
    press(&mut app, &[key(KeyCode::PageDown)]).await;
    assert_eq!(ids(&app)[0], page + 1);
    assert!(screen(&app).contains(&format!("Customer {:03}", page + 1)));
    press(&mut app, &[ch('G')]).await;
    assert_eq!(*ids(&app).last().unwrap(), CUSTOMERS as i64);
    assert_eq!(ids(&app).len() as i64, page);
    press(&mut app, &[key(KeyCode::PageUp)]).await;
    assert_eq!(*ids(&app).last().unwrap(), CUSTOMERS as i64 - page);
    press(&mut app, &[ch('g')]).await;
    assert_eq!(ids(&app)[0], 1);
    // j past the last row of the page loads the next page; k before the first goes back.
    for _ in 0..page {
        app.handle_event(ch('j'));
    }
    app.settle().await;
    assert_eq!(ids(&app)[0], page + 1);
    assert_eq!(app.state.data.table.as_ref().unwrap().row, 0);
    press(&mut app, &[ch('k')]).await;
    assert_eq!(*ids(&app).last().unwrap(), page);
    assert_eq!(app.state.data.table.as_ref().unwrap().row as i64, page - 1);
}

#[tokio::test]
async fn columns_scroll_sideways_and_keep_the_selected_one_visible() {
    let (_dir, mut app) = customers("security_admin").await;
    let before = screen(&app);
    assert!(
        !before.contains("created_at"),
        "80 columns cannot hold every column:\n{before}"
    );
    for _ in 0..12 {
        app.handle_event(ch('l'));
    }
    let table = app.state.data.table.as_ref().unwrap();
    assert_eq!(table.columns[table.col].name, "created_at");
    assert!(table.col_offset > 0);
    assert!(screen(&app).contains("created_at"));
}

#[tokio::test]
async fn a_reveal_needs_a_reason_is_audited_and_masks_itself_again() {
    let dir = tempfile::tempdir().unwrap();
    let config = seeded_db(dir.path()).await;
    let clock = clock();
    let mut app = App::new(setup(config.clone(), "security_admin", clock.clone())).unwrap();
    app.handle_event(Event::Resize(80, 24));
    app.start();
    app.settle().await;
    press(
        &mut app,
        &[ch('2'), key(KeyCode::Enter), ch('l'), ch('l'), ch('l')],
    )
    .await;
    assert!(
        !screen(&app).contains("zqxmail1@example.com"),
        "masked before the reveal"
    );

    press(&mut app, &[ch('r'), key(KeyCode::Enter)]).await;
    assert!(
        screen(&app).contains("must give a reason"),
        "{}",
        screen(&app)
    );
    type_text(&mut app, "INC-42 verify");
    press(&mut app, &[key(KeyCode::Enter)]).await;
    let shown = screen(&app);
    assert!(shown.contains("◉ zqxmail1@example.com"), "{shown}");
    assert!(shown.contains("masks again in 30 s"), "{shown}");

    let store = Store::connect(config).await.unwrap();
    let entries = entries_since_seed(&store).await;
    let reveal = entries
        .iter()
        .find(|e| e.content.action == "reveal")
        .expect("a reveal entry");
    assert_eq!(reveal.content.actor, "ana");
    assert_eq!(reveal.content.table_name.as_deref(), Some("customers"));
    assert_eq!(reveal.content.record_id.as_deref(), Some("1"));
    assert_eq!(reveal.content.fields, vec!["email".to_string()]);

    clock.advance(chrono::Duration::seconds(29));
    app.handle_event(Event::Tick);
    assert!(
        screen(&app).contains("zqxmail1@example.com"),
        "still revealed at 29 s"
    );
    clock.advance(chrono::Duration::seconds(2));
    app.handle_event(Event::Tick);
    let after = screen(&app);
    assert!(
        !after.contains("zqxmail1"),
        "masked again after the timeout:\n{after}"
    );
    assert!(after.contains("⊙ z***@example.com"), "{after}");
}

#[tokio::test]
async fn a_role_that_may_not_reveal_is_told_so_and_nothing_is_audited() {
    let (dir, mut app) = customers("viewer").await;
    press(&mut app, &[ch('l'), ch('l'), ch('l'), ch('r')]).await;
    // The policy grants viewer no `reveal` action: the refusal names it.
    assert!(
        screen(&app).contains("role viewer may not reveal values"),
        "{}",
        screen(&app)
    );
    let url = format!("sqlite://{}", dir.path().join("app.db").display());
    let store = Store::connect_url(&url).await.unwrap();
    let entries = entries_since_seed(&store).await;
    assert!(entries.is_empty(), "{entries:?}");
}

/// Issue 13 item 4: the search is an equality oracle, so a role below `hash` on the field
/// (viewer: `redact`) is not offered it, and a search by a role that may (auditor: `hash`)
/// writes a `search` entry with the match count, never the value.
#[tokio::test]
async fn search_by_blind_index_needs_hash_is_audited_and_never_echoes_the_value() {
    let (dir, mut app) = customers("viewer").await;
    press(&mut app, &[ch('s')]).await;
    let shown = screen(&app);
    assert!(shown.contains("no field this role may search"), "{shown}");
    press(&mut app, &[key(KeyCode::Esc)]).await;

    let config = timber::store::StoreConfig::from_url(&format!(
        "sqlite://{}",
        dir.path().join("app.db").display()
    ))
    .unwrap();
    let mut app = started(config.clone(), "auditor", 80, 24).await;
    press(&mut app, &[ch('2'), key(KeyCode::Enter), ch('s')]).await;
    type_text(&mut app, "zqxmail7@example.com");
    assert!(
        !screen(&app).contains("zqxmail7"),
        "the typed secret is masked in the prompt"
    );
    press(&mut app, &[key(KeyCode::Enter)]).await;
    assert_eq!(ids(&app), vec![7]);
    let shown = screen(&app);
    assert!(
        shown.contains("search email = ••• (value not shown)"),
        "{shown}"
    );
    assert!(!shown.contains("zqxmail7"), "{shown}");
    press(&mut app, &[key(KeyCode::Esc)]).await;
    assert_eq!(ids(&app)[0], 1, "esc returns to browsing");

    let store = Store::connect(config).await.unwrap();
    let entries = entries_since_seed(&store).await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    let search = &entries[0];
    assert_eq!(search.content.action, "search");
    assert_eq!(search.content.fields, vec!["email".to_string()]);
    let detail = search.content.detail.clone().unwrap_or_default();
    assert!(detail.contains("\"matches\":1"), "{detail}");
    assert!(!format!("{search:?}").contains("zqxmail7"), "{search:?}");
}

/// Issue 13 items 3 and 9: the owner rule used to reveal the operator's own rows on every
/// page with no audit entry; now each page that shows one writes ONE entry listing them.
#[tokio::test]
async fn own_rows_on_a_page_are_revealed_under_one_entry_listing_them() {
    let dir = tempfile::tempdir().unwrap();
    let config = seeded_db(dir.path()).await;
    let setup = setup_with(
        config.clone(),
        "viewer",
        clock(),
        &[("TIMBER_USER", "u-007")],
    );
    let mut app = App::new(setup).unwrap();
    app.handle_event(Event::Resize(80, 24));
    app.start();
    app.settle().await;
    press(&mut app, &[ch('2'), key(KeyCode::Enter)]).await;
    let table = app.state.data.table.as_ref().unwrap();
    let own: Vec<_> = table.rows.iter().filter(|r| r.own_row).collect();
    assert_eq!(own.len(), 1, "row 7 is u-007's");
    assert_eq!(own[0].id, Value::Int(7));
    assert_eq!(
        own[0].cell("email"),
        Some(&timber::access::Cell::Revealed(Value::Text(
            "zqxmail7@example.com".into()
        )))
    );
    assert!(
        table
            .rows
            .iter()
            .filter(|r| !r.own_row)
            .all(|r| !matches!(r.cell("email"), Some(timber::access::Cell::Revealed(_))))
    );
    let store = Store::connect(config).await.unwrap();
    let entries = entries_since_seed(&store).await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    let entry = &entries[0];
    assert_eq!(entry.content.action, "reveal");
    assert_eq!(entry.content.actor, "u-007");
    assert_eq!(entry.content.record_id.as_deref(), Some("7"));
    let detail: serde_json::Value =
        serde_json::from_str(entry.content.detail.as_deref().unwrap()).unwrap();
    assert_eq!(detail["ids"], serde_json::json!(["7"]), "{detail}");
    assert_eq!(detail["scope"], "page");
    assert_eq!(detail["rows"], 1);
}

#[tokio::test]
async fn filter_on_a_plain_column_and_bad_values_are_explained() {
    let (_dir, mut app) = customers("viewer").await;
    press(&mut app, &[ch('/')]).await;
    type_text(&mut app, "tier=gold");
    press(&mut app, &[key(KeyCode::Enter)]).await;
    assert_eq!(ids(&app).len(), CUSTOMERS / 3);
    assert!(ids(&app).iter().all(|id| id % 3 == 0));
    press(&mut app, &[key(KeyCode::Esc), ch('/')]).await;
    type_text(&mut app, "id=seven");
    press(&mut app, &[key(KeyCode::Enter)]).await;
    assert!(screen(&app).contains("id is Integer"), "{}", screen(&app));
    press(&mut app, &[key(KeyCode::Esc), ch('/')]).await;
    type_text(&mut app, "email=x");
    press(&mut app, &[key(KeyCode::Enter)]).await;
    assert!(
        screen(&app).contains("role viewer may not search Customer.email"),
        "{}",
        screen(&app)
    );
}

#[tokio::test]
async fn the_palette_completes_and_switches_screen_theme_and_role() {
    let (_dir, mut app) = customers("security_admin").await;
    press(&mut app, &[ch(':')]).await;
    type_text(&mut app, "theme li");
    press(&mut app, &[key(KeyCode::Tab), key(KeyCode::Enter)]).await;
    assert_eq!(app.state.theme.name, "light");
    press(&mut app, &[ch(':')]).await;
    type_text(&mut app, "role viewer");
    press(&mut app, &[key(KeyCode::Enter)]).await;
    assert_eq!(app.state.status.role, "viewer");
    assert!(
        screen(&app).contains("◼ ••••••"),
        "viewer sees redactions after the switch"
    );
    press(&mut app, &[ch(':')]).await;
    type_text(&mut app, "keys");
    press(&mut app, &[key(KeyCode::Enter)]).await;
    assert_eq!(app.state.screen, ScreenId::Keys);
    press(&mut app, &[ch(':')]).await;
    type_text(&mut app, "nonsense");
    press(&mut app, &[key(KeyCode::Enter)]).await;
    assert!(screen(&app).contains("unknown command"), "{}", screen(&app));
}

/// A palette command's outcome replaces the previous one's: a typo's error must not stay on
/// screen (hiding the notice) after the next command succeeds.
#[tokio::test]
async fn a_palette_error_does_not_outlive_the_next_command() {
    let (_dir, mut app) = customers("viewer").await;
    press(&mut app, &[ch(':')]).await;
    type_text(&mut app, "nonsense");
    press(&mut app, &[key(KeyCode::Enter)]).await;
    assert!(screen(&app).contains("unknown command"), "{}", screen(&app));
    press(&mut app, &[ch(':')]).await;
    type_text(&mut app, "theme light");
    press(&mut app, &[key(KeyCode::Enter)]).await;
    let shown = screen(&app);
    assert!(!shown.contains("unknown command"), "stale error:\n{shown}");
    assert!(shown.contains(" theme light"), "the notice shows:\n{shown}");
    press(&mut app, &[ch(':')]).await;
    type_text(&mut app, "role nobody");
    press(&mut app, &[key(KeyCode::Enter)]).await;
    assert!(screen(&app).contains("unknown role"), "{}", screen(&app));
    press(&mut app, &[ch(':')]).await;
    type_text(&mut app, "audit");
    press(&mut app, &[key(KeyCode::Enter)]).await;
    let shown = screen(&app);
    assert_eq!(app.state.screen, ScreenId::Audit);
    assert!(!shown.contains("unknown role"), "stale error:\n{shown}");
}

/// `j` in the help stops when its last line is at the bottom: it used to scroll on into an
/// empty box, and `k` then had to climb back as many times. `pgdn`/`pgup` move by a page.
#[tokio::test]
async fn help_scrolls_to_its_last_line_and_no_further() {
    let dir = tempfile::tempdir().unwrap();
    let config = seeded_db(dir.path()).await;
    let mut app = started(config, "viewer", 80, 24).await;
    press(&mut app, &[ch('?')]).await;
    assert!(
        !screen(&app).contains(":quit"),
        "the help is longer than 80x24"
    );
    // The help's rows (inside its box), from the line under its title.
    let rows = |text: &str| -> Vec<String> {
        let lines: Vec<&str> = text.lines().collect();
        let top = lines.iter().position(|l| l.contains("Help ·")).unwrap();
        lines[top + 1..top + 17]
            .iter()
            .map(|l| l.to_string())
            .collect()
    };
    let first = rows(&screen(&app));
    press(&mut app, &vec![ch('j'); 100]).await;
    let bottom = screen(&app);
    assert!(bottom.contains(":quit"), "the last line shows:\n{bottom}");
    press(&mut app, &[ch('k')]).await;
    let up = screen(&app);
    assert_eq!(
        rows(&up)[1..],
        rows(&bottom)[..15],
        "one k moves one line up from the bottom:\n{up}"
    );
    press(
        &mut app,
        &[
            key(KeyCode::PageUp),
            key(KeyCode::PageUp),
            key(KeyCode::PageUp),
        ],
    )
    .await;
    assert_eq!(rows(&screen(&app)), first, "pgup pages back to the top");
    press(&mut app, &[key(KeyCode::PageDown)]).await;
    let paged = rows(&screen(&app));
    assert!(
        first
            .iter()
            .all(|row| !paged[1..].contains(row) || row.trim_matches(['│', ' ']).is_empty()),
        "pgdn shows the next page:\n{}",
        screen(&app)
    );
    // At a size where everything fits, j does not move it at all.
    app.handle_event(Event::Resize(160, 64));
    press(&mut app, &[key(KeyCode::Esc), ch('?'), ch('j'), ch('j')]).await;
    let fits = screen(&app);
    assert!(
        fits.contains("quit the console") && fits.contains(":quit"),
        "{fits}"
    );
}

#[tokio::test]
async fn the_mouse_selects_tabs_and_rows_and_scrolls() {
    let (_dir, mut app) = customers("viewer").await;
    let click = |column, row| {
        Event::Mouse(MouseEvent {
            kind: MouseEventKind::Down(MouseButton::Left),
            column,
            row,
            modifiers: KeyModifiers::NONE,
        })
    };
    press(&mut app, &[click(6, 7)]).await;
    assert_eq!(app.state.data.table.as_ref().unwrap().row, 4);
    let scroll = Event::Mouse(MouseEvent {
        kind: MouseEventKind::ScrollDown,
        column: 5,
        row: 5,
        modifiers: KeyModifiers::NONE,
    });
    press(&mut app, &[scroll]).await;
    assert_eq!(app.state.data.table.as_ref().unwrap().row, 5);
    let audit_tab = screen(&app)
        .lines()
        .next()
        .unwrap()
        .find("3 Audit")
        .unwrap() as u16;
    press(&mut app, &[click(audit_tab + 1, 0)]).await;
    assert_eq!(app.state.screen, ScreenId::Audit);
}

#[tokio::test]
async fn remapped_keys_work_and_help_is_built_from_them() {
    let dir = tempfile::tempdir().unwrap();
    let config = seeded_db(dir.path()).await;
    let mut setup = setup(config, "viewer", clock());
    setup.keymap = Keymap::parse(
        "down: n\nhelp: [\"?\", f1]\nrefresh: k\n",
        std::path::Path::new("km.yaml"),
    );
    setup.warnings = setup.keymap.warnings.clone();
    let mut app = App::new(setup).unwrap();
    app.handle_event(Event::Resize(100, 40));
    app.start();
    app.settle().await;
    let start = screen(&app);
    assert!(
        start.contains("! keymap km.yaml: key k now means `refresh`, so `up` loses it"),
        "the conflict is reported at start:\n{start}"
    );
    press(&mut app, &[ch('2'), key(KeyCode::Enter)]).await;
    press(&mut app, &[ch('n')]).await;
    assert_eq!(app.state.data.table.as_ref().unwrap().row, 1);
    press(&mut app, &[ch('j')]).await;
    assert_eq!(
        app.state.data.table.as_ref().unwrap().row,
        1,
        "j no longer moves down"
    );
    press(&mut app, &[key(KeyCode::F(1))]).await;
    let help = screen(&app);
    assert!(help.lines().any(|l| l.contains(" n  move down")), "{help}");
    assert!(
        help.lines().any(|l| l.contains("?/f1  show this help")),
        "{help}"
    );
}

#[tokio::test]
async fn an_unreachable_database_is_reported_and_the_console_keeps_running() {
    let mut config =
        timber::store::StoreConfig::from_url("postgres://nobody@127.0.0.1:1/nowhere").unwrap();
    // The pool retries a refused connection until its acquire timeout: keep the test short.
    config.acquire_timeout = std::time::Duration::from_secs(1);
    let mut app = App::new(setup(config, "viewer", clock())).unwrap();
    app.handle_event(Event::Resize(100, 30));
    app.start();
    app.settle().await;
    assert!(!app.should_quit());
    let shown = screen(&app);
    assert!(shown.contains("not connected"), "{shown}");
    press(&mut app, &[ch('2'), key(KeyCode::Enter)]).await;
    assert!(screen(&app).contains("not connected"), "{}", screen(&app));
    // ctrl-r retries the connection (still unreachable: the same clear message).
    press(&mut app, &[ch('1'), key(KeyCode::Esc)]).await;
    assert_eq!(app.state.status.last_error, None, "esc cleared the error");
    press(
        &mut app,
        &[Event::Key(crossterm::event::KeyEvent::new(
            KeyCode::Char('r'),
            KeyModifiers::CONTROL,
        ))],
    )
    .await;
    let error = app.state.status.last_error.clone().unwrap_or_default();
    assert!(
        error.contains("cannot connect"),
        "the retry failed again: {error}"
    );
    press(&mut app, &[ch('q')]).await;
    assert!(app.should_quit());
}

#[tokio::test]
async fn unreadable_and_plaintext_cells_are_flagged_without_failing_the_page() {
    let dir = tempfile::tempdir().unwrap();
    let config = seeded_db(dir.path()).await;
    let db = dir.path().join("app.db");
    let status = std::process::Command::new("sqlite3")
        .arg(&db)
        .arg("UPDATE customers SET ssn = '123-45-6789' WHERE id = 2; UPDATE customers SET notes = 'gAAAAABbroken' WHERE id = 3; UPDATE customers SET balance = CAST(x'fffe41' AS TEXT) WHERE id = 4;")
        .status()
        .expect("sqlite3 runs");
    assert!(status.success());
    let mut app = started(config, "security_admin", 160, 48).await;
    let census = app.state.overview.census.ready().expect("census ran");
    let ssn = census.iter().find(|c| c.column == "ssn").unwrap();
    let notes = census.iter().find(|c| c.column == "notes").unwrap();
    assert_eq!((ssn.plaintext, ssn.rows), (1, CUSTOMERS as u64));
    assert_eq!(notes.malformed, 1);
    // Bytes that are not UTF-8 are malformed too, and cost only their own cell.
    let balance = census.iter().find(|c| c.column == "balance").unwrap();
    assert_eq!((balance.malformed, balance.rows), (1, CUSTOMERS as u64));
    // The coverage tile lists the counts that are not zero.
    let overview = screen(&app);
    assert!(
        overview.contains("plain 1 ") && overview.contains("bad 1 "),
        "{overview}"
    );
    press(&mut app, &[ch('2'), key(KeyCode::Enter)]).await;
    let shown = screen(&app);
    assert!(shown.contains("⚠ not_a_token"), "{shown}");
    assert!(shown.contains("⚠ not_text"), "{shown}");
    assert!(
        !shown.contains("123-45-6789"),
        "plaintext in an encrypted column is not shown"
    );
    assert_eq!(ids(&app).len(), app.state.page_size());
}

#[tokio::test]
async fn a_read_only_session_shows_its_badge_and_still_allows_audited_reveals() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = seeded_db(dir.path()).await;
    config.read_only = true;
    let mut app = App::new(setup(config, "security_admin", clock())).unwrap();
    app.handle_event(Event::Resize(100, 30));
    app.start();
    app.settle().await;
    assert!(screen(&app).contains(" READ-ONLY "), "{}", screen(&app));
    press(&mut app, &[ch('2'), key(KeyCode::Enter)]).await;
    press(&mut app, &[ch('l'), ch('l'), ch('l'), ch('r')]).await;
    type_text(&mut app, "read-only check");
    press(&mut app, &[key(KeyCode::Enter)]).await;
    let shown = screen(&app);
    assert!(
        shown.contains("◉ zqxmail1@example.com"),
        "the audit connection is separate:\n{shown}"
    );
}

/// The audit entries written since the seed, newest first (the seed's genesis entry, which
/// `timber init` writes, left out).
async fn entries_since_seed(store: &Store) -> Vec<timber::audit::AuditEntry> {
    timber::audit::query::list(store, &timber::audit::AuditFilter::default(), None, 10)
        .await
        .expect("audit log lists")
        .into_iter()
        .filter(|e| e.content.action != timber::audit::genesis::GENESIS_ACTION)
        .collect()
}
