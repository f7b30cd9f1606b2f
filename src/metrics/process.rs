//! What only this process knows: the seconds of each rotation batch it committed and the
//! jobs it adopted from a gone worker. Kept process-wide (the usual Prometheus client
//! pattern), fed by the rotation use case's events, so a rotation started by the CLI or by
//! the console is counted the same way.

use std::sync::OnceLock;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::histogram::Histogram;

use crate::rotation::RotationEvent;

/// This process's rotation metrics.
#[derive(Clone, Debug)]
pub struct ProcessMetrics {
    /// `timber_rotation_batch_seconds`: read to commit of each batch.
    pub batch_seconds: Histogram,
    /// `timber_rotation_lease_takeovers_total`: jobs adopted from a gone worker, and chunks
    /// claimed from an expired lease.
    pub takeovers: Counter,
}

/// Batches take milliseconds (a small table, SQLite) to tens of seconds (a large batch on a
/// loaded server): 5 ms doubling to about 41 s.
fn batch_buckets() -> impl Iterator<Item = f64> {
    prometheus_client::metrics::histogram::exponential_buckets(0.005, 2.0, 14)
}

/// The metrics of this process (created on first use).
pub fn process_metrics() -> &'static ProcessMetrics {
    static METRICS: OnceLock<ProcessMetrics> = OnceLock::new();
    METRICS.get_or_init(|| ProcessMetrics {
        batch_seconds: Histogram::new(batch_buckets()),
        takeovers: Counter::default(),
    })
}

/// Counts one rotation event of this process.
pub fn observe(event: &RotationEvent) {
    let metrics = process_metrics();
    match event {
        RotationEvent::Batch { batch_seconds, .. } => metrics.batch_seconds.observe(*batch_seconds),
        RotationEvent::Adopted { .. } | RotationEvent::ChunkTakenOver { .. } => {
            metrics.takeovers.inc();
        }
        _ => {}
    }
}
