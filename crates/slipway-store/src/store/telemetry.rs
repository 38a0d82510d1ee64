//! [`Store`]'s tallies for telemetry (the server's `/metrics`): aggregate queries that read a
//! few rows per pipeline or environment, whatever the number of runs.

use super::Store;
use crate::error::Result;
#[cfg(doc)]
use crate::error::StoreError;

impl Store {
    /// Finished runs tallied by pipeline name, result (`Succeeded`, `Failed`, ...), failure kind,
    /// phase and duration bucket. Each row is `(pipeline, result, error_type, phase, bucket,
    /// count, sum_ms)`:
    /// - `error_type` is empty unless the result is `Failed`; then `agent_lost` (a job's agent
    ///   stopped renewing its lease), `timeout` (a job ran longer than its maximum time),
    ///   `not_started` (the run ended before any job, e.g. its pipeline could not be loaded) or
    ///   `job_failed`;
    /// - `phase` is `pending` (from creation to start) or `executing` (from start to finish),
    ///   every finished run counting once in each;
    /// - `bucket` is the index of the first of `bounds_ms` (ascending) the phase's milliseconds
    ///   are at most, or `bounds_ms.len()` when above them all.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn telemetry_run_durations(
        &self,
        bounds_ms: &[i64],
    ) -> Result<Vec<(String, String, String, String, i64, i64, i64)>> {
        dispatch!(self, telemetry::telemetry_run_durations(bounds_ms))
    }

    /// Runs queued or running, by pipeline name and status (`queued` or `running`); every
    /// pipeline appears, with a `None` status (and a count of 0) when it has no such run.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn telemetry_active_runs(&self) -> Result<Vec<(String, Option<String>, i64)>> {
        dispatch!(self, telemetry::telemetry_active_runs())
    }

    /// Finished deployments by environment name, result (`Succeeded`, ...) and outcome
    /// (`promoted`, `rolledBack`, `redeployed`, or none): `(environment, result, outcome, count)`.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn telemetry_deployments(&self) -> Result<Vec<(String, Option<String>, Option<String>, i64)>> {
        dispatch!(self, telemetry::telemetry_deployments())
    }
}
