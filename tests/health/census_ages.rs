//! Issue 19 item 1, "data age by key": the census reads each token's own write time from
//! its header (no decryption) and records, per column and key, the oldest, median and
//! newest. Tokens are written here at known times (`FernetKey::encrypt_at`), under the old
//! key and the primary, and the ages must come back exactly in the library, in `timber
//! census --format json` and text, and in health's `data.old_key` finding, which says how
//! old the values under the old key are.

use crate::health_support;

use chrono::{DateTime, TimeZone, Utc};
use health_support::*;
use serde_json::json;
use timber::crypto::{KeyId, KeyRing};
use timber::health::{KeyConfig, ScanOptions, TokenAge, take_census};
use timber::store::{CasUpdate, Store};
use timber::value::Value;

const MODELS: &str = r#"
models:
  - name: Note
    table_name: ages_notes
    columns:
      - {name: id, type: String(36), primary_key: true}
      - {name: body, type: Text, encrypted: true}
    mixins: [EncryptedFieldMixin]
"#;

fn at(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 9, 30, 0).unwrap()
}

/// (row, key, written at): four values under the old key between 2024-03 and 2025-01, three
/// under the primary in 2026 (listed out of order: the census must not depend on it).
fn plan() -> Vec<(&'static str, KeyId, DateTime<Utc>)> {
    vec![
        ("n1", KeyId::Old(1), at(2024, 8, 20)),
        ("n2", KeyId::Old(1), at(2024, 3, 5)),
        ("n3", KeyId::Primary, at(2026, 4, 1)),
        ("n4", KeyId::Old(1), at(2025, 1, 15)),
        ("n5", KeyId::Primary, at(2026, 2, 1)),
        ("n6", KeyId::Old(1), at(2024, 6, 10)),
        ("n7", KeyId::Primary, at(2026, 3, 1)),
    ]
}

/// Writes the rows, then replaces each token by one written at its planned time under its
/// planned key (compare-and-set, as any writer would leave them).
async fn write_known_times(store: &Store, models: &timber::config::ModelSet, ring: &KeyRing) {
    let note = models.find("Note").unwrap();
    let rows: Vec<Vec<(String, Value)>> = plan()
        .iter()
        .map(|(id, _, _)| {
            vec![
                ("id".into(), Value::Text(id.to_string())),
                ("body".into(), Value::Text(format!("body of {id}"))),
            ]
        })
        .collect();
    store.insert_many(note, ring, &rows, None).await.unwrap();
    let stored = store.raw_page(note, &["body"], None, 100).await.unwrap();
    let updates: Vec<CasUpdate> = plan()
        .into_iter()
        .enumerate()
        .map(|(n, (id, key, when))| {
            let row = stored
                .iter()
                .find(|r| r.id == Value::Text(id.into()))
                .unwrap();
            let key = ring.key(&key).unwrap();
            let iv = [n as u8 + 1; 16];
            CasUpdate {
                id: row.id.clone(),
                column: "body".into(),
                expected: row.values[0].clone().unwrap(),
                new: key.encrypt_at(
                    format!("body of {id}").as_bytes(),
                    when.timestamp() as u64,
                    iv,
                ),
            }
        })
        .collect();
    let done = store.compare_and_set(note, &updates).await.unwrap();
    assert_eq!(done.applied, 7);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_census_records_oldest_median_and_newest_per_key() {
    let dir = tempfile::tempdir().unwrap();
    let (models, store, vars) = sqlite_world(dir.path(), MODELS).await;
    let settings = settings(&vars, dir.path());
    let ring = KeyRing::from_settings(&settings).unwrap();
    write_known_times(&store, &models, &ring).await;
    let fp = |id: KeyId| ring.fingerprint(&id).unwrap().to_string();
    let (fp_primary, fp_old) = (fp(KeyId::Primary), fp(KeyId::Old(1)));

    // The library: one TokenAge per key of the column.
    let keys = KeyConfig::from_settings(&settings);
    let all: Vec<_> = models.models.iter().collect();
    let census = take_census(&store, &all, &keys, &ScanOptions::default())
        .await
        .unwrap();
    let body = &census.columns[0];
    assert_eq!(
        body.age_under(&fp_old),
        Some(&TokenAge {
            oldest: at(2024, 3, 5),
            // Four values: the lower median is the second in time.
            median: at(2024, 6, 10),
            newest: at(2025, 1, 15),
        })
    );
    assert_eq!(
        body.age_under(&fp_primary),
        Some(&TokenAge {
            oldest: at(2026, 2, 1),
            median: at(2026, 3, 1),
            newest: at(2026, 4, 1),
        })
    );
    store.close().await;

    // `timber census --format json`: the same, as RFC 3339 UTC, keyed like by_key.
    let out = timber_cli(dir.path(), &["census", "--format", "json"], &vars);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        j["columns"][0]["ages"],
        json!({
            fp_old.clone(): {"oldest": "2024-03-05T09:30:00Z", "median": "2024-06-10T09:30:00Z", "newest": "2025-01-15T09:30:00Z"},
            fp_primary.clone(): {"oldest": "2026-02-01T09:30:00Z", "median": "2026-03-01T09:30:00Z", "newest": "2026-04-01T09:30:00Z"},
        })
    );

    // Text: a DATA AGE section, one line per column and key, the key named by id.
    let out = timber_cli(dir.path(), &["census"], &vars);
    let text = String::from_utf8(out.stdout).unwrap();
    let ages = text
        .split("DATA AGE")
        .nth(1)
        .unwrap_or_else(|| panic!("{text}"));
    let old_line = ages
        .lines()
        .find(|l| l.contains(&fp_old))
        .unwrap_or_else(|| panic!("{text}"));
    let words: Vec<&str> = old_line.split_whitespace().collect();
    assert_eq!(
        words,
        [
            "Note.body",
            "old_1",
            fp_old.as_str(),
            "4",
            "2024-03-05",
            "2024-06-10",
            "2025-01-15"
        ],
        "{text}"
    );
    let primary_line = ages.lines().find(|l| l.contains(&fp_primary)).unwrap();
    assert!(
        primary_line.contains("2026-02-01  2026-03-01  2026-04-01"),
        "{text}"
    );

    // Health says how old the values under the old key are.
    let out = timber_cli(
        dir.path(),
        &["health", "--only", "data.old_key", "--format", "json"],
        &vars,
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let finding = &report["checks"][0];
    assert_eq!(finding["severity"], "warn", "{report:#}");
    assert_eq!(
        finding["finding"],
        format!(
            "4 of 7 stored values are under old keys: old_1 {fp_old} still encrypts 4 values written between 2024-03 and 2025-01"
        )
    );
    assert_eq!(finding["evidence"]["oldest"], "2024-03-05T09:30:00Z");
    assert_eq!(finding["evidence"]["median"], "2024-06-10T09:30:00Z");
    assert_eq!(finding["evidence"]["newest"], "2025-01-15T09:30:00Z");
}
