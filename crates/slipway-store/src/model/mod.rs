//! The things the store keeps, and what callers pass in to create or change them.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use slipway_events::{Coverage, TaskResult, TestRun};
pub use slipway_plan::Demand;

use crate::error::{Result, StoreError};

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl $name {
            /// The number the database gave it.
            #[must_use]
            pub fn get(self) -> i64 {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(formatter, "{}", self.0)
            }
        }
    };
}

id_type!(
    /// A pipeline's id.
    PipelineId
);
id_type!(
    /// A run's id: `Build.BuildId`, unique across the server and increasing, never reused.
    RunId
);
id_type!(
    /// A job's id (one leg of a matrix or parallel job is a job of its own).
    JobId
);
id_type!(
    /// An artifact's id.
    ArtifactId
);
id_type!(
    /// A variable group's id.
    VariableGroupId
);
id_type!(
    /// A user's id.
    UserId
);
id_type!(
    /// A personal access token's id.
    AccessTokenId
);
id_type!(
    /// A registration token's id.
    RegistrationTokenId
);
id_type!(
    /// An agent's id.
    AgentId
);
id_type!(
    /// An audit log entry's id.
    AuditEntryId
);

/// A point in time, in milliseconds since the Unix epoch (as event times are).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// The time `milliseconds` after the Unix epoch.
    #[must_use]
    pub fn from_millis(milliseconds: i64) -> Self {
        Self(milliseconds)
    }

    /// Milliseconds since the Unix epoch.
    #[must_use]
    pub fn millis(self) -> i64 {
        self.0
    }

    /// This time plus a duration (saturating).
    #[must_use]
    pub fn plus(self, duration: Duration) -> Self {
        Self(self.0.saturating_add(i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)))
    }

    /// This time minus a duration (saturating).
    #[must_use]
    pub fn minus(self, duration: Duration) -> Self {
        Self(self.0.saturating_sub(i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)))
    }
}

/// Declares a string-valued enum with its stored names.
macro_rules! text_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$variant_doc:meta])* $variant:ident = $text:literal,)+ }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$variant_doc])* #[serde(rename = $text)] $variant,)+
        }

        impl $name {
            /// The name stored in the database and used in the API.
            #[must_use]
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text,)+
                }
            }

            /// Parses a stored name.
            ///
            /// # Errors
            /// When the text is not one of the names.
            pub fn parse(text: &str) -> Result<Self> {
                match text {
                    $($text => Ok(Self::$variant),)+
                    _ => Err(StoreError::corrupt(format!("'{text}' is not a {}", stringify!($name)))),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str(self.as_str())
            }
        }
    };
}

text_enum!(
    /// What started a run.
    TriggerKind {
        /// A person, through the UI, API or CLI.
        Manual = "manual",
        /// A push to a branch or tag (`trigger:`).
        Push = "push",
        /// A pull request (`pr:`).
        PullRequest = "pr",
        /// A schedule (`schedules:`).
        Schedule = "schedule",
        /// Another pipeline's run completed (`resources.pipelines`).
        PipelineCompletion = "pipeline-completion",
    }
);

text_enum!(
    /// Whether a pipeline takes new runs (Azure's queue status).
    QueueStatus {
        /// Runs are queued by people and triggers.
        Enabled = "enabled",
        /// No new run is queued, by anyone or anything; runs already queued go on.
        Disabled = "disabled",
    }
);

text_enum!(
    /// Where a run is in its life.
    RunStatus {
        /// Created, no job has started.
        Queued = "queued",
        /// At least one job started.
        Running = "running",
        /// Finished, with a result.
        Completed = "completed",
    }
);

text_enum!(
    /// Where a job is in its life: `pending` → `queued` → `running` (leased) → `completed`.
    JobStatus {
        /// Waiting for the jobs it depends on.
        Pending = "pending",
        /// Ready, in the queue, waiting for a worker to lease it.
        Queued = "queued",
        /// Leased by a worker that runs it.
        Running = "running",
        /// Finished, with a result (also when skipped or cancelled before it ran).
        Completed = "completed",
    }
);

text_enum!(
    /// Where a step is in its life.
    StepStatus {
        /// Not started yet.
        Pending = "pending",
        /// Running.
        Running = "running",
        /// Finished, with a result.
        Completed = "completed",
    }
);

text_enum!(
    /// What a user may do.
    UserRole {
        /// Everything, including users, tokens, agents and secrets.
        Admin = "admin",
        /// Create and run pipelines, manage variables.
        Contributor = "contributor",
        /// Look only.
        Reader = "reader",
    }
);

text_enum!(
    /// What an agent is doing.
    AgentState {
        /// Connected, waiting for work.
        Idle = "idle",
        /// Running a job.
        Busy = "busy",
        /// Finishing its current job and taking no more.
        Draining = "draining",
        /// Not heard from.
        Offline = "offline",
    }
);

pub(crate) fn result_text(result: Option<TaskResult>) -> Option<&'static str> {
    result.map(TaskResult::as_str)
}

pub(crate) fn parse_result(text: Option<String>) -> Result<Option<TaskResult>> {
    text.map(|text| TaskResult::parse(&text).ok_or_else(|| StoreError::corrupt(format!("'{text}' is not a result"))))
        .transpose()
}

/// How long a pipeline's runs are kept. A completed run is deleted only when it is beyond every
/// limit that is set: older than `days` and not among the newest `runs`. With neither set, runs
/// are kept for ever. Some runs are kept regardless (see [`crate::Store::apply_retention`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RetentionPolicy {
    /// Keep runs that finished less than this many days ago.
    pub days: Option<u32>,
    /// Keep the newest this many completed runs.
    pub runs: Option<u32>,
}

/// A pipeline's settings: what to create, or what to change it to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PipelineSettings {
    /// Unique name.
    pub name: String,
    /// The git repository: a local path or any URL `git` can fetch.
    pub repository: String,
    /// The path of the pipeline's YAML file in the repository.
    pub yaml_path: String,
    /// The branch that manual and scheduled runs use when none is given.
    pub default_branch: String,
    /// How long runs are kept.
    pub retention: RetentionPolicy,
    /// Whether it takes new runs.
    pub queue_status: QueueStatus,
}

