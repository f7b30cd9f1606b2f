//! The audit log's history (issue 15): `timber init` begins every log with a genesis entry
//! signed as the first checkpoint, so a wiped log is named `wiped` (never "intact: 0
//! entries") by the keyed verify and by the public-key verify, and `init` refuses to begin
//! an emptied log again; the audit signing key is handed over with `timber audit
//! rotate-signing-key` (an entry of its own, the checkpoint over it signed by both keys),
//! auditors holding either public key follow the history, and neither a stolen old key nor
//! a handover forged with database access alone passes. On each backend.

use std::path::Path;
use std::process::{Command, Output};

use crate::audit_tamper::{LOG, tamper, ten_entries};
use crate::fixture::{ENCRYPTION_KEY, MASTER_KEY};
use crate::store_support::{Kind, TestDb};
use timber::audit::checkpoint::write_checkpoint;
use timber::audit::public_verify::verify_public;
use timber::crypto::signed_note::{self, NoteSigner};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The binary with the application's keys (and `extra` variables), access control off.
fn timber(dir: &Path, db: &TestDb, extra: &[(&str, &str)], args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_timber"));
    cmd.current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", &db.url)
        .env("ENCRYPTION_KEY", ENCRYPTION_KEY)
        .env("MASTER_ENCRYPTION_KEY", MASTER_KEY)
        .env("TIMBER_MODELS", "models")
        .env("ENABLE_ACCESS_CONTROL", "false");
    for (name, value) in extra {
        cmd.env(name, value);
    }
    cmd.args(args).output().expect("run timber")
}

/// `audit --verify --public-key FILE --format json` with nothing else in the environment.
fn public_verify(dir: &Path, db: &TestDb, key_file: &Path) -> (Option<i32>, serde_json::Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_timber"))
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", &db.url)
        .args(["audit", "--verify", "--public-key"])
        .arg(key_file)
        .args(["--format", "json"])
        .output()
        .expect("run timber");
    let json = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {} {}", text(&out.stdout), text(&out.stderr)));
    (out.status.code(), json)
}

/// The keyed verify (`audit --verify --format json`): exit code and report.
fn keyed_verify(dir: &Path, db: &TestDb) -> (Option<i32>, serde_json::Value) {
    let out = timber(dir, db, &[], &["audit", "--verify", "--format", "json"]);
    let json = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {} {}", text(&out.stdout), text(&out.stderr)));
    (out.status.code(), json)
}

async fn init_begins_the_log_and_a_wipe_is_named(kind: Kind) {
    let Some(db) = TestDb::new(kind).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("models")).unwrap();
    std::fs::copy(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/models_ok/app.yaml"
        ),
        dir.path().join("models/app.yaml"),
    )
    .unwrap();
    let signer = NoteSigner::generate("genesis-test").unwrap();
    let key_file = dir.path().join("audit.pub");
    std::fs::write(&key_file, signer.verifier().to_text()).unwrap();
    let signing = [("AUDIT_SIGNING_KEY", signer.to_text().to_string())];
    let signing: Vec<(&str, &str)> = signing.iter().map(|(k, v)| (*k, v.as_str())).collect();

    let init = timber(dir.path(), &db, &signing, &["init"]);
    assert!(init.status.success(), "{kind:?}: {}", text(&init.stderr));
    assert!(
        text(&init.stdout).contains("created  audit genesis entry 1, signed as checkpoint 1"),
        "{kind:?}: {}",
        text(&init.stdout)
    );
    let again = timber(dir.path(), &db, &signing, &["init"]);
    assert!(
        text(&again.stdout).contains("exists   audit genesis"),
        "{kind:?}: {}",
        text(&again.stdout)
    );
    let (code, report) = keyed_verify(dir.path(), &db);
    assert_eq!(code, Some(0), "{kind:?}: {report}");
    assert_eq!(report["entries"], 1, "one genesis, however often init runs");
    let (code, report) = public_verify(dir.path(), &db, &key_file);
    assert_eq!(code, Some(0), "{kind:?}: {report}");
    assert_eq!(report["verified_to"]["size"], 1);

    // Wiped with database access: the log and its head (the checkpoints stay).
    tamper(
        &db,
        &[
            format!("DELETE FROM {LOG}"),
            "DELETE FROM timber_audit_head".into(),
        ],
    )
    .await;
    let (code, report) = keyed_verify(dir.path(), &db);
    assert_eq!(code, Some(2), "{kind:?}: {report}");
    assert_eq!(report["damage"], "wiped", "{kind:?}: {report}");
    let (code, report) = public_verify(dir.path(), &db, &key_file);
    assert_eq!(code, Some(2), "{kind:?}: {report}");
    assert_eq!(report["damage"], "wiped", "{kind:?}: {report}");
    // `init` does not paper over it with a new genesis.
    let init = timber(dir.path(), &db, &signing, &["init"]);
    assert!(
        text(&init.stderr).contains("audit log not begun")
            && text(&init.stderr).contains("emptied"),
        "{kind:?}: {}",
        text(&init.stderr)
    );
    let (_, report) = keyed_verify(dir.path(), &db);
    assert_eq!(report["entries"], 0, "{kind:?}: nothing was written");

    // Every trace wiped: the keyed verify still never says intact.
    tamper(&db, &["DELETE FROM timber_audit_checkpoints".into()]).await;
    let (code, report) = keyed_verify(dir.path(), &db);
    assert_eq!(code, Some(2), "{kind:?}: {report}");
    assert_eq!(report["damage"], "wiped", "{kind:?}: {report}");
    let (code, report) = public_verify(dir.path(), &db, &key_file);
    assert_eq!(code, Some(2), "{kind:?}: {report}");
    assert_eq!(report["damage"], "unverified", "{kind:?}: {report}");
    db.drop_all().await;
}

