//! What a census costs over a network, counted rather than timed: the on-call engineer's
//! database is often a region away behind a tunnel, where every round trip is tens of
//! milliseconds (issue 17). A relaying proxy in front of PostgreSQL counts the sessions
//! that reach the server and the client's turns: each time the client speaks after
//! receiving something from the server, it waited a round trip for that answer.
//!
//! A census of two tables is one session and, with trust authentication, six turns
//! without TLS (startup, key registry, table outlines, one scan per table, goodbye) and
//! eight with it (the TLS request and the handshake come first; the goodbye stays one
//! turn). SCRAM authentication adds two. Every extra turn once crept in unseen: a probe
//! connection before the pool's, a ping on every connection's release, a prepare before
//! each statement without parameters, a TLS HelloRetryRequest, a wait for the server's
//! close_notify.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::health_support::{models, new_key, settings};
use crate::store_support::{Kind, TestDb};
use timber::health::{KeyConfig, ScanOptions, take_census};
use timber::store::{Store, StoreConfig};
use timber::value::Value;

const MODELS: &str = r#"
models:
  - name: Profile
    table_name: rt_profiles
    columns:
      - {name: id, type: String(36), primary_key: true}
      - {name: email, type: String(255), encrypted: true}
      - {name: notes, type: Text, encrypted: true}
    mixins: [EncryptedFieldMixin]
  - name: Session
    table_name: rt_sessions
    columns:
      - {name: id, type: String(36), primary_key: true}
      - {name: data, type: JSON, encrypted: true}
    mixins: [EncryptedFieldMixin]
"#;

/// Who spoke last on the proxied connections, and what was counted.
#[derive(Default)]
struct Wire {
    /// Connections on which the client sent anything (a bare TCP connect is not a session).
    sessions: AtomicUsize,
    /// Times the client spoke after receiving something.
    turns: AtomicUsize,
    /// 1 when the client last received something, 0 when it spoke since.
    server_last: AtomicUsize,
}

/// How long the proxy holds what the server sends before relaying it. A turn is counted
/// only for what the client sends after receiving, so bytes the server sends unasked (a
/// TLS session ticket, its goodbye) cannot split two writes the client makes back to back
/// into two turns.
const HOLD: std::time::Duration = std::time::Duration::from_millis(20);

/// Relays 127.0.0.1:<returned port> to `upstream`, counting into `wire`.
async fn counting_proxy(upstream: String, wire: Arc<Wire>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let server = TcpStream::connect(&upstream).await.unwrap();
            let (mut client_rx, mut client_tx) = client.into_split();
            let (mut server_rx, mut server_tx) = server.into_split();
            let (up, down) = (wire.clone(), wire.clone());
            tokio::spawn(async move {
                let mut buf = vec![0u8; 64 * 1024];
                let mut spoke = false;
                while let Ok(n @ 1..) = client_rx.read(&mut buf).await {
                    // A session's first bytes are a turn too: the client waited for its TCP
                    // connect, which this proxy does not delay.
                    if !spoke {
                        spoke = true;
                        up.sessions.fetch_add(1, Ordering::SeqCst);
                        up.server_last.store(1, Ordering::SeqCst);
                    }
                    if up.server_last.swap(0, Ordering::SeqCst) == 1 {
                        up.turns.fetch_add(1, Ordering::SeqCst);
                    }
                    if server_tx.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
                let _ = server_tx.shutdown().await;
            });
            tokio::spawn(async move {
                let mut buf = vec![0u8; 64 * 1024];
                while let Ok(n @ 1..) = server_rx.read(&mut buf).await {
                    tokio::time::sleep(HOLD).await;
                    // Marked before it is relayed: the client cannot answer what it has not
                    // yet received.
                    down.server_last.store(1, Ordering::SeqCst);
                    if client_tx.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
                let _ = client_tx.shutdown().await;
            });
        }
    });
    port
}

