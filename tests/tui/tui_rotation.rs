//! Rotation from the Keys screen on a real SQLite database: data written under one key, the
//! console started with a new primary and the first key as old. The wizard plans, refuses a
//! wrong confirmation word, runs every model to completion with live progress, and the
//! health check's old-key finding is gone after. A read-only session refuses, with a message,
//! and its database session refuses writes too.

use crate::tui_support;

use crossterm::event::KeyCode;
use timber::crypto::KeyRing;
use timber::rotation::key_usage;
use timber::store::{Store, StoreConfig};
use tui_support::*;

/// The new primary key the console rotates to (a test key; it protects nothing).
const NEW_PRIMARY: &str = "bXlfbmV3X3ByaW1hcnlfa2V5X2Zvcl90ZXN0c18wMDE=";

fn rotating_env() -> [(&'static str, &'static str); 2] {
    [
        ("ENCRYPTION_KEY", NEW_PRIMARY),
        ("ENCRYPTION_KEY_OLD", PRIMARY),
    ]
}

async fn rotating_console(
    config: StoreConfig,
    read_only: bool,
    w: u16,
    h: u16,
) -> timber::tui::App {
    let mut config = config;
    config.read_only = read_only;
    let setup = setup_with(config, "security_admin", clock(), &rotating_env());
    let mut app = timber::tui::App::new(setup).expect("app builds");
    app.handle_event(timber::tui::Event::Resize(w, h));
    app.start();
    app.settle().await;
    app
}

fn rotated_ring() -> KeyRing {
    KeyRing::builder()
        .primary(NEW_PRIMARY, "ENCRYPTION_KEY")
        .and_then(|b| b.old(PRIMARY, "ENCRYPTION_KEY_OLD"))
        .and_then(|b| b.master(MASTER, "MASTER_ENCRYPTION_KEY"))
        .and_then(|b| b.build())
        .expect("test keys are valid")
}

#[tokio::test]
async fn rotating_all_models_from_the_keys_screen_leaves_nothing_under_the_old_key() {
    let dir = tempfile::tempdir().unwrap();
    let config = seeded_db(dir.path()).await;
    let mut app = rotating_console(config.clone(), false, 120, 40).await;
    let before = {
        press(&mut app, &[ch('5')]).await;
        screen(&app)
    };
    assert!(before.contains("data.old_key"), "{before}");

    press(&mut app, &[ch('4'), ch('R')]).await;
    let scope = screen(&app);
    assert!(
        scope.contains("1/3 scope") && scope.contains("all models"),
        "{scope}"
    );
    press(&mut app, &[key(KeyCode::Enter)]).await;
    let plan = screen(&app);
    assert!(plan.contains("2/3 plan"), "{plan}");
    // Every customer and ticket row has a value under the old key.
    let rows = CUSTOMERS + TICKETS;
    assert!(plan.contains(&format!("{rows} row(s) to write")), "{plan}");

    press(&mut app, &[key(KeyCode::Enter)]).await;
    type_text(&mut app, "Customer");
    press(&mut app, &[key(KeyCode::Enter)]).await;
    let refused = screen(&app);
    assert!(refused.contains("type `all` exactly"), "{refused}");

    for _ in 0.."Customer".len() {
        app.handle_event(key(KeyCode::Backspace));
    }
    type_text(&mut app, "all");
    press(&mut app, &[key(KeyCode::Enter)]).await;
    let done = screen(&app);
    assert!(
        done.contains("completed job 1 (Customer, 60/60 rows)"),
        "{done}"
    );
    assert!(done.contains("completed"), "{done}");
    assert!(done.contains(&format!("{CUSTOMERS}/{CUSTOMERS}")), "{done}");

    // At the database: no value depends on the old key any more, every value reads back.
    let store = Store::connect(config).await.unwrap();
    let ring = rotated_ring();
    let models = models();
    let old = ring
        .entries()
        .into_iter()
        .find(|k| k.source.contains("OLD"))
        .unwrap();
    let usage = key_usage(&store, &ring, &models.models, &old.id)
        .await
        .unwrap();
    assert_eq!(usage.iter().map(|u| u.count).sum::<u64>(), 0, "{usage:?}");
    let customer_model = models.find("Customer").unwrap();
    let record = store
        .get(customer_model, &ring, &timber::value::Value::Int(7))
        .await
        .unwrap()
        .unwrap();
    assert!(format!("{record:?}").contains("zqxmail7@example.com"));
    store.close().await;

    press(&mut app, &[ch('5')]).await;
    let after = screen(&app);
    let old_key_line = after.lines().find(|l| l.contains("data.old_key"));
    assert!(
        old_key_line.is_none_or(|l| l.contains("✓")),
        "the old-key finding is gone after the rotation:\n{after}"
    );
}

