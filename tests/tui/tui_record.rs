//! The record popup (issue 16, item 7): its own field cursor (`j`/`k`), `r` reveals the
//! selected field (with the reason the role must give, audited as on the table, and back to
//! the record after), `y` copies the selected field to the clipboard through the terminal
//! (OSC 52; a revealed secret only after its `copy` audit entry), `Y` the row's id; a masked
//! field is refused; the title's keys are the live keymap's and do what it says.

use crate::tui_support;

use base64::Engine;
use crossterm::event::KeyCode;
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use timber::audit::query;
use timber::store::{AuditFilter, Store};
use timber::tui::state::Popup;
use timber::tui::{App, Event, Keymap};
use tui_support::*;

async fn record_of_first_customer(role: &str, keymap: Option<&str>) -> (tempfile::TempDir, App) {
    let dir = tempfile::tempdir().unwrap();
    let config = seeded_db(dir.path()).await;
    let mut setup = setup(config, role, clock());
    if let Some(text) = keymap {
        setup.keymap = Keymap::parse(text, std::path::Path::new("km.yaml"));
    }
    let mut app = App::new(setup).unwrap();
    app.handle_event(Event::Resize(80, 24));
    app.start();
    app.settle().await;
    press(&mut app, &[ch('2'), key(KeyCode::Enter)]).await;
    press(&mut app, &[key(KeyCode::Enter)]).await;
    assert!(
        matches!(app.state.popup, Popup::Detail { field: 0 }),
        "{:?}",
        app.state.popup
    );
    (dir, app)
}

/// A terminal's output, kept to read back.
#[derive(Clone, Default)]
struct Recorded(std::rc::Rc<std::cell::RefCell<Vec<u8>>>);

