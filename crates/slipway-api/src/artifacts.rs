//! A run's artifacts and test results.

use serde::{Deserialize, Serialize};
use slipway_events::{Coverage, TestRun};
use utoipa::{IntoParams, ToSchema};

/// An artifact as the API lists it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct Artifact {
    /// Its name.
    pub name: String,
    /// The job that published it (`stage.job`), when known.
    pub job: Option<String>,
    /// The SHA-256 of its manifest.
    pub digest: String,
    /// How many files it holds.
    pub files: i64,
    /// How many bytes.
    pub bytes: i64,
    /// When it was recorded.
    pub created_at: i64,
    /// Where to download it as a tar.
    pub download_url: String,
}

/// The query of `PUT /runs/{id}/artifacts/{name}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UploadQuery {
    /// The job that published it (`stage.job`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job: Option<String>,
}

/// How many tests passed, failed and were skipped.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct TestTotals {
    /// Every test.
    pub total: i64,
    /// Those that passed.
    pub passed: i64,
    /// Those that failed.
    pub failed: i64,
    /// Those skipped.
    pub skipped: i64,
}

/// One published set of test results.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TestResults {
    /// The run's id.
    pub run: i64,
    /// The job that published it.
    pub job: String,
    /// The step that published it.
    pub step: i64,
    /// The results.
    #[schema(value_type = Object)]
    pub results: TestRun,
}

/// One published coverage summary.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CoverageSummary {
    /// The run's id.
    pub run: i64,
    /// The job that published it.
    pub job: String,
    /// The step that published it.
    pub step: i64,
    /// The summary.
    #[schema(value_type = Object)]
    pub coverage: Coverage,
}

/// `GET /runs/{id}/tests`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct RunTests {
    /// The totals over every published set.
    pub totals: TestTotals,
    /// Each published set.
    pub runs: Vec<TestResults>,
    /// Each coverage summary.
    pub coverage: Vec<CoverageSummary>,
}
