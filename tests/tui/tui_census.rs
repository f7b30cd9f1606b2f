//! Issue 16 item 1, "which key encrypts what, on screen": `:census` (or `c` on the Keys
//! screen) shows, per encrypted column, the values under each configured key by id (the
//! primary marked ★), plaintext, unknown and malformed, and the share encrypted, which
//! counts plaintext as not encrypted; the Overview's coverage tile names the keys instead
//! of `2 keys`; and with a wrong ENCRYPTION_KEY both say at the top that the primary
//! decrypts none of the stored tokens.

use crate::tui_support;

use timber::tui::App;
use timber::tui::screens::ScreenId;
use tui_support::*;

/// A key no seeded value was written under.
const WRONG_KEY: &str = "JF7Xv0cG9yq0Gm0uZQ5m6dYl2cA4t0mH4v8pXWJp2nY=";

#[tokio::test]
async fn the_census_view_names_keys_per_column_and_a_primary_that_matches_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let config = seeded_db(dir.path()).await;
    // One value stored as plaintext: the column is not 100% encrypted.
    let store = timber::store::Store::connect(config.clone()).await.unwrap();
    sqlx_update(
        &config,
        "UPDATE customers SET notes = 'left in the clear' WHERE id = 3",
    )
    .await;
    store.close().await;

    let mut app = started(config.clone(), "security_admin", 120, 40).await;
    let overview = screen(&app);
    assert!(
        overview.contains("Customer.notes") && overview.contains("plain 1"),
        "{overview}"
    );
    assert!(!overview.contains("2 keys"), "keys are named: {overview}");
    assert!(overview.contains("primary"), "{overview}");

    press(&mut app, &[ch(':')]).await;
    type_text(&mut app, "census");
    press(&mut app, &[key(crossterm::event::KeyCode::Enter)]).await;
    assert_eq!(app.state.screen, ScreenId::Keys);
    let shown = screen(&app);
    assert!(shown.contains("Census: which key encrypts what"), "{shown}");
    assert!(shown.contains("★primary"), "{shown}");
    let notes = shown
        .lines()
        .find(|l| l.contains("Customer.notes"))
        .unwrap_or_else(|| panic!("{shown}"));
    // 59 of 60 notes are encrypted: 98%, never rounded up, and the plaintext counted.
    assert!(notes.contains("98%") && notes.contains(" 1 "), "{notes}");
    assert!(!shown.contains("decrypts none"), "{shown}");
    app.handle_event(timber::tui::Event::Resize(80, 24));
    insta::assert_snapshot!("census_80x24", screen(&app));
    // `c` goes back to the jobs.
    press(&mut app, &[ch('c')]).await;
    assert!(screen(&app).contains("Rotation jobs"), "{}", screen(&app));

    // The same database, opened with a wrong ENCRYPTION_KEY.
    let setup = setup_with(
        config,
        "security_admin",
        clock(),
        &[("ENCRYPTION_KEY", WRONG_KEY)],
    );
    let mut wrong = App::new(setup).unwrap();
    wrong.handle_event(timber::tui::Event::Resize(120, 40));
    wrong.start();
    wrong.settle().await;
    let overview = screen(&wrong);
    assert!(
        overview.contains("✗ the primary key primary"),
        "the Overview says it first: {overview}"
    );
    press(&mut wrong, &[ch('4'), ch('c')]).await;
    let shown = screen(&wrong);
    assert!(shown.contains("decrypts none of the"), "{shown}");
}

async fn sqlx_update(config: &timber::store::StoreConfig, sql: &str) {
    use sqlx::Connection;
    let mut conn = sqlx::SqliteConnection::connect(config.url.expose())
        .await
        .unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
        .execute(&mut conn)
        .await
        .unwrap();
}

#[test]
fn the_share_encrypted_is_never_rounded_up() {
    use timber::health::CensusColumn;
    use timber::tui::screens::keys::census_view::encrypted_percent;
    let column = |under_key: u64, plaintext: u64| CensusColumn {
        model: "M".into(),
        table: "m".into(),
        column: "c".into(),
        rows: under_key + plaintext + 5,
        null: 5,
        by_key: vec![("fp:000000000000".into(), under_key)],
        plaintext,
        unknown_key: 0,
        malformed: 0,
        sampled: false,
    };
    assert_eq!(encrypted_percent(&column(1997, 3)), 99);
    assert_eq!(encrypted_percent(&column(2000, 0)), 100);
    assert_eq!(encrypted_percent(&column(0, 7)), 0);
}
