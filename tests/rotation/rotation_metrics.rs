//! Prometheus metrics (issue 18 item 5): `timber rotate --metrics-addr` serves `/metrics`
//! while it rotates; what a scrape returns parses strictly as the Prometheus text format
//! and its row counts agree with `timber jobs`; `timber metrics` prints the same once, its
//! census and health agree with `timber census` and `timber health`, and no key appears.

use crate::rotation_support;
use crate::store_support;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Stdio;

use crate::rotation_only::*;
use rotation_support::*;
use store_support::Kind;

/// One sample: metric name, labels, value.
#[derive(Debug, Clone, PartialEq)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// Parses the Prometheus text format (0.0.4) strictly: every line is a `# HELP`, a
/// `# TYPE` of a known type, or a sample of a declared family (`_bucket`, `_sum`, `_count`
/// for histograms) with well-formed, properly escaped labels and a number.
fn parse(text: &str) -> Vec<Sample> {
    assert!(text.ends_with('\n'), "ends with a newline");
    let mut types: BTreeMap<String, String> = BTreeMap::new();
    let mut samples = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# ") {
            let mut words = rest.splitn(3, ' ');
            let (kind, name) = (words.next().unwrap(), words.next().unwrap_or(""));
            assert!(valid_name(name), "bad name in {line:?}");
            match kind {
                "HELP" => assert!(words.next().is_some_and(|h| !h.is_empty()), "{line:?}"),
                "TYPE" => {
                    let t = words.next().unwrap_or("");
                    assert!(
                        ["counter", "gauge", "histogram", "summary", "untyped"].contains(&t),
                        "{line:?}"
                    );
                    types.insert(name.to_string(), t.to_string());
                }
                _ => panic!("unknown comment {line:?}"),
            }
            continue;
        }
        assert!(!line.trim().is_empty(), "blank line");
        let (name, rest) = match line.find(['{', ' ']) {
            Some(i) => line.split_at(i),
            None => panic!("no value in {line:?}"),
        };
        assert!(valid_name(name), "bad metric name in {line:?}");
        let mut labels = BTreeMap::new();
        let value_text = if let Some(body) = rest.strip_prefix('{') {
            let mut chars = body.chars().peekable();
            loop {
                if chars.peek() == Some(&'}') {
                    chars.next();
                    break;
                }
                let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
                assert!(valid_name(&key), "bad label name {key:?} in {line:?}");
                assert_eq!(chars.next(), Some('"'), "label value quoted in {line:?}");
                let mut value = String::new();
                loop {
                    match chars.next().expect("label value ends") {
                        '"' => break,
                        '\\' => match chars.next() {
                            Some('\\') => value.push('\\'),
                            Some('"') => value.push('"'),
                            Some('n') => value.push('\n'),
                            other => panic!("bad escape {other:?} in {line:?}"),
                        },
                        '\n' => panic!("raw newline in {line:?}"),
                        c => value.push(c),
                    }
                }
                labels.insert(key, value);
                match chars.next() {
                    Some(',') => {}
                    Some('}') => break,
                    other => panic!("expected , or }} not {other:?} in {line:?}"),
                }
            }
            chars.collect::<String>()
        } else {
            rest.to_string()
        };
        let value_text = value_text
            .strip_prefix(' ')
            .unwrap_or_else(|| panic!("one space before the value in {line:?}"));
        let value = match value_text {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            "NaN" => f64::NAN,
            v => v
                .parse::<f64>()
                .unwrap_or_else(|_| panic!("bad value in {line:?}")),
        };
        let family = types.get(name).map(|_| name.to_string()).or_else(|| {
            ["_bucket", "_sum", "_count"].iter().find_map(|suffix| {
                let base = name.strip_suffix(suffix)?;
                (types.get(base).map(String::as_str) == Some("histogram")).then(|| base.into())
            })
        });
        assert!(family.is_some(), "sample of an undeclared family: {line:?}");
        samples.push(Sample {
            name: name.to_string(),
            labels,
            value,
        });
    }
    samples
}

fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    samples
        .iter()
        .find(|s| {
            s.name == name
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|s| s.value)
}

/// `GET path` on a local server; the status line and the body.
fn get(port: u16, path: &str) -> (String, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/plain\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("response");
    let (head, body) = response.split_once("\r\n\r\n").expect("head and body");
    (head.lines().next().unwrap().to_string(), body.to_string())
}

fn jobs(dir: &Path) -> Vec<serde_json::Value> {
    let out = timber(dir, &["jobs", "--format", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    json_lines(&out)
}

fn no_key_in(text: &str) {
    for key in [NEW_KEY, OLD_KEY, MASTER_KEY] {
        assert!(!text.contains(key), "a key is in the metrics");
        let half = &key[..22];
        assert!(!text.contains(half), "part of a key is in the metrics");
    }
}

#[test]
fn sqlite_a_scrape_during_a_rotation_parses_and_matches_timber_jobs() {
    scrape_during_rotation(Kind::Sqlite);
}

#[test]
fn postgres_a_scrape_during_a_rotation_parses_and_matches_timber_jobs() {
    scrape_during_rotation(Kind::Postgres);
}

fn scrape_during_rotation(kind: Kind) {
    let rt = runtime();
    let Some(db) = rt.block_on(new_db(kind)) else {
        return;
    };
    let store = rt.block_on(db.store());
    rt.block_on(seed(&store, 300, 10));
    let dir = env_dir(&db.url);
    let mut child = timber_cmd(
        dir.path(),
        &[
            "rotate",
            "--model",
            "Secret",
            "--max-rate",
            "60",
            "--metrics-addr",
            "127.0.0.1:0",
            "--format",
            "json",
        ],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .expect("start timber rotate");
    let mut err_lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let announced = err_lines.next().expect("a line").expect("stderr");
    std::thread::spawn(move || for _ in err_lines {});
    let port: u16 = announced
        .strip_prefix("timber rotate: metrics at http://127.0.0.1:")
        .and_then(|r| r.strip_suffix("/metrics"))
        .unwrap_or_else(|| panic!("{announced}"))
        .parse()
        .expect("port");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let (mut job, mut batches) = (None, 0);
    while batches < 2 {
        let event: serde_json::Value =
            serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
        assert_ne!(event["event"], "done", "finished too soon");
        if event["event"] == "batch" {
            batches += 1;
            job = event["job"].as_i64();
        }
    }
    let job_id = job.unwrap();
    let job = job_id.to_string();

    let (status, first) = get(port, "/metrics");
    assert_eq!(status, "HTTP/1.1 200 OK");
    let listed = jobs(dir.path());
    let (_, second) = get(port, "/metrics");
    let (first, second) = (parse(&first), parse(&second));
    let row = listed.iter().find(|j| j["id"] == job_id).unwrap();
    for (status, field) in [("done", "rows_done"), ("skipped", "rows_skipped")] {
        let labels = [("job", job.as_str()), ("status", status)];
        let before = value(&first, "timber_rotation_rows_total", &labels).unwrap();
        let after = value(&second, "timber_rotation_rows_total", &labels).unwrap();
        let jobs_says = row[field].as_f64().unwrap();
        assert!(
            before <= jobs_says && jobs_says <= after,
            "{status}: scrape {before}, timber jobs {jobs_says}, scrape {after}"
        );
        assert!(
            before > 0.0 || status == "skipped",
            "progress shows: {before}"
        );
    }
    let running = [("job", job.as_str())];
    assert_eq!(
        value(&first, "timber_rotation_workers", &running),
        Some(1.0)
    );
    assert!(value(&first, "timber_rotation_rows_remaining", &running).unwrap() > 0.0);
    assert!(value(&second, "timber_rotation_batch_seconds_count", &[]).unwrap() >= 2.0);
    assert_eq!(
        value(&second, "timber_rotation_lease_takeovers_total", &[]),
        Some(0.0)
    );
    assert!(value(&first, "timber_build_info", &[]).is_some());
    assert!(value(&first, "timber_audit_entries_total", &[]).unwrap() > 0.0);
    assert_eq!(get(port, "/nothing").0, "HTTP/1.1 404 Not Found");
    for _ in lines {}
    assert!(child.wait().unwrap().success());

    // Once done: `timber metrics` agrees with `timber jobs` exactly, and shows no key.
    let out = timber(dir.path(), &["metrics"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    no_key_in(&text);
    no_key_in(&stderr(&out));
    let once = parse(&text);
    let listed = jobs(dir.path());
    let row = listed.iter().find(|j| j["id"] == job_id).unwrap();
    for (status, field) in [
        ("done", "rows_done"),
        ("skipped", "rows_skipped"),
        ("failed", "rows_failed"),
    ] {
        let labels = [("job", job.as_str()), ("status", status)];
        assert_eq!(
            value(&once, "timber_rotation_rows_total", &labels),
            row[field].as_f64(),
            "{status}"
        );
    }
    assert_eq!(
        value(&once, "timber_rotation_rows_remaining", &running),
        Some(0.0)
    );
    assert_eq!(value(&once, "timber_rotation_workers", &running), Some(0.0));

    // The census as `timber census` counts it, by fingerprint.
    let census = timber(dir.path(), &["census", "--format", "json"]);
    let census: serde_json::Value = serde_json::from_slice(&census.stdout).unwrap();
    let mut compared = 0;
    for column in census["columns"].as_array().unwrap() {
        for (fp, n) in column["by_key"].as_object().unwrap() {
            let labels = [
                ("model", column["model"].as_str().unwrap()),
                ("column", column["column"].as_str().unwrap()),
                ("key_fp", fp.as_str()),
            ];
            assert_eq!(
                value(&once, "timber_census_values", &labels),
                n.as_f64(),
                "{labels:?}"
            );
            compared += 1;
        }
    }
    assert!(
        compared >= 3,
        "every encrypted column has a count under the new key"
    );
    // Each health check's verdict as `timber health` gives it (its worst finding).
    let health = timber(dir.path(), &["health", "--format", "json"]);
    let health: serde_json::Value = serde_json::from_slice(&health.stdout).unwrap();
    let mut worst: BTreeMap<String, f64> = BTreeMap::new();
    for check in health["checks"].as_array().unwrap() {
        let level = match check["severity"].as_str().unwrap() {
            "ok" => 0.0,
            "warn" => 1.0,
            _ => 2.0,
        };
        let entry = worst
            .entry(check["id"].as_str().unwrap().into())
            .or_insert(0.0);
        *entry = entry.max(level);
    }
    assert!(worst.contains_key("key.primary"));
    for (check, level) in &worst {
        assert_eq!(
            value(
                &once,
                "timber_health_check_status",
                &[("check", check.as_str())]
            ),
            Some(*level),
            "{check}"
        );
    }
    rt.block_on(store.close());
    rt.block_on(db.drop_all());
}

/// A metrics address that cannot be served (a port in use, not an address) is one line
/// naming the flag, before anything is rotated.
#[test]
fn an_unusable_metrics_address_is_refused_before_any_work() {
    let rt = runtime();
    let db = rt.block_on(new_db(Kind::Sqlite)).expect("SQLite");
    let store = rt.block_on(db.store());
    rt.block_on(seed(&store, 20, 10));
    let dir = env_dir(&db.url);
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    for bad in [addr.as_str(), "not-an-address"] {
        let out = timber(
            dir.path(),
            &["rotate", "--model", "Secret", "--metrics-addr", bad],
        );
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.contains(&format!("--metrics-addr {bad}: cannot listen")),
            "{err}"
        );
    }
    assert!(jobs(dir.path()).is_empty(), "no job was started");
    rt.block_on(store.close());
}
