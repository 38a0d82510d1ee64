//! Retention: deleting the completed runs that their pipelines' policies no longer keep, never one
//! that must stay.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use slipway_events::TaskResult;

use super::POSTGRES;
use super::artifacts::{blobs_of_runs, unreferenced};
use super::common::{DbPools, read_row};
use super::pipelines::list_pipelines;
use crate::error::Result;
use crate::model::{RetentionPolicy, RetentionReport, RunId, RunStatus, parse_result};
use crate::store::Context;

/// Runs at most this many runs' deletions in one transaction.
const RETENTION_BATCH: usize = 50;

/// What retention needs to know of a run.
struct RunFacts {
    id: i64,
    pipeline: i64,
    completed: bool,
    successful: bool,
    branch: Option<String>,
    finished_at: Option<i64>,
    keep: bool,
    needs: Vec<i64>,
}

/// The row a run's facts are read from.
#[derive(sqlx::FromRow)]
struct RunFactsRow {
    id: i64,
    pipeline_id: i64,
    status: String,
    result: Option<String>,
    branch: Option<String>,
    finished_at: Option<i64>,
    keep: bool,
    retry_of: Option<i64>,
    upstream_run_id: Option<i64>,
}

impl RunFactsRow {
    fn into_facts(self) -> Result<RunFacts> {
        let result = parse_result(self.result)?;
        Ok(RunFacts {
            id: self.id,
            pipeline: self.pipeline_id,
            completed: RunStatus::parse(&self.status)? == RunStatus::Completed,
            successful: result.is_some_and(TaskResult::is_success),
            branch: self.branch,
            finished_at: self.finished_at,
            keep: self.keep,
            needs: [self.retry_of, self.upstream_run_id].into_iter().flatten().collect(),
        })
    }
}

/// Implements [`crate::Store::apply_retention`].
pub(crate) async fn apply_retention(pools: &DbPools, context: &Context) -> Result<RetentionReport> {
    let now = context.now();
    let policies: HashMap<i64, RetentionPolicy> =
        list_pipelines(pools, context).await?.into_iter().map(|pipeline| (pipeline.id.0, pipeline.retention)).collect();
    let runs = sqlx::query(
        "SELECT id, pipeline_id, status, result, branch, finished_at, keep, retry_of, upstream_run_id FROM runs ORDER BY id DESC",
    )
    .fetch_all(&pools.writer)
        .await?
        .iter()
        .map(read_row::<RunFactsRow>)
        .collect::<Result<Vec<_>>>()?
    .into_iter()
    .map(RunFactsRow::into_facts)
    .collect::<Result<Vec<_>>>()?;
    // Candidates: completed runs beyond every limit their pipeline sets (runs are newest first).
    let mut completed_seen: HashMap<i64, u32> = HashMap::new();
    let mut newest_success_seen: HashSet<(i64, Option<String>)> = HashSet::new();
    let mut expired: HashSet<i64> = HashSet::new();
    for run in &runs {
        if !run.completed {
            continue;
        }
        let rank = completed_seen.entry(run.pipeline).or_insert(0);
        *rank += 1;
        let newest_success = run.successful && newest_success_seen.insert((run.pipeline, run.branch.clone()));
        let Some(policy) = policies.get(&run.pipeline) else {
            continue;
        };
        if policy.days.is_none() && policy.runs.is_none() {
            continue;
        }
        let beyond_count = policy.runs.is_none_or(|limit| *rank > limit);
        let beyond_age = policy.days.is_none_or(|days| {
            let cutoff = now.minus(Duration::from_secs(u64::from(days) * 86_400)).millis();
            run.finished_at.is_some_and(|finished| finished < cutoff)
        });
        if beyond_count && beyond_age && !run.keep && !newest_success {
            expired.insert(run.id);
        }
    }
    // Whatever a kept run needs is kept, transitively.
    let by_id: HashMap<i64, &RunFacts> = runs.iter().map(|run| (run.id, run)).collect();
    let mut pending: Vec<i64> = runs.iter().filter(|run| !expired.contains(&run.id)).map(|run| run.id).collect();
    while let Some(kept) = pending.pop() {
        for needed in by_id.get(&kept).map(|run| run.needs.as_slice()).unwrap_or_default() {
            if expired.remove(needed) {
                pending.push(*needed);
            }
        }
    }
    // Newest first: a run is deleted before the older runs it needs, so that each deletion can
    // simply check that no run needs it any more.
    let mut doomed: Vec<i64> = expired.into_iter().collect();
    doomed.sort_unstable_by(|left, right| right.cmp(left));
    let mut report = RetentionReport::default();
    let mut blobs_freed: HashSet<String> = HashSet::new();
    let still_deletable = if POSTGRES {
        "SELECT id FROM runs WHERE id = $1 AND keep = FALSE AND status = 'completed' FOR UPDATE"
    } else {
        "SELECT id FROM runs WHERE id = $1 AND keep = FALSE AND status = 'completed'"
    };
    for batch in doomed.chunks(RETENTION_BATCH) {
        let mut transaction = pools.writer.begin().await?;
        let mut blobs = HashSet::new();
        for run in batch {
            // Checked again inside the transaction: a run marked keep, or needed by a run created,
            // since the plan was made stays.
            let found: Option<i64> =
                sqlx::query_scalar(still_deletable).bind(run).fetch_optional(&mut *transaction).await?;
            let needed: Option<i64> =
                sqlx::query_scalar("SELECT id FROM runs WHERE retry_of = $1 OR upstream_run_id = $1 LIMIT 1")
                    .bind(run)
                    .fetch_optional(&mut *transaction)
                    .await?;
            if found.is_none() || needed.is_some() {
                continue;
            }
            blobs.extend(blobs_of_runs(&mut transaction, &[*run]).await?);
            sqlx::query("DELETE FROM runs WHERE id = $1").bind(run).execute(&mut *transaction).await?;
            report.deleted_runs.push(RunId(*run));
        }
        blobs_freed.extend(unreferenced(&mut transaction, blobs).await?);
        transaction.commit().await?;
    }
    let mut unreferenced_blobs: Vec<String> = blobs_freed.into_iter().collect();
    unreferenced_blobs.sort();
    report.unreferenced_blobs = unreferenced_blobs;
    Ok(report)
}
