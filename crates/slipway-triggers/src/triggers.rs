//! A pipeline's triggers as typed data, and the decisions they make for a push, a pull request, a
//! schedule tick or the completion of another pipeline.
//!
//! The defaults and rules are Azure's (YAML schema pages `trigger`, `pr`, `schedules.cron`,
//! `resources.pipelines.pipeline.trigger`; "Build Azure Repos Git or TFS Git repositories";
//! "Configure schedules for pipelines"; "Trigger one pipeline after another"):
//!
//! - no `trigger` means CI on every branch, no tags, no path filter, no batching; `trigger: none`
//!   disables CI; a list names the branches to include;
//! - a tag push runs the pipeline when it matches the branch filter (`refs/tags/...` entries) *or*
//!   the tag filter, and path filters do not apply to it; without tag filters tags never trigger;
//! - a push that deletes a ref never triggers; a commit message with `[skip ci]` (or one of its
//!   documented variants) skips CI;
//! - no `pr` means pull requests to every branch trigger; `drafts` and `autoCancel` default to true;
//! - a schedule runs a branch its branch filter includes, only when the branch changed since the
//!   last successful scheduled run unless `always: true`, and (with `batch: true`) not while a
//!   scheduled run is still in progress;
//! - a pipeline completion trigger runs when the source pipeline completes successfully on an
//!   included branch, carries all the listed tags, and completed all the listed stages.

use std::fmt;

use time::OffsetDateTime;

use crate::cron::CronSchedule;
use crate::filter::{GitRef, PathFilter, RefFilter};

/// Every trigger of one pipeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PipelineTriggers {
    /// `trigger`: pushes.
    pub ci: CiTrigger,
    /// `pr`: pull requests.
    pub pr: PrTrigger,
    /// `schedules`.
    pub schedules: Vec<Schedule>,
    /// `resources.pipelines` entries with an enabled `trigger`.
    pub pipelines: Vec<PipelineCompletionTrigger>,
}

impl Default for PipelineTriggers {
    /// The triggers of a pipeline that declares none: CI and PR on every branch, nothing else.
    fn default() -> Self {
        Self { ci: CiTrigger::default(), pr: PrTrigger::default(), schedules: Vec::new(), pipelines: Vec::new() }
    }
}

/// The CI trigger.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CiTrigger {
    /// `trigger: none`.
    Disabled,
    /// Any other form.
    Enabled(CiFilters),
}

impl Default for CiTrigger {
    /// No `trigger`: every branch.
    fn default() -> Self {
        Self::Enabled(CiFilters { batch: false, branches: RefFilter::all_branches(), tags: None, paths: None })
    }
}

/// The filters of an enabled CI trigger.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CiFilters {
    /// `batch`: while a run of the branch is in progress, later pushes wait and are built together.
    pub batch: bool,
    /// Branches (and `refs/tags/...` entries).
    pub branches: RefFilter,
    /// `tags`, if given.
    pub tags: Option<RefFilter>,
    /// `paths`, if given (they do not apply to tags).
    pub paths: Option<PathFilter>,
}

/// A push, as the CI trigger needs to see it.
#[derive(Clone, Copy, Debug)]
pub struct Push<'a> {
    /// The ref that was pushed.
    pub git_ref: &'a GitRef,
    /// Paths changed by the push, relative to the repository root. For a new branch, the files the
    /// branch changes; they must be complete when the trigger has path filters.
    pub changed_paths: &'a [String],
    /// The push deleted the ref.
    pub deleted: bool,
    /// The message of the pushed head commit, checked for `[skip ci]` and its variants.
    pub head_commit_message: Option<&'a str>,
    /// A run of this pipeline started by CI is in progress on the same ref (for `batch`).
    pub run_in_progress: bool,
}

/// What the CI trigger does with a push.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PushDecision {
    /// Start a run for the pushed commit.
    Start,
    /// `batch: true` and a run is in progress: start no run now; when the run in progress ends,
    /// start one run for the newest commit of the ref, which covers every push batched meanwhile.
    Batch,
    /// Start nothing.
    Skip(SkipReason),
}

/// The PR trigger.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PrTrigger {
    /// `pr: none`.
    Disabled,
    /// Any other form.
    Enabled(PrFilters),
}

