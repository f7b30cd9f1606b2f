//! The real terminal: one guard that enters raw mode, the alternate screen, mouse capture
//! and bracketed paste, and whose `Drop` undoes all of it; a panic hook that restores the
//! terminal before the panic is printed; and the event loop, which also stops on SIGTERM,
//! SIGHUP (a dropped SSH session) and SIGINT: the terminal is restored at once, then the
//! background work ends safely (each rotation job this console runs pauses after its
//! current batch, see [`App::stop_background`]), so a `kill` never leaves raw mode, the
//! alternate screen or mouse tracking behind, nor a batch half-written.

use std::io::{Stdout, Write, stdout};
use std::sync::atomic::{AtomicBool, Ordering};
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

/// How long a stop waits for the rotation jobs this console runs to pause after their
/// current batch (a batch is kept to about a quarter second; a slow database gets more).
pub const STOP_WAIT: Duration = Duration::from_secs(10);

/// True while the terminal is in the modes the guard entered: restoring is done once, by
/// whichever comes first (a signal, a panic, the guard's drop).
static ENTERED: AtomicBool = AtomicBool::new(false);

/// Why the console stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// The operator quit (`q`, `ctrl-c`), or a task failed (see [`App::fatal_error`]).
    Quit,
    /// A signal asked the process to end.
    Signal(StopSignal),
    /// The terminal's input ended.
    InputClosed,
}

/// The signals the console ends on (with the terminal restored and its work stopped safely).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopSignal {
    Term,
    Hup,
    Int,
}

impl StopSignal {
    pub fn name(self) -> &'static str {
        match self {
            StopSignal::Term => "SIGTERM",
            StopSignal::Hup => "SIGHUP",
            StopSignal::Int => "SIGINT",
        }
    }

    /// The exit status of a process ended by this signal, as a shell reports it (128 + n).
    pub fn exit_code(self) -> u8 {
        match self {
            StopSignal::Hup => 129,
            StopSignal::Int => 130,
            StopSignal::Term => 143,
        }
    }
}

/// The signals the event loop listens to (Unix; elsewhere none).
struct Signals {
    #[cfg(unix)]
    streams: Vec<(tokio::signal::unix::Signal, StopSignal)>,
}

impl Signals {
    fn install() -> std::io::Result<Signals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let streams = vec![
                (signal(SignalKind::terminate())?, StopSignal::Term),
                (signal(SignalKind::hangup())?, StopSignal::Hup),
                (signal(SignalKind::interrupt())?, StopSignal::Int),
            ];
            Ok(Signals { streams })
        }
        #[cfg(not(unix))]
        Ok(Signals {})
    }

    /// The next signal; never resolves when none comes.
    async fn next(&mut self) -> StopSignal {
        #[cfg(unix)]
        {
            let waits = self.streams.iter_mut().map(|(stream, which)| {
                let which = *which;
                Box::pin(async move {
                    stream.recv().await;
                    which
                })
            });
            futures_util::future::select_all(waits).await.0
        }
        #[cfg(not(unix))]
        std::future::pending().await
    }
}

/// Raw mode + alternate screen + mouse capture, restored on drop (normal exit, error, or
/// unwinding panic).
pub struct TerminalGuard {
    pub terminal: Terminal<CrosstermBackend<Stdout>>,
}

impl TerminalGuard {
    pub fn enter() -> std::io::Result<TerminalGuard> {
        enable_raw_mode()?;
        ENTERED.store(true, Ordering::SeqCst);
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

/// Leaves every mode the guard entered: bracketed paste, mouse tracking, the alternate
/// screen, raw mode; shows the cursor. Only the first call after entering does anything, so
/// a signal, a panic and the guard's drop may all call it. Write errors are ignored: after
/// SIGHUP the terminal may be gone.
pub fn restore() {
    if !ENTERED.swap(false, Ordering::SeqCst) {
        return;
    }
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

/// Runs the console until the operator quits, a signal comes or the terminal's input ends.
/// The first frame is drawn before any background work starts. However it stops, the
/// terminal is restored first and the background work is then ended safely
/// ([`App::stop_background`]); what became of each rotation job is in
/// [`App::stop_report`].
pub async fn run(app: &mut App, guard: &mut TerminalGuard) -> std::io::Result<Stop> {
    let size = guard.terminal.size()?;
    app.handle_event(Event::Resize(size.width, size.height));
    guard.terminal.draw(|frame| app.draw(frame))?;
    let mut signals = Signals::install()?;
    app.start();
    let mut events = EventStream::new();
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let ended = loop {
        enum Input {
            Terminal(Option<std::io::Result<crossterm::event::Event>>),
            Tick,
            Task(crate::tui::app::tasks::TaskResult),
            Signal(StopSignal),
        }
        let input = tokio::select! {
            signal = signals.next() => Input::Signal(signal),
            event = events.next() => Input::Terminal(event),
            _ = tick.tick() => Input::Tick,
            result = app.next_result() => Input::Task(result),
        };
        match input {
            Input::Signal(signal) => break Ok(Stop::Signal(signal)),
            Input::Terminal(Some(Ok(event))) => {
                if let Some(event) = Event::from_terminal(event) {
                    app.handle_event(event);
                }
            }
            Input::Terminal(Some(Err(e))) => break Err(e),
            Input::Terminal(None) => break Ok(Stop::InputClosed),
            Input::Tick => app.handle_event(Event::Tick),
            Input::Task(result) => app.apply(result),
        }
        if app.should_quit() {
            break Ok(Stop::Quit);
        }
        if let Err(e) = draw(app, guard) {
            break Err(e);
        }
    };
    // The shell gets its terminal back before anything is waited for.
    restore();
    app.stop_background(STOP_WAIT).await;
    ended
}

/// Draws a frame, then writes what the console asked to send the terminal itself.
fn draw(app: &mut App, guard: &mut TerminalGuard) -> std::io::Result<()> {
    guard.terminal.draw(|frame| app.draw(frame))?;
    write_output(app, guard.terminal.backend_mut())
}

/// Writes (and flushes) what the console asked to send the terminal itself (an OSC 52
/// clipboard copy) to `out`: the real terminal's backend here, a byte buffer in tests.
pub fn write_output(app: &mut App, out: &mut impl Write) -> std::io::Result<()> {
    let bytes = app.take_terminal_output();
    if bytes.is_empty() {
        return Ok(());
    }
    out.write_all(&bytes)?;
    out.flush()
}

/// The OSC 52 sequence that sets the clipboard to `text`: `ESC ] 52 ; c ; base64 BEL`. The
/// terminal emulator does the copy, so it works over SSH and inside tmux (with its
/// `set-clipboard` on); a terminal without OSC 52 ignores it.
pub fn osc52(text: &str) -> Vec<u8> {
    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD.encode(text.as_bytes());
    format!("\x1b]52;c;{encoded}\x07").into_bytes()
}
