//! DORA's five software delivery performance metrics for one or more environments over a period,
//! from their deployments, and their series over days, weeks and months ([`series`]).
//!
//! The definitions, as DORA gives them (dora.dev, "DORA's software delivery metrics: the four
//! keys", <https://dora.dev/guides/dora-metrics/>, which since the 2024 report names five: change
//! lead time, deployment frequency and failed deployment recovery time for throughput; change
//! fail rate and deployment rework rate for instability), and as they are read here from
//! deployment records:
//!
//! - A deployment counts in the period when it **finished** in it (`start <= finished < end`);
//!   deployments still running, and skipped ones, are left out. A deployment is **successful**
//!   when its job succeeded (with or without issues) and its release was not rolled back.
//! - **Deployment frequency**: successful deployments in the period, per day and per week, the
//!   days (UTC) with at least one, and DORA's bucket: on demand (at least once a day), between
//!   once a day and once a week, between once a week and once a month, between once a month and
//!   once every six months, fewer. With no deployment in a period shorter than six months the
//!   bucket cannot be told.
//! - **Change lead time** (lead time for changes): for every change (commit) a successful
//!   deployment in the period brought (its `changes`: the commits since the previous successful
//!   deployment of the same resource), the time from the commit to the end of that deployment;
//!   the median. Changes whose commit time is unknown are counted apart, not guessed; a commit
//!   dated after its deployment (a skewed clock) counts as zero.
//! - **Change fail rate**: the deployments in the period that failed or needed remediation over
//!   all deployments in the period. A deployment failed when its job failed or was canceled or
//!   its outcome is `failed`; it needed remediation when its release was rolled back
//!   (`rolledBack`) or when a later manual rollback (`redeployed`) replaced it: the last
//!   successful deployment of the same target finished before the redeploy was queued, or when
//!   an incident in production was attributed to it (DevLake's rule for incidents pushed in:
//!   the last deployment of the environment that finished before the incident began).
//! - **Failed deployment recovery time**: from a failed deployment's end to the end of the next
//!   successful deployment of the same target (a redeploy is one; so is a success a manual
//!   rollback later replaced: it restored service until then). Failures in a row before one
//!   recovery are one episode, timed from its first failure. An episode with no recovery yet is
//!   listed as unrecovered, and not timed. The median over episodes recovered.
//! - **Deployment rework rate** (added in DORA's 2024 report): "the ratio of deployments that are
//!   unplanned and happen because of an incident in production". Slipway reads a deployment as
//!   unplanned rework when it finished in the period and it is
//!   1. a manual rollback (outcome `redeployed`: an earlier version deployed again), or
//!   2. made to recover from a failure: the last deployment of the same target that finished
//!      before it was queued failed itself (failed, canceled, rolled back, or outcome `failed`),
//!      whether this one then succeeds or not, or
//!   3. linked to an incident in production ([`Deployment::incident`]; Slipway records no
//!      incidents yet, deployments pushed from outside may say so).
//!
//!   over all deployments finished in the period (the change fail rate's denominator). DORA
//!   asks the question of the team's own view of "unplanned"; this reading makes it from the
//!   records alone, so a planned deployment that happens to follow a failure counts as rework.
//!
//! A **target** is an environment and a resource in it (both compared without regard to case):
//! remediation, recovery and rework are looked for on the same target only, so one history may
//! hold several environments (as GitLab's production tier does) without one's success
//! recovering another's failure.
//!
//! A deployment's identity ([`DeploymentRef`]) says where it was recorded: Slipway's own
//! deployments (`d42`) and deployments pushed from outside and kept in the event stream
//! (`e17`, CDEvents `service.deployed` or a DevLake webhook deployment) are measured alike.
//!
//! Performance levels are those of the clusters of DORA's [`REPORT_YEAR`] report, read as
//! thresholds (see [`Level`] and [`TIERS`]); DORA's 2025 report replaced the clusters with
//! archetypes, so 2024's are the latest.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::str::FromStr;

pub mod series;

pub use series::{Interval, Metric, Point, series};

/// The DORA report whose clusters the performance levels follow.
pub const REPORT_YEAR: u16 = 2024;

pub(crate) const SECOND: i64 = 1000;
const HOUR: i64 = 3600 * SECOND;
pub(crate) const DAY: i64 = 24 * HOUR;
const WEEK: i64 = 7 * DAY;
const MONTH: i64 = 30 * DAY;
const SIX_MONTHS: i64 = 182 * DAY;

/// One row of the tier table of DORA's [`REPORT_YEAR`] report: a metric and what each cluster
/// achieved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tier {
    /// The metric.
    pub metric: Metric,
    /// The elite cluster.
    pub elite: &'static str,
    /// The high cluster.
    pub high: &'static str,
    /// The medium cluster.
    pub medium: &'static str,
    /// The low cluster.
    pub low: &'static str,
}

/// The tier table of DORA's [`REPORT_YEAR`] report (Accelerate State of DevOps 2024). The report
/// gives no clusters for deployment rework rate.
pub const TIERS: [Tier; 4] = [
    Tier {
        metric: Metric::DeploymentFrequency,
        elite: "on demand (several a day)",
        high: "between once a day and once a week",
        medium: "between once a week and once a month",
        low: "between once a month and once every six months",
    },
    Tier {
        metric: Metric::LeadTimeForChanges,
        elite: "less than a day",
        high: "between a day and a week",
        medium: "between a week and a month",
        low: "between a month and six months",
    },
    Tier { metric: Metric::ChangeFailureRate, elite: "5%", high: "20%", medium: "10%", low: "40%" },
    Tier {
        metric: Metric::TimeToRestoreService,
        elite: "less than an hour",
        high: "less than a day",
        medium: "less than a day",
        low: "between a week and a month",
    },
];

/// A period that cannot be measured.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DoraError {
    /// The period ends before it starts, or is empty.
    #[error("the period from {start} to {end} (milliseconds since the epoch) is empty: it must end after it starts")]
    EmptyPeriod {
        /// Its start.
        start: i64,
        /// Its end.
        end: i64,
    },
}

/// Where a deployment was recorded, and its id there. Written `d42` for Slipway's deployment 42
/// and `e17` for the deployment event 17 of the event stream (one pushed from outside).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DeploymentRef {
    /// One of Slipway's own deployments (its deployment history).
    Deployment(i64),
    /// A deployment pushed from outside, kept in the event stream: the event's id.
    Event(i64),
}

impl fmt::Display for DeploymentRef {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Deployment(id) => write!(formatter, "d{id}"),
            Self::Event(id) => write!(formatter, "e{id}"),
        }
    }
}

/// A deployment reference that is neither `d<id>` nor `e<id>`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not a deployment reference: write d<id> for a deployment or e<id> for an event")]
pub struct BadDeploymentRef(pub String);

