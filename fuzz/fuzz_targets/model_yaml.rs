//! The model YAML loader on arbitrary text: an error or a model set, never a panic, and
//! every error names the file it came from.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use timber::config::model_loader::parse_models;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(e) = parse_models(text, Path::new("fuzz/models.yaml")) {
        assert!(
            e.to_string().contains("fuzz/models.yaml"),
            "error without file: {e}"
        );
    }
});
