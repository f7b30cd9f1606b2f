//! `timber browse` honours the role, through the real binary: masked by default in every
//! format, `--reveal` shows only what the role may reveal and writes exactly ONE audit entry
//! for the whole export, a role that requires a reason is refused without one (and nothing
//! is printed or recorded), and an unknown role is a clear error listing the roles.

mod store_support;

use std::path::Path;
use std::process::{Command, Output};

use store_support::{ENCRYPTION_KEY, MASTER_KEY, models, ring};
use timber::audit::query::{self, AuditFilter};
use timber::store::{Store, StoreConfig, WriteContext};
use timber::value::Value;

const MODELS: &str = r#"
models:
  - name: Member
    table_name: members
    columns:
      - { name: id, type: Integer, primary_key: true }
      - { name: user_id, type: String(36) }
      - { name: email, type: String(255), encrypted: true }
      - { name: api_key, type: String(100), encrypted: true }
      - { name: notes, type: Text, encrypted: true }
"#;

const POLICY: &str = r#"
default_role: viewer
owner_sees_own: true
roles:
  security_admin: { default: reveal, require_reason: true, actions: [reveal, export] }
  support:
    default: partial
    fields: { "Member.email": reveal, "*.api_key": hidden }
    actions: [reveal, export]
  reviewer:
    fields: { "Member.email": reveal }
    actions: [reveal]
  viewer: { default: redact }
"#;

fn email(n: i64) -> String {
    format!("xkcanary{n}@example.com")
}

async fn seeded(dir: &Path) -> (String, Store) {
    std::fs::create_dir_all(dir.join("models")).unwrap();
    std::fs::write(dir.join("models/members.yaml"), MODELS).unwrap();
    std::fs::write(dir.join("policy.yaml"), POLICY).unwrap();
    let url = format!("sqlite://{}", dir.join("m.db").display());
    let mut config = StoreConfig::from_url(&url).unwrap();
    config.create_if_missing = true;
    let store = Store::connect(config).await.unwrap();
    let model = models(MODELS).remove(0);
    store.init(std::slice::from_ref(&model)).await.unwrap();
    for n in 1..=3 {
        let fields = vec![
            ("id".to_string(), Value::Int(n)),
            ("user_id".to_string(), Value::Text(format!("member-{n}"))),
            ("email".to_string(), Value::Text(email(n))),
            ("api_key".to_string(), Value::Text(format!("XKAPIKEY{n}"))),
            (
                "notes".to_string(),
                Value::Text(format!("XKNOTES {n} private")),
            ),
        ];
        store
            .insert(&model, &ring(), &fields, WriteContext::default())
            .await
            .unwrap();
    }
    (url, store)
}

