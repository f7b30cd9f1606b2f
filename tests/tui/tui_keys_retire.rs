//! Key retirement from the Keys screen on a real SQLite database: data written under one
//! key, the console started with a new primary and the first key as old. Retiring the old
//! key is refused with the census's evidence while values are under it; after a rotation
//! it is retired once its id is typed (a wrong id retires nothing), and `timber_keys` and
//! the audit log record it. The primary is never retirable. A read-only session shows the
//! write actions disabled with the reason and refuses them.

use crate::tui_support;

use crossterm::event::KeyCode;
use timber::audit::AuditFilter;
use timber::store::{Store, StoreConfig};
use timber::tui::screens::keys::{Msg as KeysMsg, RetireUpdate};
use timber::tui::{App, Event, TaskResult};
use tui_support::*;

/// The new primary key the console rotates to (a test key; it protects nothing).
const NEW_PRIMARY: &str = "bXlfbmV3X3ByaW1hcnlfa2V5X2Zvcl90ZXN0c18wMDE=";

async fn console(config: StoreConfig, read_only: bool, w: u16, h: u16) -> App {
    let mut config = config;
    config.read_only = read_only;
    let env = [
        ("ENCRYPTION_KEY", NEW_PRIMARY),
        ("ENCRYPTION_KEY_OLD", PRIMARY),
    ];
    let mut app = App::new(setup_with(config, "security_admin", clock(), &env)).unwrap();
    app.handle_event(Event::Resize(w, h));
    app.start();
    app.settle().await;
    press(&mut app, &[ch('4')]).await;
    app
}

/// The id of the ring's old key (`ENCRYPTION_KEY_OLD`).
fn old_key(app: &App) -> String {
    let row = app.state.keys.keys.iter().find(|k| k.role == "old");
    row.expect("the old key is listed").id.clone()
}

/// Focuses the key ring and moves to `id`.
async fn select_key(app: &mut App, id: &str) {
    if !app.state.keys.ring_focused() {
        press(app, &[ch('l')]).await;
    }
    let len = app.state.keys.keys.len();
    for _ in 0..len {
        app.handle_event(ch('k'));
    }
    for _ in 0..len {
        if app.state.keys.selected_key().is_some_and(|k| k.id == id) {
            return;
        }
        press(app, &[ch('j')]).await;
    }
    panic!("no key {id} in the ring:\n{}", screen(app));
}

/// Rotates every model through the wizard (as an operator would).
async fn rotate_all(app: &mut App) {
    press(app, &[ch('R'), key(KeyCode::Enter)]).await;
    press(app, &[key(KeyCode::Enter)]).await;
    type_text(app, "all");
    press(app, &[key(KeyCode::Enter)]).await;
    assert!(screen(app).contains("completed job"), "{}", screen(app));
}

async fn retired_in_registry(store: &Store) -> Vec<String> {
    let rows = store.key_registry().await.unwrap();
    rows.into_iter()
        .filter(|r| r.status == timber::store::KeyStatus::Retired)
        .map(|r| r.key_id)
        .collect()
}

