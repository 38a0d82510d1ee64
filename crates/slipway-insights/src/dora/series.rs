//! The five metrics as series: one value per day, week or month (UTC) of a period, or one for
//! the whole period, in the units and with the names of GitLab's DORA API
//! (<https://docs.gitlab.com/api/dora/metrics/>): `deployment_frequency` (a day's successful
//! deployments; for a week, a month or `all`, successful deployments per day over the days of
//! the bucket in the period, as GitLab's aggregation divides them), `lead_time_for_changes` and
//! `time_to_restore_service` (medians, in seconds), `change_failure_rate` and `rework_rate`
//! (ratios from 0 to 1). A bucket with nothing to measure has no value.
//!
//! GitLab computes a month's median as the median of its days' medians; here every bucket's
//! median is taken over the bucket's own changes or episodes. Weeks start on Monday (ISO 8601);
//! months on their first day; a bucket is cut to the period, but is dated by its own start.

use super::{DAY, Deployment, DoraError, History};

/// One of the five metrics, by GitLab's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Metric {
    /// `deployment_frequency`.
    DeploymentFrequency,
    /// `lead_time_for_changes`.
    LeadTimeForChanges,
    /// `change_failure_rate`.
    ChangeFailureRate,
    /// `time_to_restore_service` (DORA's failed deployment recovery time).
    TimeToRestoreService,
    /// `rework_rate` (DORA's deployment rework rate; not one of GitLab's).
    ReworkRate,
}

impl Metric {
    /// Every metric, in DORA's order.
    pub const ALL: [Self; 5] = [
        Self::DeploymentFrequency,
        Self::LeadTimeForChanges,
        Self::ChangeFailureRate,
        Self::TimeToRestoreService,
        Self::ReworkRate,
    ];

    /// Its name in the API.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DeploymentFrequency => "deployment_frequency",
            Self::LeadTimeForChanges => "lead_time_for_changes",
            Self::ChangeFailureRate => "change_failure_rate",
            Self::TimeToRestoreService => "time_to_restore_service",
            Self::ReworkRate => "rework_rate",
        }
    }

    /// The metric of that name.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|metric| metric.as_str() == name)
    }

    /// DORA's name for it, for people.
    #[must_use]
    pub fn title(self) -> &'static str {
        match self {
            Self::DeploymentFrequency => "Deployment frequency",
            Self::LeadTimeForChanges => "Change lead time",
            Self::ChangeFailureRate => "Change fail rate",
            Self::TimeToRestoreService => "Failed deployment recovery time",
            Self::ReworkRate => "Deployment rework rate",
        }
    }
}

/// How a period is cut into buckets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Interval {
    /// One bucket: the whole period.
    All,
    /// Calendar months (UTC).
    Monthly,
    /// ISO weeks, Monday to Sunday (UTC); not one of GitLab's.
    Weekly,
    /// Days (UTC).
    Daily,
}

impl Interval {
    /// Every interval.
    pub const ALL: [Self; 4] = [Self::All, Self::Monthly, Self::Weekly, Self::Daily];

    /// Its name in the API.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::All => "all",
            Self::Monthly => "monthly",
            Self::Weekly => "weekly",
            Self::Daily => "daily",
        }
    }

    /// The interval of that name.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|interval| interval.as_str() == name)
    }

    /// The start (a day number) of the bucket that holds `day`.
    fn bucket_start(self, day: i64, first: i64) -> i64 {
        match self {
            Self::All => first,
            Self::Daily => day,
            // 1970-01-01 was a Thursday: day 0 is three days after a Monday.
            Self::Weekly => day - (day + 3).rem_euclid(7),
            Self::Monthly => {
                let (year, month, _) = civil(day);
                days_from_civil(year, month, 1)
            }
        }
    }

    /// The start of the bucket after the one that starts on `day`.
    fn next(self, day: i64) -> i64 {
        match self {
            Self::All => i64::MAX / DAY,
            Self::Daily => day + 1,
            Self::Weekly => day + 7,
            Self::Monthly => {
                let (year, month, _) = civil(day);
                if month == 12 { days_from_civil(year + 1, 1, 1) } else { days_from_civil(year, month + 1, 1) }
            }
        }
    }
}

/// One bucket of a series.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// The bucket's own start, a day number (days since 1970-01-01, UTC); for
    /// [`Interval::All`], the period's first day.
    pub day: i64,
    /// The part of the period it covers (milliseconds since the epoch, end excluded).
    pub start: i64,
    /// Its end (excluded).
    pub end: i64,
    /// The value, when there was something to measure.
    pub value: Option<f64>,
    /// What the value rests on: successful deployments (deployment frequency), changes (lead
    /// time), deployments (the rates) or recovered episodes (recovery time).
    pub count: usize,
}

impl Point {
    /// The bucket's date, `YYYY-MM-DD`.
    #[must_use]
    pub fn date(&self) -> String {
        format_date(self.day)
    }
}

/// `metric` over `start..end` cut by `interval`, from deployments in any order (see
/// [`History::new`]).
///
/// # Errors
/// [`DoraError::EmptyPeriod`] when `end <= start`.
pub fn series(
    deployments: &[Deployment],
    metric: Metric,
    interval: Interval,
    start: i64,
    end: i64,
) -> Result<Vec<Point>, DoraError> {
    History::new(deployments).series(metric, interval, start, end)
}

