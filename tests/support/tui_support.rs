//! Shared by the console tests: a real SQLite database (created with `timber init`'s DDL and
//! filled through the store's encrypting writes), the test models and policy, a console
//! set up on them with a fixed clock, and helpers to press keys and read the screen.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use timber::cli::Context;
use timber::config::{Flags, Settings};
use timber::config::{ModelSet, load_models};
use timber::crypto::KeyRing;
use timber::store::{Store, StoreConfig};
use timber::tui::{App, Clock, Event, Keymap, Setup, ThemeSet};
use timber::value::Value;

/// Test keys of the Python Timber fixture (they protect nothing else).
pub const PRIMARY: &str = "YzpZgClxLl3CBp3nBLueMYrq95oNaQFcXsF3P122yPw=";
pub const MASTER: &str = "fOND_spZ8wI-KrYha05MCmNPnCFRDjgkOwnancajTEQ=";
pub const CUSTOMERS: usize = 60;
pub const TICKETS: usize = 25;

/// Pieces of secret plaintext that must never be rendered for a role that may not reveal
/// them (each survives every mask's first characters, so a `partial` mask cannot show it).
/// Text planted in every secret field, and searched for in every output. None can occur in
/// the hex of a masked hash or a fingerprint (each has a letter past `f` or a `.`), and the
/// phrases and the number cannot occur in a Fernet token either (a space, a `.`): a bare
/// `4242` once turned up inside a masked hash (`#42420fb9`).
pub const CANARIES: &[&str] = &["xmail", "SSN-", "secret note", "ticket body", "4242.17"];

pub fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tui")
}

pub fn models() -> ModelSet {
    load_models(&[fixture_dir().join("models")]).expect("test models load")
}

pub fn ring() -> KeyRing {
    KeyRing::builder()
        .primary(PRIMARY, "ENCRYPTION_KEY")
        .and_then(|b| b.master(MASTER, "MASTER_ENCRYPTION_KEY"))
        .and_then(|b| b.build())
        .expect("test keys are valid")
}

/// The plaintext row `n` of `customers` (1-based).
pub fn customer(n: usize) -> Vec<(String, Value)> {
    let at = NaiveDate::from_ymd_opt(2026, 1, 1)
        .unwrap()
        .and_hms_opt(9, 0, 0)
        .unwrap()
        + chrono::Duration::hours(n as i64);
    vec![
        ("id".into(), Value::Int(n as i64)),
        ("user_id".into(), Value::Text(format!("u-{n:03}"))),
        ("name".into(), Value::Text(format!("Customer {n:03}"))),
        (
            "email".into(),
            Value::Text(format!("zqxmail{n}@example.com")),
        ),
        ("ssn".into(), Value::Text(format!("ZQ-SSN-{n:04}"))),
        (
            "notes".into(),
            Value::Text(format!("ZQ secret note {n}: prefers calls after 5pm")),
        ),
        (
            "tier".into(),
            Value::Text(["gold", "silver", "bronze"][n % 3].into()),
        ),
        (
            "balance".into(),
            Value::Numeric(format!("{}4242.17", n + 10)),
        ),
        ("created_at".into(), Value::DateTime(at)),
    ]
}

/// A SQLite database at `dir/app.db` with the system tables and the test rows.
pub async fn seeded_db(dir: &Path) -> StoreConfig {
    let url = format!("sqlite://{}", dir.join("app.db").display());
    let mut config = StoreConfig::from_url(&url).expect("sqlite url");
    config.create_if_missing = true;
    let store = Store::connect(config.clone()).await.expect("sqlite opens");
    seed(&store).await;
    store.close().await;
    config.create_if_missing = false;
    config
}

