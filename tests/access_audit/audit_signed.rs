//! Signed checkpoints, verified with the public key alone (issue 15), on each backend:
//! `timber audit checkpoint` signs the log's Merkle root; `timber audit --verify
//! --public-key FILE` run with no data key and no master key in the environment (an
//! auditor's laptop) passes on an untouched log and names each attack someone with database
//! access (but not the signing key) can make, by name: an altered entry, a forged entry
//! with a valid-looking hash and a row below the chain's ids (`inserted`), a deleted entry,
//! swapped entries (`reordered`), a deletion whose links were rewritten to hide it, an
//! edited checkpoint note, a checkpoint signed by another key, a wipe, and a rolled-back or
//! forked history against a checkpoint kept outside.
//! An inclusion proof is checked by an independent implementation (Python `hashlib` and
//! `cryptography`).

use std::path::Path;
use std::process::{Command, Output};

use crate::audit_tamper::{LOG, tamper, ten_entries, zero_id_allowed};
use crate::store_support::{Kind, TestDb};
use timber::audit::checkpoint::write_checkpoint;
use timber::audit::public_verify::verify_public;
use timber::crypto::signed_note::{NoteSigner, NoteVerifier};

/// The binary with only the database and the public key: no data key, no master key.
fn auditor(dir: &Path, db: &TestDb, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_timber"))
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", &db.url)
        .args(args)
        .output()
        .expect("run timber")
}