impl Default for PrTrigger {
    /// No `pr`: pull requests to every branch, drafts included, runs cancelled by new pushes.
    fn default() -> Self {
        Self::Enabled(PrFilters { auto_cancel: true, drafts: true, branches: RefFilter::all_branches(), paths: None })
    }
}

/// The filters of an enabled PR trigger.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrFilters {
    /// `autoCancel` (default true): a new push to the pull request cancels its runs in progress.
    pub auto_cancel: bool,
    /// `drafts` (default true): draft pull requests trigger too.
    pub drafts: bool,
    /// Target branches.
    pub branches: RefFilter,
    /// `paths`, if given.
    pub paths: Option<PathFilter>,
}

/// What happened to a pull request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PullRequestAction {
    /// Opened (GitHub `opened`, GitLab `open`, Azure Repos `git.pullrequest.created`).
    Opened,
    /// New commits on the source branch (GitHub `synchronize`, Gitea `synchronized`, GitLab
    /// `update` with `oldrev`, Azure Repos "updated the source branch").
    Synchronize,
    /// Reopened.
    Reopened,
    /// Closed, merged or not.
    Closed {
        /// It was merged.
        merged: bool,
    },
    /// A draft was marked ready for review.
    ReadyForReview,
    /// It was turned back into a draft.
    ConvertedToDraft,
    /// Title, description or other metadata changed.
    Edited,
    /// Anything else (labels, reviewers, approvals), with the provider's word for it.
    Other(String),
}

impl fmt::Display for PullRequestAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Opened => f.write_str("opened"),
            Self::Synchronize => f.write_str("synchronize"),
            Self::Reopened => f.write_str("reopened"),
            Self::Closed { merged: true } => f.write_str("merged"),
            Self::Closed { merged: false } => f.write_str("closed"),
            Self::ReadyForReview => f.write_str("ready_for_review"),
            Self::ConvertedToDraft => f.write_str("converted_to_draft"),
            Self::Edited => f.write_str("edited"),
            Self::Other(action) => f.write_str(action),
        }
    }
}

/// A pull request update, as the PR trigger needs to see it.
#[derive(Clone, Copy, Debug)]
pub struct PullRequest<'a> {
    /// What happened.
    pub action: &'a PullRequestAction,
    /// The target branch, with or without `refs/heads/`.
    pub target_branch: &'a str,
    /// Paths the pull request changes (source against target), relative to the repository root.
    pub changed_paths: &'a [String],
    /// The pull request is a draft.
    pub draft: bool,
}

/// What the PR trigger does with a pull request update.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PrDecision {
    /// Start a validation run.
    Start {
        /// Cancel the runs of this pull request still in progress (`autoCancel` on a new push).
        cancel_in_progress: bool,
    },
    /// Start nothing.
    Skip(SkipReason),
}

/// One entry of `schedules`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Schedule {
    /// The cron expression as written.
    pub cron_text: String,
    /// The parsed expression.
    pub cron: CronSchedule,
    /// `displayName` (`Build.CronSchedule.DisplayName`).
    pub display_name: Option<String>,
    /// Branches the schedule builds.
    pub branches: RefFilter,
    /// `always` (default false): run even when nothing changed since the last successful scheduled
    /// run.
    pub always: bool,
    /// `batch` (default false): do not run while a scheduled run is in progress.
    pub batch: bool,
}

/// A schedule's fire time, for one branch.
#[derive(Clone, Copy, Debug)]
pub struct ScheduleTick<'a> {
    /// The branch, with or without `refs/heads/`.
    pub branch: &'a str,
    /// The branch changed since the last successful scheduled run of it (true when there was none).
    pub changed_since_last_success: bool,
    /// A scheduled run of this pipeline is in progress.
    pub scheduled_run_in_progress: bool,
}

/// What a schedule does at a tick.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScheduleDecision {
    /// Start a scheduled run of the branch.
    Start,
    /// Start nothing.
    Skip(SkipReason),
}

impl Schedule {
    /// Whether the schedule builds `branch`.
    #[must_use]
    pub fn applies_to(&self, branch: &str) -> bool {
        self.branches.matches(&branch_ref(branch))
    }

    /// The latest fire time in `(since, now]`, if any (see [`CronSchedule::due`]).
    #[must_use]
    pub fn due(&self, since: OffsetDateTime, now: OffsetDateTime) -> Option<OffsetDateTime> {
        self.cron.due(since, now)
    }

