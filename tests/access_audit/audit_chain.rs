//! The audit chain verifier over in-memory rows: every kind of damage is named, at the right
//! entry, and an untouched chain verifies. (The same damage done to real databases is in
//! `audit_tamper.rs`.)

use chrono::NaiveDate;
use timber::audit::{AuditEntry, ChainVerifier, Damage, EntryContent, StoredHead, VerifyReport};
use timber::audit::{AuditKey, GENESIS, from_hex, head_for, seal};
use timber::crypto::Key;

fn key() -> AuditKey {
    AuditKey::from_master(&Key::from_bytes([0x5a; 32]))
}

fn content(i: i64) -> EntryContent {
    EntryContent {
        created_at: NaiveDate::from_ymd_opt(2026, 3, 1)
            .unwrap()
            .and_hms_micro_opt(10, 0, (i % 60) as u32, 123_456)
            .unwrap(),
        actor: format!("user{i}"),
        action: "reveal".into(),
        table_name: Some("user_profiles".into()),
        record_id: Some(i.to_string()),
        fields: vec!["email".into()],
        detail: Some(format!("{{\"reason\":\"ticket {i}\"}}")),
    }
}

/// Ten sealed entries with ids 1..=10 and the head naming the last.
fn chain(key: &AuditKey) -> (Vec<AuditEntry>, StoredHead) {
    let mut prev = GENESIS;
    let mut rows = Vec::new();
    for id in 1..=10 {
        let e = seal(key, &prev, id, content(id));
        prev = from_hex(&e.entry_hash).unwrap();
        rows.push(e);
    }
    let last = rows.last().unwrap();
    let head = head_for(key, last.id, &from_hex(&last.entry_hash).unwrap());
    (rows, head)
}

fn verify(
    key: &AuditKey,
    rows: &[AuditEntry],
    head: Option<&StoredHead>,
    expect: Option<&str>,
) -> VerifyReport {
    let mut v = ChainVerifier::new(key, expect.map(|h| from_hex(h).unwrap()));
    for r in rows {
        v.push(r);
    }
    v.finish(head)
}

fn assert_broken(report: &VerifyReport, id: Option<i64>, damage: Damage) {
    assert!(!report.ok, "{report:?}");
    assert_eq!(report.first_broken, id, "{report:?}");
    assert_eq!(report.damage, Some(damage), "{report:?}");
    assert!(
        report
            .reason
            .as_deref()
            .unwrap()
            .starts_with(damage.as_str()),
        "{report:?}"
    );
}

#[test]
fn untouched_chain_verifies_and_reports_its_head() {
    let k = key();
    let (rows, head) = chain(&k);
    let r = verify(&k, &rows, Some(&head), None);
    assert!(r.ok, "{r:?}");
    assert_eq!(r.entries, 10);
    assert_eq!(r.head.as_deref(), Some(rows[9].entry_hash.as_str()));
    // An empty log is never intact: `timber init` begins every log with a genesis entry,
    // so a log with no entry (with or without its head) was wiped.
    assert_broken(&verify(&k, &[], None, None), None, Damage::Wiped);
    let fresh_head = head_for(&k, 0, &GENESIS);
    assert_broken(
        &verify(&k, &[], Some(&fresh_head), None),
        None,
        Damage::Wiped,
    );
}

#[test]
fn wrong_key_cannot_verify_a_genuine_chain() {
    let (rows, head) = chain(&key());
    let r = verify(
        &AuditKey::from_master(&Key::from_bytes([1; 32])),
        &rows,
        Some(&head),
        None,
    );
    assert_broken(&r, Some(1), Damage::Altered);
}

#[test]
fn altered_detail_is_named_altered_at_that_entry() {
    let k = key();
    let (mut rows, head) = chain(&k);
    rows[4].content.detail = Some("{\"reason\":\"nothing to see\"}".into());
    assert_broken(
        &verify(&k, &rows, Some(&head), None),
        Some(5),
        Damage::Altered,
    );
    // The newest entry altered: the head still names it, so it is altered, not inserted.
    let (mut rows, head) = chain(&k);
    rows[9].content.actor = "someone-else".into();
    assert_broken(
        &verify(&k, &rows, Some(&head), None),
        Some(10),
        Damage::Altered,
    );
}

#[test]
fn deleted_middle_and_oldest_entries_are_named_deleted() {
    let k = key();
    let (mut rows, head) = chain(&k);
    rows.remove(5); // id 6
    let r = verify(&k, &rows, Some(&head), None);
    assert_broken(&r, Some(7), Damage::Deleted);
    assert!(r.reason.unwrap().contains("entry 5 and entry 7"));
    let (mut rows, head) = chain(&k);
    rows.remove(0);
    assert_broken(
        &verify(&k, &rows, Some(&head), None),
        Some(2),
        Damage::Deleted,
    );
}

