//! The Health screen on a real SQLite database whose values are under an old key: findings
//! grouped by family with evidence, the severity filter, the JSON export to a file, and the
//! jump from a finding to the Data screen at the record its evidence names.

use crate::tui_support;

use crossterm::event::KeyCode;
use timber::tui::{App, Event};
use tui_support::*;

const NEW_PRIMARY: &str = "bXlfbmV3X3ByaW1hcnlfa2V5X2Zvcl90ZXN0c18wMDE=";

async fn console(dir: &std::path::Path) -> App {
    let config = seeded_db(dir).await;
    let env = [
        ("ENCRYPTION_KEY", NEW_PRIMARY),
        ("ENCRYPTION_KEY_OLD", PRIMARY),
    ];
    let mut app = App::new(setup_with(config, "security_admin", clock(), &env)).unwrap();
    app.handle_event(Event::Resize(160, 48));
    app.start();
    app.settle().await;
    app.state.health.export_dir = dir.to_path_buf();
    press(&mut app, &[ch('5')]).await;
    app
}

async fn select(app: &mut App, id: &str) {
    for _ in 0..100 {
        if app
            .state
            .health
            .selected_finding()
            .is_some_and(|f| f.id == id)
        {
            return;
        }
        press(app, &[ch('j')]).await;
    }
    panic!("no finding {id}:\n{}", screen(app));
}

#[tokio::test]
async fn findings_filter_by_severity_and_show_evidence() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = console(dir.path()).await;
    select(&mut app, "data.old_key").await;
    let text = screen(&app);
    assert!(text.contains("evidence: Customer."), "{text}");
    assert!(text.contains("DATA"), "{text}");

    press(&mut app, &[ch('v')]).await; // fail only
    let fails = screen(&app);
    assert!(fails.contains("· fail ·"), "{fails}");
    assert!(!fails.contains("✓ ok"), "{fails}");
    press(&mut app, &[ch('v'), ch('v')]).await; // ok only
    let oks = screen(&app);
    assert!(!oks.contains("✗ fail") && !oks.contains("! warn"), "{oks}");
    assert!(oks.contains("✓ ok"), "{oks}");
}

#[tokio::test]
async fn export_writes_the_json_report_to_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = console(dir.path()).await;
    press(&mut app, &[ch('e')]).await;
    let path = dir.path().join("timber-health-20261129T120000Z.json");
    let text = std::fs::read_to_string(&path).expect("the report file exists");
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let checks = json["checks"].as_array().unwrap();
    assert!(checks.iter().any(|c| c["id"] == "data.old_key"), "{text}");
    assert!(screen(&app).contains("health report written to"));
    assert!(!text.contains(NEW_PRIMARY) && !text.contains(PRIMARY));
}

#[tokio::test]
async fn enter_on_a_finding_opens_the_record_its_evidence_names() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = console(dir.path()).await;
    select(&mut app, "data.old_key").await;
    let finding = app.state.health.selected_finding().unwrap().clone();
    let record = finding
        .record_id
        .clone()
        .expect("the evidence names records");
    press(&mut app, &[key(KeyCode::Enter)]).await;
    let text = screen(&app);
    assert!(
        text.contains(&format!("id = {record} (from health)")),
        "{text}"
    );
    let table = app.state.data.table.as_ref().expect("a table is open");
    assert_eq!(table.model, finding.model.unwrap());
    assert_eq!(table.rows.len(), 1, "{text}");
}
