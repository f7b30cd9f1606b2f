//! A health run in progress: which family of checks runs, which model the survey of
//! stored values is reading, the rows read so far. The run's result replaces it.

use super::HealthState;

/// One progress report of a running health check.
#[derive(Clone, Debug, PartialEq)]
pub enum HealthTick {
    /// A family of checks starts: `keys`, `data`, `schema`, `audit`, `ops`.
    Phase(String),
    /// The survey read `rows_done` rows of `model` (of about `rows_expected`).
    Rows {
        model: String,
        rows_done: u64,
        rows_expected: u64,
    },
}

/// Where the running health check is.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HealthRun {
    pub phase: String,
    /// The model being surveyed, and its place among the surveyed models.
    pub model: Option<String>,
    pub model_index: usize,
    /// Models with encrypted columns (the survey reads each of them).
    pub models_total: usize,
    pub rows_done: u64,
    pub rows_expected: u64,
    /// Rows of the models surveyed before the current one.
    pub rows_before: u64,
    /// A refresh came while this run was going: run again when it ends (results of the
    /// run in progress may predate what asked for the refresh, a rotation say).
    pub rerun: bool,
}

impl HealthRun {
    pub fn new(models_total: usize) -> HealthRun {
        HealthRun {
            phase: "starting".into(),
            models_total,
            ..HealthRun::default()
        }
    }

    /// Rows read by the survey so far, over every model.
    pub fn rows_scanned(&self) -> u64 {
        self.rows_before + self.rows_done
    }

    /// The current model's share read, when its size is known.
    pub fn ratio(&self) -> Option<f64> {
        (self.rows_expected > 0)
            .then(|| (self.rows_done as f64 / self.rows_expected as f64).clamp(0.0, 1.0))
    }
}

impl HealthState {
    /// Folds a progress report into the running check (dropped if none runs).
    pub fn apply_tick(&mut self, tick: HealthTick) {
        let Some(run) = &mut self.run else {
            return;
        };
        match tick {
            HealthTick::Phase(phase) => run.phase = phase,
            HealthTick::Rows {
                model,
                rows_done,
                rows_expected,
            } => {
                if run.model.as_deref() != Some(model.as_str()) {
                    if run.model.is_some() {
                        run.rows_before += run.rows_done;
                    }
                    run.model = Some(model);
                    run.model_index += 1;
                }
                run.rows_done = rows_done;
                run.rows_expected = rows_expected;
            }
        }
    }
}