/// The binary as the application's operator: the signing key, access control off.
fn operator(dir: &Path, db: &TestDb, signer: &NoteSigner, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_timber"))
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", &db.url)
        .env("AUDIT_SIGNING_KEY", signer.to_text().as_str())
        .env("ENABLE_ACCESS_CONTROL", "false")
        .args(args)
        .output()
        .expect("run timber")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

struct Setup {
    dir: tempfile::TempDir,
    signer: NoteSigner,
    public_key: std::path::PathBuf,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let signer = NoteSigner::generate("auditors-test").unwrap();
    let public_key = dir.path().join("audit.pub");
    std::fs::write(&public_key, signer.verifier().to_text()).unwrap();
    Setup {
        dir,
        signer,
        public_key,
    }
}

/// `audit --verify --public-key` as the auditor: exit code and the JSON report.
fn public_verify(
    s: &Setup,
    db: &TestDb,
    outside: Option<&Path>,
) -> (Option<i32>, serde_json::Value) {
    let key = s.public_key.display().to_string();
    let mut args = vec![
        "audit",
        "--verify",
        "--public-key",
        &key,
        "--format",
        "json",
    ];
    let outside_text = outside.map(|p| p.display().to_string());
    if let Some(path) = &outside_text {
        args.extend(["--checkpoint", path.as_str()]);
    }
    let out = auditor(s.dir.path(), db, &args);
    let json = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {} {}", text(&out.stdout), text(&out.stderr)));
    (out.status.code(), json)
}

async fn signed_log_is_verified_and_attacks_are_named(kind: Kind) {
    let s = setup();
    let Some((db, store, _log)) = ten_entries(kind).await else {
        return;
    };
    // Signed through the CLI; the note is printed and holds no key.
    let out = operator(s.dir.path(), &db, &s.signer, &["audit", "checkpoint"]);
    assert!(out.status.success(), "{kind:?}: {}", text(&out.stderr));
    let note = text(&out.stdout);
    assert!(note.starts_with("timber.audit/v2\n10\n"), "{note}");
    assert!(note.contains("\n— auditors-test "), "{note}");
    assert!(
        !note.contains(s.signer.to_text().as_str()),
        "no key in the output"
    );
    assert!(
        !text(&out.stderr).contains("PRIVATE+KEY"),
        "no key in the narration"
    );
    let outside = s.dir.path().join("kept-outside.note");
    std::fs::write(&outside, &note).unwrap();

    let (code, report) = public_verify(&s, &db, None);
    assert_eq!(code, Some(0), "{kind:?}: {report}");
    assert_eq!(report["entries"], 10);
    assert_eq!(report["verified_to"]["size"], 10);
    let (code, report) = public_verify(&s, &db, Some(&outside));
    assert_eq!(code, Some(0), "{kind:?}: {report}");

    // The text form an auditor reads.
    let key = s.public_key.display().to_string();
    let out = auditor(
        s.dir.path(),
        &db,
        &["audit", "--verify", "--public-key", &key],
    );
    assert!(
        text(&out.stdout).starts_with("intact: 10 entries verified to checkpoint"),
        "{}",
        text(&out.stdout)
    );
    store.close().await;
    db.drop_all().await;

    // Each attack on a fresh signed log, as someone with database access alone.
    let reason = "'{\"reason\":\"routine\"}'";
    let copy_of_3 = |id: i64| {
        format!(
            "INSERT INTO {LOG} (id, created_at, actor, action, table_name, record_id, fields, detail, prev_hash, entry_hash) \
             SELECT {id}, created_at, 'mallory', action, table_name, record_id, fields, detail, prev_hash, entry_hash FROM {LOG} WHERE id = 3"
        )
    };
    let attacks: Vec<(&str, Vec<String>, &str)> = vec![
        (
            "an altered entry",
            vec![format!("UPDATE {LOG} SET detail = {reason} WHERE id = 5")],
            "altered",
        ),
        (
            "a forged entry with a valid-looking hash",
            vec![
                format!("UPDATE {LOG} SET id = id + 100 WHERE id > 5"),
                copy_of_3(6),
            ],
            "inserted",
        ),
        (
            "a row below the chain",
            zero_id_allowed(kind, copy_of_3(0)),
            "inserted",
        ),
        ("a row with a negative id", vec![copy_of_3(-7)], "inserted"),
        (
            "a deleted entry",
            vec![format!("DELETE FROM {LOG} WHERE id = 4")],
            "deleted",
        ),
        (
            "the newest entry deleted",
            vec![format!("DELETE FROM {LOG} WHERE id = 10")],
            "truncated_after_checkpoint",
        ),
        (
            "two entries swapped",
            vec![
                format!("UPDATE {LOG} SET id = 1004 WHERE id = 4"),
                format!("UPDATE {LOG} SET id = 4 WHERE id = 6"),
                format!("UPDATE {LOG} SET id = 6 WHERE id = 1004"),
            ],
            "reordered",
        ),
        (
            "an entry deleted, its links rewritten and a row added to keep the count",
            vec![
                format!("DELETE FROM {LOG} WHERE id = 5"),
                format!(
                    "UPDATE {LOG} SET prev_hash = (SELECT entry_hash FROM (SELECT entry_hash FROM {LOG} WHERE id = 4) AS four) WHERE id = 6"
                ),
                format!(
                    "INSERT INTO {LOG} (id, created_at, actor, action, table_name, record_id, fields, detail, prev_hash, entry_hash) \
                     SELECT 11, created_at, actor, action, table_name, record_id, fields, detail, entry_hash, prev_hash FROM {LOG} WHERE id = 10"
                ),
            ],
            "altered",
        ),
        (
            "a checkpoint note edited (its size lowered, its signature kept)",
            vec![format!(
                "UPDATE timber_audit_checkpoints SET note = REPLACE(note, 'timber.audit/v2\n10\n', 'timber.audit/v2\n9\n')"
            )],
            "checkpoint_forged",
        ),
    ];
    for (what, statements, damage) in attacks {
        let s = setup();
        let (db, store, _log) = ten_entries(kind).await.unwrap();
        write_checkpoint(&store, &s.signer)
            .await
            .expect("checkpoint");
        tamper(&db, &statements).await;
        let (code, report) = public_verify(&s, &db, None);
        assert_eq!(code, Some(2), "{kind:?} {what}: {report}");
        assert_eq!(report["damage"], damage, "{kind:?} {what}: {report}");
        store.close().await;
        db.drop_all().await;
    }

    // Against a checkpoint kept outside: a wipe, a rollback to an older copy, a fork.
    let outside_cases: Vec<(&str, Vec<String>, &str)> = vec![
        (
            "a wipe of the log, its head and its checkpoints",
            vec![
                format!("DELETE FROM {LOG}"),
                "DELETE FROM timber_audit_head".into(),
                "DELETE FROM timber_audit_checkpoints".into(),
            ],
            "wiped",
        ),
        (
            "a rollback to an older copy (the newest entries and checkpoint gone)",
            vec![
                format!("DELETE FROM {LOG} WHERE id > 7"),
                "DELETE FROM timber_audit_checkpoints".into(),
            ],
            "truncated_after_checkpoint",
        ),
        (
            "a rewritten history (another fork)",
            vec![
                format!("UPDATE {LOG} SET actor = 'mallory' WHERE id = 2"),
                "DELETE FROM timber_audit_checkpoints".into(),
            ],
            "forked",
        ),
    ];
    for (what, statements, damage) in outside_cases {
        let s = setup();
        let (db, store, _log) = ten_entries(kind).await.unwrap();
        let written = write_checkpoint(&store, &s.signer).await.unwrap();
        let outside = s.dir.path().join("kept-outside.note");
        std::fs::write(&outside, &written.note).unwrap();
        tamper(&db, &statements).await;
        let (code, report) = public_verify(&s, &db, Some(&outside));
        assert_eq!(code, Some(2), "{kind:?} {what}: {report}");
        assert_eq!(report["damage"], damage, "{kind:?} {what}: {report}");
        // Without the note kept outside, nothing signed is left to trust: never intact.
        let (code, report) = public_verify(&s, &db, None);
        assert_eq!(code, Some(2), "{kind:?} {what} (no outside note): {report}");
        store.close().await;
        db.drop_all().await;
    }
}

#[tokio::test]
async fn sqlite_signed_log_is_verified_and_attacks_are_named() {
    signed_log_is_verified_and_attacks_are_named(Kind::Sqlite).await;
}

#[tokio::test]
async fn postgres_signed_log_is_verified_and_attacks_are_named() {
    signed_log_is_verified_and_attacks_are_named(Kind::Postgres).await;
}

#[tokio::test]
async fn mysql_signed_log_is_verified_and_attacks_are_named() {
    signed_log_is_verified_and_attacks_are_named(Kind::Mysql).await;
}

/// A checkpoint signed by another key (the attacker's) is not accepted, and the library's
/// report agrees with the CLI's.
#[tokio::test]
async fn a_checkpoint_signed_by_another_key_is_forged() {
    let s = setup();
    let (_db, store, _log) = ten_entries(Kind::Sqlite).await.unwrap();
    let mallory = NoteSigner::generate("auditors-test").unwrap();
    write_checkpoint(&store, &mallory).await.unwrap();
    let report = verify_public(&store, &s.signer.verifier(), None)
        .await
        .unwrap();
    assert!(!report.ok, "{report:?}");
    assert_eq!(report.damage, Some("checkpoint_forged"), "{report:?}");
    store.close().await;
}

/// `timber audit prove ID` prints a proof that an independent implementation (Python's
/// hashlib for RFC 9162's inclusion check, `cryptography` for the note's Ed25519
/// signature) accepts; an altered proof is rejected.
#[tokio::test]
async fn an_inclusion_proof_is_checked_by_an_independent_implementation() {
    let probe = Command::new("python3")
        .args(["-c", "import cryptography"])
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        eprintln!("SKIP: python3 with `cryptography` is not available");
        return;
    }
    let s = setup();
    let (db, store, _log) = ten_entries(Kind::Sqlite).await.unwrap();
    write_checkpoint(&store, &s.signer).await.unwrap();
    let out = auditor(s.dir.path(), &db, &["audit", "prove", "7"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let proof = text(&out.stdout);
    let checked = python_check(&proof, &s.signer.verifier());
    assert_eq!(checked.trim(), "ok", "{proof}");
    let mut forged: serde_json::Value = serde_json::from_str(&proof).unwrap();
    forged["leaf_index"] = serde_json::json!(5);
    let checked = python_check(&forged.to_string(), &s.signer.verifier());
    assert_eq!(checked.trim(), "bad root", "{forged}");
    store.close().await;
}

const PYTHON_CHECK: &str = r#"
import base64, hashlib, json, sys
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

proof = json.loads(sys.stdin.read())
vkey = sys.argv[1]
name, key_hash, key_b64 = vkey.split("+", 2)  # base64 may hold "+"
raw = base64.b64decode(key_b64)
assert raw[0] == 1
public = Ed25519PublicKey.from_public_bytes(raw[1:])

note = proof["checkpoint"]
body, sigs = note.split("\n\n", 1)
body += "\n"
for line in sigs.splitlines():
    _, sig_name, sig_b64 = line.split(" ")
    sig = base64.b64decode(sig_b64)
    if sig_name == name and sig[:4].hex() == key_hash:
        public.verify(sig[4:], body.encode())  # raises when the signature is bad
        break
else:
    raise SystemExit("no signature by the key")
origin, size, root_b64 = body.splitlines()[:3]
assert int(size) == proof["tree_size"]

def node(l, r):
    return hashlib.sha256(b"\x01" + l + r).digest()

# RFC 9162 2.1.3.2: verify an inclusion proof.
fn, sn = proof["leaf_index"], proof["tree_size"] - 1
r = base64.b64decode(proof["leaf_hash"])
for p in map(base64.b64decode, proof["proof"]):
    if sn == 0:
        print("bad root"); raise SystemExit
    if fn % 2 == 1 or fn == sn:
        r = node(p, r)
        if fn % 2 == 0:
            while fn % 2 == 0 and fn != 0:
                fn >>= 1; sn >>= 1
    else:
        r = node(r, p)
    fn >>= 1; sn >>= 1
print("ok" if sn == 0 and r == base64.b64decode(root_b64) else "bad root")
"#;

fn python_check(proof: &str, key: &NoteVerifier) -> String {
    use std::io::Write;
    let mut child = Command::new("python3")
        .args(["-c", PYTHON_CHECK, &key.to_text()])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(proof.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "python: {}", text(&out.stderr));
    text(&out.stdout)
}

/// `timber keygen --audit` prints a signing key and its public key, and they work.
#[test]
fn keygen_audit_prints_a_working_key_pair() {
    let out = Command::new(env!("CARGO_BIN_EXE_timber"))
        .args(["keygen", "--audit", "--name", "ops-2026"])
        .env_clear()
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    let private = lines[0].strip_prefix("AUDIT_SIGNING_KEY=").unwrap();
    let public = lines[1].strip_prefix("AUDIT_PUBLIC_KEY=").unwrap();
    assert!(public.starts_with("ops-2026+"), "{public}");
    let signer = NoteSigner::from_text(private).unwrap();
    assert_eq!(signer.verifier().to_text(), public);
    assert!(
        !format!("{signer:?}").contains(private),
        "Debug never shows the key"
    );
}

/// `timber audit export` gives a SIEM every entry once, in id order, with its hash and the
/// checkpoint covering it; CEF lines escape what the format reserves; a `--since` after
/// every entry exports nothing; `--format jsonl` lists as JSON lines.
#[tokio::test]
async fn export_gives_every_entry_with_its_hash_and_checkpoint() {
    let s = setup();
    let (db, store, log) = ten_entries(Kind::Sqlite).await.unwrap();
    write_checkpoint(&store, &s.signer).await.unwrap();
    log.record(
        "bob|x",
        timber::audit::Action::Reveal,
        Some("patients"),
        Some("a=b"),
        &["email".to_string()],
        Some(serde_json::json!({"reason": "ticket=7"})),
    )
    .await
    .unwrap();
    let out = auditor(s.dir.path(), &db, &["audit", "export"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lines: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 11);
    assert!(
        lines
            .iter()
            .enumerate()
            .all(|(i, l)| l["id"] == i as i64 + 1 && l["leaf_index"] == i as u64)
    );
    assert_eq!(
        lines[9]["checkpoint"]["size"], 10,
        "covered by the checkpoint"
    );
    assert!(
        lines[10]["checkpoint"].is_null(),
        "the newest entry is not yet covered"
    );
    assert_eq!(lines[10]["detail"]["reason"], "ticket=7");
    assert_eq!(lines[10]["entry_hash"].as_str().unwrap().len(), 64);

    let out = auditor(s.dir.path(), &db, &["audit", "export", "--format", "cef"]);
    let cef = text(&out.stdout);
    let last = cef.lines().last().unwrap();
    assert!(last.starts_with("CEF:0|Timber|timber-console|"), "{last}");
    assert!(
        last.contains("suser=bob|x")
            && last.contains("cs2=a\\=b")
            && last.contains("cs5=ticket\\=7"),
        "{last}"
    );
    assert_eq!(cef.lines().count(), 11);

    let out = auditor(
        s.dir.path(),
        &db,
        &["audit", "export", "--since", "2999-01-01"],
    );
    assert!(
        out.status.success() && out.stdout.is_empty(),
        "{}",
        text(&out.stdout)
    );
    let out = auditor(
        s.dir.path(),
        &db,
        &["audit", "--format", "jsonl", "--limit", "3"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).lines().count(), 3);
    store.close().await;
}

/// Writing a checkpoint is a granted action: a role without `checkpoint` is refused with one
/// line and nothing is written; without AUDIT_SIGNING_KEY the command says how to make one.
#[tokio::test]
async fn a_checkpoint_needs_the_grant_and_the_signing_key() {
    let s = setup();
    let (db, store, _log) = ten_entries(Kind::Sqlite).await.unwrap();
    let policy = s.dir.path().join("policy.yaml");
    std::fs::write(
        &policy,
        "default_role: viewer\nroles:\n  viewer:\n    default: hidden\n  auditor:\n    default: hidden\n    actions: [checkpoint]\n",
    )
    .unwrap();
    let run = |role: &str, with_key: bool| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_timber"));
        cmd.current_dir(s.dir.path())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", &db.url)
            .env("TIMBER_POLICY", &policy)
            .env("TIMBER_ROLE", role)
            .args(["audit", "checkpoint"]);
        if with_key {
            cmd.env("AUDIT_SIGNING_KEY", s.signer.to_text().as_str());
        }
        cmd.output().unwrap()
    };
    let refused = run("viewer", true);
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused.stderr));
    assert!(
        text(&refused.stderr).contains("\"checkpoint\""),
        "{}",
        text(&refused.stderr)
    );
    assert!(
        store.audit_checkpoints().await.unwrap().is_empty(),
        "nothing written"
    );
    let keyless = run("auditor", false);
    assert_eq!(keyless.status.code(), Some(2));
    assert!(
        text(&keyless.stderr).contains("timber keygen --audit"),
        "{}",
        text(&keyless.stderr)
    );
    let signed = run("auditor", true);
    assert!(signed.status.success(), "{}", text(&signed.stderr));
    assert_eq!(store.audit_checkpoints().await.unwrap().len(), 1);
    store.close().await;
}