    /// Decides a tick for one branch. The table of the `schedules.cron` page: with `always` the
    /// pipeline runs on schedule whatever `batch` says; otherwise only when the branch changed, and
    /// with `batch` only when no scheduled run is in progress.
    #[must_use]
    pub fn evaluate(&self, tick: &ScheduleTick<'_>) -> ScheduleDecision {
        if !self.applies_to(tick.branch) {
            return ScheduleDecision::Skip(SkipReason::BranchNotIncluded(tick.branch.to_owned()));
        }
        if self.always {
            return ScheduleDecision::Start;
        }
        if !tick.changed_since_last_success {
            return ScheduleDecision::Skip(SkipReason::NoChangesSinceLastScheduledRun);
        }
        if self.batch && tick.scheduled_run_in_progress {
            return ScheduleDecision::Skip(SkipReason::ScheduledRunInProgress);
        }
        ScheduleDecision::Start
    }
}

/// A `resources.pipelines` entry whose `trigger` is enabled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PipelineCompletionTrigger {
    /// `pipeline`: the resource's alias.
    pub alias: String,
    /// `source`: the name of the pipeline whose completion triggers this one.
    pub source: String,
    /// `project`, when the source pipeline is in another project.
    pub project: Option<String>,
    /// Branches of the source run that trigger (all with `trigger: true`).
    pub branches: RefFilter,
    /// `stages`: all must have completed.
    pub stages: Vec<String>,
    /// `tags`: the source run must carry all of them.
    pub tags: Vec<String>,
}

/// A run of another pipeline that completed (or completed some stages).
#[derive(Clone, Copy, Debug)]
pub struct PipelineCompletion<'a> {
    /// The pipeline's name.
    pub pipeline: &'a str,
    /// Its project, if known.
    pub project: Option<&'a str>,
    /// The branch it ran for.
    pub branch: &'a str,
    /// Its tags.
    pub tags: &'a [String],
    /// The stages that completed successfully.
    pub completed_stages: &'a [String],
    /// The whole run succeeded.
    pub succeeded: bool,
}

impl PipelineCompletionTrigger {
    /// Whether `completion` triggers a run. Names, tags and stages compare without regard to case.
    #[must_use]
    pub fn matches(&self, completion: &PipelineCompletion<'_>) -> bool {
        let same = |a: &str, b: &str| a.to_lowercase() == b.to_lowercase();
        let contains = |list: &[String], item: &str| list.iter().any(|entry| same(entry, item));
        same(&self.source, completion.pipeline)
            && self.project.as_deref().is_none_or(|project| completion.project.is_some_and(|p| same(project, p)))
            && self.branches.matches(&branch_ref(completion.branch))
            && self.tags.iter().all(|tag| contains(completion.tags, tag))
            && if self.stages.is_empty() {
                completion.succeeded
            } else {
                self.stages.iter().all(|stage| contains(completion.completed_stages, stage))
            }
    }
}

