//! Secret canaries across the whole product. Fresh canary keys (primary, old, master) and
//! canary values (`tui_support::CANARIES`, planted in every secret field) go into a real
//! SQLite database; then every subcommand runs (success and refusal paths), the console
//! runs on `TestBackend` through every screen and popup, and the real binary runs in tmux.
//!
//! Asserted everywhere: no key (padded, unpadded, standard alphabet or hex) in stdout,
//! stderr, the log file or any screen; for masked roles no canary value either. A control
//! run with a revealing role proves the scan sees values when they are printed.

use crate::tui_support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use crossterm::event::KeyCode;
use timber::crypto::{Key, KeyRing};
use timber::store::{Store, StoreConfig};
use tui_support::{CANARIES, ch, key, press, screen};

/// Canary keys made for this run: they protect nothing and appear nowhere else.
struct Keys {
    primary: String,
    old: String,
    master: String,
}

impl Keys {
    fn fresh() -> Keys {
        let text = || Key::generate().to_base64().to_string();
        Keys {
            primary: text(),
            old: text(),
            master: text(),
        }
    }

    /// Every spelling of every key a leak could take.
    fn spellings(&self) -> Vec<String> {
        let mut out = Vec::new();
        for k in [&self.primary, &self.old, &self.master] {
            let raw = URL_SAFE.decode(k).unwrap();
            out.push(k.clone());
            out.push(k.trim_end_matches('=').to_string());
            out.push(STANDARD.encode(&raw).trim_end_matches('=').to_string());
            out.push(raw.iter().map(|b| format!("{b:02x}")).collect());
            // Either half alone (signing or encryption key) is a leak too.
            out.push(
                URL_SAFE
                    .encode(&raw[..16])
                    .trim_end_matches('=')
                    .to_string(),
            );
            out.push(
                URL_SAFE
                    .encode(&raw[16..])
                    .trim_end_matches('=')
                    .to_string(),
            );
        }
        out
    }
}

fn assert_clean(text: &str, keys: &Keys, values: bool, what: &str) {
    for k in keys.spellings() {
        assert!(!text.contains(&k), "{what}: a key appeared");
    }
    if values {
        for canary in CANARIES {
            assert!(
                !text.contains(canary),
                "{what}: canary `{canary}` appeared:\n{text}"
            );
        }
    }
}

/// A directory with models, policy, `.env` (the canary keys) and a database holding the
/// canary rows, some under the old key.
async fn canary_dir(keys: &Keys) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let fixtures = tui_support::fixture_dir();
    std::fs::create_dir(dir.path().join("models")).unwrap();
    std::fs::copy(
        fixtures.join("models/app.yaml"),
        dir.path().join("models/app.yaml"),
    )
    .unwrap();
    std::fs::copy(fixtures.join("policy.yaml"), dir.path().join("policy.yaml")).unwrap();
    let db = dir.path().join("app.db");
    std::fs::write(
        dir.path().join(".env"),
        format!(
            "DATABASE_URL=sqlite://{}\nENCRYPTION_KEY={}\nENCRYPTION_KEY_OLD={}\nMASTER_ENCRYPTION_KEY={}\nTIMBER_MODELS=models\nTIMBER_POLICY=policy.yaml\nTIMBER_USER=canary\nTIMBER_ROLE=viewer\n",
            db.display(),
            keys.primary,
            keys.old,
            keys.master
        ),
    )
    .unwrap();
    let mut config = StoreConfig::from_url(&format!("sqlite://{}", db.display())).unwrap();
    config.create_if_missing = true;
    let store = Store::connect(config).await.unwrap();
    let models = tui_support::models();
    store.init(&models.models).await.unwrap();
    let ring = |primary: &str| {
        KeyRing::builder()
            .primary(primary, "ENCRYPTION_KEY")
            .and_then(|b| b.master(&keys.master, "MASTER_ENCRYPTION_KEY"))
            .and_then(|b| b.build())
            .unwrap()
    };
    let customer = models.find("Customer").unwrap();
    let rows: Vec<_> = (1..=30).map(tui_support::customer).collect();
    store
        .insert_many(customer, &ring(&keys.primary), &rows[..20], Some("seed"))
        .await
        .unwrap();
    store
        .insert_many(customer, &ring(&keys.old), &rows[20..], Some("seed"))
        .await
        .unwrap();
    let tickets: Vec<_> = (1..=10).map(tui_support::ticket).collect();
    store
        .insert_many(
            models.find("Ticket").unwrap(),
            &ring(&keys.primary),
            &tickets,
            Some("seed"),
        )
        .await
        .unwrap();
    store.close().await;
    dir
}

