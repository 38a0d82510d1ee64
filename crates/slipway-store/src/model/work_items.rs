//! Work items and incidents: bugs, tasks and incidents, their links and comments.
//!
//! A work item is opened by a person or by automation (a failure on a protected branch, a failed
//! deployment, a rollback, a security finding). One opened by automation carries a `dedup_key`
//! naming what failed, unique among the items that are not done, so that a repeat bumps the
//! open item's `occurrences` instead of opening another.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{DeploymentId, PipelineId, RunId, Timestamp};

/// A work item's id (its number, as `#123` and `AB#123` refer to it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct WorkItemId(pub i64);

impl WorkItemId {
    /// The number the database gave it.
    #[must_use]
    pub fn get(self) -> i64 {
        self.0
    }
}

impl fmt::Display for WorkItemId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}", self.0)
    }
}

named_enum!(
    /// What a work item is.
    WorkItemKind {
        /// Something broken: a failed run on a protected branch, a security finding.
        Bug = "bug",
        /// Something to do.
        Task = "task",
        /// A production problem: a rollback, a failed deployment needing intervention.
        Incident = "incident",
    }
);

named_enum!(
    /// Where a work item is in its life. `resolved` and `closed` are done.
    WorkItemState {
        /// Opened, nobody on it yet.
        New = "new",
        /// Someone is on it.
        Active = "active",
        /// Fixed (by hand, by a fixing run or deployment, or by a commit that says so).
        Resolved = "resolved",
        /// Done with, fixed or not.
        Closed = "closed",
    }
);

impl WorkItemState {
    /// Whether the item is done (resolved or closed).
    #[must_use]
    pub fn is_done(self) -> bool {
        matches!(self, Self::Resolved | Self::Closed)
    }
}

named_enum!(
    /// How bad a work item is.
    WorkItemSeverity {
        /// Production is down or data is at risk.
        Critical = "critical",
        /// Serious, soon.
        High = "high",
        /// Ordinary.
        Medium = "medium",
        /// When there is time.
        Low = "low",
    }
);

named_enum!(
    /// What a work item's link points at.
    WorkItemLinkKind {
        /// A run (its id).
        Run = "run",
        /// A commit (its id, as hexadecimal).
        Commit = "commit",
        /// A deployment (its id).
        Deployment = "deployment",
        /// An environment (its name).
        Environment = "environment",
        /// A pipeline (its id).
        Pipeline = "pipeline",
    }
);

/// What a link points at: its kind and the target's id or name.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NewWorkItemLink {
    /// What kind of thing.
    pub kind: WorkItemLinkKind,
    /// Its id (runs, deployments, pipelines), commit id or name (environments).
    pub target: String,
}

impl NewWorkItemLink {
    /// A link to a run.
    #[must_use]
    pub fn run(run: RunId) -> Self {
        Self { kind: WorkItemLinkKind::Run, target: run.0.to_string() }
    }

    /// A link to a commit (its id is kept in lower case).
    #[must_use]
    pub fn commit(commit: &str) -> Self {
        Self { kind: WorkItemLinkKind::Commit, target: commit.trim().to_ascii_lowercase() }
    }

    /// A link to a deployment.
    #[must_use]
    pub fn deployment(deployment: DeploymentId) -> Self {
        Self { kind: WorkItemLinkKind::Deployment, target: deployment.0.to_string() }
    }

    /// A link to an environment, by name.
    #[must_use]
    pub fn environment(name: &str) -> Self {
        Self { kind: WorkItemLinkKind::Environment, target: name.trim().to_owned() }
    }

    /// A link to a pipeline.
    #[must_use]
    pub fn pipeline(pipeline: PipelineId) -> Self {
        Self { kind: WorkItemLinkKind::Pipeline, target: pipeline.0.to_string() }
    }
}

/// A work item's link to a run, commit, deployment, environment or pipeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkItemLink {
    /// What kind of thing it points at.
    pub kind: WorkItemLinkKind,
    /// The target's id or name.
    pub target: String,
    /// When it was added.
    pub created_at: Timestamp,
}

/// A comment on a work item (also what automation says when an item repeats or is resolved).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkItemComment {
    /// Its id (increasing).
    pub id: i64,
    /// The work item.
    pub work_item: WorkItemId,
    /// When.
    pub at: Timestamp,
    /// Who wrote it (a user name, or `system` for automation).
    pub author: String,
    /// What it says.
    pub text: String,
}

/// A work item to open.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewWorkItem {
    /// What it is.
    pub kind: WorkItemKind,
    /// Its title (not blank).
    pub title: String,
    /// Its description (may be empty).
    pub description: String,
    /// How bad, if told.
    pub severity: Option<WorkItemSeverity>,
    /// Who is on it.
    pub assignee: Option<String>,
    /// Who opened it (a user name, or `system`).
    pub created_by: String,
    /// What an automatically opened item is about (pipeline, stage/job, failure signature):
    /// unique among the items that are not done.
    pub dedup_key: Option<String>,
    /// The pipeline it is about.
    pub pipeline: Option<PipelineId>,
    /// The environment it is about (its name).
    pub environment: Option<String>,
    /// The deployment it is attributed to (an incident's cause).
    pub deployment: Option<DeploymentId>,
}

impl NewWorkItem {
    /// A new item of that kind and title, opened by `created_by`, with nothing else told.
    #[must_use]
    pub fn new(kind: WorkItemKind, title: impl Into<String>, created_by: impl Into<String>) -> Self {
        Self {
            kind,
            title: title.into(),
            description: String::new(),
            severity: None,
            assignee: None,
            created_by: created_by.into(),
            dedup_key: None,
            pipeline: None,
            environment: None,
            deployment: None,
        }
    }
}

