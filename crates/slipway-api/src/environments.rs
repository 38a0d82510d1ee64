//! Environments, their deployments and checks, what stages wait for (checkpoints), and
//! approvals.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// An environment.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct Environment {
    /// Its id.
    pub id: i64,
    /// Its name (unique, compared without regard to case).
    pub name: String,
    /// What it is for.
    pub description: String,
    /// Who created it; `null` when a deployment job's first use did.
    pub created_by: Option<String>,
    /// When it was created.
    pub created_at: i64,
    /// When it was last changed.
    pub updated_at: i64,
}

/// Environments, by name.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct EnvironmentList {
    /// The environments.
    pub environments: Vec<Environment>,
}

/// An environment to create.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateEnvironment {
    /// Its name.
    pub name: String,
    /// What it is for.
    #[serde(default)]
    pub description: String,
}

/// Changes to an environment: a new name, a new description, or both.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateEnvironment {
    /// Its new name.
    #[serde(default)]
    pub name: Option<String>,
    /// Its new description.
    #[serde(default)]
    pub description: Option<String>,
}

/// A deployment: one deployment job (or leg) of a run to an environment.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct Deployment {
    /// Its id.
    pub id: i64,
    /// The environment's name.
    pub environment: String,
    /// The resource in it, if the job named one.
    pub resource: Option<String>,
    /// The pipeline's id.
    pub pipeline: i64,
    /// The pipeline's name.
    pub pipeline_name: String,
    /// The run's id.
    pub run: i64,
    /// The run's number.
    pub run_number: String,
    /// The job's id.
    pub job: i64,
    /// The stage.
    pub stage: String,
    /// The deployment job (`job` or `job.leg`).
    pub job_name: String,
    /// `runOnce`, `rolling` or `canary`.
    pub strategy: String,
    /// The commit deployed.
    pub commit: Option<String>,
    /// Its branch.
    pub branch: Option<String>,
    /// Who or what started the run (a user, or `push`, `schedule`, ...).
    pub triggered_by: String,
    /// When the job was queued.
    pub queued_at: i64,
    /// When the job started running (`null` while it waits for an agent).
    pub started_at: Option<i64>,
    /// When it ended.
    pub finished_at: Option<i64>,
    /// How it ended (`Succeeded`, `Failed`, ...); `null` while it runs.
    pub result: Option<String>,
    /// The run's artifacts when the job was queued (what a deployment job downloads).
    pub artifacts: Vec<String>,
    /// The commits since the previous successful deployment to the same resource, newest first
    /// (at most 100); `null` when there was none, or the history could not tell.
    pub changes: Option<Vec<Change>>,
    /// How a release ended: `promoted` or `rolledBack` (its delivery tasks said so),
    /// `redeployed` (a manual rollback), `failed` (failed or canceled, not rolled back).
    #[serde(default)]
    pub outcome: Option<String>,
    /// Why: the slots involved, the analysis run and its verdict.
    #[serde(default)]
    pub outcome_detail: Option<String>,
    /// The analysis run that decided the outcome.
    #[serde(default)]
    pub analysis_run: Option<i64>,
}

/// A commit a deployment brought.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct Change {
    /// The commit.
    pub commit: String,
    /// Its subject.
    pub message: String,
    /// Its author.
    pub author: String,
    /// Its commit time (milliseconds since the Unix epoch), when known.
    pub time: Option<i64>,
}

/// An environment's deployments, newest first.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct DeploymentList {
    /// The deployments.
    pub deployments: Vec<Deployment>,
    /// What runs where: the last successful deployment per resource (`null` resource: the
    /// environment as a whole), with the one before it.
    pub current: Vec<CurrentDeployment>,
}

/// What runs on one resource of an environment.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct CurrentDeployment {
    /// The resource; `null` for the environment as a whole.
    pub resource: Option<String>,
    /// The last successful deployment.
    pub deployment: Deployment,
    /// The successful deployment before it, if any (the changes since are between their commits).
    pub previous: Option<Deployment>,
}

/// A check on a protected resource (an environment, a variable group or an agent pool).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct Check {
    /// Its id.
    pub id: i64,
    /// `environment`, `variableGroup` or `pool`.
    pub resource_type: String,
    /// The resource's name.
    pub resource: String,
    /// `approval`, `branchControl`, `businessHours`, `exclusiveLock`, `invokeRestApi`,
    /// `queryMetrics` or `requiredTemplate`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Its settings, as the type defines them.
    #[schema(value_type = Object)]
    pub settings: serde_json::Value,
    /// How long a stage waits for it before failing.
    pub timeout_minutes: u32,
    /// Who added it.
    pub created_by: Option<String>,
    /// When.
    pub created_at: i64,
}

/// The checks on a resource.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct CheckList {
    /// The checks, oldest first.
    pub checks: Vec<Check>,
}

