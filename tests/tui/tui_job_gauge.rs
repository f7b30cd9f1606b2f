//! A rotation job's gauge reads the same on the Overview and the Keys screen: rows handled
//! (done + skipped + failed) of the total, failures apart as `✗n`. A finished job with two
//! failed rows of 2000 showed 1998/2000 on one and 2000/2000 on the other.

use crate::tui_support;

use timber::store::Store;
use tui_support::*;

/// A completed job of 2000 rows, 1990 re-encrypted, 8 skipped (already under the new
/// key) and 2 failed, as the rotation service leaves it.
async fn completed_job_with_failures(config: &timber::store::StoreConfig) -> i64 {
    let store = Store::connect(config.clone()).await.unwrap();
    let worker = timber::rotation::worker_id();
    let id = store
        .rotation_create_job("customers", r#"["email"]"#, "primary", 2000, &worker, "{}")
        .await
        .unwrap();
    store
        .rotation_finish_job(id, &worker, timber::rotation::JobStatus::Completed, None)
        .await
        .unwrap();
    store.close().await;
    use sqlx::Connection;
    let mut conn = sqlx::SqliteConnection::connect(config.url.expose())
        .await
        .unwrap();
    let sql = format!(
        "UPDATE timber_rotation_jobs SET rows_done = 1990, rows_skipped = 8, rows_failed = 2 \
         WHERE id = {id}"
    );
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
        .execute(&mut conn)
        .await
        .unwrap();
    id
}

/// The gauge text of job `id`'s row on `screen`.
fn gauge_of(screen: &str, id: i64) -> String {
    let line = screen
        .lines()
        .find(|l| l.contains(&format!("#{id} customers completed")))
        .unwrap_or_else(|| panic!("job #{id} is listed:\n{screen}"));
    let at = line.find("/2000").expect("a count of 2000 rows");
    let start = line[..at]
        .rfind(|c: char| !c.is_ascii_digit())
        .map_or(0, |i| i + line[i..].chars().next().unwrap().len_utf8());
    // After the count: other tiles on the same row have their own `✗n`.
    let failed = line[at..]
        .split_whitespace()
        .find(|w| w.starts_with('✗'))
        .unwrap_or("");
    format!("{} {failed}", &line[start..at + 5])
}

#[tokio::test]
async fn overview_and_keys_show_the_same_count_for_a_job() {
    let dir = tempfile::tempdir().unwrap();
    let config = seeded_db(dir.path()).await;
    let id = completed_job_with_failures(&config).await;
    let mut app = started(config, "security_admin", 160, 48).await;
    let overview = screen(&app);
    press(&mut app, &[ch('4')]).await;
    let keys = screen(&app);
    let (on_overview, on_keys) = (gauge_of(&overview, id), gauge_of(&keys, id));
    assert!(
        on_overview.starts_with("2000/2000"),
        "{on_overview}\n{overview}"
    );
    assert!(on_overview.contains("✗2"), "{on_overview}");
    assert_eq!(on_overview, on_keys, "\n{overview}\n{keys}");
    // Where there is room, the gauge names what it counts.
    assert!(keys.contains("2000/2000 handled ✗2"), "{keys}");
}

/// A job split into chunks, two of them leased by workers of two machines: the Keys screen
/// names its workers and chunks beside its gauge, as `timber jobs` does.
#[tokio::test]
async fn the_keys_screen_names_a_jobs_workers_and_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let config = seeded_db(dir.path()).await;
    let store = Store::connect(config.clone()).await.unwrap();
    let worker = timber::rotation::worker_id();
    let id = store
        .rotation_create_job("customers", r#"["email"]"#, "primary", 3000, &worker, "{}")
        .await
        .unwrap();
    let ranges = [
        (None, Some("1000".to_string())),
        (Some("1000".to_string()), Some("2000".to_string())),
        (Some("2000".to_string()), None),
    ];
    assert!(store.rotation_create_chunks(id, &ranges).await.unwrap());
    let until = timber::store::utc_now() + chrono::Duration::seconds(600);
    let never_gone = |_: &str| false;
    for owner in [format!("{worker}/w1"), "vm-b:4242/w1".to_string()] {
        let lease = store
            .rotation_claim_chunk(id, &owner, until, &never_gone)
            .await
            .unwrap();
        assert!(lease.is_some(), "{owner} claims a chunk");
    }
    store.close().await;
    let mut app = started(config, "security_admin", 200, 48).await;
    press(&mut app, &[ch('4')]).await;
    let keys = screen(&app);
    let line = keys
        .lines()
        .find(|l| l.contains(&format!("#{id} customers")))
        .unwrap_or_else(|| panic!("job #{id} is listed:\n{keys}"));
    assert!(
        line.contains("2 workers · chunks 0/3 done, 2 leased, 1 left"),
        "{line}\n{keys}"
    );
    // The selected job names each worker and its rate on its chunk.
    assert!(
        line.contains(&format!("{worker}/w1 0/s")) && line.contains("vm-b:4242/w1 0/s"),
        "{line}"
    );
}
