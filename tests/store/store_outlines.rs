//! `Store::table_outlines`, the census and health's one look at every table before they scan
//! (one statement on a server): each model's columns in table order, an empty list for a
//! table that does not exist, and the same row estimate `estimate_rows` gives for the table
//! alone, on each backend.

use crate::store_support;

use crate::fixture::models;
use crate::fixture_ring::ring;
use crate::store_only::text;
use store_support::{Kind, TestDb, exec};
use timber::value::Value;

const MODELS: &str = r#"
models:
  - name: Ledger
    table_name: ledgers
    columns:
      - { name: id, type: Integer, primary_key: true }
      - { name: holder, type: String(80) }
      - { name: iban, type: String(255), encrypted: true }
      - { name: note, type: Text, nullable: true, encrypted: true }
  - name: Vault
    table_name: vaults
    columns:
      - { name: id, type: Integer, primary_key: true }
      - { name: secret, type: Text, encrypted: true }
"#;

async fn outlines(kind: Kind) {
    let Some(db) = TestDb::new(kind).await else {
        return;
    };
    let all = models(MODELS);
    let (ledger, vault) = (&all[0], &all[1]);
    let store = db.store().await;
    // Only the ledger's table exists.
    store
        .init(std::slice::from_ref(ledger))
        .await
        .expect("init");
    let rows: Vec<Vec<(String, Value)>> = (1..=40)
        .map(|i| {
            vec![
                ("id".to_string(), Value::Int(i)),
                ("holder".to_string(), text(&format!("holder {i}"))),
                ("iban".to_string(), text(&format!("DE{i:020}"))),
                ("note".to_string(), Value::Null),
            ]
        })
        .collect();
    store
        .insert_many(ledger, &ring(), &rows, None)
        .await
        .expect("seed");
    // Statistics as a server keeps them, so both answers read settled numbers.
    match kind {
        Kind::Postgres => exec(kind, &db.url, "ANALYZE ledgers".into()).await,
        Kind::Mysql => exec(kind, &db.url, "ANALYZE TABLE ledgers".into()).await,
        Kind::Sqlite => {}
    }

    assert!(
        store
            .table_outlines(&[])
            .await
            .expect("no models")
            .is_empty(),
        "{kind:?}: no models, no statement and no outlines"
    );
    let found = store
        .table_outlines(&[vault, ledger])
        .await
        .expect("outlines");
    assert_eq!(found.len(), 2, "{kind:?}: one outline per model, in order");
    assert!(
        found[0].0.is_empty(),
        "{kind:?}: a missing table has no columns: {:?}",
        found[0].0
    );
    let names: Vec<&str> = found[1].0.iter().map(String::as_str).collect();
    assert_eq!(
        names,
        ["id", "holder", "iban", "note"],
        "{kind:?}: the columns in table order"
    );
    let alone = store.estimate_rows(ledger).await.expect("estimate");
    assert_eq!(
        found[1].1.rows, alone.rows,
        "{kind:?}: the same estimate as for the table alone"
    );
    assert!(alone.rows > 0, "{kind:?}: a table of 40 rows is not empty");
    if kind == Kind::Sqlite {
        assert_eq!(
            found[1].1.rows, 40,
            "SQLite's estimate is the highest rowid"
        );
    }
    store.close().await;
    db.drop_all().await;
}

#[tokio::test]
async fn outlines_on_sqlite() {
    outlines(Kind::Sqlite).await;
}

#[tokio::test]
async fn outlines_on_postgres() {
    outlines(Kind::Postgres).await;
}

#[tokio::test]
async fn outlines_on_mysql() {
    outlines(Kind::Mysql).await;
}
