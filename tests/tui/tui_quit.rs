//! Quitting does not wait for background work: with a PostgreSQL server that accepts the
//! connection but never answers (as a firewalled or hung server does), `q` stops the
//! connection attempt at once instead of waiting for it to time out.

use crate::tui_support;

use timber::store::StoreConfig;
use timber::tui::App;
use tokio::io::AsyncReadExt;
use tui_support::*;

#[tokio::test]
async fn quitting_aborts_a_pending_connection_attempt() {
    // A real socket that takes the connection and then says nothing.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let config = StoreConfig::from_url(&format!("postgres://postgres@127.0.0.1:{port}/test"))
        .expect("postgres url");
    let mut app = App::new(setup(config, "viewer", clock())).expect("app builds");
    app.handle_event(timber::tui::Event::Resize(80, 24));
    app.start();
    let (mut socket, _) = listener.accept().await.expect("the console connects");
    assert!(screen(&app).contains("connecting"), "{}", screen(&app));

    app.handle_event(ch('q'));
    assert!(app.should_quit());
    // What the event loop does on quit.
    app.shutdown();
    // Nothing is left to wait for: the attempt was dropped, not left to time out (before,
    // this waited for the connect timeout and then applied its failure).
    app.settle().await;
    assert_eq!(
        app.state.status.connection,
        timber::tui::state::Connection::Connecting,
        "no result of the aborted attempt was awaited"
    );
    // And the server sees the client go away.
    let mut buf = [0u8; 1024];
    loop {
        match socket.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(_) => continue, // the startup message sent before the abort
        }
    }
}
