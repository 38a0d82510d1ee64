//! When a GitHub Actions workflow runs: its `on:` read into typed triggers
//! ([`WorkflowTriggers::from_workflow`]) and decided with GitHub's rules, in the same shapes the
//! Azure side gives ([`PushDecision`], [`PrDecision`], [`ScheduleDecision`]) so the trigger
//! service can feed both front ends the same way.
//!
//! The rules are GitHub's documentation's (*Workflow syntax for GitHub Actions*: `on.push`,
//! `on.<pull_request|pull_request_target>`, paths, "Git diff comparisons", the filter pattern
//! cheat sheet, `on.schedule`, `on.workflow_dispatch.inputs`, `on.workflow_run`; *Events that
//! trigger workflows*; *Skipping workflow runs*):
//!
//! - `push`: branches and tags are matched by their short names with GitHub's patterns
//!   ([`pattern`]); "if you define only `tags`/`tags-ignore` or only `branches`/`branches-ignore`,
//!   the workflow won't run for events affecting the undefined Git ref", with neither it runs for
//!   both; with branch and path filters "the workflow will only run when both filters are
//!   satisfied"; "path filters are not evaluated for pushes of tags"; a push that changes no file
//!   does not pass a path filter ("if there are no files changed, the workflow will not run"), so a
//!   deletion runs only workflows without one (GitHub runs it at the default branch's head: "when
//!   you delete a branch, the SHA in the workflow run ... reverts to the default branch");
//! - "if you push more than 1,000 commits, or if GitHub does not generate the diff due to a
//!   timeout, the workflow will always run" (the path filter passes); "diffs are limited to 300
//!   files. If there are files changed that aren't matched in the first 300 files returned by the
//!   filter, the workflow will not run": only the first [`DIFF_FILE_LIMIT`] changed paths, in the
//!   order given (git's, sorted by path), are looked at;
//! - `pull_request` and `pull_request_target`: activity `types` default to `opened`,
//!   `synchronize` and `reopened`; `branches` match the base branch; paths as for pushes (the
//!   three-dot diff); `pull_request` does not run while the pull request has a merge conflict;
//! - `[skip ci]`, `[ci skip]`, `[no ci]`, `[skip actions]`, `[actions skip]` or a
//!   `skip-checks: true` trailer in the head commit's message skip `push` and `pull_request` (not
//!   `pull_request_target`); the markers are found whatever their case (the documentation does not
//!   say);
//! - `schedule`: POSIX cron in UTC ([`CronSchedule::parse_github`]), at most once every five
//!   minutes, and only for the default branch ("Scheduled workflows will only run on the default
//!   branch"); with `timezone`, the fields are read on that IANA zone's wall clock ("For
//!   schedules that set `timezone` to a time zone that observes daylight saving time (DST),
//!   during DST spring-forward transitions, scheduled workflows in skipped hours advance to the
//!   next valid time. For example, a 2:30 AM schedule advances to 3:00 AM"; a time repeated when
//!   clocks fall back, on which the documentation is silent, fires the first time only);
//! - `workflow_dispatch`: typed inputs, given values checked and defaults applied ([`dispatch`]);
//! - `workflow_run`: another workflow's run, by name (GitHub reads the names as filter patterns,
//!   and so does this module), of the listed activity `types` (all three by
//!   default), on a branch the branch filters select, whatever its conclusion, and not past the
//!   third level of a chain of `workflow_run` workflows;
//! - `workflow_call` marks a reusable workflow, which no event starts by itself.
//!
//! Which version of the workflow file an event reads is [`WorkflowEvent::workflow_version`]:
//! `push` and `pull_request` their own commit, `pull_request_target`, `schedule` and
//! `workflow_run` the default branch's, `workflow_dispatch` the ref a person chose.

pub mod pattern;
mod read;

use std::fmt;
use std::sync::OnceLock;

use jiff::tz::{AmbiguousOffset, TimeZone, TimeZoneDatabase};
use time::{Duration, OffsetDateTime};

