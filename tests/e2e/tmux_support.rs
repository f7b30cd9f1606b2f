//! A tmux server of the test's own, driving the real `timber` binary in a real terminal:
//! type into the pane, read what it shows, wait for text. Shared by the end-to-end console
//! tests; each test skips, saying so, when tmux is not installed.

use std::path::Path;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// How long any one wait may take: generous, because the machine running the tests may be
/// loaded; only a stuck console takes this long.
pub const WAIT: Duration = Duration::from_secs(60);

/// Tests in one binary run on parallel threads: each gets a server (socket) of its own.
static SERVERS: AtomicUsize = AtomicUsize::new(0);

/// One tmux server (its own socket) with one session, killed on drop.
pub struct Tmux {
    socket: String,
}

impl Tmux {
    pub fn start(width: u16, height: u16) -> Tmux {
        let n = SERVERS.fetch_add(1, Ordering::SeqCst);
        let tmux = Tmux {
            socket: format!("timber-e2e-{}-{n}", std::process::id()),
        };
        let ok = tmux
            .run(&[
                "new-session",
                "-d",
                "-s",
                "e2e",
                "-x",
                &width.to_string(),
                "-y",
                &height.to_string(),
                "bash --norc --noprofile",
            ])
            .status
            .success();
        assert!(ok, "tmux starts a session");
        tmux
    }

    pub fn run(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("tmux runs")
    }

    /// Types `text` literally (no key names).
    pub fn type_text(&self, text: &str) {
        self.run(&["send-keys", "-t", "e2e", "-l", text]);
    }

    /// Types a shell command line and presses Enter.
    pub fn command(&self, line: &str) {
        self.type_text(line);
        self.keys(&["Enter"]);
    }

    /// Sends tmux key names (`Enter`, `NPage`, `Escape`).
    pub fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "e2e"];
        args.extend_from_slice(keys);
        self.run(&args);
    }

    pub fn screen(&self) -> String {
        String::from_utf8_lossy(&self.run(&["capture-pane", "-t", "e2e", "-p"]).stdout).into_owned()
    }

    /// Waits until the screen contains `text` and no page is loading (the console draws
    /// asynchronously).
    pub fn wait_for(&self, text: &str, what: &str) -> String {
        let what = format!("{what}: `{text}`");
        self.wait_until(&what, |screen| {
            screen.contains(text) && !screen.contains("loading…")
        })
    }

    /// Waits until `ready` holds for the screen; fails with the last screen after [`WAIT`].
    pub fn wait_until(&self, what: &str, ready: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let screen = self.screen();
            if ready(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "{what}: never seen; the screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.run(&["kill-server"]);
    }
}

pub fn tmux_available() -> bool {
    Command::new("tmux")
        .arg("-V")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// Waits until the file exists with some text in it (a shell in the pane writes it).
pub fn wait_for_file(path: &Path) -> String {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Ok(text) = std::fs::read_to_string(path)
            && !text.trim().is_empty()
        {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "{} was never written",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
