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
        ages: vec![],
        plaintext,
        unknown_key: 0,
        malformed: 0,
        sampled: false,
    };
    assert_eq!(encrypted_percent(&column(1997, 3)), 99);
    assert_eq!(encrypted_percent(&column(2000, 0)), 100);
    assert_eq!(encrypted_percent(&column(0, 7)), 0);
}

/// An old key for the ages view (fixed, so the key ring's fingerprint is the same on every
/// run; it protects nothing).
const OLD_KEY: &str = "CzBVep_E6Q4zWH2ix-wRNluApcrvFDleg6jN8hc8YYY=";

/// Rewrites every token of the seeded database at a known time: customers 1-15 under the
/// old key, every 21 days from 2024-03-01 (so 2024-03-01 … 2024-12-20, median 2024-07-26),
/// the other customers under the primary, daily from 2026-01-17, tickets daily from
/// 2026-02-02. Compare-and-set through the store, as any writer would leave them.
async fn restamp(config: &timber::store::StoreConfig) {
    use timber::crypto::{FernetKey, Key, KeyId};
    let store = timber::store::Store::connect(config.clone()).await.unwrap();
    let ring = ring();
    let primary = ring.key(&KeyId::Primary).unwrap();
    let old = FernetKey::new(&Key::from_base64_named(OLD_KEY, "old").unwrap());
    let day = |y: i32, m: u32, d: u32, plus: i64| {
        (chrono::NaiveDate::from_ymd_opt(y, m, d)
            .unwrap()
            .and_hms_opt(8, 0, 0)
            .unwrap()
            .and_utc()
            + chrono::Duration::days(plus))
        .timestamp() as u64
    };
    let models = models();
    for model in &models.models {
        for column in model.encrypted_columns() {
            let rows = store
                .raw_page(model, &[column.name.as_str()], None, 1000)
                .await
                .unwrap();
            let updates: Vec<timber::store::CasUpdate> = rows
                .iter()
                .filter_map(|row| {
                    let stored = row.values[0].clone()?;
                    let (plain, _) = ring.decrypt_token(&stored, None).ok()?;
                    let timber::value::Value::Int(n) = row.id else {
                        return None;
                    };
                    let iv = [n as u8; 16];
                    let new = match (model.name.as_str(), n) {
                        ("Customer", 1..=15) => {
                            old.encrypt_at(&plain, day(2024, 3, 1, (n - 1) * 21), iv)
                        }
                        ("Customer", _) => primary.encrypt_at(&plain, day(2026, 1, 1, n), iv),
                        _ => primary.encrypt_at(&plain, day(2026, 2, 1, n), iv),
                    };
                    Some(timber::store::CasUpdate {
                        id: row.id.clone(),
                        column: column.name.clone(),
                        expected: stored,
                        new,
                    })
                })
                .collect();
            store.compare_and_set(model, &updates).await.unwrap();
        }
    }
    store.close().await;
}

#[tokio::test]
async fn the_census_view_shows_when_the_data_under_each_key_was_written() {
    let dir = tempfile::tempdir().unwrap();
    let config = seeded_db(dir.path()).await;
    restamp(&config).await;
    let setup = setup_with(
        config,
        "security_admin",
        clock(),
        &[("ENCRYPTION_KEY_OLD", OLD_KEY)],
    );
    let mut app = App::new(setup).unwrap();
    app.handle_event(timber::tui::Event::Resize(120, 40));
    app.start();
    app.settle().await;
    press(&mut app, &[ch('4'), ch('c')]).await;
    let shown = screen(&app);
    assert!(shown.contains("data age by key"), "{shown}");
    let row = |field: &str, key: &str| -> String {
        let ages = shown.split("data age by key").nth(1).unwrap();
        ages.lines()
            .find(|l| l.contains(field) && l.contains(key))
            .unwrap_or_else(|| panic!("{field} {key}: {shown}"))
            .to_string()
    };
    let old = row("Customer.email", "old_1");
    assert!(
        old.contains(" 15 ") && old.contains("2024-03-01 2024-07-26 2024-12-20"),
        "{old}"
    );
    let current = row("Customer.email", "★primary");
    assert!(
        current.contains(" 45 ") && current.contains("2026-01-17 2026-02-08 2026-03-02"),
        "{current}"
    );
    let tickets = row("Ticket.body", "★primary");
    assert!(
        tickets.contains("2026-02-02 2026-02-14 2026-02-26"),
        "{tickets}"
    );
    insta::assert_snapshot!("census_ages_120x40", shown);
}

/// Issue 17: on a large database the coverage tile stayed blank until the whole census was
/// done. The census now goes a model at a time: each model's columns are shown as soon as
/// its table is read, under a line saying which model is being read and how far, and the
/// finished census is the same as one taken at once.
#[tokio::test]
async fn the_coverage_tile_fills_a_model_at_a_time_while_the_census_runs() {
    use std::sync::{Arc, Mutex};
    use timber::tui::context::Progress;
    use timber::tui::screens::overview::{self, Msg};

    let dir = tempfile::tempdir().unwrap();
    let config = seeded_db(dir.path()).await;
    let setup = setup(config.clone(), "security_admin", clock());
    let store = timber::store::Store::connect(config.clone()).await.unwrap();
    let sent: Arc<Mutex<Vec<Msg>>> = Arc::default();
    let progress = {
        let sent = sent.clone();
        Progress::new(move |m| sent.lock().unwrap().push(m))
    };
    let done = overview::census(
        store.clone(),
        setup.settings.clone(),
        setup.models.clone(),
        progress,
    )
    .await;
    let Msg::Census(Ok(all)) = done else {
        panic!("the census finishes: {done:?}")
    };
    let sent = std::mem::take(&mut *sent.lock().unwrap());
    let filled: Vec<Vec<timber::health::CensusColumn>> = sent
        .iter()
        .filter_map(|m| match m {
            Msg::Filled(columns) => Some(columns.clone()),
            _ => None,
        })
        .collect();
    let models = setup
        .models
        .models
        .iter()
        .filter(|m| m.encrypted_columns().next().is_some());
    assert_eq!(filled.len(), models.count(), "one part per encrypted model");
    assert!(
        sent.iter()
            .any(|m| matches!(m, Msg::Reading { rows_done, .. } if *rows_done > 0)),
        "rows read are reported while a table is read"
    );
    let joined: Vec<_> = filled.iter().flat_map(|c| c.iter().cloned()).collect();
    assert_eq!(joined, all, "the parts make the whole census");

    // The tile part-way: the first model's columns, and where the census is.
    let mut app = started(config, "security_admin", 120, 40).await;
    app.state.overview.census = timber::tui::context::Loadable::Loading;
    app.state.overview.filling = Some(overview::CensusFill {
        models_total: filled.len(),
        ..Default::default()
    });
    let mut messages = sent.into_iter();
    for m in messages.by_ref() {
        let first_done = matches!(m, Msg::Filled(_));
        app.state.overview.update(m);
        if first_done {
            break;
        }
    }
    app.state.overview.update(Msg::Reading {
        model: "Secret".into(),
        rows_done: 12,
        rows_expected: 40,
    });
    let shown = screen(&app);
    let first = &filled[0][0];
    assert!(
        shown.contains(&format!("{}.{}", first.model, first.column)),
        "the first model's columns are shown: {shown}"
    );
    assert!(
        shown.contains(&format!(
            "census: Secret 12/40 rows · 1 of {} models read",
            filled.len()
        )),
        "{shown}"
    );
    assert!(!shown.contains("loading census"), "{shown}");
    store.close().await;
}
