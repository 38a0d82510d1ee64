//! Insights as people read them: DORA's five metrics of an environment over the last days, and
//! any metric's series in GitLab's DORA API shape (`GET /api/v1/dora/metrics`), from the
//! deployments in the store (readers). The figures are computed by
//! [`slipway_insights::dora`]; see docs/dora.md.

use slipway_api as api;
use slipway_insights::dora::{self, series};
use slipway_store::{self as store, Timestamp, UserRole};

use crate::AppState;
use crate::caller::Caller;
use crate::error::ServiceError;

/// The period when none is asked for, in days.
pub const DEFAULT_DAYS: u32 = 30;
/// The longest period, in days.
pub const MAX_DAYS: u32 = 365;
/// The longest range of `GET /dora/metrics`, in days from the start date to the end date: GitLab's
/// (its DORA API allows the range of its value stream analytics).
pub const MAX_RANGE_DAYS: i64 = 180;
/// How long before the period a deployment that finished in it may have been queued.
const QUEUED_BEFORE: i64 = 7 * 24 * 3600 * 1000;
const DAY: i64 = 24 * 3600 * 1000;

/// DORA's five metrics of the environment `name` over the last `days` days (default 30, from 1
/// to 365) up to now (reader).
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
    let end = state.store().now().millis().saturating_add(1);
    let start = end.saturating_sub(i64::from(days) * DAY);
    let deployments = read_deployments(state.store(), &found, start).await?;
    let report =
        dora::compute(&deployments, start, end).map_err(|error| ServiceError::bad_request(error.to_string()))?;
    Ok(metrics(&found.name, days, &report))
}

/// Every deployment of `environment` that finished at `start` or after (and some before), as the
/// metrics read them: newest first, down to those queued well before `start`.
///
/// # Errors
/// When the store fails.
pub(crate) async fn read_deployments(
    store: &store::Store,
    environment: &store::Environment,
    start: i64,
) -> Result<Vec<dora::Deployment>, store::StoreError> {
    let since = Timestamp(start.saturating_sub(QUEUED_BEFORE));
    let facts = store.deployment_facts(environment.id, since).await?;
    let mut deployments: Vec<dora::Deployment> =
        facts.iter().map(|deployment| dora::Deployment::from_facts(&environment.name, deployment)).collect();
    read_pushed(store, &environment.name, &mut deployments).await?;
    Ok(deployments)
}

/// The stream's event types that are deployments.
const DEPLOYMENT_TYPES: [&str; 4] = [
    "dev.cdevents.service.deployed.",
    "dev.cdevents.service.upgraded.",
    "dev.cdevents.service.rolledback.",
    "dev.cdeventsx.slipway-deployment.failed.",
];

/// The stream's event types that are incidents.
const INCIDENT_TYPES: [&str; 2] = ["dev.cdevents.incident.detected.", "dev.cdevents.incident.reported."];

/// Adds to `deployments` (the environment's own) those pushed in from outside for it (CDEvents
/// or DevLake payloads, kept in the event stream as `e<position>`), and marks the deployment each
/// incident of the environment is attributed to, as DevLake does: the last one that finished
/// before the incident began. Slipway's own incidents are attributed to their deployment.
async fn read_pushed(
    store: &store::Store,
    environment: &str,
    deployments: &mut Vec<dora::Deployment>,
) -> Result<(), store::StoreError> {
    let mut after = None;
    let mut incidents = Vec::new();
    loop {
        let filter = store::EventFilter {
            after,
            types: DEPLOYMENT_TYPES.iter().chain(INCIDENT_TYPES.iter()).map(|prefix| (*prefix).to_owned()).collect(),
            environment: Some(environment.to_owned()),
            pipeline: None,
            limit: 10_000,
        };
        let page = store.list_stream_events(&filter).await?;
        let Some(last) = page.last().map(|event| event.position) else { break };
        after = Some(last);
        for event in page {
            let data = &event.document["data"];
            let custom = &data["customData"];
            if INCIDENT_TYPES.iter().any(|prefix| event.event_type.starts_with(prefix)) {
                match (event.origin, custom["deploymentId"].as_i64()) {
                    (store::EventOrigin::Slipway, Some(deployment)) => {
                        incidents.push(Attribution::Deployment(deployment));
                    }
                    (store::EventOrigin::Slipway, None) => {}
                    _ => incidents.push(Attribution::Before(event.time.millis())),
                }
                continue;
            }
            if event.origin == store::EventOrigin::Slipway {
                // Slipway's own deployments are read from its deployment history.
                continue;
            }
            let finished = event.time.millis();
            let millis = |name: &str| custom[name].as_i64();
            let failed = event.event_type.starts_with("dev.cdeventsx.slipway-deployment.failed.");
            let changes = custom["changes"].as_array().map(|changes| {
                changes
                    .iter()
                    .filter_map(|change| {
                        Some(dora::Change {
                            commit: change["commit"].as_str()?.to_owned(),
                            time: change["time"].as_i64(),
                        })
                    })
                    .collect()
            });
            deployments.push(dora::Deployment {
                id: dora::DeploymentRef::Event(event.position),
                environment: environment.to_owned(),
                resource: Some(event.subject.strip_prefix("services/").unwrap_or(&event.subject).to_owned()),
                queued_at: millis("createdAt").or_else(|| millis("startedAt")).unwrap_or(finished),
                finished_at: Some(finished),
                result: Some(if failed { dora::JobResult::Failed } else { dora::JobResult::Succeeded }),
                outcome: event
                    .event_type
                    .starts_with("dev.cdevents.service.rolledback.")
                    .then_some(dora::Outcome::Redeployed),
                changes,
                incident: false,
                caused_incident: false,
            });
        }
    }
    for incident in incidents {
        let attributed = match incident {
            Attribution::Deployment(id) => {
                deployments.iter_mut().find(|deployment| deployment.id == dora::DeploymentRef::Deployment(id))
            }
            Attribution::Before(time) => deployments
                .iter_mut()
                .filter(|deployment| deployment.finished_at.is_some_and(|finished| finished <= time))
                .max_by_key(|deployment| deployment.finished_at),
        };
        if let Some(deployment) = attributed {
            deployment.caused_incident = true;
        }
    }
    Ok(())
}