fn browse(dir: &Path, url: &str, role: &str, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_timber"))
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", url)
        .env("ENCRYPTION_KEY", ENCRYPTION_KEY)
        .env("MASTER_ENCRYPTION_KEY", MASTER_KEY)
        .env("TIMBER_MODELS", dir.join("models"))
        .env("TIMBER_POLICY", dir.join("policy.yaml"))
        .env("TIMBER_USER", "operator")
        .args(["--role", role, "browse", "Member"])
        .args(extra)
        .output()
        .unwrap()
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

async fn reveal_entries(store: &Store) -> Vec<timber::audit::AuditEntry> {
    let f = AuditFilter {
        action: Some("reveal".into()),
        ..AuditFilter::default()
    };
    query::list(store, &f, None, 100).await.unwrap()
}

#[tokio::test]
async fn browse_is_masked_by_default_in_every_format_for_every_role() {
    let dir = tempfile::tempdir().unwrap();
    let (url, store) = seeded(dir.path()).await;
    for role in ["security_admin", "support", "viewer"] {
        for format in ["json", "csv", "table"] {
            let o = browse(dir.path(), &url, role, &["--format", format]);
            assert!(
                o.status.success(),
                "{role} {format}: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            let text = out(&o);
            for leak in ["xkcanary", "XKAPIKEY", "XKNOTES", "private"] {
                assert!(
                    !text.contains(leak),
                    "{role} {format} shows {leak}:\n{text}"
                );
            }
            assert!(text.contains("member-2"), "plain columns are shown: {text}");
        }
    }
    // The roles' masks differ as the policy says.
    let json = out(&browse(dir.path(), &url, "support", &["--format", "json"]));
    let row: serde_json::Value = serde_json::from_str(json.lines().next().unwrap()).unwrap();
    assert_eq!(row["email"], "x***@example.com");
    assert!(row.get("api_key").is_none(), "hidden column absent: {row}");
    assert_eq!(row["notes"], "XK***");
    let csv = out(&browse(dir.path(), &url, "support", &["--format", "csv"]));
    assert!(csv.starts_with("id,user_id,email,notes\n"), "{csv}");
    let json = out(&browse(dir.path(), &url, "viewer", &["--format", "json"]));
    let row: serde_json::Value = serde_json::from_str(json.lines().next().unwrap()).unwrap();
    assert_eq!(row["email"], "••••••");
    assert!(
        reveal_entries(&store).await.is_empty(),
        "masked browsing writes no entry"
    );
}

#[tokio::test]
async fn reveal_shows_what_the_role_may_with_one_audit_entry() {
    let dir = tempfile::tempdir().unwrap();
    let (url, store) = seeded(dir.path()).await;
    let o = browse(
        dir.path(),
        &url,
        "support",
        &["--reveal", "--format", "json"],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = out(&o);
    for n in 1..=3 {
        assert!(text.contains(&email(n)), "support may reveal email: {text}");
    }
    assert!(
        !text.contains("XKNOTES") && !text.contains("XKAPIKEY"),
        "{text}"
    );
    let entries = reveal_entries(&store).await;
    assert_eq!(entries.len(), 1, "one entry for the whole export");
    assert_eq!(entries[0].content.actor, "operator");
    assert_eq!(entries[0].content.record_id, None);
    assert_eq!(entries[0].content.fields, vec!["email".to_string()]);

    // A role that requires a reason: refused without one, nothing printed or recorded.
    let refused = browse(dir.path(), &url, "security_admin", &["--reveal"]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(out(&refused).is_empty());
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(
        err.contains("must give a reason") && err.contains("--reason"),
        "{err}"
    );
    assert_eq!(reveal_entries(&store).await.len(), 1);

    let o = browse(
        dir.path(),
        &url,
        "security_admin",
        &["--reveal", "--reason", "INC-7", "--format", "csv"],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(out(&o).contains("XKNOTES 3 private") && out(&o).contains("XKAPIKEY1"));
    let entries = reveal_entries(&store).await;
    assert_eq!(entries.len(), 2);
    let detail = timber::audit::read_detail(&ring(), &entries[0])
        .unwrap()
        .unwrap();
    assert_eq!(detail["reason"], "INC-7");
    assert_eq!(detail["scope"], "export");
}

#[tokio::test]
async fn unknown_role_lists_the_roles() {
    let dir = tempfile::tempdir().unwrap();
    let (url, _store) = seeded(dir.path()).await;
    let o = browse(dir.path(), &url, "root", &[]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("unknown role `root`"), "{err}");
    assert!(err.contains("security_admin, support, viewer"), "{err}");
    assert!(out(&o).is_empty());
}

/// `browse --reveal` writes plaintext out of the console, so it needs `export` as well as
/// `reveal`: a role that may reveal email cell by cell (`reviewer`) is refused the export,
/// and a role granted neither (`viewer`) too, each with one line naming the missing action
/// and the policy file; nothing is printed and no audit entry is written.
#[tokio::test]
async fn an_export_reveal_needs_the_export_action() {
    let dir = tempfile::tempdir().unwrap();
    let (url, store) = seeded(dir.path()).await;
    for (role, missing) in [("reviewer", "export"), ("viewer", "reveal")] {
        let o = browse(dir.path(), &url, role, &["--reveal", "--format", "json"]);
        assert_eq!(o.status.code(), Some(2), "{role}");
        assert!(out(&o).is_empty(), "{role}: nothing printed: {}", out(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.contains(&format!("role {role} may not"))
                && err.contains(&format!("policy.yaml grants it no \"{missing}\" action")),
            "{err}"
        );
    }
    assert!(
        reveal_entries(&store).await.is_empty(),
        "no reveal recorded"
    );
    // Masked browsing needs no action.
    let o = browse(dir.path(), &url, "reviewer", &["--format", "json"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(!out(&o).contains("xkcanary"), "{}", out(&o));
}