impl std::io::Write for Recorded {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// What the console wrote to the terminal besides frames: one frame drawn as the event loop
/// draws it (crossterm), then its pending bytes, into a buffer standing for the terminal.
fn terminal_bytes(app: &mut App) -> Vec<u8> {
    let (w, h) = app.state.size;
    let out = Recorded::default();
    let mut terminal = Terminal::with_options(
        CrosstermBackend::new(out.clone()),
        ratatui::TerminalOptions {
            viewport: ratatui::Viewport::Fixed(ratatui::layout::Rect::new(0, 0, w, h)),
        },
    )
    .unwrap();
    terminal.draw(|frame| app.draw(frame)).unwrap();
    let drawn = out.0.borrow().len();
    timber::tui::terminal::write_output(app, terminal.backend_mut()).unwrap();
    out.0.borrow()[drawn..].to_vec()
}

/// The clipboard texts of the OSC 52 sequences in `bytes`.
fn clipboard(bytes: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(bytes);
    text.split("\x1b]52;c;")
        .skip(1)
        .map(|rest| {
            let encoded = rest.split('\x07').next().unwrap();
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .expect("base64");
            String::from_utf8(decoded).unwrap()
        })
        .collect()
}

async fn audit_entries(app: &App) -> Vec<timber::audit::AuditEntry> {
    let store: &Store = app.store().unwrap();
    query::list(store, &AuditFilter::default(), None, 20)
        .await
        .unwrap()
}

#[tokio::test]
async fn the_record_has_its_own_field_cursor_and_reveals_and_copies_that_field() {
    let (_dir, mut app) = record_of_first_customer("security_admin", None).await;
    // j three times: id, user_id, name, email.
    press(&mut app, &[ch('j'), ch('j'), ch('j')]).await;
    let text = screen(&app);
    assert!(
        text.contains("Customer 1 · j/k field · r reveal · y copy · Y copy id · esc closes"),
        "{text}"
    );
    assert!(
        text.lines().any(|l| l.contains("▶") && l.contains("email")),
        "{text}"
    );

    // A masked field is not copied: it says to reveal it first.
    press(&mut app, &[ch('y')]).await;
    assert!(
        screen(&app).contains("email of Customer 1 is masked: reveal it first (r)"),
        "{}",
        screen(&app)
    );
    assert!(clipboard(&terminal_bytes(&mut app)).is_empty());

    // r reveals the selected field (not the table's column, id): the reason, then back.
    press(&mut app, &[ch('r')]).await;
    assert!(
        matches!(app.state.popup, Popup::Reveal(_)),
        "{:?}",
        app.state.popup
    );
    type_text(&mut app, "INC-16 checking the address");
    press(&mut app, &[key(KeyCode::Enter)]).await;
    assert!(
        matches!(app.state.popup, Popup::Detail { field: 3 }),
        "{:?}",
        app.state.popup
    );
    let table = app.state.data.table.as_ref().unwrap();
    assert_eq!(table.col, 0, "the table's column did not move");
    assert_eq!(table.reveals[0].cell.column, "email");
    let text = screen(&app);
    assert!(text.contains("◉ zqxmail1@example.com"), "{text}");
    insta::assert_snapshot!("record_revealed_80x24", text);

    // y copies it, after its own audit entry; nothing of the value is in the entry.
    press(&mut app, &[ch('y')]).await;
    assert!(
        screen(&app).contains("copied email of Customer 1 to the clipboard (audited)"),
        "{}",
        screen(&app)
    );
    assert_eq!(
        clipboard(&terminal_bytes(&mut app)),
        vec!["zqxmail1@example.com"]
    );
    let entries = audit_entries(&app).await;
    let copy = &entries[0];
    assert_eq!(copy.content.action, "reveal");
    assert_eq!(copy.content.record_id.as_deref(), Some("1"));
    assert_eq!(copy.content.fields, vec!["email".to_string()]);
    let detail: serde_json::Value =
        serde_json::from_str(copy.content.detail.as_deref().unwrap()).unwrap();
    assert_eq!(detail["scope"], "copy", "{detail}");
    assert!(!format!("{copy:?}").contains("zqxmail1"), "{copy:?}");
    assert_eq!(entries[1].content.action, "reveal", "the reveal before it");

    // A plain field is copied as it is, with no entry; Y copies the id.
    press(&mut app, &[ch('k'), ch('y'), ch('Y')]).await;
    assert_eq!(
        clipboard(&terminal_bytes(&mut app)),
        vec!["Customer 001", "1"]
    );
    assert_eq!(
        audit_entries(&app).await.len(),
        entries.len(),
        "no entry for plain"
    );

    // Esc in a reveal dialog opened from the record comes back to the record.
    press(&mut app, &[ch('j'), ch('j'), ch('j'), ch('r')]).await;
    assert!(matches!(app.state.popup, Popup::Reveal(_)));
    press(&mut app, &[key(KeyCode::Esc)]).await;
    assert!(
        matches!(app.state.popup, Popup::Detail { field: 5 }),
        "{:?}",
        app.state.popup
    );
    press(&mut app, &[key(KeyCode::Esc)]).await;
    assert!(matches!(app.state.popup, Popup::None));
}

/// The title is the live keymap's: remapped, it names the new keys, and they do it.
#[tokio::test]
async fn the_record_title_names_the_remapped_keys_and_they_work() {
    let (_dir, mut app) =
        record_of_first_customer("viewer", Some("copy: c\ncopy-id: I\ndown: n\n")).await;
    let text = screen(&app);
    assert!(
        text.contains("Customer 1 · n/k field · c copy · I copy id · esc closes"),
        "the viewer may not reveal, so no r:\n{text}"
    );
    press(&mut app, &[ch('n'), ch('c'), ch('I')]).await;
    assert!(matches!(app.state.popup, Popup::Detail { field: 1 }));
    assert_eq!(clipboard(&terminal_bytes(&mut app)), vec!["u-001", "1"]);
    // y is no longer copy.
    press(&mut app, &[ch('y')]).await;
    assert!(clipboard(&terminal_bytes(&mut app)).is_empty());
}
