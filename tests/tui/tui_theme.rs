//! Themes as an operator meets them: a user directory that overrides a built-in in part,
//! adds a theme, or holds a broken file (reported, never fatal), and NO_COLOR, under which
//! not one cell of any screen carries a colour while masks stay recognisable by glyph.

use crate::tui_support;

use crossterm::event::KeyCode;
use ratatui::style::Color;
use timber::tui::ThemeSet;
use tui_support::*;

#[test]
fn a_user_directory_overrides_in_part_adds_themes_and_reports_broken_files() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("dark.yaml"),
        "styles:\n  masked: { fg: red, bold: true }\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("ocean.yaml"),
        "extends: light\nstyles:\n  accent: { fg: \"#0077be\" }\n  error: { fg: ultraviolet }\n  glow: {}\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("broken.yaml"), "styles: [unclosed\n").unwrap();

    let set = ThemeSet::load(Some(dir.path()));
    let builtin = ThemeSet::builtin();
    let dark = set.get("dark").unwrap();
    assert_eq!(dark.masked.fg, Some(Color::Red));
    assert_eq!(
        dark.revealed,
        builtin.get("dark").unwrap().revealed,
        "other keys stay built-in"
    );
    let ocean = set.get("ocean").unwrap();
    assert_eq!(ocean.accent.fg, Some(Color::Rgb(0x00, 0x77, 0xbe)));
    assert_eq!(
        ocean.base,
        builtin.get("light").unwrap().base,
        "extends light"
    );
    assert!(set.get("broken").is_err());
    let warnings = set.warnings.join("\n");
    assert!(
        warnings.contains("ocean.yaml") && warnings.contains("unknown colour `ultraviolet`"),
        "{warnings}"
    );
    assert!(warnings.contains("unknown key `glow`"), "{warnings}");
    assert!(
        warnings.contains("broken.yaml") && warnings.contains("file skipped"),
        "{warnings}"
    );
    let mut expected = builtin.names();
    expected.push("ocean".into());
    expected.sort();
    assert_eq!(set.names(), expected);
}

#[tokio::test]
async fn no_color_draws_every_screen_without_colour_and_masks_keep_their_glyphs() {
    let dir = tempfile::tempdir().unwrap();
    let config = seeded_db(dir.path()).await;
    let mut setup = setup(config, "viewer", clock());
    setup.theme = setup.themes.choose(None, true, Some("dark")).unwrap();
    assert_eq!(setup.theme.name, "mono");
    let mut app = timber::tui::App::new(setup).unwrap();
    app.handle_event(timber::tui::Event::Resize(100, 30));
    app.start();
    app.settle().await;
    for keys in [
        vec![ch('1')],
        vec![ch('2'), key(KeyCode::Enter)],
        vec![ch('3')],
        vec![ch('4')],
        vec![ch('5')],
        vec![ch('?')],
    ] {
        press(&mut app, &keys).await;
        let terminal = draw(&app);
        let buffer = terminal.backend().buffer();
        for cell in buffer.content() {
            assert!(
                matches!(cell.fg, Color::Reset) && matches!(cell.bg, Color::Reset),
                "a coloured cell {:?} under NO_COLOR:\n{}",
                cell,
                buffer_text(terminal.backend())
            );
        }
    }
    press(&mut app, &[key(KeyCode::Esc), ch('2')]).await;
    assert!(
        screen(&app).contains("◼ ••••••"),
        "redactions are marked by glyph:\n{}",
        screen(&app)
    );
}
