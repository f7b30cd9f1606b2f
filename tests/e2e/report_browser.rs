//! `timber report` on the demo database, opened in a real browser (headless Chromium,
//! Debian's `chromium`): the page loads with no console error (its Content-Security-Policy
//! forbids any load, so a reference to anything outside the file would be one), every
//! chart's SVG has drawn marks in the DOM the browser built, a screenshot is taken, and no
//! key of the demo's `.env` and no decrypted value appears anywhere in the HTML or the
//! JSON. `SKIP:` only when no chromium can be found.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use timber::audit::{Action, AuditLog};
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

fn demo_ring() -> KeyRing {
    KeyRing::builder()
        .primary(DEMO_PRIMARY_KEY, "ENCRYPTION_KEY")
        .and_then(|b| b.old(DEMO_OLD_KEY, "ENCRYPTION_KEY_OLD"))
        .and_then(|b| b.master(DEMO_MASTER_KEY, "MASTER_ENCRYPTION_KEY"))
        .and_then(|b| b.build())
        .unwrap()
}

/// A reveal entry whose role and reason are markup (another tool, or a hand-typed reason,
/// can write anything there): the report must show it as text.
fn plant_hostile_reveal(dir: &Path) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let store = Store::connect_url(&format!("sqlite://{}", dir.join("timber.db").display()))
            .await
            .unwrap();
        let log = AuditLog::open(&store, &demo_ring()).await.unwrap();
        log.record(
            "mallory",
            Action::Reveal,
            Some("user_profiles"),
            Some("1"),
            &["email".to_string()],
            Some(serde_json::json!({
                "reason": "<img src=x onerror=alert(1)>",
                "role": "<script>alert(2)</script>",
            })),
        )
        .await
        .unwrap();
        store.close().await;
    });
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
        let ring = demo_ring();
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
    plant_hostile_reveal(&dir);
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
    // The data under each key, dated from its tokens: the demo's old-key values were
    // written between 2024-03 and 2025-12.
    let ages = facts["data_age"]
        .as_array()
        .expect("the census records data age");
    assert!(
        ages.iter()
            .any(|a| a["oldest"].as_str().is_some_and(|t| t.starts_with("2024"))),
        "{ages:?}"
    );
    assert!(!html.contains("data age: not recorded by this census"));
    assert!(html.contains("id=\"data-age\""));
    assert!(facts["coverage"].as_array().unwrap().len() > 3);
    assert_eq!(facts["rotations"]["jobs"].as_array().unwrap().len(), 1);
    assert_eq!(
        facts["rotations"]["rows_failed"], 2,
        "{}",
        facts["rotations"]
    );
    let failures = facts["rotations"]["jobs"][0]["failures"]
        .as_array()
        .unwrap();
    assert_eq!(failures.len(), 2, "{failures:?}");
    assert!(
        failures.iter().all(|f| f["reason"] == "unknown_key"),
        "{failures:?}"
    );
    assert!(html.contains("id=\"rotation-failures\""));
    // The demo's three reveals (security_admin) and the planted one.
    assert_eq!(facts["reveals"]["total"], 4, "{}", facts["reveals"]);
    assert_eq!(facts["reveals"]["by_role"][0]["name"], "security_admin");
    assert_eq!(facts["reveals"]["by_role"][0]["count"], 3);
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

    // The planted markup is text: escaped in the tables and in the chart's SVG.
    assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;"));
    assert!(html.contains("&lt;script&gt;alert(2)&lt;/script&gt;"));
    // Self-contained: nothing is loaded from anywhere (SVG namespaces are names, not loads).
    // (Checked in the tags: escaped text may say `src=`.)
    for tag in html
        .split('<')
        .skip(1)
        .map(|t| t.split('>').next().unwrap_or(""))
    {
        let name = tag.split_whitespace().next().unwrap_or("").to_lowercase();
        for refused in [
            "script", "link", "img", "iframe", "object", "embed", "image", "use",
        ] {
            assert_ne!(name, refused, "a <{refused}> tag: <{tag}>");
        }
        for attribute in ["src=", "href=", "url("] {
            assert!(!tag.contains(attribute), "a reference in <{tag}>");
        }
    }
    assert!(!html.contains("@import") && !html.contains("url("));
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

