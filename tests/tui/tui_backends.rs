//! The console on PostgreSQL and MariaDB/MySQL (TIMBER_TEST_POSTGRES_URL,
//! TIMBER_TEST_MYSQL_URL; each test says SKIP and returns when its variable is unset):
//! the same paging and audited reveal an operator does on SQLite, in a fresh schema.

use crate::store_support;
use crate::tui_support;

use crossterm::event::KeyCode;
use store_support::{Kind, TestDb};
use timber::audit::{AuditFilter, query};
use timber::store::StoreConfig;
use timber::value::Value;
use tui_support::*;

async fn page_and_reveal(kind: Kind) {
    let Some(db) = TestDb::new(kind).await else {
        return;
    };
    let store = db.store().await;
    seed(&store).await;
    let config = StoreConfig::from_url(&db.url).unwrap();
    let mut app = started(config, "security_admin", 80, 24).await;
    assert!(
        app.state.overview.census.ready().is_some(),
        "the census ran on {kind:?}"
    );
    press(&mut app, &[ch('2'), key(KeyCode::Enter)]).await;
    press(&mut app, &[key(KeyCode::PageDown)]).await;
    let page = app.state.page_size() as i64;
    let first_id =
        |app: &timber::tui::App| app.state.data.table.as_ref().unwrap().rows[0].id.clone();
    assert_eq!(first_id(&app), Value::Int(page + 1));
    press(&mut app, &[ch('G')]).await;
    let last = app
        .state
        .data
        .table
        .as_ref()
        .unwrap()
        .rows
        .last()
        .unwrap()
        .id
        .clone();
    assert_eq!(last, Value::Int(CUSTOMERS as i64));
    press(&mut app, &[ch('g')]).await;
    press(&mut app, &[ch('l'), ch('l'), ch('l'), ch('r')]).await;
    type_text(&mut app, "backend check");
    press(&mut app, &[key(KeyCode::Enter)]).await;
    let shown = screen(&app);
    assert!(
        shown.contains("◉ zqxmail1@example.com"),
        "{kind:?}:\n{shown}"
    );
    let entries = query::list(&store, &AuditFilter::default(), None, 5)
        .await
        .unwrap();
    assert!(
        entries
            .iter()
            .any(|e| e.content.action == "reveal" && e.content.fields == ["email"])
    );
    store.close().await;
    db.drop_all().await;
}

#[tokio::test]
async fn console_pages_and_reveals_on_postgres() {
    page_and_reveal(Kind::Postgres).await;
}

#[tokio::test]
async fn console_pages_and_reveals_on_mysql() {
    page_and_reveal(Kind::Mysql).await;
}
