//! `timber audit` through the real binary on a real SQLite file: `--follow` prints an entry
//! another process writes (within a deadline), `--verify` exits 0 on an intact log and 2
//! naming the first broken entry after tampering, `--expect-head` catches a rollback, and
//! listing applies its filters.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::fixture::{ENCRYPTION_KEY, MASTER_KEY};
use crate::fixture_ring::ring;
use timber::audit::{Action, AuditLog};
use timber::store::Store;

/// The binary with a clean environment pointing at `db`, run from `dir` (no stray .env).
fn timber(dir: &Path, db: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_timber"));
    cmd.current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", db)
        .env("ENCRYPTION_KEY", ENCRYPTION_KEY)
        .env("MASTER_ENCRYPTION_KEY", MASTER_KEY)
        .env("TIMBER_MODELS", dir.join("models"))
        .env("TIMBER_USER", "cli-tester");
    cmd
}

async fn log_with_entries(dir: &Path, n: i64) -> (String, Store, AuditLog) {
    std::fs::create_dir_all(dir.join("models")).unwrap();
    let url = format!("sqlite://{}", dir.join("audit.db").display());
    let mut config = timber::store::StoreConfig::from_url(&url).unwrap();
    config.create_if_missing = true;
    let store = Store::connect(config).await.unwrap();
    store.init(&[]).await.unwrap();
    let log = AuditLog::open(&store, &ring()).await.unwrap();
    for i in 1..=n {
        let facts = serde_json::json!({ "reason": format!("case {i}") });
        let actor = if i % 2 == 0 { "bob" } else { "ana" };
        log.record(
            actor,
            Action::Reveal,
            Some("patients"),
            Some(&i.to_string()),
            &["email".into()],
            Some(facts),
        )
        .await
        .unwrap();
    }
    (url, store, log)
}

#[tokio::test]
async fn follow_prints_an_entry_written_by_another_process() {
    let dir = tempfile::tempdir().unwrap();
    let (url, _store, log) = log_with_entries(dir.path(), 2).await;
    let mut child = timber(dir.path(), &url)
        .args(["audit", "--follow", "--format", "json", "--limit", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn timber audit --follow");
    let (tx, rx) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    // The backlog (the newest entry) arrives first: the follower is running.
    let first = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("backlog line");
    let first: serde_json::Value = serde_json::from_str(&first).unwrap();
    assert_eq!(first["id"], 2);

    let written = log
        .record(
            "carol",
            Action::KeyRetire,
            None,
            None,
            &[],
            Some(serde_json::json!({"key": "old_1"})),
        )
        .await
        .unwrap();
    // Correctness deadline (not a benchmark): polling backs off to at most 1 s.
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut seen = None;
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        let Ok(line) = rx.recv_timeout(left) else {
            break;
        };
        let json: serde_json::Value = serde_json::from_str(&line).unwrap();
        if json["id"] == written {
            seen = Some(json);
            break;
        }
    }
    child.kill().ok();
    let mut narration = String::new();
    if let Some(mut err) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut err, &mut narration);
    }
    let _ = child.wait();
    let seen =
        seen.unwrap_or_else(|| panic!("entry {written} not printed in time; stderr: {narration}"));
    assert_eq!(seen["actor"], "carol");
    assert_eq!(seen["action"], "key.retire");
    assert!(seen.get("detail").is_none(), "listings never print detail");
}

