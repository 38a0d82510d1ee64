//! Insights: DORA's four keys of an environment's delivery performance over a period.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// DORA's four keys for an environment over a period, each with the deployments it rests on.
/// Levels (`elite`, `high`, `medium`, `low`) follow the clusters of DORA's report of
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
    pub deployments_counted: Vec<i64>,
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
    pub deployments_counted: Vec<i64>,
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
    pub deployments_counted: Vec<i64>,
    /// The failures.
    pub failed_deployments: Vec<i64>,
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
    pub failed_deployments: Vec<i64>,
    /// The successful deployment that recovered, if any yet.
    pub recovered_by: Option<i64>,
    /// From the first failure's end to the recovery's end, in milliseconds.
    pub duration_ms: Option<i64>,
}

/// Which period DORA's four keys cover.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DoraQuery {
    /// The last this many days up to now (1 to 365; 30 when not given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days: Option<u32>,
}