/// With AUDIT_SIGNING_KEY set, a command that may append to the log leaves it checkpointed
/// when one is due (none yet, here), says so on stderr, and writes none when not due.
#[tokio::test]
async fn commands_checkpoint_the_log_when_one_is_due() {
    let s = setup();
    let (db, store, _log) = ten_entries(Kind::Sqlite).await.unwrap();
    let out = operator(s.dir.path(), &db, &s.signer, &["audit", "--limit", "1"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("audit checkpoint 1 written (10 entries)"),
        "{}",
        text(&out.stderr)
    );
    let again = operator(s.dir.path(), &db, &s.signer, &["audit", "--limit", "1"]);
    assert!(
        !text(&again.stderr).contains("checkpoint"),
        "{}",
        text(&again.stderr)
    );
    assert_eq!(store.audit_checkpoints().await.unwrap().len(), 1);
    let (code, report) = public_verify(&s, &db, None);
    assert_eq!(code, Some(0), "{report}");
    store.close().await;
}

/// `timber audit migrate` brings a log written before checkpoints under one: it verifies
/// the chain with the master key, records the old head in an `audit.migrate` entry and
/// signs a checkpoint over everything, which the public key alone then verifies. A log
/// whose chain is broken is refused (signing would vouch for the damage), and nothing is
/// signed.
#[tokio::test]
async fn migrate_signs_an_intact_log_and_refuses_a_broken_one() {
    let s = setup();
    let (db, store, _log) = ten_entries(Kind::Sqlite).await.unwrap();
    let run = |dir: &Path| {
        Command::new(env!("CARGO_BIN_EXE_timber"))
            .current_dir(dir)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", &db.url)
            .env("ENCRYPTION_KEY", crate::fixture::ENCRYPTION_KEY)
            .env("MASTER_ENCRYPTION_KEY", crate::fixture::MASTER_KEY)
            .env("AUDIT_SIGNING_KEY", s.signer.to_text().as_str())
            .env("ENABLE_ACCESS_CONTROL", "false")
            .env("TIMBER_USER", "migrator")
            .args(["audit", "migrate", "--format", "json"])
            .output()
            .unwrap()
    };
    let out = run(s.dir.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let done: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(done["verified_entries"], 10);
    assert_eq!(
        done["checkpoint"]["size"], 11,
        "the migration entry is covered too"
    );
    let (code, report) = public_verify(&s, &db, None);
    assert_eq!(code, Some(0), "{report}");
    assert_eq!(report["verified_to"]["size"], 11);
    let listed = auditor(
        s.dir.path(),
        &db,
        &["audit", "--action", "audit.migrate", "--format", "json"],
    );
    assert!(
        text(&listed.stdout).contains("\"actor\":\"migrator\""),
        "{}",
        text(&listed.stdout)
    );

    // A damaged chain is refused, and no checkpoint is added.
    tamper(
        &db,
        &[format!("UPDATE {LOG} SET actor = 'mallory' WHERE id = 4")],
    )
    .await;
    let refused = run(s.dir.path());
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        text(&refused.stderr).contains("chain is broken"),
        "{}",
        text(&refused.stderr)
    );
    assert_eq!(store.audit_checkpoints().await.unwrap().len(), 1);
    store.close().await;
}
