//! Insights as people read them: DORA's four keys of an environment over the last days, from its
//! deployments in the store (readers).

use slipway_api as api;
use slipway_insights::dora;
use slipway_store::{self as store, DeploymentId, Timestamp, UserRole};

use crate::AppState;
use crate::caller::Caller;
use crate::error::ServiceError;

/// The period when none is asked for, in days.
pub const DEFAULT_DAYS: u32 = 30;
/// The longest period, in days.
pub const MAX_DAYS: u32 = 365;
/// Deployments read from the store at a time.
const PAGE: i64 = 1000;
/// How long before the period a deployment that finished in it may have been queued.
const QUEUED_BEFORE: i64 = 7 * 24 * 3600 * 1000;

/// DORA's four keys of the environment `name` over the last `days` days (default 30, from 1 to
/// 365) up to now (reader).
///
/// # Errors
/// When the caller may not read, the period is out of range, there is no such environment, or
/// the store fails.
pub async fn dora_metrics(
    state: &AppState,
    caller: &Caller,
    name: &str,
    days: Option<u32>,
) -> Result<api::DoraMetrics, ServiceError> {
    caller.require(UserRole::Reader)?;
    let days = days.unwrap_or(DEFAULT_DAYS);
    if !(1..=MAX_DAYS).contains(&days) {
        return Err(ServiceError::bad_request(format!("'days' is {days}; it must be between 1 and {MAX_DAYS}")));
    }
    let found = crate::environments::find(state, name).await?;
    let store = state.store();
    let end = store.now().millis().saturating_add(1);
    let start = end.saturating_sub(i64::from(days) * 24 * 3600 * 1000);
    // Newest first, down to those queued well before the period: what finished in it and after.
    let mut deployments = Vec::new();
    let mut before: Option<DeploymentId> = None;
    loop {
        let page = store.list_deployments(found.id, before, PAGE).await?;
        let done = page.len() < usize::try_from(PAGE).unwrap_or(usize::MAX)
            || page.last().is_none_or(|last| last.queued_at.millis() < start.saturating_sub(QUEUED_BEFORE));
        before = page.last().map(|last| last.id);
        deployments.extend(page.iter().map(input));
        if done {
            break;
        }
    }
    let report =
        dora::compute(&deployments, start, end).map_err(|error| ServiceError::bad_request(error.to_string()))?;
    Ok(metrics(&found.name, days, &report))
}

/// A stored deployment as the four keys read it.
fn input(deployment: &store::Deployment) -> dora::Deployment {
    use slipway_events::TaskResult;
    dora::Deployment {
        id: deployment.id.get(),
        resource: deployment.resource.clone(),
        queued_at: deployment.queued_at.millis(),
        finished_at: deployment.finished_at.map(Timestamp::millis),
        result: deployment.result.map(|result| match result {
            TaskResult::Succeeded | TaskResult::SucceededWithIssues => dora::JobResult::Succeeded,
            TaskResult::Failed => dora::JobResult::Failed,
            TaskResult::Canceled => dora::JobResult::Canceled,
            TaskResult::Skipped => dora::JobResult::Skipped,
        }),
        outcome: deployment.outcome.as_deref().and_then(dora::Outcome::from_name),
        changes: deployment.changes.as_ref().map(|changes| {
            changes
                .iter()
                .map(|change| dora::Change { commit: change.commit.clone(), time: change.time.map(Timestamp::millis) })
                .collect()
        }),
    }
}

fn level(level: Option<dora::Level>) -> Option<String> {
    level.map(|level| level.as_str().to_owned())
}

/// The report for the API.
fn metrics(environment: &str, days: u32, report: &dora::Report) -> api::DoraMetrics {
    let frequency = &report.deployment_frequency;
    let lead = &report.lead_time;
    let failures = &report.change_failure_rate;
    let recovery = &report.recovery_time;
    api::DoraMetrics {
        environment: environment.to_owned(),
        days,
        start: report.start,
        end: report.end,
        report_year: dora::REPORT_YEAR,
        deployment_frequency: api::DoraDeploymentFrequency {
            deployments: frequency.deployments,
            deployment_days: frequency.deployment_days,
            per_day: frequency.per_day,
            per_week: frequency.per_week,
            bucket: frequency.bucket.map(|bucket| bucket.as_str().to_owned()),
            level: level(frequency.level),
            deployments_counted: frequency.deployment_ids.clone(),
        },
        lead_time_for_changes: api::DoraLeadTime {
            changes: lead.changes,
            changes_without_time: lead.changes_without_time,
            deployments_without_changes: lead.deployments_without_changes,
            median_ms: lead.median_ms,
            level: level(lead.level),
            deployments_counted: lead.deployment_ids.clone(),
        },
        change_failure_rate: api::DoraChangeFailureRate {
            deployments: failures.deployments,
            failures: failures.failures,
            rate: failures.rate,
            level: level(failures.level),
            deployments_counted: failures.deployment_ids.clone(),
            failed_deployments: failures.failure_ids.clone(),
        },
        failed_deployment_recovery_time: api::DoraRecoveryTime {
            episodes: recovery
                .episodes
                .iter()
                .map(|episode| api::DoraRecovery {
                    failed_deployments: episode.failed.clone(),
                    recovered_by: episode.recovered_by,
                    duration_ms: episode.duration_ms,
                })
                .collect(),
            median_ms: recovery.median_ms,
            level: level(recovery.level),
        },
    }
}