use crate::cron::CronSchedule;
use crate::filter::GitRef;
use crate::triggers::{PipelineCompletion, PrDecision, PullRequestAction, PushDecision, ScheduleDecision, SkipReason};

pub use pattern::{Pattern, PatternError, PatternList};
pub use slipway_github::dispatch::{DispatchError, DispatchInput, DispatchTrigger, InputType, InputValue};

/// How many changed files GitHub's path filters look at ("Diffs are limited to 300 files").
pub const DIFF_FILE_LIMIT: usize = 300;

/// Above this many pushed commits a push passes the path filters ("If you push more than 1,000
/// commits ... the workflow will always run").
pub const PUSH_COMMIT_LIMIT: usize = 1000;

/// The shortest interval between two scheduled runs of a workflow ("The shortest interval you can
/// run scheduled workflows is once every 5 minutes").
pub const SCHEDULE_MIN_INTERVAL: Duration = Duration::minutes(5);

/// How many levels of `workflow_run` workflows may follow the first run ("You can't use
/// `workflow_run` to chain together more than three levels of workflows").
pub const WORKFLOW_RUN_MAX_DEPTH: usize = 3;

/// Every trigger of one workflow.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct WorkflowTriggers {
    /// `on.push`.
    pub push: Option<PushTrigger>,
    /// `on.pull_request`.
    pub pull_request: Option<PullRequestTrigger>,
    /// `on.pull_request_target`.
    pub pull_request_target: Option<PullRequestTrigger>,
    /// `on.schedule`.
    pub schedules: Vec<WorkflowSchedule>,
    /// `on.workflow_dispatch`.
    pub dispatch: Option<DispatchTrigger>,
    /// `on.workflow_run`.
    pub workflow_run: Option<WorkflowRunTrigger>,
    /// `on.workflow_call`: the workflow can be called by others.
    pub callable: bool,
    /// The other events named in `on` (`issues`, `release`, ...), which nothing here decides.
    pub other_events: Vec<String>,
}

/// A `branches`/`branches-ignore` (or `tags`/`tags-ignore`, `paths`/`paths-ignore`) filter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Filter {
    /// `branches`, `tags` or `paths`: what the list selects passes.
    Include(PatternList),
    /// The `-ignore` form: what the list selects does not pass.
    Ignore(PatternList),
}

impl Filter {
    /// Whether `name` passes.
    #[must_use]
    pub fn passes(&self, name: &str) -> bool {
        match self {
            Self::Include(list) => list.selects(name),
            Self::Ignore(list) => !list.selects(name),
        }
    }

    /// Whether the changed paths pass: with `paths`, at least one path is selected; with
    /// `paths-ignore`, at least one is not ignored ("When all the path names match patterns in
    /// `paths-ignore`, the workflow will not run").
    #[must_use]
    pub fn passes_any(&self, paths: &[String]) -> bool {
        paths.iter().any(|path| self.passes(path))
    }
}

/// `on.push`.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct PushTrigger {
    /// `branches` or `branches-ignore`.
    pub branches: Option<Filter>,
    /// `tags` or `tags-ignore`.
    pub tags: Option<Filter>,
    /// `paths` or `paths-ignore`.
    pub paths: Option<Filter>,
}

/// A push, as a workflow's `push` trigger needs to see it.
#[derive(Clone, Copy, Debug)]
pub struct WorkflowPush<'a> {
    /// The ref that was pushed.
    pub git_ref: &'a GitRef,
    /// The paths the push changed (for a new branch, against the parent of the deepest commit
    /// pushed), sorted as git lists them; `None` when the diff could not be computed.
    pub changed_paths: Option<&'a [String]>,
    /// The push deleted the ref.
    pub deleted: bool,
    /// The message of the pushed head commit.
    pub head_commit_message: Option<&'a str>,
    /// How many commits the push brought, when known.
    pub commits: Option<usize>,
}

