//! Issue 19 item 2 on all three backends: discovery samples the columns no model declares
//! encrypted wherever they are (a model's plain column, a table column the model does not
//! list, a table no model declares), skips the encrypted columns and timber's own tables,
//! finds each kind, says it with counts (no value), `--suggest` declares what it found, and
//! health's `data.undeclared_sensitive` warns for each column.

use crate::health_support;
use crate::store_support;

use health_support::*;
use store_support::{Kind, TestDb};
use timber::crypto::{FernetKey, Key, KeyRing};
use timber::health::Severity;
use timber::health::discover::{DiscoverOptions, discover, suggest_yaml};
use timber::value::Value;

const MODELS: &str = r#"
models:
  - name: Customer
    table_name: disc_customers
    columns:
      - {name: id, type: Integer, primary_key: true}
      - {name: email, type: String(255), encrypted: true}
      - {name: contact_email, type: String(255)}
      - {name: legacy_secret, type: Text}
      - {name: tier, type: String(20)}
    mixins: [EncryptedFieldMixin]
"#;

const JWT: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";

/// (iban, card, api key, ssn, note) rows of the undeclared `disc_leads` table.
const LEADS: &[(&str, &str, &str, &str, &str)] = &[
    (
        "DE89370400440532013000",
        "4111111111111111",
        "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
        "078-05-1120",
        "call back",
    ),
    (
        "GB82WEST12345698765432",
        "5500005555555559",
        "AKIAIOSFODNN7EXAMPLE",
        "219-09-9999",
        "n/a",
    ),
    (
        "NL91ABNA0417164300",
        "378282246310005",
        "ghp_1a2B3c4D5e6F7g8H9i0J1k2L3m4N5o6P7q8R",
        "536-90-4399",
        "VIP",
    ),
];