/// A pipeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pipeline {
    /// Its id.
    pub id: PipelineId,
    /// Unique name.
    pub name: String,
    /// The git repository.
    pub repository: String,
    /// The YAML file's path in the repository.
    pub yaml_path: String,
    /// The default branch.
    pub default_branch: String,
    /// How long runs are kept.
    pub retention: RetentionPolicy,
    /// Whether it takes new runs.
    pub queue_status: QueueStatus,
    /// What its triggers last found when they read its repository.
    pub triggers: TriggerHealth,
    /// When it was created.
    pub created_at: Timestamp,
    /// When its settings last changed.
    pub updated_at: Timestamp,
}

impl Pipeline {
    /// Its settings, to change some of them.
    #[must_use]
    pub fn settings(&self) -> PipelineSettings {
        PipelineSettings {
            name: self.name.clone(),
            repository: self.repository.clone(),
            yaml_path: self.yaml_path.clone(),
            default_branch: self.default_branch.clone(),
            retention: self.retention,
            queue_status: self.queue_status,
        }
    }
}

/// What a pipeline's triggers last found when they read its repository and pipeline file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TriggerHealth {
    /// When the repository was last polled (or read for a webhook, schedule or completion).
    pub checked_at: Option<Timestamp>,
    /// What went wrong then (the repository could not be read, the pipeline file is not valid);
    /// `None` when all went well.
    pub error: Option<String>,
}

/// The last commit seen on a branch, for polling triggers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BranchHead {
    /// The branch (or tag) reference.
    pub branch: String,
    /// The commit last seen there.
    pub commit: String,
    /// When it was recorded.
    pub updated_at: Timestamp,
}

/// The last time a schedule fired.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScheduleFire {
    /// The server's key for the schedule (such as its cron text and branches).
    pub schedule: String,
    /// The scheduled time it last fired for.
    pub last_fired_at: Timestamp,
}

/// A condition checked in the same transaction that creates a triggered run, so that a trigger
/// seen twice (by a webhook and by polling, or by two servers) makes one run, and a crash between
/// noticing the trigger and creating the run loses nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TriggerGuard {
    /// Move the branch head from `previous` (`None`: not seen before) to `commit`; no run is
    /// created when the head is no longer at `previous`.
    BranchHead {
        /// The branch.
        branch: String,
        /// The commit the caller saw last.
        previous: Option<String>,
        /// The new commit.
        commit: String,
    },
    /// Record that the schedule fired for `fire_time`; no run is created when it already fired for
    /// that time or a later one.
    ScheduleFire {
        /// The schedule's key.
        schedule: String,
        /// The scheduled time.
        fire_time: Timestamp,
    },
}

/// What started a run, beyond its [`TriggerKind`], and the facts of its commit, kept with the run
/// (as JSON, so that fields can be added) for people and for the run's predefined variables.
/// Which fields are set depends on the trigger: a push's `ref`, `before` and `source`; a pull
/// request's [`PullRequestDetails`]; a schedule's [`ScheduleDetails`]; a completed upstream run's
/// `alias` and `source*`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TriggerDetails {
    /// Azure's `Build.Reason`: `Manual`, `IndividualCI`, `BatchedCI`, `PullRequest`, `Schedule`
    /// or `ResourceTrigger`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The commit's subject, read from the checkout.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The commit's author.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// The commit author's e-mail.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The commit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// A push: the ref that moved.
    #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
    pub git_ref: Option<String>,
    /// A push: the commit the ref was at before (`None` for a new ref).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<String>,
    /// A push: how it was seen (`poll`, `webhook:github`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// A pull request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pull_request: Option<PullRequestDetails>,
    /// A schedule.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule: Option<ScheduleDetails>,
    /// A completed run of another pipeline: its alias in `resources.pipelines`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    /// The upstream pipeline's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_pipeline: Option<String>,
    /// The upstream run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_run: Option<RunId>,
    /// The upstream run's number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_run_number: Option<String>,
    /// The upstream run's branch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_branch: Option<String>,
    /// The upstream run's commit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_commit: Option<String>,
    /// The run this one runs again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rerun_of: Option<RunId>,
    /// Why the pipeline could not be loaded (a run recorded as failed for it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The trigger's predefined variables (`Build.Reason`, `System.PullRequest.*`,
    /// `resources.pipeline.ALIAS.*`): given to template expressions when the run is loaded, and
    /// to its jobs.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub variables: BTreeMap<String, String>,
}

impl TriggerDetails {
    /// Details with only a `Build.Reason`.
    #[must_use]
    pub fn reason(reason: &str) -> Self {
        Self {
            reason: Some(reason.to_owned()),
            variables: BTreeMap::from([("Build.Reason".to_owned(), reason.to_owned())]),
            ..Self::default()
        }
    }
}

/// The pull request a run was started for.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PullRequestDetails {
    /// Its number.
    pub number: u64,
    /// The forge: `github`, `gitlab`, `gitea`, `azure-repos`.
    pub provider: String,
    /// What happened to it (`opened`, `synchronize`, ...).
    pub action: String,
    /// Its title, when the forge sent it.
    pub title: Option<String>,
    /// The branch it merges from.
    pub source_branch: String,
    /// The branch it merges into.
    pub target_branch: String,
    /// The commit at its head.
    pub source_commit: String,
    /// Whether it comes from a fork.
    pub is_fork: bool,
    /// Whether it is a draft.
    pub draft: bool,
}

/// The schedule that started a run.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ScheduleDetails {
    /// Its cron text.
    pub cron: String,
    /// Its display name.
    pub display_name: String,
    /// The time it fired for (UTC, `yyyy-MM-ddTHH:mm:ssZ`).
    pub fire_time: String,
}