impl<'a> WorkflowPush<'a> {
    /// The push the Azure side decides, seen by a workflow (its paths taken as complete).
    #[must_use]
    pub fn from_push(push: &crate::triggers::Push<'a>, commits: Option<usize>) -> Self {
        Self {
            git_ref: push.git_ref,
            changed_paths: Some(push.changed_paths),
            deleted: push.deleted,
            head_commit_message: push.head_commit_message,
            commits,
        }
    }
}

/// `on.pull_request` or `on.pull_request_target`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PullRequestTrigger {
    /// `types`, GitHub's default when absent.
    pub types: Vec<String>,
    /// `branches` or `branches-ignore`, matched against the base branch.
    pub branches: Option<Filter>,
    /// `paths` or `paths-ignore`.
    pub paths: Option<Filter>,
}

/// The activity types a pull request trigger has when it lists none.
pub const DEFAULT_PULL_REQUEST_TYPES: [&str; 3] = ["opened", "synchronize", "reopened"];

impl Default for PullRequestTrigger {
    fn default() -> Self {
        Self { types: DEFAULT_PULL_REQUEST_TYPES.map(str::to_owned).to_vec(), branches: None, paths: None }
    }
}

/// Which of the two pull request events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PullRequestEventKind {
    /// `pull_request`: runs the merge commit's workflow.
    PullRequest,
    /// `pull_request_target`: runs the base repository's default branch's workflow.
    PullRequestTarget,
}

impl PullRequestEventKind {
    /// The event's name in `on`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::PullRequest => "pull_request",
            Self::PullRequestTarget => "pull_request_target",
        }
    }
}

/// A pull request update, as a workflow's pull request trigger needs to see it.
#[derive(Clone, Copy, Debug)]
pub struct WorkflowPullRequest<'a> {
    /// What happened.
    pub action: &'a PullRequestAction,
    /// The base (target) branch, with or without `refs/heads/`.
    pub base_branch: &'a str,
    /// The paths it changes (three-dot diff), sorted; `None` when the diff could not be computed.
    pub changed_paths: Option<&'a [String]>,
    /// The message of its head commit.
    pub head_commit_message: Option<&'a str>,
    /// It cannot be merged because of a conflict.
    pub merge_conflict: bool,
}

impl<'a> WorkflowPullRequest<'a> {
    /// The pull request the Azure side decides, seen by a workflow.
    #[must_use]
    pub fn from_pull_request(pr: &crate::triggers::PullRequest<'a>, head_commit_message: Option<&'a str>) -> Self {
        Self {
            action: pr.action,
            base_branch: pr.target_branch,
            changed_paths: Some(pr.changed_paths),
            head_commit_message,
            merge_conflict: false,
        }
    }
}

/// GitHub's name of a pull request activity (`closed` whether merged or not).
#[must_use]
pub fn activity_type(action: &PullRequestAction) -> String {
    match action {
        PullRequestAction::Closed { .. } => "closed".to_owned(),
        other => other.to_string(),
    }
}

/// One entry of `on.schedule`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkflowSchedule {
    /// The cron expression as written (`github.event.schedule`).
    pub cron_text: String,
    /// The parsed expression (GitHub's reading).
    pub cron: CronSchedule,
    /// `timezone`: the IANA time zone the fields are read in; `None` is UTC.
    pub timezone: Option<TimeZone>,
}

/// The IANA time zone database compiled into the binary (no file is read).
pub(crate) fn time_zones() -> &'static TimeZoneDatabase {
    static DATABASE: OnceLock<TimeZoneDatabase> = OnceLock::new();
    DATABASE.get_or_init(TimeZoneDatabase::bundled)
}

