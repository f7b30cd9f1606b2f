//! No plaintext leaks through masking: every column of a seeded table (every column type,
//! encrypted, plain and rule-hidden) is rendered under every role of a policy that uses
//! every level, in every output form (JSON lines, table text, `Debug`), and no canary of a
//! field the role may not reveal appears anywhere. Positive control: after an audited
//! export reveal, the canaries of the fields the role may reveal DO appear, so the check
//! can see a leak when there is one.

use crate::store_support;

use std::path::Path;

use crate::fixture::models;
use crate::fixture_ring::ring;
use chrono::NaiveDate;
use store_support::{Kind, TestDb};
use timber::access::{Access, Cell, Identity, MaskHasher, RowsRequest, ViewRow};
use timber::audit::AuditLog;
use timber::config::{ModelDef, parse_policy};
use timber::store::{PageRequest, Store, WriteContext};
use timber::value::Value;

const MODELS: &str = r#"
models:
  - name: Patient
    table_name: patients
    columns:
      - { name: id, type: String(36), primary_key: true }
      - { name: user_id, type: String(36) }
      - { name: email, type: String(255), encrypted: true }
      - { name: phone, type: String(50), encrypted: true }
      - { name: notes, type: Text, encrypted: true }
      - { name: api_key, type: String(100), encrypted: true }
      - { name: visits, type: Integer, encrypted: true }
      - { name: account, type: BigInteger, encrypted: true }
      - { name: weight, type: Float, encrypted: true }
      - { name: balance, type: "Numeric(12,2)", encrypted: true }
      - { name: flagged, type: Boolean, encrypted: true }
      - { name: born, type: Date, encrypted: true }
      - { name: seen_at, type: DateTime, encrypted: true }
      - { name: profile, type: JSON, encrypted: true }
      - { name: scan, type: LargeBinary, encrypted: true }
      - { name: ward, type: String(20) }
      - { name: ssn_plain, type: String(20) }
"#;

// Every role may reveal and export (`actions`), so the field levels alone decide what leaks.
const POLICY: &str = r#"
default_role: viewer
owner_sees_own: true
roles:
  security_admin: { default: reveal, require_reason: true, actions: [reveal, export] }
  support:
    default: partial
    fields: { "Patient.notes": redact, "*.api_key": hidden, "Patient.ssn_plain": hidden, "Patient.email": reveal }
    actions: [reveal, export]
  analyst:
    default: redact
    fields: { "Patient.*": hash, "*.born": partial }
    actions: [reveal, export]
  auditor: { default: redact, actions: [reveal, export] }
  viewer: { default: hidden, actions: [reveal, export] }
"#;

const SECRETS: [&str; 13] = [
    "email", "phone", "notes", "api_key", "visits", "account", "weight", "balance", "flagged",
    "born", "seen_at", "profile", "scan",
];

/// Per role: the fields whose plaintext it may see (after an audited reveal for secrets).
fn may_reveal(role: &str) -> Vec<&'static str> {
    let plain = ["id", "user_id", "ward"];
    let mut allowed: Vec<&str> = plain.to_vec();
    match role {
        "security_admin" => allowed.extend(SECRETS.iter().copied().chain(["ssn_plain"])),
        "support" => allowed.push("email"),
        "analyst" | "auditor" | "viewer" => allowed.push("ssn_plain"),
        other => panic!("unexpected role {other}"),
    }
    allowed
}

fn canary_row(n: usize) -> Vec<(String, Value)> {
    let born = NaiveDate::from_ymd_opt(1971, 8, 19).unwrap();
    let t = |s: &str| Value::Text(s.to_string());
    vec![
        ("id".into(), t(&format!("row-{n}"))),
        ("user_id".into(), t(&format!("owner-{n}"))),
        ("email".into(), t(&format!("zqcanary{n}.mail@example.org"))),
        ("phone".into(), t("+44 20 7946 0958")),
        ("notes".into(), t("ZQ-CANARY-NOTES kept in the vault")),
        ("api_key".into(), t("sk_live_ZQCANARYKEY")),
        ("visits".into(), Value::Int(73915)),
        ("account".into(), Value::Int(8_675_309_123)),
        ("weight".into(), Value::Float(61.73)),
        ("balance".into(), Value::Numeric("98765.43".into())),
        ("flagged".into(), Value::Bool(true)),
        ("born".into(), Value::Date(born)),
        (
            "seen_at".into(),
            Value::DateTime(born.and_hms_micro_opt(7, 41, 22, 500_000).unwrap()),
        ),
        (
            "profile".into(),
            Value::Json(serde_json::json!({"diagnosis": "ZQCANARYDX", "score": 0.8123})),
        ),
        ("scan".into(), Value::Bytes(b"ZQCANARYSCAN".to_vec())),
        ("ward".into(), t("W-7")),
        ("ssn_plain".into(), t("999-12-3456")),
    ]
}