/// What to create a run with.
#[derive(Clone, Debug, PartialEq)]
pub struct NewRun {
    /// The pipeline.
    pub pipeline: PipelineId,
    /// The run number (`Build.BuildNumber`); it can be changed later with
    /// [`crate::Store::set_run_number`], for formats that use the run's own id.
    pub run_number: String,
    /// What started it.
    pub trigger: TriggerKind,
    /// What started it, beyond its kind, and its commit's facts.
    pub trigger_details: TriggerDetails,
    /// The branch.
    pub branch: Option<String>,
    /// The commit to check out.
    pub commit: Option<String>,
    /// Parameter values as JSON (an object).
    pub parameters: serde_json::Value,
    /// Non-secret variables given for the run, as JSON (an object).
    pub variables: serde_json::Value,
    /// The plan, when it is already known.
    pub plan: Option<slipway_plan::Plan>,
    /// Who asked for it (a user name, or the trigger).
    pub requested_by: Option<String>,
    /// The run this one re-runs.
    pub retry_of: Option<RunId>,
    /// The run of another pipeline whose completion triggered this one, or whose artifacts it uses.
    pub upstream_run: Option<RunId>,
}

impl NewRun {
    /// A run of `pipeline` numbered `run_number`, started by `trigger`, with everything else empty.
    #[must_use]
    pub fn new(pipeline: PipelineId, run_number: impl Into<String>, trigger: TriggerKind) -> Self {
        Self {
            pipeline,
            run_number: run_number.into(),
            trigger,
            trigger_details: TriggerDetails::default(),
            branch: None,
            commit: None,
            parameters: serde_json::json!({}),
            variables: serde_json::json!({}),
            plan: None,
            requested_by: None,
            retry_of: None,
            upstream_run: None,
        }
    }
}

/// A run of a pipeline (without its plan, which [`crate::Store::run_plan`] reads).
#[derive(Clone, Debug, PartialEq)]
pub struct Run {
    /// `Build.BuildId`.
    pub id: RunId,
    /// The pipeline.
    pub pipeline: PipelineId,
    /// `Build.BuildNumber`.
    pub run_number: String,
    /// What started it.
    pub trigger: TriggerKind,
    /// What started it, beyond its kind, and its commit's facts.
    pub trigger_details: TriggerDetails,
    /// The branch.
    pub branch: Option<String>,
    /// The commit.
    pub commit: Option<String>,
    /// Parameter values.
    pub parameters: serde_json::Value,
    /// Non-secret variables given for the run.
    pub variables: serde_json::Value,
    /// Where it is in its life.
    pub status: RunStatus,
    /// Its result, once completed.
    pub result: Option<TaskResult>,
    /// Who asked for it.
    pub requested_by: Option<String>,
    /// When it was created (queued).
    pub created_at: Timestamp,
    /// When its first job started.
    pub started_at: Option<Timestamp>,
    /// When it completed.
    pub finished_at: Option<Timestamp>,
    /// Whether someone asked to cancel it.
    pub cancel_requested: bool,
    /// Whether retention must keep it.
    pub keep: bool,
    /// The run this one re-runs.
    pub retry_of: Option<RunId>,
    /// The upstream run that triggered it.
    pub upstream_run: Option<RunId>,
}

/// Which runs to list, newest first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunFilter {
    /// Only this pipeline's runs.
    pub pipeline: Option<PipelineId>,
    /// Only runs in this state.
    pub status: Option<RunStatus>,
    /// Only runs of this branch.
    pub branch: Option<String>,
    /// Only runs that ended with this result.
    pub result: Option<TaskResult>,
    /// Only runs started this way.
    pub trigger: Option<TriggerKind>,
    /// Only runs with a smaller id (the last id of the previous page).
    pub before: Option<RunId>,
    /// At most this many (0 means 50; at most 1,000).
    pub limit: u32,
}

/// A job to add to a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewJob {
    /// The stage's name.
    pub stage: String,
    /// The job's name.
    pub job: String,
    /// The leg's name, for matrix and parallel legs.
    pub leg: Option<String>,
    /// The display name.
    pub display_name: String,
    /// The pool it runs in.
    pub pool: String,
    /// What it requires of its worker.
    pub demands: Vec<Demand>,
    /// Whether it is ready now (queued) rather than waiting for its dependencies (pending).
    pub ready: bool,
}

impl NewJob {
    /// The job's id as events name it: `STAGE.JOB` or `STAGE.JOB.LEG`.
    #[must_use]
    pub fn key(&self) -> String {
        slipway_plan::job_key(&self.stage, &self.job, self.leg.as_deref())
    }
}

/// A job of a run (or one leg of a matrix or parallel job).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Job {
    /// Its id.
    pub id: JobId,
    /// The run.
    pub run: RunId,
    /// `STAGE.JOB` or `STAGE.JOB.LEG`, as events name it.
    pub key: String,
    /// The stage's name.
    pub stage: String,
    /// The job's name.
    pub job: String,
    /// The leg's name.
    pub leg: Option<String>,
    /// The display name.
    pub display_name: String,
    /// The pool it runs in.
    pub pool: String,
    /// What it requires of its worker.
    pub demands: Vec<Demand>,
    /// Where it is in its life.
    pub status: JobStatus,
    /// Its result, once completed.
    pub result: Option<TaskResult>,
    /// Why it ended as it did, or why it waits.
    pub message: Option<String>,
    /// How many times it was leased.
    pub attempt: i64,
    /// Who holds its lease, while running.
    pub lease_holder: Option<String>,
    /// When the lease expires unless renewed.
    pub lease_expires_at: Option<Timestamp>,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it was queued.
    pub queued_at: Option<Timestamp>,
    /// When it was first leased in its current attempt.
    pub started_at: Option<Timestamp>,
    /// When it completed.
    pub finished_at: Option<Timestamp>,
    /// The first line of the current attempt's log: lines before it belong to earlier attempts
    /// (see [`JobAttempt`]).
    pub log_start: i64,
}

