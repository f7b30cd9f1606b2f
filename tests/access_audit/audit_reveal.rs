//! Audited reveals and recorded writes against a real SQLite database: a reveal under a role
//! that requires a reason fails without one; with one, the entry holds actor, model (table),
//! record, field and reason and never the value; a reveal whose entry cannot be written is
//! refused; writes to an `AuditMixin` model are recorded with their values encrypted; and
//! the listing filters find what they should.

use crate::store_support;

use std::path::Path;

use crate::fixture::models;
use crate::fixture_ring::ring;
use store_support::{Kind, TestDb};
use timber::access::{Access, Cell, Identity, MaskHasher, RevealError, RowsRequest};
use timber::audit::query::{self, AuditFilter};
use timber::audit::{AuditLog, read_detail};
use timber::config::{ModelDef, parse_policy};
use timber::store::{Store, WriteContext};
use timber::value::Value;

const MODELS: &str = r#"
models:
  - name: Customer
    table_name: customers
    columns:
      - { name: id, type: Integer, primary_key: true }
      - { name: user_id, type: String(36) }
      - { name: email, type: String(255), encrypted: true }
      - { name: notes, type: Text, encrypted: true }
    mixins: [AuditMixin]
"#;

const POLICY: &str = r#"
default_role: support
roles:
  security_admin: { default: reveal, require_reason: true, actions: [reveal, export] }
  support: { default: partial, fields: { "Customer.email": reveal }, actions: [reveal, export] }
"#;

const SECRET_EMAIL: &str = "wq.secret.person@example.net";

async fn setup() -> (TestDb, Store, ModelDef, AuditLog) {
    let db = TestDb::new(Kind::Sqlite).await.unwrap();
    let store = db.store().await;
    let model = models(MODELS).remove(0);
    store.init(std::slice::from_ref(&model)).await.unwrap();
    let log = AuditLog::open(&store, &ring()).await.unwrap();
    let fields = vec![
        ("id".to_string(), Value::Int(7)),
        ("user_id".to_string(), Value::Text("u-7".into())),
        ("email".to_string(), Value::Text(SECRET_EMAIL.into())),
        ("notes".to_string(), Value::Text("wq private notes".into())),
    ];
    let ctx = WriteContext {
        actor: Some("app"),
        observer: Some(&log),
    };
    store.insert(&model, &ring(), &fields, ctx).await.unwrap();
    (db, store, model, log)
}

fn access(role: &str, user: &str) -> Access {
    let policy = parse_policy(POLICY, Path::new("policy.yaml")).unwrap();
    let identity = Identity::resolve(&policy, Some((role, "--role")), Some(user)).unwrap();
    Access::new(policy, identity, true, MaskHasher::for_ring(&ring())).unwrap()
}

async fn reveals(store: &Store) -> Vec<timber::audit::AuditEntry> {
    let filter = AuditFilter {
        action: Some("reveal".into()),
        ..AuditFilter::default()
    };
    query::list(store, &filter, None, 100).await.unwrap()
}

#[tokio::test]
async fn reveal_requires_a_reason_and_records_everything_but_the_value() {
    let (_db, store, model, log) = setup().await;
    let record = store
        .get(&model, &ring(), &Value::Int(7))
        .await
        .unwrap()
        .unwrap();
    let admin = access("security_admin", "ana");

    for reason in [None, Some("   ")] {
        let err = admin
            .reveal_cell(&log, &model, &record, "email", reason)
            .await
            .unwrap_err();
        assert!(matches!(err, RevealError::ReasonRequired { .. }), "{err}");
        assert!(err.to_string().contains("security_admin"), "{err}");
    }
    assert!(
        reveals(&store).await.is_empty(),
        "a refused reveal writes no entry"
    );

    let (cell, grant) = admin
        .reveal_cell(
            &log,
            &model,
            &record,
            "email",
            Some("INC-4411 account takeover"),
        )
        .await
        .unwrap();
    assert_eq!(cell, Cell::Revealed(Value::Text(SECRET_EMAIL.into())));
    let grant = grant.expect("a secret reveal yields a grant");
    // The grant reveals that cell only.
    let row = admin.mask_row(&model, &record, Some(&grant));
    assert_eq!(row.cell("email"), Some(&cell));
    assert!(matches!(
        row.cell("notes"),
        Some(Cell::Masked {
            revealable: true,
            ..
        })
    ));

    let entries = reveals(&store).await;
    assert_eq!(entries.len(), 1);
    let e = &entries[0];
    assert_eq!(e.id, grant.entry_id());
    assert_eq!(e.content.actor, "ana");
    assert_eq!(e.content.table_name.as_deref(), Some("customers"));
    assert_eq!(e.content.record_id.as_deref(), Some("7"));
    assert_eq!(e.content.fields, vec!["email".to_string()]);
    let detail = read_detail(&ring(), e).unwrap().unwrap();
    assert_eq!(detail["reason"], "INC-4411 account takeover");
    assert_eq!(detail["role"], "security_admin");
    let everything = format!("{e:?} {detail} {}", e.to_json());
    assert!(
        !everything.contains("wq.secret"),
        "the value is in the entry: {everything}"
    );
    assert!(query::verify(&store, log.key(), None).await.unwrap().ok);
}