async fn discovery_finds_every_undeclared_kind(kind: Kind) {
    let Some(db) = TestDb::new(kind).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let models = models(dir.path(), MODELS);
    let vars = [
        ("DATABASE_URL", db.url.clone()),
        ("ENCRYPTION_KEY", new_key()),
        ("MASTER_ENCRYPTION_KEY", new_key()),
    ];
    let settings = settings(&vars, dir.path());
    let ring = KeyRing::from_settings(&settings).unwrap();
    let store = db.store().await;
    store.init(&models.models).await.unwrap();
    // A key no model names: its tokens in a plain column are data encrypted behind the
    // models' back.
    let stranger = FernetKey::new(&Key::generate());
    let rows: Vec<Vec<(String, Value)>> = (1..=20)
        .map(|n| {
            vec![
                ("id".into(), Value::Int(n)),
                ("email".into(), Value::Text(format!("c{n}@example.com"))),
                (
                    "contact_email".into(),
                    Value::Text(format!("contact.{n}@example.org")),
                ),
                (
                    "legacy_secret".into(),
                    Value::Text(stranger.encrypt(format!("pin {n}").as_bytes())),
                ),
                ("tier".into(), Value::Text("gold".into())),
            ]
        })
        .collect();
    let customer = models.find("Customer").unwrap();
    store
        .insert_many(customer, &ring, &rows, None)
        .await
        .unwrap();
    exec(
        &db,
        "ALTER TABLE disc_customers ADD COLUMN backup_phone VARCHAR(40)",
    )
    .await;
    exec(
        &db,
        "UPDATE disc_customers SET backup_phone = '(555) 010-4477'",
    )
    .await;
    exec(
        &db,
        "CREATE TABLE disc_leads (id INTEGER PRIMARY KEY, iban VARCHAR(40), card VARCHAR(30), \
         api VARCHAR(80), token TEXT, ssn VARCHAR(11), note VARCHAR(100))",
    )
    .await;
    for (n, (iban, card, api, ssn, note)) in LEADS.iter().enumerate() {
        exec(
            &db,
            &format!(
                "INSERT INTO disc_leads VALUES ({n}, '{iban}', '{card}', '{api}', '{JWT}', '{ssn}', '{note}')"
            ),
        )
        .await;
    }

    if kind == Kind::Sqlite {
        // Names from the catalogue are quoted, never pasted: a table and a column whose
        // names hold a quote, a space and a dash are sampled like any other.
        exec(
            &db,
            r#"CREATE TABLE "odd ""quoted"" table" ("e-mail" TEXT, "row id" INTEGER PRIMARY KEY)"#,
        )
        .await;
        exec(
            &db,
            r#"INSERT INTO "odd ""quoted"" table" VALUES ('a@example.com', 1), ('b@example.com', 2)"#,
        )
        .await;
        let all: Vec<_> = models.models.iter().collect();
        let found = discover(&store, &all, DiscoverOptions::default())
            .await
            .unwrap();
        let odd = found
            .found
            .iter()
            .find(|f| f.table == r#"odd "quoted" table"#)
            .unwrap_or_else(|| panic!("{found:#?}"));
        assert_eq!((odd.column.as_str(), odd.matches), ("e-mail", 2));
        exec(&db, r#"DROP TABLE "odd ""quoted"" table""#).await;
    }

    let all: Vec<_> = models.models.iter().collect();
    let found = discover(&store, &all, DiscoverOptions::default())
        .await
        .unwrap();
    let mut got: Vec<(String, String, &str, Option<String>, bool)> = found
        .found
        .iter()
        .map(|f| {
            (
                f.table.clone(),
                f.column.clone(),
                f.kind.as_str(),
                f.model.clone(),
                f.declared,
            )
        })
        .collect();
    got.sort();
    let customer_col = |c: &str, k: &'static str, declared: bool| {
        (
            "disc_customers".to_string(),
            c.to_string(),
            k,
            Some("Customer".to_string()),
            declared,
        )
    };
    let lead = |c: &str, k: &'static str| ("disc_leads".to_string(), c.to_string(), k, None, false);
    assert_eq!(
        got,
        [
            customer_col("backup_phone", "phone", false),
            customer_col("contact_email", "email", true),
            customer_col("legacy_secret", "fernet_token", true),
            lead("api", "api_key"),
            lead("card", "card"),
            lead("iban", "iban"),
            lead("ssn", "ssn"),
            lead("token", "jwt"),
        ],
        "{kind:?}: {found:#?}"
    );
    // The encrypted column and timber's own tables were not read; the others were.
    assert_eq!(found.tables, 2, "{found:#?}");
    assert_eq!(found.columns, 5 + 7, "{found:#?}");
    let email = found
        .found
        .iter()
        .find(|f| f.column == "contact_email")
        .unwrap();
    assert_eq!((email.matches, email.values, email.rows), (20, 20, 20));

    // Counts, never values.
    let json = found.to_json().to_string();
    let text = found.to_text();
    let suggestion = suggest_yaml(&found, &all);
    for out in [&json, &text, &suggestion] {
        for value in [
            "@example", "DE8937", "4111111", "sk_live", "078-05", "(555)", "gAAAA",
        ] {
            assert!(!out.contains(value), "{value} in {out}");
        }
    }
    assert!(
        suggestion.contains("  - name: Customer")
            && suggestion.contains(
                "      - name: contact_email\n        type: String(255)\n        encrypted: true"
            )
            && suggestion.contains("not in the model yet: the table disc_customers has it")
            && suggestion.contains("table_name: disc_leads")
            && suggestion
                .contains("      - name: id\n        type: Integer\n        primary_key: true"),
        "{suggestion}"
    );

    // Health warns once per column, naming the place.
    let report = health(&settings, &models, &store).await;
    let warned = of(&report, "data.undeclared_sensitive");
    assert_eq!(warned.len(), 8, "{}", dump(&report));
    assert!(warned.iter().all(|f| f.severity == Severity::Warn));
    let iban = warned
        .iter()
        .find(|f| f.evidence.column.as_deref() == Some("iban"))
        .unwrap();
    assert_eq!(iban.evidence.model, None);
    assert_eq!(iban.evidence.table.as_deref(), Some("disc_leads"));
    assert_eq!(iban.evidence.count, Some(3));
    assert!(iban.finding.contains("IBANs"), "{}", iban.finding);
    store.close().await;
    db.drop_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_finds_every_undeclared_kind_sqlite() {
    discovery_finds_every_undeclared_kind(Kind::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_finds_every_undeclared_kind_postgres() {
    discovery_finds_every_undeclared_kind(Kind::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_finds_every_undeclared_kind_mysql() {
    discovery_finds_every_undeclared_kind(Kind::Mysql).await;
}