/// An earlier attempt of a job that was run again in place (its failed jobs re-run).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobAttempt {
    /// The job.
    pub job: JobId,
    /// Which attempt (the job's `attempt` then).
    pub attempt: i64,
    /// How it ended.
    pub result: Option<TaskResult>,
    /// Why, when it says.
    pub message: Option<String>,
    /// Who ran it.
    pub lease_holder: Option<String>,
    /// When it started.
    pub started_at: Option<Timestamp>,
    /// When it ended.
    pub finished_at: Option<Timestamp>,
    /// The first line of its log in the job's log.
    pub first_line: i64,
    /// How many lines its log has.
    pub line_count: i64,
}

/// What a worker asks the queue for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaseRequest {
    /// Who will hold the lease: an in-process slot (`local:SLOT`) or an agent's name.
    pub holder: String,
    /// The pool the worker serves.
    pub pool: String,
    /// The worker's capabilities, matched against jobs' demands.
    pub capabilities: BTreeMap<String, String>,
    /// How long the lease lasts unless renewed.
    pub duration: Duration,
}

/// The proof that a worker holds a job's lease; every change the worker makes to the job carries it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LeaseToken {
    /// The job.
    pub job: JobId,
    /// The lease's random id.
    pub lease_id: String,
}

impl fmt::Debug for LeaseToken {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.debug_struct("LeaseToken").field("job", &self.job).finish_non_exhaustive()
    }
}

/// A job leased to a worker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lease {
    /// The job, as it is now (status `running`).
    pub job: Job,
    /// What the worker passes back to renew the lease and report on the job.
    pub token: LeaseToken,
    /// When the lease expires unless renewed.
    pub expires_at: Timestamp,
}

/// What a lease renewal tells the worker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Heartbeat {
    /// The lease's new expiry.
    pub expires_at: Timestamp,
    /// Whether the run was asked to cancel: the worker stops the job.
    pub cancel_requested: bool,
}

/// Which leases to take back from their holders.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reclaim {
    /// Leases that expired (not renewed in time).
    Expired,
    /// Leases whose holder starts with this text, such as the in-process slots of a server that
    /// restarted (`local:`).
    HeldBy(String),
}

/// What to do with a job whose lease is taken back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReclaimAction {
    /// End the job as failed with this reason (such as "agent lost").
    Fail(String),
    /// Put the job back in the queue to be leased again.
    Requeue,
}

/// A job whose lease was taken back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReclaimedLease {
    /// The job as it is now.
    pub job: Job,
    /// Who held the lease.
    pub holder: String,
    /// What was done.
    pub action: ReclaimAction,
}

/// A step of a job, as recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// Its number in the job, from 1.
    pub number: i64,
    /// Its `name`, if it has one.
    pub name: Option<String>,
    /// Its display name.
    pub display_name: String,
    /// Where it is.
    pub status: StepStatus,
    /// Its result, once completed.
    pub result: Option<TaskResult>,
    /// The exit code of its last process.
    pub exit_code: Option<i64>,
    /// How many times it ran.
    pub attempts: i64,
    /// Why it ended as it did.
    pub message: Option<String>,
    /// When it started.
    pub started_at: Option<Timestamp>,
    /// When it finished.
    pub finished_at: Option<Timestamp>,
}

/// What storing a log chunk did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChunkOutcome {
    /// The chunk was stored; its first line has this number (lines count from 0 over the job's log).
    Stored {
        /// The number of its first line.
        first_line: i64,
    },
    /// The same chunk had been stored before (a retried upload): nothing changed.
    AlreadyStored,
}

/// Lines of a job's log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogSlice {
    /// The number of the first line returned.
    pub first_line: i64,
    /// The lines.
    pub lines: Vec<String>,
    /// The number to read from next.
    pub next_line: i64,
    /// Whether the job had completed when this was read: with no lines left, nothing more will come.
    pub job_completed: bool,
}

/// An event of a run, as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredEvent {
    /// Its position in the run's events, from 1.
    pub sequence: i64,
    /// The event's JSON line.
    pub json: String,
}

impl StoredEvent {
    /// The event parsed.
    ///
    /// # Errors
    /// When the stored line is not an event this version knows.
    pub fn event(&self) -> Result<slipway_events::Event> {
        slipway_events::Event::from_json_line(&self.json)
            .map_err(|error| StoreError::corrupt(format!("event {}: {error}", self.sequence)))
    }
}

/// An artifact to record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewArtifact {
    /// The run.
    pub run: RunId,
    /// The job that published it.
    pub job: Option<JobId>,
    /// The name, unique in the run; recording the same name again replaces the artifact.
    pub name: String,
    /// The manifest's digest (`sha256:...`).
    pub digest: String,
    /// The manifest as JSON.
    pub manifest: serde_json::Value,
    /// The digests of the blobs it references in the content-addressed store.
    pub blobs: Vec<String>,
    /// How many files.
    pub files: i64,
    /// How many bytes in all.
    pub bytes: i64,
    /// Its signed provenance (a DSSE envelope as JSON), when the server signs what runs publish.
    pub provenance: Option<serde_json::Value>,
}

/// An artifact's record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Artifact {
    /// Its id.
    pub id: ArtifactId,
    /// The run.
    pub run: RunId,
    /// The job that published it.
    pub job: Option<JobId>,
    /// The name.
    pub name: String,
    /// The manifest's digest.
    pub digest: String,
    /// The manifest.
    pub manifest: serde_json::Value,
    /// How many files.
    pub files: i64,
    /// How many bytes.
    pub bytes: i64,
    /// Its signed provenance (a DSSE envelope as JSON), if it was signed.
    pub provenance: Option<serde_json::Value>,
    /// When it was recorded.
    pub created_at: Timestamp,
}

/// Test results published by a step.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredTestRun {
    /// The run.
    pub run: RunId,
    /// The job's key (`STAGE.JOB`).
    pub job: String,
    /// The step.
    pub step: i64,
    /// The results.
    pub results: TestRun,
}

/// A coverage summary published by a step.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredCoverage {
    /// The run.
    pub run: RunId,
    /// The job's key.
    pub job: String,
    /// The step.
    pub step: i64,
    /// The summary.
    pub coverage: Coverage,
}

