//! Pipelines: a git repository and the path of a YAML file in it.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// How long a pipeline's completed runs are kept; `null` limits do not apply.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct Retention {
    /// Runs that finished less than this many days ago are kept.
    pub days: Option<u32>,
    /// The newest this many completed runs are kept.
    pub runs: Option<u32>,
}

/// Whether a pipeline takes new runs (Azure's queue status).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum QueueStatus {
    /// Runs are queued by people and triggers.
    #[default]
    Enabled,
    /// No new run is queued, by anyone or anything; runs already queued go on.
    Disabled,
}

/// What a pipeline's triggers last found when they read its repository.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct TriggerHealth {
    /// When the repository was last polled; `null` before the first poll.
    pub checked_at: Option<i64>,
    /// What went wrong then; `null` when all went well.
    pub error: Option<String>,
}

/// A pipeline.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct Pipeline {
    /// Its id.
    pub id: i64,
    /// Its unique name.
    pub name: String,
    /// The repository: a local path on the server, or a URL.
    pub repository: String,
    /// The YAML file's path in the repository.
    pub yaml_path: String,
    /// The branch runs use when none is given; empty for the repository's default branch.
    pub default_branch: String,
    /// How long its runs are kept.
    pub retention: Retention,
    /// Whether it takes new runs.
    pub queue_status: QueueStatus,
    /// What its triggers last found.
    pub triggers: TriggerHealth,
    /// When it was created.
    pub created_at: i64,
    /// When its settings last changed.
    pub updated_at: i64,
}

/// `GET /pipelines`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct PipelineList {
    /// Every pipeline, by name.
    pub pipelines: Vec<Pipeline>,
}

fn default_yaml_path() -> String {
    "azure-pipelines.yml".to_owned()
}

/// The body of `POST /pipelines`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreatePipeline {
    /// The pipeline's name: 1 to 100 letters, digits, `.`, `_` and `-`.
    pub name: String,
    /// A local path (on the server) or a URL `git clone` can fetch (`https`, `ssh`, `git`,
    /// `file`); remote helpers such as `ext::` are refused.
    pub repository: String,
    /// The YAML file's path in the repository.
    #[serde(default = "default_yaml_path")]
    pub yaml_path: String,
    /// The branch runs use when none is given; the repository's default branch when empty.
    #[serde(default)]
    pub default_branch: String,
}

/// New retention settings; they replace the old ones.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RetentionSettings {
    /// Keep runs that finished less than this many days ago; `null` for no limit by age.
    #[serde(default)]
    pub days: Option<u32>,
    /// Keep the newest this many completed runs; `null` for no limit by count.
    #[serde(default)]
    pub runs: Option<u32>,
}

/// The body of `PATCH /pipelines/{name}`: what to change.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdatePipeline {
    /// New retention settings, replacing the old ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention: Option<RetentionSettings>,
    /// `enabled` or `disabled`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_status: Option<QueueStatus>,
}