/// A civil time of `zone` as an `OffsetDateTime` in UTC with the same fields, which is how
/// [`CronSchedule`] is asked about wall-clock times.
fn wall_clock(zone: &TimeZone, at: OffsetDateTime) -> Option<OffsetDateTime> {
    let local = zone.to_datetime(jiff::Timestamp::from_second(at.unix_timestamp()).ok()?);
    let date = time::Date::from_calendar_date(
        i32::from(local.year()),
        time::Month::try_from(u8::try_from(local.month()).ok()?).ok()?,
        u8::try_from(local.day()).ok()?,
    )
    .ok()?;
    let clock = time::Time::from_hms(u8::try_from(local.hour()).ok()?, u8::try_from(local.minute()).ok()?, 0).ok()?;
    Some(time::PrimitiveDateTime::new(date, clock).assume_utc())
}

/// The instant a wall-clock time of `zone` happens. A time skipped by a spring-forward
/// transition happens at the transition ("a 2:30 AM schedule advances to 3:00 AM"); a time that
/// happens twice (fall-back; the documentation does not say) happens the first time only.
fn instant(zone: &TimeZone, wall: OffsetDateTime) -> Option<OffsetDateTime> {
    let civil = jiff::civil::DateTime::new(
        i16::try_from(wall.year()).ok()?,
        i8::try_from(u8::from(wall.month())).ok()?,
        i8::try_from(wall.day()).ok()?,
        i8::try_from(wall.hour()).ok()?,
        i8::try_from(wall.minute()).ok()?,
        0,
        0,
    )
    .ok()?;
    let ambiguous = zone.to_ambiguous_timestamp(civil);
    let timestamp = match ambiguous.offset() {
        AmbiguousOffset::Gap { after, .. } => {
            let before_transition = after.to_timestamp(civil).ok()?;
            zone.following(before_transition).next()?.timestamp()
        }
        AmbiguousOffset::Unambiguous { .. } | AmbiguousOffset::Fold { .. } => ambiguous.earlier().ok()?,
    };
    OffsetDateTime::from_unix_timestamp(timestamp.as_second()).ok()
}

impl WorkflowSchedule {
    /// The latest fire time in `(since, now]`, if any and if it is at least
    /// [`SCHEDULE_MIN_INTERVAL`] after `since` (when the schedule last fired). With a
    /// `timezone`, the fields match the zone's wall clock (see [`WorkflowSchedule::timezone`]).
    #[must_use]
    pub fn due(&self, since: OffsetDateTime, now: OffsetDateTime) -> Option<OffsetDateTime> {
        let fire = match &self.timezone {
            None => self.cron.due(since, now),
            Some(zone) => self.last_in_zone(zone, now).filter(|&fire| fire > since),
        };
        fire.filter(|&fire| fire - since >= SCHEDULE_MIN_INTERVAL)
    }

    /// The first fire time strictly after `after` (for showing when a schedule runs next), with
    /// the same reading of `timezone` as [`WorkflowSchedule::due`]. The five-minute floor is not
    /// applied: it depends on when the schedule last fired.
    #[must_use]
    pub fn next_after(&self, after: OffsetDateTime) -> Option<OffsetDateTime> {
        let Some(zone) = &self.timezone else { return self.cron.next_after(after) };
        // Wall-clock times repeat when clocks fall back, so a few steps forward may be needed.
        let mut wall = wall_clock(zone, after)?.checked_sub(Duration::HOUR * 3)?;
        for _ in 0..(24 * 60) {
            let fire = self.cron.next_after(wall)?;
            let at = instant(zone, fire)?;
            if at > after {
                return Some(at);
            }
            wall = fire;
        }
        None
    }

    /// The last fire time at or before `now` in `zone`.
    fn last_in_zone(&self, zone: &TimeZone, now: OffsetDateTime) -> Option<OffsetDateTime> {
        let mut wall = wall_clock(zone, now)?;
        // A wall-clock time maps to an instant at or before `now`, except around a transition;
        // a few steps back always find one.
        for _ in 0..4 {
            let fire = self.cron.last_at_or_before(wall)?;
            let at = instant(zone, fire)?;
            if at <= now {
                return Some(at);
            }
            wall = fire.checked_sub(Duration::MINUTE)?;
        }
        None
    }