/// The totals of all test results of a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TestTotals {
    /// Tests in all.
    pub total: i64,
    /// Passed.
    pub passed: i64,
    /// Failed.
    pub failed: i64,
    /// Did not run.
    pub skipped: i64,
}

/// A variable as listed for the API: secret values are never included.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListedVariable {
    /// The name.
    pub name: String,
    /// Whether it is secret.
    pub is_secret: bool,
    /// The value, for variables that are not secret.
    pub value: Option<String>,
}

/// A variable with its value, decrypted, for a job that uses it. Its `Debug` hides secret values.
#[derive(Clone, PartialEq, Eq)]
pub struct VariableValue {
    /// The name.
    pub name: String,
    /// The value.
    pub value: String,
    /// Whether it is secret (to be masked in logs).
    pub is_secret: bool,
}

impl fmt::Debug for VariableValue {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let value = if self.is_secret { "***" } else { self.value.as_str() };
        formatter
            .debug_struct("VariableValue")
            .field("name", &self.name)
            .field("value", &value)
            .field("is_secret", &self.is_secret)
            .finish()
    }
}

/// A variable group (Azure's Library), as listed: secret values are never included.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VariableGroup {
    /// Its id.
    pub id: VariableGroupId,
    /// Unique name (`- group: NAME`).
    pub name: String,
    /// A description.
    pub description: String,
    /// Its variables, by name.
    pub variables: Vec<ListedVariable>,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it or one of its variables last changed.
    pub updated_at: Timestamp,
}

/// A user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    /// Its id.
    pub id: UserId,
    /// Unique name.
    pub name: String,
    /// What the user may do.
    pub role: UserRole,
    /// When the user was created.
    pub created_at: Timestamp,
    /// The identity at an OpenID Connect provider this user signs in with, for users created by
    /// such a sign-in; `None` for local users.
    pub external: Option<ExternalIdentity>,
    /// When the user was disabled: its tokens and sessions stop working until it is enabled.
    pub disabled_at: Option<Timestamp>,
}

/// Who a user is at an OpenID Connect provider: the provider's issuer and the subject it gives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExternalIdentity {
    /// The issuer's URL.
    pub issuer: String,
    /// The subject (`sub`), stable at that issuer.
    pub subject: String,
}

/// A personal access token's record (never its secret, which only its creator sees, once).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessToken {
    /// Its id.
    pub id: AccessTokenId,
    /// Its owner.
    pub user: UserId,
    /// A name given by its owner.
    pub name: String,
    /// The token's visible start, to tell tokens apart.
    pub prefix: String,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it was last used (updated at most once a minute).
    pub last_used_at: Option<Timestamp>,
    /// When it stops working.
    pub expires_at: Option<Timestamp>,
    /// When it was revoked.
    pub revoked_at: Option<Timestamp>,
}

/// Something created together with a secret that is shown once and stored only as a hash. Its
/// `Debug` hides the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Issued<T> {
    /// What was created.
    pub item: T,
    /// The secret (a token, a session id, a credential).
    pub secret: String,
}

impl<T: fmt::Debug> fmt::Debug for Issued<T> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.debug_struct("Issued").field("item", &self.item).field("secret", &"***").finish()
    }
}

/// A browser session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    /// The signed-in user.
    pub user: UserId,
    /// The access token the user signed in with: the session ends when it is revoked or
    /// expires; `None` for a session of its own (an OpenID Connect sign-in), which ends when it
    /// expires. Every session ends when its user is disabled or deleted.
    pub token: Option<AccessTokenId>,
    /// When it started.
    pub created_at: Timestamp,
    /// When it ends.
    pub expires_at: Timestamp,
}

/// A one-time token that registers an agent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegistrationToken {
    /// Its id.
    pub id: RegistrationTokenId,
    /// Its visible start.
    pub prefix: String,
    /// Who created it.
    pub created_by: Option<String>,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it stops working.
    pub expires_at: Option<Timestamp>,
    /// When it was used.
    pub used_at: Option<Timestamp>,
    /// The agent it registered.
    pub agent: Option<AgentId>,
}

/// An agent to register.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewAgent {
    /// Unique name.
    pub name: String,
    /// Its pool.
    pub pool: String,
    /// Its capabilities.
    pub capabilities: BTreeMap<String, String>,
    /// Its version.
    pub version: String,
}

/// An agent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Agent {
    /// Its id.
    pub id: AgentId,
    /// Unique name.
    pub name: String,
    /// Its pool.
    pub pool: String,
    /// Its capabilities.
    pub capabilities: BTreeMap<String, String>,
    /// Its version.
    pub version: String,
    /// What it is doing.
    pub state: AgentState,
    /// When it registered.
    pub created_at: Timestamp,
    /// When it was last heard from.
    pub last_seen_at: Option<Timestamp>,
}

/// What a retention pass deleted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RetentionReport {
    /// The runs deleted.
    pub deleted_runs: Vec<RunId>,
    /// Digests of blobs that no remaining artifact references: the server may delete them from the
    /// content-addressed store (checking [`crate::Store::is_blob_referenced`] under its own lock
    /// first, in case an upload started using one again).
    pub unreferenced_blobs: Vec<String>,
}

text_enum!(
    /// What happens to a job whose agent stopped renewing its lease.
    AgentLostAction {
        /// The job ends as failed with the reason "agent lost".
        Fail = "fail",
        /// The job goes back in the queue for another agent.
        Requeue = "requeue",
    }
);

#[expect(clippy::derivable_impls, reason = "text_enum! derives a fixed set of traits, Default is not among them")]
impl Default for AgentLostAction {
    fn default() -> Self {
        Self::Fail
    }
}

/// The settings of an agent pool.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PoolSettings {
    /// What happens to a job whose agent is lost.
    #[serde(default)]
    pub on_agent_lost: AgentLostAction,
    /// Azure's `vmImage` labels mapped to the demands a job with that image makes of the pool's
    /// agents (`ubuntu-latest` → `["Agent.OS -equals Linux"]`).
    #[serde(default)]
    pub vm_images: BTreeMap<String, Vec<String>>,
}

