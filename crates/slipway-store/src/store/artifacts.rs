//! [`Store`]'s records of what runs publish: artifacts and the blobs they reference, test results
//! and coverage summaries.

use slipway_events::{Coverage, TestRun};

use super::Store;
use crate::error::Result;
#[cfg(doc)]
use crate::error::StoreError;
use crate::model::{Artifact, NewArtifact, RunId, StoredCoverage, StoredTestRun, TestTotals};

impl Store {
    // ----- artifacts -----

    /// Records an artifact of a run, replacing one of the same name (`artifact.upload` adding files).
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown run or job.
    pub async fn record_artifact(&self, artifact: &NewArtifact) -> Result<Artifact> {
        dispatch!(self, artifacts::record_artifact(artifact))
    }

    /// A run's artifacts by name.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn artifacts_of_run(&self, run: RunId) -> Result<Vec<Artifact>> {
        dispatch!(self, artifacts::artifacts_of_run(run))
    }

    /// Whether any artifact references a blob.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn is_blob_referenced(&self, digest: &str) -> Result<bool> {
        dispatch!(self, artifacts::is_blob_referenced(digest))
    }

    // ----- test results and coverage -----

    /// Records test results a step published.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown run.
    pub async fn add_test_run(&self, run: RunId, job: &str, step: i64, results: &TestRun) -> Result<()> {
        dispatch!(self, artifacts::add_test_run(run, job, step, results))
    }

    /// A run's test results in the order they were published.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn test_runs(&self, run: RunId) -> Result<Vec<StoredTestRun>> {
        dispatch!(self, artifacts::test_runs(run))
    }

    /// The totals of a run's test results.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn test_totals(&self, run: RunId) -> Result<TestTotals> {
        dispatch!(self, artifacts::test_totals(run))
    }

    /// Records a coverage summary a step published.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown run.
    pub async fn add_coverage(&self, run: RunId, job: &str, step: i64, coverage: &Coverage) -> Result<()> {
        dispatch!(self, artifacts::add_coverage(run, job, step, coverage))
    }

    /// A run's coverage summaries in the order they were published.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn coverage_summaries(&self, run: RunId) -> Result<Vec<StoredCoverage>> {
        dispatch!(self, artifacts::coverage_summaries(run))
    }
}