/// A census of `models` through a counting proxy to the server `url` names: (sessions,
/// turns), after checking every value was counted.
async fn census_through_proxy(
    url: &str,
    models: &timber::config::ModelSet,
    keys: &KeyConfig,
) -> (usize, usize) {
    let authority = url.split("://").nth(1).unwrap();
    let host_port = authority.split(['/', '?']).next().unwrap();
    let host_port = host_port.rsplit('@').next().unwrap().to_string();
    let wire = Arc::new(Wire::default());
    let port = counting_proxy(host_port.clone(), wire.clone()).await;
    let proxied = url.replacen(&host_port, &format!("127.0.0.1:{port}"), 1);
    let store = Store::connect(StoreConfig::from_url(&proxied).unwrap())
        .await
        .unwrap();
    let all: Vec<_> = models.models.iter().collect();
    let census = take_census(&store, &all, keys, &ScanOptions::default())
        .await
        .unwrap();
    store.close().await;
    let rows: Vec<u64> = census.columns.iter().map(|c| c.rows).collect();
    assert_eq!(rows, [500, 500, 200], "every value counted: {census:?}");
    // Let the relays see the connection's last bytes.
    tokio::time::sleep(HOLD * 5).await;
    (
        wire.sessions.load(Ordering::SeqCst),
        wire.turns.load(Ordering::SeqCst),
    )
}

#[tokio::test]
async fn a_census_over_the_network_is_one_session_and_a_turn_per_statement() {
    let Some(db) = TestDb::new(Kind::Postgres).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let models = models(dir.path(), MODELS);
    let vars = [
        ("DATABASE_URL", db.url.clone()),
        ("ENCRYPTION_KEY", new_key()),
        ("MASTER_ENCRYPTION_KEY", new_key()),
    ];
    let settings = settings(&vars, dir.path());
    let ring = timber::crypto::KeyRing::from_settings(&settings).unwrap();
    let store = db.store().await;
    store.init(&models.models).await.unwrap();
    let (profile, session) = (
        models.find("Profile").unwrap(),
        models.find("Session").unwrap(),
    );
    let profiles: Vec<Vec<(String, Value)>> = (0..500)
        .map(|n| {
            vec![
                ("id".into(), Value::Text(format!("p{n}"))),
                ("email".into(), Value::Text(format!("user{n}@example.com"))),
                ("notes".into(), Value::Text("n".repeat(300))),
            ]
        })
        .collect();
    store
        .insert_many(profile, &ring, &profiles, None)
        .await
        .unwrap();
    let sessions: Vec<Vec<(String, Value)>> = (0..200)
        .map(|n| {
            vec![
                ("id".into(), Value::Text(format!("s{n}"))),
                ("data".into(), Value::Json(serde_json::json!({"n": n}))),
            ]
        })
        .collect();
    store
        .insert_many(session, &ring, &sessions, None)
        .await
        .unwrap();
    store.close().await;

    let keys = KeyConfig::from_settings(&settings);
    // Password authentication (SCRAM) costs two turns more than trust; sqlx finds a
    // password in the URL, PGPASSWORD or ~/.pgpass.
    let in_url = matches!(
        db.url.split("://").nth(1).and_then(|r| r.split_once('@')),
        Some((user, _)) if user.contains(':')
    ) || db.url.contains("password=");
    let pgpass = std::env::var_os("HOME")
        .is_some_and(|home| std::path::Path::new(&home).join(".pgpass").exists());
    let auth = if in_url || pgpass || std::env::var_os("PGPASSWORD").is_some() {
        2
    } else {
        0
    };
    // Whether the server offers TLS, asked directly (not through the proxy).
    let direct = db.store().await;
    let tls = direct.session_uses_tls().await.unwrap() == Some(true);
    direct.close().await;
    let sep = if db.url.contains('?') { '&' } else { '?' };
    let plain = format!("{}{sep}sslmode=disable", db.url);
    let (sessions, turns) = census_through_proxy(&plain, &models, &keys).await;
    eprintln!("census without TLS: {sessions} session(s), {turns} turns");
    assert_eq!(
        sessions, 1,
        "one connection reaches the server (no probe connection)"
    );
    assert!(
        turns <= 6 + auth,
        "{turns} turns without TLS: a census of two tables waits for the server at most six times"
    );
    if !tls {
        eprintln!("SKIP: the server offers no TLS; the census's turns over TLS not counted");
        db.drop_all().await;
        return;
    }
    let (sessions, turns) = census_through_proxy(&db.url, &models, &keys).await;
    eprintln!("census over TLS: {sessions} session(s), {turns} turns");
    assert_eq!(
        sessions, 1,
        "one connection reaches the server (no probe connection)"
    );
    assert!(
        turns <= 8 + auth,
        "{turns} turns with TLS: a census of two tables waits for the server at most eight times"
    );
    db.drop_all().await;
}
