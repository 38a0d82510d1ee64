//! Queries for the team dashboard: pipeline health (runs finished in a window by result, with
//! the median and 90th percentile of their durations, for the window and each day), queue times
//! (jobs' waits from queued to started, by pool, for the window and each day), agent use (each
//! lease holder's attempts and busy time in the window) and flaky tests (a test that failed and
//! passed on the same commit).
//!
//! Percentiles are computed by the database with window functions, which SQLite (3.25 and later)
//! and PostgreSQL both have: the samples are numbered in order within their group, and the rows
//! at the median's and the 90th percentile's ranks picked out. Days are UTC days since the Unix
//! epoch (`time / 86400000`; times are positive). Flaky tests need each test case, kept as JSON
//! in `test_runs.data`: the database narrows the results to those of commits where some test
//! failed and some passed in more than one set of results, and only those are read here.

use std::collections::{BTreeMap, BTreeSet};

use slipway_events::{TestOutcome, TestRun};

use super::common::{DbPools, from_json, read_row};
use crate::error::Result;
use crate::model::{AgentBusy, FlakyTest, QueueTime, RunHealth, RunId, TeamWindow, Timestamp};
use crate::store::Context;

/// The statistics over a query's samples, `samples` being a query whose rows have a text `k` (the
/// group), a day `d`, a duration `ms` (`NULL` when it has none: counted, but not in the
/// percentiles) and a text `outcome`; by group, or by group and day. Its rows are: group, day
/// (`NULL` when not by day), samples, outcomes `succeeded`, `failed` and `canceled`, median and
/// 90th percentile (nearest rank) of the durations.
fn statistics(samples: &str, by_day: bool) -> String {
    let (group, day) = if by_day { ("k, d", "d") } else { ("k", "CAST(NULL AS BIGINT)") };
    // Among the `n` durations of a group numbered from 1 in ascending order, the median is the
    // mean of those numbered (n + 1) / 2 and (n + 2) / 2 (one when n is odd, in integer division)
    // and the 90th percentile the one numbered ceil(9n / 10) = (9n + 9) / 10.
    let middle = "ms IS NOT NULL AND rn IN ((n + 1) / 2, (n + 2) / 2)";
    format!(
        "WITH samples AS ({samples}), ranked AS ( \
           SELECT k, d, ms, outcome, \
             ROW_NUMBER() OVER (PARTITION BY {group}, CASE WHEN ms IS NULL THEN 1 ELSE 0 END ORDER BY ms) AS rn, \
             COUNT(ms) OVER (PARTITION BY {group}) AS n \
           FROM samples \
         ) \
         SELECT k, {day} AS day, COUNT(*) AS total, \
           CAST(SUM(CASE WHEN outcome = 'succeeded' THEN 1 ELSE 0 END) AS BIGINT) AS succeeded, \
           CAST(SUM(CASE WHEN outcome = 'failed' THEN 1 ELSE 0 END) AS BIGINT) AS failed, \
           CAST(SUM(CASE WHEN outcome = 'canceled' THEN 1 ELSE 0 END) AS BIGINT) AS canceled, \
           CAST(SUM(CASE WHEN {middle} THEN ms END) AS BIGINT) \
             / NULLIF(COUNT(CASE WHEN {middle} THEN 1 END), 0) AS median_ms, \
           MAX(CASE WHEN ms IS NOT NULL AND rn = (9 * n + 9) / 10 THEN ms END) AS p90_ms \
         FROM ranked GROUP BY {group} ORDER BY {group}"
    )
}

/// A row of [`statistics`].
type Statistics = (String, Option<i64>, i64, i64, i64, i64, Option<i64>, Option<i64>);

/// Runs finished in the window: pipeline, day finished, duration from start to finish (none for a
/// canceled run, or one that ended before it had jobs, its pipeline not loaded, say: their
/// durations say nothing of the pipeline's), outcome.
const RUN_SAMPLES: &str = "SELECT p.name AS k, r.finished_at / 86400000 AS d, \
     CASE WHEN r.started_at IS NULL OR r.result = 'Canceled' \
       OR NOT EXISTS (SELECT 1 FROM jobs j WHERE j.run_id = r.id) THEN NULL \
       ELSE r.finished_at - r.started_at END AS ms, \
     CASE WHEN r.result IN ('Succeeded', 'SucceededWithIssues') THEN 'succeeded' \
       WHEN r.result = 'Canceled' THEN 'canceled' ELSE 'failed' END AS outcome \
   FROM runs r JOIN pipelines p ON p.id = r.pipeline_id \
   WHERE r.status = 'completed' AND r.finished_at >= $1 AND r.finished_at < $2 AND ($3 IS NULL OR p.name = $3)";