impl FromStr for DeploymentRef {
    type Err = BadDeploymentRef;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || BadDeploymentRef(text.to_owned());
        let (kind, id) = text.split_at_checked(1).ok_or_else(bad)?;
        if id.is_empty() || !id.bytes().all(|byte| byte.is_ascii_digit()) {
            return Err(bad());
        }
        let id: i64 = id.parse().map_err(|_| bad())?;
        match kind {
            "d" => Ok(Self::Deployment(id)),
            "e" => Ok(Self::Event(id)),
            _ => Err(bad()),
        }
    }
}

/// How a deployment's job ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobResult {
    /// It succeeded (with or without issues).
    Succeeded,
    /// It failed.
    Failed,
    /// It was canceled (or timed out).
    Canceled,
    /// It was skipped: it deployed nothing.
    Skipped,
}

/// How a release ended, as the deployment's `outcome` records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Its delivery tasks promoted it.
    Promoted,
    /// Its delivery tasks rolled it back.
    RolledBack,
    /// It is a manual rollback: an earlier version deployed again.
    Redeployed,
    /// It failed or was canceled and was not rolled back.
    Failed,
}

impl Outcome {
    /// The outcome a stored name means (`None` for no outcome or a name not known).
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "promoted" => Some(Self::Promoted),
            "rolledBack" => Some(Self::RolledBack),
            "redeployed" => Some(Self::Redeployed),
            "failed" => Some(Self::Failed),
            _ => None,
        }
    }
}

/// A commit a deployment brought.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The commit.
    pub commit: String,
    /// The commit's time (milliseconds since the epoch), when known.
    pub time: Option<i64>,
}

/// One deployment, as the metrics need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deployment {
    /// Its identity, with where it was recorded.
    pub id: DeploymentRef,
    /// The environment it deployed to (compared without regard to case).
    pub environment: String,
    /// The resource in the environment it deployed to, if any (compared without regard to case).
    pub resource: Option<String>,
    /// When its job was queued (for a deployment from outside: when it started).
    pub queued_at: i64,
    /// When it ended (`None` while it runs).
    pub finished_at: Option<i64>,
    /// How its job ended (`None` while it runs).
    pub result: Option<JobResult>,
    /// How its release ended.
    pub outcome: Option<Outcome>,
    /// The commits it brought, newest first, when they could be told.
    pub changes: Option<Vec<Change>>,
    /// Whether it was made because of an incident in production (linked to one).
    pub incident: bool,
    /// Whether an incident in production was attributed to it (it caused a failure that needed
    /// remediation): it counts as failed in the change failure rate.
    pub caused_incident: bool,
}

impl Deployment {
    /// One of Slipway's deployments of `environment`, as the store keeps it
    /// ([`slipway_store::Store::deployment_facts`]).
    #[must_use]
    pub fn from_facts(environment: &str, facts: &slipway_store::DeploymentFacts) -> Self {
        use slipway_events::TaskResult;
        Self {
            id: DeploymentRef::Deployment(facts.id.get()),
            environment: environment.to_owned(),
            resource: facts.resource.clone(),
            queued_at: facts.queued_at.millis(),
            finished_at: facts.finished_at.map(slipway_store::Timestamp::millis),
            result: facts.result.map(|result| match result {
                TaskResult::Succeeded | TaskResult::SucceededWithIssues => JobResult::Succeeded,
                TaskResult::Failed => JobResult::Failed,
                TaskResult::Canceled => JobResult::Canceled,
                TaskResult::Skipped => JobResult::Skipped,
            }),
            outcome: facts.outcome.as_deref().and_then(Outcome::from_name),
            changes: facts.changes.as_ref().map(|changes| {
                changes
                    .iter()
                    .map(|change| Change {
                        commit: change.commit.clone(),
                        time: change.time.map(slipway_store::Timestamp::millis),
                    })
                    .collect()
            }),
            incident: false,
            caused_incident: false,
        }
    }

    fn finished(&self) -> Option<i64> {
        self.result.filter(|result| *result != JobResult::Skipped).and(self.finished_at)
    }

    fn successful(&self) -> bool {
        self.finished().is_some()
            && self.result == Some(JobResult::Succeeded)
            && !matches!(self.outcome, Some(Outcome::RolledBack | Outcome::Failed))
    }

    fn failed_itself(&self) -> bool {
        self.finished().is_some()
            && (matches!(self.result, Some(JobResult::Failed | JobResult::Canceled))
                || matches!(self.outcome, Some(Outcome::RolledBack | Outcome::Failed))
                || self.caused_incident)
    }

    /// Its target: the environment and resource, folded to lower case.
    fn target(&self) -> Target {
        (self.environment.to_ascii_lowercase(), self.resource.as_deref().map(str::to_ascii_lowercase))
    }
}

/// A deployment's target: its environment and resource, folded to lower case.
type Target = (String, Option<String>);

/// A performance level: the DORA cluster a figure falls in, read as thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Elite.
    Elite,
    /// High.
    High,
    /// Medium.
    Medium,
    /// Low.
    Low,
}

impl Level {
    /// Its name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Elite => "elite",
            Self::High => "high",
            Self::Medium => "medium",
            Self::Low => "low",
        }
    }

    /// Deployment frequency's level: on demand is elite, daily to weekly high, weekly to monthly
    /// medium, anything rarer low.
    fn of_frequency(bucket: FrequencyBucket) -> Self {
        match bucket {
            FrequencyBucket::OnDemand => Self::Elite,
            FrequencyBucket::DailyToWeekly => Self::High,
            FrequencyBucket::WeeklyToMonthly => Self::Medium,
            FrequencyBucket::MonthlyToSixMonthly | FrequencyBucket::Fewer => Self::Low,
        }
    }

    /// Lead time's level: under a day elite, under a week high, under a month medium, else low.
    fn of_lead_time(milliseconds: i64) -> Self {
        if milliseconds < DAY {
            Self::Elite
        } else if milliseconds < WEEK {
            Self::High
        } else if milliseconds < MONTH {
            Self::Medium
        } else {
            Self::Low
        }
    }

    /// Change failure rate's level: at most 5% elite, at most 20% high, else low. The report's
    /// medium cluster (10%) lies inside the high one's (20%), so the rate alone never says
    /// medium.
    fn of_failure_rate(rate: f64) -> Self {
        if rate <= 0.05 {
            Self::Elite
        } else if rate <= 0.20 {
            Self::High
        } else {
            Self::Low
        }
    }

    /// Recovery time's level: under an hour elite, under a day high (the report's medium cluster
    /// also recovers in under a day), else low.
    fn of_recovery(milliseconds: i64) -> Self {
        if milliseconds < HOUR {
            Self::Elite
        } else if milliseconds < DAY {
            Self::High
        } else {
            Self::Low
        }
    }
}

