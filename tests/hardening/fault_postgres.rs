//! PostgreSQL going away mid-session. The shared server is never stopped (other tests use
//! it); instead every connection goes through a TCP proxy inside the test, and the proxy
//! is cut (open connections reset, new ones closed at once, as a dying server does) and
//! later restored.
//!
//! - The console shows the failure, keeps running on every screen, and recovers (the data
//!   screen reloads) once the database is back.
//! - A rotation cut mid-run stops with a clear message, leaves no partial batch (exactly
//!   the committed batches' rows are under the new key, every row still decrypts), and
//!   resumes from its cursor to completion once the database is back.

use crate::rotation_support;
use crate::store_support;
use crate::tui_support;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use store_support::{Kind, TestDb};
use timber::crypto::KeyId;
use timber::store::{Cell, PageRequest, Store, StoreConfig};
use timber::tui::Event;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::AbortHandle;

/// A TCP forwarder to the real server that can be cut and restored.
struct Proxy {
    addr: SocketAddr,
    up: Arc<AtomicBool>,
    open: Arc<Mutex<Vec<AbortHandle>>>,
}

impl Proxy {
    async fn start(target: String) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().unwrap();
        let up = Arc::new(AtomicBool::new(true));
        let open: Arc<Mutex<Vec<AbortHandle>>> = Arc::default();
        let (up2, open2) = (up.clone(), open.clone());
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if !up2.load(Ordering::SeqCst) {
                    drop(inbound); // the "server" hangs up at once
                    continue;
                }
                let target = target.clone();
                let task = tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                open2.lock().unwrap().push(task.abort_handle());
            }
        });
        Proxy { addr, up, open }
    }

    /// The server is gone: every open connection is reset, new ones are closed.
    fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        for task in self.open.lock().unwrap().drain(..) {
            task.abort();
        }
    }

    fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }

    /// `url` with its host:port replaced by the proxy's.
    fn url(&self, url: &str) -> String {
        let (scheme, rest) = url.split_once("://").unwrap();
        let end = rest.find(['/', '?']).unwrap_or(rest.len());
        let authority = &rest[..end];
        let userinfo = authority.rsplit_once('@').map(|(u, _)| format!("{u}@"));
        format!(
            "{scheme}://{}{}{}",
            userinfo.unwrap_or_default(),
            self.addr,
            &rest[end..]
        )
    }
}

/// host:port of a server URL (default port 5432).
fn target_of(url: &str) -> String {
    let rest = url.split_once("://").unwrap().1;
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let host = rest[..end]
        .rsplit_once('@')
        .map_or(&rest[..end], |(_, h)| h);
    if host.contains(':') {
        host.to_string()
    } else {
        format!("{host}:5432")
    }
}

