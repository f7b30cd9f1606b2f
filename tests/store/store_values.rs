//! Awkward values survive a round trip on every backend: quotes, semicolons, backslashes,
//! odd Unicode, a megabyte of text (encrypted and not), JSON with odd keys. Searching for
//! such a value finds exactly its record (the value is bound, never spliced). On PostgreSQL
//! an encrypted JSON column holds a JSON *string* (the token), as Python Timber's ORM writes.

use crate::store_support;

use crate::fixture::models;
use crate::fixture_ring::ring;
use sqlx::Connection;
use store_support::{Kind, TestDb};
use timber::store::{Cell, WriteContext};
use timber::value::Value;

const MODELS: &str = r#"
models:
  - name: Note
    table_name: odd_notes
    columns:
      - { name: id, type: Integer, primary_key: true }
      - { name: title, type: String(200), encrypted: true, blind_index: title_hash }
      - { name: title_hash, type: String(64) }
      - { name: body, type: Text, encrypted: true }
      - { name: plain_body, type: Text }
      - { name: label, type: String(200) }
      - { name: data, type: JSON, encrypted: true }
"#;

fn odd_strings() -> Vec<String> {
    vec![
        r#"it's "quoted"; DROP TABLE odd_notes; --"#.to_string(),
        r"back\slash \\ and \n not a newline".to_string(),
        "RTL \u{202E}txet\u{202C}, combining e\u{301}\u{301}, ZWJ 👩‍👩‍👧, 𝔘𝔫𝔦𝔠𝔬𝔡𝔢".to_string(),
        "noncharacters \u{FFFE}\u{FFFF} and \u{10FFFF}, tab\tand\r\nCRLF".to_string(),
        "' OR 1=1 --".to_string(),
        "%_* LIKE wildcards %".to_string(),
    ]
}

async fn round_trip(kind: Kind) {
    let Some(db) = TestDb::new(kind).await else {
        return;
    };
    let model = &models(MODELS)[0];
    let ring = ring();
    let store = db.store().await;
    store.init(std::slice::from_ref(model)).await.unwrap();
    let megabyte: String = "0123456789abcdef→".repeat(1 << 16);
    assert!(megabyte.len() > 1_000_000);
    let mut ids = Vec::new();
    for (n, s) in odd_strings().into_iter().enumerate() {
        let fields = vec![
            ("title".to_string(), Value::Text(s.clone())),
            (
                "body".to_string(),
                Value::Text(if n == 0 { megabyte.clone() } else { s.clone() }),
            ),
            (
                "plain_body".to_string(),
                Value::Text(if n == 0 { megabyte.clone() } else { s.clone() }),
            ),
            ("label".to_string(), Value::Text(s.clone())),
            (
                "data".to_string(),
                Value::Json(serde_json::json!({ s.clone(): [s.clone(), n] })),
            ),
        ];
        let id = store
            .insert(model, &ring, &fields, WriteContext::default())
            .await
            .expect("insert");
        assert!(matches!(id, Value::Int(_)), "generated integer key: {id:?}");
        ids.push((id, fields));
    }
    for (id, fields) in &ids {
        let record = store.get(model, &ring, id).await.unwrap().expect("record");
        for (name, want) in fields {
            let cell = record.cell(model, name).unwrap();
            assert_eq!(cell.value(), Some(want), "{kind:?} {name} of {id:?}");
        }
        assert!(matches!(
            record.cell(model, "body"),
            Some(Cell::Decrypted { .. })
        ));
        // Exact search by the encrypted title and by the plain label: the one record.
        let Some(Value::Text(title)) = fields
            .iter()
            .find(|(n, _)| n == "title")
            .map(|(_, v)| v.clone())
        else {
            panic!()
        };
        let found = store
            .find(model, &ring, "title", &Value::Text(title.clone()), 10)
            .await
            .unwrap();
        assert_eq!(
            found.iter().map(|r| &r.id).collect::<Vec<_>>(),
            vec![id],
            "{title}"
        );
        let found = store
            .find(model, &ring, "label", &Value::Text(title), 10)
            .await
            .unwrap();
        assert_eq!(found.len(), 1);
    }
    assert_eq!(
        store.count_rows(model).await.unwrap().rows,
        ids.len() as u64,
        "nothing dropped"
    );

    if kind == Kind::Postgres {
        let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
        let rows: Vec<(String, String)> =
            sqlx::query_as("SELECT json_typeof(data), data::text FROM odd_notes")
                .fetch_all(&mut conn)
                .await
                .unwrap();
        assert_eq!(rows.len(), ids.len());
        for (json_type, text) in rows {
            assert_eq!(json_type, "string", "the token is a JSON string");
            assert!(
                text.starts_with("\"gAAAAA") && text.ends_with('"'),
                "{text}"
            );
        }
        let column_type: String = sqlx::query_scalar(
            "SELECT data_type::text FROM information_schema.columns WHERE table_schema = current_schema() \
             AND table_name = 'odd_notes' AND column_name = 'data'",
        )
        .fetch_one(&mut conn)
        .await
        .unwrap();
        assert_eq!(column_type, "json");
    }
    store.close().await;
    db.drop_all().await;
}

#[tokio::test]
async fn odd_values_round_trip_on_sqlite() {
    round_trip(Kind::Sqlite).await;
}

#[tokio::test]
async fn odd_values_round_trip_on_postgres() {
    round_trip(Kind::Postgres).await;
}

#[tokio::test]
async fn odd_values_round_trip_on_mysql() {
    round_trip(Kind::Mysql).await;
}
