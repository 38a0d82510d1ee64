//! DORA's four keys for one environment over a period, from its deployments.
//!
//! The definitions, as DORA gives them (dora.dev, "DORA's software delivery metrics: the four
//! keys") and as they are read here from Slipway's deployment records:
//!
//! - A deployment counts in the period when it **finished** in it (`start <= finished < end`);
//!   deployments still running are left out. A deployment is **successful** when its job
//!   succeeded (with or without issues) and its release was not rolled back.
//! - **Deployment frequency**: successful deployments in the period, per day and per week, the
//!   days (UTC) with at least one, and DORA's bucket: on demand (at least once a day), between
//!   once a day and once a week, between once a week and once a month, between once a month and
//!   once every six months, fewer. With no deployment in a period shorter than six months the
//!   bucket cannot be told.
//! - **Lead time for changes**: for every change (commit) a successful deployment in the period
//!   brought (its `changes`: the commits since the previous successful deployment of the same
//!   resource), the time from the commit to the end of that deployment; the median. Changes
//!   whose commit time is unknown are counted apart, not guessed; a commit dated after its
//!   deployment (a skewed clock) counts as zero.
//! - **Change failure rate**: the deployments in the period that failed or needed remediation
//!   over all deployments in the period. A deployment failed when its job failed or was canceled
//!   or its outcome is `failed`; it needed remediation when its release was rolled back
//!   (`rolledBack`) or when a later manual rollback (`redeployed`) replaced it: the last
//!   successful deployment of the same resource finished before the redeploy was queued.
//! - **Failed deployment recovery time**: from a failed deployment's end to the end of the next
//!   successful deployment of the same environment and resource (a redeploy is one; so is a
//!   success a manual rollback later replaced: it restored service until then). Failures in a
//!   row before one recovery are one episode, timed from its first failure. An episode with no
//!   recovery yet is listed as unrecovered, and not timed. The median over episodes recovered.
//!
//! Performance levels are those of the clusters of DORA's [`REPORT_YEAR`] report, read as
//! thresholds (see [`Level`]).

use std::collections::BTreeSet;

/// The DORA report whose clusters the performance levels follow.
pub const REPORT_YEAR: u16 = 2024;

const SECOND: i64 = 1000;
const HOUR: i64 = 3600 * SECOND;
const DAY: i64 = 24 * HOUR;
const WEEK: i64 = 7 * DAY;
const MONTH: i64 = 30 * DAY;
const SIX_MONTHS: i64 = 182 * DAY;

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

/// One deployment, as the four keys need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deployment {
    /// Its id.
    pub id: i64,
    /// The resource in the environment it deployed to, if any (compared without regard to case).
    pub resource: Option<String>,
    /// When its job was queued.
    pub queued_at: i64,
    /// When it ended (`None` while it runs).
    pub finished_at: Option<i64>,
    /// How its job ended (`None` while it runs).
    pub result: Option<JobResult>,
    /// How its release ended.
    pub outcome: Option<Outcome>,
    /// The commits it brought, newest first, when they could be told.
    pub changes: Option<Vec<Change>>,
}

impl Deployment {
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
                || matches!(self.outcome, Some(Outcome::RolledBack | Outcome::Failed)))
    }

    fn same_resource(&self, other: &Self) -> bool {
        match (&self.resource, &other.resource) {
            (Some(one), Some(other)) => one.eq_ignore_ascii_case(other),
            (None, None) => true,
            _ => false,
        }
    }
}

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
    /// The deployments counted, in the order given.
    pub deployment_ids: Vec<i64>,
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
    pub deployment_ids: Vec<i64>,
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
    pub deployment_ids: Vec<i64>,
    /// The failures among them.
    pub failure_ids: Vec<i64>,
}

/// A failure episode and its recovery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovery {
    /// The failed deployments, in the order they finished.
    pub failed: Vec<i64>,
    /// The successful deployment that recovered, if any yet.
    pub recovered_by: Option<i64>,
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

/// The four keys for an environment over a period.
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
}

