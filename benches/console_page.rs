//! The console on a 1M-row table (SQLite, four encrypted fields, a blind index):
//!
//! - `page/{start,middle,end}`: one page fetched, decrypted (only its rows), masked for the
//!   role and drawn at 160x48, as PgDn/G do; target: within one 16 ms frame;
//! - `first_frame`: settings to models, keys, policy, theme and keymap, then the first frame
//!   (no I/O on the database before it); target under 150 ms;
//! - `first_page`: from nothing to the first page of the 1M-row table on screen (connect,
//!   open, fetch, decrypt, mask, draw).
//!
//! The table is generated once through the store's encrypting bulk insert and cached in
//! target/bench-data/. Run: `cargo bench --bench console_page`.

#[path = "../tests/support/tui_support.rs"]
#[allow(
    dead_code,
    reason = "the bench borrows the console tests' data and setup, not their key presses and checks"
)]
mod tui_support;

use std::path::PathBuf;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use timber::store::{Cursor, PageRequest, Store, StoreConfig};
use timber::tui::{App, Event, tasks};
use timber::value::Value;

const ROWS: usize = 1_000_000;
const BATCH: usize = 20_000;
const SIZE: (u16, u16) = (160, 48);

fn data_path() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("bench-data").join("console_page_1m.db")
}

fn config(path: &std::path::Path, create: bool) -> StoreConfig {
    let mut config = StoreConfig::from_url(&format!("sqlite://{}", path.display())).unwrap();
    config.create_if_missing = create;
    config
}

/// The cached database, generated on first use (customers 1..=1M, as the tests write them).
async fn database() -> StoreConfig {
    let path = data_path();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let models = tui_support::models();
    let model = models.find("Customer").unwrap();
    if path.exists() {
        let store = Store::connect(config(&path, false)).await.unwrap();
        let rows = store.count_rows(model).await.map(|c| c.rows).unwrap_or(0);
        store.close().await;
        if rows == ROWS as u64 {
            return config(&path, false);
        }
        std::fs::remove_file(&path).unwrap();
    }
    eprintln!("generating {ROWS} customers in {} (once)", path.display());
    let building = path.with_extension("building");
    let _ = std::fs::remove_file(&building);
    let store = Store::connect(config(&building, true)).await.unwrap();
    store.init(&models.models).await.unwrap();
    let ring = tui_support::ring();
    for start in (1..=ROWS).step_by(BATCH) {
        let rows: Vec<_> = (start..start + BATCH).map(tui_support::customer).collect();
        store
            .insert_many(model, &ring, &rows, Some("bench"))
            .await
            .unwrap();
    }
    store.close().await;
    std::fs::rename(&building, &path).unwrap();
    config(&path, false)
}

/// A console as `timber console` builds it (role `support`), sized, not yet connected.
fn fresh(config: &StoreConfig) -> App {
    let setup = tui_support::setup(config.clone(), "support", tui_support::clock());
    let mut app = App::new(setup).unwrap();
    app.handle_event(Event::Resize(SIZE.0, SIZE.1));
    app
}

/// A console connected to the database with the Customer table open (no Overview scans).
async fn console(config: StoreConfig) -> App {
    let mut app = fresh(&config);
    app.attach_store(Store::connect(config).await.unwrap());
    app.open_model("Customer");
    app.settle().await;
    app
}

fn console_page(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let config = rt.block_on(database());
    let mut app = rt.block_on(console(config.clone()));
    let store = rt.block_on(Store::connect(config.clone())).unwrap();
    let setup = tui_support::setup(config.clone(), "support", tui_support::clock());
    let access = std::sync::Arc::new(setup.access().unwrap());
    let model = setup.models.find("Customer").unwrap().clone();
    let limit = app.state.page_size() as u32;
    let mut terminal = Terminal::new(TestBackend::new(SIZE.0, SIZE.1)).unwrap();

    let mut group = c.benchmark_group("console_page");
    group.measurement_time(Duration::from_secs(5));
    let positions = [
        ("start", Cursor::First),
        ("middle", Cursor::After(Value::Int(ROWS as i64 / 2))),
        ("end", Cursor::Last),
    ];
    for (name, cursor) in positions {
        let request = PageRequest { cursor, limit };
        group.bench_function(format!("page/{name}"), |b| {
            b.iter(|| {
                let generation = app.state.data.table.as_ref().unwrap().generation;
                let work = tasks::page(
                    store.clone(),
                    setup.ring.clone(),
                    access.clone(),
                    Default::default(),
                    model.clone(),
                    request.clone(),
                    generation,
                );
                let result = rt.block_on(work);
                app.apply(result);
                terminal.draw(|frame| app.draw(frame)).unwrap();
            })
        });
        let shown = tui_support::buffer_text(terminal.backend());
        assert!(shown.contains("Customer "), "the page was drawn:\n{shown}");
        assert_eq!(
            app.state.data.table.as_ref().unwrap().rows.len(),
            limit as usize
        );
    }
    group.bench_function("first_frame", |b| {
        b.iter(|| {
            let app = fresh(&config);
            terminal.draw(|frame| app.draw(frame)).unwrap();
        })
    });
    group.bench_function("first_page", |b| {
        b.iter(|| {
            let app = rt.block_on(console(config.clone()));
            terminal.draw(|frame| app.draw(frame)).unwrap();
        })
    });
    group.finish();
}

criterion_group!(benches, console_page);
criterion_main!(benches);