#[tokio::test]
async fn retiring_is_refused_with_evidence_then_succeeds_after_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let config = seeded_db(dir.path()).await;
    let mut app = console(config, false, 120, 40).await;
    let old = old_key(&app);

    select_key(&mut app, &old).await;
    press(&mut app, &[ch('X')]).await;
    let refused = screen(&app);
    let all = CUSTOMERS * 4 + TICKETS;
    assert!(
        refused.contains(&format!(
            "refused: {all} stored value(s) still depend on {old}"
        )),
        "{refused}"
    );
    assert!(refused.contains("customers.email"), "{refused}");
    assert!(refused.contains("tickets.body"), "{refused}");
    assert!(
        refused.contains("Rotate them to the current key first"),
        "{refused}"
    );
    press(&mut app, &[key(KeyCode::Esc)]).await;
    let store = app.store().unwrap().clone();
    assert!(retired_in_registry(&store).await.is_empty());

    rotate_all(&mut app).await;
    select_key(&mut app, &old).await;
    press(&mut app, &[ch('X')]).await;
    let confirm = screen(&app);
    assert!(
        confirm.contains(&format!("no stored value depends on {old}")),
        "{confirm}"
    );
    assert!(
        confirm.contains(&format!("Type `{old}` to retire it")),
        "{confirm}"
    );

    // A wrong id retires nothing.
    type_text(&mut app, "primary");
    press(&mut app, &[key(KeyCode::Enter)]).await;
    let wrong = screen(&app);
    assert!(wrong.contains(&format!("type `{old}` exactly")), "{wrong}");
    assert!(retired_in_registry(&store).await.is_empty());

    for _ in 0.."primary".len() {
        app.handle_event(key(KeyCode::Backspace));
    }
    type_text(&mut app, &old);
    press(&mut app, &[key(KeyCode::Enter)]).await;
    let done = screen(&app);
    assert!(done.contains(&format!("retired {old}")), "{done}");
    let ring_line = done
        .lines()
        .find(|l| l.contains(&old) && l.contains("fp:"))
        .expect("the key is still listed");
    assert!(ring_line.contains("retired"), "{done}");

    // timber_keys and the audit log record it.
    assert_eq!(retired_in_registry(&store).await, vec![old.clone()]);
    let entries = timber::audit::query::list(&store, &AuditFilter::default(), None, 50)
        .await
        .unwrap();
    let entry = entries
        .iter()
        .find(|e| e.content.action == "key.retire")
        .expect("an audit entry for the retirement");
    assert_eq!(entry.content.record_id.as_deref(), Some(old.as_str()));
    assert_eq!(entry.content.actor, "ana");

    // Once retired, X says so and starts nothing.
    press(&mut app, &[ch('X')]).await;
    assert!(screen(&app).contains("already retired"), "{}", screen(&app));
}

/// The census runs in the background and shows where it is before its plan arrives.
#[tokio::test]
async fn the_census_shows_its_progress_before_the_plan() {
    let dir = tempfile::tempdir().unwrap();
    let config = seeded_db(dir.path()).await;
    let mut app = console(config, false, 120, 40).await;
    let old = old_key(&app);
    select_key(&mut app, &old).await;
    app.handle_event(ch('X'));
    let starting = screen(&app);
    assert!(
        starting.contains(&format!("Retire key {old}")),
        "{starting}"
    );
    assert!(starting.contains("· census"), "{starting}");
    loop {
        let result = app.next_result().await;
        let reading_tickets = matches!(
            &result,
            TaskResult::Keys(KeysMsg::Retire(RetireUpdate::Progress { model, rows, .. }))
                if model == "Ticket" && *rows > 0
        );
        let planned = matches!(
            &result,
            TaskResult::Keys(KeysMsg::Retire(RetireUpdate::Census { .. }))
        );
        app.apply(result);
        assert!(!planned, "the plan came before any progress was seen");
        if reading_tickets {
            break;
        }
    }
    let running = screen(&app);
    let customer_values = CUSTOMERS * 4;
    assert!(
        running.contains(&format!(
            "1/2 models · Ticket: {TICKETS} row(s) read · {customer_values} value(s) found"
        )),
        "{running}"
    );
    app.settle().await;
    assert!(screen(&app).contains("· refused"), "{}", screen(&app));
}

#[tokio::test]
async fn the_primary_key_can_never_be_retired() {
    let dir = tempfile::tempdir().unwrap();
    let config = seeded_db(dir.path()).await;
    let mut app = console(config, false, 120, 40).await;
    select_key(&mut app, "primary").await;
    press(&mut app, &[ch('X')]).await;
    let text = screen(&app);
    assert!(
        text.contains("the primary and master keys can never be retired"),
        "{text}"
    );
    assert!(!text.contains("Retire key"), "no dialog:\n{text}");
    assert!(retired_in_registry(app.store().unwrap()).await.is_empty());
}