/// A check to add.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewCheck {
    /// `approval`, `branchControl`, `businessHours`, `exclusiveLock`, `invokeRestApi`,
    /// `queryMetrics` or `requiredTemplate`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Its settings: for `approval` `approvers` (user names), `minRequiredApprovers` (0: all),
    /// `requesterCannotBeApprover`, `instructions`; for `branchControl` `allowedBranches`; for
    /// `businessHours` `timeZone` (IANA), `days`, `startTime`, `endTime` (`HH:MM`); for
    /// `invokeRestApi` `method`, `url`, `headers`, `body` (with `$(variables)`),
    /// `successCriteria` (an expression over the JSON answer as `root`), `retryIntervalMinutes`;
    /// for `queryMetrics` `url` (a Prometheus server), `query` (passes when it returns nothing),
    /// `retryIntervalMinutes`; for `requiredTemplate` `requiredTemplates` (`repositoryName`:
    /// `self` or a repository resource's name, `repositoryRef`, `templatePath`).
    #[serde(default)]
    #[schema(value_type = Object)]
    pub settings: serde_json::Value,
    /// How long a stage waits for it (default 43200, Azure's 30 days).
    #[serde(default)]
    pub timeout_minutes: Option<u32>,
}

/// An approver's decision.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct ApprovalDecision {
    /// Who.
    pub user: String,
    /// `approved` or `rejected`.
    pub status: String,
    /// Their comment.
    pub comment: String,
    /// When they decided.
    pub decided_at: i64,
    /// When it takes effect (later than `decidedAt` for a deferred approval).
    pub effective_at: i64,
}

/// One check a stage waits for (or waited for).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct CheckRun {
    /// Its id (an approval's id).
    pub id: i64,
    /// `environment`, `variableGroup` or `pool`.
    pub resource_type: String,
    /// The resource's name.
    pub resource: String,
    /// The check's type.
    #[serde(rename = "type")]
    pub kind: String,
    /// Its settings as they were when the stage reached it.
    #[schema(value_type = Object)]
    pub settings: serde_json::Value,
    /// Its timeout.
    pub timeout_minutes: u32,
    /// `pending`, `passed`, `failed`, `rejected`, `timedOut` or `canceled`.
    pub state: String,
    /// What its last evaluation found.
    pub message: Option<String>,
    /// When the stage reached it.
    pub created_at: i64,
    /// When it was decided.
    pub finished_at: Option<i64>,
    /// Approvers' decisions (an approval).
    pub decisions: Vec<ApprovalDecision>,
}

/// What one stage of a run waits (or waited) for.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct Checkpoint {
    /// Its id.
    pub id: i64,
    /// The stage.
    pub stage: String,
    /// `waiting`, `passed`, `failed` or `canceled`.
    pub state: String,
    /// Why it failed.
    pub message: Option<String>,
    /// When the stage reached it.
    pub created_at: i64,
    /// When it was decided.
    pub finished_at: Option<i64>,
    /// Its checks, in the order they are evaluated.
    pub checks: Vec<CheckRun>,
}

/// A run's checkpoints.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct CheckpointList {
    /// Oldest first.
    pub checkpoints: Vec<Checkpoint>,
}

/// An approval: a check of type `approval` that a stage waits for.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct Approval {
    /// Its id.
    pub id: i64,
    /// `pending`, `passed` (approved), `rejected`, `timedOut` or `canceled`.
    pub state: String,
    /// `environment`, `variableGroup` or `pool`.
    pub resource_type: String,
    /// The resource's name.
    pub resource: String,
    /// The pipeline's id.
    pub pipeline: i64,
    /// Its name.
    pub pipeline_name: String,
    /// The run's id.
    pub run: i64,
    /// The run's number.
    pub run_number: String,
    /// Who asked for the run.
    pub requested_by: Option<String>,
    /// The stage that waits.
    pub stage: String,
    /// Who may approve.
    pub approvers: Vec<String>,
    /// How many approvals it takes.
    pub min_required_approvers: u32,
    /// Whether the run's requester may not approve.
    pub requester_cannot_be_approver: bool,
    /// What approvers should know.
    pub instructions: String,
    /// When the stage reached it.
    pub created_at: i64,
    /// When it times out.
    pub timeout_at: i64,
    /// What its last evaluation found.
    pub message: Option<String>,
    /// The decisions so far.
    pub decisions: Vec<ApprovalDecision>,
}

/// Approvals, newest first.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct ApprovalList {
    /// The approvals.
    pub approvals: Vec<Approval>,
}

/// A decision on an approval.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DecideApproval {
    /// `approved` or `rejected`.
    pub status: String,
    /// A comment, kept with the decision and in the audit log.
    #[serde(default)]
    pub comment: String,
    /// A deferred approval: when it takes effect (milliseconds since the Unix epoch, later than now).
    #[serde(default)]
    pub deferred_until: Option<i64>,
}

/// Which deployments to list.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeploymentsQuery {
    /// Only deployments older than the one with this id (the next page).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<i64>,
    /// At most this many (1 to 1000; 100 when not given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
}

/// Which approvals to list.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ApprovalsQuery {
    /// Only approvals in this state: `pending`, `passed`, `rejected`, `timedOut`, `canceled`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// Only those the caller may decide now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mine: Option<bool>,
}
