//! A storm against the console on `TestBackend`: 10 000 random keys (any modifier), mouse
//! events, pastes, ticks and resizes down to a terminal the size of a stamp (and to zero),
//! applied to the real `App` over a real SQLite database. The console must not panic, must
//! keep drawing at every size, and for a masked role no secret may reach any frame.
//!
//! Seeds are fixed so a failure replays; the failing event index and the last events are
//! in the panic message.

use crate::tui_support;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use timber::tui::state::Popup;
use timber::tui::{App, Event};
use tui_support::*;

const SPECIAL: &[KeyCode] = &[
    KeyCode::Enter,
    KeyCode::Esc,
    KeyCode::Tab,
    KeyCode::BackTab,
    KeyCode::Backspace,
    KeyCode::Delete,
    KeyCode::Up,
    KeyCode::Down,
    KeyCode::Left,
    KeyCode::Right,
    KeyCode::PageUp,
    KeyCode::PageDown,
    KeyCode::Home,
    KeyCode::End,
    KeyCode::Insert,
];

/// Keys the console binds (screens, palette, filter, reveal, ...) are drawn more often than
/// the rest of Unicode, so the storm actually walks the screens.
const BOUND: &str = "12345?:/qjklhgGrnNe \n";

fn random_key(rng: &mut StdRng) -> Event {
    let code = match rng.random_range(0..10) {
        0..=4 => {
            let bound: Vec<char> = BOUND.chars().collect();
            KeyCode::Char(bound[rng.random_range(0..bound.len())])
        }
        5 | 6 => SPECIAL[rng.random_range(0..SPECIAL.len())],
        7 => KeyCode::F(rng.random_range(1..=12)),
        8 => KeyCode::Char(rng.random_range(' '..='~')),
        _ => KeyCode::Char(char::from_u32(rng.random_range(0xA0..0x3000)).unwrap_or('é')),
    };
    let mut modifiers = KeyModifiers::NONE;
    if rng.random_bool(0.1) {
        modifiers |= KeyModifiers::CONTROL;
    }
    if rng.random_bool(0.1) {
        modifiers |= KeyModifiers::SHIFT;
    }
    if rng.random_bool(0.05) {
        modifiers |= KeyModifiers::ALT;
    }
    Event::Key(KeyEvent::new(code, modifiers))
}

fn random_mouse(rng: &mut StdRng, (w, h): (u16, u16)) -> Event {
    let button =
        [MouseButton::Left, MouseButton::Right, MouseButton::Middle][rng.random_range(0..3)];
    let kind = match rng.random_range(0..8) {
        0 => MouseEventKind::Down(button),
        1 => MouseEventKind::Up(button),
        2 => MouseEventKind::Drag(button),
        3 => MouseEventKind::Moved,
        4 => MouseEventKind::ScrollDown,
        5 => MouseEventKind::ScrollUp,
        6 => MouseEventKind::ScrollLeft,
        _ => MouseEventKind::ScrollRight,
    };
    // Mostly inside the terminal, sometimes far outside (terminals do report those).
    let (column, row) = if rng.random_bool(0.9) {
        (rng.random_range(0..w.max(1)), rng.random_range(0..h.max(1)))
    } else {
        (rng.random(), rng.random())
    };
    Event::Mouse(MouseEvent {
        kind,
        column,
        row,
        modifiers: KeyModifiers::NONE,
    })
}

fn random_size(rng: &mut StdRng) -> (u16, u16) {
    match rng.random_range(0..6) {
        0 => (rng.random_range(0..4), rng.random_range(0..4)), // a stamp, or nothing
        1 => (rng.random_range(1..20), rng.random_range(1..8)),
        2 => (rng.random_range(200..400), rng.random_range(60..120)),
        _ => (rng.random_range(40..160), rng.random_range(10..50)),
    }
}

fn random_event(rng: &mut StdRng, size: (u16, u16)) -> Event {
    match rng.random_range(0..100) {
        0..=74 => random_key(rng),
        75..=89 => random_mouse(rng, size),
        90..=94 => {
            let (w, h) = random_size(rng);
            Event::Resize(w, h)
        }
        95..=97 => Event::Tick,
        _ => {
            let len = rng.random_range(0..80);
            Event::Paste((0..len).map(|_| rng.random_range(' '..='~')).collect())
        }
    }
}

/// Runs `events` random events; draws often, settles background work now and then, and
/// checks every frame for canaries when `masked`.
async fn storm(role: &str, seed: u64, events: usize, masked: bool) {
    let dir = tempfile::tempdir().unwrap();
    let config = seeded_db(dir.path()).await;
    let mut app: App = started(config, role, 100, 30).await;
    // A random `e` on the Health screen exports the report: keep it out of the work tree.
    app.state.health.export_dir = dir.path().to_path_buf();
    // And a random ctrl-s dumps the screen: the same.
    app.state.dump_dir = dir.path().to_path_buf();
    let mut rng = StdRng::seed_from_u64(seed);
    let mut recent: Vec<String> = Vec::new();
    // What the storm reached, so a storm stuck on one screen fails instead of passing.
    let mut screens = std::collections::BTreeSet::new();
    let mut popups = 0usize;
    let mut tables = 0usize;
    for i in 0..events {
        let event = random_event(&mut rng, app.state.size);
        recent.push(format!("{event:?}"));
        if recent.len() > 12 {
            recent.remove(0);
        }
        let resized = matches!(event, Event::Resize(..));
        app.handle_event(event);
        // The operator asked to quit: a real session ends here; the storm carries on.
        if app.should_quit() {
            app.state.quit = false;
        }
        screens.insert(format!("{:?}", app.state.screen));
        popups += usize::from(!matches!(app.state.popup, Popup::None));
        tables += usize::from(app.state.data.table.is_some());
        if i % 50 == 0 {
            app.settle().await;
        }
        if resized || i % 7 == 0 {
            let frame = screen(&app);
            if masked {
                for canary in CANARIES {
                    assert!(
                        !frame.contains(canary),
                        "{role} seed {seed} event {i}: `{canary}` on screen after {recent:?}"
                    );
                }
            }
        }
        assert!(
            app.fatal_error().is_none(),
            "{role} seed {seed} event {i}: fatal {:?} after {recent:?}",
            app.fatal_error()
        );
    }
    app.settle().await;
    assert!(
        screens.len() >= 4,
        "{role}: the storm only reached {screens:?}"
    );
    assert!(
        popups > 0 && tables > 0,
        "{role}: no popup ({popups}) or table ({tables}) reached"
    );
    // Still a working console afterwards: back to a normal size, the overview draws.
    app.handle_event(Event::Resize(100, 30));
    app.handle_event(key(KeyCode::Esc));
    app.handle_event(key(KeyCode::Esc));
    app.handle_event(ch('1'));
    let frame = screen(&app);
    assert!(
        frame.contains("Overview"),
        "console unusable after the storm:\n{frame}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_random_events_never_panic_and_never_leak() {
    // A role that may reveal (reveal dialogs, reasons, timed reveals are reachable) ...
    storm("security_admin", 0x5eed_0001, 6_000, false).await;
    // ... and masked roles, whose every frame is checked for secrets.
    storm("support", 0x5eed_0002, 2_000, true).await;
    storm("viewer", 0x5eed_0003, 2_000, true).await;
}