fn refresh() -> Event {
    Event::Key(KeyEvent::new(KeyCode::Char('r'), KeyModifiers::CONTROL))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_survives_a_database_outage_and_recovers() {
    let Some(db) = TestDb::new(Kind::Postgres).await else {
        return;
    };
    let proxy = Proxy::start(target_of(&db.url)).await;
    let mut config = StoreConfig::from_url(&proxy.url(&db.url)).unwrap();
    config.acquire_timeout = Duration::from_secs(3);
    let store = Store::connect(config.clone())
        .await
        .expect("through the proxy");
    tui_support::seed(&store).await;
    store.close().await;

    let mut app = tui_support::started(config, "viewer", 120, 40).await;
    tui_support::press(&mut app, &[tui_support::ch(':')]).await;
    tui_support::type_text(&mut app, "model Customer");
    tui_support::press(&mut app, &[tui_support::key(KeyCode::Enter)]).await;
    let before = tui_support::screen(&app);
    assert!(
        before.contains("Customer 001"),
        "data before the outage:\n{before}"
    );

    proxy.cut();
    tui_support::press(&mut app, &[refresh()]).await;
    let during = tui_support::screen(&app);
    let error = app
        .state
        .status
        .last_error
        .clone()
        .expect("the outage is reported");
    assert!(
        during.contains(&error.chars().take(30).collect::<String>()),
        "the error is on screen: {error}\n{during}"
    );
    // Every screen still draws and reacts while the database is away.
    for screen in ['1', '3', '4', '5', '2'] {
        tui_support::press(&mut app, &[tui_support::ch(screen), refresh()]).await;
        let _ = tui_support::screen(&app);
        assert!(app.fatal_error().is_none(), "fatal during the outage");
        assert!(!app.should_quit(), "the console quit during the outage");
    }

    proxy.restore();
    tui_support::press(&mut app, &[tui_support::ch('2'), refresh()]).await;
    let after = tui_support::screen(&app);
    assert!(
        after.contains("Customer 001"),
        "data after the database returned:\n{after}"
    );
    let table = app.state.data.table.as_ref().expect("table open");
    assert!(!table.rows.is_empty(), "rows reloaded");
    for canary in tui_support::CANARIES {
        assert!(!after.contains(canary), "viewer sees `{canary}`");
    }
    db.drop_all().await;
}

/// Rows under the new key and rows that still read (both keys allowed), by id.
async fn key_census(url: &str, n: i64) -> (usize, usize) {
    let store = Store::connect_url(url).await.unwrap();
    let model = rotation_support::model();
    let ring = rotation_support::ring_rotating();
    let (mut new, mut readable) = (0, 0);
    let mut request = Some(PageRequest::first(500));
    while let Some(req) = request {
        let page = store.page(&model, &ring, &req).await.expect("page");
        for record in &page.records {
            let timber::value::Value::Int(id) = record.id else {
                panic!("integer ids")
            };
            let want = rotation_support::row_values(id);
            let mut under_new = 0;
            for name in ["email", "notes", "profile"] {
                let expected = &want.iter().find(|(n, _)| n == name).unwrap().1;
                match record.cell(&model, name) {
                    Some(Cell::Decrypted { value, key, .. }) => {
                        assert_eq!(value, expected, "row {id} {name} changed");
                        under_new += usize::from(*key == KeyId::Primary);
                    }
                    other => panic!("row {id} {name} unreadable after the outage: {other:?}"),
                }
            }
            // A row is rotated whole or not at all (one transaction per batch).
            assert!(under_new == 0 || under_new == 3, "row {id} half rotated");
            new += usize::from(under_new == 3);
            readable += 1;
        }
        request = page.next(500);
    }
    store.close().await;
    assert_eq!(readable as i64, n, "every row still there");
    (new, readable)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotation_cut_by_an_outage_stops_whole_and_resumes_when_the_database_returns() {
    let Some(db) = TestDb::new(Kind::Postgres).await else {
        return;
    };
    let rows = 400;
    let store = db.store().await;
    rotation_support::seed(&store, rows, 0).await;
    store.close().await;
    let proxy = Proxy::start(target_of(&db.url)).await;
    let dir = rotation_support::env_dir(&proxy.url(&db.url));

    let std_cmd = rotation_support::timber_cmd(
        dir.path(),
        &[
            "rotate", "--model", "Secret", "--batch", "10", "--format", "json",
        ],
    );
    let mut child = tokio::process::Command::from(std_cmd)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("timber rotate");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let (mut job, mut batches) = (None, 0);
    while let Some(line) = lines.next_line().await.unwrap() {
        let event: serde_json::Value = serde_json::from_str(&line).expect("JSON line");
        match event["event"].as_str() {
            Some("started") => job = event["job"].as_i64(),
            Some("batch") => batches += 1,
            _ => {}
        }
        if batches == 3 {
            proxy.cut();
            break;
        }
    }
    let job = job.expect("the job started");
    while lines.next_line().await.ok().flatten().is_some() {}
    let out = child.wait_with_output().await.unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(2),
        "the rotation stops with an error: {stderr}"
    );
    assert_eq!(stderr.trim().lines().count(), 1, "one clear line: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    for key in [rotation_support::OLD_KEY, rotation_support::NEW_KEY] {
        assert!(!stderr.contains(key), "a key in the error");
    }

    // Through the real server: whole batches only, every value intact.
    let (under_new, _) = key_census(&db.url, rows).await;
    let direct = Store::connect_url(&db.url).await.unwrap();
    let row = direct.rotation_job(job).await.unwrap().expect("job row");
    direct.close().await;
    assert!(row.rows_done >= 30, "three batches were committed: {row:?}");
    assert_eq!(
        under_new as i64, row.rows_done,
        "rows under the new key = committed rows"
    );
    assert!(
        under_new < rows as usize,
        "the outage stopped it before the end"
    );

    proxy.restore();
    let out = rotation_support::timber(
        dir.path(),
        &["rotate", "--resume", &job.to_string(), "--format", "json"],
    );
    let events = rotation_support::json_lines(&out);
    let done = events.last().expect("events");
    assert_eq!(done["event"], "done", "{events:?}");
    assert_eq!(done["status"], "completed");
    let store = Store::connect_url(&db.url).await.unwrap();
    rotation_support::assert_all_under_new_key(&store, rows, &HashMap::new()).await;
    store.close().await;
    db.drop_all().await;
}
