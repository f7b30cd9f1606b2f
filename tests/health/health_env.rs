//! Key and environment findings: a master key equal to the primary, published demo keys
//! (a failure only in production), low-entropy keys, key age against the strictest
//! schedule, an old key no value uses any more, and `*_API_KEY` variables in plaintext.
//! SQLite only: these checks read the configuration, the scan is the same on every backend.

use crate::health_support;
use crate::store_support;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE;
use chrono::{Duration, Utc};
use health_support::*;
use store_support::{Kind, TestDb};
use timber::config::ModelSet;
use timber::crypto::{KeyChoice, KeyRing};
use timber::demo::DEMO_PRIMARY_KEY;
use timber::health::{HealthOptions, Selection, Severity, run_health};
use timber::store::Store;
use timber::value::Value;

const VAULT: &str = r#"
models:
  - name: Vault
    table_name: env_vault
    classification: critical
    columns:
      - {name: id, type: String(36), primary_key: true}
      - {name: secret, type: Text, encrypted: true}
    mixins: [EncryptedFieldMixin, AuditMixin]
"#;

struct World {
    dir: tempfile::TempDir,
    _db: TestDb,
    url: String,
    models: ModelSet,
    store: Store,
    primary: String,
}

/// Six rows encrypted under a fresh primary key.
async fn world() -> World {
    let db = TestDb::new(Kind::Sqlite).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let models = models(dir.path(), VAULT);
    let primary = new_key();
    let ring = KeyRing::builder()
        .primary(&primary, "ENCRYPTION_KEY")
        .unwrap()
        .build()
        .unwrap();
    let store = db.store().await;
    let vault = models.find("Vault").unwrap();
    store.init(std::slice::from_ref(vault)).await.unwrap();
    let rows: Vec<Vec<(String, Value)>> = (1..=6)
        .map(|n| {
            vec![
                ("id".into(), Value::Text(format!("v{n}"))),
                ("secret".into(), Value::Text(format!("s{n}"))),
            ]
        })
        .collect();
    store.insert_many(vault, &ring, &rows, None).await.unwrap();
    World {
        url: db.url.clone(),
        _db: db,
        dir,
        models,
        store,
        primary,
    }
}