/// What an incident is attributed to.
enum Attribution {
    /// Slipway's deployment of that id.
    Deployment(i64),
    /// The last deployment that finished at or before this time.
    Before(i64),
}

/// Whether GitLab would guess that an environment of this name is of the production tier: its
/// `guess_tier` tries, in order, development (`dev`, `review`, `trunk`), testing (`test`, `tst`,
/// `int`, `accept`, `acpt`, `qa`, `qc`, `control`, `quality`), staging (`stag`, `stg`, `model`,
/// `modl`, `pre`, `demo`, `non`) and production (`prod`, `prd`, `live`), without regard to case.
#[must_use]
pub(crate) fn production_tier(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    let any = |words: &[&str]| words.iter().any(|word| name.contains(word));
    !any(&["dev", "review", "trunk"])
        && !any(&["test", "tst", "int", "accept", "acpt", "qa", "qc", "control", "quality"])
        && !any(&["stag", "stg", "model", "modl", "pre", "demo", "non"])
        && any(&["prod", "prd", "live"])
}

fn allowed<T: Copy>(all: &[T], name: impl Fn(T) -> &'static str) -> String {
    all.iter().map(|item| name(*item)).collect::<Vec<_>>().join(", ")
}

fn date(parameter: &str, text: &str) -> Result<i64, ServiceError> {
    series::parse_date(text).ok_or_else(|| {
        ServiceError::bad_request(format!(
            "'{parameter}' is '{text}'; it must be a date written YYYY-MM-DD (ISO 8601), for example 2026-03-01"
        ))
    })
}

/// A query of `GET /dora/metrics`, read: its metric, interval, environment and period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SeriesRequest {
    /// The metric.
    pub(crate) metric: dora::Metric,
    /// The interval.
    pub(crate) interval: dora::Interval,
    /// The environment asked for, if any.
    pub(crate) environment: Option<String>,
    /// The first day (a day number, UTC).
    pub(crate) start_day: i64,
    /// The last day, included.
    pub(crate) end_day: i64,
}

/// Reads a query of `GET /dora/metrics` with GitLab's defaults (interval `daily`, the last three
/// months up to `today`, a day number) and limits (a start before the end, at most 180 days
/// apart), every mistake named with what is allowed.
///
/// # Errors
/// [`ServiceError::BadRequest`] naming the parameter.
pub(crate) fn read_series_query(query: &api::DoraSeriesQuery, today: i64) -> Result<SeriesRequest, ServiceError> {
    let metrics = allowed(&dora::Metric::ALL, dora::Metric::as_str);
    let metric = match query.metric.as_deref() {
        None | Some("") => {
            return Err(ServiceError::bad_request(format!("'metric' is required: one of {metrics}")));
        }
        Some(name) => dora::Metric::from_name(name)
            .ok_or_else(|| ServiceError::bad_request(format!("'metric' is '{name}'; it must be one of {metrics}")))?,
    };
    let interval = match query.interval.as_deref() {
        None | Some("") => dora::Interval::Daily,
        Some(name) => dora::Interval::from_name(name).ok_or_else(|| {
            ServiceError::bad_request(format!(
                "'interval' is '{name}'; it must be one of {}",
                allowed(&dora::Interval::ALL, dora::Interval::as_str)
            ))
        })?,
    };
    let end_day = match query.end_date.as_deref() {
        None | Some("") => today,
        Some(text) => date("end_date", text)?,
    };
    let start_day = match query.start_date.as_deref() {
        None | Some("") => series::months_before(today, 3),
        Some(text) => date("start_date", text)?,
    };
    if start_day >= end_day {
        return Err(ServiceError::bad_request(format!(
            "'start_date' ({}) must be earlier than 'end_date' ({})",
            series::format_date(start_day),
            series::format_date(end_day)
        )));
    }
    if end_day - start_day > MAX_RANGE_DAYS {
        return Err(ServiceError::bad_request(format!(
            "the range from 'start_date' ({}) to 'end_date' ({}) is {} days; it must be at most {MAX_RANGE_DAYS} days",
            series::format_date(start_day),
            series::format_date(end_day),
            end_day - start_day
        )));
    }
    let environment = query.environment.clone().filter(|name| !name.is_empty());
    Ok(SeriesRequest { metric, interval, environment, start_day, end_day })
}

