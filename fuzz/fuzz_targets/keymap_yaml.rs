//! The keymap loader on arbitrary text: problems become warnings naming the file, the
//! defaults stay usable, never a panic.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use timber::tui::keymap::{Action, Keymap};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let map = Keymap::parse(text, Path::new("fuzz/keymap.yaml"));
    for warning in &map.warnings {
        assert!(
            warning.contains("fuzz/keymap.yaml"),
            "warning without file: {warning}"
        );
    }
    // Quit must stay reachable whatever the file says.
    let _ = map.label(Action::Quit);
});
