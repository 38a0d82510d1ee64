//! Insights: DORA's five metrics of delivery performance: an environment's over a period, each
//! with the deployments it rests on, and any metric's series in GitLab's DORA API shape.
//!
//! Deployments are named by where they were recorded: `d42` for Slipway's deployment 42, `e17`
//! for a deployment pushed from outside and kept as event 17 of the event stream.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// DORA's five metrics for an environment over a period, each with the deployments it rests on
/// (`d42`, `e17`). Levels (`elite`, `high`, `medium`, `low`) follow the clusters of DORA's report of
/// `reportYear`; a figure without enough data has none.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct DoraMetrics {
    /// The environment.
    pub environment: String,
    /// The period's length in days.
    pub days: u32,
    /// The period's start.
    pub start: i64,
    /// Its end (excluded).
    pub end: i64,
    /// The DORA report the levels follow.
    pub report_year: u16,
    /// Deployment frequency.
    pub deployment_frequency: DoraDeploymentFrequency,
    /// Lead time for changes.
    pub lead_time_for_changes: DoraLeadTime,
    /// Change failure rate.
    pub change_failure_rate: DoraChangeFailureRate,
    /// Failed deployment recovery time.
    pub failed_deployment_recovery_time: DoraRecoveryTime,
    /// Deployment rework rate.
    pub deployment_rework_rate: DoraReworkRate,
}

/// Deployment frequency: successful deployments finished in the period.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct DoraDeploymentFrequency {
    /// How many.
    pub deployments: usize,
    /// Days (UTC) with at least one.
    pub deployment_days: usize,
    /// Per day.
    pub per_day: f64,
    /// Per week.
    pub per_week: f64,
    /// DORA's bucket: `onDemand`, `dailyToWeekly`, `weeklyToMonthly`, `monthlyToSixMonthly`,
    /// `fewer`; none when it cannot be told.
    pub bucket: Option<String>,
    /// Its level.
    pub level: Option<String>,
    /// The deployments counted.
    pub deployments_counted: Vec<String>,
}

/// Lead time for changes: from each commit to the end of the successful deployment that brought
/// it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct DoraLeadTime {
    /// Changes measured.
    pub changes: usize,
    /// Changes left out: their commit time is not known.
    pub changes_without_time: usize,
    /// Successful deployments whose changes could not be told.
    pub deployments_without_changes: usize,
    /// The median, in milliseconds.
    pub median_ms: Option<i64>,
    /// Its level.
    pub level: Option<String>,
    /// The deployments whose changes were measured.
    pub deployments_counted: Vec<String>,
}

/// Change failure rate: deployments that failed or needed a rollback over all deployments
/// finished in the period.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct DoraChangeFailureRate {
    /// Deployments finished in the period.
    pub deployments: usize,
    /// The failures among them.
    pub failures: usize,
    /// `failures / deployments`, from 0 to 1.
    pub rate: Option<f64>,
    /// Its level.
    pub level: Option<String>,
    /// The deployments counted.
    pub deployments_counted: Vec<String>,
    /// The failures.
    pub failed_deployments: Vec<String>,
}

/// Failed deployment recovery time: from a failure to the next successful deployment of the same
/// resource.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct DoraRecoveryTime {
    /// The failure episodes that began in the period.
    pub episodes: Vec<DoraRecovery>,
    /// The median over those recovered, in milliseconds.
    pub median_ms: Option<i64>,
    /// Its level.
    pub level: Option<String>,
}

/// Failures in a row and the deployment that recovered from them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct DoraRecovery {
    /// The failed deployments.
    pub failed_deployments: Vec<String>,
    /// The successful deployment that recovered, if any yet.
    pub recovered_by: Option<String>,
    /// From the first failure's end to the recovery's end, in milliseconds.
    pub duration_ms: Option<i64>,
}

/// Deployment rework rate: deployments that were unplanned, made because of a failure or an
/// incident in production (a manual rollback, the next deployment after a failed or rolled-back
/// one, one linked to an incident), over all deployments finished in the period. DORA's report
/// gives no levels for it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct DoraReworkRate {
    /// Deployments finished in the period.
    pub deployments: usize,
    /// The rework among them.
    pub reworked: usize,
    /// `reworked / deployments`, from 0 to 1.
    pub rate: Option<f64>,
    /// The rework deployments.
    pub rework_deployments: Vec<String>,
}

/// One bucket of a DORA metric's series, as GitLab's DORA API answers
/// (`GET /api/v1/dora/metrics`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DoraDataPoint {
    /// The bucket's first day, `YYYY-MM-DD` (a month's first day, a week's Monday); `null` for
    /// the interval `all`.
    pub date: Option<String>,
    /// The value: `deployment_frequency`, successful deployments that day (per day over the
    /// bucket for a week, a month or `all`); `lead_time_for_changes` and
    /// `time_to_restore_service`, medians in seconds; `change_failure_rate` and `rework_rate`,
    /// ratios from 0 to 1; `null` when there was nothing to measure.
    pub value: Option<f64>,
}

/// What `GET /api/v1/dora/metrics` reads: GitLab's DORA API parameters.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DoraSeriesQuery {
    /// `deployment_frequency`, `lead_time_for_changes`, `change_failure_rate`,
    /// `time_to_restore_service` or `rework_rate` (required).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<String>,
    /// `all`, `monthly`, `weekly` or `daily` (the default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<String>,
    /// One environment; by default every environment whose name says production, as GitLab
    /// guesses an environment's tier from its name (`prod`, `prd`, `live`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// The first day, `YYYY-MM-DD` (UTC); by default three months before the end date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_date: Option<String>,
    /// The last day, included, `YYYY-MM-DD` (UTC); by default today. At most 180 days after the
    /// start date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_date: Option<String>,
}

/// One row of DORA's tier table: what each performance cluster achieved on a metric.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct DoraTier {
    /// The metric's API name (`deployment_frequency`, ...).
    pub metric: String,
    /// Its name for people.
    pub title: String,
    /// The elite cluster.
    pub elite: String,
    /// The high cluster.
    pub high: String,
    /// The medium cluster.
    pub medium: String,
    /// The low cluster.
    pub low: String,
}

/// DORA's tier table of one report.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct DoraTiers {
    /// The report's year.
    pub report_year: u16,
    /// Its rows.
    pub tiers: Vec<DoraTier>,
}

/// Which period DORA's metrics of an environment cover.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DoraQuery {
    /// The last this many days up to now (1 to 365; 30 when not given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days: Option<u32>,
}