/// Jobs queued in the window that started: pool, day queued, wait from queued to started.
const QUEUE_SAMPLES: &str = "SELECT j.pool AS k, j.queued_at / 86400000 AS d, j.started_at - j.queued_at AS ms, \
     'started' AS outcome \
   FROM jobs j JOIN runs r ON r.id = j.run_id JOIN pipelines p ON p.id = r.pipeline_id \
   WHERE j.queued_at >= $1 AND j.queued_at < $2 AND j.started_at IS NOT NULL AND ($3 IS NULL OR p.name = $3)";

async fn read_statistics(pools: &DbPools, window: &TeamWindow, samples: &str, by_day: bool) -> Result<Vec<Statistics>> {
    sqlx::query(&statistics(samples, by_day))
        .bind(window.start.millis())
        .bind(window.end.millis())
        .bind(window.pipeline.as_deref())
        .fetch_all(&pools.reader)
        .await?
        .iter()
        .map(read_row)
        .collect()
}

/// Implements [`crate::Store::team_run_health`].
pub(crate) async fn team_run_health(
    pools: &DbPools,
    _context: &Context,
    window: &TeamWindow,
    by_day: bool,
) -> Result<Vec<RunHealth>> {
    let rows = read_statistics(pools, window, RUN_SAMPLES, by_day).await?;
    Ok(rows
        .into_iter()
        .map(|(pipeline, day, runs, succeeded, failed, canceled, median_ms, p90_ms)| RunHealth {
            pipeline,
            day,
            runs,
            succeeded,
            failed,
            canceled,
            median_ms,
            p90_ms,
        })
        .collect())
}

/// Implements [`crate::Store::team_queue_times`].
pub(crate) async fn team_queue_times(
    pools: &DbPools,
    _context: &Context,
    window: &TeamWindow,
    by_day: bool,
) -> Result<Vec<QueueTime>> {
    let rows = read_statistics(pools, window, QUEUE_SAMPLES, by_day).await?;
    Ok(rows
        .into_iter()
        .map(|(pool, day, jobs, _, _, _, median_ms, p90_ms)| QueueTime { pool, day, jobs, median_ms, p90_ms })
        .collect())
}

/// Implements [`crate::Store::team_agent_use`].
pub(crate) async fn team_agent_use(pools: &DbPools, _context: &Context, window: &TeamWindow) -> Result<Vec<AgentBusy>> {
    // Every attempt that overlaps the window: the jobs' current ones (running up to the window's
    // end) and those kept when failed jobs were run again; each clipped to the window.
    let rows: Vec<(String, String, i64, i64)> = sqlx::query(
        "WITH attempts AS ( \
           SELECT j.lease_holder AS holder, j.pool AS pool, j.started_at AS started, \
             COALESCE(j.finished_at, $2) AS finished \
           FROM jobs j WHERE j.lease_holder IS NOT NULL AND j.started_at IS NOT NULL \
             AND j.started_at < $2 AND (j.finished_at IS NULL OR j.finished_at > $1) \
           UNION ALL \
           SELECT a.lease_holder AS holder, j.pool AS pool, a.started_at AS started, \
             COALESCE(a.finished_at, a.started_at) AS finished \
           FROM job_attempts a JOIN jobs j ON j.id = a.job_id \
           WHERE a.lease_holder IS NOT NULL AND a.started_at IS NOT NULL \
             AND a.started_at < $2 AND COALESCE(a.finished_at, a.started_at) > $1 \
         ) \
         SELECT holder, pool, CAST(SUM(CASE WHEN started >= $1 THEN 1 ELSE 0 END) AS BIGINT) AS jobs, \
           CAST(SUM((CASE WHEN finished < $2 THEN finished ELSE $2 END) \
             - (CASE WHEN started > $1 THEN started ELSE $1 END)) AS BIGINT) AS busy_ms \
         FROM attempts GROUP BY holder, pool ORDER BY holder, pool",
    )
    .bind(window.start.millis())
    .bind(window.end.millis())
    .fetch_all(&pools.reader)
    .await?
    .iter()
    .map(read_row)
    .collect::<Result<_>>()?;
    Ok(rows
        .into_iter()
        .map(|(holder, pool, jobs, busy_ms)| AgentBusy { holder, pool, jobs, busy_ms: busy_ms.max(0) })
        .collect())
}