/// A registered key that is no longer configured may share its id with the configured one
/// (`old_1` of an earlier rotation): retiring it must not retire the configured key.
#[tokio::test]
async fn a_registered_key_not_configured_is_not_confused_with_its_namesake() {
    let dir = tempfile::tempdir().unwrap();
    let config = seeded_db(dir.path()).await;
    let store = Store::connect(config.clone()).await.unwrap();
    let at = chrono::NaiveDate::from_ymd_opt(2026, 1, 1)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap();
    let earlier = timber::store::KeyRow {
        key_id: "old_1".into(),
        fingerprint: "fp:0123456789ab".into(),
        wrapped_key: None,
        status: timber::store::KeyStatus::DecryptOnly,
        created_at: at,
        activated_at: Some(at),
        retired_at: None,
    };
    store.key_registry_put(&earlier).await.unwrap();
    store.close().await;

    let mut app = console(config, false, 120, 40).await;
    press(&mut app, &[ch('l')]).await;
    let len = app.state.keys.keys.len();
    for _ in 0..len {
        if app
            .state
            .keys
            .selected_key()
            .is_some_and(|k| k.fingerprint == earlier.fingerprint)
        {
            break;
        }
        press(&mut app, &[ch('j')]).await;
    }
    press(&mut app, &[ch('X')]).await;
    let text = screen(&app);
    assert!(
        text.contains("cannot retire old_1 (fp:0123456789ab)"),
        "{text}"
    );
    assert!(!text.contains("Retire key"), "no dialog:\n{text}");
    assert!(retired_in_registry(app.store().unwrap()).await.is_empty());
}

#[tokio::test]
async fn a_read_only_console_shows_write_actions_disabled_and_refuses_them() {
    for (w, h) in [(80, 24), (160, 48)] {
        let dir = tempfile::tempdir().unwrap();
        let config = seeded_db(dir.path()).await;
        let mut app = console(config, true, w, h).await;
        let keys = screen(&app);
        assert!(
            keys.contains("read-only session: X retire disabled"),
            "{keys}"
        );
        assert!(
            keys.contains("read-only session: R, X, p, x disabled"),
            "{keys}"
        );
        insta::assert_snapshot!(format!("keys_read_only_{w}x{h}"), keys);

        let old = old_key(&app);
        select_key(&mut app, &old).await;
        press(&mut app, &[ch('X')]).await;
        let text = screen(&app);
        assert!(!text.contains("Retire key"), "no dialog:\n{text}");
        assert!(text.contains("read-only session: retiring a key"), "{text}");
        for write in ['R', 'p', 'x'] {
            press(&mut app, &[key(KeyCode::Esc), ch(write)]).await;
            let text = screen(&app);
            assert!(text.contains("read-only session"), "{write}:\n{text}");
        }
        let store = app.store().unwrap();
        assert!(retired_in_registry(store).await.is_empty());
        assert!(store.rotation_jobs(10).await.unwrap().is_empty());

        // Help lists them as disabled, with the reason.
        press(&mut app, &[key(KeyCode::Esc), ch('?')]).await;
        for _ in 0..20 {
            app.handle_event(ch('j'));
        }
        let help = screen(&app);
        assert!(help.contains("(disabled: read-only session"), "{help}");
    }
}

/// The refusal and the confirmation at both sizes (fixed clock; counts are the seed's). The
/// confirmation is of a console whose old key never encrypted anything (no rotation runs,
/// so no live rate is on screen).
#[tokio::test]
async fn retire_dialog_snapshots() {
    for (w, h) in [(80, 24), (160, 48)] {
        let dir = tempfile::tempdir().unwrap();
        let config = seeded_db(dir.path()).await;
        let mut app = console(config.clone(), false, w, h).await;
        let old = old_key(&app);
        select_key(&mut app, &old).await;
        press(&mut app, &[ch('X')]).await;
        insta::assert_snapshot!(format!("retire_refused_{w}x{h}"), screen(&app));

        let env = [
            ("ENCRYPTION_KEY", PRIMARY),
            ("ENCRYPTION_KEY_OLD", NEW_PRIMARY),
        ];
        let mut app = App::new(setup_with(config, "security_admin", clock(), &env)).unwrap();
        app.handle_event(Event::Resize(w, h));
        app.start();
        press(&mut app, &[ch('4')]).await;
        let old = old_key(&app);
        select_key(&mut app, &old).await;
        press(&mut app, &[ch('X')]).await;
        type_text(&mut app, "old");
        insta::assert_snapshot!(format!("retire_confirm_{w}x{h}"), screen(&app));
    }
}