/// Why a trigger started nothing; the text is meant for a person ("why didn't it run?").
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SkipReason {
    /// `trigger: none` or `pr: none`.
    Disabled,
    /// The branch is not included, or is excluded.
    BranchNotIncluded(String),
    /// The tag is not included by the branch or tag filters, or is excluded.
    TagNotIncluded(String),
    /// A ref that is neither a branch nor a tag.
    UnsupportedRef(String),
    /// No changed path is included by the path filters.
    NoPathIncluded,
    /// The push deleted the ref.
    RefDeleted,
    /// The head commit's message asks to skip CI.
    SkipCi(&'static str),
    /// A draft pull request and `drafts: false`.
    Draft,
    /// The pull request was closed.
    PullRequestClosed,
    /// A pull request action that does not call for a run.
    NotABuildAction(String),
    /// Nothing changed since the last successful scheduled run and `always` is false.
    NoChangesSinceLastScheduledRun,
    /// `batch: true` and a scheduled run is still in progress.
    ScheduledRunInProgress,
    /// GitHub: `on.push` filters only the other kind of ref (`kind` is the kind it filters).
    OnlyOtherRefKind {
        /// `branch` or `tag`: the kind the workflow's filters name.
        kind: &'static str,
        /// The pushed ref's short name.
        name: String,
    },
    /// GitHub: the pull request's activity is not among the trigger's `types`.
    ActivityNotIncluded {
        /// `pull_request` or `pull_request_target`.
        event: &'static str,
        /// GitHub's name of the activity.
        activity: String,
    },
    /// GitHub: `pull_request` does not run while the pull request has a merge conflict.
    MergeConflict,
    /// GitHub: scheduled workflows run only on the default branch.
    NotDefaultBranch(String),
    /// GitHub: the workflow's `on` does not name the event.
    NotTriggeredBy(&'static str),
    /// GitHub: the workflow only runs when another calls it (`on: workflow_call`).
    ReusableWorkflow,
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Disabled => f.write_str("the trigger is `none`"),
            Self::BranchNotIncluded(branch) => write!(f, "branch `{branch}` is not included by the branch filters"),
            Self::TagNotIncluded(tag) => write!(f, "tag `{tag}` is not included by the branch or tag filters"),
            Self::UnsupportedRef(name) => write!(f, "`{name}` is neither a branch nor a tag"),
            Self::NoPathIncluded => f.write_str("no changed path is included by the path filters"),
            Self::RefDeleted => f.write_str("the push deleted the ref"),
            Self::SkipCi(marker) => write!(f, "the head commit's message contains `{marker}`"),
            Self::Draft => f.write_str("the pull request is a draft and `drafts` is false"),
            Self::PullRequestClosed => f.write_str("the pull request was closed"),
            Self::NotABuildAction(action) => write!(f, "a pull request `{action}` event does not start a run"),
            Self::NoChangesSinceLastScheduledRun => {
                f.write_str("nothing changed since the last successful scheduled run and `always` is false")
            }
            Self::ScheduledRunInProgress => f.write_str("a scheduled run is in progress and `batch` is true"),
            Self::OnlyOtherRefKind { kind, name } => {
                write!(
                    f,
                    "`on.push` filters only {kind}s, so `{name}`, which is not a {kind}, does not run the workflow"
                )
            }
            Self::ActivityNotIncluded { event, activity } => write!(
                f,
                "`{activity}` is not among the activity types of `on.{event}` (`types`; opened, synchronize and \
                 reopened when it is not given)"
            ),
            Self::MergeConflict => {
                f.write_str("the pull request has a merge conflict, and `pull_request` waits for it to be resolved")
            }
            Self::NotDefaultBranch(branch) => {
                write!(f, "scheduled workflows run only on the default branch, not on `{branch}`")
            }
            Self::NotTriggeredBy(event) => write!(f, "the workflow's `on` does not name `{event}`"),
            Self::ReusableWorkflow => {
                f.write_str("the workflow only runs when another workflow calls it (`on: workflow_call`)")
            }
        }
    }
}

/// The markers that skip CI for a commit ("Skipping CI for individual commits"), compared without
/// regard to case. Returns the marker found.
#[must_use]
pub fn skip_ci_marker(message: &str) -> Option<&'static str> {
    const MARKERS: [&str; 11] = [
        "[skip ci]",
        "[ci skip]",
        "skip-checks: true",
        "skip-checks:true",
        "[skip azurepipelines]",
        "[azurepipelines skip]",
        "[skip azpipelines]",
        "[azpipelines skip]",
        "[skip azp]",
        "[azp skip]",
        "***NO_CI***",
    ];
    let lower = message.to_lowercase();
    MARKERS.into_iter().find(|marker| lower.contains(&marker.to_lowercase()))
}

fn branch_ref(branch: &str) -> GitRef {
    match GitRef::parse(branch) {
        GitRef::Branch(name) => GitRef::Branch(name),
        other => GitRef::Other(other.full_name()),
    }
}

