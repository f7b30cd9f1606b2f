//! `:rate N` on the Keys screen (issue 18 item 4): the selected job's rate limit changes in
//! the jobs table, where its worker (in any process) reads it within a second, and the
//! message row says from what to what; `:rate 0` lifts it; a role without `rotate` and a bad
//! number are refused without touching the job.

use crate::tui_support;

use crossterm::event::KeyCode;
use timber::rotation::JobOptions;
use timber::tui::Event;
use tui_support::*;

#[tokio::test]
async fn rate_changes_the_selected_jobs_limit_in_the_jobs_table() {
    let dir = tempfile::tempdir().unwrap();
    let config = seeded_db(dir.path()).await;
    let mut app = started(config, "security_admin", 100, 30).await;
    let store = app.store().expect("connected").clone();
    let id = store
        .rotation_create_job(
            "tickets",
            r#"["email"]"#,
            "primary",
            60,
            "elsewhere.example:4242",
            &JobOptions {
                max_rate: Some(40),
                ..JobOptions::default()
            }
            .to_json(),
        )
        .await
        .unwrap();
    let rate_of = |row: Option<timber::store::JobRow>| {
        JobOptions::parse(row.expect("job").options.as_deref()).max_rate
    };
    press(&mut app, &[ch('4'), Event::Tick]).await;

    press(&mut app, &[ch(':')]).await;
    type_text(&mut app, "rate 500");
    press(&mut app, &[key(KeyCode::Enter)]).await;
    let text = screen(&app);
    assert!(
        text.contains(&format!(
            "job {id} (tickets): max rate 500 rows/s (was 40 rows/s)"
        )),
        "{text}"
    );
    assert_eq!(rate_of(store.rotation_job(id).await.unwrap()), Some(500));

    press(&mut app, &[ch(':')]).await;
    type_text(&mut app, "rate 0");
    press(&mut app, &[key(KeyCode::Enter)]).await;
    assert!(screen(&app).contains("max rate unlimited (was 500 rows/s)"));
    assert_eq!(rate_of(store.rotation_job(id).await.unwrap()), None);

    press(&mut app, &[ch(':')]).await;
    type_text(&mut app, "rate fast");
    press(&mut app, &[key(KeyCode::Enter)]).await;
    assert!(screen(&app).contains("`:rate fast`"), "{}", screen(&app));
    assert_eq!(rate_of(store.rotation_job(id).await.unwrap()), None);
}

#[tokio::test]
async fn a_role_without_rotate_may_not_change_a_rate() {
    let dir = tempfile::tempdir().unwrap();
    let config = seeded_db(dir.path()).await;
    let mut app = started(config, "support", 100, 30).await;
    let store = app.store().expect("connected").clone();
    let id = store
        .rotation_create_job(
            "tickets",
            r#"["email"]"#,
            "primary",
            60,
            "elsewhere:1",
            "{}",
        )
        .await
        .unwrap();
    press(&mut app, &[ch('4'), Event::Tick, ch(':')]).await;
    type_text(&mut app, "rate 5");
    press(&mut app, &[key(KeyCode::Enter)]).await;
    let text = screen(&app);
    assert!(
        text.contains("role support may not") && text.contains("no \"rotate\" action"),
        "{text}"
    );
    let row = store.rotation_job(id).await.unwrap().expect("job");
    assert_eq!(row.options.as_deref(), Some("{}"), "the job is untouched");
}

/// `:lag S` sets the selected job's replication-lag limit as `timber jobs set --max-lag`
/// does: SQLite cannot tell a replica's lag, so a limit is refused there naming why (the
/// job untouched), and `:lag 0` stops watching it.
#[tokio::test]
async fn lag_sets_or_clears_the_selected_jobs_lag_limit() {
    let dir = tempfile::tempdir().unwrap();
    let config = seeded_db(dir.path()).await;
    let mut app = started(config, "security_admin", 120, 30).await;
    let store = app.store().expect("connected").clone();
    let options = JobOptions {
        max_lag: Some(5.0),
        ..JobOptions::default()
    }
    .to_json();
    let id = store
        .rotation_create_job(
            "tickets",
            r#"["email"]"#,
            "primary",
            60,
            "elsewhere:7",
            &options,
        )
        .await
        .unwrap();
    let lag_of = |row: Option<timber::store::JobRow>| {
        JobOptions::parse(row.expect("job").options.as_deref()).max_lag
    };
    press(&mut app, &[ch('4'), Event::Tick, ch(':')]).await;
    type_text(&mut app, "lag 2");
    press(&mut app, &[key(KeyCode::Enter)]).await;
    let text = screen(&app);
    assert!(
        text.contains(&format!("job {id}: lag limit not changed")) && text.contains("SQLite"),
        "{text}"
    );
    assert_eq!(lag_of(store.rotation_job(id).await.unwrap()), Some(5.0));

    press(&mut app, &[ch(':')]).await;
    type_text(&mut app, "lag 0");
    press(&mut app, &[key(KeyCode::Enter)]).await;
    let text = screen(&app);
    assert!(
        text.contains(&format!(
            "job {id} (tickets): max lag not watched (was 5 s of replication lag)"
        )),
        "{text}"
    );
    assert_eq!(lag_of(store.rotation_job(id).await.unwrap()), None);

    press(&mut app, &[ch(':')]).await;
    type_text(&mut app, "lag soon");
    press(&mut app, &[key(KeyCode::Enter)]).await;
    assert!(screen(&app).contains("`:lag soon`"), "{}", screen(&app));
}