/// The demo's `support` role (here the test policy's, granted `reveal` only) sees `R`, `X`,
/// `p`, `x` disabled with the reason in the titles, the hint line and help, and pressing
/// them changes nothing: no dialog, no job started, taken over or cancelled, no key retired.
#[tokio::test]
async fn a_role_without_the_grants_sees_write_actions_disabled_and_cannot_use_them() {
    for (w, h) in [(80, 24), (160, 48)] {
        let dir = tempfile::tempdir().unwrap();
        let config = seeded_db(dir.path()).await;
        // A job whose console was killed, for `p` (take over) and `x` (cancel) to act on.
        let store = Store::connect(config.clone()).await.unwrap();
        let worker = timber::rotation::worker_id();
        let (host, _) = worker.rsplit_once(':').unwrap();
        let stale = store
            .rotation_create_job(
                "customers",
                r#"["email"]"#,
                "primary",
                CUSTOMERS as i64,
                &format!("{host}:99999999"),
                "{}",
            )
            .await
            .unwrap();
        let job_before = store.rotation_job(stale).await.unwrap();
        store.close().await;
        let env = [
            ("ENCRYPTION_KEY", NEW_PRIMARY),
            ("ENCRYPTION_KEY_OLD", PRIMARY),
        ];
        let mut app = App::new(setup_with(config, "support", clock(), &env)).unwrap();
        app.handle_event(Event::Resize(w, h));
        app.start();
        app.settle().await;
        press(&mut app, &[ch('4')]).await;
        let keys = screen(&app);
        assert!(
            keys.contains("X retire disabled: role support lacks retire"),
            "{keys}"
        );
        assert!(
            keys.contains("R, p, x disabled: role support lacks rotate, cancel_job"),
            "{keys}"
        );
        assert!(
            keys.contains("R, X, p, x not granted to role support"),
            "{keys}"
        );
        insta::assert_snapshot!(format!("keys_not_granted_{w}x{h}"), keys);

        let old = old_key(&app);
        select_key(&mut app, &old).await;
        for (press_key, action) in [
            ('X', "\"retire\""),
            ('R', "\"rotate\""),
            ('p', "\"rotate\""),
            ('x', "\"cancel_job\""),
        ] {
            press(&mut app, &[key(KeyCode::Esc), ch(press_key)]).await;
            let text = screen(&app);
            assert!(
                matches!(app.state.popup, timber::tui::state::Popup::None),
                "{press_key}: no dialog:\n{text}"
            );
            assert!(
                text.contains("role support may not") && text.contains(action),
                "{press_key}:\n{text}"
            );
        }
        let store = app.store().unwrap();
        assert!(retired_in_registry(store).await.is_empty());
        let jobs = store.rotation_jobs(10).await.unwrap();
        assert_eq!(jobs.len(), 1, "no job started: {jobs:?}");
        assert_eq!(
            store.rotation_job(stale).await.unwrap(),
            job_before,
            "the stale job is neither taken over nor cancelled"
        );

        // Help lists them as disabled, with the missing grant (its search finds them).
        press(&mut app, &[key(KeyCode::Esc), ch('?'), ch('/')]).await;
        type_text(&mut app, "RETIRE");
        press(&mut app, &[key(KeyCode::Enter)]).await;
        let help = screen(&app);
        assert!(help.contains("X ✗ retire the selected key"), "{help}");
        assert!(
            help.contains("✗ not granted to role support by the policy's actions"),
            "{help}"
        );
    }
}