#[tokio::test]
async fn a_read_only_console_refuses_rotation_and_its_session_is_read_only() {
    let dir = tempfile::tempdir().unwrap();
    let config = seeded_db(dir.path()).await;
    let mut app = rotating_console(config.clone(), true, 120, 40).await;
    press(&mut app, &[ch('4')]).await;
    let keys = screen(&app);
    assert!(
        keys.contains("read-only session: R, p, x disabled"),
        "{keys}"
    );
    press(&mut app, &[ch('R')]).await;
    let text = screen(&app);
    assert!(
        !text.contains("1/3 scope"),
        "no wizard in read-only mode:\n{text}"
    );
    assert!(text.contains("read-only session"), "{text}");

    // The console's own database session is read-only, as the database itself reports.
    let store = app.store().expect("connected");
    assert!(store.session_read_only().await.unwrap());
    // And nothing was written: no rotation job exists.
    assert!(store.rotation_jobs(10).await.unwrap().is_empty());
}

/// At 80x24 every read-only refusal on the Keys screen (R, p, x, X) still shows its remedy on
/// the message line (the longer texts were cut before `--write`).
#[tokio::test]
async fn read_only_refusals_keep_their_remedy_at_80x24() {
    let dir = tempfile::tempdir().unwrap();
    let config = seeded_db(dir.path()).await;
    let mut app = rotating_console(config, true, 80, 24).await;
    press(&mut app, &[ch('4')]).await;
    for k in ['R', 'p', 'x', 'X'] {
        press(&mut app, &[key(KeyCode::Esc), ch(k)]).await;
        let text = screen(&app);
        let line = text
            .lines()
            .find(|l| l.contains("✗ read-only session"))
            .unwrap_or_else(|| panic!("{k} is refused on the message line:\n{text}"));
        assert!(line.contains("--write"), "{k}: {line}");
    }
}

/// The wizard's three steps at both sizes (fixed clock; the plan's counts are the seed's).
#[tokio::test]
async fn wizard_steps_snapshots() {
    for (w, h) in [(80, 24), (160, 48)] {
        let dir = tempfile::tempdir().unwrap();
        let config = seeded_db(dir.path()).await;
        let mut app = rotating_console(config, false, w, h).await;
        press(&mut app, &[ch('4'), ch('R'), ch('j')]).await;
        insta::assert_snapshot!(format!("wizard_scope_{w}x{h}"), screen(&app));
        press(&mut app, &[key(KeyCode::Enter)]).await;
        insta::assert_snapshot!(format!("wizard_plan_{w}x{h}"), screen(&app));
        press(&mut app, &[key(KeyCode::Enter)]).await;
        type_text(&mut app, "Custom");
        insta::assert_snapshot!(format!("wizard_confirm_{w}x{h}"), screen(&app));
        // Esc leaves without writing anything.
        press(&mut app, &[key(KeyCode::Esc)]).await;
        let store = app.store().expect("connected");
        assert!(store.rotation_jobs(10).await.unwrap().is_empty());
    }
}

