//! What runs publish: artifact records and the blobs they reference, test results and coverage
//! summaries.

use std::collections::HashSet;

use slipway_events::{Coverage, TestRun};

use super::common::{DbConnection, DbPools, from_json, read_row, require_name, to_json};
use super::events::record_change;
use super::runs::require_run;
use crate::error::{Result, StoreError};
use crate::model::{
    Artifact, ArtifactId, ChangeKind, JobId, NewArtifact, RunId, StoredCoverage, StoredTestRun, TestTotals, Timestamp,
};
use crate::store::Context;

// ----- artifacts -----

/// The columns of `artifacts` read into an [`ArtifactRow`], one per field.
macro_rules! artifact_columns {
    () => {
        "id, run_id, job_id, name, digest, manifest, file_count, byte_count, provenance, created_at"
    };
}

/// A row of `artifact_columns!()`.
#[derive(sqlx::FromRow)]
struct ArtifactRow {
    id: i64,
    run_id: i64,
    job_id: Option<i64>,
    name: String,
    digest: String,
    manifest: String,
    file_count: i64,
    byte_count: i64,
    provenance: Option<String>,
    created_at: i64,
}

impl ArtifactRow {
    fn into_artifact(self) -> Result<Artifact> {
        Ok(Artifact {
            id: ArtifactId(self.id),
            run: RunId(self.run_id),
            job: self.job_id.map(JobId),
            name: self.name,
            digest: self.digest,
            manifest: from_json("manifest", &self.manifest)?,
            files: self.file_count,
            bytes: self.byte_count,
            provenance: self.provenance.as_deref().map(|text| from_json("provenance", text)).transpose()?,
            created_at: Timestamp(self.created_at),
        })
    }
}

/// Implements [`crate::Store::record_artifact`].
pub(crate) async fn record_artifact(pools: &DbPools, context: &Context, artifact: &NewArtifact) -> Result<Artifact> {
    require_name("artifact name", &artifact.name)?;
    let mut transaction = pools.writer.begin().await?;
    require_run(&mut transaction, artifact.run).await?;
    if let Some(job) = artifact.job {
        let run: Option<i64> = sqlx::query_scalar("SELECT run_id FROM jobs WHERE id = $1")
            .bind(job.0)
            .fetch_optional(&mut *transaction)
            .await?;
        if run != Some(artifact.run.0) {
            return Err(StoreError::not_found("job", job));
        }
    }
    let row = sqlx::query(concat!(
        "INSERT INTO artifacts (run_id, job_id, name, digest, manifest, file_count, byte_count, provenance, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (run_id, name) DO UPDATE SET job_id = excluded.job_id, \
         digest = excluded.digest, manifest = excluded.manifest, file_count = excluded.file_count, \
         byte_count = excluded.byte_count, provenance = excluded.provenance RETURNING ",
        artifact_columns!()
    ))
    .bind(artifact.run.0)
    .bind(artifact.job.map(|job| job.0))
    .bind(&artifact.name)
    .bind(&artifact.digest)
    .bind(to_json("manifest", &artifact.manifest)?)
    .bind(artifact.files)
    .bind(artifact.bytes)
    .bind(artifact.provenance.as_ref().map(|envelope| to_json("provenance", envelope)).transpose()?)
    .bind(context.now().millis())
    .fetch_one(&mut *transaction)
    .await
    .map_err(StoreError::from)
    .and_then(|row| read_row::<ArtifactRow>(&row))?;
    let recorded = row.into_artifact()?;
    sqlx::query("DELETE FROM artifact_blobs WHERE artifact_id = $1")
        .bind(recorded.id.0)
        .execute(&mut *transaction)
        .await?;
    let blobs: HashSet<&String> = artifact.blobs.iter().collect();
    for digest in blobs {
        sqlx::query("INSERT INTO artifact_blobs (artifact_id, digest) VALUES ($1, $2)")
            .bind(recorded.id.0)
            .bind(digest)
            .execute(&mut *transaction)
            .await?;
    }
    record_change(
        &mut transaction,
        ChangeKind::ArtifactPublished,
        recorded.id.0,
        recorded.created_at,
        &serde_json::json!({ "run": artifact.run.0, "name": recorded.name }),
    )
    .await?;
    transaction.commit().await?;
    Ok(recorded)
}