#[tokio::test]
async fn reveal_is_refused_when_not_allowed_or_when_its_entry_cannot_be_written() {
    let (db, store, model, log) = setup().await;
    let record = store
        .get(&model, &ring(), &Value::Int(7))
        .await
        .unwrap()
        .unwrap();
    let support = access("support", "sam");
    let err = support
        .reveal_cell(&log, &model, &record, "notes", Some("curious"))
        .await
        .unwrap_err();
    assert!(matches!(err, RevealError::NotAllowed { .. }), "{err}");
    assert!(err.to_string().contains("Customer.notes"), "{err}");
    assert!(reveals(&store).await.is_empty());

    // The audit table becomes unwritable: the reveal must be refused, not shown.
    let path = db.url.trim_start_matches("sqlite://").to_string();
    let mut conn =
        <sqlx::SqliteConnection as sqlx::Connection>::connect(&format!("sqlite://{path}"))
            .await
            .unwrap();
    sqlx::raw_sql("ALTER TABLE timber_audit_log RENAME TO audit_gone")
        .execute(&mut conn)
        .await
        .unwrap();
    let err = support
        .reveal_cell(&log, &model, &record, "email", None)
        .await
        .unwrap_err();
    assert!(matches!(err, RevealError::Audit(_)), "{err}");
    assert!(err.to_string().contains("refused"), "{err}");
    assert!(!err.to_string().contains("wq.secret"), "{err}");
}

#[tokio::test]
async fn writes_to_audited_models_are_recorded_with_values_encrypted() {
    let (_db, store, model, log) = setup().await;
    let ctx = WriteContext {
        actor: Some("app"),
        observer: Some(&log),
    };
    let change = [("notes".to_string(), Value::Text("wq updated notes".into()))];
    store
        .update(&model, &ring(), &Value::Int(7), &change, ctx)
        .await
        .unwrap();
    let writes = query::list(
        &store,
        &AuditFilter {
            tables: vec!["customers".into()],
            ..Default::default()
        },
        None,
        10,
    )
    .await
    .unwrap();
    let actions: Vec<&str> = writes.iter().map(|e| e.content.action.as_str()).collect();
    assert_eq!(actions, ["update", "insert"], "newest first");
    let update = &writes[0];
    assert_eq!(update.content.actor, "app");
    assert_eq!(update.content.fields, vec!["notes".to_string()]);
    let stored = update.content.detail.as_deref().unwrap();
    assert!(
        stored.starts_with("gAAAAA"),
        "detail with values is a Fernet token"
    );
    // No plaintext in it. The marker holds a space, which no base64 token does: the bare
    // "wq" this checked before turns up in a random token in about 5% of runs (issue 14).
    assert!(
        !stored.contains("wq private") && !stored.contains("wq updated"),
        "{stored}"
    );
    let detail = read_detail(&ring(), update).unwrap().unwrap();
    assert_eq!(detail["old"]["notes"], "wq private notes");
    assert_eq!(detail["new"]["notes"], "wq updated notes");
    assert!(query::verify(&store, log.key(), None).await.unwrap().ok);
}

