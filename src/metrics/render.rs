//! A [`Snapshot`] and this process's metrics in the Prometheus text format (version 0.0.4),
//! encoded by `prometheus-client`: a fresh registry per scrape holds the database's facts
//! as they are now, beside this process's histogram and counter (shared, not copied).

use prometheus_client::encoding::prometheus_text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use super::gather::Snapshot;
use super::process::process_metrics;

/// The `Content-Type` of what [`render`] writes.
pub use prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

type Labels = Vec<(&'static str, String)>;

/// The metrics as Prometheus text: the snapshot's and this process's.
pub fn render(snapshot: &Snapshot) -> String {
    let mut registry = Registry::default();

    let build = Family::<Labels, Gauge>::default();
    build
        .get_or_create(&vec![("version", env!("CARGO_PKG_VERSION").to_string())])
        .set(1);
    registry.register(
        "timber_build_info",
        "The timber build serving these metrics (always 1)",
        build,
    );

    let rows = Family::<Labels, Counter>::default();
    let remaining = Family::<Labels, Gauge>::default();
    let workers = Family::<Labels, Gauge>::default();
    for job in &snapshot.jobs {
        let id = job.id.to_string();
        for (status, n) in [
            ("done", job.done),
            ("skipped", job.skipped),
            ("failed", job.failed),
        ] {
            rows.get_or_create(&vec![("job", id.clone()), ("status", status.to_string())])
                .inc_by(n);
        }
        remaining
            .get_or_create(&vec![("job", id.clone())])
            .set(gauge_value(job.remaining));
        workers
            .get_or_create(&vec![("job", id)])
            .set(gauge_value(job.workers));
    }
    registry.register(
        "timber_rotation_rows",
        "Rows a rotation job has handled, by outcome (done: re-encrypted, skipped: already under the target key, failed: left as they were)",
        rows,
    );
    registry.register(
        "timber_rotation_rows_remaining",
        "Rows a rotation job has not handled yet",
        remaining,
    );
    registry.register(
        "timber_rotation_workers",
        "Live workers of a rotation job (0 when it is not running or its worker is gone)",
        workers,
    );
    let process = process_metrics();
    registry.register(
        "timber_rotation_lease_takeovers",
        "Rotation jobs this process adopted from a gone worker (a rerun of timber rotate)",
        process.takeovers.clone(),
    );
    registry.register(
        "timber_rotation_batch_seconds",
        "Seconds of each rotation batch this process committed, from its read to its commit",
        process.batch_seconds.clone(),
    );

    if let Some(audit) = &snapshot.audit {
        let entries = Counter::<u64>::default();
        entries.inc_by(audit.entries);
        registry.register("timber_audit_entries", "Entries in the audit log", entries);
        let reveals = Family::<Labels, Counter>::default();
        for (role, n) in &audit.reveals {
            reveals
                .get_or_create(&vec![("role", role.clone())])
                .inc_by(*n);
        }
        registry.register(
            "timber_reveals",
            "Reveal entries in the audit log, by the role that revealed",
            reveals,
        );
    }

    if let Some(scans) = &snapshot.scans {
        let checks = Family::<Labels, Gauge>::default();
        for (check, status) in &scans.checks {
            checks
                .get_or_create(&vec![("check", check.clone())])
                .set(i64::from(*status));
        }
        registry.register(
            "timber_health_check_status",
            "Each health check's verdict: 0 ok, 1 warn, 2 fail (as timber health)",
            checks,
        );
        let census = Family::<Labels, Gauge>::default();
        for ((model, column, key), n) in &scans.census {
            census
                .get_or_create(&vec![
                    ("model", model.clone()),
                    ("column", column.clone()),
                    ("key_fp", key.clone()),
                ])
                .set(gauge_value(*n));
        }
        registry.register(
            "timber_census_values",
            "Values of an encrypted column under each key fingerprint, or plaintext, unknown_key, malformed (as timber census)",
            census,
        );
    }

    let mut text = String::new();
    // Writing into a String cannot fail; an encoder error would be a bug in the crate.
    let _ = encode(&mut text, &registry);
    text
}

fn gauge_value(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::JobFacts;

    #[test]
    fn a_job_reads_as_counters_and_gauges_with_its_id() {
        let snapshot = Snapshot {
            jobs: vec![JobFacts {
                id: 7,
                done: 90,
                skipped: 10,
                failed: 1,
                remaining: 99,
                workers: 1,
            }],
            ..Snapshot::default()
        };
        let text = render(&snapshot);
        assert!(
            text.contains("timber_rotation_rows_total{job=\"7\",status=\"done\"} 90\n"),
            "{text}"
        );
        assert!(
            text.contains("timber_rotation_rows_remaining{job=\"7\"} 99\n"),
            "{text}"
        );
        assert!(
            text.contains("timber_rotation_workers{job=\"7\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("# TYPE timber_rotation_batch_seconds histogram"),
            "{text}"
        );
        assert!(text.contains("timber_build_info{version="), "{text}");
    }
}