/// The `--log-file` text without its measurements (timestamps, durations, the pid): those
/// are numbers that could hold the digits of a numeric canary by chance, and no value ever
/// reaches them. Every other field of every event is kept and scanned.
fn log_text(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .map(
            |line| match serde_json::from_str::<serde_json::Value>(line) {
                Ok(serde_json::Value::Object(mut event)) => {
                    for field in [
                        "timestamp",
                        "elapsed",
                        "elapsed_secs",
                        "elapsed_ms",
                        "pid",
                        "seconds",
                    ] {
                        event.remove(field);
                    }
                    serde_json::Value::Object(event).to_string()
                }
                _ => line.to_string(),
            },
        )
        .collect::<Vec<_>>()
        .join("\n")
}

/// Runs `timber args` in `dir` (its `.env` only) and returns everything it wrote anywhere.
fn run(dir: &Path, args: &[&str]) -> String {
    let log = dir.join("timber.log");
    let _ = std::fs::remove_file(&log);
    let out = Command::new(env!("CARGO_BIN_EXE_timber"))
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir)
        .arg("--log-file")
        .arg(&log)
        .args(args)
        .output()
        .unwrap();
    let mut all = String::from_utf8_lossy(&out.stdout).into_owned();
    all.push_str(&String::from_utf8_lossy(&out.stderr));
    all.push_str(&log_text(&log));
    assert!(
        !all.contains("panicked"),
        "timber {args:?} panicked:\n{all}"
    );
    all
}

const MASKED_RUNS: &[&[&str]] = &[
    &["info"],
    &["info", "--format", "json"],
    &["init"],
    &["browse", "Customer"],
    &["browse", "Customer", "--format", "json"],
    &["browse", "Customer", "--format", "csv", "--limit", "100"],
    &["browse", "Ticket", "--format", "json"],
    &["browse", "Customer", "--after", "10", "--format", "json"],
    &["browse", "Customer", "--find", "email=zqxmail3@example.com"],
    &["browse", "Customer", "--reveal", "--reason", "canary"],
    &[
        "--role", "support", "browse", "Customer", "--format", "json",
    ],
    &["--role", "auditor", "browse", "Customer", "--format", "csv"],
    &[
        "--role", "support", "browse", "Ticket", "--reveal", "--reason", "canary",
    ],
    &["census"],
    &["census", "--format", "json"],
    &["health"],
    &["health", "--format", "json", "--sample", "50"],
    &["discover", "--suggest"],
    &["discover", "--suggest", "--format", "json"],
    &["rotate", "--model", "Customer", "--dry-run"],
    &["rotate", "--all", "--dry-run", "--format", "json"],
    &["jobs"],
    &["jobs", "--format", "json"],
    &["keys", "list"],
    &["keys", "list", "--format", "json"],
    &["keys", "retire", "old_1"],
    &["keys", "retire", "nosuch"],
    &["audit"],
    &["audit", "--format", "json"],
    &["audit", "--verify"],
    &["audit", "--verify", "--format", "json"],
    &["report", "--format", "json", "-o", "-"],
    &["--role", "security_admin", "report", "-o", "-"],
    &["report", "--since", "not-a-time"],
    &["browse", "NoSuchModel"],
    &["--database-url", "sqlite:///nonexistent/x.db", "census"],
];

#[tokio::test]
async fn no_subcommand_shows_a_key_or_a_value_the_role_may_not_see() {
    let keys = Keys::fresh();
    let dir = canary_dir(&keys).await;
    for args in MASKED_RUNS {
        let all = run(dir.path(), args);
        assert_clean(&all, &keys, true, &format!("timber {args:?}"));
    }
    // The report runs for real here (the scans above would pass on a refusal too).
    let report = run(dir.path(), &["report", "--format", "json", "-o", "-"]);
    assert!(report.contains("\"coverage\""), "{report}");
    assert_clean(&report, &keys, true, "timber report");
    // keygen prints one new key, never one of ours.
    assert_clean(&run(dir.path(), &["keygen"]), &keys, false, "timber keygen");

    // Control: a revealing role does print values, so the scans above would see a leak.
    let revealed = run(
        dir.path(),
        &[
            "--role",
            "security_admin",
            "browse",
            "Customer",
            "--reveal",
            "--reason",
            "canary",
        ],
    );
    assert!(
        revealed.contains("zqxmail1@example.com"),
        "control reveal:\n{revealed}"
    );
    assert_clean(&revealed, &keys, false, "security_admin reveal");
    // ... and the audit log it wrote names the reveal without any value or key.
    let audit = run(dir.path(), &["audit", "--format", "json"]);
    assert_clean(&audit, &keys, true, "audit after a reveal");
}