/// How often DORA's deployment frequency question is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrequencyBucket {
    /// At least once a day (on demand).
    OnDemand,
    /// Between once a day and once a week.
    DailyToWeekly,
    /// Between once a week and once a month.
    WeeklyToMonthly,
    /// Between once a month and once every six months.
    MonthlyToSixMonthly,
    /// Fewer than once every six months.
    Fewer,
}

impl FrequencyBucket {
    /// Its name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OnDemand => "onDemand",
            Self::DailyToWeekly => "dailyToWeekly",
            Self::WeeklyToMonthly => "weeklyToMonthly",
            Self::MonthlyToSixMonthly => "monthlyToSixMonthly",
            Self::Fewer => "fewer",
        }
    }

    /// The bucket of `count` deployments over `length` milliseconds; `None` when there were none
    /// and the period is too short to say "fewer than once every six months".
    fn of(count: usize, length: i64) -> Option<Self> {
        if count == 0 {
            return (length >= SIX_MONTHS).then_some(Self::Fewer);
        }
        // The mean time between deployments, compared with each bucket's bound.
        let between = length as f64 / count as f64;
        Some(if between <= DAY as f64 {
            Self::OnDemand
        } else if between <= WEEK as f64 {
            Self::DailyToWeekly
        } else if between <= MONTH as f64 {
            Self::WeeklyToMonthly
        } else if between <= SIX_MONTHS as f64 {
            Self::MonthlyToSixMonthly
        } else {
            Self::Fewer
        })
    }
}

/// Deployment frequency.
#[derive(Debug, Clone, PartialEq)]
pub struct DeploymentFrequency {
    /// Successful deployments in the period.
    pub deployments: usize,
    /// Days (UTC) with at least one.
    pub deployment_days: usize,
    /// Per day.
    pub per_day: f64,
    /// Per week.
    pub per_week: f64,
    /// DORA's bucket, when it can be told.
    pub bucket: Option<FrequencyBucket>,
    /// Its level.
    pub level: Option<Level>,
    /// The deployments counted, in the order they finished.
    pub deployment_ids: Vec<DeploymentRef>,
}

/// Lead time for changes.
#[derive(Debug, Clone, PartialEq)]
pub struct LeadTime {
    /// Changes with a known commit time brought by successful deployments in the period.
    pub changes: usize,
    /// Changes whose commit time is not known (left out).
    pub changes_without_time: usize,
    /// Successful deployments in the period whose changes could not be told (the first to a
    /// resource, or a checkout that was gone).
    pub deployments_without_changes: usize,
    /// The median, in milliseconds.
    pub median_ms: Option<i64>,
    /// Its level.
    pub level: Option<Level>,
    /// The deployments whose changes were measured.
    pub deployment_ids: Vec<DeploymentRef>,
}

/// Change failure rate.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeFailureRate {
    /// Deployments finished in the period.
    pub deployments: usize,
    /// Those that failed or needed remediation.
    pub failures: usize,
    /// `failures / deployments`, when there were deployments.
    pub rate: Option<f64>,
    /// Its level.
    pub level: Option<Level>,
    /// The deployments counted.
    pub deployment_ids: Vec<DeploymentRef>,
    /// The failures among them.
    pub failure_ids: Vec<DeploymentRef>,
}

/// A failure episode and its recovery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovery {
    /// The failed deployments, in the order they finished.
    pub failed: Vec<DeploymentRef>,
    /// The successful deployment that recovered, if any yet.
    pub recovered_by: Option<DeploymentRef>,
    /// From the first failure's end to the recovery's, in milliseconds.
    pub duration_ms: Option<i64>,
}

/// Failed deployment recovery time.
#[derive(Debug, Clone, PartialEq)]
pub struct RecoveryTime {
    /// The failure episodes that started in the period, recovered or not.
    pub episodes: Vec<Recovery>,
    /// The median over the episodes recovered, in milliseconds.
    pub median_ms: Option<i64>,
    /// Its level.
    pub level: Option<Level>,
}

/// Deployment rework rate.
#[derive(Debug, Clone, PartialEq)]
pub struct ReworkRate {
    /// Deployments finished in the period.
    pub deployments: usize,
    /// Those that were unplanned rework (see the module's documentation).
    pub reworked: usize,
    /// `reworked / deployments`, when there were deployments.
    pub rate: Option<f64>,
    /// The rework among the deployments, in the order they finished.
    pub rework_ids: Vec<DeploymentRef>,
}

/// The five metrics over a period.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// The period's start (milliseconds since the epoch).
    pub start: i64,
    /// Its end (excluded).
    pub end: i64,
    /// Deployment frequency.
    pub deployment_frequency: DeploymentFrequency,
    /// Lead time for changes.
    pub lead_time: LeadTime,
    /// Change failure rate.
    pub change_failure_rate: ChangeFailureRate,
    /// Failed deployment recovery time.
    pub recovery_time: RecoveryTime,
    /// Deployment rework rate (no level: the report gives no clusters for it).
    pub rework_rate: ReworkRate,
}

/// A history of deployments read once (sorted, failures, remediations, rework and recovery
/// episodes found) and then measured over any number of periods and buckets.
#[derive(Debug)]
pub struct History<'a> {
    /// Finished deployments by the time they finished (then id).
    finished: Vec<&'a Deployment>,
    /// Their end times, in the same order.
    times: Vec<i64>,
    /// Their lead times (milliseconds), for the successful ones whose changes are known, and
    /// the number of their changes without a time.
    leads: Vec<Option<(Vec<i64>, usize)>>,
    /// Whether each failed or needed remediation.
    failed: Vec<bool>,
    /// Whether each was rework.
    rework: Vec<bool>,
    /// Failure episodes, by their first failure's end: that end and the episode.
    episodes: Vec<(i64, Recovery)>,
}

