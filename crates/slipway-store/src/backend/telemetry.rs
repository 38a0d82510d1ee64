//! Telemetry's tallies: finished runs by pipeline, result, failure kind, phase and duration
//! bucket; active runs by pipeline and status; finished deployments by environment, result and
//! outcome. Each is one aggregate query, so that a scrape reads a few rows per pipeline or
//! environment rather than every run.

use std::fmt::Write as _;

use super::common::DbPools;
use crate::error::Result;
use crate::store::Context;

/// A tally of finished runs: pipeline, result, failure kind (empty unless the result is
/// `Failed`), phase (`pending` or `executing`), bucket, count, summed milliseconds.
pub(crate) type RunTally = (String, String, String, String, i64, i64, i64);

/// Implements [`crate::Store::telemetry_run_durations`].
pub(crate) async fn telemetry_run_durations(
    pools: &DbPools,
    _context: &Context,
    bounds_ms: &[i64],
) -> Result<Vec<RunTally>> {
    let mut bucket = String::from("CASE");
    for (index, _) in bounds_ms.iter().enumerate() {
        let _ = write!(bucket, " WHEN ms <= ${} THEN {index}", index + 1);
    }
    let _ = write!(bucket, " ELSE {} END", bounds_ms.len());
    let sql = format!(
        "WITH finished AS ( \
           SELECT p.name AS pipeline, COALESCE(r.result, 'Failed') AS result, \
             CASE WHEN COALESCE(r.result, 'Failed') <> 'Failed' THEN '' \
               WHEN EXISTS (SELECT 1 FROM jobs j WHERE j.run_id = r.id AND j.message LIKE 'agent lost%') \
                 THEN 'agent_lost' \
               WHEN EXISTS (SELECT 1 FROM jobs j WHERE j.run_id = r.id \
                 AND j.message LIKE '%ran longer than the maximum time%') THEN 'timeout' \
               WHEN NOT EXISTS (SELECT 1 FROM jobs j WHERE j.run_id = r.id) THEN 'not_started' \
               ELSE 'job_failed' END AS error_type, \
             COALESCE(r.started_at, r.finished_at) - r.created_at AS pending_ms, \
             r.finished_at - COALESCE(r.started_at, r.finished_at) AS executing_ms \
           FROM runs r JOIN pipelines p ON p.id = r.pipeline_id \
           WHERE r.status = 'completed' AND r.finished_at IS NOT NULL \
         ), phases AS ( \
           SELECT pipeline, result, error_type, 'pending' AS phase, pending_ms AS ms FROM finished \
           UNION ALL \
           SELECT pipeline, result, error_type, 'executing' AS phase, executing_ms AS ms FROM finished \
         ), bucketed AS ( \
           SELECT pipeline, result, error_type, phase, {bucket} AS bucket, ms FROM phases \
         ) \
         SELECT pipeline, result, error_type, phase, CAST(bucket AS BIGINT) AS bucket, COUNT(*) AS runs, \
           CAST(SUM(ms) AS BIGINT) AS ms \
         FROM bucketed GROUP BY pipeline, result, error_type, phase, bucket \
         ORDER BY pipeline, result, error_type, phase, bucket"
    );
    let mut query = sqlx::query_as::<_, RunTally>(&sql);
    for bound in bounds_ms {
        query = query.bind(*bound);
    }
    Ok(query.fetch_all(&pools.reader).await?)
}

/// Implements [`crate::Store::telemetry_active_runs`].
pub(crate) async fn telemetry_active_runs(
    pools: &DbPools,
    _context: &Context,
) -> Result<Vec<(String, Option<String>, i64)>> {
    Ok(sqlx::query_as(
        "SELECT p.name, r.status, COUNT(r.id) FROM pipelines p \
         LEFT JOIN runs r ON r.pipeline_id = p.id AND r.status IN ('queued', 'running') \
         GROUP BY p.name, r.status ORDER BY p.name, r.status",
    )
    .fetch_all(&pools.reader)
    .await?)
}

/// Implements [`crate::Store::telemetry_deployments`].
pub(crate) async fn telemetry_deployments(
    pools: &DbPools,
    _context: &Context,
) -> Result<Vec<(String, Option<String>, Option<String>, i64)>> {
    Ok(sqlx::query_as(
        "SELECT e.name, d.result, d.outcome, COUNT(*) FROM deployments d \
         JOIN environments e ON e.id = d.environment_id WHERE d.finished_at IS NOT NULL \
         GROUP BY e.name, d.result, d.outcome ORDER BY e.name, d.result, d.outcome",
    )
    .fetch_all(&pools.reader)
    .await?)
}