/// Bad input, or no master key to audit the report with: one clear line naming what and
/// where, exit 2, no file and no audit entry.
#[test]
fn bad_report_input_or_no_audit_key_is_refused_with_one_line_and_nothing_written() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    let out = Command::new(env!("CARGO_BIN_EXE_timber"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .args(["demo", "--no-console", "--rows", "20", "--dir"])
        .arg(&dir)
        .output()
        .unwrap();
    ok(&out);
    let entries = |dir: &Path| {
        let out = timber(dir, &["audit", "--limit", "1000", "--format", "json"]);
        String::from_utf8_lossy(&out.stdout).lines().count()
    };
    let before = entries(&dir);
    let cases: [(&[&str], &str); 3] = [
        (&["report", "--since", "yesterday-ish"], "--since"),
        (
            &["report", "--since", "2026-12-01", "--until", "2026-11-01"],
            "is not before --until",
        ),
        (
            &["report", "--until", "not a time", "--format", "json"],
            "--until",
        ),
    ];
    for (args, says) in cases {
        let out = timber(&dir, args);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
    }
    assert_eq!(entries(&dir), before, "a refused report is not logged");
    let reports: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("timber-report-")
        })
        .collect();
    assert!(reports.is_empty(), "no report file was written");
    // Without the master key no audit entry can be written, so no report is made.
    let env = std::fs::read_to_string(dir.join(".env")).unwrap();
    let without_master: String = env
        .lines()
        .filter(|l| !l.starts_with("MASTER_ENCRYPTION_KEY="))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_ne!(env, without_master);
    std::fs::write(dir.join(".env"), without_master).unwrap();
    let out = timber(&dir, &["report", "-o", "refused.html"]);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("cannot be recorded in the audit log")
            && stderr.contains("MASTER_ENCRYPTION_KEY"),
        "{stderr}"
    );
    assert!(!dir.join("refused.html").exists());
    std::fs::write(dir.join(".env"), env).unwrap();
    // An output path that cannot be written is named.
    let out = timber(&dir, &["report", "-o", "no/such/dir/r.html"]);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("cannot write the report to no/such/dir/r.html"),
        "{stderr}"
    );
}

/// Drops a demo schema (database) when the server test ends, passed or not.
struct DropSchema {
    kind: crate::store_support::Kind,
    admin: String,
    name: String,
}

impl Drop for DropSchema {
    fn drop(&mut self) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let sql = match self.kind {
            crate::store_support::Kind::Postgres => {
                format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name)
            }
            _ => format!("DROP DATABASE IF EXISTS {}", self.name),
        };
        rt.block_on(crate::store_support::exec(self.kind, &self.admin, sql));
    }
}