    /// Decides a fire time for `branch`: scheduled workflows run only on the default branch, and
    /// (unlike Azure) whether anything changed does not matter.
    #[must_use]
    pub fn evaluate(&self, branch: &str, default_branch: &str) -> ScheduleDecision {
        if short_branch(branch) == short_branch(default_branch) {
            ScheduleDecision::Start
        } else {
            ScheduleDecision::Skip(SkipReason::NotDefaultBranch(short_branch(branch).to_owned()))
        }
    }
}

/// `on.workflow_run`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkflowRunTrigger {
    /// `workflows`: the names of the workflows whose runs trigger this one. GitHub reads them as
    /// filter patterns (a name with `+` must escape it, as in `C\+\+`), which is how they are read
    /// here; a plain name matches itself exactly.
    pub workflows: PatternList,
    /// `types`; all of them when absent.
    pub types: Vec<WorkflowRunActivity>,
    /// `branches` or `branches-ignore`, matched against the branch the other run ran on.
    pub branches: Option<Filter>,
}

/// What happened to a workflow run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WorkflowRunActivity {
    /// `requested`.
    Requested,
    /// `in_progress`.
    InProgress,
    /// `completed`.
    Completed,
}

impl WorkflowRunActivity {
    /// Every activity, the default of `types`.
    pub const ALL: [Self; 3] = [Self::Requested, Self::InProgress, Self::Completed];

    /// Reads an activity's name.
    #[must_use]
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "requested" => Some(Self::Requested),
            "in_progress" => Some(Self::InProgress),
            "completed" => Some(Self::Completed),
            _ => None,
        }
    }
}

impl fmt::Display for WorkflowRunActivity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Requested => "requested",
            Self::InProgress => "in_progress",
            Self::Completed => "completed",
        })
    }
}

/// A run of another workflow (or pipeline), as `workflow_run` needs to see it.
#[derive(Clone, Copy, Debug)]
pub struct WorkflowRunEvent<'a> {
    /// The other workflow's name (its `name`, or its file's path when it has none).
    pub workflow: &'a str,
    /// What happened to the run.
    pub activity: WorkflowRunActivity,
    /// The branch it ran on, with or without `refs/heads/`.
    pub branch: &'a str,
    /// How many `workflow_run` triggers led to it (0 for a run started by anything else).
    pub depth: usize,
}

impl<'a> WorkflowRunEvent<'a> {
    /// The completed run the Azure side decides pipeline completion triggers with.
    #[must_use]
    pub fn completed(completion: &PipelineCompletion<'a>, depth: usize) -> Self {
        Self {
            workflow: completion.pipeline,
            activity: WorkflowRunActivity::Completed,
            branch: completion.branch,
            depth,
        }
    }
}

impl WorkflowRunTrigger {
    /// Whether `run` triggers this workflow. The conclusion does not matter ("A workflow run is
    /// triggered regardless of the conclusion of the previous workflow").
    #[must_use]
    pub fn matches(&self, run: &WorkflowRunEvent<'_>) -> bool {
        self.workflows.selects(run.workflow)
            && self.types.contains(&run.activity)
            && self.branches.as_ref().is_none_or(|filter| filter.passes(short_branch(run.branch)))
            && run.depth < WORKFLOW_RUN_MAX_DEPTH
    }
}

/// Which version of the workflow file an event runs ("the workflow file on the default branch" or
/// the event's own commit), so the caller reads the right one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WorkflowVersion {
    /// The pushed commit (`push`).
    PushedCommit,
    /// The pull request's merge commit (`pull_request`).
    MergeCommit,
    /// The head of the default branch (`pull_request_target`, `schedule`, `workflow_run`).
    DefaultBranch,
    /// The branch or tag a person chose (`workflow_dispatch`).
    ChosenRef,
}