impl<'a> History<'a> {
    /// Reads `deployments` (any order). Pass the deployments up to the present, not just those
    /// of the periods to measure: a remediation or a recovery after a period still counts for a
    /// failure in it.
    #[must_use]
    pub fn new(deployments: &'a [Deployment]) -> Self {
        let mut finished: Vec<&Deployment> = deployments.iter().filter(|item| item.finished().is_some()).collect();
        finished.sort_by_key(|item| (item.finished_at, item.id));
        let times: Vec<i64> = finished.iter().map(|item| item.finished_at.unwrap_or_default()).collect();
        let index: HashMap<DeploymentRef, usize> =
            finished.iter().enumerate().map(|(position, item)| (item.id, position)).collect();
        // Each target's finished deployments, in the order they finished.
        let mut targets: HashMap<Target, Vec<usize>> = HashMap::new();
        let keys: Vec<Target> = finished.iter().map(|item| item.target()).collect();
        for (position, key) in keys.iter().enumerate() {
            targets.entry(key.clone()).or_default().push(position);
        }
        // The last finished deployment of `deployment`'s target (not itself) that finished by
        // `at`, and the positions before it.
        let before = |key: &Target, at: i64| -> &[usize] {
            let positions = targets.get(key).map_or(&[][..], Vec::as_slice);
            let end = positions.partition_point(|position| times[*position] <= at);
            &positions[..end]
        };

        // Failures: those that failed themselves, and those a manual rollback replaced.
        let mut failed: Vec<bool> = finished.iter().map(|item| item.failed_itself()).collect();
        for redeploy in deployments.iter().filter(|item| item.outcome == Some(Outcome::Redeployed)) {
            let replaced = before(&redeploy.target(), redeploy.queued_at)
                .iter()
                .rev()
                .find(|position| finished[**position].id != redeploy.id && finished[**position].successful());
            if let Some(replaced) = replaced {
                failed[*replaced] = true;
            }
        }

        // Rework: manual rollbacks, deployments after a failure of their target, incidents.
        let rework: Vec<bool> = finished
            .iter()
            .zip(&keys)
            .map(|(item, key)| {
                item.outcome == Some(Outcome::Redeployed)
                    || item.incident
                    || before(key, item.queued_at)
                        .iter()
                        .rev()
                        .find(|position| finished[**position].id != item.id)
                        .is_some_and(|position| finished[*position].failed_itself())
            })
            .collect();

        // Lead times of successful deployments.
        let leads = finished
            .iter()
            .map(|item| {
                let (true, Some(changes), Some(at)) = (item.successful(), &item.changes, item.finished_at) else {
                    return None;
                };
                let times = changes.iter().filter_map(|change| change.time).map(|time| at.saturating_sub(time).max(0));
                Some((times.collect(), changes.iter().filter(|change| change.time.is_none()).count()))
            })
            .collect();

        // Recovery: per target, failures in a row up to the next success.
        let mut episodes: Vec<(i64, Recovery)> = Vec::new();
        let mut open: HashMap<&Target, (i64, Vec<DeploymentRef>)> = HashMap::new();
        for (position, item) in finished.iter().enumerate() {
            let key = &keys[position];
            // A success closes its target's episode, even one a manual rollback later replaced:
            // it restored service until then.
            if item.successful()
                && let Some((first_end, ids)) = open.remove(key)
            {
                let duration = times[position] - first_end;
                episodes.push((
                    first_end,
                    Recovery { failed: ids, recovered_by: Some(item.id), duration_ms: Some(duration) },
                ));
            }
            if failed[position] {
                open.entry(key).or_insert_with(|| (times[position], Vec::new())).1.push(item.id);
            }
        }
        for (first_end, ids) in open.into_values() {
            episodes.push((first_end, Recovery { failed: ids, recovered_by: None, duration_ms: None }));
        }
        episodes.sort_by_key(|(first_end, episode)| {
            (*first_end, episode.failed.first().and_then(|id| index.get(id)).copied())
        });
        Self { finished, times, leads, failed, rework, episodes }
    }

    /// The positions of the deployments that finished in `start..end`.
    fn range(&self, start: i64, end: i64) -> std::ops::Range<usize> {
        self.times.partition_point(|at| *at < start)..self.times.partition_point(|at| *at < end)
    }

    /// The episodes whose first failure ended in `start..end`.
    fn episodes_in(&self, start: i64, end: i64) -> &[(i64, Recovery)] {
        let first = self.episodes.partition_point(|(at, _)| *at < start);
        let last = self.episodes.partition_point(|(at, _)| *at < end);
        &self.episodes[first..last]
    }

    /// The five metrics over `start..end`.
    ///
    /// # Errors
    /// [`DoraError::EmptyPeriod`] when `end <= start`.
    pub fn report(&self, start: i64, end: i64) -> Result<Report, DoraError> {
        if end <= start {
            return Err(DoraError::EmptyPeriod { start, end });
        }
        let length = end - start;
        let range = self.range(start, end);
        let counted = &self.finished[range.clone()];

        // Deployment frequency.
        let successes: Vec<&Deployment> = counted.iter().copied().filter(|item| item.successful()).collect();
        let days: BTreeSet<i64> =
            successes.iter().filter_map(|item| item.finished_at).map(|at| at.div_euclid(DAY)).collect();
        let per_day = successes.len() as f64 * DAY as f64 / length as f64;
        let bucket = FrequencyBucket::of(successes.len(), length);
        let deployment_frequency = DeploymentFrequency {
            deployments: successes.len(),
            deployment_days: days.len(),
            per_day,
            per_week: per_day * 7.0,
            bucket,
            level: bucket.map(Level::of_frequency),
            deployment_ids: successes.iter().map(|item| item.id).collect(),
        };

        // Lead time for changes.
        let mut lead_times = Vec::new();
        let mut without_time = 0;
        let mut measured = Vec::new();
        for position in range.clone() {
            if let Some((times, untimed)) = &self.leads[position] {
                measured.push(self.finished[position].id);
                lead_times.extend_from_slice(times);
                without_time += untimed;
            }
        }
        let lead_median = median(&mut lead_times);
        let lead_time = LeadTime {
            changes: lead_times.len(),
            changes_without_time: without_time,
            deployments_without_changes: successes.len() - measured.len(),
            median_ms: lead_median,
            level: lead_median.map(Level::of_lead_time),
            deployment_ids: measured,
        };

        // Change failure rate.
        let ids = |flags: &[bool]| -> Vec<DeploymentRef> {
            range.clone().filter(|position| flags[*position]).map(|position| self.finished[position].id).collect()
        };
        let failure_ids = ids(&self.failed);
        let rate = (!counted.is_empty()).then(|| failure_ids.len() as f64 / counted.len() as f64);
        let change_failure_rate = ChangeFailureRate {
            deployments: counted.len(),
            failures: failure_ids.len(),
            rate,
            level: rate.map(Level::of_failure_rate),
            deployment_ids: counted.iter().map(|item| item.id).collect(),
            failure_ids,
        };

        // Recovery.
        let episodes: Vec<Recovery> = self.episodes_in(start, end).iter().map(|(_, episode)| episode.clone()).collect();
        let mut durations: Vec<i64> = episodes.iter().filter_map(|episode| episode.duration_ms).collect();
        let recovery_median = median(&mut durations);
        let recovery_time =
            RecoveryTime { episodes, median_ms: recovery_median, level: recovery_median.map(Level::of_recovery) };

        // Rework.
        let rework_ids = ids(&self.rework);
        let rework_rate = ReworkRate {
            deployments: counted.len(),
            reworked: rework_ids.len(),
            rate: (!counted.is_empty()).then(|| rework_ids.len() as f64 / counted.len() as f64),
            rework_ids,
        };

        Ok(Report { start, end, deployment_frequency, lead_time, change_failure_rate, recovery_time, rework_rate })
    }