/// `GET /dora/metrics`: one DORA metric's series in GitLab's DORA API shape (reader). The
/// environment asked for, or every environment whose name says production (see
/// [`production_tier`]), their deployments measured together (a failure is recovered, replaced
/// or reworked only within its own environment and resource).
///
/// # Errors
/// When the caller may not read, a parameter is wrong ([`read_series_query`]), the environment
/// asked for does not exist, or the store fails.
pub async fn dora_series(
    state: &AppState,
    caller: &Caller,
    query: &api::DoraSeriesQuery,
) -> Result<Vec<api::DoraDataPoint>, ServiceError> {
    caller.require(UserRole::Reader)?;
    let today = state.store().now().millis().div_euclid(DAY);
    let request = read_series_query(query, today)?;
    let mut series = series_of(state, &request, &[request.metric]).await?;
    Ok(series.pop().map(|(_, points)| points).unwrap_or_default())
}

/// Every metric's series for the query (its `metric` aside: all five, in DORA's order, by their
/// API names), from one read of the deployments: what the dashboard draws (reader).
///
/// # Errors
/// As [`dora_series`].
pub async fn dora_series_all(
    state: &AppState,
    caller: &Caller,
    query: &api::DoraSeriesQuery,
) -> Result<Vec<(String, Vec<api::DoraDataPoint>)>, ServiceError> {
    caller.require(UserRole::Reader)?;
    let today = state.store().now().millis().div_euclid(DAY);
    let query = api::DoraSeriesQuery { metric: Some(dora::Metric::ReworkRate.as_str().to_owned()), ..query.clone() };
    let request = read_series_query(&query, today)?;
    series_of(state, &request, &dora::Metric::ALL).await
}

/// The series of `metrics` for a request read, from one read of its environments' deployments.
async fn series_of(
    state: &AppState,
    request: &SeriesRequest,
    metrics: &[dora::Metric],
) -> Result<Vec<(String, Vec<api::DoraDataPoint>)>, ServiceError> {
    let environments = match &request.environment {
        Some(name) => vec![crate::environments::find(state, name).await?],
        None => {
            state.store().list_environments().await?.into_iter().filter(|found| production_tier(&found.name)).collect()
        }
    };
    let start = request.start_day * DAY;
    let end = (request.end_day + 1) * DAY;
    let mut deployments = Vec::new();
    for environment in &environments {
        deployments.extend(read_deployments(state.store(), environment, start).await?);
    }
    let history = dora::History::new(&deployments);
    let mut all = Vec::new();
    for metric in metrics {
        let points = history
            .series(*metric, request.interval, start, end)
            .map_err(|error| ServiceError::bad_request(error.to_string()))?;
        let points = points
            .iter()
            .map(|point| api::DoraDataPoint {
                date: (request.interval != dora::Interval::All).then(|| point.date()),
                value: point.value,
            })
            .collect();
        all.push((metric.as_str().to_owned(), points));
    }
    Ok(all)
}

/// The tier table of the DORA report the levels follow.
#[must_use]
pub fn dora_tiers() -> api::DoraTiers {
    api::DoraTiers {
        report_year: dora::REPORT_YEAR,
        tiers: dora::TIERS
            .iter()
            .map(|tier| api::DoraTier {
                metric: tier.metric.as_str().to_owned(),
                title: tier.metric.title().to_owned(),
                elite: tier.elite.to_owned(),
                high: tier.high.to_owned(),
                medium: tier.medium.to_owned(),
                low: tier.low.to_owned(),
            })
            .collect(),
    }
}

