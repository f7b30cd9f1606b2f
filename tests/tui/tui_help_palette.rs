//! Help's palette section is built from the palette's own commands: every action a user
//! types after `:` (`:verify` was missing from a hand-written line) is listed.

use crate::tui_support;

use tui_support::*;

#[tokio::test]
async fn help_lists_every_palette_command_including_verify() {
    let dir = tempfile::tempdir().unwrap();
    let config = seeded_db(dir.path()).await;
    let mut app = started(config, "security_admin", 160, 48).await;
    press(&mut app, &[ch('?')]).await;
    // j stops at the last line, so enough presses show the palette section at the bottom.
    for _ in 0..60 {
        app.handle_event(ch('j'));
    }
    let text = screen(&app);
    // The section is packed onto rows by whole commands: its rows from `:overview` on.
    let start = text
        .lines()
        .position(|l| l.contains(":overview"))
        .unwrap_or_else(|| panic!("the palette line shows:\n{text}"));
    let line: String = text.lines().skip(start).take(5).collect();
    for command in [
        ":verify",
        ":refresh",
        ":rotate",
        ":export",
        ":role NAME",
        ":quit",
    ] {
        assert!(line.contains(command), "{command} missing: {line}");
    }
    // What help lists, the palette runs: :verify on the Overview verifies the chain.
    press(&mut app, &[key(crossterm::event::KeyCode::Esc), ch(':')]).await;
    type_text(&mut app, "verify");
    press(&mut app, &[key(crossterm::event::KeyCode::Enter)]).await;
    assert!(
        screen(&app).contains("audit chain intact"),
        "{}",
        screen(&app)
    );
}