/// Every screen, popup and page of the console on `TestBackend`, for a revealing role
/// (keys only: it may see values) and a masked one (keys and values).
#[tokio::test]
async fn no_console_screen_shows_a_key() {
    let fixture_keys = Keys {
        primary: tui_support::PRIMARY.to_string(),
        old: Key::generate().to_base64().to_string(),
        master: tui_support::MASTER.to_string(),
    };
    for (role, values) in [("security_admin", false), ("support", true)] {
        let dir = tempfile::tempdir().unwrap();
        let config = tui_support::seeded_db(dir.path()).await;
        let mut app = tui_support::started(config, role, 140, 45).await;
        let mut steps: Vec<Vec<timber::tui::Event>> = vec![
            vec![ch('1')],
            vec![ch('3')],
            vec![ch('4')],
            vec![ch('5')],
            vec![ch('?')],
            vec![key(KeyCode::Esc), ch(':')],
            vec![key(KeyCode::Esc), ch('2'), key(KeyCode::Enter)],
            vec![key(KeyCode::Enter)],
            vec![key(KeyCode::Esc), ch('l'), ch('l'), ch('r')],
        ];
        steps.push("canary reason\n".chars().map(ch).collect());
        for step in steps {
            press(&mut app, &step).await;
            assert_clean(
                &screen(&app),
                &fixture_keys,
                values,
                &format!("{role} console"),
            );
        }
    }
}

/// The real binary in a real terminal: tmux, with the canary keys, as a masked role.
struct Tmux(String);

impl Tmux {
    fn run(&self, args: &[&str]) -> std::process::Output {
        Command::new("tmux")
            .arg("-L")
            .arg(&self.0)
            .args(args)
            .output()
            .unwrap()
    }
    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.run(&["capture-pane", "-t", "c", "-p"]).stdout).into_owned()
    }
    fn wait_for(&self, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let s = self.screen();
            if s.contains(text) && !s.contains("loading…") {
                return s;
            }
            assert!(Instant::now() < deadline, "`{text}` never appeared:\n{s}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.run(&["kill-server"]);
    }
}

fn tmux_available() -> bool {
    Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[tokio::test]
async fn the_console_in_a_real_terminal_shows_no_key_and_no_masked_value() {
    if !tmux_available() {
        eprintln!("SKIP: tmux not installed; terminal canary not run");
        return;
    }
    let keys = Keys::fresh();
    let dir = canary_dir(&keys).await;
    let log: PathBuf = dir.path().join("console.log");
    let tmux = Tmux(format!("timber-canary-{}", std::process::id()));
    let command = format!(
        "cd {} && env -i PATH=\"$PATH\" HOME={} TERM=xterm-256color {} --log-file {} console",
        dir.path().display(),
        dir.path().display(),
        env!("CARGO_BIN_EXE_timber"),
        log.display()
    );
    let started = tmux.run(&[
        "new-session",
        "-d",
        "-s",
        "c",
        "-x",
        "140",
        "-y",
        "45",
        &command,
    ]);
    assert!(started.status.success(), "tmux starts");
    let mut screens = vec![tmux.wait_for("Overview")];
    // One key per send: tmux sends Escape followed at once by a key as Alt+key.
    for pressed in ["3", "4", "5", "?", "Escape", "2", "Enter"] {
        tmux.run(&["send-keys", "-t", "c", pressed]);
        std::thread::sleep(Duration::from_millis(700));
        screens.push(tmux.screen());
    }
    screens.push(tmux.wait_for("Customer 0"));
    tmux.run(&["send-keys", "-t", "c", "Enter"]);
    std::thread::sleep(Duration::from_millis(500));
    screens.push(tmux.screen());
    tmux.run(&["send-keys", "-t", "c", "Escape"]);
    std::thread::sleep(Duration::from_millis(300));
    tmux.run(&["send-keys", "-t", "c", "q"]);
    for (i, s) in screens.iter().enumerate() {
        assert_clean(s, &keys, true, &format!("tmux screen {i}"));
    }
    std::thread::sleep(Duration::from_millis(500));
    let logged = log_text(&log);
    assert_clean(&logged, &keys, true, "console log file");
}