/// A job whose console was killed (its worker process is gone, its status still `running`)
/// is taken over and finished from the Keys screen with `p`.
#[tokio::test]
async fn a_job_of_a_killed_console_is_resumed_from_the_keys_screen() {
    let dir = tempfile::tempdir().unwrap();
    let config = seeded_db(dir.path()).await;
    let store = Store::connect(config.clone()).await.unwrap();
    let ring = rotated_ring();
    let models = models();
    let customer = models.find("Customer").unwrap();
    let target = timber::rotation::target_label(&ring, customer).unwrap();
    let host = timber::rotation::worker_id();
    let (host, _) = host.rsplit_once(':').unwrap();
    let dead_worker = format!("{host}:99999999");
    let columns = r#"["email","ssn","notes","balance"]"#;
    let id = store
        .rotation_create_job(
            "customers",
            columns,
            &target,
            CUSTOMERS as i64,
            &dead_worker,
            "{}",
        )
        .await
        .unwrap();
    store.close().await;

    let mut app = rotating_console(config, false, 120, 40).await;
    press(&mut app, &[ch('4')]).await;
    assert!(
        screen(&app).contains(&format!("#{id} customers interrupted")),
        "{}",
        screen(&app)
    );
    // Taking over another worker's job asks first.
    press(&mut app, &[ch('p')]).await;
    assert!(
        screen(&app).contains(&format!(
            "take over job {id} from its gone worker? enter confirms"
        )),
        "{}",
        screen(&app)
    );
    press(&mut app, &[key(KeyCode::Enter)]).await;
    let text = screen(&app);
    assert!(
        text.contains(&format!("#{id} customers completed")),
        "{text}"
    );
    assert!(text.contains(&format!("{CUSTOMERS}/{CUSTOMERS}")), "{text}");
    let store = app.store().unwrap();
    let old = ring
        .entries()
        .into_iter()
        .find(|k| k.source.contains("OLD"))
        .unwrap();
    let usage = key_usage(store, &ring, std::slice::from_ref(customer), &old.id)
        .await
        .unwrap();
    assert_eq!(usage.iter().map(|u| u.count).sum::<u64>(), 0, "{usage:?}");
}

/// A job on a long table name keeps its whole status readable, on the Keys screen at 80x24
/// and on the Overview at 160x48 (a fixed label width showed `complet`, `interrupt`).
#[tokio::test]
async fn a_long_table_name_does_not_cut_the_job_status() {
    let dir = tempfile::tempdir().unwrap();
    let config = seeded_db(dir.path()).await;
    let store = Store::connect(config.clone()).await.unwrap();
    let host = timber::rotation::worker_id();
    let (host, _) = host.rsplit_once(':').unwrap();
    let dead_worker = format!("{host}:99999999");
    let table = "secure_research_sessions";
    let id = store
        .rotation_create_job(table, r#"["email"]"#, "primary", 500, &dead_worker, "{}")
        .await
        .unwrap();
    store.close().await;

    let mut app = rotating_console(config, false, 80, 24).await;
    press(&mut app, &[ch('4')]).await;
    let keys = screen(&app);
    assert!(
        keys.contains(&format!("#{id} {table} interrupted")),
        "{keys}"
    );
    app.handle_event(timber::tui::Event::Resize(160, 48));
    press(&mut app, &[ch('1')]).await;
    let overview = screen(&app);
    assert!(
        overview.contains(&format!("#{id} {table} interrupted")),
        "{overview}"
    );
}

/// The wizard's plan on the demo names each model whole at 80x24 (a fixed 14-column model
/// column showed `ResearchSessio`).
#[tokio::test]
async fn the_plan_names_the_demo_model_whole_at_80x24() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    let options = timber::demo::DemoOptions {
        dir: dir.clone(),
        rows: 60,
        seed: 42,
        force: false,
    };
    timber::demo::generate(&options)
        .await
        .expect("demo generates");
    // The demo's own .env, as `timber` run in its directory reads it; only its paths are
    // made absolute (relative ones are opened from the process's directory).
    let path = |name: &str| dir.join(name).display().to_string();
    let env = std::collections::BTreeMap::from([
        (
            "DATABASE_URL".to_string(),
            format!("sqlite://{}", path("timber.db")),
        ),
        ("TIMBER_MODELS".to_string(), path("models")),
        ("TIMBER_POLICY".to_string(), path("policy.yaml")),
        // The demo policy grants rotation to security_admin (the demo opens as support).
        ("TIMBER_ROLE".to_string(), "security_admin".to_string()),
    ]);
    let flags = timber::config::Flags::default();
    let settings =
        timber::config::Settings::from_sources(&flags, &env, &dir).expect("demo settings load");
    let context = timber::cli::Context { flags, settings };
    let setup = timber::cli::console::setup(&context, clock()).expect("console setup");
    let mut app = timber::tui::App::new(setup).expect("app builds");
    app.handle_event(timber::tui::Event::Resize(80, 24));
    app.start();
    app.settle().await;
    // 4, R, the second scope (ResearchSession), enter plans.
    press(&mut app, &[ch('4'), ch('R'), ch('j'), key(KeyCode::Enter)]).await;
    let plan = screen(&app);
    assert!(plan.contains("2/3 plan"), "{plan}");
    assert!(
        plan.lines()
            .any(|l| l.contains("ResearchSession ") && l.contains("analysis_data")),
        "{plan}"
    );
}

