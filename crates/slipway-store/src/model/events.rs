//! The event stream: the changes recorded with every state change (the outbox the stream is fed
//! from) and the stream's CloudEvents.

use super::Timestamp;
use crate::error::{Result, StoreError};

/// What kind of state change a [`ChangeRecord`] records; its subject is the id of the thing
/// changed, of the kind the name says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ChangeKind {
    /// A run was created (queued); the subject is the run.
    RunQueued,
    /// A run's first job started; the subject is the run.
    RunStarted,
    /// A run completed; the subject is the run.
    RunFinished,
    /// A job was leased (an attempt of it began); the subject is the job.
    JobStarted,
    /// A job completed; the subject is the job.
    JobFinished,
    /// An artifact was recorded; the subject is the artifact.
    ArtifactPublished,
    /// Test results were published; the subject is the run (details: job, step).
    TestsPublished,
    /// A deployment job was queued; the subject is the deployment.
    DeploymentQueued,
    /// A deployment's job ended; the subject is the deployment.
    DeploymentFinished,
    /// A deployment was given its outcome (promoted, rolled back, ...); the subject is the
    /// deployment.
    DeploymentOutcome,
    /// An environment was created; the subject is the environment.
    EnvironmentCreated,
    /// An approval began to wait for someone; the subject is the check run.
    ApprovalRequested,
    /// Someone decided an approval; the subject is the check run.
    ApprovalDecided,
    /// A work item was opened; the subject is the work item.
    WorkItemCreated,
    /// A work item changed (a repeat, a comment, a new state short of resolved); the subject is
    /// the work item.
    WorkItemUpdated,
    /// A work item was resolved or closed; the subject is the work item.
    WorkItemResolved,
}

impl ChangeKind {
    /// Every kind.
    pub const ALL: [Self; 16] = [
        Self::RunQueued,
        Self::RunStarted,
        Self::RunFinished,
        Self::JobStarted,
        Self::JobFinished,
        Self::ArtifactPublished,
        Self::TestsPublished,
        Self::DeploymentQueued,
        Self::DeploymentFinished,
        Self::DeploymentOutcome,
        Self::EnvironmentCreated,
        Self::ApprovalRequested,
        Self::ApprovalDecided,
        Self::WorkItemCreated,
        Self::WorkItemUpdated,
        Self::WorkItemResolved,
    ];

    /// Its stored name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RunQueued => "run.queued",
            Self::RunStarted => "run.started",
            Self::RunFinished => "run.finished",
            Self::JobStarted => "job.started",
            Self::JobFinished => "job.finished",
            Self::ArtifactPublished => "artifact.published",
            Self::TestsPublished => "tests.published",
            Self::DeploymentQueued => "deployment.queued",
            Self::DeploymentFinished => "deployment.finished",
            Self::DeploymentOutcome => "deployment.outcome",
            Self::EnvironmentCreated => "environment.created",
            Self::ApprovalRequested => "approval.requested",
            Self::ApprovalDecided => "approval.decided",
            Self::WorkItemCreated => "workItem.created",
            Self::WorkItemUpdated => "workItem.updated",
            Self::WorkItemResolved => "workItem.resolved",
        }
    }

    /// The kind a stored name means.
    ///
    /// # Errors
    /// When the name is not one this version knows (a newer server wrote it).
    pub fn parse(name: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.as_str() == name)
            .ok_or_else(|| StoreError::corrupt(format!("unknown change kind '{name}'")))
    }
}

/// A state change, as recorded in the same transaction as the change itself.
#[derive(Clone, Debug, PartialEq)]
pub struct ChangeRecord {
    /// Its position among all changes (increasing; on PostgreSQL, committed in this order).
    pub id: i64,
    /// What changed.
    pub kind: ChangeKind,
    /// The id of what changed (a run, job, deployment, ... as the kind says).
    pub subject: i64,
    /// When.
    pub at: Timestamp,
    /// What the change alone tells (a job's attempt, an approval's decision), as JSON.
    pub details: serde_json::Value,
}

/// Where an event of the stream came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventOrigin {
    /// Slipway made it from a change it recorded.
    Slipway,
    /// It was pushed in as a CDEvent (`POST /api/v1/events`).
    Api,
    /// It was pushed in as a DevLake webhook payload.
    DevLake,
}

impl EventOrigin {
    /// Its stored name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Slipway => "slipway",
            Self::Api => "api",
            Self::DevLake => "devlake",
        }
    }

    /// The origin a stored name means.
    ///
    /// # Errors
    /// When the name is not one this version knows.
    pub fn parse(name: &str) -> Result<Self> {
        match name {
            "slipway" => Ok(Self::Slipway),
            "api" => Ok(Self::Api),
            "devlake" => Ok(Self::DevLake),
            other => Err(StoreError::corrupt(format!("unknown event origin '{other}'"))),
        }
    }
}

/// An event to add to the stream: a CDEvent as a structured CloudEvent.
#[derive(Clone, Debug, PartialEq)]
pub struct NewStreamEvent {
    /// The CloudEvent's `id` (unique with its `source`: the same pair twice is stored once).
    pub event_id: String,
    /// The CloudEvent's `source`.
    pub source: String,
    /// The CloudEvent's `type` (`dev.cdevents.pipelinerun.finished.0.3.0`).
    pub event_type: String,
    /// The CloudEvent's `subject` (the CDEvent's subject id).
    pub subject: String,
    /// The CloudEvent's `time`.
    pub time: Timestamp,
    /// Where it came from.
    pub origin: EventOrigin,
    /// The pipeline it is about, if any (for filters).
    pub pipeline: Option<String>,
    /// The environment it is about, if any (for filters).
    pub environment: Option<String>,
    /// The whole structured CloudEvent.
    pub document: serde_json::Value,
}

/// An event of the stream.
#[derive(Clone, Debug, PartialEq)]
pub struct StreamEvent {
    /// Its position in the stream (increasing).
    pub position: i64,
    /// The CloudEvent's `id`.
    pub event_id: String,
    /// The CloudEvent's `source`.
    pub source: String,
    /// The CloudEvent's `type`.
    pub event_type: String,
    /// The CloudEvent's `subject`.
    pub subject: String,
    /// The CloudEvent's `time`.
    pub time: Timestamp,
    /// When the stream stored it.
    pub received_at: Timestamp,
    /// Where it came from.
    pub origin: EventOrigin,
    /// The pipeline it is about, if any.
    pub pipeline: Option<String>,
    /// The environment it is about, if any.
    pub environment: Option<String>,
    /// The whole structured CloudEvent.
    pub document: serde_json::Value,
}

/// Which events of the stream to read, oldest first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventFilter {
    /// Only events after this position.
    pub after: Option<i64>,
    /// Only events whose type starts with one of these (all when empty).
    pub types: Vec<String>,
    /// Only events about this environment.
    pub environment: Option<String>,
    /// Only events about this pipeline.
    pub pipeline: Option<String>,
    /// At most this many (0 means 100; at most 10,000).
    pub limit: u32,
}
