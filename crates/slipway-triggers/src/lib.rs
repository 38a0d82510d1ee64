//! Triggers: when a pipeline runs.
//!
//! Three parts, all pure (no I/O, no network, no clock: callers pass the current time):
//!
//! - [`PipelineTriggers::from_document`] reads `trigger`, `pr`, `schedules` and
//!   `resources.pipelines` from an expanded pipeline, with Azure's defaults, into typed data whose
//!   `evaluate` methods decide a [`Push`], a [`PullRequest`], a [`ScheduleTick`] or a
//!   [`PipelineCompletion`]. Branch, tag and path filters ([`RefFilter`], [`PathFilter`]) match as
//!   the Azure Pipelines documentation describes (see [`filter`]).
//! - [`github`] reads a GitHub Actions workflow's `on` (`push`, `pull_request`,
//!   `pull_request_target`, `schedule`, `workflow_dispatch` inputs, `workflow_run`,
//!   `workflow_call`) into [`WorkflowTriggers`] and decides it with GitHub's rules (its filter
//!   patterns, diff limits, default activity types, default-branch schedules), in the same
//!   decision shapes as the Azure side.
//! - [`CronSchedule`] parses Azure's (and, with [`CronSchedule::parse_github`], GitHub's)
//!   five-field cron syntax and computes fire times in UTC.
//! - [`webhook`] verifies deliveries from GitHub, GitLab, Gitea/Forgejo and Azure Repos with each
//!   provider's mechanism and reads them into neutral [`PushEvent`] and [`PullRequestEvent`] values.

pub mod cron;
pub mod filter;
pub mod github;
mod read;
pub mod triggers;
pub mod webhook;

pub use cron::{CronError, CronField, CronSchedule, CronWarning};
pub use filter::{GitRef, PathFilter, RefFilter, RefKind, wildcard_match};
pub use github::WorkflowTriggers;
pub use read::TriggerError;
pub use triggers::{
    CiFilters, CiTrigger, PipelineCompletion, PipelineCompletionTrigger, PipelineTriggers, PrDecision, PrFilters,
    PrTrigger, PullRequest, PullRequestAction, Push, PushDecision, Schedule, ScheduleDecision, ScheduleTick,
    SkipReason, skip_ci_marker,
};
pub use webhook::{
    AzureReposAuth, Headers, Provider, PullRequestEvent, PushEvent, Repository, Secret, WebhookConfig, WebhookError,
    WebhookEvent,
};

#[cfg(test)]
mod robustness;