/// Substrings that would mean a field's plaintext leaked (beyond what its level documents:
/// an email's first letter and domain, a phone's last four digits, a date's year).
fn canaries(field: &str) -> Vec<String> {
    let v: &[&str] = match field {
        "email" => &["zqcanary"],
        "phone" => &["7946", "+44 20"],
        "notes" => &["CANARY-NOTES", "vault"],
        "api_key" => &["ZQCANARYKEY", "sk_live"],
        "visits" => &["73915"],
        "account" => &["8675309123"],
        "weight" => &["61.73"],
        "balance" => &["98765"],
        "born" => &["1971-08-19", "08-19"],
        "seen_at" => &["07:41", "1971-08-19"],
        "profile" => &["ZQCANARYDX", "0.8123"],
        // The bytes, their hex and their base64 (the encrypted plaintext form).
        "scan" => &["ZQCANARYSCAN", "5a5143414e415259", "WlFDQU5BUllTQ0FO"],
        "ssn_plain" => &["999-12-3456"],
        _ => &[],
    };
    v.iter().map(|s| s.to_string()).collect()
}

/// Every output form a caller produces from rows: JSON lines, table text, Debug.
fn render(rows: &[ViewRow]) -> String {
    let mut out = String::new();
    for row in rows {
        out.push_str(&row.to_json().to_string());
        out.push('\n');
        let cells: Vec<String> = row.cells.iter().map(|(_, c)| c.display()).collect();
        out.push_str(&cells.join("\t"));
        out.push('\n');
        out.push_str(&format!("{row:?}\n"));
    }
    out
}

async fn seeded() -> (TestDb, Store, ModelDef) {
    let db = TestDb::new(Kind::Sqlite)
        .await
        .expect("sqlite is always available");
    let store = db.store().await;
    let model = models(MODELS).remove(0);
    store
        .init(std::slice::from_ref(&model))
        .await
        .expect("init");
    for n in 1..=2 {
        store
            .insert(&model, &ring(), &canary_row(n), WriteContext::default())
            .await
            .expect("insert");
    }
    (db, store, model)
}

fn access(role: &str, user: &str) -> Access {
    let policy = parse_policy(POLICY, Path::new("policy.yaml")).expect("policy");
    let identity = Identity::resolve(&policy, Some((role, "--role")), Some(user)).expect("role");
    Access::new(policy, identity, true, MaskHasher::for_ring(&ring())).expect("access")
}