/// The report of the demo on a server: the same sections, from PostgreSQL or MariaDB.
fn server_report(kind: crate::store_support::Kind, var: &str) {
    let Ok(admin) = std::env::var(var) else {
        println!("SKIP: {var} not set; {kind:?} report not run");
        return;
    };
    let schema = crate::store_support::unique_name();
    let _drop = DropSchema {
        kind,
        admin: admin.clone(),
        name: schema.clone(),
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    let out = Command::new(env!("CARGO_BIN_EXE_timber"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .args(["demo", "--no-console", "--rows", "40", "--dir"])
        .arg(&dir)
        .args(["--database-url", &admin, "--schema", &schema])
        .output()
        .unwrap();
    ok(&out);
    // A password in the URL (PostgreSQL's test server trusts loopback, so any password
    // connects): the report names the database with the password redacted.
    if kind == crate::store_support::Kind::Postgres {
        let env = std::fs::read_to_string(dir.join(".env")).unwrap();
        let with_password = env.replace("://postgres@", "://postgres:pw-canary-4711@");
        assert_ne!(env, with_password, "the demo's URL names user postgres");
        std::fs::write(dir.join(".env"), with_password).unwrap();
    }
    let out = timber(
        &dir,
        &["--role", "viewer", "report", "--format", "json", "-o", "-"],
    );
    ok(&out);
    let facts: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(facts["header"]["generated_by"]["role"], "viewer");
    assert_eq!(
        facts["header"]["database"],
        timber::config::redact_url(facts["header"]["database"].as_str().unwrap())
    );
    assert!(
        facts["coverage"].as_array().unwrap().len() > 3,
        "{}",
        facts["coverage"]
    );
    assert_eq!(facts["reveals"]["total"], 3, "{}", facts["reveals"]);
    assert_eq!(facts["audit"]["chain"]["ok"], true, "{}", facts["audit"]);
    assert_eq!(
        facts["health"]["status"], "fail",
        "the demo's planted problems"
    );
    let json = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        !json.contains("pw-canary-4711"),
        "the URL's password is in the report"
    );
    if kind == crate::store_support::Kind::Postgres {
        assert!(
            facts["header"]["database"]
                .as_str()
                .unwrap()
                .contains("***"),
            "{}",
            facts["header"]["database"]
        );
    }
    for key in env_keys(&dir) {
        assert!(!json.contains(key.as_str()), "a key of .env in the report");
    }
}

#[test]
fn the_report_reads_the_demo_on_postgres() {
    server_report(
        crate::store_support::Kind::Postgres,
        "TIMBER_TEST_POSTGRES_URL",
    );
}

#[test]
fn the_report_reads_the_demo_on_mariadb() {
    server_report(crate::store_support::Kind::Mysql, "TIMBER_TEST_MYSQL_URL");
}

/// With an audit signing key, the report names the signed checkpoint the log verified
/// against (its id, size and key), and the private half appears nowhere in it.
#[test]
fn the_report_names_the_signed_checkpoint_it_verified_against() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    let out = Command::new(env!("CARGO_BIN_EXE_timber"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .args(["demo", "--no-console", "--rows", "20", "--dir"])
        .arg(&dir)
        .output()
        .unwrap();
    ok(&out);
    let pair = timber(&dir, &["keygen", "--audit", "--name", "report-test"]);
    ok(&pair);
    let pair = String::from_utf8(pair.stdout).unwrap();
    let private = pair
        .lines()
        .find_map(|l| l.strip_prefix("AUDIT_SIGNING_KEY="))
        .unwrap()
        .to_string();
    let mut env = std::fs::read_to_string(dir.join(".env")).unwrap();
    env.push_str(&pair);
    std::fs::write(dir.join(".env"), env).unwrap();
    ok(&timber(
        &dir,
        &["--role", "security_admin", "audit", "checkpoint"],
    ));
    let out = timber(&dir, &["report", "--format", "json", "-o", "-"]);
    ok(&out);
    let json = String::from_utf8(out.stdout).unwrap();
    let facts: serde_json::Value = serde_json::from_str(&json).unwrap();
    let checkpoint = &facts["audit"]["checkpoint"];
    assert_eq!(checkpoint["ok"], true, "{checkpoint}");
    assert!(
        checkpoint["checkpoint_id"].as_i64().is_some(),
        "{checkpoint}"
    );
    assert!(
        checkpoint["checkpoint_size"].as_u64().unwrap() > 0,
        "{checkpoint}"
    );
    assert!(
        checkpoint["key"].as_str().unwrap().contains("report-test"),
        "{checkpoint}"
    );
    let html_out = timber(&dir, &["report", "-o", "-"]);
    ok(&html_out);
    let html = String::from_utf8(html_out.stdout).unwrap();
    assert!(
        html.contains(&format!(
            "verified against signed checkpoint {}",
            checkpoint["checkpoint_id"]
        )),
        "the HTML names the checkpoint"
    );
    let secret = private.trim_start_matches("PRIVATE+KEY+");
    let tail = &secret[secret.len() - 20..];
    assert!(
        !json.contains(tail) && !html.contains(tail),
        "the signing key is in the report"
    );
}