impl CiTrigger {
    /// Decides a push.
    #[must_use]
    pub fn evaluate(&self, push: &Push<'_>) -> PushDecision {
        let Self::Enabled(filters) = self else {
            return PushDecision::Skip(SkipReason::Disabled);
        };
        if push.deleted {
            return PushDecision::Skip(SkipReason::RefDeleted);
        }
        if let Some(marker) = push.head_commit_message.and_then(skip_ci_marker) {
            return PushDecision::Skip(SkipReason::SkipCi(marker));
        }
        match push.git_ref {
            GitRef::Tag(tag) => {
                let by_tags = filters.tags.as_ref().is_some_and(|tags| tags.matches(push.git_ref));
                if !filters.branches.matches(push.git_ref) && !by_tags {
                    return PushDecision::Skip(SkipReason::TagNotIncluded(tag.clone()));
                }
            }
            GitRef::Branch(branch) => {
                if !filters.branches.matches(push.git_ref) {
                    return PushDecision::Skip(SkipReason::BranchNotIncluded(branch.clone()));
                }
                if let Some(paths) = &filters.paths
                    && !paths.includes_any(push.changed_paths)
                {
                    return PushDecision::Skip(SkipReason::NoPathIncluded);
                }
            }
            GitRef::Other(name) => return PushDecision::Skip(SkipReason::UnsupportedRef(name.clone())),
        }
        if filters.batch && push.run_in_progress { PushDecision::Batch } else { PushDecision::Start }
    }
}

impl PrTrigger {
    /// Decides a pull request update: opened, reopened and new commits are checked against the
    /// filters; "ready for review" starts a run only when drafts were not built (`drafts: false`).
    #[must_use]
    pub fn evaluate(&self, pr: &PullRequest<'_>) -> PrDecision {
        let Self::Enabled(filters) = self else {
            return PrDecision::Skip(SkipReason::Disabled);
        };
        match pr.action {
            PullRequestAction::Opened | PullRequestAction::Reopened | PullRequestAction::Synchronize => {}
            PullRequestAction::ReadyForReview if !filters.drafts => {}
            PullRequestAction::Closed { .. } => return PrDecision::Skip(SkipReason::PullRequestClosed),
            other => return PrDecision::Skip(SkipReason::NotABuildAction(other.to_string())),
        }
        let target = branch_ref(pr.target_branch);
        if !filters.branches.matches(&target) {
            return PrDecision::Skip(SkipReason::BranchNotIncluded(target.short_name().to_owned()));
        }
        if pr.draft && !filters.drafts {
            return PrDecision::Skip(SkipReason::Draft);
        }
        if let Some(paths) = &filters.paths
            && !paths.includes_any(pr.changed_paths)
        {
            return PrDecision::Skip(SkipReason::NoPathIncluded);
        }
        PrDecision::Start {
            cancel_in_progress: filters.auto_cancel && matches!(pr.action, PullRequestAction::Synchronize),
        }
    }
}

impl PipelineTriggers {
    /// The completion triggers that `completion` fires.
    #[must_use]
    pub fn on_pipeline_completion(&self, completion: &PipelineCompletion<'_>) -> Vec<&PipelineCompletionTrigger> {
        self.pipelines.iter().filter(|trigger| trigger.matches(completion)).collect()
    }