fn refs(ids: &[dora::DeploymentRef]) -> Vec<String> {
    ids.iter().map(ToString::to_string).collect()
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
            deployments_counted: refs(&frequency.deployment_ids),
        },
        lead_time_for_changes: api::DoraLeadTime {
            changes: lead.changes,
            changes_without_time: lead.changes_without_time,
            deployments_without_changes: lead.deployments_without_changes,
            median_ms: lead.median_ms,
            level: level(lead.level),
            deployments_counted: refs(&lead.deployment_ids),
        },
        change_failure_rate: api::DoraChangeFailureRate {
            deployments: failures.deployments,
            failures: failures.failures,
            rate: failures.rate,
            level: level(failures.level),
            deployments_counted: refs(&failures.deployment_ids),
            failed_deployments: refs(&failures.failure_ids),
        },
        failed_deployment_recovery_time: api::DoraRecoveryTime {
            episodes: recovery
                .episodes
                .iter()
                .map(|episode| api::DoraRecovery {
                    failed_deployments: refs(&episode.failed),
                    recovered_by: episode.recovered_by.map(|id| id.to_string()),
                    duration_ms: episode.duration_ms,
                })
                .collect(),
            median_ms: recovery.median_ms,
            level: level(recovery.level),
        },
        deployment_rework_rate: api::DoraReworkRate {
            deployments: report.rework_rate.deployments,
            reworked: report.rework_rate.reworked,
            rate: report.rework_rate.rate,
            rework_deployments: refs(&report.rework_rate.rework_ids),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> api::DoraSeriesQuery {
        let mut query = api::DoraSeriesQuery::default();
        for (name, value) in pairs {
            let value = Some((*value).to_owned());
            match *name {
                "metric" => query.metric = value,
                "interval" => query.interval = value,
                "environment" => query.environment = value,
                "start_date" => query.start_date = value,
                _ => query.end_date = value,
            }
        }
        query
    }

    fn detail(result: Result<SeriesRequest, ServiceError>) -> String {
        match result {
            Err(ServiceError::BadRequest(detail)) => detail,
            other => panic!("a bad request expected: {other:?}"),
        }
    }

    #[test]
    fn the_series_query_takes_gitlabs_defaults_and_names_every_mistake() {
        let today = series::parse_date("2026-05-31").unwrap_or_default();
        let read = read_series_query(&query(&[("metric", "rework_rate")]), today).expect("a good query");
        assert_eq!(
            (read.metric, read.interval, read.environment),
            (dora::Metric::ReworkRate, dora::Interval::Daily, None)
        );
        assert_eq!(
            (series::format_date(read.start_day), series::format_date(read.end_day)),
            ("2026-02-28".into(), "2026-05-31".into())
        );

        let read = read_series_query(
            &query(&[
                ("metric", "lead_time_for_changes"),
                ("interval", "weekly"),
                ("environment", "prod"),
                ("start_date", "2026-01-01"),
                ("end_date", "2026-06-30"),
            ]),
            today,
        )
        .expect("a good query");
        assert_eq!(
            (read.interval, read.environment.as_deref(), read.end_day - read.start_day),
            (dora::Interval::Weekly, Some("prod"), 180)
        );

        for (pairs, expected) in [
            (
                vec![],
                "'metric' is required: one of deployment_frequency, lead_time_for_changes, change_failure_rate, time_to_restore_service, rework_rate",
            ),
            (vec![("metric", "mttr")], "'metric' is 'mttr'; it must be one of deployment_frequency,"),
            (
                vec![("metric", "rework_rate"), ("interval", "yearly")],
                "'interval' is 'yearly'; it must be one of all, monthly, weekly, daily",
            ),
            (
                vec![("metric", "rework_rate"), ("start_date", "2026-02-30")],
                "'start_date' is '2026-02-30'; it must be a date written YYYY-MM-DD",
            ),
            (vec![("metric", "rework_rate"), ("end_date", "yesterday")], "'end_date' is 'yesterday'"),
            (
                vec![("metric", "rework_rate"), ("start_date", "2026-05-31")],
                "'start_date' (2026-05-31) must be earlier than 'end_date' (2026-05-31)",
            ),
            (vec![("metric", "rework_rate"), ("start_date", "2025-01-01")], "is 515 days; it must be at most 180 days"),
        ] {
            let detail = detail(read_series_query(&query(&pairs), today));
            assert!(detail.contains(expected), "{expected:?} in {detail:?}");
        }
    }

    #[test]
    fn production_is_told_from_the_name_as_gitlab_guesses_tiers() {
        for name in ["production", "Prod", "prd-eu", "live", "us-production"] {
            assert!(production_tier(name), "{name}");
        }
        for name in ["staging", "preprod", "dev", "review/feature", "qa", "test-prod", "demo", "sandbox"] {
            assert!(!production_tier(name), "{name}");
        }
    }
}