#[tokio::test]
async fn sqlite_init_begins_the_log_and_a_wipe_is_named() {
    init_begins_the_log_and_a_wipe_is_named(Kind::Sqlite).await;
}

#[tokio::test]
async fn postgres_init_begins_the_log_and_a_wipe_is_named() {
    init_begins_the_log_and_a_wipe_is_named(Kind::Postgres).await;
}

#[tokio::test]
async fn mysql_init_begins_the_log_and_a_wipe_is_named() {
    init_begins_the_log_and_a_wipe_is_named(Kind::Mysql).await;
}

async fn the_signing_key_is_handed_over_and_followed(kind: Kind) {
    let Some((db, store, log)) = ten_entries(kind).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let old = NoteSigner::generate("auditors").unwrap();
    let new = NoteSigner::generate("auditors-2027").unwrap();
    let (old_pub, new_pub) = (dir.path().join("old.pub"), dir.path().join("new.pub"));
    std::fs::write(&old_pub, old.verifier().to_text()).unwrap();
    std::fs::write(&new_pub, new.verifier().to_text()).unwrap();
    write_checkpoint(&store, &old)
        .await
        .expect("signed by the old key");

    let (old_text, new_text) = (old.to_text(), new.to_text());
    let both = [
        ("AUDIT_SIGNING_KEY", new_text.as_str()),
        ("AUDIT_SIGNING_KEY_OLD", old_text.as_str()),
    ];
    let out = timber(
        dir.path(),
        &db,
        &both,
        &["audit", "rotate-signing-key", "--format", "json"],
    );
    assert!(out.status.success(), "{kind:?}: {}", text(&out.stderr));
    let done: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(done["entry"], 11, "{done}");
    let note = done["checkpoint"]["note"].as_str().unwrap();
    assert!(
        note.contains("\n— auditors ") && note.contains("\n— auditors-2027 "),
        "signed by both: {note}"
    );
    assert!(
        !text(&out.stdout).contains("PRIVATE+KEY") && !text(&out.stderr).contains("PRIVATE+KEY"),
        "no signing key in the output"
    );
    let again = timber(dir.path(), &db, &both, &["audit", "rotate-signing-key"]);
    assert_eq!(again.status.code(), Some(2));
    assert!(
        text(&again.stderr).contains("already handed over"),
        "{}",
        text(&again.stderr)
    );

    // Entries after the handover are signed by the new key; the old one is refused.
    log.record("ana", timber::audit::Action::Reveal, None, None, &[], None)
        .await
        .unwrap();
    let refused = write_checkpoint(&store, &old).await;
    assert!(
        refused
            .as_ref()
            .is_err_and(|e| e.to_string().contains("did not sign the newest")),
        "{refused:?}"
    );
    write_checkpoint(&store, &new)
        .await
        .expect("the new key signs");

    // Auditors with either key follow the history.
    for key in [&old_pub, &new_pub] {
        let (code, report) = public_verify(dir.path(), &db, key);
        assert_eq!(code, Some(0), "{kind:?} {}: {report}", key.display());
        assert_eq!(report["verified_to"]["size"], 12, "{report}");
        assert_eq!(
            report["key_history"],
            serde_json::json!([old.verifier().fingerprint(), new.verifier().fingerprint()])
        );
    }

    // A stolen old key signs a checkpoint after the handover: refused as forged.
    let rows = store.audit_checkpoints().await.unwrap();
    let handover_note = &rows[1].note;
    let body = signed_note::body(handover_note).unwrap();
    let old_only = signed_note::sign(body, &old).unwrap();
    let insert_checkpoint = |id: i64, size: i64, root: &str, note: &str, signer: &str| {
        format!(
            "INSERT INTO timber_audit_checkpoints (id, tree_size, root_hash, note, signer, created_at) \
             VALUES ({id}, {size}, '{root}', '{note}', '{signer}', '2026-12-06 12:00:00')"
        )
    };
    let stolen = insert_checkpoint(
        100,
        rows[1].tree_size,
        &rows[1].root_hash,
        &old_only,
        "auditors",
    );
    tamper(&db, &[stolen]).await;
    let report = verify_public(&store, &old.verifier(), None).await.unwrap();
    assert_eq!(
        report.damage,
        Some("checkpoint_forged"),
        "{kind:?}: {report:?}"
    );
    tamper(
        &db,
        &["DELETE FROM timber_audit_checkpoints WHERE id = 100".into()],
    )
    .await;

    // With database access alone: a handover to the attacker's own key, and a checkpoint
    // that key signs over it. The history does not lead there from the keys given.
    let mallory = NoteSigner::generate("auditors-2027").unwrap();
    let forged_facts = serde_json::json!({
        "old": new.verifier().to_text(),
        "new": mallory.verifier().to_text(),
    })
    .to_string();
    tamper(
        &db,
        &[format!(
            "INSERT INTO {LOG} (id, created_at, actor, action, table_name, record_id, fields, detail, prev_hash, entry_hash) \
             SELECT 13, created_at, 'mallory', 'audit.signing_key', NULL, NULL, NULL, '{forged_facts}', entry_hash, entry_hash FROM {LOG} WHERE id = 12"
        )],
    )
    .await;
    let mut tree = timber::crypto::merkle::TreeBuilder::new();
    timber::audit::query::for_each_entry(&store, &mut |e| {
        tree.push(timber::audit::checkpoint::leaf(&e))
    })
    .await
    .unwrap();
    let body = signed_note::Checkpoint {
        origin: timber::audit::checkpoint::ORIGIN.into(),
        size: tree.size(),
        root: tree.root(),
    }
    .to_body();
    let mallory_note = signed_note::sign(&body, &mallory).unwrap();
    let root_hex: String = tree.root().iter().map(|b| format!("{b:02x}")).collect();
    tamper(
        &db,
        &[insert_checkpoint(
            100,
            13,
            &root_hex,
            &mallory_note,
            "auditors-2027",
        )],
    )
    .await;
    for key in [&old_pub, &new_pub] {
        let (code, report) = public_verify(dir.path(), &db, key);
        assert_eq!(code, Some(2), "{kind:?}: {report}");
        assert_eq!(report["damage"], "checkpoint_forged", "{kind:?}: {report}");
    }
    store.close().await;
    db.drop_all().await;
}