/// The four keys over `start..end` from an environment's deployments, in any order. Pass the
/// deployments up to the present, not just those of the period: a remediation or a recovery
/// after the period still counts for a failure in it.
///
/// # Errors
/// [`DoraError::EmptyPeriod`] when `end <= start`.
pub fn compute(deployments: &[Deployment], start: i64, end: i64) -> Result<Report, DoraError> {
    if end <= start {
        return Err(DoraError::EmptyPeriod { start, end });
    }
    let length = end - start;
    let in_period = |deployment: &&Deployment| deployment.finished().is_some_and(|at| start <= at && at < end);
    // Finished deployments, by the time they finished (then id, for ties).
    let mut finished: Vec<&Deployment> = deployments.iter().filter(|item| item.finished().is_some()).collect();
    finished.sort_by_key(|item| (item.finished_at, item.id));

    // Deployment frequency.
    let successes: Vec<&Deployment> =
        finished.iter().copied().filter(in_period).filter(|item| item.successful()).collect();
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
    let mut without_changes = 0;
    let mut measured = Vec::new();
    for deployment in &successes {
        let (Some(changes), Some(at)) = (&deployment.changes, deployment.finished_at) else {
            without_changes += 1;
            continue;
        };
        measured.push(deployment.id);
        for change in changes {
            match change.time {
                Some(time) => lead_times.push(at.saturating_sub(time).max(0)),
                None => without_time += 1,
            }
        }
    }
    let lead_median = median(&mut lead_times);
    let lead_time = LeadTime {
        changes: lead_times.len(),
        changes_without_time: without_time,
        deployments_without_changes: without_changes,
        median_ms: lead_median,
        level: lead_median.map(Level::of_lead_time),
        deployment_ids: measured,
    };

    // Failures: those that failed themselves, and those a manual rollback replaced.
    let mut failed: BTreeSet<i64> = finished.iter().filter(|item| item.failed_itself()).map(|item| item.id).collect();
    for redeploy in deployments.iter().filter(|item| item.outcome == Some(Outcome::Redeployed)) {
        let replaced = finished
            .iter()
            .rev()
            .filter(|item| item.id != redeploy.id && item.same_resource(redeploy))
            .filter(|item| item.finished_at.is_some_and(|at| at <= redeploy.queued_at))
            .find(|item| item.successful());
        if let Some(replaced) = replaced {
            failed.insert(replaced.id);
        }
    }

    // Change failure rate.
    let counted: Vec<&Deployment> = finished.iter().copied().filter(in_period).collect();
    let failure_ids: Vec<i64> = counted.iter().map(|item| item.id).filter(|id| failed.contains(id)).collect();
    let rate = (!counted.is_empty()).then(|| failure_ids.len() as f64 / counted.len() as f64);
    let change_failure_rate = ChangeFailureRate {
        deployments: counted.len(),
        failures: failure_ids.len(),
        rate,
        level: rate.map(Level::of_failure_rate),
        deployment_ids: counted.iter().map(|item| item.id).collect(),
        failure_ids,
    };

    // Recovery: per resource, failures in a row up to the next success that is not a failure
    // itself.
    let mut episodes: Vec<Recovery> = Vec::new();
    let mut open: Vec<(&Deployment, Vec<i64>)> = Vec::new();
    for deployment in &finished {
        // A success closes its resource's episode, even one a manual rollback later replaced:
        // it restored service until then.
        if deployment.successful()
            && let Some(index) = open.iter().position(|(first, _)| first.same_resource(deployment))
        {
            let (first, ids) = open.remove(index);
            episodes.push(Recovery {
                failed: ids,
                recovered_by: Some(deployment.id),
                duration_ms: deployment.finished_at.zip(first.finished_at).map(|(end, start)| end - start),
            });
        }
        if failed.contains(&deployment.id) {
            match open.iter().position(|(first, _)| first.same_resource(deployment)) {
                Some(index) => open[index].1.push(deployment.id),
                None => open.push((deployment, vec![deployment.id])),
            }
        }
    }
    for (_, ids) in open {
        episodes.push(Recovery { failed: ids, recovered_by: None, duration_ms: None });
    }
    let first_end = |episode: &Recovery| {
        episode
            .failed
            .first()
            .and_then(|id| finished.iter().find(|item| item.id == *id))
            .and_then(|item| item.finished_at)
    };
    episodes.retain(|episode| first_end(episode).is_some_and(|at| start <= at && at < end));
    episodes.sort_by_key(|episode| (first_end(episode), episode.failed.first().copied()));
    let mut durations: Vec<i64> = episodes.iter().filter_map(|episode| episode.duration_ms).collect();
    let recovery_median = median(&mut durations);
    let recovery_time =
        RecoveryTime { episodes, median_ms: recovery_median, level: recovery_median.map(Level::of_recovery) };

    Ok(Report { start, end, deployment_frequency, lead_time, change_failure_rate, recovery_time })
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

    const START: i64 = 1_700_000_000_000 - 1_700_000_000_000 % DAY;
    const END: i64 = START + 30 * DAY;

    fn deployment(id: i64, finished: i64, result: JobResult) -> Deployment {
        Deployment {
            id,
            resource: None,
            queued_at: finished - 10 * 60 * SECOND,
            finished_at: Some(finished),
            result: Some(result),
            outcome: None,
            changes: None,
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
        assert_eq!(frequency.deployment_ids, vec![2, 3, 8]);
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
        assert_eq!(lead.deployment_ids, vec![1, 2]);
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
        assert_eq!(rate.deployment_ids, vec![1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(rate.failure_ids, vec![1, 2, 3, 4, 6]);
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
                Recovery { failed: vec![1, 2], recovered_by: Some(4), duration_ms: Some(2 * HOUR) },
                Recovery { failed: vec![5], recovered_by: Some(6), duration_ms: Some(30 * 60 * SECOND) },
                Recovery { failed: vec![7], recovered_by: None, duration_ms: None },
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
                Recovery { failed: vec![1], recovered_by: Some(2), duration_ms: Some(DAY) },
                Recovery { failed: vec![3], recovered_by: Some(4), duration_ms: Some(2 * HOUR) },
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
}