impl World {
    /// Base variables (valid, distinct keys, a recent rotation) with `changes` applied.
    fn vars(&self, changes: &[(&'static str, Option<String>)]) -> Vec<(&'static str, String)> {
        let recent = (Utc::now().date_naive() - Duration::days(5)).to_string();
        let mut vars = vec![
            ("DATABASE_URL", self.url.clone()),
            ("ENCRYPTION_KEY", self.primary.clone()),
            ("MASTER_ENCRYPTION_KEY", new_key()),
            ("KEY_ROTATION_DATE", recent),
        ];
        for (name, value) in changes {
            vars.retain(|(n, _)| n != name);
            if let Some(v) = value {
                vars.push((*name, v.clone()));
            }
        }
        vars
    }

    async fn report(
        &self,
        changes: &[(&'static str, Option<String>)],
    ) -> timber::health::HealthReport {
        let settings = settings(&self.vars(changes), self.dir.path());
        health(&settings, &self.models, &self.store).await
    }
}

fn b64(bytes: &[u8; 32]) -> String {
    URL_SAFE.encode(bytes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn master_equal_to_primary_fails_and_data_is_still_scanned() {
    let w = world().await;
    let r = w
        .report(&[("MASTER_ENCRYPTION_KEY", Some(w.primary.clone()))])
        .await;
    let f = at(&r, "key.master", None, None);
    assert_eq!(f.severity, Severity::Fail);
    assert!(
        f.finding.contains("same key as ENCRYPTION_KEY"),
        "{}",
        f.finding
    );
    assert_eq!(
        at(&r, "key.distinct", None, None).severity,
        Severity::Ok,
        "reported once, by key.master"
    );
    // The scan runs with the usable keys: the data under the primary still reads.
    all_ok(
        &r,
        &["data.plaintext", "data.undecryptable", "data.old_key"],
    );
    assert_eq!(r.exit_code(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_demo_key_fails_in_production_and_warns_elsewhere() {
    let w = world().await;
    let demo = [("ENCRYPTION_KEY_OLD", Some(DEMO_PRIMARY_KEY.to_string()))];
    let f = at(&w.report(&demo).await, "key.weak", None, None).clone();
    assert_eq!(f.severity, Severity::Warn);
    assert!(
        f.finding.contains("old_1") && f.finding.contains("demo key"),
        "{}",
        f.finding
    );
    let prod = [demo[0].clone(), ("OAK_ENV", Some("production".to_string()))];
    let r = w.report(&prod).await;
    let f = at(&r, "key.weak", None, None);
    assert_eq!(f.severity, Severity::Fail);
    assert!(f.finding.contains("production"), "{}", f.finding);
    assert_eq!(f.evidence.to_json()["variable"], "ENCRYPTION_KEY_OLD");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_byte_and_password_like_keys_are_weak() {
    let w = world().await;
    let r = w
        .report(&[
            ("ENCRYPTION_KEY_OLD", Some(b64(&[7u8; 32]))),
            (
                "TIMBER_KEY_LEGACY",
                Some(b64(b"Tr0ub4dor&3-My-Secret-Key-2024!!")),
            ),
        ])
        .await;
    let weak = of(&r, "key.weak");
    assert_eq!(weak.len(), 2, "{}", dump(&r));
    assert!(weak.iter().all(|f| f.severity == Severity::Warn));
    assert!(
        weak.iter()
            .any(|f| f.finding.contains("old_1") && f.finding.contains("1 distinct byte"))
    );
    assert!(
        weak.iter()
            .any(|f| f.finding.contains("legacy") && f.finding.contains("printable"))
    );
    // A fresh key is not weak.
    assert_eq!(
        at(&w.report(&[]).await, "key.weak", None, None).severity,
        Severity::Ok
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_age_follows_the_strictest_classification() {
    let w = world().await;
    let ago = |days: i64| Some((Utc::now().date_naive() - Duration::days(days)).to_string());
    let r = w.report(&[("KEY_ROTATION_DATE", ago(400))]).await;
    let f = at(&r, "key.age", Some("Vault"), None);
    assert_eq!((f.severity, f.evidence.count), (Severity::Fail, Some(400)));
    assert!(
        f.finding.contains("overdue") && f.finding.contains("90 days"),
        "{}",
        f.finding
    );
    let f = at(
        &w.report(&[("KEY_ROTATION_DATE", ago(100))]).await,
        "key.age",
        None,
        None,
    )
    .clone();
    assert_eq!((f.severity, f.evidence.count), (Severity::Warn, Some(100)));
    let f = at(
        &w.report(&[("KEY_ROTATION_DATE", ago(30))]).await,
        "key.age",
        None,
        None,
    )
    .clone();
    assert_eq!(f.severity, Severity::Ok);
    let f = at(
        &w.report(&[("KEY_ROTATION_DATE", None)]).await,
        "key.age",
        None,
        None,
    )
    .clone();
    assert_eq!(f.severity, Severity::Warn);
    assert!(
        f.finding.contains("KEY_ROTATION_DATE is not set"),
        "{}",
        f.finding
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unused_old_key_can_be_retired_but_not_on_a_sample() {
    let w = world().await;
    let old = new_key();
    let with_old = [("ENCRYPTION_KEY_OLD", Some(old.clone()))];
    let f = at(&w.report(&with_old).await, "key.old_needed", None, None).clone();
    assert_eq!((f.severity, f.evidence.count), (Severity::Warn, Some(0)));
    assert!(f.finding.contains("can be retired"), "{}", f.finding);

    // A sample that stops before the end of the table proves nothing about the rest.
    let settings = settings(&w.vars(&with_old), w.dir.path());
    let mut options = HealthOptions {
        selection: Selection::parse(&["key.old_needed"]).unwrap(),
        ..HealthOptions::default()
    };
    options.scan.sample = Some(2);
    let r = run_health(&settings, &w.models, &w.store, &options)
        .await
        .unwrap();
    assert_eq!(r.findings.len(), 1);
    assert_eq!(r.findings[0].severity, Severity::Ok);
    assert!(
        r.findings[0].finding.contains("scan fully"),
        "{}",
        r.findings[0].finding
    );

    // Once values are under it, it is needed.
    let ring = KeyRing::builder()
        .primary(&old, "ENCRYPTION_KEY")
        .unwrap()
        .build()
        .unwrap();
    let vault = w.models.find("Vault").unwrap();
    let row = vec![
        ("id".into(), Value::Text("v9".into())),
        ("secret".into(), Value::Text("s9".into())),
    ];
    w.store
        .insert_many(vault, &ring, &[row], None)
        .await
        .unwrap();
    let f = at(&w.report(&with_old).await, "key.old_needed", None, None).clone();
    assert_eq!((f.severity, f.evidence.count), (Severity::Ok, Some(1)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_keys_in_plaintext_are_named_and_encrypted_ones_pass() {
    let w = world().await;
    let ring = KeyRing::builder()
        .primary(&w.primary, "ENCRYPTION_KEY")
        .unwrap()
        .build()
        .unwrap();
    let column = w
        .models
        .find("Vault")
        .unwrap()
        .column("secret")
        .unwrap()
        .clone();
    let token = ring
        .encrypt_value(
            &Value::Text("pk_live_123".into()),
            &column,
            KeyChoice::Primary,
        )
        .unwrap();
    let r = w
        .report(&[
            ("ALPHA_VANTAGE_API_KEY", Some("AV-PLAINTEXT-0001".into())),
            ("POLYGON_API_KEY", Some(token)),
        ])
        .await;
    let f = at(&r, "env.plaintext_secret", None, None);
    assert_eq!(f.severity, Severity::Warn);
    assert!(
        f.finding
            .starts_with("ALPHA_VANTAGE_API_KEY holds plaintext"),
        "{}",
        f.finding
    );
    assert_eq!(f.evidence.to_json()["variable"], "ALPHA_VANTAGE_API_KEY");
    assert!(!format!("{}", r.to_json()).contains("AV-PLAINTEXT-0001"));
    let f = at(&w.report(&[]).await, "env.plaintext_secret", None, None).clone();
    assert_eq!(f.severity, Severity::Ok);
}
