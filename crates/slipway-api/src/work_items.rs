//! Work items and incidents: bugs, tasks and incidents, their links and comments.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// A work item: a bug, task or incident.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct WorkItem {
    /// Its id (its number: `#123` and `AB#123` in commit messages refer to it).
    pub id: i64,
    /// `bug`, `task` or `incident`.
    pub kind: String,
    /// Its title.
    pub title: String,
    /// Its description.
    pub description: String,
    /// `new`, `active`, `resolved` or `closed` (the last two are done).
    pub state: String,
    /// `critical`, `high`, `medium` or `low`, if told.
    pub severity: Option<String>,
    /// Who is on it.
    pub assignee: Option<String>,
    /// Who opened it (a user, or `system` for automation).
    pub created_by: String,
    /// When it was opened (milliseconds since the Unix epoch).
    pub created_at: i64,
    /// When it last changed.
    pub updated_at: i64,
    /// When it was resolved or closed; `null` while it is not done.
    pub resolved_at: Option<i64>,
    /// How it was resolved or closed; `null` while it is not done.
    pub resolution: Option<String>,
    /// What an automatically opened item is about (pipeline, stage/job, failure signature).
    pub dedup_key: Option<String>,
    /// How many times it happened (a repeat of an automatically opened item adds one).
    pub occurrences: u32,
    /// The id of the pipeline it is about.
    pub pipeline: Option<i64>,
    /// The environment it is about.
    pub environment: Option<String>,
    /// The id of the deployment it is attributed to (an incident's cause).
    pub deployment: Option<i64>,
}

/// A work item's link.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct WorkItemLink {
    /// `run`, `commit`, `deployment`, `environment` or `pipeline`.
    pub kind: String,
    /// The run's, deployment's or pipeline's id, the commit's id, or the environment's name.
    pub target: String,
    /// When it was added.
    pub created_at: i64,
}

/// A comment on a work item.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct WorkItemComment {
    /// Its id.
    pub id: i64,
    /// When it was written.
    pub at: i64,
    /// Who wrote it (`system` for automation).
    pub author: String,
    /// What it says.
    pub text: String,
}

/// A work item with its links and comments.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct WorkItemDetails {
    /// The item.
    pub work_item: WorkItem,
    /// Its links, oldest first.
    pub links: Vec<WorkItemLink>,
    /// Its comments, oldest first.
    pub comments: Vec<WorkItemComment>,
}

/// A page of work items, newest first.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct WorkItemPage {
    /// The items.
    pub work_items: Vec<WorkItem>,
    /// Ask with `before` set to this for the next page; `null` on the last.
    pub next_before: Option<i64>,
}

/// The query of `GET /work-items`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct WorkItemsQuery {
    /// Only of this kind: `bug`, `task` or `incident`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Only in this state: `new`, `active`, `resolved`, `closed`, or `open` (new or active) or
    /// `done` (resolved or closed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// Only assigned to this user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee: Option<String>,
    /// Only about this environment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// Only about the pipeline with this id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pipeline: Option<i64>,
    /// Only items with a smaller id (the next page).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<i64>,
    /// How many at most (1 to 500; 100 when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
}

/// A link to add: what it points at.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewWorkItemLink {
    /// `run`, `commit`, `deployment`, `environment` or `pipeline`.
    pub kind: String,
    /// The run's, deployment's or pipeline's id, the commit's id, or the environment's name.
    pub target: String,
}

/// A work item to open.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateWorkItem {
    /// `bug`, `task` or `incident`.
    pub kind: String,
    /// Its title.
    pub title: String,
    /// Its description.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// `critical`, `high`, `medium` or `low`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<String>,
    /// Who is on it (a user's name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee: Option<String>,
    /// The environment it is about (an existing environment's name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// The id of the pipeline it is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pipeline: Option<i64>,
    /// The id of the deployment it is attributed to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment: Option<i64>,
    /// Links to add with it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<NewWorkItemLink>,
}

/// Changes to a work item; each field left out stays as it is.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateWorkItem {
    /// The new state: `new`, `active`, `resolved` or `closed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// The new assignee (a user's name); empty to unassign.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee: Option<String>,
    /// The new title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The new description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The new severity: `critical`, `high`, `medium` or `low`; empty to clear it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<String>,
    /// How it was resolved or closed (with a state of `resolved` or `closed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<String>,
}

/// A comment to add.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AddWorkItemComment {
    /// What it says.
    pub text: String,
}

/// Links to add (those the item has already are left as they are).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AddWorkItemLinks {
    /// The links.
    pub links: Vec<NewWorkItemLink>,
}

/// A pipeline's rules for the work items its runs open.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkItemRules {
    /// The pipeline's name.
    pub pipeline: String,
    /// Whether a failed run of a protected branch opens (or bumps) a bug.
    pub failures: bool,
    /// The protected branches (names or wildcards such as `release/*`); empty means the
    /// pipeline's default branch.
    pub branches: Vec<String>,
    /// The lowest severity of a security finding that opens a bug: `off`, `low`, `medium`,
    /// `high` or `critical`.
    pub security: String,
    /// Whether a failed or rolled-back deployment of the pipeline's runs opens an incident.
    pub incidents: bool,
    /// Whom new items are assigned to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee: Option<String>,
    /// Who last set them (none while they are the defaults).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_by: Option<String>,
    /// When they were last set (milliseconds since the Unix epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<i64>,
}

/// Changes to a pipeline's work-item rules; each field left out stays as it is.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateWorkItemRules {
    /// Whether a failed run of a protected branch opens a bug.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failures: Option<bool>,
    /// The protected branches, replacing the old ones (empty for the default branch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branches: Option<Vec<String>>,
    /// The security threshold: `off`, `low`, `medium`, `high` or `critical`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security: Option<String>,
    /// Whether failed deployments open incidents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incidents: Option<bool>,
    /// Whom new items are assigned to (a user's name); empty for nobody.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee: Option<String>,
}