/// Implements [`crate::Store::artifacts_of_run`].
pub(crate) async fn artifacts_of_run(pools: &DbPools, _context: &Context, run: RunId) -> Result<Vec<Artifact>> {
    sqlx::query(concat!("SELECT ", artifact_columns!(), " FROM artifacts WHERE run_id = $1 ORDER BY name"))
        .bind(run.0)
        .fetch_all(&pools.reader)
        .await?
        .iter()
        .map(read_row::<ArtifactRow>)
        .collect::<Result<Vec<_>>>()?
        .into_iter()
        .map(ArtifactRow::into_artifact)
        .collect()
}

/// Implements [`crate::Store::is_blob_referenced`].
pub(crate) async fn is_blob_referenced(pools: &DbPools, _context: &Context, digest: &str) -> Result<bool> {
    let found: Option<i64> = sqlx::query_scalar("SELECT artifact_id FROM artifact_blobs WHERE digest = $1 LIMIT 1")
        .bind(digest)
        .fetch_optional(&pools.reader)
        .await?;
    Ok(found.is_some())
}

/// The blob digests the artifacts of these runs reference.
pub(super) async fn blobs_of_runs(connection: &mut DbConnection, runs: &[i64]) -> Result<HashSet<String>> {
    let mut blobs = HashSet::new();
    for run in runs {
        let digests: Vec<String> = sqlx::query_scalar(
            "SELECT DISTINCT artifact_blobs.digest FROM artifact_blobs \
             JOIN artifacts ON artifacts.id = artifact_blobs.artifact_id WHERE artifacts.run_id = $1",
        )
        .bind(run)
        .fetch_all(&mut *connection)
        .await?;
        blobs.extend(digests);
    }
    Ok(blobs)
}

/// Those of `blobs` that no artifact references any more, sorted.
pub(super) async fn unreferenced(connection: &mut DbConnection, blobs: HashSet<String>) -> Result<Vec<String>> {
    let mut unreferenced = Vec::new();
    for digest in blobs {
        let found: Option<i64> = sqlx::query_scalar("SELECT artifact_id FROM artifact_blobs WHERE digest = $1 LIMIT 1")
            .bind(&digest)
            .fetch_optional(&mut *connection)
            .await?;
        if found.is_none() {
            unreferenced.push(digest);
        }
    }
    unreferenced.sort();
    Ok(unreferenced)
}

// ----- test results and coverage -----

/// A test count as a database integer.
fn count(value: u64) -> Result<i64> {
    i64::try_from(value).map_err(|_| StoreError::invalid("test results", "a count is too large"))
}

/// Implements [`crate::Store::add_test_run`].
pub(crate) async fn add_test_run(
    pools: &DbPools,
    context: &Context,
    run: RunId,
    job: &str,
    step: i64,
    results: &TestRun,
) -> Result<()> {
    let mut transaction = pools.writer.begin().await?;
    require_run(&mut transaction, run).await?;
    insert_test_run(&mut transaction, context, run, job, step, results).await?;
    transaction.commit().await?;
    Ok(())
}