/// An agent pool with settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolRecord {
    /// The pool's name.
    pub name: String,
    /// Its settings.
    pub settings: PoolSettings,
    /// When they were last changed.
    pub updated_at: Timestamp,
}

/// What a lease holder sends about its job in one go: log lines and the run events they came
/// from, steps, test results and coverage. Stored in one transaction, once (see
/// [`crate::Store::append_job_chunk`]).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct JobChunk {
    /// The chunk's number: from 0 for each lease, in order.
    pub sequence: i64,
    /// Lines for the job's log.
    pub lines: Vec<String>,
    /// Events for the run's record.
    pub events: Vec<slipway_events::Event>,
    /// Steps to record (insert or replace by number).
    pub steps: Vec<Step>,
    /// Test results published by steps: step number and results.
    pub test_runs: Vec<(i64, TestRun)>,
    /// Coverage summaries published by steps: step number and summary.
    pub coverage: Vec<(i64, Coverage)>,
}

/// Declares a string-valued enum with its names (stored and on the wire), for the domains in
/// files of their own (`work_items`, `notifications`).
macro_rules! named_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$variant_doc:meta])* $variant:ident = $text:literal,)+ }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$variant_doc])* #[serde(rename = $text)] $variant,)+
        }

        impl $name {
            /// Every value, in order.
            pub const ALL: &'static [Self] = &[$(Self::$variant,)+];

            /// Its name, as stored and in the API.
            #[must_use]
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text,)+
                }
            }

            /// The value of that name (compared without regard to case), if it is one.
            #[must_use]
            pub fn parse(text: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|value| value.as_str().eq_ignore_ascii_case(text.trim()))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str(self.as_str())
            }
        }
    };
}

mod audit;
mod events;
mod notifications;
mod team;
mod work_items;

pub use audit::*;
pub use events::*;
pub use notifications::*;
pub use team::*;
pub use work_items::*;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trigger_details_read_as_earlier_versions_wrote_them() {
        // A push's and a pull request's details as Slipway wrote them before they were typed.
        let push: TriggerDetails = serde_json::from_value(serde_json::json!({
            "reason": "IndividualCI", "ref": "refs/heads/main", "before": null, "commit": "abc",
            "source": "poll", "message": "Fix", "author": "Ann", "email": "ann@example.com",
            "variables": { "Build.Reason": "IndividualCI" }
        }))
        .unwrap_or_default();
        assert_eq!(push.git_ref.as_deref(), Some("refs/heads/main"));
        assert_eq!((push.before, push.source.as_deref()), (None, Some("poll")));
        assert_eq!(push.variables["Build.Reason"], "IndividualCI");
        let pull: TriggerDetails = serde_json::from_value(serde_json::json!({
            "reason": "PullRequest", "somethingNew": 1,
            "pullRequest": { "number": 7, "title": null, "sourceCommit": "def", "isFork": true }
        }))
        .unwrap_or_default();
        let pull_request = pull.pull_request.unwrap_or_default();
        assert_eq!((pull_request.number, pull_request.is_fork), (7, true));
        assert_eq!(pull_request.source_commit, "def");
        let written = serde_json::to_value(TriggerDetails::reason("Manual")).unwrap_or_default();
        assert_eq!(written, serde_json::json!({ "reason": "Manual", "variables": { "Build.Reason": "Manual" } }));
    }
}

// ----- environments, checks, deployments, checkpoints and approvals -----

id_type!(
    /// An environment's id.
    EnvironmentId
);
id_type!(
    /// A check's id (a check an environment's admins put on it).
    CheckId
);
id_type!(
    /// A deployment's id.
    DeploymentId
);
id_type!(
    /// A checkpoint's id: what one stage of one run waits for.
    CheckpointId
);
id_type!(
    /// The id of one check evaluated for a checkpoint; an approval's id.
    CheckRunId
);

/// An environment: where deployment jobs deploy to, with the checks on it and its history.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Environment {
    /// Its id.
    pub id: EnvironmentId,
    /// Its name, as first given (names are compared without regard to case).
    pub name: String,
    /// What it is for.
    pub description: String,
    /// Who created it (`None`: a deployment job's first use).
    pub created_by: Option<String>,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it was last changed.
    pub updated_at: Timestamp,
}

/// A resource that checks protect: stages that use it wait for them.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ProtectedResource {
    /// An environment a deployment job deploys to.
    Environment(EnvironmentId),
    /// A variable group a pipeline, stage or job uses.
    VariableGroup(VariableGroupId),
    /// An agent pool (by name, in lower case) a job runs in.
    Pool(String),
}

impl ProtectedResource {
    /// `environment`, `variableGroup` or `pool`, as stored and in the API.
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Environment(_) => "environment",
            Self::VariableGroup(_) => "variableGroup",
            Self::Pool(_) => "pool",
        }
    }

    /// What tells it apart among its kind, as stored: the id, or the pool's name.
    #[must_use]
    pub fn key(&self) -> String {
        match self {
            Self::Environment(id) => id.get().to_string(),
            Self::VariableGroup(id) => id.get().to_string(),
            Self::Pool(name) => name.to_lowercase(),
        }
    }

    /// How people call its kind: `environment`, `variable group`, `agent pool`.
    #[must_use]
    pub fn kind_label(&self) -> &'static str {
        match self {
            Self::Environment(_) => "environment",
            Self::VariableGroup(_) => "variable group",
            Self::Pool(_) => "agent pool",
        }
    }

    /// Reads a stored kind and key.
    ///
    /// # Errors
    /// When they are not a resource's.
    pub fn parse(kind: &str, key: &str) -> Result<Self> {
        let id = || key.parse::<i64>().map_err(|_| StoreError::corrupt(format!("'{key}' is not a {kind}'s id")));
        match kind {
            "environment" => Ok(Self::Environment(EnvironmentId(id()?))),
            "variableGroup" => Ok(Self::VariableGroup(VariableGroupId(id()?))),
            "pool" => Ok(Self::Pool(key.to_owned())),
            other => Err(StoreError::corrupt(format!("'{other}' is not a kind of protected resource"))),
        }
    }
}

