//! `timber report` on the demo database, opened in a real browser (headless Chromium,
//! Debian's `chromium`): the page loads with no console error (its Content-Security-Policy
//! forbids any load, so a reference to anything outside the file would be one), every
//! chart's SVG has drawn marks in the DOM the browser built, a screenshot is taken, and no
//! key of the demo's `.env` and no decrypted value appears anywhere in the HTML or the
//! JSON. `SKIP:` only when no chromium can be found.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use timber::config::load_models;
use timber::crypto::KeyRing;
use timber::demo::{DEMO_MASTER_KEY, DEMO_OLD_KEY, DEMO_PRIMARY_KEY};
use timber::store::{Cell, PageRequest, Store};
use timber::value::Value;

/// The charts the report draws, by the id of their `<figure>`.
const CHARTS: [&str; 5] = [
    "chart-coverage",
    "chart-keys",
    "chart-key-ages",
    "chart-rotations",
    "chart-reveals",
];

/// The series colours of `report::charts` that mark a bar (not the white background).
fn bar_fills() -> Vec<String> {
    (0..10)
        .map(|i| timber::report::charts::color_hex(i).to_uppercase())
        .collect()
}

fn chromium() -> Option<PathBuf> {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

/// Runs timber in the demo directory with its `.env` only (a clean environment).
fn timber(dir: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_timber"));
    cmd.current_dir(dir).env_clear().args(args);
    if let Ok(path) = std::env::var("PATH") {
        cmd.env("PATH", path);
    }
    cmd.output().expect("run timber")
}

fn ok(out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    stderr
}

/// Chromium with a profile of its own; `--enable-logging=stderr` prints every console
/// message as a `CONSOLE` line (and CSP violations as console errors).
fn browse(chromium: &Path, profile: &Path, args: &[&str], page: &Path) -> Output {
    Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-extensions",
            "--hide-scrollbars",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=3000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("run chromium")
}

fn console_lines(out: &Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| l.contains("CONSOLE") || l.contains("Content Security Policy"))
        .map(str::to_string)
        .collect()
}

/// Every key spelling of the demo's `.env` (any variable named like a key).
fn env_keys(dir: &Path) -> Vec<String> {
    let env = std::fs::read_to_string(dir.join(".env")).unwrap();
    let mut keys: Vec<String> = env
        .lines()
        .filter_map(|l| l.split_once('='))
        .filter(|(k, _)| k.contains("KEY") && !k.contains("ROTATION_DATE"))
        .map(|(_, v)| v.trim().to_string())
        .filter(|v| v.len() >= 20)
        .collect();
    for k in [DEMO_PRIMARY_KEY, DEMO_OLD_KEY, DEMO_MASTER_KEY] {
        keys.push(k.to_string());
        keys.push(k.trim_end_matches('=').to_string());
    }
    keys
}

/// Decrypted text values of the demo (the first rows of every model's encrypted columns),
/// long enough to be unmistakable.
fn demo_values(dir: &Path) -> Vec<String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let models = load_models(&[dir.join("models")]).unwrap();
        let ring = KeyRing::builder()
            .primary(DEMO_PRIMARY_KEY, "ENCRYPTION_KEY")
            .and_then(|b| b.old(DEMO_OLD_KEY, "ENCRYPTION_KEY_OLD"))
            .and_then(|b| b.master(DEMO_MASTER_KEY, "MASTER_ENCRYPTION_KEY"))
            .and_then(|b| b.build())
            .unwrap();
        let store = Store::connect_url(&format!("sqlite://{}", dir.join("timber.db").display()))
            .await
            .unwrap();
        let mut out = Vec::new();
        for model in &models.models {
            let page = store
                .page(model, &ring, &PageRequest::first(40))
                .await
                .unwrap();
            for record in &page.records {
                for (column, cell) in model.columns.iter().zip(&record.cells) {
                    if !column.encrypted {
                        continue;
                    }
                    let text = match cell {
                        Cell::Decrypted {
                            value: Value::Text(t),
                            ..
                        } => t.clone(),
                        Cell::Decrypted { value, .. } => value.to_json().to_string(),
                        _ => continue,
                    };
                    if text.chars().count() >= 10 {
                        out.push(text);
                    }
                }
            }
        }
        store.close().await;
        out
    })
}

/// The `<svg>` inside `<figure … id="ID">` of a DOM dump.
fn chart_svg<'a>(dom: &'a str, id: &str) -> &'a str {
    let start = dom
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no chart {id} in the DOM"));
    let rest = &dom[start..];
    let end = rest.find("</figure>").expect("figure closed");
    let figure = &rest[..end];
    let svg = figure.find("<svg").expect("an svg in the figure");
    &figure[svg..]
}

