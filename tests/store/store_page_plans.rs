//! PostgreSQL plans of the keyset page queries: the console's pages (both directions), the
//! raw pages and rotation's pages walk the primary-key index and stop after the page, with
//! no Sort. Ordering by a bare "id" named the select list's `"id"::int8` output column,
//! which no index provides, so every page sorted every row after the cursor; a user saw
//! that as pages getting slower the larger the table. The old form is planned as well, so
//! the test shows it tells the two apart.
//!
//! Needs TIMBER_TEST_POSTGRES_URL; says SKIP and passes when it is unset.

use crate::store_support;

use crate::fixture::models;
use sqlx::Connection;
use store_support::{Kind, TestDb};
use timber::config::ModelDef;
use timber::store::SqlValue;
use timber::store::{PageRequest, Store};
use timber::value::Value;

const MODELS: &str = r#"
models:
  - name: Item
    table_name: plan_items
    columns:
      - { name: id, type: Integer, primary_key: true }
      - { name: email, type: String(255), encrypted: true }
      - { name: notes, type: Text, encrypted: true }
      - { name: label, type: String(40) }
"#;

const ROWS: i64 = 5000;

/// `EXPLAIN` of `sql` with its binds, one plan line per element.
async fn explain(db: &TestDb, sql: &str, binds: &[SqlValue]) -> Vec<String> {
    let mut conn = sqlx::PgConnection::connect(&db.url)
        .await
        .expect("connect to PostgreSQL");
    let text = format!("EXPLAIN {sql}");
    let mut query = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(text));
    for bind in binds {
        query = match bind {
            SqlValue::Int(i) => query.bind(*i),
            SqlValue::Text(s) => query.bind(s.clone()),
            other => panic!("unexpected bind {other:?}"),
        };
    }
    query.fetch_all(&mut conn).await.expect("EXPLAIN")
}

/// The plan walks the primary-key index and has no Sort node.
fn assert_index_walk(what: &str, plan: &[String]) {
    let text = plan.join("\n");
    assert!(
        text.contains("Index Scan") && text.contains("plan_items_pkey"),
        "{what}: the page should walk the primary-key index:\n{text}"
    );
    assert!(
        !text.contains("Sort"),
        "{what}: the page should not sort:\n{text}"
    );
}

async fn seeded(db: &TestDb) -> (Store, ModelDef) {
    let model = models(MODELS).remove(0);
    let store = db.store().await;
    store
        .init(std::slice::from_ref(&model))
        .await
        .expect("init");
    let mut conn = sqlx::PgConnection::connect(&db.url)
        .await
        .expect("connect to PostgreSQL");
    // Stored texts need not be tokens here: only the plans are looked at.
    let insert = format!(
        "INSERT INTO plan_items (id, email, notes, label) \
         SELECT g, 'e' || g, 'n' || g, 'l' || g FROM generate_series(1, {ROWS}) AS g"
    );
    sqlx::raw_sql(sqlx::AssertSqlSafe(insert))
        .execute(&mut conn)
        .await
        .expect("seed rows");
    db.analyze("plan_items").await;
    (store, model)
}

#[tokio::test]
async fn postgres_pages_walk_the_primary_key_index_without_sorting() {
    let Some(db) = TestDb::new(Kind::Postgres).await else {
        return;
    };
    let (store, model) = seeded(&db).await;
    let middle = Value::Int(ROWS / 2);

    let requests = [
        ("first page", PageRequest::first(50)),
        ("page after a key", PageRequest::after(middle.clone(), 50)),
        ("page before a key", PageRequest::before(middle.clone(), 50)),
        (
            "last page",
            PageRequest {
                cursor: timber::store::Cursor::Last,
                limit: 50,
            },
        ),
    ];
    for (what, request) in &requests {
        let (sql, binds) = store.page_query(&model, request).expect("page query");
        assert_index_walk(what, &explain(&db, &sql, &binds).await);
    }

    let (sql, binds, _) = store
        .raw_page_query(&model, &["email", "notes"], Some(&middle), 500)
        .expect("raw page query");
    assert_index_walk("raw page", &explain(&db, &sql, &binds).await);

    let columns: Vec<_> = ["email", "notes"]
        .iter()
        .map(|n| model.column(n).expect("column"))
        .collect();
    let (sql, binds, _) = store
        .rotation_page_query(&model, &columns, None, Some(&middle), 2000)
        .expect("rotation page query");
    let rotation_plan = explain(&db, &sql, &binds).await;
    assert_index_walk("rotation page", &rotation_plan);

    // The old ORDER BY (the bare name, i.e. the `::int8` output column) sorts: the check
    // above would have caught it.
    let old = sql.replace(r#"ORDER BY "plan_items"."id""#, r#"ORDER BY "id""#);
    assert_ne!(old, sql, "the rotation page orders by the qualified key");
    let old_plan = explain(&db, &old, &binds).await.join("\n");
    assert!(
        old_plan.contains("Sort"),
        "ordering by the output column should sort:\n{old_plan}"
    );

    store.close().await;
    db.drop_all().await;
}
