//! `:report` (issue 19 item 5): the console writes the evidence report of `timber report`
//! for the session's current role (after `:role`, the new one) into its report directory,
//! says where on the message row, and the report is in the audit log as that role. The
//! file holds no canary value of the seeded data.

use crate::tui_support;

use crossterm::event::KeyCode;
use timber::tui::App;
use tui_support::*;

async fn palette(app: &mut App, command: &str) {
    press(app, &[ch(':')]).await;
    type_text(app, command);
    press(app, &[key(KeyCode::Enter)]).await;
    // The report is background work; its message arrives when it is done.
    app.settle().await;
}

#[tokio::test]
async fn colon_report_writes_the_report_for_the_current_role_and_says_where() {
    let dir = tempfile::tempdir().unwrap();
    let config = seeded_db(dir.path()).await;
    let mut app = started(config, "viewer", 120, 30).await;
    let out = dir.path().join("reports");
    std::fs::create_dir(&out).unwrap();
    app.state.report_dir = out.clone();

    palette(&mut app, "role auditor").await;
    palette(&mut app, "report").await;
    let path = out.join("timber-report-20261129T120000Z.html");
    let message = app.state.status.message.clone().unwrap_or_default();
    assert!(
        message.starts_with(&format!(
            "report written to {} (audit entry ",
            path.display()
        )),
        "{message}"
    );
    assert!(
        screen(&app).contains("report written to"),
        "{}",
        screen(&app)
    );
    let html = std::fs::read_to_string(&path).expect("the report file");
    assert!(
        html.contains("role <code>auditor</code>"),
        "the role of the session"
    );
    assert!(html.contains("user <code>ana</code>"));
    assert!(
        html.contains("Customer.email"),
        "coverage names the columns"
    );
    for canary in CANARIES {
        assert!(!html.contains(canary), "canary {canary} in the report");
    }
    assert!(
        !html.contains(PRIMARY) && !html.contains(MASTER),
        "a key in the report"
    );

    // In the audit log, as the user and the role that made it.
    let store = app.store().unwrap();
    let entries = timber::audit::query::list(store, &Default::default(), None, 1)
        .await
        .unwrap();
    let entry = &entries[0];
    assert_eq!(entry.content.action, "report.generate");
    assert_eq!(entry.content.actor, "ana");
    let detail = entry.content.detail.clone().unwrap_or_default();
    assert!(detail.contains("\"role\":\"auditor\""), "{detail}");
    assert!(
        message.contains(&format!("(audit entry {})", entry.id)),
        "{message}"
    );
}

#[tokio::test]
async fn colon_report_into_a_missing_directory_says_why_and_the_console_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let config = seeded_db(dir.path()).await;
    let mut app = started(config, "viewer", 120, 30).await;
    app.state.report_dir = dir.path().join("no-such-dir");
    palette(&mut app, "report").await;
    let message = app.state.status.last_error.clone().unwrap_or_default();
    assert!(
        message.starts_with("cannot write the report to ") && message.contains("no-such-dir"),
        "{message}"
    );
    assert!(
        screen(&app).contains("cannot write the report"),
        "{}",
        screen(&app)
    );
    assert!(!app.state.quit);
}