/// A check on a protected resource, as its admins configured it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Check {
    /// Its id.
    pub id: CheckId,
    /// The resource it protects.
    pub resource: ProtectedResource,
    /// Its type (`approval`, `branchControl`, `businessHours`, ...).
    pub kind: String,
    /// Its settings, as the type defines them.
    pub settings: serde_json::Value,
    /// How long a stage waits for it before it fails.
    pub timeout_minutes: u32,
    /// Who added it.
    pub created_by: Option<String>,
    /// When.
    pub created_at: Timestamp,
}

/// A check to add.
#[derive(Clone, Debug, PartialEq)]
pub struct NewCheck {
    /// Its type.
    pub kind: String,
    /// Its settings.
    pub settings: serde_json::Value,
    /// How long a stage waits for it.
    pub timeout_minutes: u32,
    /// Who adds it.
    pub created_by: Option<String>,
}

/// A deployment: one deployment job (leg) of a run to an environment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Deployment {
    /// Its id.
    pub id: DeploymentId,
    /// The environment.
    pub environment: EnvironmentId,
    /// The resource in it, if the job named one.
    pub resource: Option<String>,
    /// The pipeline.
    pub pipeline: PipelineId,
    /// The pipeline's name.
    pub pipeline_name: String,
    /// The run.
    pub run: RunId,
    /// The run's number.
    pub run_number: String,
    /// The store's job.
    pub job: JobId,
    /// The stage's name.
    pub stage: String,
    /// The job's name (with its leg's, for a leg).
    pub job_name: String,
    /// The strategy (`runOnce`, `rolling`, `canary`).
    pub strategy: String,
    /// The commit deployed.
    pub commit: Option<String>,
    /// Its branch.
    pub branch: Option<String>,
    /// Who or what started the run.
    pub triggered_by: String,
    /// When the job was queued.
    pub queued_at: Timestamp,
    /// When the job started running (`None` while it waits for an agent).
    pub started_at: Option<Timestamp>,
    /// When it ended.
    pub finished_at: Option<Timestamp>,
    /// How it ended.
    pub result: Option<TaskResult>,
    /// The run's artifacts when the job was queued (what a deployment job downloads).
    pub artifacts: Vec<String>,
    /// The commits since the environment's (or resource's) previous successful deployment,
    /// newest first; `None` when they could not be told.
    pub changes: Option<Vec<Change>>,
    /// How a release ended: `promoted` or `rolledBack` when its delivery tasks said so,
    /// `redeployed` for a manual rollback, `failed` for a failed or canceled deployment that
    /// was not rolled back.
    pub outcome: Option<String>,
    /// Why (the analysis that failed, the slots involved).
    pub outcome_detail: Option<String>,
    /// The analysis run that decided it.
    pub analysis_run: Option<AnalysisRunId>,
}

/// What DORA's metrics read of a deployment (see [`crate::Store::deployment_facts`]).
#[derive(Clone, Debug, PartialEq)]
pub struct DeploymentFacts {
    /// Its id.
    pub id: DeploymentId,
    /// The resource in the environment, if the job named one.
    pub resource: Option<String>,
    /// When the job was queued.
    pub queued_at: Timestamp,
    /// When it ended.
    pub finished_at: Option<Timestamp>,
    /// How it ended.
    pub result: Option<TaskResult>,
    /// How its release ended (`promoted`, `rolledBack`, `redeployed`, `failed`).
    pub outcome: Option<String>,
    /// The commits it brought, newest first, when they could be told.
    pub changes: Option<Vec<Change>>,
}

/// A commit a deployment brought.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// The commit.
    pub commit: String,
    /// Its subject.
    pub message: String,
    /// Its author.
    pub author: String,
    /// Its commit time (milliseconds since the Unix epoch), when known (changes recorded before
    /// it was kept have none).
    #[serde(default)]
    pub time: Option<Timestamp>,
}

/// A deployment to record when its job is queued.
#[derive(Clone, Debug, PartialEq)]
pub struct NewDeployment {
    /// The environment.
    pub environment: EnvironmentId,
    /// The resource, if any.
    pub resource: Option<String>,
    /// The run.
    pub run: RunId,
    /// The store's job.
    pub job: JobId,
    /// The stage's name.
    pub stage: String,
    /// The job's name.
    pub job_name: String,
    /// The strategy.
    pub strategy: String,
    /// Who or what started the run.
    pub triggered_by: String,
    /// The run's artifacts now.
    pub artifacts: Vec<String>,
    /// The commits since the previous successful deployment, if they could be told.
    pub changes: Option<Vec<Change>>,
}

text_enum!(
    /// Where a checkpoint (a stage's wait for its checks) is.
    CheckpointState {
        /// Some check is not decided yet.
        Waiting = "waiting",
        /// Every check passed: the stage started.
        Passed = "passed",
        /// A check failed, was rejected or timed out: the stage failed.
        Failed = "failed",
        /// The run was cancelled while the stage waited.
        Canceled = "canceled",
    }
);

text_enum!(
    /// Where one check of a checkpoint is.
    CheckRunState {
        /// Not decided yet.
        Pending = "pending",
        /// It passed (an approval: approved).
        Passed = "passed",
        /// It failed.
        Failed = "failed",
        /// An approver rejected it.
        Rejected = "rejected",
        /// It was not decided within its timeout.
        TimedOut = "timedOut",
        /// Its stage stopped waiting for another reason (another check failed, a cancel).
        Canceled = "canceled",
    }
);

impl CheckRunState {
    /// Whether it is decided.
    #[must_use]
    pub fn is_final(self) -> bool {
        self != Self::Pending
    }
}