/// The events this module decides.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WorkflowEvent {
    /// `push`.
    Push,
    /// `pull_request`.
    PullRequest,
    /// `pull_request_target`.
    PullRequestTarget,
    /// `schedule`.
    Schedule,
    /// `workflow_dispatch`.
    WorkflowDispatch,
    /// `workflow_run`.
    WorkflowRun,
}

impl WorkflowEvent {
    /// The version of the workflow file the event runs (*Events that trigger workflows*: each
    /// event's `GITHUB_SHA`, and "This event will only trigger a workflow run if the workflow file
    /// exists on the default branch" for `schedule` and `workflow_run`).
    #[must_use]
    pub fn workflow_version(self) -> WorkflowVersion {
        match self {
            Self::Push => WorkflowVersion::PushedCommit,
            Self::PullRequest => WorkflowVersion::MergeCommit,
            Self::PullRequestTarget | Self::Schedule | Self::WorkflowRun => WorkflowVersion::DefaultBranch,
            Self::WorkflowDispatch => WorkflowVersion::ChosenRef,
        }
    }
}

/// The marker in a commit message that skips `push` and `pull_request` runs, if any.
#[must_use]
pub fn skip_marker(message: &str) -> Option<&'static str> {
    const MARKERS: [&str; 5] = ["[skip ci]", "[ci skip]", "[no ci]", "[skip actions]", "[actions skip]"];
    let lower = message.to_lowercase();
    if let Some(marker) = MARKERS.into_iter().find(|marker| lower.contains(marker)) {
        return Some(marker);
    }
    // "end the commit message with two empty lines followed by either `skip-checks:true` or
    // `skip-checks: true`": a trailer in the message's last paragraph.
    let last_paragraph = lower.trim_end().rsplit("\n\n").next().unwrap_or_default();
    last_paragraph
        .lines()
        .map(str::trim)
        .any(|line| line == "skip-checks:true" || line == "skip-checks: true")
        .then_some("skip-checks: true")
}

fn short_branch(branch: &str) -> &str {
    branch.strip_prefix("refs/heads/").unwrap_or(branch)
}

/// The paths a path filter looks at: `None` (pass) when the diff is unknown or too many commits
/// were pushed, else the first [`DIFF_FILE_LIMIT`].
fn diff_paths(paths: Option<&[String]>, commits: Option<usize>) -> Option<&[String]> {
    let paths = paths?;
    if commits.is_some_and(|commits| commits > PUSH_COMMIT_LIMIT) {
        return None;
    }
    Some(&paths[..paths.len().min(DIFF_FILE_LIMIT)])
}

impl PushTrigger {
    /// Decides a push.
    #[must_use]
    pub fn evaluate(&self, push: &WorkflowPush<'_>) -> PushDecision {
        match push.git_ref {
            GitRef::Branch(branch) => {
                if self.branches.is_none() && self.tags.is_some() {
                    return PushDecision::Skip(SkipReason::OnlyOtherRefKind { kind: "tag", name: branch.clone() });
                }
                if self.branches.as_ref().is_some_and(|filter| !filter.passes(branch)) {
                    return PushDecision::Skip(SkipReason::BranchNotIncluded(branch.clone()));
                }
            }
            GitRef::Tag(tag) => {
                if self.tags.is_none() && self.branches.is_some() {
                    return PushDecision::Skip(SkipReason::OnlyOtherRefKind { kind: "branch", name: tag.clone() });
                }
                if self.tags.as_ref().is_some_and(|filter| !filter.passes(tag)) {
                    return PushDecision::Skip(SkipReason::TagNotIncluded(tag.clone()));
                }
            }
            GitRef::Other(name) => return PushDecision::Skip(SkipReason::UnsupportedRef(name.clone())),
        }
        if let Some(marker) = push.head_commit_message.and_then(skip_marker) {
            return PushDecision::Skip(SkipReason::SkipCi(marker));
        }
        if let (Some(filter), GitRef::Branch(_)) = (&self.paths, push.git_ref) {
            let changed = if push.deleted { Some(&[][..]) } else { diff_paths(push.changed_paths, push.commits) };
            if changed.is_some_and(|paths| !filter.passes_any(paths)) {
                return PushDecision::Skip(SkipReason::NoPathIncluded);
            }
        }
        PushDecision::Start
    }
}