/// With `ROTATION_MAX_ROWS_PER_SECOND` set, the wizard's plan says the jobs are limited and
/// its ETA is taken at that rate (200 rows at 2 rows/s, not at the unlimited guess).
#[tokio::test]
async fn the_plan_shows_the_rate_limit() {
    let dir = tempfile::tempdir().unwrap();
    let config = seeded_db(dir.path()).await;
    let mut env = rotating_env().to_vec();
    env.push(("ROTATION_MAX_ROWS_PER_SECOND", "2"));
    let setup = setup_with(config, "security_admin", clock(), &env);
    let mut app = timber::tui::App::new(setup).expect("app builds");
    app.handle_event(timber::tui::Event::Resize(80, 24));
    app.start();
    app.settle().await;
    press(&mut app, &[ch('4'), ch('R'), key(KeyCode::Enter)]).await;
    let plan = screen(&app);
    assert!(plan.contains("2/3 plan"), "{plan}");
    assert!(plan.contains("limited to 2 rows/s"), "{plan}");
    let summary = plan
        .lines()
        .find(|l| l.contains("row(s) to write"))
        .unwrap_or_else(|| panic!("{plan}"));
    let before = &summary[..summary.find(" row(s)").expect("rows to write")];
    let digits: String = before
        .chars()
        .rev()
        .take_while(char::is_ascii_digit)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let rows: u64 = digits.parse().expect("rows to write");
    assert!(
        summary.contains(&format!("ETA ~{} s", rows.div_ceil(2))),
        "{summary}"
    );
}

