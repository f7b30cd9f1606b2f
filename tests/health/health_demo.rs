//! `timber health` on a fresh `timber demo` finds every planted problem: each entry of the
//! demo's planted list at its model, column and record ids, plus the problems that come
//! from the demo's models and keys (a too-narrow column, an index on ciphertext, ~15% of
//! values under the old key, published demo keys).

use crate::health_support;

use health_support::timber_cli;
use serde_json::Value as Json;
use timber::demo::{DemoOptions, generate};

fn findings<'a>(report: &'a Json, id: &str) -> Vec<&'a Json> {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["id"] == id)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_finds_every_planted_problem_of_the_demo() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    let options = DemoOptions {
        dir: dir.clone(),
        rows: 200,
        seed: 42,
        force: false,
    };
    let summary = generate(&options).await.expect("demo generates");
    assert!(summary.planted.len() >= 6, "{:?}", summary.planted);

    // The real command, in the demo directory, reading the demo's .env like an operator.
    let out = timber_cli(&dir, &["health", "--format", "json"], &[]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Json = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["status"], "fail");

    for planted in &summary.planted {
        // The undeclared table's columns are named by table: no model declares them.
        let at: Vec<&Json> = findings(&report, planted.check)
            .into_iter()
            .filter(|f| {
                f["evidence"]["model"] == planted.model.as_str()
                    || (f["evidence"]["model"].is_null()
                        && f["evidence"]["table"] == planted.model.as_str())
            })
            .filter(|f| f["evidence"]["column"] == planted.column.as_str())
            .filter(|f| f["severity"] != "ok")
            .collect();
        assert_eq!(
            at.len(),
            1,
            "{planted:?} not found exactly once in {report:#}"
        );
        if planted.check == "data.undeclared_sensitive" {
            // Found by shape in a sample: counts, never record ids or values.
            assert!(
                at[0]["evidence"]["count"].as_u64().unwrap() > 0,
                "{}",
                at[0]
            );
            assert!(
                at[0]["evidence"]["record_ids"]
                    .as_array()
                    .unwrap()
                    .is_empty()
            );
            continue;
        }
        let ids: Vec<&str> = at[0]["evidence"]["record_ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(ids, planted.record_ids, "{planted:?}: {}", at[0]);
        assert_eq!(
            at[0]["evidence"]["count"],
            planted.record_ids.len(),
            "{planted:?}: {}",
            at[0]
        );
    }

    let one = |id: &str, model: &str, column: &str| -> Json {
        let found: Vec<&Json> = findings(&report, id)
            .into_iter()
            .filter(|f| f["evidence"]["model"] == model && f["evidence"]["column"] == column)
            .collect();
        assert_eq!(found.len(), 1, "{id} at {model}.{column}: {report:#}");
        found[0].clone()
    };
    assert_eq!(
        one("schema.column_width", "UserProfile", "phone")["severity"],
        "warn"
    );
    assert_eq!(
        one(
            "schema.encrypted_indexed",
            "SensitiveData",
            "account_number"
        )["severity"],
        "warn"
    );

    // About 15% of every non-per-user model's values are under ENCRYPTION_KEY_OLD.
    let old = findings(&report, "data.old_key");
    let columns = [
        "UserProfile.email",
        "ResearchSession.analysis_data",
        "SensitiveData.data",
    ];
    for place in columns {
        let (model, column) = place.split_once('.').unwrap();
        let f = one("data.old_key", model, column);
        assert_eq!(f["severity"], "warn");
        // It says how old: the demo's old-key values were written before the rotation of
        // 2026-01-01, between 2024-03 and 2025-12, by the tokens' own clocks.
        let finding = f["finding"].as_str().unwrap();
        assert!(
            finding.contains("old_1 fp:") && finding.contains("still encrypts"),
            "{finding}"
        );
        assert!(finding.contains("written between 2024-"), "{finding}");
        for field in ["oldest", "median", "newest"] {
            let at = f["evidence"][field]
                .as_str()
                .unwrap_or_else(|| panic!("{f}"));
            assert!(
                ("2024-03-01".."2026-01-01").contains(&at),
                "{place} {field} {at}"
            );
        }
        let share = f["evidence"]["count"].as_f64().unwrap() / rows_of(&summary, model);
        assert!(
            (0.05..0.30).contains(&share),
            "{place}: {share} under the old key"
        );
    }
    assert!(
        old.iter()
            .all(|f| f["evidence"]["model"] != "PatientRecord"),
        "per-user data has no old key"
    );

    // The demo's keys are published: weak (a warning, OAK_ENV is not production).
    let weak = findings(&report, "key.weak");
    assert_eq!(weak.len(), 3, "primary, old and master: {weak:?}");
    assert!(weak.iter().all(|f| f["severity"] == "warn"));
    let out = timber_cli(
        &dir,
        &["health", "--only", "key.weak", "--format", "json"],
        &[("OAK_ENV", "production".into())],
    );
    let prod: Json = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        prod["checks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["severity"] == "fail"),
        "{prod}"
    );
    assert_eq!(out.status.code(), Some(2));
}

fn rows_of(summary: &timber::demo::DemoSummary, model: &str) -> f64 {
    summary
        .rows
        .iter()
        .find(|(m, _)| m == model)
        .map(|(_, n)| *n as f64)
        .unwrap()
}