    /// One metric's value over `start..end` (not empty) and how many things it rests on
    /// (deployments, changes or recovered episodes): deployment frequency as successful
    /// deployments (`per_day`: per day over the period instead), the time metrics as medians in
    /// seconds, the rates as ratios; `None` when there is nothing to measure.
    pub(crate) fn value(&self, metric: Metric, start: i64, end: i64, per_day: bool) -> (Option<f64>, usize) {
        let range = self.range(start, end);
        match metric {
            Metric::DeploymentFrequency => {
                let count = range.filter(|position| self.finished[*position].successful()).count();
                let value = if per_day { count as f64 * DAY as f64 / (end - start) as f64 } else { count as f64 };
                (Some(value), count)
            }
            Metric::LeadTimeForChanges => {
                let mut times: Vec<i64> = range
                    .filter_map(|position| self.leads[position].as_ref())
                    .flat_map(|(times, _)| times)
                    .copied()
                    .collect();
                (median(&mut times).map(seconds), times.len())
            }
            Metric::ChangeFailureRate | Metric::ReworkRate => {
                let flags = if metric == Metric::ChangeFailureRate { &self.failed } else { &self.rework };
                let total = range.len();
                let count = flags[range].iter().filter(|flag| **flag).count();
                ((total > 0).then(|| count as f64 / total as f64), total)
            }
            Metric::TimeToRestoreService => {
                let mut durations: Vec<i64> =
                    self.episodes_in(start, end).iter().filter_map(|(_, episode)| episode.duration_ms).collect();
                (median(&mut durations).map(seconds), durations.len())
            }
        }
    }
}

/// Milliseconds as seconds.
fn seconds(milliseconds: i64) -> f64 {
    milliseconds as f64 / SECOND as f64
}

/// The five metrics over `start..end` from deployments in any order (see [`History::new`]).
///
/// # Errors
/// [`DoraError::EmptyPeriod`] when `end <= start`.
pub fn compute(deployments: &[Deployment], start: i64, end: i64) -> Result<Report, DoraError> {
    History::new(deployments).report(start, end)
}