impl PullRequestTrigger {
    /// Decides a pull request update for `kind`.
    #[must_use]
    pub fn evaluate(&self, kind: PullRequestEventKind, pr: &WorkflowPullRequest<'_>) -> PrDecision {
        let activity = activity_type(pr.action);
        if !self.types.contains(&activity) {
            return PrDecision::Skip(SkipReason::ActivityNotIncluded { event: kind.name(), activity });
        }
        let base = short_branch(pr.base_branch);
        if self.branches.as_ref().is_some_and(|filter| !filter.passes(base)) {
            return PrDecision::Skip(SkipReason::BranchNotIncluded(base.to_owned()));
        }
        if kind == PullRequestEventKind::PullRequest {
            if pr.merge_conflict {
                return PrDecision::Skip(SkipReason::MergeConflict);
            }
            if let Some(marker) = pr.head_commit_message.and_then(skip_marker) {
                return PrDecision::Skip(SkipReason::SkipCi(marker));
            }
        }
        if let Some(filter) = &self.paths
            && diff_paths(pr.changed_paths, None).is_some_and(|paths| !filter.passes_any(paths))
        {
            return PrDecision::Skip(SkipReason::NoPathIncluded);
        }
        // GitHub cancels nothing by itself: `concurrency` with `cancel-in-progress` does that.
        PrDecision::Start { cancel_in_progress: false }
    }
}

impl WorkflowTriggers {
    /// Whether the workflow only runs when another workflow calls it.
    #[must_use]
    pub fn is_reusable_only(&self) -> bool {
        self.callable
            && self.push.is_none()
            && self.pull_request.is_none()
            && self.pull_request_target.is_none()
            && self.schedules.is_empty()
            && self.dispatch.is_none()
            && self.workflow_run.is_none()
            && self.other_events.is_empty()
    }

    fn not_triggered(&self, event: &'static str) -> SkipReason {
        if self.is_reusable_only() { SkipReason::ReusableWorkflow } else { SkipReason::NotTriggeredBy(event) }
    }

    /// Decides a push.
    #[must_use]
    pub fn on_push(&self, push: &WorkflowPush<'_>) -> PushDecision {
        match &self.push {
            Some(trigger) => trigger.evaluate(push),
            None => PushDecision::Skip(self.not_triggered("push")),
        }
    }

    /// Decides a pull request update for `pull_request` or `pull_request_target`.
    #[must_use]
    pub fn on_pull_request(&self, kind: PullRequestEventKind, pr: &WorkflowPullRequest<'_>) -> PrDecision {
        let trigger = match kind {
            PullRequestEventKind::PullRequest => self.pull_request.as_ref(),
            PullRequestEventKind::PullRequestTarget => self.pull_request_target.as_ref(),
        };
        match trigger {
            Some(trigger) => trigger.evaluate(kind, pr),
            None => PrDecision::Skip(self.not_triggered(kind.name())),
        }
    }

    /// The schedules due at `now`, each with its fire time, given when they last fired (`since`).
    /// Whether each then starts a run is [`WorkflowSchedule::evaluate`].
    #[must_use]
    pub fn due_schedules(
        &self,
        since: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Vec<(&WorkflowSchedule, OffsetDateTime)> {
        self.schedules.iter().filter_map(|schedule| schedule.due(since, now).map(|fire| (schedule, fire))).collect()
    }

    /// Whether another workflow's run triggers this one.
    #[must_use]
    pub fn on_workflow_run(&self, run: &WorkflowRunEvent<'_>) -> bool {
        self.workflow_run.as_ref().is_some_and(|trigger| trigger.matches(run))
    }
}

#[cfg(test)]
mod tests;