#[test]
fn the_demo_report_renders_in_chromium_with_marks_no_errors_and_no_secret() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    let out = Command::new(env!("CARGO_BIN_EXE_timber"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .args(["demo", "--no-console", "--rows", "200", "--dir"])
        .arg(&dir)
        .output()
        .unwrap();
    ok(&out);
    // A rotation, so the history has a job to draw: it leaves the two values under an
    // unknown key untouched (exit code 1), which the history shows as failures.
    let rotated = timber(
        &dir,
        &[
            "--role",
            "security_admin",
            "rotate",
            "--model",
            "ResearchSession",
        ],
    );
    let said = String::from_utf8_lossy(&rotated.stderr).into_owned();
    assert!(said.contains("as job 1"), "{said}");
    let html_path = dir.join("report.html");
    let stderr = ok(&timber(
        &dir,
        &[
            "--role",
            "auditor",
            "report",
            "--output",
            html_path.to_str().unwrap(),
        ],
    ));
    assert!(
        stderr.contains("report written to") && stderr.contains("audit entry"),
        "{stderr}"
    );
    let html = std::fs::read_to_string(&html_path).unwrap();
    let json_out = timber(
        &dir,
        &["--role", "auditor", "report", "--format", "json", "-o", "-"],
    );
    ok(&json_out);
    let json = String::from_utf8(json_out.stdout).unwrap();
    let facts: serde_json::Value = serde_json::from_str(&json).unwrap();

    // What a reader is told: who, what, and the sections' facts.
    assert_eq!(facts["header"]["generated_by"]["role"], "auditor");
    assert!(
        html.contains("role <code>auditor</code>"),
        "the header names the role"
    );
    assert!(html.contains(&format!("timber {}", env!("CARGO_PKG_VERSION"))));
    assert!(html.contains("data age: not recorded by this census") || facts["data_age"].is_array());
    assert!(facts["coverage"].as_array().unwrap().len() > 3);
    assert_eq!(facts["rotations"]["jobs"].as_array().unwrap().len(), 1);
    assert_eq!(
        facts["rotations"]["rows_failed"], 2,
        "{}",
        facts["rotations"]
    );
    assert!(
        facts["reveals"]["total"].as_u64().unwrap() >= 3,
        "{}",
        facts["reveals"]
    );
    assert_eq!(facts["audit"]["chain"]["ok"], true, "{}", facts["audit"]);
    assert!(html.contains("id=\"audit-chain\""));
    // The report is itself in the audit log, as the role that made it.
    let log = timber(
        &dir,
        &[
            "audit",
            "--action",
            "report.generate",
            "--grep",
            "\"role\":\"auditor\"",
            "--format",
            "json",
        ],
    );
    let logged = String::from_utf8_lossy(&log.stdout).into_owned();
    assert_eq!(
        logged.lines().count(),
        2,
        "both reports are logged: {logged}"
    );
    assert_eq!(
        facts["header"]["audit_entry"],
        serde_json::from_str::<serde_json::Value>(logged.lines().next().unwrap()).unwrap()["id"]
    );

    // Self-contained: nothing is loaded from anywhere (SVG namespaces are names, not loads).
    for reference in ["src=", "href=", "url(", "@import", "<script", "<link"] {
        assert!(!html.contains(reference), "the HTML holds `{reference}`");
    }
    // Masking: no key, no token, no decrypted value.
    let dir_env = env_keys(&dir);
    assert!(dir_env.len() >= 6);
    for key in &dir_env {
        assert!(!html.contains(key.as_str()), "a key of .env is in the HTML");
        assert!(!json.contains(key.as_str()), "a key of .env is in the JSON");
    }
    assert!(
        !html.contains("gAAAAA") && !json.contains("gAAAAA"),
        "a token in the report"
    );
    let values = demo_values(&dir);
    assert!(
        values.len() > 50,
        "the canary check has values to look for: {}",
        values.len()
    );
    for value in &values {
        assert!(
            !html.contains(value.as_str()),
            "a stored value is in the HTML: {value}"
        );
        assert!(
            !json.contains(value.as_str()),
            "a stored value is in the JSON: {value}"
        );
    }

    let Some(chromium) = chromium() else {
        println!("SKIP: chromium not found (apt-get install chromium)");
        return;
    };
    let profile = tmp.path().join("profile");

    // Control: the console check sees an error when a page has one.
    let control = tmp.path().join("control.html");
    std::fs::write(
        &control,
        "<!DOCTYPE html><html><body><script>console.error('report-control-error')</script></body></html>",
    )
    .unwrap();
    let seen = console_lines(&browse(&chromium, &profile, &["--dump-dom"], &control));
    assert!(
        seen.iter().any(|l| l.contains("report-control-error")),
        "chromium's console is not captured: {seen:?}"
    );

    let dom_out = browse(&chromium, &profile, &["--dump-dom"], &html_path);
    assert!(
        dom_out.status.success(),
        "{}",
        String::from_utf8_lossy(&dom_out.stderr)
    );
    let errors = console_lines(&dom_out);
    assert!(errors.is_empty(), "console messages: {errors:?}");
    let dom = String::from_utf8_lossy(&dom_out.stdout).into_owned();
    let fills = bar_fills();
    for id in CHARTS {
        let svg = chart_svg(&dom, id);
        let marks = ["<rect", "<path", "<polyline", "<line"]
            .iter()
            .map(|m| svg.matches(m).count())
            .sum::<usize>();
        assert!(marks > 2, "{id} has no drawn marks");
        let upper = svg.to_uppercase();
        assert!(
            fills
                .iter()
                .any(|f| upper.contains(&format!("FILL=\"{f}\""))),
            "{id} has no coloured bar"
        );
    }

    let png = tmp.path().join("report.png");
    let shot = browse(
        &chromium,
        &profile,
        &[
            &format!("--screenshot={}", png.display()),
            "--window-size=1000,1500",
        ],
        &html_path,
    );
    assert!(
        shot.status.success(),
        "{}",
        String::from_utf8_lossy(&shot.stderr)
    );
    let errors = console_lines(&shot);
    assert!(errors.is_empty(), "console messages: {errors:?}");
    let bytes = std::fs::read(&png).expect("a screenshot");
    assert!(
        bytes.starts_with(b"\x89PNG") && bytes.len() > 20_000,
        "{} bytes",
        bytes.len()
    );
    if let Ok(keep) = std::env::var("TIMBER_REPORT_SCREENSHOT") {
        std::fs::copy(&png, keep).unwrap();
    }
}