#[test]
fn deleted_newest_entries_are_found_by_the_head() {
    let k = key();
    let (mut rows, head) = chain(&k);
    rows.truncate(8);
    let r = verify(&k, &rows, Some(&head), None);
    assert_broken(&r, Some(9), Damage::NewestRemoved);
    rows.clear();
    assert_broken(
        &verify(&k, &rows, Some(&head), None),
        Some(10),
        Damage::NewestRemoved,
    );
}

#[test]
fn swapped_entries_are_named_reordered() {
    let k = key();
    let (mut rows, head) = chain(&k);
    // Swap the rows at ids 4 and 7 (contents move, ids stay in place).
    let (a, b) = (rows[3].clone(), rows[6].clone());
    rows[3] = AuditEntry { id: 4, ..b };
    rows[6] = AuditEntry { id: 7, ..a };
    assert_broken(
        &verify(&k, &rows, Some(&head), None),
        Some(4),
        Damage::Reordered,
    );
    // The first entry moved later.
    let (mut rows, head) = chain(&k);
    let (a, b) = (rows[0].clone(), rows[1].clone());
    rows[0] = AuditEntry { id: 1, ..b };
    rows[1] = AuditEntry { id: 2, ..a };
    assert_broken(
        &verify(&k, &rows, Some(&head), None),
        Some(1),
        Damage::Reordered,
    );
}

#[test]
fn forged_entries_are_named_inserted_in_the_middle_and_at_the_end() {
    let k = key();
    let forger = AuditKey::from_master(&Key::from_bytes([0x66; 32]));
    let (rows, head) = chain(&k);
    // In the middle: renumber 6.. upwards and forge id 6 linking to entry 5.
    let mut forged_rows: Vec<AuditEntry> = rows[..5].to_vec();
    let prev = from_hex(&rows[4].entry_hash).unwrap();
    forged_rows.push(seal(&forger, &prev, 6, content(99)));
    for r in &rows[5..] {
        forged_rows.push(AuditEntry {
            id: r.id + 1,
            ..r.clone()
        });
    }
    assert_broken(
        &verify(&k, &forged_rows, Some(&head), None),
        Some(6),
        Damage::Inserted,
    );
    // At the end, after the head.
    let mut appended = rows.clone();
    let prev = from_hex(&rows[9].entry_hash).unwrap();
    appended.push(seal(&forger, &prev, 11, content(11)));
    assert_broken(
        &verify(&k, &appended, Some(&head), None),
        Some(11),
        Damage::Inserted,
    );
}

#[test]
fn head_row_edited_missing_or_rolled_back_is_head_invalid() {
    let k = key();
    let (rows, head) = chain(&k);
    let edited = StoredHead {
        last_id: 12,
        ..head.clone()
    };
    assert_broken(
        &verify(&k, &rows, Some(&edited), None),
        None,
        Damage::HeadInvalid,
    );
    assert_broken(&verify(&k, &rows, None, None), None, Damage::HeadInvalid);
    let older = head_for(&k, 8, &from_hex(&rows[7].entry_hash).unwrap());
    assert_broken(
        &verify(&k, &rows, Some(&older), None),
        None,
        Damage::HeadInvalid,
    );
}

#[test]
fn renumbered_newest_entry_is_named_altered() {
    let k = key();
    let (mut rows, head) = chain(&k);
    rows[9].id = 9_000_000_000_000_000;
    assert_broken(
        &verify(&k, &rows, Some(&head), None),
        Some(9_000_000_000_000_000),
        Damage::Altered,
    );
}

#[test]
fn expect_head_catches_a_rollback_that_the_head_row_cannot() {
    let k = key();
    let (rows, _) = chain(&k);
    let kept = rows[9].entry_hash.clone();
    // Attacker deletes entries 9 and 10 and restores the head row as it was at entry 8.
    let rolled_back = &rows[..8];
    let old_head = head_for(&k, 8, &from_hex(&rows[7].entry_hash).unwrap());
    assert!(verify(&k, rolled_back, Some(&old_head), None).ok);
    let r = verify(&k, rolled_back, Some(&old_head), Some(&kept));
    assert_broken(&r, None, Damage::ExpectedHeadNotFound);
    // A head kept earlier is still in a longer, intact chain.
    let (rows, head) = chain(&k);
    assert!(verify(&k, &rows, Some(&head), Some(&rows[3].entry_hash)).ok);
}

#[test]
fn garbage_hashes_are_damage_not_a_panic() {
    let k = key();
    let (mut rows, head) = chain(&k);
    rows[2].entry_hash = "not hex".into();
    rows[3].prev_hash = String::new();
    let r = verify(&k, &rows, Some(&head), None);
    assert_broken(&r, Some(3), Damage::Altered);
    assert_eq!(r.to_json()["first_broken"], 3);
}
