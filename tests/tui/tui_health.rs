//! The Health screen on a real SQLite database whose values are under an old key: findings
//! worst first with KEY first within a severity, a place column, repeats of a check grouped
//! (`data.old_key ×5`, expanded with enter), the severity filter, the JSON export to a file,
//! and the jump from a finding to the Data screen at the record its evidence names.

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
    assert!(
        text.contains("evidence: 5 findings: Customer.email, Customer.ssn, Customer.notes, Customer.balance, Ticket.body"),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.contains("▸ data.old_key ×5") && l.contains("Customer.email +4")),
        "{text}"
    );

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
    // The group expands, then its first member opens.
    press(&mut app, &[key(KeyCode::Enter)]).await;
    assert_eq!(app.state.screen, timber::tui::context::ScreenId::Health);
    press(&mut app, &[ch('j')]).await;
    let finding = app.state.health.selected_finding().unwrap().clone();
    assert_eq!(finding.id, "data.old_key");
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

/// At 80x24 the failures come first, KEY failures first among them, so none is below the
/// fold; each row names its place; a group expands and collapses with enter.
#[tokio::test]
async fn key_failures_lead_at_80x24_and_repeats_expand() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = console(dir.path()).await;
    app.handle_event(Event::Resize(80, 24));
    press(&mut app, &[]).await;
    let text = screen(&app);
    let rows: Vec<&str> = text.lines().skip(3).take(12).collect();
    let sorted = app.state.health.sorted();
    let fails = sorted.iter().filter(|f| f.severity == "fail").count();
    assert!(fails > 0, "{text}");
    assert!(
        rows.iter().take(fails).all(|l| l.contains("✗ fail")),
        "the failures are the first rows:\n{text}"
    );
    let severities: Vec<&str> = sorted.iter().map(|f| f.severity.as_str()).collect();
    let mut worst_first = severities.clone();
    worst_first.sort_by_key(|s| ["fail", "warn", "ok"].iter().position(|x| x == s));
    assert_eq!(severities, worst_first);
    let key_fails = sorted
        .iter()
        .take_while(|f| f.severity == "fail" && f.family == "key")
        .count();
    assert_eq!(
        key_fails,
        sorted
            .iter()
            .filter(|f| f.severity == "fail" && f.family == "key")
            .count(),
        "KEY failures lead the failures"
    );
    assert!(rows[0].contains("✗ fail key."), "{text}");

    select(&mut app, "data.old_key").await;
    let before = app.state.health.rows().len();
    press(&mut app, &[key(KeyCode::Enter)]).await;
    let text = screen(&app);
    assert_eq!(app.state.health.rows().len(), before + 5);
    assert!(text.contains("▾ data.old_key ×5"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.contains("└ data.old_key") && l.contains("Ticket.body")),
        "{text}"
    );
    insta::assert_snapshot!("health_grouped_80x24", text);
    press(&mut app, &[key(KeyCode::Enter)]).await;
    assert_eq!(app.state.health.rows().len(), before, "collapsed again");
}