/// The median (the mean of the middle two for an even count, rounded down); `None` for none.
fn median(values: &mut [i64]) -> Option<i64> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    let middle = values.len() / 2;
    Some(if values.len() % 2 == 1 {
        values[middle]
    } else {
        let (low, high) = (values[middle - 1], values[middle]);
        low + (high - low) / 2
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use DeploymentRef::Deployment as D;

    fn d(ids: &[i64]) -> Vec<DeploymentRef> {
        ids.iter().copied().map(D).collect()
    }

    const START: i64 = 1_700_000_000_000 - 1_700_000_000_000 % DAY;
    const END: i64 = START + 30 * DAY;

    fn deployment(id: i64, finished: i64, result: JobResult) -> Deployment {
        Deployment {
            id: D(id),
            environment: "production".to_owned(),
            resource: None,
            queued_at: finished - 10 * 60 * SECOND,
            finished_at: Some(finished),
            result: Some(result),
            outcome: None,
            changes: None,
            incident: false,
            caused_incident: false,
        }
    }

    fn ok(id: i64, finished: i64) -> Deployment {
        deployment(id, finished, JobResult::Succeeded)
    }

    fn with_changes(mut deployment: Deployment, times: &[Option<i64>]) -> Deployment {
        deployment.changes = Some(
            times.iter().enumerate().map(|(index, time)| Change { commit: format!("c{index}"), time: *time }).collect(),
        );
        deployment
    }

    fn report(deployments: &[Deployment]) -> Report {
        compute(deployments, START, END).expect("a valid period")
    }

    #[test]
    fn an_empty_period_is_an_error() {
        assert_eq!(compute(&[], END, START), Err(DoraError::EmptyPeriod { start: END, end: START }));
        assert!(compute(&[], START, START).is_err());
    }

    #[test]
    fn no_deployments_gives_no_figures_and_no_levels() {
        let report = report(&[]);
        let frequency = &report.deployment_frequency;
        assert_eq!((frequency.deployments, frequency.deployment_days, frequency.per_day), (0, 0, 0.0));
        // Thirty days without a deployment cannot tell "fewer than once every six months".
        assert_eq!((frequency.bucket, frequency.level), (None, None));
        assert_eq!((report.lead_time.changes, report.lead_time.median_ms, report.lead_time.level), (0, None, None));
        assert_eq!((report.change_failure_rate.deployments, report.change_failure_rate.rate), (0, None));
        assert_eq!(report.change_failure_rate.level, None);
        assert!(report.recovery_time.episodes.is_empty());
        assert_eq!((report.recovery_time.median_ms, report.recovery_time.level), (None, None));
        // A year without one can.
        let year = compute(&[], START, START + 365 * DAY).expect("a valid period");
        assert_eq!(year.deployment_frequency.bucket, Some(FrequencyBucket::Fewer));
        assert_eq!(year.deployment_frequency.level, Some(Level::Low));
    }

    #[test]
    fn frequency_counts_successful_deployments_finished_in_the_period() {
        let mut rolled_back = ok(5, START + 3 * DAY);
        rolled_back.outcome = Some(Outcome::RolledBack);
        let mut running = ok(6, START + 4 * DAY);
        running.finished_at = None;
        running.result = None;
        let deployments = [
            ok(1, START - 1),                                  // before the period
            ok(2, START),                                      // its first millisecond
            ok(3, START + 2 * HOUR),                           // the same day
            deployment(4, START + 2 * DAY, JobResult::Failed), // not successful
            rolled_back,
            running,
            deployment(7, START + 5 * DAY, JobResult::Skipped),
            ok(8, START + 10 * DAY),
            ok(9, END), // just after
        ];
        let frequency = report(&deployments).deployment_frequency;
        assert_eq!(frequency.deployment_ids, d(&[2, 3, 8]));
        assert_eq!((frequency.deployments, frequency.deployment_days), (3, 2));
        assert!((frequency.per_day - 0.1).abs() < 1e-9);
        assert!((frequency.per_week - 0.7).abs() < 1e-9);
        // One every ten days: between once a week and once a month.
        assert_eq!(frequency.bucket, Some(FrequencyBucket::WeeklyToMonthly));
        assert_eq!(frequency.level, Some(Level::Medium));
    }

    #[test]
    fn frequency_buckets_follow_the_mean_time_between_deployments() {
        let length = 30 * DAY;
        assert_eq!(FrequencyBucket::of(60, length), Some(FrequencyBucket::OnDemand));
        assert_eq!(FrequencyBucket::of(30, length), Some(FrequencyBucket::OnDemand));
        assert_eq!(FrequencyBucket::of(29, length), Some(FrequencyBucket::DailyToWeekly));
        assert_eq!(FrequencyBucket::of(5, length), Some(FrequencyBucket::DailyToWeekly));
        assert_eq!(FrequencyBucket::of(4, length), Some(FrequencyBucket::WeeklyToMonthly));
        assert_eq!(FrequencyBucket::of(1, length), Some(FrequencyBucket::WeeklyToMonthly));
        assert_eq!(FrequencyBucket::of(1, 90 * DAY), Some(FrequencyBucket::MonthlyToSixMonthly));
        assert_eq!(FrequencyBucket::of(1, 365 * DAY), Some(FrequencyBucket::Fewer));
    }

    #[test]
    fn lead_time_is_the_median_from_commit_to_its_successful_deployment() {
        let at = START + 5 * DAY;
        let deployments = [
            // Commits 1, 2 and 4 hours before; one with no time; one dated after (skew).
            with_changes(ok(1, at), &[Some(at - HOUR), Some(at - 2 * HOUR), None, Some(at + 5 * SECOND)]),
            with_changes(ok(2, at + DAY), &[Some(at + DAY - 4 * HOUR)]),
            // A failed deployment's changes come again with the next success: not counted.
            with_changes(deployment(3, at + 2 * DAY, JobResult::Failed), &[Some(START)]),
            // The first deployment to a resource has no changes to tell.
            ok(4, at + 3 * DAY),
        ];
        let lead = report(&deployments).lead_time;
        assert_eq!((lead.changes, lead.changes_without_time, lead.deployments_without_changes), (4, 1, 1));
        assert_eq!(lead.deployment_ids, d(&[1, 2]));
        // 0, 1h, 2h, 4h: the median is 1.5 hours.
        assert_eq!(lead.median_ms, Some(HOUR + HOUR / 2));
        assert_eq!(lead.level, Some(Level::Elite));
        assert_eq!(Level::of_lead_time(DAY), Level::High);
        assert_eq!(Level::of_lead_time(WEEK), Level::Medium);
        assert_eq!(Level::of_lead_time(MONTH), Level::Low);
    }

    #[test]
    fn no_failures_gives_a_zero_rate_and_no_recoveries() {
        let report = report(&[ok(1, START + DAY), ok(2, START + 2 * DAY)]);
        assert_eq!(report.change_failure_rate.rate, Some(0.0));
        assert_eq!(report.change_failure_rate.level, Some(Level::Elite));
        assert!(report.change_failure_rate.failure_ids.is_empty());
        assert!(report.recovery_time.episodes.is_empty());
        assert_eq!(report.recovery_time.median_ms, None);
    }

    #[test]
    fn failures_are_failed_canceled_rolled_back_and_replaced_deployments() {
        let mut rolled_back = ok(3, START + 3 * DAY);
        rolled_back.outcome = Some(Outcome::RolledBack);
        let mut marked = ok(4, START + 4 * DAY);
        marked.outcome = Some(Outcome::Failed);
        // Deployment 6 went out fine, then was replaced by a manual rollback (7) to 5's version.
        let mut redeploy = ok(7, START + 7 * DAY);
        redeploy.queued_at = START + 6 * DAY + HOUR;
        redeploy.outcome = Some(Outcome::Redeployed);
        let deployments = [
            deployment(1, START + DAY, JobResult::Failed),
            deployment(2, START + 2 * DAY, JobResult::Canceled),
            rolled_back,
            marked,
            ok(5, START + 5 * DAY),
            ok(6, START + 6 * DAY),
            redeploy,
            ok(8, START + 8 * DAY),
            deployment(9, START + 9 * DAY, JobResult::Skipped),
            deployment(10, START - DAY, JobResult::Failed),
        ];
        let rate = report(&deployments).change_failure_rate;
        assert_eq!(rate.deployment_ids, d(&[1, 2, 3, 4, 5, 6, 7, 8]));
        assert_eq!(rate.failure_ids, d(&[1, 2, 3, 4, 6]));
        assert_eq!(rate.rate, Some(5.0 / 8.0));
        assert_eq!(rate.level, Some(Level::Low));
        assert_eq!(Level::of_failure_rate(0.05), Level::Elite);
        assert_eq!(Level::of_failure_rate(0.10), Level::High);
        assert_eq!(Level::of_failure_rate(0.21), Level::Low);
    }

    #[test]
    fn recovery_is_timed_from_the_first_failure_to_the_next_success_of_the_same_resource() {
        let web = |mut deployment: Deployment| {
            deployment.resource = Some("web".to_owned());
            deployment
        };
        let deployments = [
            // An episode of two failures, recovered two hours after the first.
            deployment(1, START + DAY, JobResult::Failed),
            deployment(2, START + DAY + HOUR, JobResult::Failed),
            // Another resource's success does not recover it.
            web(ok(3, START + DAY + 90 * 60 * SECOND)),
            ok(4, START + DAY + 2 * HOUR),
            // Another resource's failure, recovered in 30 minutes (its name's case aside).
            web(deployment(5, START + 3 * DAY, JobResult::Failed)),
            {
                let mut recovered = ok(6, START + 3 * DAY + 30 * 60 * SECOND);
                recovered.resource = Some("Web".to_owned());
                recovered
            },
            // A failure never recovered in the period.
            deployment(7, START + 20 * DAY, JobResult::Failed),
        ];
        let recovery = report(&deployments).recovery_time;
        assert_eq!(
            recovery.episodes,
            vec![
                Recovery { failed: d(&[1, 2]), recovered_by: Some(D(4)), duration_ms: Some(2 * HOUR) },
                Recovery { failed: d(&[5]), recovered_by: Some(D(6)), duration_ms: Some(30 * 60 * SECOND) },
                Recovery { failed: d(&[7]), recovered_by: None, duration_ms: None },
            ]
        );
        // The median of 2 hours and 30 minutes.
        assert_eq!(recovery.median_ms, Some(75 * 60 * SECOND));
        assert_eq!(recovery.level, Some(Level::High));
    }

    #[test]
    fn a_manual_rollback_recovers_the_deployment_it_replaced_and_a_recovery_after_the_period_counts() {
        let mut redeploy = ok(2, START + 2 * DAY);
        redeploy.queued_at = START + 2 * DAY - HOUR;
        redeploy.outcome = Some(Outcome::Redeployed);
        let deployments = [
            ok(1, START + DAY),
            redeploy,
            // A failure on the period's last day, recovered the day after it.
            deployment(3, END - HOUR, JobResult::Failed),
            ok(4, END + HOUR),
            // A failure before the period, recovered in it (by 1): not an episode of the period.
            deployment(5, START - HOUR, JobResult::Failed),
        ];
        let recovery = report(&deployments).recovery_time;
        assert_eq!(
            recovery.episodes,
            vec![
                Recovery { failed: d(&[1]), recovered_by: Some(D(2)), duration_ms: Some(DAY) },
                Recovery { failed: d(&[3]), recovered_by: Some(D(4)), duration_ms: Some(2 * HOUR) },
            ]
        );
        assert_eq!(Level::of_recovery(59 * 60 * SECOND), Level::Elite);
        assert_eq!(Level::of_recovery(DAY), Level::Low);
    }

    #[test]
    fn the_median_of_an_even_count_is_the_mean_of_the_middle_two() {
        assert_eq!(median(&mut []), None);
        assert_eq!(median(&mut [5]), Some(5));
        assert_eq!(median(&mut [9, 1, 5]), Some(5));
        assert_eq!(median(&mut [4, 1, 3, 2]), Some(2));
        assert_eq!(median(&mut [i64::MAX, i64::MAX - 2]), Some(i64::MAX - 1));
    }

    #[test]
    fn deployment_references_say_where_a_deployment_was_recorded() {
        assert_eq!(D(42).to_string(), "d42");
        assert_eq!(DeploymentRef::Event(17).to_string(), "e17");
        assert_eq!("d42".parse(), Ok(D(42)));
        assert_eq!("e17".parse(), Ok(DeploymentRef::Event(17)));
        for bad in ["", "d", "42", "x42", "d-1", "d4x", "e+1", "d99999999999999999999"] {
            assert_eq!(bad.parse::<DeploymentRef>(), Err(BadDeploymentRef(bad.to_owned())), "{bad}");
        }
    }

    /// A generated history of two weeks, from Monday 2024-01-01 (UTC), over two environments,
    /// with one deployment pushed from outside (`e7`). Times are "day N, hour H" from the start.
    ///
    /// | id  | env        | queued      | finished    | how                         | changes (commit times) |
    /// | d1  | production | d0 09:50    | d0 10:00    | ok                          | d0 08:00, d0 06:00     |
    /// | d2  | production | d1 09:50    | d1 10:00    | failed                      |                        |
    /// | d3  | production | d1 11:00    | d1 12:00    | ok                          | d1 09:00               |
    /// | d4  | production | d2 09:50    | d2 10:00    | ok (replaced by d5 later)   | d2 09:00               |
    /// | d5  | production | d3 09:00    | d3 10:00    | ok, `redeployed`            | none told              |
    /// | e7  | production | d8 09:50    | d8 10:00    | ok, linked to an incident   | d8 04:00               |
    /// | d6  | staging    | d8 10:50    | d8 11:00    | failed                      |                        |
    /// | d9  | production | d8 11:50    | d8 12:00    | ok                          | none told              |
    /// | d10 | production | d9 09:50    | d9 10:00    | ok but `rolledBack`         |                        |
    /// | d8  | staging    | d9 12:50    | d9 13:00    | ok                          | none told              |
    /// | d12 | production | d10 11:50   | d10 12:00   | skipped (left out)          |                        |
    /// | d14 | production | d10 15:50   | d10 16:00   | ok                          | none told              |
    /// | d13 | production | d11 09:00   | (running)   | left out                    |                        |
    fn two_weeks() -> Vec<Deployment> {
        let at = |day: i64, hour: i64| parse_start() + day * DAY + hour * HOUR;
        let staging = |mut deployment: Deployment| {
            deployment.environment = "Staging".to_owned();
            deployment
        };
        let mut d4 = with_changes(ok(4, at(2, 10)), &[Some(at(2, 9))]);
        d4.outcome = None;
        let mut d5 = ok(5, at(3, 10));
        d5.queued_at = at(3, 9);
        d5.outcome = Some(Outcome::Redeployed);
        let mut d3 = with_changes(ok(3, at(1, 12)), &[Some(at(1, 9))]);
        d3.queued_at = at(1, 11);
        let mut e7 = with_changes(ok(7, at(8, 10)), &[Some(at(8, 4))]);
        e7.id = DeploymentRef::Event(7);
        e7.incident = true;
        let mut d10 = ok(10, at(9, 10));
        d10.outcome = Some(Outcome::RolledBack);
        let mut running = ok(13, at(11, 9));
        (running.finished_at, running.result) = (None, None);
        vec![
            with_changes(ok(1, at(0, 10)), &[Some(at(0, 8)), Some(at(0, 6))]),
            deployment(2, at(1, 10), JobResult::Failed),
            d3,
            d4,
            d5,
            e7,
            staging(deployment(6, at(8, 11), JobResult::Failed)),
            ok(9, at(8, 12)),
            d10,
            staging(ok(8, at(9, 13))),
            deployment(12, at(10, 12), JobResult::Skipped),
            ok(14, at(10, 16)),
            running,
        ]
    }

    #[test]
    fn the_five_metrics_of_a_generated_history_are_those_computed_by_hand() {
        let start = parse_start();
        let history = two_weeks();
        let report = compute(&history, start, start + 14 * DAY).expect("a valid period");

        // Successful: d1, d3, d4 (a later redeploy replaced it, but it succeeded), d5, e7, d9, d8,
        // d14 (d10 was rolled back, d2 and d6 failed): 8 on days 0, 1, 2, 3, 8, 9, 10 (7 days).
        let frequency = &report.deployment_frequency;
        let mut expected = d(&[1, 3, 4, 5]);
        expected.extend([DeploymentRef::Event(7), D(9), D(8), D(14)]);
        assert_eq!(frequency.deployment_ids, expected);
        assert_eq!((frequency.deployments, frequency.deployment_days), (8, 7));
        // 8 in 14 days: 4 a week, one every 1.75 days: between once a day and once a week.
        assert!((frequency.per_week - 4.0).abs() < 1e-9);
        assert_eq!((frequency.bucket, frequency.level), (Some(FrequencyBucket::DailyToWeekly), Some(Level::High)));

        // Lead times: d1 2h and 4h, d3 3h, d4 1h, e7 6h; the median of 1, 2, 3, 4, 6 hours is 3.
        let lead = &report.lead_time;
        assert_eq!((lead.changes, lead.deployments_without_changes, lead.median_ms), (5, 4, Some(3 * HOUR)));
        assert_eq!(lead.deployment_ids, vec![D(1), D(3), D(4), DeploymentRef::Event(7)]);

        // 11 deployments finished (not the skipped d12, not the running d13); failed: d2, d4
        // (replaced by the redeploy d5), d6, d10 (rolled back): 4 of 11.
        let failures = &report.change_failure_rate;
        assert_eq!((failures.deployments, failures.failure_ids.clone()), (11, d(&[2, 4, 6, 10])));
        assert_eq!((failures.rate, failures.level), (Some(4.0 / 11.0), Some(Level::Low)));

        // Episodes: d2 -> d3 2h; d4 -> d5 24h; staging's d6 -> d8 26h (production's d9 does not
        // recover staging); d10 -> d14 30h. The median of 2, 24, 26, 30 hours is 25 hours.
        let recovery = &report.recovery_time;
        let recoveries: Vec<(Vec<DeploymentRef>, Option<DeploymentRef>, Option<i64>)> = recovery
            .episodes
            .iter()
            .map(|episode| (episode.failed.clone(), episode.recovered_by, episode.duration_ms))
            .collect();
        assert_eq!(
            recoveries,
            vec![
                (d(&[2]), Some(D(3)), Some(2 * HOUR)),
                (d(&[4]), Some(D(5)), Some(24 * HOUR)),
                (d(&[6]), Some(D(8)), Some(26 * HOUR)),
                (d(&[10]), Some(D(14)), Some(30 * HOUR)),
            ]
        );
        assert_eq!((recovery.median_ms, recovery.level), (Some(25 * HOUR), Some(Level::Low)));

        // Rework: d3 (after d2's failure), d5 (a manual rollback), e7 (an incident), d8 (after
        // staging's d6), d14 (after d10's rollback); not d9 (after e7's success) nor d10 (after
        // d9's): 5 of 11.
        let rework = &report.rework_rate;
        assert_eq!(rework.rework_ids, vec![D(3), D(5), DeploymentRef::Event(7), D(8), D(14)]);
        assert_eq!((rework.deployments, rework.reworked, rework.rate), (11, 5, Some(5.0 / 11.0)));
    }

    fn parse_start() -> i64 {
        series::parse_date("2024-01-01").expect("a date") * DAY
    }

    fn values(points: &[Point]) -> Vec<(String, Option<f64>)> {
        points.iter().map(|point| (point.date(), point.value)).collect()
    }

    #[test]
    fn series_cut_the_generated_history_by_day_week_month_and_all() {
        let start = parse_start();
        let deployments = two_weeks();
        let history = History::new(&deployments);
        let end = start + 14 * DAY;
        let of = |metric, interval| history.series(metric, interval, start, end).expect("a valid period");

        // Daily deployment frequency: the successful deployments of each day.
        let daily = of(Metric::DeploymentFrequency, Interval::Daily);
        assert_eq!(daily.len(), 14);
        let counts: Vec<Option<f64>> = daily.iter().map(|point| point.value).collect();
        let expected = [1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 2.0, 1.0, 1.0, 0.0, 0.0, 0.0].map(Some);
        assert_eq!(counts, expected);
        assert_eq!((daily[0].date(), daily[13].date()), ("2024-01-01".to_owned(), "2024-01-14".to_owned()));

        // Weekly, monthly and all: successful deployments per day: 4 in each week of 7 days; 8 in
        // the 14 days of January in the period.
        let per_day = 4.0 / 7.0;
        assert_eq!(
            values(&of(Metric::DeploymentFrequency, Interval::Weekly)),
            vec![("2024-01-01".to_owned(), Some(per_day)), ("2024-01-08".to_owned(), Some(per_day))]
        );
        assert_eq!(
            values(&of(Metric::DeploymentFrequency, Interval::Monthly)),
            vec![("2024-01-01".to_owned(), Some(per_day))]
        );
        let all = of(Metric::DeploymentFrequency, Interval::All);
        assert_eq!((all.len(), all[0].value, all[0].count), (1, Some(per_day), 8));

        // Lead time, in seconds: day 0 has d1's 2h and 4h (median 3h), day 1 d3's 3h, day 2 d4's
        // 1h, day 3 nothing told (the redeploy), day 8 e7's 6h. Week 1: 1, 2, 3, 4 hours (median
        // 2.5h); week 2: 6h.
        let lead = of(Metric::LeadTimeForChanges, Interval::Daily);
        let lead: Vec<Option<f64>> = lead.iter().map(|point| point.value).take(9).collect();
        assert_eq!(
            lead,
            vec![Some(10_800.0), Some(10_800.0), Some(3_600.0), None, None, None, None, None, Some(21_600.0)]
        );
        assert_eq!(
            values(&of(Metric::LeadTimeForChanges, Interval::Weekly)),
            vec![("2024-01-01".to_owned(), Some(9_000.0)), ("2024-01-08".to_owned(), Some(21_600.0))]
        );

        // Change failure rate: week 1 d2, d4 of d1..d5 (2 of 5); week 2 d6, d10 of e7, d6, d9,
        // d10, d8, d14 (2 of 6). Rework: week 1 d3, d5 (2 of 5); week 2 e7, d8, d14 (3 of 6).
        assert_eq!(
            values(&of(Metric::ChangeFailureRate, Interval::Weekly))
                .into_iter()
                .map(|(_, value)| value)
                .collect::<Vec<_>>(),
            vec![Some(0.4), Some(2.0 / 6.0)]
        );
        assert_eq!(
            values(&of(Metric::ReworkRate, Interval::Weekly)).into_iter().map(|(_, value)| value).collect::<Vec<_>>(),
            vec![Some(0.4), Some(0.5)]
        );
        // No deployment on day 4: no rate.
        assert_eq!(of(Metric::ChangeFailureRate, Interval::Daily)[4].value, None);

        // Recovery, in seconds: week 1's episodes took 2h and 24h (median 13h), week 2's 26h and
        // 30h (median 28h); all four: 25h.
        assert_eq!(
            values(&of(Metric::TimeToRestoreService, Interval::Weekly))
                .into_iter()
                .map(|(_, value)| value)
                .collect::<Vec<_>>(),
            vec![Some(46_800.0), Some(100_800.0)]
        );
        assert_eq!(of(Metric::TimeToRestoreService, Interval::All)[0].value, Some(90_000.0));

        // A period cut mid-week and mid-month: buckets dated by their own start, valued over the
        // part in the period. From Wednesday 2024-01-10 to Friday 2024-02-02 (excluded):
        let (from, to) = (start + 9 * DAY, start + 32 * DAY);
        let weekly = history.series(Metric::DeploymentFrequency, Interval::Weekly, from, to).expect("a period");
        let dates: Vec<String> = weekly.iter().map(Point::date).collect();
        assert_eq!(dates, ["2024-01-08", "2024-01-15", "2024-01-22", "2024-01-29"]);
        // The week of 2024-01-08 from the 10th: d8 and d14 in 5 days.
        assert_eq!((weekly[0].start, weekly[0].value, weekly[0].count), (from, Some(2.0 / 5.0), 2));
        let monthly = history.series(Metric::DeploymentFrequency, Interval::Monthly, from, to).expect("a period");
        assert_eq!(monthly.iter().map(Point::date).collect::<Vec<_>>(), ["2024-01-01", "2024-02-01"]);
        assert_eq!((monthly[1].start, monthly[1].end, monthly[1].value), (start + 31 * DAY, to, Some(0.0)));
        assert!(history.series(Metric::ReworkRate, Interval::Daily, to, from).is_err());
    }
}