/// Creates the model and system tables (`timber init`) and writes the test rows through
/// the store's encrypting bulk insert.
pub async fn seed(store: &Store) {
    let models = models();
    store
        .init(&models.models)
        .await
        .expect("init creates the tables");
    let ring = ring();
    // As `timber init` does: the audit log begins with its genesis entry.
    let log = timber::audit::AuditLog::open(store, &ring)
        .await
        .expect("audit log opens");
    timber::audit::genesis::begin(store, &log, None, "seed")
        .await
        .expect("genesis");
    // At a fixed time, so screens that show it are the same on every run (snapshots are
    // taken on SQLite).
    if store.config().url.expose().starts_with("sqlite:") {
        fix_times(store).await;
    }
    let customers: Vec<_> = (1..=CUSTOMERS).map(customer).collect();
    let customer_model = models.find("Customer").unwrap();
    store
        .insert_many(customer_model, &ring, &customers, Some("seed"))
        .await
        .expect("customers");
    let tickets: Vec<Vec<(String, Value)>> = (1..=TICKETS).map(ticket).collect();
    store
        .insert_many(
            models.find("Ticket").unwrap(),
            &ring,
            &tickets,
            Some("seed"),
        )
        .await
        .expect("tickets");
}

/// The plaintext row `n` of `tickets` (1-based).
pub fn ticket(n: usize) -> Vec<(String, Value)> {
    vec![
        ("id".into(), Value::Int(n as i64)),
        ("customer_id".into(), Value::Int((n % CUSTOMERS + 1) as i64)),
        ("subject".into(), Value::Text(format!("Subject {n}"))),
        (
            "body".into(),
            Value::Text(format!("ZQ ticket body {n}, please call back")),
        ),
        (
            "priority".into(),
            Value::Text(["low", "high"][n % 2].into()),
        ),
    ]
}

/// 2026-11-29 12:00:00 UTC, for every test.
pub fn clock() -> Clock {
    Clock::fixed(2026, 11, 29, 12, 0, 0)
}

/// A console on `config` for `role` (user `ana`), built by the same code as `timber
/// console` from settings (an explicit environment, so the machine's own variables and
/// user theme or keymap files cannot change what the tests see), dark theme, fixed clock.
pub fn setup(config: StoreConfig, role: &str, clock: Clock) -> Setup {
    setup_with(config, role, clock, &[])
}

/// [`setup`] with some variables replaced or added (another primary key, an old key...).
pub fn setup_with(config: StoreConfig, role: &str, clock: Clock, extra: &[(&str, &str)]) -> Setup {
    let fixtures = fixture_dir();
    let vars = [
        ("DATABASE_URL", config.url.expose().to_string()),
        ("ENCRYPTION_KEY", PRIMARY.to_string()),
        ("MASTER_ENCRYPTION_KEY", MASTER.to_string()),
        (
            "TIMBER_MODELS",
            fixtures.join("models").display().to_string(),
        ),
        (
            "TIMBER_POLICY",
            fixtures.join("policy.yaml").display().to_string(),
        ),
        ("TIMBER_ROLE", role.to_string()),
        ("TIMBER_USER", "ana".to_string()),
        ("KEY_ROTATION_DATE", "2026-06-01".to_string()),
        ("OAK_ENV", "test".to_string()),
    ];
    let mut env: BTreeMap<String, String> =
        vars.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    for (k, v) in extra {
        env.insert(k.to_string(), v.to_string());
    }
    let settings =
        Settings::from_sources(&Flags::default(), &env, &fixtures).expect("settings load");
    let context = Context {
        flags: Flags::default(),
        settings,
    };
    let mut setup = timber::cli::console::setup(&context, clock).expect("console setup");
    // What the console was pointed at may differ in pool options only (SQLite file, ...).
    setup.store_config = config;
    let themes = ThemeSet::builtin();
    setup.theme = themes.get("dark").unwrap();
    setup.themes = themes;
    setup.keymap = Keymap::default();
    setup.warnings = Vec::new();
    setup
}

/// A started console that has finished its initial loads, sized `w`x`h`.
pub async fn started(config: StoreConfig, role: &str, w: u16, h: u16) -> App {
    let mut app = App::new(setup(config, role, clock())).expect("app builds");
    app.handle_event(Event::Resize(w, h));
    app.start();
    app.settle().await;
    app
}

