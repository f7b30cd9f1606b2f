//! The access policy loader on arbitrary text: an error naming the file or a policy, never
//! a panic.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use timber::config::policy::parse_policy;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(e) = parse_policy(text, Path::new("fuzz/policy.yaml")) {
        assert!(
            e.to_string().contains("fuzz/policy.yaml"),
            "error without file: {e}"
        );
    }
});
