//! The console's rotation adopts like `timber rotate --all` does (issue 18 item 3; one use
//! case for both): a `customers` job left `running` by a killed process is not refused when
//! the wizard rotates every model, it is resumed from its cursor, the message history says
//! `resuming job N of `customers` (worker … gone, …)`, and no second job is made for it.

use crate::tui_support;

use crossterm::event::KeyCode;
use timber::crypto::KeyRing;
use timber::store::{Store, StoreConfig};
use tui_support::*;

/// The new primary key the console rotates to (a test key; it protects nothing).
const NEW_PRIMARY: &str = "bXlfbmV3X3ByaW1hcnlfa2V5X2Zvcl90ZXN0c18wMDE=";

async fn rotating_console(config: StoreConfig) -> timber::tui::App {
    let env = [
        ("ENCRYPTION_KEY", NEW_PRIMARY),
        ("ENCRYPTION_KEY_OLD", PRIMARY),
    ];
    let setup = setup_with(config, "security_admin", clock(), &env);
    let mut app = timber::tui::App::new(setup).expect("app builds");
    app.handle_event(timber::tui::Event::Resize(120, 40));
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
async fn rotating_all_from_the_wizard_adopts_a_killed_processs_job() {
    let dir = tempfile::tempdir().unwrap();
    let config = seeded_db(dir.path()).await;
    let store = Store::connect(config.clone()).await.unwrap();
    let models = models();
    let customer = models.find("Customer").unwrap();
    let target = timber::rotation::target_label(&rotated_ring(), customer).unwrap();
    let host = timber::rotation::worker_id();
    let (host, _) = host.rsplit_once(':').unwrap();
    let dead_worker = format!("{host}:99999999");
    let id = store
        .rotation_create_job(
            "customers",
            r#"["email","ssn","notes","balance"]"#,
            &target,
            CUSTOMERS as i64,
            &dead_worker,
            "{}",
        )
        .await
        .unwrap();
    store.close().await;

    let mut app = rotating_console(config).await;
    press(&mut app, &[ch('4'), ch('R'), key(KeyCode::Enter)]).await;
    press(&mut app, &[key(KeyCode::Enter)]).await;
    type_text(&mut app, "all");
    press(&mut app, &[key(KeyCode::Enter)]).await;
    let text = screen(&app);
    assert!(
        text.contains(&format!("#{id} customers completed")),
        "{text}"
    );
    assert!(!text.contains("unfinished"), "{text}");
    press(&mut app, &[ch('M')]).await;
    let history = screen(&app);
    assert!(
        history.contains(&format!(
            "resuming job {id} of `customers` (worker {dead_worker} gone"
        )),
        "{history}"
    );
    let store = app.store().unwrap();
    let jobs = store.rotation_jobs(50).await.unwrap();
    let customers: Vec<_> = jobs
        .iter()
        .filter(|j| j.table_name == "customers")
        .collect();
    assert_eq!(
        customers.len(),
        1,
        "no second job for the adopted table: {jobs:?}"
    );
    assert!(
        jobs.iter()
            .all(|j| j.status == timber::rotation::JobStatus::Completed),
        "{jobs:?}"
    );
}
