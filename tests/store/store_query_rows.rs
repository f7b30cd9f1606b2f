//! The console's filter and sort, in SQL (`Store::query_rows`) on each backend: a term is a
//! case-insensitive substring of any of the plain columns named (text, integer, JSON), its
//! `%` and `_` are literal; an exact match goes through the blind index for an encrypted
//! field; the order is a plain column's, NULLs last on every backend, then the key; the limit
//! says whether more rows match; encrypted columns are refused for both the term and the
//! order, naming the field.

use crate::store_support;

use crate::fixture::models;
use crate::fixture_ring::ring;
use crate::store_only::text;
use store_support::{Kind, TestDb};
use timber::store::{Contains, Order, RowQuery, StoreError};
use timber::value::Value;

const MODELS: &str = r#"
models:
  - name: Member
    table_name: members
    columns:
      - { name: id, type: Integer, primary_key: true }
      - { name: name, type: String(80) }
      - { name: tier, type: String(20), nullable: true }
      - { name: age, type: Integer, nullable: true }
      - { name: meta, type: JSON, nullable: true }
      - { name: email, type: String(255), encrypted: true, blind_index: email_hash }
      - { name: email_hash, type: String(64) }
"#;

fn member(id: i64, name: &str, tier: Option<&str>, age: Option<i64>) -> Vec<(String, Value)> {
    vec![
        ("id".into(), Value::Int(id)),
        ("name".into(), text(name)),
        ("tier".into(), tier.map_or(Value::Null, text)),
        ("age".into(), age.map_or(Value::Null, Value::Int)),
        (
            "meta".into(),
            Value::Json(serde_json::json!({ "team": format!("Team-{}", id % 2) })),
        ),
        ("email".into(), text(&format!("member{id}@example.com"))),
    ]
}

fn ids(records: &[timber::store::Record]) -> Vec<i64> {
    records
        .iter()
        .map(|r| match r.id {
            Value::Int(n) => n,
            ref other => panic!("integer key expected, got {other:?}"),
        })
        .collect()
}

fn contains(columns: &[&str], term: &str) -> Option<Contains> {
    Some(Contains {
        columns: columns.iter().map(|c| c.to_string()).collect(),
        term: term.to_string(),
    })
}

async fn filter_and_sort(kind: Kind) {
    let Some(db) = TestDb::new(kind).await else {
        return;
    };
    let model = &models(MODELS)[0];
    let ring = ring();
    let store = db.store().await;
    store.init(std::slice::from_ref(model)).await.expect("init");
    let rows = [
        member(1, "Alice Gold", Some("gold"), Some(41)),
        member(2, "Bob", Some("silver"), Some(33)),
        member(3, "ALICIA", None, None),
        member(4, "Carol 50%_off", Some("gold"), Some(27)),
        member(5, "Dan 50 off", Some("bronze"), Some(64)),
        member(6, "Erin", Some("silver"), None),
    ];
    store
        .insert_many(model, &ring, &rows, Some("test"))
        .await
        .expect("insert");
    let run = |query: RowQuery| {
        let (store, ring) = (&store, &ring);
        async move { store.query_rows(model, ring, &query).await }
    };
    let plain = ["name", "tier", "age", "meta"];

    // Any case, any plain column: text, an integer's digits, JSON text.
    let q = RowQuery {
        contains: contains(&plain, "aLiC"),
        limit: 50,
        ..RowQuery::default()
    };
    let (found, more) = run(q).await.expect("term");
    assert_eq!(ids(&found), vec![1, 3], "{kind:?}");
    assert!(!more);
    let q = RowQuery {
        contains: contains(&plain, "4"),
        limit: 50,
        ..RowQuery::default()
    };
    assert_eq!(
        ids(&run(q).await.unwrap().0),
        vec![1, 5],
        "{kind:?}: 41 and 64"
    );
    let q = RowQuery {
        contains: contains(&plain, "team-0"),
        limit: 50,
        ..RowQuery::default()
    };
    assert_eq!(
        ids(&run(q).await.unwrap().0),
        vec![2, 4, 6],
        "{kind:?}: JSON"
    );
    // `%` and `_` are the characters, not wildcards.
    let q = RowQuery {
        contains: contains(&plain, "50%_"),
        limit: 50,
        ..RowQuery::default()
    };
    assert_eq!(ids(&run(q).await.unwrap().0), vec![4], "{kind:?}");

    // An encrypted column is refused, named.
    let q = RowQuery {
        contains: contains(&["name", "email"], "member"),
        limit: 50,
        ..RowQuery::default()
    };
    match run(q).await {
        Err(e @ StoreError::NotSearchable { .. }) => {
            assert!(e.to_string().contains("Member.email"), "{e}")
        }
        other => panic!("{kind:?}: an encrypted column refused, got {other:?}"),
    }

    // Sorted by a plain column, NULLs last either way, ties by key.
    let sorted = |column: &str, descending: bool| RowQuery {
        order: Some(Order {
            column: column.into(),
            descending,
        }),
        limit: 50,
        ..RowQuery::default()
    };
    let (by_age, _) = run(sorted("age", true)).await.expect("sort");
    assert_eq!(ids(&by_age), vec![5, 1, 2, 4, 3, 6], "{kind:?}");
    let (by_tier, _) = run(sorted("tier", false)).await.unwrap();
    assert_eq!(ids(&by_tier), vec![5, 1, 4, 2, 6, 3], "{kind:?}");
    match run(sorted("email", false)).await {
        Err(e @ StoreError::NotSortable { .. }) => assert!(
            e.to_string().contains("cannot sort Member by `email`"),
            "{e}"
        ),
        other => panic!("{kind:?}: an encrypted order refused, got {other:?}"),
    }

    // A term, an order and a limit together: the first rows, and more exist.
    let q = RowQuery {
        contains: contains(&plain, "i"),
        order: Some(Order {
            column: "age".into(),
            descending: false,
        }),
        limit: 2,
        ..RowQuery::default()
    };
    let (first, more) = run(q).await.unwrap();
    // `i` is in Alice, Bob's tier (silver), ALICIA and Erin: the two youngest first.
    assert_eq!(ids(&first), vec![2, 1], "{kind:?}");
    assert!(more, "{kind:?}: ALICIA and Erin match too");

    // Equality through the blind index, sorted.
    let q = RowQuery {
        equals: Some(("email".into(), text("member4@example.com"))),
        order: Some(Order {
            column: "age".into(),
            descending: false,
        }),
        limit: 50,
        ..RowQuery::default()
    };
    assert_eq!(ids(&run(q).await.unwrap().0), vec![4], "{kind:?}");

    store.close().await;
    db.drop_all().await;
}

#[tokio::test]
async fn filter_and_sort_on_sqlite() {
    filter_and_sort(Kind::Sqlite).await;
}

#[tokio::test]
async fn filter_and_sort_on_postgres() {
    filter_and_sort(Kind::Postgres).await;
}

#[tokio::test]
async fn filter_and_sort_on_mysql() {
    filter_and_sort(Kind::Mysql).await;
}
