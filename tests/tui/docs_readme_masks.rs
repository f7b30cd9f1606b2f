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
