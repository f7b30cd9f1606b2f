//! The theme loader on arbitrary text, through the real path (a user theme directory):
//! problems become warnings naming the file, built-ins stay available, never a panic.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use timber::tui::theme::ThemeSet;

fn dir() -> &'static std::path::Path {
    static DIR: OnceLock<std::path::PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("timber-fuzz-theme-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("theme dir");
        dir
    })
}

fuzz_target!(|data: &[u8]| {
    let file = dir().join("fuzzed.yaml");
    std::fs::write(&file, data).expect("write theme");
    let set = ThemeSet::load(Some(dir()));
    for warning in &set.warnings {
        assert!(
            warning.contains("fuzzed.yaml"),
            "warning without file: {warning}"
        );
    }
    assert!(set.get("dark").is_ok(), "built-in dark lost");
});