/// Issue 16 item 3: the plan scrolls (every model's every column can be read, even at the
/// smallest size), counts plaintext and encrypts it only when asked (`e`, planned again),
/// explains its columns, and an empty plan says so and starts no job.
#[tokio::test]
async fn the_plan_scrolls_offers_plaintext_and_an_empty_plan_starts_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let config = seeded_db(dir.path()).await;
    {
        use sqlx::Connection;
        let mut conn = sqlx::SqliteConnection::connect(config.url.expose())
            .await
            .unwrap();
        sqlx::raw_sql("UPDATE customers SET notes = 'in the clear' WHERE id IN (1, 2)")
            .execute(&mut conn)
            .await
            .unwrap();
    }
    // The smallest size the console draws: the plan's five rows cannot all show.
    let mut app = rotating_console(config.clone(), false, 60, 15).await;
    press(&mut app, &[ch('4'), ch('R'), key(KeyCode::Enter)]).await;
    let plan = screen(&app);
    assert!(
        plan.contains("2/3 plan") && plan.contains("rows 1-"),
        "{plan}"
    );
    let first_shown = |s: &str| {
        s.lines()
            .find(|l| l.contains("Customer"))
            .map(str::to_string)
    };
    let top = first_shown(&plan);
    press(&mut app, &[ch('j'), ch('j')]).await;
    let scrolled = screen(&app);
    assert_ne!(
        first_shown(&scrolled),
        top,
        "j scrolls the plan:\n{scrolled}"
    );
    assert!(scrolled.contains("rows 3-"), "{scrolled}");

    // At a usual size: plaintext counted and left; `e` plans encrypting it too.
    let mut app = rotating_console(config.clone(), false, 120, 40).await;
    press(&mut app, &[ch('4'), ch('R'), key(KeyCode::Enter)]).await;
    let plan = screen(&app);
    assert!(
        plan.contains("plain: plaintext, left"),
        "the legend: {plan}"
    );
    // The counts after the column's name: rotate, rehash, plain (or encrypt), current,
    // failing.
    let notes = |s: &str| {
        let line = s
            .lines()
            .find(|l| l.contains("Customer") && l.contains("notes"))
            .unwrap_or_else(|| panic!("{s}"));
        line[line.find("notes").unwrap() + 5..]
            .split_whitespace()
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    assert_eq!(notes(&plan)[2], "2", "{plan}");
    let rows_to_write = |s: &str| -> u64 {
        let line = s.lines().find(|l| l.contains("row(s) to write")).unwrap();
        let start = line.find(|c: char| c.is_ascii_digit()).unwrap();
        line[start..]
            .split_whitespace()
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    let before = rows_to_write(&plan);
    press(&mut app, &[ch('e')]).await;
    let encrypting = screen(&app);
    assert!(
        encrypting.contains("encrypt: plaintext to encrypt"),
        "{encrypting}"
    );
    assert_eq!(notes(&encrypting)[2], "2", "{encrypting}");
    assert!(rows_to_write(&encrypting) >= before, "{encrypting}");
    press(&mut app, &[key(KeyCode::Esc)]).await;

    // Everything already under its target key: the plan says so and enter starts nothing.
    let mut app = started(config.clone(), "security_admin", 120, 40).await;
    press(&mut app, &[ch('4'), ch('R'), key(KeyCode::Enter)]).await;
    let plan = screen(&app);
    assert!(plan.contains("nothing to rotate"), "{plan}");
    press(&mut app, &[key(KeyCode::Enter)]).await;
    assert!(screen(&app).contains("no job started"), "{}", screen(&app));
    let store = timber::store::Store::connect(config).await.unwrap();
    assert!(
        store.rotation_jobs(10).await.unwrap().is_empty(),
        "no job row"
    );
    store.close().await;
}

/// Issue 16 item 3: while "terminal too small" is all that shows, keys do nothing (a
/// cancel or a screen change nobody can see), except quitting.
#[tokio::test]
async fn keys_are_ignored_while_the_terminal_is_too_small() {
    let dir = tempfile::tempdir().unwrap();
    let config = seeded_db(dir.path()).await;
    let mut app = started(config, "security_admin", 80, 24).await;
    app.handle_event(timber::tui::Event::Resize(40, 10));
    assert!(
        screen(&app).contains("Terminal too small"),
        "{}",
        screen(&app)
    );
    press(&mut app, &[ch('4'), ch('R')]).await;
    app.handle_event(timber::tui::Event::Resize(80, 24));
    assert_eq!(app.state.screen, timber::tui::screens::ScreenId::Overview);
    assert!(!screen(&app).contains("Rotate keys"), "{}", screen(&app));
    app.handle_event(timber::tui::Event::Resize(40, 10));
    press(&mut app, &[ch('q')]).await;
    assert!(app.state.quit, "q still quits");
}
