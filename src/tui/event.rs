//! What the event loop reacts to. Terminal input arrives from crossterm's event stream;
//! a tick drives time-based state (reveal timeouts, spinners); background work arrives as
//! `TaskResult`s through `App::apply`.

use crossterm::event::{Event as TermEvent, KeyEvent, KeyEventKind, MouseEvent};

/// One input to `App::handle_event`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    Key(KeyEvent),
    Mouse(MouseEvent),
    /// New terminal size (columns, rows).
    Resize(u16, u16),
    /// Periodic; the app reads the clock.
    Tick,
    /// Pasted text (bracketed paste), for the text inputs.
    Paste(String),
}

impl Event {
    /// The event for a crossterm event; `None` for ones the console ignores (key releases
    /// and repeats on terminals that report them, focus changes).
    pub fn from_terminal(event: TermEvent) -> Option<Event> {
        match event {
            TermEvent::Key(key) if key.kind == KeyEventKind::Press => Some(Event::Key(key)),
            TermEvent::Key(_) => None,
            TermEvent::Mouse(mouse) => Some(Event::Mouse(mouse)),
            TermEvent::Resize(w, h) => Some(Event::Resize(w, h)),
            TermEvent::Paste(text) => Some(Event::Paste(text)),
            TermEvent::FocusGained | TermEvent::FocusLost => None,
        }
    }
}
