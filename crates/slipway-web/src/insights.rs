//! Insights in the web UI: the "Delivery performance" block of an environment's page, DORA's five
//! metrics over the last 30 days as the API gives them
//! ([`slipway_service::insights::dora_metrics`]), each with the deployments it rests on; and the
//! `/insights` dashboard: per environment, the five metrics over the last 90 days with their
//! levels, DORA's tier table labelled with its report's year, and the weekly series of the last
//! three months ([`slipway_service::insights::dora_series_all`]: GitLab's DORA API shape, one read
//! of the deployments) drawn as SVG bar charts on the server (a title and a description in each,
//! the values written beside).

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use maud::{Markup, html};
use slipway_api::{DoraDataPoint, DoraMetrics, DoraSeriesQuery, DoraTiers};
use slipway_service::insights as service;

use super::{UiError, Viewer, format_duration, page, url_encode};
use crate::AppState;

/// The period of the dashboard's figures, in days.
const DASHBOARD_DAYS: u32 = 90;

/// The routes of the insights pages.
pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/insights", get(dashboard))
}

/// One environment's panel on the dashboard: its five metrics and its weekly series.
struct Panel {
    metrics: DoraMetrics,
    /// Per metric: its API name and its weekly points.
    series: Vec<(String, Vec<DoraDataPoint>)>,
}

/// The charts of a panel: the metric, the chart's title, the unit, and how a value is shown.
const CHARTS: [(&str, &str, &str); 4] = [
    ("deployment_frequency", "Deployments a week", "deployments"),
    ("lead_time_for_changes", "Change lead time (median)", "hours"),
    ("change_failure_rate", "Change fail rate", "%"),
    ("time_to_restore_service", "Failed deployment recovery time (median)", "hours"),
];

/// `GET /insights` (reader): DORA's metrics of every environment.
pub(crate) async fn dashboard(State(state): State<AppState>, viewer: Viewer) -> Result<Response, UiError> {
    let caller = viewer.caller();
    let environments = slipway_service::environments::list(&state, &caller).await?;
    let mut panels = Vec::new();
    for environment in &environments {
        let metrics = service::dora_metrics(&state, &caller, &environment.name, Some(DASHBOARD_DAYS)).await?;
        let query = DoraSeriesQuery {
            interval: Some("weekly".to_owned()),
            environment: Some(environment.name.clone()),
            ..DoraSeriesQuery::default()
        };
        let series = service::dora_series_all(&state, &caller, &query).await?;
        panels.push(Panel { metrics, series });
    }
    let body = dashboard_body(&service::dora_tiers(), &panels);
    Ok(page("Insights", Some(&viewer), &body).into_response())
}

fn dashboard_body(tiers: &DoraTiers, panels: &[Panel]) -> Markup {
    html! {
        h1 { "Insights · delivery performance (DORA)" }
        p.muted {
            "DORA's five software delivery metrics per environment: the figures of the last " (DASHBOARD_DAYS)
            " days with their level, and each week of the last three months (UTC weeks from Monday). "
            "The same series come from " code { "GET /api/v1/dora/metrics" } " and " code { "slipway dora" } "."
        }
        @if panels.is_empty() {
            p.muted { "No environments yet: a deployment job's first use creates one." }
        }
        @for panel in panels {
            (panel_section(panel))
        }
        (tier_table(tiers))
    }
}

fn tier_table(tiers: &DoraTiers) -> Markup {
    html! {
        section.panel #dora-tiers {
            h2 { "Performance levels: DORA's " (tiers.report_year) " report" }
            table.list.dora-tiers {
                caption { "The clusters of the " (tiers.report_year) " Accelerate State of DevOps report, read as thresholds" }
                thead { tr { th scope="col" { "Metric" } th scope="col" { "Elite" } th scope="col" { "High" } th scope="col" { "Medium" } th scope="col" { "Low" } } }
                tbody {
                    @for tier in &tiers.tiers {
                        tr { th scope="row" { (tier.title) } td { (tier.elite) } td { (tier.high) } td { (tier.medium) } td { (tier.low) } }
                    }
                }
            }
            p.muted { "The report gives no clusters for deployment rework rate. Its medium cluster's change fail rate (10%) is below the high cluster's (20%): a rate alone reads as elite, high or low." }
        }
    }
}

