//! The API's JSON, as the client reads and writes it. Reading is lenient: fields a server adds
//! are ignored, and fields an older one lacks take their defaults, so that a client and a server
//! of neighbouring versions get along.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use slipway_events::TaskResult;

use crate::ClientError;

/// A pipeline: a git repository and the path of its YAML file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
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
    /// `enabled`, or `disabled` (it takes no new runs).
    pub queue_status: String,
    /// What its triggers last found when they read its repository.
    pub triggers: TriggerHealth,
    /// When it was created (milliseconds since the Unix epoch).
    pub created_at: i64,
}

/// What a pipeline's triggers last found when they read its repository.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TriggerHealth {
    /// When (milliseconds since the Unix epoch); `None` before the first poll.
    pub checked_at: Option<i64>,
    /// What went wrong then; `None` when all went well.
    pub error: Option<String>,
}

/// The body of `POST /pipelines`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NewPipeline {
    /// Its unique name: letters, digits, `.`, `_` and `-`.
    pub name: String,
    /// A path on the server's machine, or a URL `git clone` can fetch.
    pub repository: String,
    /// The YAML file's path in the repository.
    pub yaml_path: String,
    /// The default branch; the repository's own when empty.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub default_branch: String,
}

/// The body of `POST /pipelines/{name}/runs`.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NewRun {
    /// The branch; the pipeline's default branch when `None`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// Runtime parameters by name; text values are typed as the pipeline declares them.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub parameters: BTreeMap<String, serde_json::Value>,
    /// Queue-time variables by name: values for this run of the pipeline's settings variables (the
    /// YAML's own variables take precedence, as in Azure).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub variables: BTreeMap<String, String>,
}

/// A run of a pipeline.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Run {
    /// `Build.BuildId`.
    pub id: i64,
    /// The pipeline's id.
    pub pipeline: i64,
    /// `Build.BuildNumber`.
    pub run_number: String,
    /// What started it: `manual`, `push`, `pr`, `schedule`, `pipeline-completion`.
    pub trigger: String,
    /// The branch's full ref.
    pub branch: Option<String>,
    /// The commit.
    pub commit: Option<String>,
    /// `queued`, `running` or `completed`.
    pub status: String,
    /// Its result, once completed.
    pub result: Option<TaskResult>,
    /// Who asked for it.
    pub requested_by: Option<String>,
    /// When it was queued (milliseconds since the Unix epoch).
    pub created_at: i64,
    /// When its first job started.
    pub started_at: Option<i64>,
    /// When it completed.
    pub finished_at: Option<i64>,
    /// Whether someone asked to cancel it.
    pub cancel_requested: bool,
    /// The run this one re-runs.
    pub retry_of: Option<i64>,
}

impl Run {
    /// How long it ran (milliseconds): from its first job's start to its end, or to `now` while
    /// it runs; `None` before it started.
    #[must_use]
    pub fn duration_ms(&self, now_ms: i64) -> Option<i64> {
        let started = self.started_at?;
        Some((self.finished_at.unwrap_or(now_ms) - started).max(0))
    }
}

/// A job of a run (one leg of a matrix is a job of its own).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Job {
    /// Its id.
    pub id: i64,
    /// `STAGE.JOB` or `STAGE.JOB.LEG`.
    pub key: String,
    /// Its display name.
    pub display_name: String,
    /// `pending`, `queued`, `running` or `completed`.
    pub status: String,
    /// Its result, once completed.
    pub result: Option<TaskResult>,
    /// Why it ended as it did, or why it waits.
    pub message: Option<String>,
    /// When it started.
    pub started_at: Option<i64>,
    /// When it completed.
    pub finished_at: Option<i64>,
}

/// A run with its jobs (`GET /runs/{id}`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunDetail {
    /// The run.
    #[serde(flatten)]
    pub run: Run,
    /// Its jobs, in the order they were queued.
    #[serde(default)]
    pub jobs: Vec<Job>,
}

/// A page of runs (`GET /runs`), newest first.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RunPage {
    /// The runs.
    pub runs: Vec<Run>,
    /// The `before` of the next page, when there may be one.
    pub next_before: Option<i64>,
}