/// What one stage of one run waits for.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Its id.
    pub id: CheckpointId,
    /// The run.
    pub run: RunId,
    /// The stage's name.
    pub stage: String,
    /// Where it is.
    pub state: CheckpointState,
    /// Why it failed.
    pub message: Option<String>,
    /// When the stage reached it.
    pub created_at: Timestamp,
    /// When it was decided.
    pub finished_at: Option<Timestamp>,
    /// Its checks, in the order they are evaluated.
    pub checks: Vec<CheckRun>,
}

/// One check of a checkpoint: a copy of the environment's check as it was when the stage
/// reached it, and where its evaluation is.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CheckRun {
    /// Its id (an approval's id).
    pub id: CheckRunId,
    /// The checkpoint.
    pub checkpoint: CheckpointId,
    /// The check it copies (gone if the check was deleted since).
    pub check: Option<CheckId>,
    /// The resource it protects.
    pub resource: ProtectedResource,
    /// The resource's name.
    pub resource_name: String,
    /// The check's type.
    pub kind: String,
    /// Its settings.
    pub settings: serde_json::Value,
    /// Its timeout.
    pub timeout_minutes: u32,
    /// Where it is.
    pub state: CheckRunState,
    /// What its last evaluation found.
    pub message: Option<String>,
    /// When the stage reached it.
    pub created_at: Timestamp,
    /// When it was decided.
    pub finished_at: Option<Timestamp>,
    /// When it is evaluated next (a retry interval), if it waits for one.
    pub next_at: Option<Timestamp>,
    /// Approvers' decisions (an approval).
    pub decisions: Vec<ApprovalDecision>,
}

/// A check to evaluate at a new checkpoint.
#[derive(Clone, Debug, PartialEq)]
pub struct NewCheckRun {
    /// The check it copies.
    pub check: CheckId,
    /// The resource it protects.
    pub resource: ProtectedResource,
    /// Its name.
    pub resource_name: String,
    /// The type.
    pub kind: String,
    /// The settings.
    pub settings: serde_json::Value,
    /// The timeout.
    pub timeout_minutes: u32,
}

/// An approver's decision on an approval.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ApprovalDecision {
    /// Who.
    pub user: String,
    /// `approved` or `rejected`.
    pub status: String,
    /// Their comment.
    pub comment: String,
    /// When they decided.
    pub decided_at: Timestamp,
    /// When it takes effect (a deferred approval: later than `decided_at`).
    pub effective_at: Timestamp,
}

/// An approval with what it is for: its check, stage, run and pipeline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Approval {
    /// The check of the checkpoint that is the approval.
    pub check: CheckRun,
    /// The run.
    pub run: RunId,
    /// The run's number.
    pub run_number: String,
    /// Who asked for the run (self-approval is judged by it).
    pub requested_by: Option<String>,
    /// The stage that waits.
    pub stage: String,
    /// The pipeline.
    pub pipeline: PipelineId,
    /// Its name.
    pub pipeline_name: String,
}

// ----- services and slots -----

id_type!(
    /// A service's id.
    ServiceId
);

/// A service in an environment: an HTTP application whose versions run side by side in slots,
/// fronted by the traffic router on its own address.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Service {
    /// Its id.
    pub id: ServiceId,
    /// The environment.
    pub environment: EnvironmentId,
    /// Its name, unique in the environment.
    pub name: String,
    /// Where its router listens (`127.0.0.1:9000`).
    pub listen: String,
    /// Which router fronts it: `router` (Slipway's) or `nginx`.
    pub provider: String,
    /// Its slots, by name.
    pub slots: Vec<ServiceSlot>,
    /// Who created it.
    pub created_by: Option<String>,
    /// When.
    pub created_at: Timestamp,
    /// When it or a slot last changed.
    pub updated_at: Timestamp,
}

/// A slot of a service.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceSlot {
    /// Its name.
    pub name: String,
    /// Where its version listens (`http://127.0.0.1:8001`).
    pub upstream: String,
    /// Its share of the traffic.
    pub weight: u32,
    /// When it last changed.
    pub updated_at: Timestamp,
}

id_type!(
    /// An analysis run's id.
    AnalysisRunId
);

/// An analysis run: a template of metrics measured by the server while a release is judged,
/// with every measurement kept (Argo's `AnalysisRun`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AnalysisRun {
    /// Its id.
    pub id: AnalysisRunId,
    /// The service judged.
    pub service: ServiceId,
    /// The job that started it, while it exists.
    pub job: Option<JobId>,
    /// That job's run.
    pub run: Option<RunId>,
    /// The template's name (a file name, or `inline`).
    pub template_name: String,
    /// The template, as the delivery room reads it (JSON).
    pub template: serde_json::Value,
    /// The synthetic load while it runs (JSON), if any.
    pub load: Option<serde_json::Value>,
    /// `Running`, `Successful`, `Failed`, `Inconclusive`, `Error` or `Terminated`.
    pub phase: String,
    /// Why it ended as it did.
    pub message: Option<String>,
    /// The measurements of each metric (JSON: metric name to a list).
    pub measurements: serde_json::Value,
    /// When it started.
    pub started_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
    /// When it ended.
    pub finished_at: Option<Timestamp>,
}

/// An analysis run to start.
#[derive(Clone, Debug, PartialEq)]
pub struct NewAnalysisRun {
    /// The service judged.
    pub service: ServiceId,
    /// The job that starts it.
    pub job: Option<JobId>,
    /// Its run.
    pub run: Option<RunId>,
    /// The template's name.
    pub template_name: String,
    /// The template (JSON).
    pub template: serde_json::Value,
    /// The synthetic load (JSON).
    pub load: Option<serde_json::Value>,
}

/// The feature flags of an environment: its flagd flag-definition document as stored, and its
/// revision (1 for the first document; every change adds one).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlagDocumentRecord {
    /// The environment.
    pub environment: EnvironmentId,
    /// The document (JSON text, as the flags' module wrote it).
    pub document: String,
    /// Its revision.
    pub revision: i64,
    /// Who changed it last.
    pub updated_by: Option<String>,
    /// When.
    pub updated_at: Timestamp,
}
