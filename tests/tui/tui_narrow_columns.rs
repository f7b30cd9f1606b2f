//! Columns at 80 columns on the demo (long model names, keys from its `.env`): each cut
//! text is cut from its least informative end and ends or starts with `…`, and the
//! informative part stays: the key's variable, the field's column, the whole audit action,
//! the retire refusal's model.

use crate::tui_support;

use timber::audit::{Action, AuditLog};
use timber::store::Store;
use tui_support::*;

/// The demo written to `tmp`, and a console on it (its own `.env`, models and policy).
async fn demo_console(tmp: &std::path::Path) -> timber::tui::App {
    let dir = tmp.join("demo");
    let options = timber::demo::DemoOptions {
        dir: dir.clone(),
        rows: 60,
        seed: 42,
        force: false,
    };
    timber::demo::generate(&options)
        .await
        .expect("demo generates");
    let path = |name: &str| dir.join(name).display().to_string();
    let url = format!("sqlite://{}", path("timber.db"));
    // Audit entries of a rotation, whose actions are the longest the log writes.
    let store = Store::connect(timber::store::StoreConfig::from_url(&url).unwrap())
        .await
        .unwrap();
    let ring = timber::cli::Context {
        flags: Default::default(),
        settings: settings(&dir, &url, &path),
    }
    .keyring()
    .unwrap();
    let log = AuditLog::open(&store, &ring).await.unwrap();
    for action in [Action::RotationStart, Action::RotationEnd] {
        log.record("ana", action, Some("research_sessions"), None, &[], None)
            .await
            .unwrap();
    }
    store.close().await;
    let context = timber::cli::Context {
        flags: Default::default(),
        settings: settings(&dir, &url, &path),
    };
    let setup = timber::cli::console::setup(&context, clock()).expect("console setup");
    let mut app = timber::tui::App::new(setup).expect("app builds");
    app.handle_event(timber::tui::Event::Resize(80, 24));
    app.start();
    app.settle().await;
    app
}

fn settings(
    dir: &std::path::Path,
    url: &str,
    path: &dyn Fn(&str) -> String,
) -> timber::config::Settings {
    let env = std::collections::BTreeMap::from([
        ("DATABASE_URL".to_string(), url.to_string()),
        ("TIMBER_MODELS".to_string(), path("models")),
        ("TIMBER_POLICY".to_string(), path("policy.yaml")),
        // The demo policy grants key retirement (`X` below) to security_admin only.
        ("TIMBER_ROLE".to_string(), "security_admin".to_string()),
    ]);
    timber::config::Settings::from_sources(&Default::default(), &env, dir)
        .expect("demo settings load")
}

#[tokio::test]
async fn narrow_columns_cut_the_least_informative_end_at_80x24() {
    let tmp = tempfile::tempdir().unwrap();
    let mut app = demo_console(tmp.path()).await;

    let overview = screen(&app);
    let keys_tile = |l: &str| l.split('│').nth(1).unwrap_or("").to_string();
    assert!(
        overview.contains("ResearchSession.ai_insights "),
        "{overview}"
    );
    for line in overview.lines().filter(|l| l.contains("SecureRes")) {
        let field = keys_tile(line);
        assert!(
            field.contains("SecureResearchSession.") || field.contains("…."),
            "a field name cut without its column or …: {line}"
        );
    }

    press(&mut app, &[ch('4')]).await;
    let keys = screen(&app);
    // The variable first, the path cut from its start: the file name stays.
    assert!(keys.contains("ENCRYPTION_KEY (…demo/.env)"), "{keys}");
    assert!(keys.contains("ENCRYPTION_KEY_OLD (…/.env)"), "{keys}");

    // Retiring the old key is refused (values still under it): the models are named whole.
    press(&mut app, &[ch('h'), ch('j'), ch('X')]).await;
    let refused = screen(&app);
    assert!(refused.contains("SecureResearchSession "), "{refused}");
    assert!(
        refused.contains("secure_research_sessions.proprietary_sig…"),
        "{refused}"
    );
    press(&mut app, &[key(crossterm::event::KeyCode::Esc)]).await;

    press(&mut app, &[ch('3')]).await;
    let audit = screen(&app);
    assert!(audit.contains("rotation.start "), "{audit}");
    assert!(audit.contains("rotation.end "), "{audit}");
}