/// A work item: a bug, task or incident.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkItem {
    /// Its id (its number).
    pub id: WorkItemId,
    /// What it is.
    pub kind: WorkItemKind,
    /// Its title.
    pub title: String,
    /// Its description.
    pub description: String,
    /// Where it is in its life.
    pub state: WorkItemState,
    /// How bad, if told.
    pub severity: Option<WorkItemSeverity>,
    /// Who is on it.
    pub assignee: Option<String>,
    /// Who opened it (a user name, or `system`).
    pub created_by: String,
    /// When it was opened.
    pub created_at: Timestamp,
    /// When it last changed (a repeat, a comment, a link, a field).
    pub updated_at: Timestamp,
    /// When it was resolved or closed (`None` while it is not done).
    pub resolved_at: Option<Timestamp>,
    /// How it was resolved or closed (`None` while it is not done).
    pub resolution: Option<String>,
    /// What an automatically opened item is about.
    pub dedup_key: Option<String>,
    /// How many times what it is about happened (1 when opened; a repeat adds one).
    pub occurrences: u32,
    /// The pipeline it is about.
    pub pipeline: Option<PipelineId>,
    /// The environment it is about.
    pub environment: Option<String>,
    /// The deployment it is attributed to.
    pub deployment: Option<DeploymentId>,
}

/// Which states a list of work items selects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WorkItemStates {
    /// Those in this state.
    Is(WorkItemState),
    /// Those not done (new or active).
    Open,
    /// Those done (resolved or closed).
    Done,
}

/// Which work items to list, newest first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkItemFilter {
    /// Only of this kind.
    pub kind: Option<WorkItemKind>,
    /// Only in these states.
    pub states: Option<WorkItemStates>,
    /// Only assigned to this user.
    pub assignee: Option<String>,
    /// Only about this environment (by name, without regard to case).
    pub environment: Option<String>,
    /// Only about this pipeline.
    pub pipeline: Option<PipelineId>,
    /// Only older than this item (paging: the last id of the page before).
    pub before: Option<WorkItemId>,
    /// At most this many (1 to 500).
    pub limit: i64,
}

impl Default for WorkItemFilter {
    fn default() -> Self {
        Self { kind: None, states: None, assignee: None, environment: None, pipeline: None, before: None, limit: 100 }
    }
}

/// A change to a work item's fields by a person (each `None` leaves the field as it is).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WorkItemUpdate {
    /// The new state. Entering resolved or closed sets `resolved_at` and `resolution`; leaving
    /// them (reopening) clears both.
    pub state: Option<WorkItemState>,
    /// The new assignee (`Some(None)` unassigns).
    pub assignee: Option<Option<String>>,
    /// The new title.
    pub title: Option<String>,
    /// The new description.
    pub description: Option<String>,
    /// The new severity (`Some(None)` clears it).
    pub severity: Option<Option<WorkItemSeverity>>,
    /// How it was resolved or closed, kept when the new state is done (or the item stays done).
    pub resolution: Option<String>,
}

impl WorkItemUpdate {
    /// Whether it changes nothing.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }
}

named_enum!(
    /// The lowest severity of a security finding that opens a bug (or `off`: none do).
    SecurityThreshold {
        /// Security findings open no work items.
        Off = "off",
        /// Every finding but informational ones (SARIF `note`, CVSS low and up).
        Low = "low",
        /// SARIF `warning` and `error`, CVSS medium and up.
        Medium = "medium",
        /// SARIF `error`, CVSS high and critical.
        High = "high",
        /// CVSS critical only (a SARIF `error` does not say how critical, so it does not count).
        Critical = "critical",
    }
);

impl SecurityThreshold {
    /// Whether a finding of `level` (SARIF's `error`, `warning`, `note`, `none`, or a severity
    /// such as CycloneDX's `critical`, `high`, `medium`, `low`, `info`) reaches this threshold.
    #[must_use]
    pub fn reached_by(self, level: &str) -> bool {
        let rank = match level.trim().to_ascii_lowercase().as_str() {
            "critical" => 4,
            "high" | "error" => 3,
            "medium" | "moderate" | "warning" => 2,
            "low" | "note" => 1,
            _ => 0,
        };
        let needed = match self {
            Self::Off => return false,
            Self::Low => 1,
            Self::Medium => 2,
            Self::High => 3,
            Self::Critical => 4,
        };
        rank >= needed
    }
}

/// A pipeline's rules for the work items its runs open (the defaults when it has none).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct WorkItemRules {
    /// Whether a failed run of a protected branch opens (or bumps) a bug.
    pub failures: bool,
    /// The protected branches (names or wildcards such as `release/*`, with or without
    /// `refs/heads/`); empty means the pipeline's default branch.
    pub branches: Vec<String>,
    /// The lowest severity of a security finding, in a protected branch's run, that opens a bug.
    pub security: SecurityThreshold,
    /// Whether a failed or rolled-back deployment of the pipeline's runs opens an incident.
    pub incidents: bool,
    /// Whom new items are assigned to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assignee: Option<String>,
}

impl Default for WorkItemRules {
    fn default() -> Self {
        Self {
            failures: true,
            branches: Vec::new(),
            security: SecurityThreshold::High,
            incidents: true,
            assignee: None,
        }
    }
}

/// A pipeline's work-item rules as stored: the rules, and who set them when (none for the
/// defaults).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredWorkItemRules {
    /// The rules.
    pub rules: WorkItemRules,
    /// Who set them, and when; `None` while the pipeline has the defaults.
    pub updated: Option<(String, Timestamp)>,
}