/// What is known of one test on one commit so far.
#[derive(Default)]
struct Seen {
    failed_runs: BTreeSet<i64>,
    passed_runs: BTreeSet<i64>,
    failures: i64,
    passes: i64,
    last_seen: i64,
}

/// Implements [`crate::Store::team_flaky_tests`].
pub(crate) async fn team_flaky_tests(
    pools: &DbPools,
    _context: &Context,
    window: &TeamWindow,
    limit: usize,
) -> Result<Vec<FlakyTest>> {
    // The results of runs created in the window, of a job of a commit where some test failed
    // and some passed in more than one set of results: only there can a test be flaky.
    let rows: Vec<(String, String, String, i64, i64, String)> = sqlx::query(
        "WITH windowed AS ( \
           SELECT t.id AS id, r.pipeline_id AS pipeline_id, r.commit_sha AS commit_sha, t.job_key AS job_key, \
             t.failed AS failed, t.passed AS passed \
           FROM test_runs t JOIN runs r ON r.id = t.run_id JOIN pipelines p ON p.id = r.pipeline_id \
           WHERE r.created_at >= $1 AND r.created_at < $2 AND r.commit_sha IS NOT NULL \
             AND ($3 IS NULL OR p.name = $3) \
         ), suspects AS ( \
           SELECT pipeline_id, commit_sha, job_key FROM windowed GROUP BY pipeline_id, commit_sha, job_key \
           HAVING SUM(failed) > 0 AND SUM(passed) > 0 AND COUNT(*) > 1 \
         ) \
         SELECT p.name, w.commit_sha, w.job_key, t.run_id, r.created_at, t.data FROM windowed w \
         JOIN suspects s ON s.pipeline_id = w.pipeline_id AND s.commit_sha = w.commit_sha AND s.job_key = w.job_key \
         JOIN test_runs t ON t.id = w.id JOIN runs r ON r.id = t.run_id JOIN pipelines p ON p.id = w.pipeline_id \
         ORDER BY t.id",
    )
    .bind(window.start.millis())
    .bind(window.end.millis())
    .bind(window.pipeline.as_deref())
    .fetch_all(&pools.reader)
    .await?
    .iter()
    .map(read_row)
    .collect::<Result<_>>()?;
    let mut seen: BTreeMap<(String, String, String, Option<String>, String), Seen> = BTreeMap::new();
    for (pipeline, commit, job, run, created_at, data) in rows {
        let results: TestRun = from_json("test_runs.data", &data)?;
        for case in results.tests {
            let passed = match case.outcome {
                TestOutcome::Passed => true,
                TestOutcome::Failed => false,
                TestOutcome::Skipped => continue,
            };
            let key = (pipeline.clone(), commit.clone(), job.clone(), case.suite, case.name);
            let entry = seen.entry(key).or_default();
            if passed {
                entry.passed_runs.insert(run);
                entry.passes += 1;
            } else {
                entry.failed_runs.insert(run);
                entry.failures += 1;
            }
            entry.last_seen = entry.last_seen.max(created_at);
        }
    }
    let mut flaky: Vec<FlakyTest> = seen
        .into_iter()
        .filter(|(_, seen)| seen.failures > 0 && seen.passes > 0)
        .map(|((pipeline, commit, job, suite, name), seen)| FlakyTest {
            pipeline,
            commit,
            job,
            suite,
            name,
            failed_runs: seen.failed_runs.into_iter().map(RunId).collect(),
            passed_runs: seen.passed_runs.into_iter().map(RunId).collect(),
            failures: seen.failures,
            passes: seen.passes,
            last_seen: Timestamp(seen.last_seen),
        })
        .collect();
    // The most failures first, then the newest.
    flaky.sort_by(|a, b| b.failures.cmp(&a.failures).then(b.last_seen.cmp(&a.last_seen)));
    flaky.truncate(limit);
    Ok(flaky)
}