pub fn key(code: KeyCode) -> Event {
    let modifiers = match code {
        KeyCode::Char(c) if c.is_ascii_uppercase() => KeyModifiers::SHIFT,
        _ => KeyModifiers::NONE,
    };
    Event::Key(KeyEvent::new(code, modifiers))
}

pub fn ch(c: char) -> Event {
    key(KeyCode::Char(c))
}

/// Presses each key, then waits for the work they started.
pub async fn press(app: &mut App, keys: &[Event]) {
    for k in keys {
        app.handle_event(k.clone());
    }
    app.settle().await;
}

/// Types text into whatever input is open.
pub fn type_text(app: &mut App, text: &str) {
    for c in text.chars() {
        app.handle_event(ch(c));
    }
}

/// Draws the console at its current size and returns the screen as lines.
pub fn screen(app: &App) -> String {
    let terminal = draw(app);
    buffer_text(terminal.backend())
}

pub fn draw(app: &App) -> Terminal<TestBackend> {
    let (w, h) = app.state.size;
    let mut terminal = Terminal::new(TestBackend::new(w, h)).expect("test terminal");
    terminal.draw(|frame| app.draw(frame)).expect("draws");
    terminal
}

pub fn buffer_text(backend: &TestBackend) -> String {
    let buffer = backend.buffer();
    let mut out = String::new();
    for y in 0..buffer.area.height {
        for x in 0..buffer.area.width {
            out.push_str(buffer[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}

/// Gives entry n the time 2026-11-29 10:0n:00, re-encrypts value details with a fixed IV
/// and time, and re-seals the chain and the head with the audit key.
pub async fn fix_times(store: &Store) {
    use sqlx::Connection;
    let ring = ring();
    let key = ring.audit_key().unwrap();
    // Recorded values are under the audit data key derived from the master.
    let values = ring.audit_data_key().unwrap();
    let mut all = timber::audit::query::list(store, &Default::default(), None, 100)
        .await
        .unwrap();
    all.reverse();
    let base = chrono::NaiveDate::from_ymd_opt(2026, 11, 29)
        .unwrap()
        .and_hms_opt(10, 0, 0)
        .unwrap();
    let mut conn = sqlx::SqliteConnection::connect(store.config().url.expose())
        .await
        .unwrap();
    let mut prev = timber::audit::GENESIS;
    let mut last = None;
    for (n, entry) in all.into_iter().enumerate() {
        let mut content = entry.content.clone();
        content.created_at = base + chrono::Duration::minutes(n as i64 + 1);
        if let Some(token) = content
            .detail
            .as_deref()
            .filter(|d| d.starts_with("gAAAAA"))
        {
            let plain = values.decrypt(token).unwrap();
            content.detail = Some(values.encrypt_at(&plain, 1_795_000_000, [7u8; 16]));
        }
        let sealed = timber::audit::seal(&key, &prev, entry.id, content);
        sqlx::query(
            "UPDATE timber_audit_log SET created_at = ?, detail = ?, prev_hash = ?, \
             entry_hash = ? WHERE id = ?",
        )
        .bind(sealed.content.created_at)
        .bind(sealed.content.detail.clone())
        .bind(&sealed.prev_hash)
        .bind(&sealed.entry_hash)
        .bind(entry.id)
        .execute(&mut conn)
        .await
        .unwrap();
        prev = timber::audit::from_hex(&sealed.entry_hash).unwrap();
        last = Some(entry.id);
    }
    let head = timber::audit::head_for(&key, last.unwrap(), &prev);
    sqlx::query("UPDATE timber_audit_head SET entry_id = ?, entry_hash = ?, mac = ?")
        .bind(head.last_id)
        .bind(&head.last_hash)
        .bind(&head.head_mac)
        .execute(&mut conn)
        .await
        .unwrap();
}