/// A value as its chart's unit shows it.
fn scaled(metric: &str, point: &DoraDataPoint) -> Option<f64> {
    let value = point.value?;
    Some(match metric {
        // The API gives a week's deployments per day.
        "deployment_frequency" => value * 7.0,
        "change_failure_rate" | "rework_rate" => value * 100.0,
        _ => value / 3600.0,
    })
}

fn number(value: f64) -> String {
    if (value - value.round()).abs() < 1e-9 { format!("{value:.0}") } else { format!("{value:.1}") }
}

fn panel_section(panel: &Panel) -> Markup {
    let metrics = &panel.metrics;
    let anchor = format!("env-{}", url_encode(&metrics.environment));
    html! {
        section.panel.dora-environment id=(anchor) {
            h2 { a href=(format!("/environments/{}", url_encode(&metrics.environment))) { (metrics.environment) } }
            (summary_table(metrics))
            div.dora-charts {
                @for (index, (metric, title, unit)) in CHARTS.iter().enumerate() {
                    @let points = panel.series.iter().find(|(name, _)| name == *metric).map(|(_, points)| points.as_slice()).unwrap_or(&[]);
                    (chart(&format!("{anchor}-{index}"), metric, title, unit, points))
                }
            }
        }
    }
}

/// The five metrics of the last days with their levels.
fn summary_table(metrics: &DoraMetrics) -> Markup {
    let frequency = &metrics.deployment_frequency;
    let lead = &metrics.lead_time_for_changes;
    let failures = &metrics.change_failure_rate;
    let recovery = &metrics.failed_deployment_recovery_time;
    let rework = &metrics.deployment_rework_rate;
    let percent = |rate: Option<f64>| rate.map_or_else(|| "-".to_owned(), |rate| format!("{:.1}%", rate * 100.0));
    html! {
        table.list.dora-summary {
            caption { "Last " (metrics.days) " days" }
            thead { tr { th scope="col" { "Metric" } th scope="col" { "Value" } th scope="col" { "Level" } } }
            tbody {
                tr {
                    th scope="row" { "Deployment frequency" }
                    td { (frequency.deployments) " deployments on " (frequency.deployment_days) " days (" (format!("{:.1}", frequency.per_week)) " a week)" }
                    td { (level(frequency.level.as_deref())) }
                }
                tr {
                    th scope="row" { "Change lead time" }
                    td { @match lead.median_ms { Some(median) => { "median " (format_duration(median)) } None => { "-" } } }
                    td { (level(lead.level.as_deref())) }
                }
                tr {
                    th scope="row" { "Change fail rate" }
                    td { (percent(failures.rate)) " (" (failures.failures) " of " (failures.deployments) ")" }
                    td { (level(failures.level.as_deref())) }
                }
                tr {
                    th scope="row" { "Failed deployment recovery time" }
                    td { @match recovery.median_ms { Some(median) => { "median " (format_duration(median)) } None => { "-" } } }
                    td { (level(recovery.level.as_deref())) }
                }
                tr {
                    th scope="row" { "Deployment rework rate" }
                    td { (percent(rework.rate)) " (" (rework.reworked) " of " (rework.deployments) ")" }
                    td { span.muted { "no levels in the report" } }
                }
            }
        }
    }
}

const CHART_WIDTH: f64 = 320.0;
const CHART_HEIGHT: f64 = 110.0;

