//! The README describes what the console draws: a reader comparing the docs with the
//! screen must find the same text for a redacted cell.

use timber::access::{Cell, REDACTED};
use timber::config::Level;
use timber::tui::widgets::masked_cell;

#[test]
fn readme_shows_a_redacted_cell_as_the_console_draws_it() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md is readable");
    let cell = Cell::Masked {
        level: Level::Redact,
        text: REDACTED.to_string(),
        revealable: false,
    };
    let (drawn, _) = masked_cell::render(&cell, true);
    assert_eq!(drawn, "◼ ••••••", "the console's redacted cell");
    assert!(
        readme.contains(&format!("`{drawn}`")),
        "README names the redacted cell as the console draws it ({drawn})"
    );
    assert!(
        !readme.contains("◼◼◼◼◼◼"),
        "README still shows a redacted cell the console never draws"
    );
}

/// The README's keymap table lists every action the keymap file takes, with its default
/// keys as the console binds them, so the documented format stays the real one.
#[test]
fn readme_lists_every_action_of_the_keymap_with_its_default_keys() {
    use timber::tui::keymap::{Action, KeySpec, Keymap};
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md is readable");
    let defaults = Keymap::default();
    for action in Action::ALL {
        let keys: Vec<String> = action
            .default_keys()
            .iter()
            .map(|k| format!("`{k}`"))
            .collect();
        let row = format!("| `{}` | {} |", action.name(), keys.join(", "));
        assert!(readme.contains(&row), "README's keymap table lacks {row}");
        for key in action.default_keys() {
            let spec = KeySpec::parse(key).expect("a default key parses");
            assert!(
                defaults.keys_for(*action).contains(&spec),
                "{key} is bound to {} by default",
                action.name()
            );
        }
    }
    // The file format as documented loads without a warning.
    let start = readme
        .find("```yaml\nreveal: [r, space]")
        .expect("the keymap example");
    let example = &readme[start + 8..];
    let example = &example[..example.find("```").unwrap()];
    let map = Keymap::parse(example, std::path::Path::new("README.md"));
    assert!(map.warnings.is_empty(), "{:?}", map.warnings);
}
