//! The real terminal: one guard that enters raw mode, the alternate screen, mouse capture
//! and bracketed paste, and whose `Drop` undoes all of it; a panic hook that restores the
//! terminal before the panic is printed; and the event loop.

use std::io::{Stdout, Write, stdout};
use std::time::Duration;

use crossterm::event::{
    DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture,
    EventStream,
};
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use crossterm::{cursor, execute};
use futures_util::StreamExt;
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

use crate::tui::app::App;
use crate::tui::event::Event;

/// How often the clock is read (reveal timeouts) when nothing else happens.
const TICK: Duration = Duration::from_millis(250);

/// Raw mode + alternate screen + mouse capture, restored on drop (normal exit, error, or
/// unwinding panic).
pub struct TerminalGuard {
    pub terminal: Terminal<CrosstermBackend<Stdout>>,
}

impl TerminalGuard {
    pub fn enter() -> std::io::Result<TerminalGuard> {
        enable_raw_mode()?;
        let mut out = stdout();
        if let Err(e) = execute!(
            out,
            EnterAlternateScreen,
            EnableMouseCapture,
            EnableBracketedPaste
        ) {
            restore();
            return Err(e);
        }
        match Terminal::new(CrosstermBackend::new(out)) {
            Ok(terminal) => Ok(TerminalGuard { terminal }),
            Err(e) => {
                restore();
                Err(e)
            }
        }
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
    }
}

/// Leaves every mode the guard entered. Safe to call more than once.
pub fn restore() {
    let mut out = stdout();
    let _ = execute!(
        out,
        DisableBracketedPaste,
        DisableMouseCapture,
        LeaveAlternateScreen,
        cursor::Show
    );
    let _ = disable_raw_mode();
    let _ = out.flush();
}

/// Chains a hook that restores the terminal before the existing one (color-eyre's, installed
/// first by `main`) prints the panic, so the report is readable and the shell usable.
pub fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore();
        previous(info);
    }));
}

/// Runs the console until the operator quits. The first frame is drawn before any
/// background work starts.
pub async fn run(app: &mut App, guard: &mut TerminalGuard) -> std::io::Result<()> {
    let size = guard.terminal.size()?;
    app.handle_event(Event::Resize(size.width, size.height));
    guard.terminal.draw(|frame| app.draw(frame))?;
    app.start();
    let mut events = EventStream::new();
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        enum Input {
            Terminal(Option<std::io::Result<crossterm::event::Event>>),
            Tick,
            Task(crate::tui::app::tasks::TaskResult),
        }
        let input = tokio::select! {
            event = events.next() => Input::Terminal(event),
            _ = tick.tick() => Input::Tick,
            result = app.next_result() => Input::Task(result),
        };
        match input {
            Input::Terminal(Some(Ok(event))) => {
                if let Some(event) = Event::from_terminal(event) {
                    app.handle_event(event);
                }
            }
            Input::Terminal(Some(Err(e))) => return Err(e),
            Input::Terminal(None) => return Ok(()),
            Input::Tick => app.handle_event(Event::Tick),
            Input::Task(result) => app.apply(result),
        }
        if app.should_quit() {
            // Abort the tasks now rather than leave them to the runtime's shutdown, which
            // waits for what is running (an unreachable server's connection attempt).
            app.shutdown();
            return Ok(());
        }
        guard.terminal.draw(|frame| app.draw(frame))?;
    }
}