/// Which runs [`crate::Client::runs`] lists.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunQuery {
    /// Only this pipeline's runs.
    pub pipeline: Option<String>,
    /// Only runs in this status.
    pub status: Option<String>,
    /// Only runs with a smaller id (the next page).
    pub before: Option<i64>,
    /// At most this many (the server's default is 50, its maximum 200).
    pub limit: Option<u32>,
}

/// One job's whole log.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobLog {
    /// The job.
    #[serde(flatten)]
    pub job: Job,
    /// Its log, a line per line.
    #[serde(default)]
    pub log: String,
}

/// A run's logs as they are now (`GET /runs/{id}/logs`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RunLogs {
    /// The run's id.
    pub run: i64,
    /// Its status.
    pub status: String,
    /// Its result, once completed.
    pub result: Option<TaskResult>,
    /// Each job's log.
    pub jobs: Vec<JobLog>,
}

/// A variable of a pipeline or a group; secret ones have no value.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Variable {
    /// Its name.
    pub name: String,
    /// Its value (`None` for secrets, which the API never returns).
    pub value: Option<String>,
    /// Whether it is secret.
    pub secret: bool,
}

/// A variable group (Azure's Library).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct VariableGroup {
    /// Its name.
    pub name: String,
    /// What it is for.
    pub description: String,
    /// Its variables (listed only when one group is read).
    pub variables: Vec<Variable>,
}

/// A user.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct User {
    /// Its id.
    pub id: i64,
    /// Its unique name.
    pub name: String,
    /// `admin`, `contributor` or `reader`.
    pub role: String,
}

/// A new user with their first token (`POST /users`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CreatedUser {
    /// The user.
    pub user: User,
    /// Their personal access token, shown this once.
    pub token: String,
}

/// A new personal access token (`POST /users/{name}/tokens`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CreatedToken {
    /// The user it belongs to.
    pub user: String,
    /// The token's name.
    pub name: String,
    /// The token, shown this once.
    pub token: String,
}

/// Reads a list the API answers either bare (`[...]`) or in an object (`{"KEY": [...]}`, or the
/// object's only list).
pub(crate) fn listing<T: DeserializeOwned>(answer: serde_json::Value, key: &str) -> Result<Vec<T>, ClientError> {
    let list = match answer {
        serde_json::Value::Array(_) => answer,
        serde_json::Value::Object(mut object) => match object.remove(key) {
            Some(list) => list,
            None => {
                let mut lists = object.into_iter().filter(|(_, value)| value.is_array());
                match (lists.next(), lists.next()) {
                    (Some((_, list)), None) => list,
                    _ => return Err(ClientError::Protocol(format!("the answer has no list of {key}"))),
                }
            }
        },
        _ => return Err(ClientError::Protocol(format!("the answer is not a list of {key}"))),
    };
    serde_json::from_value(list)
        .map_err(|error| ClientError::Protocol(format!("the list of {key} is not what was expected: {error}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_bare_or_wrapped() {
        let bare: Vec<Variable> =
            listing(serde_json::json!([{ "name": "a", "value": "1", "secret": false }]), "variables")
                .unwrap_or_default();
        assert_eq!(bare[0].value.as_deref(), Some("1"));
        let wrapped: Vec<VariableGroup> =
            listing(serde_json::json!({ "variableGroups": [{ "name": "g" }], "count": 1 }), "groups")
                .unwrap_or_default();
        assert_eq!(wrapped[0].name, "g");
        assert!(listing::<User>(serde_json::json!("x"), "users").is_err());
    }

    #[test]
    fn runs_read_leniently() {
        let detail: RunDetail = serde_json::from_value(serde_json::json!({
            "id": 3, "pipeline": 1, "runNumber": "3", "status": "completed", "result": "Failed",
            "startedAt": 1000, "finishedAt": 3500, "somethingNew": true,
            "jobs": [{ "id": 9, "key": "Build.Compile", "status": "completed", "result": "Succeeded" }]
        }))
        .unwrap_or_default();
        assert_eq!(detail.run.result, Some(TaskResult::Failed));
        assert_eq!(detail.run.duration_ms(0), Some(2500));
        assert_eq!(detail.jobs[0].key, "Build.Compile");
    }

    #[test]
    fn new_runs_leave_out_what_is_empty() {
        let run = NewRun { branch: Some("main".into()), ..NewRun::default() };
        assert_eq!(serde_json::to_value(&run).unwrap_or_default(), serde_json::json!({ "branch": "main" }));
    }
}
