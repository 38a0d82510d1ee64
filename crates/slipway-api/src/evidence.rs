//! Evidence bundles: what a deployment or run is proved by (wire types).
//!
//! A bundle is one gzip-compressed tar archive (`GET /runs/{id}/evidence`,
//! `GET /environments/{name}/deployments/{id}/evidence`) whose files sit in one top directory:
//! `index.html` (a self-contained page for people), `evidence.json` (an [`Evidence`]: everything,
//! for machines), the attached files (test results, security reports and SBOMs, provenance
//! envelopes, analysis runs), [`MANIFEST_PATH`] (every other file's SHA-256, in `sha256sum`'s
//! format) and [`SIGNATURE_PATH`] (a DSSE envelope of the manifest, payload type
//! [`MANIFEST_PAYLOAD_TYPE`], signed with the server's provenance key ring). See
//! docs/evidence.md.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{Checkpoint, Deployment, RunDetail, RunSecurity, TestResults, TestTotals, WorkItem};

/// The media type of a bundle.
pub const EVIDENCE_MEDIA_TYPE: &str = "application/gzip";
/// The version of the bundle's format, in `evidence.json`'s `format`.
pub const EVIDENCE_FORMAT: &str = "slipway-evidence/v1";
/// The manifest: a line `SHA256  PATH` for every file of the bundle but itself and its signature.
pub const MANIFEST_PATH: &str = "MANIFEST.sha256";
/// The DSSE envelope whose payload is the manifest.
pub const SIGNATURE_PATH: &str = "MANIFEST.sha256.dsse.json";
/// The DSSE payload type of the signed manifest.
pub const MANIFEST_PAYLOAD_TYPE: &str = "application/vnd.slipway.evidence-manifest+sha256sum";

/// What `evidence.json` holds: a run, or one of its deployments, with everything that proves it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct Evidence {
    /// [`EVIDENCE_FORMAT`].
    pub format: String,
    /// What the bundle is of: `run 42`, or `deployment production/7`.
    pub subject: String,
    /// When the bundle was made (milliseconds since the Unix epoch).
    pub generated_at: i64,
    /// Who asked for it.
    pub generated_by: String,
    /// The server that made and signed it (its builder id), when known.
    pub server: String,
    /// The pipeline's repository.
    pub repository: String,
    /// The run and its jobs.
    pub run: RunDetail,
    /// The deployment, for a deployment's bundle.
    pub deployment: Option<Deployment>,
    /// The run's deployments (for a run's bundle; a deployment's names only itself).
    pub deployments: Vec<Deployment>,
    /// The commits in the change.
    pub commits: EvidenceCommits,
    /// Work items linked to the run, its commits or the deployment.
    pub work_items: Vec<WorkItem>,
    /// How the work items were found, and what was not looked at.
    pub work_items_note: String,
    /// The run's checkpoints: the approvals and checks its stages waited for, with who decided
    /// and when.
    pub checkpoints: Vec<Checkpoint>,
    /// The run's test results' totals.
    pub test_totals: TestTotals,
    /// Each step's published test results.
    pub tests: Vec<TestResults>,
    /// What the run's security reports say and its artifacts' provenance verdicts.
    pub security: RunSecurity,
    /// The analysis runs that judged the deployment (or the run's deployments), as the delivery
    /// room keeps them.
    #[schema(value_type = Vec<Object>)]
    pub analysis: Vec<serde_json::Value>,
    /// The other files of the bundle (not `index.html`, this file, the manifest or its
    /// signature), with what each is.
    pub files: Vec<EvidenceFile>,
}

/// The commits in the change.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct EvidenceCommits {
    /// The commits, newest first: the run's own commit at least.
    pub commits: Vec<EvidenceCommit>,
    /// Whether these are all the commits since the environment's previous successful deployment
    /// (for a deployment whose changes were recorded); `false` when only the run's commit is known.
    pub complete: bool,
    /// Where the list comes from, and what it does not say.
    pub note: String,
}

/// One commit in the change.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct EvidenceCommit {
    /// Its id.
    pub commit: String,
    /// Its subject, when known.
    pub message: Option<String>,
    /// Its author, when known.
    pub author: Option<String>,
    /// Its commit time (milliseconds since the Unix epoch), when known.
    pub time: Option<i64>,
}

/// A file attached to the bundle.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct EvidenceFile {
    /// Its path in the bundle's directory.
    pub path: String,
    /// What it is.
    pub description: String,
    /// Its SHA-256 (hex), as the manifest lists it.
    pub sha256: String,
    /// Its size in bytes.
    pub size: u64,
}