#[tokio::test]
async fn listing_filters_by_actor_action_model_time_and_text() {
    let (_db, store, model, log) = setup().await;
    let record = store
        .get(&model, &ring(), &Value::Int(7))
        .await
        .unwrap()
        .unwrap();
    let admin = access("security_admin", "ana");
    admin
        .reveal_cell(&log, &model, &record, "email", Some("ticket 99% sure"))
        .await
        .unwrap();
    let count = |f: AuditFilter| {
        let store = store.clone();
        async move { query::list(&store, &f, None, 100).await.unwrap().len() }
    };
    assert_eq!(count(AuditFilter::default()).await, 2);
    assert_eq!(
        count(AuditFilter {
            actor: Some("ana".into()),
            ..Default::default()
        })
        .await,
        1
    );
    assert_eq!(
        count(AuditFilter {
            action: Some("insert".into()),
            ..Default::default()
        })
        .await,
        1
    );
    assert_eq!(
        count(AuditFilter {
            tables: vec!["other".into()],
            ..Default::default()
        })
        .await,
        0
    );
    assert_eq!(
        count(AuditFilter {
            text: Some("99%".into()),
            ..Default::default()
        })
        .await,
        1
    );
    assert_eq!(
        count(AuditFilter {
            text: Some("TICKET".into()),
            ..Default::default()
        })
        .await,
        1
    );
    // The email is inside an encrypted detail of the insert: text search never matches it.
    assert_eq!(
        count(AuditFilter {
            text: Some("wq.secret".into()),
            ..Default::default()
        })
        .await,
        0
    );
    let future = chrono::Utc::now().naive_utc() + chrono::Duration::hours(1);
    assert_eq!(
        count(AuditFilter {
            since: Some(future),
            ..Default::default()
        })
        .await,
        0
    );
    // Paging newest first.
    let first = query::list(&store, &AuditFilter::default(), None, 1)
        .await
        .unwrap();
    let second = query::list(&store, &AuditFilter::default(), Some(first[0].id), 1)
        .await
        .unwrap();
    assert_eq!(first[0].content.action, "reveal");
    assert_eq!(second[0].content.action, "insert");
}

/// Issue 13 item 9 on every backend: a reveal of rows lists their ids in its plain detail,
/// and `--record` (the audit filter behind it) finds the entry by any of them, and by
/// nothing else, on SQLite, PostgreSQL and MySQL alike (the pre-filter is SQL `LIKE`).
#[tokio::test]
async fn a_rows_reveal_is_found_by_each_record_it_showed_on_every_backend() {
    for kind in [Kind::Sqlite, Kind::Postgres, Kind::Mysql] {
        let Some(db) = TestDb::new(kind).await else {
            continue;
        };
        let store = db.store().await;
        let model = models(MODELS).remove(0);
        store.init(std::slice::from_ref(&model)).await.unwrap();
        let log = AuditLog::open(&store, &ring()).await.unwrap();
        for id in [11, 12, 13, 111] {
            let fields = vec![
                ("id".to_string(), Value::Int(id)),
                ("user_id".to_string(), Value::Text(format!("u-{id}"))),
                (
                    "email".to_string(),
                    Value::Text(format!("wq{id}@example.net")),
                ),
            ];
            store
                .insert(&model, &ring(), &fields, WriteContext::default())
                .await
                .unwrap();
        }
        let page = store
            .page(&model, &ring(), &timber::store::PageRequest::first(3))
            .await
            .unwrap();
        let request = RowsRequest {
            scope: "export".into(),
            export: true,
            reason: None,
            filter: serde_json::json!({ "limit": 3 }),
        };
        let grant = access("support", "sam")
            .reveal_rows(&log, &model, &page.records, &request)
            .await
            .unwrap()
            .expect("support may reveal email");
        let by_record = |id: &str| {
            let filter = AuditFilter {
                record: Some(id.to_string()),
                ..AuditFilter::default()
            };
            let store = store.clone();
            async move {
                query::list(&store, &filter, None, 10)
                    .await
                    .unwrap()
                    .iter()
                    .map(|e| e.id)
                    .collect::<Vec<_>>()
            }
        };
        for id in ["11", "12", "13"] {
            assert_eq!(by_record(id).await, vec![grant.entry_id()], "{kind:?} {id}");
        }
        // 111 was not on the page; "1" is a substring of the listed ids but no id.
        for id in ["111", "1", "%", "1_"] {
            assert!(by_record(id).await.is_empty(), "{kind:?} {id}");
        }
        let text = AuditFilter {
            text: Some("12".into()),
            ..AuditFilter::default()
        };
        let grep = query::list(&store, &text, None, 10).await.unwrap();
        assert_eq!(grep.len(), 1, "{kind:?}: --grep finds it too");
        assert!(query::verify(&store, log.key(), None).await.unwrap().ok);
        store.close().await;
        db.drop_all().await;
    }
}