#[tokio::test]
async fn no_role_sees_a_canary_it_may_not_reveal_in_any_output() {
    let (_db, store, model) = seeded().await;
    let page = store
        .page(&model, &ring(), &PageRequest::first(50))
        .await
        .expect("page");
    assert_eq!(page.records.len(), 2);
    let log = AuditLog::open(&store, &ring()).await.expect("audit log");
    for role in ["security_admin", "support", "analyst", "auditor", "viewer"] {
        let access = access(role, "someone-else");
        let allowed = may_reveal(role);
        // Masked by default, then with an audited export reveal.
        let grant = access
            .reveal_rows(&log, &model, &page.records, &export("canary test"))
            .await
            .expect("reveal");
        for grant in [None, grant.as_ref()] {
            let rows: Vec<ViewRow> = page
                .records
                .iter()
                .map(|r| access.mask_row(&model, r, grant))
                .collect();
            let output = render(&rows);
            for field in model.columns.iter().map(|c| c.name.as_str()) {
                if allowed.contains(&field) && grant.is_some() {
                    continue;
                }
                if allowed.contains(&field) && !SECRETS.contains(&field) {
                    continue; // plain columns are shown without a reveal
                }
                for canary in canaries(field) {
                    assert!(
                        !output.contains(&canary),
                        "role {role} (grant: {}) leaked {field} ({canary}):\n{output}",
                        grant.is_some()
                    );
                }
                for row in &rows {
                    let cell = row.cell(field).unwrap();
                    assert!(
                        !matches!(cell, Cell::Revealed(_)),
                        "role {role}: {field} is {cell:?}"
                    );
                }
            }
            // Hidden columns are absent from exports.
            for row in &rows {
                let json = row.to_json();
                for (name, cell) in &row.cells {
                    assert_eq!(json.get(name).is_none(), cell.is_hidden(), "{role} {name}");
                }
            }
        }
        // Positive control: what the role may reveal does appear once revealed.
        if let Some(grant) = &grant {
            let rows: Vec<ViewRow> = page
                .records
                .iter()
                .map(|r| access.mask_row(&model, r, Some(grant)))
                .collect();
            let output = render(&rows);
            for field in allowed.iter().filter(|f| SECRETS.contains(f)) {
                let canaries = canaries(field);
                // `flagged` (a boolean) has no canary text; its revealed cell is checked below.
                assert!(
                    canaries.is_empty() || canaries.iter().any(|c| output.contains(c)),
                    "{role}: revealed {field} shows none of {canaries:?}"
                );
            }
            let flagged = rows[0].cell("flagged").unwrap();
            if allowed.contains(&"flagged") {
                assert_eq!(flagged, &Cell::Revealed(Value::Bool(true)));
            }
        }
    }
    store.close().await;
}

fn export(reason: &str) -> RowsRequest {
    RowsRequest {
        scope: "export".into(),
        export: true,
        reason: Some(reason.into()),
        filter: serde_json::Value::Null,
    }
}

/// The owner rule shows the user's own row in plaintext, and nobody else's, but only under
/// the grant of an audited reveal that lists the row (issue 13 item 3): without one the
/// own row is masked like any other.
#[tokio::test]
async fn owner_sees_own_row_and_nobody_else_does() {
    let (_db, store, model) = seeded().await;
    let page = store
        .page(&model, &ring(), &PageRequest::first(50))
        .await
        .expect("page");
    let access = access("auditor", "owner-1");
    let unaudited: Vec<ViewRow> = page
        .records
        .iter()
        .map(|r| access.mask_row(&model, r, None))
        .collect();
    let shown = render(&unaudited);
    assert!(
        !shown.contains("zqcanary1"),
        "no entry, no plaintext: {shown}"
    );
    assert!(unaudited.iter().all(|r| !r.own_row));

    let log = AuditLog::open(&store, &ring()).await.expect("audit log");
    let request = RowsRequest {
        scope: "page".into(),
        ..RowsRequest::default()
    };
    let grant = access
        .reveal_rows(&log, &model, &page.records, &request)
        .await
        .expect("reveal")
        .expect("the own row is revealed");
    assert_eq!(grant.own_rows(), 1);
    let rows: Vec<ViewRow> = page
        .records
        .iter()
        .map(|r| access.mask_row(&model, r, Some(&grant)))
        .collect();
    let own = rows
        .iter()
        .find(|r| r.id == Value::Text("row-1".into()))
        .unwrap();
    let other = rows
        .iter()
        .find(|r| r.id == Value::Text("row-2".into()))
        .unwrap();
    assert!(own.own_row && !other.own_row);
    assert_eq!(
        own.cell("email"),
        Some(&Cell::Revealed(Value::Text(
            "zqcanary1.mail@example.org".into()
        )))
    );
    let other_out = render(std::slice::from_ref(other));
    assert!(!other_out.contains("zqcanary2"), "{other_out}");
    for field in SECRETS {
        assert!(
            matches!(other.cell(field), Some(Cell::Masked { .. })),
            "{field}"
        );
    }
    let entries = timber::audit::query::list(&store, &Default::default(), None, 10)
        .await
        .expect("entries");
    assert_eq!(entries.len(), 1);
    let detail = timber::audit::read_detail(&ring(), &entries[0])
        .unwrap()
        .unwrap();
    assert_eq!(detail["ids"], serde_json::json!(["row-1"]), "{detail}");
    assert_eq!(entries[0].content.record_id.as_deref(), Some("row-1"));
    store.close().await;
}