/// Stores test results that the step numbered `step` of job `job` (its key) published, and
/// records the change for the event stream.
pub(super) async fn insert_test_run(
    connection: &mut DbConnection,
    context: &Context,
    run: RunId,
    job: &str,
    step: i64,
    results: &TestRun,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO test_runs (run_id, job_key, step, total, passed, failed, skipped, data) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(run.0)
    .bind(job)
    .bind(step)
    .bind(count(results.total)?)
    .bind(count(results.passed)?)
    .bind(count(results.failed)?)
    .bind(count(results.skipped)?)
    .bind(to_json("test results", results)?)
    .execute(&mut *connection)
    .await?;
    let details = serde_json::json!({
        "job": job,
        "step": step,
        "total": results.total,
        "passed": results.passed,
        "failed": results.failed,
        "skipped": results.skipped,
    });
    record_change(connection, ChangeKind::TestsPublished, run.0, context.now(), &details).await
}

/// Implements [`crate::Store::test_runs`].
pub(crate) async fn test_runs(pools: &DbPools, _context: &Context, run: RunId) -> Result<Vec<StoredTestRun>> {
    let rows: Vec<(String, i64, String)> =
        sqlx::query("SELECT job_key, step, data FROM test_runs WHERE run_id = $1 ORDER BY id")
            .bind(run.0)
            .fetch_all(&pools.reader)
            .await?
            .iter()
            .map(read_row)
            .collect::<Result<Vec<_>>>()?;
    rows.into_iter()
        .map(|(job, step, data)| Ok(StoredTestRun { run, job, step, results: from_json("data", &data)? }))
        .collect()
}

/// Implements [`crate::Store::test_totals`].
pub(crate) async fn test_totals(pools: &DbPools, _context: &Context, run: RunId) -> Result<TestTotals> {
    let (total, passed, failed, skipped): (i64, i64, i64, i64) = sqlx::query(
        "SELECT CAST(COALESCE(SUM(total), 0) AS BIGINT) AS total, CAST(COALESCE(SUM(passed), 0) AS BIGINT) AS passed, \
         CAST(COALESCE(SUM(failed), 0) AS BIGINT) AS failed, CAST(COALESCE(SUM(skipped), 0) AS BIGINT) AS skipped \
         FROM test_runs WHERE run_id = $1",
    )
    .bind(run.0)
    .fetch_one(&pools.reader)
    .await
    .map_err(StoreError::from)
    .and_then(|row| read_row(&row))?;
    Ok(TestTotals { total, passed, failed, skipped })
}

/// Implements [`crate::Store::add_coverage`].
pub(crate) async fn add_coverage(
    pools: &DbPools,
    _context: &Context,
    run: RunId,
    job: &str,
    step: i64,
    coverage: &Coverage,
) -> Result<()> {
    let mut transaction = pools.writer.begin().await?;
    require_run(&mut transaction, run).await?;
    insert_coverage(&mut transaction, run, job, step, coverage).await?;
    transaction.commit().await?;
    Ok(())
}

/// Stores a coverage summary that the step numbered `step` of job `job` (its key) published.
pub(super) async fn insert_coverage(
    connection: &mut DbConnection,
    run: RunId,
    job: &str,
    step: i64,
    coverage: &Coverage,
) -> Result<()> {
    sqlx::query("INSERT INTO coverage_summaries (run_id, job_key, step, data) VALUES ($1, $2, $3, $4)")
        .bind(run.0)
        .bind(job)
        .bind(step)
        .bind(to_json("coverage", coverage)?)
        .execute(&mut *connection)
        .await?;
    Ok(())
}

/// Implements [`crate::Store::coverage_summaries`].
pub(crate) async fn coverage_summaries(pools: &DbPools, _context: &Context, run: RunId) -> Result<Vec<StoredCoverage>> {
    let rows: Vec<(String, i64, String)> =
        sqlx::query("SELECT job_key, step, data FROM coverage_summaries WHERE run_id = $1 ORDER BY id")
            .bind(run.0)
            .fetch_all(&pools.reader)
            .await?
            .iter()
            .map(read_row)
            .collect::<Result<Vec<_>>>()?;
    rows.into_iter()
        .map(|(job, step, data)| Ok(StoredCoverage { run, job, step, coverage: from_json("data", &data)? }))
        .collect()
}