/// A bar chart of a weekly series, with its values written beside it.
fn chart(id: &str, metric: &str, title: &str, unit: &str, points: &[DoraDataPoint]) -> Markup {
    let values: Vec<Option<f64>> = points.iter().map(|point| scaled(metric, point)).collect();
    let top = values.iter().flatten().copied().fold(0.0_f64, f64::max);
    let top = if top > 0.0 { top } else { 1.0 };
    let slot = CHART_WIDTH / points.len().max(1) as f64;
    let measured = values.iter().flatten().count();
    let first = points.first().and_then(|point| point.date.clone()).unwrap_or_default();
    let last = points.last().and_then(|point| point.date.clone()).unwrap_or_default();
    let description = format!(
        "{title} per week from the week of {first} to the week of {last}, in {unit}: {measured} of {} weeks measured; highest {}.",
        points.len(),
        number(values.iter().flatten().copied().fold(0.0_f64, f64::max))
    );
    let show =
        |value: Option<f64>| value.map_or_else(|| "no data".to_owned(), |value| format!("{} {unit}", number(value)));
    html! {
        figure.dora-chart {
            svg.dora-series role="img" aria-labelledby=(format!("{id}-title {id}-desc"))
                viewBox=(format!("0 0 {CHART_WIDTH} {}", CHART_HEIGHT + 4.0)) width=(CHART_WIDTH) height=(CHART_HEIGHT + 4.0) {
                title id=(format!("{id}-title")) { (title) }
                desc id=(format!("{id}-desc")) { (description) }
                line.axis x1="0" y1=(CHART_HEIGHT) x2=(CHART_WIDTH) y2=(CHART_HEIGHT) {}
                @for (index, (point, value)) in points.iter().zip(&values).enumerate() {
                    @let index = index as f64;
                    @match value {
                        Some(value) => {
                            @let height = (value / top * (CHART_HEIGHT - 6.0)).max(if *value > 0.0 { 1.0 } else { 0.0 });
                            rect.bar x=(format!("{:.1}", index * slot + 1.0)) y=(format!("{:.1}", CHART_HEIGHT - height))
                                width=(format!("{:.1}", (slot - 2.0).max(1.0))) height=(format!("{height:.1}")) {
                                title { "week of " (point.date.clone().unwrap_or_default()) ": " (show(Some(*value))) }
                            }
                        }
                        None => {
                            rect.missing x=(format!("{:.1}", index * slot + 1.0)) y=(format!("{:.1}", CHART_HEIGHT - 2.0))
                                width=(format!("{:.1}", (slot - 2.0).max(1.0))) height="2" {
                                title { "week of " (point.date.clone().unwrap_or_default()) ": no data" }
                            }
                        }
                    }
                }
            }
            figcaption {
                strong { (title) }
                details {
                    summary { "Values" }
                    table.dora-values {
                        thead { tr { th scope="col" { "Week of" } th scope="col" { (unit) } } }
                        tbody {
                            @for (point, value) in points.iter().zip(&values) {
                                tr { td { (point.date.clone().unwrap_or_default()) } td.num { (show(*value)) } }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A level's badge, or a muted note when there is too little data for one.
fn level(level: Option<&str>) -> Markup {
    html! {
        @match level {
            Some(level) => { span class=(format!("badge dora-{level}")) title="DORA performance level" { (level) } }
            None => { span.muted { "too little data" } }
        }
    }
}

/// A deployment reference for people: `d42` is deployment #42 (the history below shows each with
/// its id), `e17` the deployment pushed from outside as event 17.
fn deployment_name(id: &str) -> String {
    match (id.strip_prefix('d'), id.strip_prefix('e')) {
        (Some(number), _) => format!("#{number}"),
        (_, Some(number)) => format!("event {number}"),
        _ => id.to_owned(),
    }
}

/// Deployment references.
fn ids(ids: &[String]) -> Markup {
    html! {
        @if ids.is_empty() {
            span.muted { "none" }
        } @else {
            @for (index, id) in ids.iter().enumerate() {
                @if index > 0 { ", " }
                (deployment_name(id))
            }
        }
    }
}

fn bucket_words(bucket: Option<&str>) -> &'static str {
    match bucket {
        Some("onDemand") => "on demand (daily or more)",
        Some("dailyToWeekly") => "between once a day and once a week",
        Some("weeklyToMonthly") => "between once a week and once a month",
        Some("monthlyToSixMonthly") => "between once a month and once every six months",
        Some("fewer") => "fewer than once every six months",
        _ => "not enough to tell",
    }
}

/// The "Delivery performance" section.
pub(crate) fn dora_section(metrics: &DoraMetrics) -> Markup {
    let frequency = &metrics.deployment_frequency;
    let lead = &metrics.lead_time_for_changes;
    let failures = &metrics.change_failure_rate;
    let recovery = &metrics.failed_deployment_recovery_time;
    let rework = &metrics.deployment_rework_rate;
    html! {
        section.panel #dora {
            h2 { "Delivery performance (DORA, last " (metrics.days) " days)" }
            table.list.dora {
                thead { tr { th { "Metric" } th { "Value" } th { "Level" } th { "Rests on" } } }
                tbody {
                    tr {
                        td { "Deployment frequency" }
                        td {
                            (frequency.deployments) " successful deployments on " (frequency.deployment_days) " days ("
                            (format!("{:.1}", frequency.per_week)) " a week): " (bucket_words(frequency.bucket.as_deref()))
                        }
                        td { (level(frequency.level.as_deref())) }
                        td { (ids(&frequency.deployments_counted)) }
                    }
                    tr {
                        td { "Lead time for changes" }
                        td {
                            @match lead.median_ms {
                                Some(median) => { "median " (format_duration(median)) " over " (lead.changes) " commits" }
                                None => { span.muted { "no commits with a known time" } }
                            }
                            @if lead.changes_without_time > 0 { " (" (lead.changes_without_time) " without a time left out)" }
                        }
                        td { (level(lead.level.as_deref())) }
                        td { (ids(&lead.deployments_counted)) }
                    }
                    tr {
                        td { "Change failure rate" }
                        td {
                            @match failures.rate {
                                Some(rate) => {
                                    (format!("{:.1}%", rate * 100.0)) ": " (failures.failures) " of " (failures.deployments)
                                    " deployments failed or needed a rollback"
                                }
                                None => { span.muted { "no deployments" } }
                            }
                        }
                        td { (level(failures.level.as_deref())) }
                        td { "failed: " (ids(&failures.failed_deployments)) }
                    }
                    tr {
                        td { "Failed deployment recovery time" }
                        td {
                            @match recovery.median_ms {
                                Some(median) => { "median " (format_duration(median)) }
                                None => { span.muted { "nothing recovered" } }
                            }
                            @let open = recovery.episodes.iter().filter(|episode| episode.recovered_by.is_none()).count();
                            @if open > 0 { " · " (open) " not recovered yet" }
                        }
                        td { (level(recovery.level.as_deref())) }
                        td {
                            @for (index, episode) in recovery.episodes.iter().enumerate() {
                                @if index > 0 { "; " }
                                (ids(&episode.failed_deployments))
                                @if let Some(by) = &episode.recovered_by { " → " (deployment_name(by)) } @else { " → not yet" }
                            }
                            @if recovery.episodes.is_empty() { span.muted { "no failures" } }
                        }
                    }
                    tr {
                        td { "Deployment rework rate" }
                        td {
                            @match rework.rate {
                                Some(rate) => {
                                    (format!("{:.1}%", rate * 100.0)) ": " (rework.reworked) " of " (rework.deployments)
                                    " deployments were unplanned (a rollback, a recovery, an incident)"
                                }
                                None => { span.muted { "no deployments" } }
                            }
                        }
                        td { span.muted { "no levels in the report" } }
                        td { (ids(&rework.rework_deployments)) }
                    }
                }
            }
            p.muted {
                "Levels follow the clusters of DORA's " (metrics.report_year) " report. Other periods: "
                code { "slipway environments dora " (metrics.environment) " --days N" } "; series and every environment: "
                a href="/insights" { "Insights" } "."
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use slipway_api::{DoraChangeFailureRate, DoraDeploymentFrequency, DoraRecovery, DoraRecoveryTime};

    use super::*;

    #[test]
    fn the_block_shows_each_figure_with_its_level_and_deployments() {
        let metrics = DoraMetrics {
            environment: "prod".into(),
            days: 30,
            report_year: 2024,
            deployment_frequency: DoraDeploymentFrequency {
                deployments: 3,
                deployment_days: 2,
                per_week: 0.7,
                bucket: Some("weeklyToMonthly".into()),
                level: Some("medium".into()),
                deployments_counted: vec!["d1".into(), "d2".into(), "e4".into()],
                ..DoraDeploymentFrequency::default()
            },
            change_failure_rate: DoraChangeFailureRate {
                deployments: 4,
                failures: 1,
                rate: Some(0.25),
                level: Some("low".into()),
                failed_deployments: vec!["d3".into()],
                ..DoraChangeFailureRate::default()
            },
            failed_deployment_recovery_time: DoraRecoveryTime {
                episodes: vec![
                    DoraRecovery {
                        failed_deployments: vec!["d3".into()],
                        recovered_by: Some("e4".into()),
                        duration_ms: Some(120_000),
                    },
                    DoraRecovery { failed_deployments: vec!["d5".into()], recovered_by: None, duration_ms: None },
                ],
                median_ms: Some(120_000),
                level: Some("elite".into()),
            },
            ..DoraMetrics::default()
        };
        let html = dora_section(&metrics).into_string();
        assert!(html.contains("Delivery performance (DORA, last 30 days)"), "{html}");
        assert!(
            html.contains("3 successful deployments on 2 days (0.7 a week): between once a week and once a month"),
            "{html}"
        );
        assert!(html.contains("<span class=\"badge dora-medium\""), "{html}");
        assert!(html.contains("#1, #2, event 4"), "{html}");
        assert!(html.contains("25.0%: 1 of 4 deployments failed or needed a rollback"), "{html}");
        assert!(html.contains("no commits with a known time") && html.contains("too little data"), "{html}");
        assert!(html.contains("1 not recovered yet") && html.contains("→ not yet"), "{html}");
        assert!(
            html.contains("DORA's 2024 report") && html.contains("slipway environments dora prod --days N"),
            "{html}"
        );
    }

    #[test]
    fn the_dashboard_shows_each_environment_with_its_charts_and_the_tier_table() {
        let metrics = DoraMetrics {
            environment: "production".into(),
            days: 90,
            report_year: 2024,
            deployment_rework_rate: slipway_api::DoraReworkRate {
                deployments: 4,
                reworked: 1,
                rate: Some(0.25),
                rework_deployments: vec!["d4".into()],
            },
            ..DoraMetrics::default()
        };
        let point = |date: &str, value: Option<f64>| DoraDataPoint { date: Some(date.into()), value };
        let panel = Panel {
            metrics,
            series: vec![
                ("deployment_frequency".into(), vec![point("2026-01-05", Some(1.0)), point("2026-01-12", Some(0.5))]),
                ("lead_time_for_changes".into(), vec![point("2026-01-05", Some(5400.0)), point("2026-01-12", None)]),
            ],
        };
        let tiers = DoraTiers {
            report_year: 2024,
            tiers: vec![slipway_api::DoraTier {
                metric: "change_failure_rate".into(),
                title: "Change fail rate".into(),
                elite: "5%".into(),
                high: "20%".into(),
                medium: "10%".into(),
                low: "40%".into(),
            }],
        };
        let html = dashboard_body(&tiers, &[panel]).into_string();
        for expected in [
            "<a href=\"/environments/production\">production</a>",
            "25.0% (1 of 4)",
            "Performance levels: DORA's 2024 report",
            "<th scope=\"row\">Change fail rate</th><td>5%</td><td>20%</td><td>10%</td><td>40%</td>",
            // Deployments a week: 1 a day is 7 a week, half a day 3.5.
            "<title id=\"env-production-0-title\">Deployments a week</title>",
            "from the week of 2026-01-05 to the week of 2026-01-12, in deployments: 2 of 2 weeks measured; highest 7.",
            "<td>2026-01-12</td><td class=\"num\">3.5 deployments</td>",
            // Lead time in hours; a week without a change has no value.
            "<td>2026-01-05</td><td class=\"num\">1.5 hours</td>",
            "week of 2026-01-12: no data",
            "role=\"img\" aria-labelledby=\"env-production-1-title env-production-1-desc\"",
        ] {
            assert!(html.contains(expected), "{expected:?} in {html}");
        }
        assert!(dashboard_body(&tiers, &[]).into_string().contains("No environments yet"));
    }
}
