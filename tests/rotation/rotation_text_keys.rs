//! Rotation of a model whose primary key is text (a UUID string), on every backend: each
//! batch's compare-and-set finds its rows by a text key (on PostgreSQL a `text[]` joined
//! through `unnest`, not the `int8[]` of integer keys), so after `timber rotate --all`
//! every value reads with the new key alone, unchanged, and a search through the blind
//! index still finds its row.

use crate::rotation_support;
use crate::store_support;

use crate::fixture::models;
use rotation_support::{env_dir_with, json_lines, ring_new_only, ring_old, timber};
use store_support::{Kind, TestDb};
use timber::crypto::KeyId;
use timber::store::{Cell, PageRequest};
use timber::value::Value;

const MODELS: &str = r#"
models:
  - name: Code
    table_name: codes
    columns:
      - { name: id, type: String(36), primary_key: true }
      - { name: email, type: String(255), encrypted: true, blind_index: email_bidx }
      - { name: email_bidx, type: String(64), indexed: true }
      - { name: profile, type: JSON, encrypted: true }
"#;

const ROWS: usize = 700;

fn key(i: usize) -> String {
    format!("00000000-0000-4000-8000-{i:012}")
}

fn row(i: usize) -> Vec<(String, Value)> {
    vec![
        ("id".into(), Value::Text(key(i))),
        ("email".into(), Value::Text(format!("Code.{i}@Example.com"))),
        (
            "profile".into(),
            Value::Json(serde_json::json!({"n": i, "quote": "\"x\""})),
        ),
    ]
}

async fn rotates_text_keys(kind: Kind) {
    let Some(db) = TestDb::new(kind).await else {
        return;
    };
    let model = models(MODELS).remove(0);
    let store = db.store().await;
    store
        .init(std::slice::from_ref(&model))
        .await
        .expect("init");
    let rows: Vec<_> = (1..=ROWS).map(row).collect();
    store
        .insert_many(&model, &ring_old(), &rows, None)
        .await
        .expect("seed rows under the old key");

    let dir = env_dir_with(&db.url, MODELS);
    let out = timber(dir.path(), &["rotate", "--all", "--format", "json"]);
    assert!(
        out.status.success(),
        "{kind:?}: rotate failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        !json_lines(&out).is_empty(),
        "{kind:?}: rotate said nothing"
    );

    let ring = ring_new_only();
    let mut request = Some(PageRequest::first(250));
    let mut seen = 0;
    while let Some(req) = request {
        let page = store.page(&model, &ring, &req).await.expect("page");
        for record in &page.records {
            let Value::Text(id) = &record.id else {
                panic!("{kind:?}: text ids")
            };
            let i: usize = id[24..].parse().expect("seeded key");
            for (name, want) in row(i).iter().skip(1) {
                match record.cell(&model, name) {
                    Some(Cell::Decrypted { value, key, .. }) => {
                        assert_eq!(value, want, "{kind:?} row {id} {name}: plaintext changed");
                        assert_eq!(key, &KeyId::Primary, "{kind:?} row {id} {name}: old key");
                    }
                    other => panic!("{kind:?} row {id} {name}: unreadable: {other:?}"),
                }
            }
            seen += 1;
        }
        request = page.next(250);
    }
    assert_eq!(seen, ROWS, "{kind:?}: every row still there");

    let found = store
        .find(
            &model,
            &ring,
            "email",
            &Value::Text("Code.321@Example.com".into()),
            5,
        )
        .await
        .expect("search");
    assert_eq!(found.len(), 1, "{kind:?}: the blind index finds the row");
    assert_eq!(found[0].id, Value::Text(key(321)));

    store.close().await;
    db.drop_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_rotates_a_model_with_text_keys() {
    rotates_text_keys(Kind::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_rotates_a_model_with_text_keys() {
    rotates_text_keys(Kind::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mariadb_rotates_a_model_with_text_keys() {
    rotates_text_keys(Kind::Mysql).await;
}