#[tokio::test]
async fn sqlite_the_signing_key_is_handed_over_and_followed() {
    the_signing_key_is_handed_over_and_followed(Kind::Sqlite).await;
}

#[tokio::test]
async fn postgres_the_signing_key_is_handed_over_and_followed() {
    the_signing_key_is_handed_over_and_followed(Kind::Postgres).await;
}

#[tokio::test]
async fn mysql_the_signing_key_is_handed_over_and_followed() {
    the_signing_key_is_handed_over_and_followed(Kind::Mysql).await;
}

/// Verification reads a SQLite file through `Store::audit_scan` (its own read-only
/// connection, issue 15's speed item) and servers by keyset pages: both must hand the
/// verifiers the same entries, odd rows included (an id below the chain, a number where
/// text belongs, a NULL detail), or the two paths could judge one log differently.
#[tokio::test]
async fn the_sqlite_scan_reads_exactly_what_the_page_reader_reads() {
    let (db, store, log) = ten_entries(Kind::Sqlite).await.unwrap();
    tamper(
        &db,
        &[
            format!(
                "INSERT INTO {LOG} (id, created_at, actor, action, table_name, record_id, fields, detail, prev_hash, entry_hash) \
                 SELECT -3, created_at, 42, action, NULL, record_id, fields, NULL, prev_hash, entry_hash FROM {LOG} WHERE id = 2"
            ),
            format!("UPDATE {LOG} SET detail = NULL, record_id = 7 WHERE id = 5"),
        ],
    )
    .await;
    let mut scanned = Vec::new();
    let done = store
        .audit_scan(None, &mut |e| scanned.push(e))
        .await
        .unwrap();
    assert_eq!(done, Some((11, Some(10))));
    let paged = store
        .audit_entries(&timber::store::AuditRange {
            limit: 1000,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(scanned, paged);
    assert_eq!(scanned[0].id, -3);
    assert_eq!(scanned[0].row.actor, "42");
    // Verification through the scan still names the row below the chain.
    let report = timber::audit::query::verify(&store, log.key(), None)
        .await
        .unwrap();
    assert_eq!(
        report.damage,
        Some(timber::audit::Damage::Inserted),
        "{report:?}"
    );
    store.close().await;
}

/// A log an older version created and never wrote to (tables and a genesis head, no entry)
/// verifies as `wiped`, whose remedy `timber init` then applies: it begins that log.
#[tokio::test]
async fn init_begins_a_log_an_older_version_created_and_never_wrote() {
    let db = TestDb::new(Kind::Sqlite).await.unwrap();
    let store = db.store().await;
    store.init(&[]).await.unwrap();
    drop(
        timber::audit::AuditLog::open(&store, &crate::fixture_ring::ring())
            .await
            .unwrap(),
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("models")).unwrap();
    std::fs::copy(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/models_ok/app.yaml"
        ),
        dir.path().join("models/app.yaml"),
    )
    .unwrap();
    let (code, report) = keyed_verify(dir.path(), &db);
    assert_eq!(code, Some(2), "{report}");
    assert!(
        report["reason"]
            .as_str()
            .unwrap()
            .contains("`timber init` begins such a log"),
        "{report}"
    );
    let init = timber(dir.path(), &db, &[], &["init"]);
    assert!(
        text(&init.stdout).contains("created  audit genesis entry 1"),
        "{}",
        text(&init.stdout)
    );
    let (code, report) = keyed_verify(dir.path(), &db);
    assert_eq!(code, Some(0), "{report}");
    assert_eq!(report["entries"], 1);
    store.close().await;
}

/// Verification on a SQLite file hashes each row straight from the bytes the scan read
/// (issue 17), copying a plain `fields` list name by name instead of decoding it: every
/// form the `fields` column can hold must still hash as the entry the page reader makes of
/// it (JSON with spaces, escapes, non-ASCII names, a trailing newline; a text that is not a
/// list, which counts as one name; an empty text, which counts as none), or a genuine log
/// would be reported altered. Each row is sealed here as that entry, with the odd text
/// stored in its column.
#[tokio::test]
async fn the_sqlite_scan_hashes_every_form_of_fields_as_the_entry_it_reads() {
    let (db, store, log) = ten_entries(Kind::Sqlite).await.unwrap();
    let cases: [(&str, &[&str]); 10] = [
        (r#"[ "email" , "phone" ]"#, &["email", "phone"]),
        (r#"["a\"b","c\\d"]"#, &["a\"b", "c\\d"]),
        ("email", &["email"]),
        ("", &[]),
        ("[]", &[]),
        (r#"["a",]"#, &[r#"["a",]"#]),
        ("[1]", &["[1]"]),
        (r#"["é","\u00e9"]"#, &["é", "é"]),
        (r#"["x"] and more"#, &[r#"["x"] and more"#]),
        ("[\"x\"]\n", &["x"]),
    ];
    let stored = store
        .audit_entries(&timber::store::AuditRange {
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(stored.len(), cases.len());
    let mut prev = timber::audit::GENESIS;
    let mut statements = Vec::new();
    for (row, (text, names)) in stored.iter().zip(cases) {
        let content = timber::audit::EntryContent {
            created_at: row.row.created_at,
            actor: row.row.actor.clone(),
            action: row.row.action.clone(),
            table_name: row.row.table_name.clone(),
            record_id: row.row.record_id.clone(),
            fields: names.iter().map(|n| n.to_string()).collect(),
            detail: row.row.detail.clone(),
        };
        let sealed = timber::audit::seal(log.key(), &prev, row.id, content);
        prev = timber::audit::from_hex(&sealed.entry_hash).unwrap();
        statements.push(format!(
            "UPDATE {LOG} SET fields = '{}', prev_hash = '{}', entry_hash = '{}' WHERE id = {}",
            text.replace('\'', "''"),
            sealed.prev_hash,
            sealed.entry_hash,
            row.id
        ));
    }
    let head = timber::audit::head_for(log.key(), 10, &prev);
    statements.push(format!(
        "UPDATE timber_audit_head SET entry_id = 10, entry_hash = '{}', mac = '{}'",
        head.last_hash, head.head_mac
    ));
    tamper(&db, &statements).await;
    let report = timber::audit::query::verify(&store, log.key(), None)
        .await
        .unwrap();
    assert!(report.ok, "{report:?}");
    assert_eq!(report.entries, 10);
    // The same log with one name changed in place is still caught.
    tamper(
        &db,
        &[format!(
            "UPDATE {LOG} SET fields = '[ \"email\" , \"phones\" ]' WHERE id = 1"
        )],
    )
    .await;
    let report = timber::audit::query::verify(&store, log.key(), None)
        .await
        .unwrap();
    assert_eq!(
        report.damage,
        Some(timber::audit::Damage::Altered),
        "{report:?}"
    );
    assert_eq!(report.first_broken, Some(1), "{report:?}");
    store.close().await;
}
