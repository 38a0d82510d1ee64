//! A run's security: what its security reports say (secrets, vulnerabilities, policy, SBOMs)
//! and whether its artifacts carry valid signed provenance.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What a run's published security reports and signed artifacts say.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct RunSecurity {
    /// The run's id.
    pub run: i64,
    /// Its pipeline's name.
    pub pipeline: String,
    /// Its number.
    pub run_number: String,
    /// The totals over its reports.
    pub totals: SecurityTotals,
    /// Every report found in its artifacts, in artifact and path order.
    pub reports: Vec<SecurityReport>,
    /// Each artifact's provenance verdict.
    pub artifacts: Vec<ArtifactProvenance>,
}

/// Totals over a run's reports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct SecurityTotals {
    /// Secrets found.
    pub secrets: usize,
    /// Known vulnerabilities found.
    pub vulnerabilities: usize,
    /// Policy failures (and warnings) found.
    pub policy: usize,
    /// Other tools' findings.
    pub other: usize,
    /// Components the SBOMs list (the largest SBOM's count).
    pub components: usize,
    /// Artifacts whose provenance verified.
    pub verified_artifacts: usize,
    /// Artifacts whose provenance did not verify or is missing.
    pub unverified_artifacts: usize,
}

/// One report file of an artifact.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct SecurityReport {
    /// The artifact it is in.
    pub artifact: String,
    /// Its path in the artifact.
    pub path: String,
    /// `sarif`, `cyclonedx` or `spdx`.
    pub kind: String,
    /// `secrets`, `vulnerabilities`, `policy` or `other`.
    pub category: String,
    /// The tool that wrote it, when it says.
    pub tool: Option<String>,
    /// How many findings it has.
    pub findings_total: usize,
    /// Its findings (at most 500).
    pub findings: Vec<SecurityFinding>,
    /// How many components an SBOM lists.
    pub components: Option<usize>,
    /// Why it could not be read, when it could not.
    pub error: Option<String>,
}

/// One finding of a report.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct SecurityFinding {
    /// The rule or advisory.
    pub rule: String,
    /// SARIF's level or the advisory's severity.
    pub level: String,
    /// What it says (secrets redacted by the tool).
    pub message: String,
    /// Where (`file:line`, or the component).
    pub location: Option<String>,
}

/// Whether an artifact's signed provenance verifies.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct ArtifactProvenance {
    /// The artifact.
    pub artifact: String,
    /// `verified`, `failed` or `missing`.
    pub verdict: String,
    /// The key it was signed with, when signed.
    pub key_id: Option<String>,
    /// What was checked, one line each, with the failures' reasons.
    pub checks: Vec<String>,
    /// Where to download the signed envelope (DSSE JSON), when there is one.
    pub provenance_url: Option<String>,
}

/// A pipeline's security: the newest completed run that published security reports or artifacts.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct PipelineSecurity {
    /// The pipeline.
    pub pipeline: String,
    /// That run's security, if there is such a run.
    pub latest: Option<RunSecurity>,
}