    /// The schedules due at `now` for `branch`, each with its fire time, given when the schedules
    /// were last evaluated (`since`). Whether each then starts a run is [`Schedule::evaluate`].
    #[must_use]
    pub fn due_schedules(
        &self,
        branch: &str,
        since: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Vec<(&Schedule, OffsetDateTime)> {
        self.schedules
            .iter()
            .filter(|schedule| schedule.applies_to(branch))
            .filter_map(|schedule| schedule.due(since, now).map(|fire| (schedule, fire)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::filter::RefKind;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|item| (*item).to_owned()).collect()
    }

    fn ci(batch: bool, branches: &[&str], tags: Option<&[&str]>, paths: Option<(&[&str], &[&str])>) -> CiTrigger {
        CiTrigger::Enabled(CiFilters {
            batch,
            branches: RefFilter::new(Some(&strings(branches)), &[], RefKind::Branch),
            tags: tags.map(|tags| RefFilter::new(Some(&strings(tags)), &[], RefKind::Tag)),
            paths: paths.map(|(include, exclude)| PathFilter::new(&strings(include), &strings(exclude))),
        })
    }

    fn push<'a>(git_ref: &'a GitRef, paths: &'a [String]) -> Push<'a> {
        Push { git_ref, changed_paths: paths, deleted: false, head_commit_message: None, run_in_progress: false }
    }

    #[test]
    fn batching_waits_for_the_run_in_progress() {
        let trigger = ci(true, &["main"], None, None);
        let main = GitRef::parse("main");
        assert_eq!(trigger.evaluate(&push(&main, &[])), PushDecision::Start);
        assert_eq!(trigger.evaluate(&Push { run_in_progress: true, ..push(&main, &[]) }), PushDecision::Batch);
        let unbatched = ci(false, &["main"], None, None);
        assert_eq!(unbatched.evaluate(&Push { run_in_progress: true, ..push(&main, &[]) }), PushDecision::Start);
    }

    /// "If you specify tags in combination with branch filters, the trigger will fire if either the
    /// branch filter is satisfied or the tag filter is satisfied", and path filters do not apply to
    /// tags.
    #[test]
    fn tags_and_paths() {
        let trigger = ci(false, &["main", "refs/tags/release-*"], Some(&["v2.*"]), Some((&["src"], &[])));
        let docs = strings(&["docs/a.md"]);
        assert_eq!(trigger.evaluate(&push(&GitRef::parse("refs/tags/v2.1"), &docs)), PushDecision::Start);
        assert_eq!(trigger.evaluate(&push(&GitRef::parse("refs/tags/release-1"), &docs)), PushDecision::Start);
        assert_eq!(
            trigger.evaluate(&push(&GitRef::parse("refs/tags/v3"), &docs)),
            PushDecision::Skip(SkipReason::TagNotIncluded("v3".into()))
        );
        assert_eq!(
            trigger.evaluate(&push(&GitRef::parse("main"), &docs)),
            PushDecision::Skip(SkipReason::NoPathIncluded)
        );
        assert_eq!(trigger.evaluate(&push(&GitRef::parse("main"), &strings(&["src/a.rs"]))), PushDecision::Start);
        // A new branch without changes: triggered only when there are no path filters.
        assert_eq!(
            trigger.evaluate(&push(&GitRef::parse("main"), &[])),
            PushDecision::Skip(SkipReason::NoPathIncluded)
        );
        assert_eq!(ci(false, &["main"], None, None).evaluate(&push(&GitRef::parse("main"), &[])), PushDecision::Start);
        // An excluded tag still runs when the branch filter includes it.
        let both = CiTrigger::Enabled(CiFilters {
            batch: false,
            branches: RefFilter::new(Some(&strings(&["refs/tags/v*"])), &[], RefKind::Branch),
            tags: Some(RefFilter::new(None, &strings(&["v1"]), RefKind::Tag)),
            paths: None,
        });
        assert_eq!(both.evaluate(&push(&GitRef::parse("refs/tags/v1"), &[])), PushDecision::Start);
    }

    #[test]
    fn deletions_skip_markers_and_other_refs() {
        let trigger = CiTrigger::default();
        let main = GitRef::parse("main");
        assert_eq!(
            trigger.evaluate(&Push { deleted: true, ..push(&main, &[]) }),
            PushDecision::Skip(SkipReason::RefDeleted)
        );
        for message in ["Fix [skip ci]", "[CI SKIP] docs", "x\n\nskip-checks: true", "***NO_CI***", "[azp skip]"] {
            let decision = trigger.evaluate(&Push { head_commit_message: Some(message), ..push(&main, &[]) });
            assert!(matches!(decision, PushDecision::Skip(SkipReason::SkipCi(_))), "{message}");
        }
        assert_eq!(
            trigger.evaluate(&Push { head_commit_message: Some("skip ci"), ..push(&main, &[]) }),
            PushDecision::Start
        );
        let pull = GitRef::parse("refs/pull/1/merge");
        assert_eq!(
            trigger.evaluate(&push(&pull, &[])),
            PushDecision::Skip(SkipReason::UnsupportedRef("refs/pull/1/merge".into()))
        );
        assert_eq!(CiTrigger::Disabled.evaluate(&push(&main, &[])), PushDecision::Skip(SkipReason::Disabled));
    }

    fn pr_trigger(drafts: bool, auto_cancel: bool, paths: Option<&[&str]>) -> PrTrigger {
        PrTrigger::Enabled(PrFilters {
            auto_cancel,
            drafts,
            branches: RefFilter::new(
                Some(&strings(&["main", "releases/*"])),
                &strings(&["releases/old*"]),
                RefKind::Branch,
            ),
            paths: paths.map(|include| PathFilter::new(&strings(include), &[])),
        })
    }

    #[test]
    fn pull_requests() {
        let paths = strings(&["src/a.rs"]);
        let pr = |action: &'static PullRequestAction, target: &'static str, draft: bool| PullRequest {
            action,
            target_branch: target,
            changed_paths: &[],
            draft,
        };
        let trigger = pr_trigger(true, true, None);
        assert_eq!(
            trigger.evaluate(&pr(&PullRequestAction::Opened, "main", false)),
            PrDecision::Start { cancel_in_progress: false }
        );
        assert_eq!(
            trigger.evaluate(&pr(&PullRequestAction::Synchronize, "refs/heads/main", false)),
            PrDecision::Start { cancel_in_progress: true }
        );
        assert_eq!(
            pr_trigger(true, false, None).evaluate(&pr(&PullRequestAction::Synchronize, "main", false)),
            PrDecision::Start { cancel_in_progress: false }
        );
        assert_eq!(
            trigger.evaluate(&pr(&PullRequestAction::Opened, "releases/old-2", false)),
            PrDecision::Skip(SkipReason::BranchNotIncluded("releases/old-2".into()))
        );
        assert_eq!(
            trigger.evaluate(&pr(&PullRequestAction::Opened, "main", true)),
            PrDecision::Start { cancel_in_progress: false }
        );
        assert_eq!(
            trigger.evaluate(&pr(&PullRequestAction::ReadyForReview, "main", false)),
            PrDecision::Skip(SkipReason::NotABuildAction("ready_for_review".into()))
        );
        let no_drafts = pr_trigger(false, true, None);
        assert_eq!(
            no_drafts.evaluate(&pr(&PullRequestAction::Opened, "main", true)),
            PrDecision::Skip(SkipReason::Draft)
        );
        assert_eq!(
            no_drafts.evaluate(&pr(&PullRequestAction::ReadyForReview, "main", false)),
            PrDecision::Start { cancel_in_progress: false }
        );
        assert_eq!(
            trigger.evaluate(&pr(&PullRequestAction::Closed { merged: true }, "main", false)),
            PrDecision::Skip(SkipReason::PullRequestClosed)
        );
        let with_paths = pr_trigger(true, true, Some(&["src"]));
        assert_eq!(
            with_paths.evaluate(&pr(&PullRequestAction::Opened, "main", false)),
            PrDecision::Skip(SkipReason::NoPathIncluded)
        );
        assert_eq!(
            with_paths
                .evaluate(&PullRequest { changed_paths: &paths, ..pr(&PullRequestAction::Opened, "main", false) }),
            PrDecision::Start { cancel_in_progress: false }
        );
        assert_eq!(
            PrTrigger::Disabled.evaluate(&pr(&PullRequestAction::Opened, "main", false)),
            PrDecision::Skip(SkipReason::Disabled)
        );
    }

    fn schedule(always: bool, batch: bool) -> Schedule {
        Schedule {
            cron_text: "0 0 * * *".into(),
            cron: CronSchedule::parse("0 0 * * *").unwrap_or_else(|e| panic!("{e}")),
            display_name: Some("Daily midnight build".into()),
            branches: RefFilter::new(
                Some(&strings(&["main", "releases/*"])),
                &strings(&["releases/ancient/*"]),
                RefKind::Branch,
            ),
            always,
            batch,
        }
    }

    /// The `always`/`batch` table of the `schedules.cron` page of the YAML schema.
    #[test]
    fn schedule_always_and_batch_table() {
        let tick = |changed, in_progress| ScheduleTick {
            branch: "main",
            changed_since_last_success: changed,
            scheduled_run_in_progress: in_progress,
        };
        let cases = [
            // always, batch, changed, in progress, starts
            (false, false, false, false, false),
            (false, false, true, false, true),
            (false, false, true, true, true),
            (false, true, true, false, true),
            (false, true, true, true, false),
            (false, true, false, false, false),
            (true, false, false, false, true),
            (true, false, false, true, true),
            (true, true, false, true, true),
        ];
        for (always, batch, changed, in_progress, starts) in cases {
            let decision = schedule(always, batch).evaluate(&tick(changed, in_progress));
            assert_eq!(
                decision == ScheduleDecision::Start,
                starts,
                "{always} {batch} {changed} {in_progress}: {decision:?}"
            );
        }
        assert_eq!(
            schedule(true, false).evaluate(&ScheduleTick { branch: "releases/ancient/1", ..tick(true, false) }),
            ScheduleDecision::Skip(SkipReason::BranchNotIncluded("releases/ancient/1".into()))
        );
    }

    #[test]
    fn due_schedules_per_branch() {
        let triggers = PipelineTriggers { schedules: vec![schedule(false, false)], ..PipelineTriggers::default() };
        let due =
            triggers.due_schedules("releases/2", datetime!(2024-03-04 0:00 UTC), datetime!(2024-03-05 0:00:05 UTC));
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].1, datetime!(2024-03-05 0:00 UTC));
        assert!(
            triggers
                .due_schedules("feature/x", datetime!(2024-03-04 0:00 UTC), datetime!(2024-03-05 1:00 UTC))
                .is_empty()
        );
        assert!(
            triggers.due_schedules("main", datetime!(2024-03-05 0:00 UTC), datetime!(2024-03-05 1:00 UTC)).is_empty()
        );
    }

