//! The README's screenshots script (`scripts/screenshots.py`, issue 16 item 11) works on the
//! demo: run against this build's binary into a temporary directory (never `assets/`), it
//! writes the six pictures, each well-formed SVG (Python's XML parser reads it) showing what a
//! user recognises on that screen, and none shows a key of the demo's `.env`. Skips, saying
//! so, without tmux or python3.

use crate::tmux_support::tmux_available;

use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_timber");

/// Each picture, and text a user would recognise on it (each drawn in one style, so in one
/// `<text>` run of the SVG).
const PICTURES: [(&str, &[&str]); 6] = [
    ("1-overview.svg", &["Encryption coverage", "Rotation jobs"]),
    ("2-data.svg", &["UserProfile", "@example.com"]),
    ("3-audit.svg", &["Audit log", "chain intact"]),
    ("4-keys.svg", &["Key ring", "fp:", "Rotation schedule"]),
    ("5-health.svg", &["Health checks", "audit.chain"]),
    ("rotation.svg", &["running", "limited to 40 rows/s"]),
];

fn python_available() -> bool {
    Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The text of every `<text>` element, entities decoded.
fn text_runs(svg: &str) -> Vec<String> {
    svg.split("<text ")
        .skip(1)
        .filter_map(|rest| {
            let start = rest.find('>')? + 1;
            let end = rest.find("</text>")?;
            Some(
                rest[start..end]
                    .replace("&lt;", "<")
                    .replace("&gt;", ">")
                    .replace("&quot;", "\"")
                    .replace("&#x27;", "'")
                    .replace("&amp;", "&"),
            )
        })
        .collect()
}

/// The values of the demo's key variables (the demo's keys are fixed in the source, so a
/// demo of our own has the script's keys).
fn demo_keys(dir: &Path) -> Vec<String> {
    let out = Command::new(BIN)
        .env_remove("DATABASE_URL")
        .args(["demo", "--no-console", "--rows", "10", "--dir"])
        .arg(dir)
        .output()
        .expect("timber demo runs");
    assert!(
        out.status.success(),
        "timber demo failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let env = std::fs::read_to_string(dir.join(".env")).expect("the demo's .env");
    let keys: Vec<String> = env
        .lines()
        .filter_map(|l| l.split_once('='))
        .filter(|(name, _)| name.contains("KEY"))
        .map(|(_, v)| v.trim().trim_matches(['"', '\'']).to_string())
        .filter(|v| v.len() >= 16)
        .collect();
    assert!(
        keys.len() >= 3,
        "the demo's .env has its keys (primary, old, master)"
    );
    keys
}

#[test]
fn the_screenshot_script_draws_the_five_screens_and_a_rotation_without_keys() {
    if !tmux_available() || !python_available() {
        eprintln!(
            "SKIP: screenshots::the_screenshot_script_draws_the_five_screens_and_a_rotation_without_keys: \
             tmux or python3 is not installed"
        );
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let out_dir = tmp.path().join("shots");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/screenshots.py");
    let run = Command::new("python3")
        .arg(&script)
        .arg("--bin")
        .arg(BIN)
        .arg("--out")
        .arg(&out_dir)
        .output()
        .expect("python3 runs");
    assert!(
        run.status.success(),
        "the screenshot script failed:\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );

    let files: Vec<_> = PICTURES.iter().map(|(f, _)| out_dir.join(f)).collect();
    let parsed = Command::new("python3")
        .args([
            "-c",
            "import sys, xml.etree.ElementTree as E\n\
             for f in sys.argv[1:]:\n    \
                 root = E.parse(f).getroot()\n    \
                 assert root.tag == '{http://www.w3.org/2000/svg}svg', (f, root.tag)",
        ])
        .args(&files)
        .output()
        .expect("python3 runs");
    assert!(
        parsed.status.success(),
        "every picture is well-formed SVG: {}",
        String::from_utf8_lossy(&parsed.stderr)
    );

    let keys = demo_keys(&tmp.path().join("demo"));
    for ((name, expected), file) in PICTURES.iter().zip(&files) {
        let svg = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{name}: {e}"));
        let runs = text_runs(&svg);
        for text in *expected {
            assert!(
                runs.iter().any(|r| r.contains(text)),
                "{name} shows `{text}`; its text: {runs:?}"
            );
        }
        for key in &keys {
            // Never print the key itself, even in a failure.
            assert!(
                !svg.contains(key.as_str()),
                "{name} contains a key of the demo's .env"
            );
        }
    }
    // Nothing else was written: the six pictures and no stray file.
    let mut written: Vec<String> = std::fs::read_dir(&out_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    written.sort();
    let mut names: Vec<String> = PICTURES.iter().map(|(f, _)| f.to_string()).collect();
    names.sort();
    assert_eq!(written, names, "the script writes exactly the six pictures");
}