impl History<'_> {
    /// `metric` over `start..end` cut by `interval`.
    ///
    /// # Errors
    /// [`DoraError::EmptyPeriod`] when `end <= start`.
    pub fn series(&self, metric: Metric, interval: Interval, start: i64, end: i64) -> Result<Vec<Point>, DoraError> {
        if end <= start {
            return Err(DoraError::EmptyPeriod { start, end });
        }
        let first = start.div_euclid(DAY);
        let mut points = Vec::new();
        let mut day = interval.bucket_start(first, first);
        while day.saturating_mul(DAY) < end {
            let next = interval.next(day);
            let bucket_start = day.saturating_mul(DAY).max(start);
            let bucket_end = next.saturating_mul(DAY).min(end);
            let (value, count) = self.value(metric, bucket_start, bucket_end, interval != Interval::Daily);
            points.push(Point { day, start: bucket_start, end: bucket_end, value, count });
            day = next;
        }
        Ok(points)
    }
}

/// The proleptic Gregorian date of a day number: (year, month 1-12, day 1-31). Howard Hinnant's
/// `civil_from_days`.
fn civil(day: i64) -> (i64, u32, u32) {
    let z = day + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(m <= 2);
    (year, u32::try_from(m).unwrap_or(1), u32::try_from(d).unwrap_or(1))
}

/// The day number of a proleptic Gregorian date. Howard Hinnant's `days_from_civil`.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year - era * 400;
    let month = i64::from(month);
    let doy = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The day `months` calendar months before (negative: after) the day number `day`, on the same
/// day of the month or the month's last day when it is shorter (2024-05-31 less three months is
/// 2024-02-29).
#[must_use]
pub fn months_before(day: i64, months: u32) -> i64 {
    let (year, month, date) = civil(day);
    let index = year * 12 + i64::from(month) - 1 - i64::from(months);
    let (year, month) = (index.div_euclid(12), u32::try_from(index.rem_euclid(12)).unwrap_or(0) + 1);
    let mut date = date;
    while date > 28 && civil(days_from_civil(year, month, date)).1 != month {
        date -= 1;
    }
    days_from_civil(year, month, date)
}

/// A day number as `YYYY-MM-DD`.
#[must_use]
pub fn format_date(day: i64) -> String {
    let (year, month, day) = civil(day);
    format!("{year:04}-{month:02}-{day:02}")
}

/// The day number of a `YYYY-MM-DD` date (ISO 8601's calendar date, years 0001 to 9999), or
/// `None` when it is not one.
#[must_use]
pub fn parse_date(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return None;
    }
    let digits = |range: std::ops::Range<usize>| -> Option<u32> {
        let part = text.get(range)?;
        part.bytes().all(|byte| byte.is_ascii_digit()).then(|| part.parse().ok()).flatten()
    };
    let (year, month, day) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
    if year == 0 || !(1..=12).contains(&month) || day == 0 {
        return None;
    }
    let number = days_from_civil(i64::from(year), month, day);
    // A day past the month's end comes back as another date.
    (civil(number) == (i64::from(year), month, day)).then_some(number)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_read_and_written_as_the_calendar_has_them() {
        assert_eq!(parse_date("1970-01-01"), Some(0));
        assert_eq!(parse_date("2024-02-29"), Some(19_782));
        assert_eq!(format_date(19_782), "2024-02-29");
        assert_eq!(parse_date("2023-02-29"), None);
        for bad in ["2024-13-01", "2024-00-10", "2024-1-01", "24-01-01", "2024/01/01", "2024-01-32", "", "0000-01-01"] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
        for day in [-1, 0, 59, 365, 11_016, 19_782, 20_000, 2_932_896] {
            assert_eq!(parse_date(&format_date(day)), Some(day), "{day}");
        }
    }

    #[test]
    fn three_months_before_keeps_the_day_or_takes_the_months_last() {
        let day = |text: &str| parse_date(text).unwrap_or_default();
        assert_eq!(format_date(months_before(day("2024-05-31"), 3)), "2024-02-29");
        assert_eq!(format_date(months_before(day("2024-03-15"), 3)), "2023-12-15");
        assert_eq!(format_date(months_before(day("2024-01-31"), 0)), "2024-01-31");
    }

    #[test]
    fn weeks_start_on_monday_and_months_on_their_first_day() {
        // 2024-01-03 was a Wednesday; its week started on Monday 2024-01-01.
        let wednesday = parse_date("2024-01-03").unwrap_or_default();
        assert_eq!(format_date(Interval::Weekly.bucket_start(wednesday, 0)), "2024-01-01");
        assert_eq!(format_date(Interval::Weekly.next(Interval::Weekly.bucket_start(wednesday, 0))), "2024-01-08");
        let leap = parse_date("2024-02-17").unwrap_or_default();
        assert_eq!(format_date(Interval::Monthly.bucket_start(leap, 0)), "2024-02-01");
        assert_eq!(format_date(Interval::Monthly.next(Interval::Monthly.bucket_start(leap, 0))), "2024-03-01");
        let december = parse_date("2023-12-31").unwrap_or_default();
        assert_eq!(format_date(Interval::Monthly.next(Interval::Monthly.bucket_start(december, 0))), "2024-01-01");
    }

    #[test]
    fn names_are_gitlabs() {
        for metric in Metric::ALL {
            assert_eq!(Metric::from_name(metric.as_str()), Some(metric));
        }
        for interval in Interval::ALL {
            assert_eq!(Interval::from_name(interval.as_str()), Some(interval));
        }
        assert_eq!(Metric::from_name("mttr"), None);
        assert_eq!(Interval::from_name("yearly"), None);
    }
}