#[tokio::test]
async fn verify_exits_2_naming_the_first_broken_entry() {
    let dir = tempfile::tempdir().unwrap();
    let (url, store, _log) = log_with_entries(dir.path(), 6).await;
    let out = timber(dir.path(), &url)
        .args(["audit", "--verify", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["ok"], true);
    assert_eq!(report["entries"], 6);
    let head = report["head"].as_str().unwrap().to_string();
    assert_eq!(head.len(), 64);

    // Someone with database access rewrites the reason of entry 3.
    let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(&url)
        .await
        .unwrap();
    sqlx::raw_sql("UPDATE timber_audit_log SET actor = 'nobody' WHERE id = 3")
        .execute(&mut conn)
        .await
        .unwrap();
    let out = timber(dir.path(), &url)
        .args(["audit", "--verify"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("BROKEN at entry 3") && text.contains("altered"),
        "{text}"
    );

    // Put it back, then roll back the newest two entries together with the head row (a head
    // copied when entry 4 was newest): only --expect-head catches it.
    sqlx::raw_sql("UPDATE timber_audit_log SET actor = 'ana' WHERE id = 3")
        .execute(&mut conn)
        .await
        .unwrap();
    let old = timber::audit::query::list(&store, &Default::default(), Some(5), 1)
        .await
        .unwrap();
    let fourth = &old[0];
    let mac = timber::audit::head_for(
        &ring().audit_key().unwrap(),
        4,
        &timber::audit::from_hex(&fourth.entry_hash).unwrap(),
    );
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DELETE FROM timber_audit_log WHERE id > 4; UPDATE timber_audit_head SET entry_id = 4, \
         entry_hash = '{}', mac = '{}'",
        mac.last_hash, mac.head_mac
    )))
    .execute(&mut conn)
    .await
    .unwrap();
    let plain = timber(dir.path(), &url)
        .args(["audit", "--verify"])
        .output()
        .unwrap();
    assert_eq!(
        plain.status.code(),
        Some(0),
        "the documented limit: a restored head looks valid"
    );
    let out = timber(dir.path(), &url)
        .args([
            "audit",
            "--verify",
            "--expect-head",
            &head,
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["damage"], "expected_head_not_found");

    let out = timber(dir.path(), &url)
        .args(["audit", "--verify", "--expect-head", "xyz"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--expect-head"));
}

#[tokio::test]
async fn listing_is_newest_first_and_filtered() {
    let dir = tempfile::tempdir().unwrap();
    let (url, _store, _log) = log_with_entries(dir.path(), 5).await;
    let run = |args: &[&str]| {
        let out = timber(dir.path(), &url).args(args).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let ids = |text: String| -> Vec<i64> {
        text.lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["id"]
                    .as_i64()
                    .unwrap()
            })
            .collect()
    };
    assert_eq!(ids(run(&["audit", "--format", "json"])), [5, 4, 3, 2, 1]);
    assert_eq!(
        ids(run(&["audit", "--format", "json", "--actor", "bob"])),
        [4, 2]
    );
    assert_eq!(
        ids(run(&[
            "audit", "--format", "json", "--limit", "2", "--before", "4"
        ])),
        [3, 2]
    );
    assert_eq!(
        ids(run(&["audit", "--format", "json", "--grep", "case 3"])),
        [3]
    );
    assert_eq!(
        ids(run(&[
            "audit",
            "--format",
            "json",
            "--model",
            "other_table"
        ])),
        Vec::<i64>::new()
    );
    assert_eq!(
        ids(run(&["audit", "--format", "json", "--since", "1h"])).len(),
        5
    );
    let text = run(&["audit", "--limit", "1"]);
    assert!(
        text.starts_with("#5  ") && text.contains("ana  reveal  patients/5  [email]"),
        "{text}"
    );
    let out = timber(dir.path(), &url)
        .args(["audit", "--since", "last tuesday"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--since `last tuesday` is not a time"));
}

const SHOW_MODELS: &str = r#"
models:
  - name: Patient
    table_name: patients
    columns:
      - { name: id, type: Integer, primary_key: true }
      - { name: email, type: String(255), encrypted: true }
      - { name: ward, type: String(20) }
"#;

const SHOW_POLICY: &str = r#"
default_role: viewer
roles:
  analyst: { default: reveal, require_reason: true, actions: [reveal] }
  viewer: { default: redact }
"#;

/// Entry 3 records an update of patient 3 with its old and new email (encrypted detail).
async fn log_with_a_write(dir: &Path) -> (String, Store, AuditLog, i64) {
    let (url, store, log) = log_with_entries(dir, 2).await;
    std::fs::write(dir.join("models/patients.yaml"), SHOW_MODELS).unwrap();
    std::fs::write(dir.join("policy.yaml"), SHOW_POLICY).unwrap();
    let entry = log
        .append(timber::audit::NewEntry {
            actor: "app".into(),
            action: Action::Update,
            table_name: Some("patients".into()),
            record_id: Some("3".into()),
            fields: vec!["email".into(), "ward".into()],
            detail: timber::audit::Detail::Values(serde_json::json!({
                "old": { "email": "qz.private.ann@example.com", "ward": "A" },
                "new": { "email": "qz.private.ann2@example.org", "ward": "B" },
            })),
        })
        .await
        .unwrap();
    (url, store, log, entry.id)
}

fn show(dir: &Path, url: &str, role: &str, args: &[&str]) -> std::process::Output {
    timber(dir, url)
        .env("TIMBER_POLICY", dir.join("policy.yaml"))
        .env("TIMBER_ROLE", role)
        .arg("audit")
        .args(args)
        .output()
        .unwrap()
}

async fn reveal_entries(store: &Store) -> Vec<timber::audit::AuditEntry> {
    let filter = timber::audit::AuditFilter {
        action: Some("reveal".into()),
        text: Some("audit_entry".into()),
        ..Default::default()
    };
    timber::audit::query::list(store, &filter, None, 10)
        .await
        .unwrap()
}

#[tokio::test]
async fn show_masks_changed_values_unless_revealed_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let (url, store, _log, id) = log_with_a_write(dir.path()).await;
    let id_text = id.to_string();

    // Masked for the role, in JSON: plain columns as they are, hashes whole.
    let out = show(
        dir.path(),
        &url,
        "viewer",
        &["--show", &id_text, "--format", "json"],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!stdout.contains("qz.private"), "{stdout}");
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(json["id"], id);
    assert_eq!(json["action"], "update");
    assert_eq!(json["entry_hash"].as_str().unwrap().len(), 64);
    assert_eq!(json["changes"][0]["field"], "email");
    assert_eq!(json["changes"][0]["old"], "••••••");
    assert_eq!(json["changes"][1]["old"], "A");
    assert_eq!(json["changes"][1]["new"], "B");
    assert_eq!(json["revealed_by"], serde_json::Value::Null);

    // Plain facts of another entry are shown as they are.
    let out = show(dir.path(), &url, "viewer", &["--show", "1"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("audit entry #1") && text.contains("case 1"),
        "{text}"
    );

    // The viewer may not reveal: refused, nothing written.
    let out = show(
        dir.path(),
        &url,
        "viewer",
        &["--show", &id_text, "--reveal", "--reason", "x"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("may not reveal"));
    // The analyst must give a reason.
    let out = show(
        dir.path(),
        &url,
        "analyst",
        &["--show", &id_text, "--reveal"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("must give a reason"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(reveal_entries(&store).await.is_empty());

    // With a reason: the values, after the reveal's own audit entry.
    let out = show(
        dir.path(),
        &url,
        "analyst",
        &[
            "--show",
            &id_text,
            "--reveal",
            "--reason",
            "CASE-12 complaint",
        ],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("qz.private.ann@example.com"), "{text}");
    assert!(text.contains("qz.private.ann2@example.org"), "{text}");
    let reveals = reveal_entries(&store).await;
    assert_eq!(reveals.len(), 1);
    let entry = &reveals[0];
    assert_eq!(entry.content.actor, "cli-tester");
    assert_eq!(entry.content.record_id.as_deref(), Some("3"));
    assert_eq!(entry.content.fields, vec!["email".to_string()]);
    let facts = timber::audit::read_detail(&ring(), entry).unwrap().unwrap();
    assert_eq!(facts["reason"], "CASE-12 complaint");
    assert_eq!(facts["audit_entry"], id);
    assert!(String::from_utf8_lossy(&out.stderr).contains(&format!("audit entry {}", entry.id)));

    // JSON of a reveal: typed values and the entry that recorded it.
    let out = show(
        dir.path(),
        &url,
        "analyst",
        &[
            "--show", &id_text, "--reveal", "--reason", "again", "--format", "json",
        ],
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["changes"][0]["new"], "qz.private.ann2@example.org");
    assert!(json["revealed_by"].as_i64().unwrap() > id);

    // An id that is not in the log.
    let out = show(dir.path(), &url, "viewer", &["--show", "999"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no audit entry with id 999"));
}
