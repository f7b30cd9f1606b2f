//! A worker stalled inside a batch's transaction (a debugger's stop, a suspended VM, a lost
//! network) must not hold locks past its lease: `timber rotate` asks the server to end a
//! transaction idle longer than the lease (PostgreSQL `idle_in_transaction_session_timeout`,
//! MariaDB `idle_transaction_timeout`). Here a batch's transaction takes the job row's lock
//! and then stalls: after the timeout another session updates that row at once, and the
//! stalled transaction can no longer commit. Also: a PostgreSQL role that cannot see its
//! replicas' lag is refused `--max-lag` instead of reading "no lag".

use crate::rotation_support;
use crate::store_support;

use std::time::Duration;

use crate::rotation_only::*;
use rotation_support::*;
use store_support::{Kind, exec};
use timber::rotation::JobRequest;
use timber::store::{JobProgress, Store, StoreConfig};

async fn stalled_transaction_releases_its_locks(kind: Kind) {
    let Some(db) = new_db(kind).await else { return };
    let store = db.store().await;
    seed(&store, 10, 0).await;
    let job = store
        .rotation_create_job("secrets", r#"["email"]"#, "primary", 10, "stalled:1", "{}")
        .await
        .expect("job");
    let mut config = StoreConfig::from_url(&db.url).expect("url");
    config.idle_transaction_timeout = Some(Duration::from_secs(1));
    let worker = Store::connect(config).await.expect("connect");
    let model = model();
    let mut tx = worker.rotation_begin(&model).await.expect("begin");
    let progress = JobProgress {
        rows_done: 1,
        ..JobProgress::default()
    };
    tx.save_progress(job, &progress)
        .await
        .expect("progress")
        .expect("the job");
    // The worker stalls holding the job row's lock, past the server's timeout.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let other = tokio::time::timeout(
        Duration::from_secs(5),
        store.rotation_request(job, JobRequest::Pause),
    )
    .await
    .expect("another session is not blocked by the stalled transaction's lock")
    .expect("pause");
    assert!(other, "the job was still running");
    assert!(
        tx.commit().await.is_err(),
        "the stalled transaction was ended by the server and cannot commit"
    );
    let row = store.rotation_job(job).await.expect("read").expect("job");
    assert_eq!(row.rows_done, 0, "nothing of the stalled batch was kept");
    worker.close().await;
    store.close().await;
    db.drop_all().await;
}

#[test]
fn postgres_a_stalled_batch_releases_its_locks() {
    runtime().block_on(stalled_transaction_releases_its_locks(Kind::Postgres));
}

#[test]
fn mariadb_a_stalled_batch_releases_its_locks() {
    runtime().block_on(stalled_transaction_releases_its_locks(Kind::Mysql));
}

#[test]
fn postgres_a_role_that_cannot_see_replica_lag_is_refused_max_lag() {
    let rt = runtime();
    let Some(db) = rt.block_on(new_db(Kind::Postgres)) else {
        return;
    };
    let store = rt.block_on(db.store());
    rt.block_on(seed(&store, 10, 0));
    let role = store_support::unique_name();
    rt.block_on(exec(
        Kind::Postgres,
        &db.url,
        format!("CREATE ROLE {role} LOGIN"),
    ));
    // The same database and schema, as a role outside pg_read_all_stats.
    let url = db.url.replacen("postgres@", &format!("{role}@"), 1);
    let dir = env_dir(&url);
    let out = timber(
        dir.path(),
        &["rotate", "--all", "--max-lag", "5", "--format", "json"],
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--max-lag") && err.contains("pg_monitor"),
        "{err}"
    );
    assert!(json_lines(&out).is_empty(), "nothing ran");
    rt.block_on(store.close());
    rt.block_on(db.drop_all());
    rt.block_on(exec(
        Kind::Postgres,
        &db_admin(),
        format!("DROP ROLE {role}"),
    ));
}

fn db_admin() -> String {
    std::env::var("TIMBER_TEST_POSTGRES_URL").expect("set when the test ran")
}