    /// The examples of "Trigger one pipeline after another".
    #[test]
    fn pipeline_completion() {
        let lib = PipelineCompletionTrigger {
            alias: "securitylib".into(),
            source: "security-lib-ci".into(),
            project: None,
            branches: RefFilter::new(Some(&strings(&["releases/*"])), &strings(&["releases/old*"]), RefKind::Branch),
            stages: Vec::new(),
            tags: strings(&["Production", "Signed"]),
        };
        let tags = strings(&["signed", "production", "extra"]);
        let completion = PipelineCompletion {
            pipeline: "Security-Lib-CI",
            project: None,
            branch: "refs/heads/releases/2",
            tags: &tags,
            completed_stages: &[],
            succeeded: true,
        };
        assert!(lib.matches(&completion));
        assert!(!lib.matches(&PipelineCompletion { succeeded: false, ..completion }));
        assert!(!lib.matches(&PipelineCompletion { branch: "releases/old-1", ..completion }));
        assert!(!lib.matches(&PipelineCompletion { tags: &strings(&["Production"]), ..completion }));
        assert!(!lib.matches(&PipelineCompletion { pipeline: "other", ..completion }));
        let staged = PipelineCompletionTrigger {
            stages: strings(&["PreProduction", "Production"]),
            tags: Vec::new(),
            branches: RefFilter::all_branches(),
            project: Some("FabrikamProject".into()),
            ..lib.clone()
        };
        let stages = strings(&["PreProduction", "Production"]);
        let in_project = PipelineCompletion {
            project: Some("fabrikamproject"),
            completed_stages: &stages,
            succeeded: false,
            ..completion
        };
        assert!(staged.matches(&in_project));
        assert!(!staged.matches(&PipelineCompletion { completed_stages: &stages[..1], ..in_project }));
        assert!(!staged.matches(&PipelineCompletion { project: None, ..in_project }));
        let triggers = PipelineTriggers { pipelines: vec![lib, staged], ..PipelineTriggers::default() };
        assert_eq!(triggers.on_pipeline_completion(&completion).len(), 1);
    }

    #[test]
    fn skip_reasons_read_well() {
        insta::assert_snapshot!(
            [
                SkipReason::Disabled,
                SkipReason::BranchNotIncluded("dev".into()),
                SkipReason::TagNotIncluded("v3".into()),
                SkipReason::UnsupportedRef("refs/pull/1/merge".into()),
                SkipReason::NoPathIncluded,
                SkipReason::RefDeleted,
                SkipReason::SkipCi("[skip ci]"),
                SkipReason::Draft,
                SkipReason::PullRequestClosed,
                SkipReason::NotABuildAction("labeled".into()),
                SkipReason::NoChangesSinceLastScheduledRun,
                SkipReason::ScheduledRunInProgress,
            ]
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n"),
            @"
        the trigger is `none`
        branch `dev` is not included by the branch filters
        tag `v3` is not included by the branch or tag filters
        `refs/pull/1/merge` is neither a branch nor a tag
        no changed path is included by the path filters
        the push deleted the ref
        the head commit's message contains `[skip ci]`
        the pull request is a draft and `drafts` is false
        the pull request was closed
        a pull request `labeled` event does not start a run
        nothing changed since the last successful scheduled run and `always` is false
        a scheduled run is in progress and `batch` is true
        "
        );
    }
}
