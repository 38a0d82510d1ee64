//! Insights in the web UI: the "Delivery performance" block of an environment's page, DORA's four
//! keys over the last 30 days as the API gives them
//! ([`slipway_service::insights::dora_metrics`]), each with the deployments it rests on.

use axum::Router;
use maud::{Markup, html};
use slipway_api::DoraMetrics;

use super::format_duration;
use crate::AppState;

/// The routes of the insights pages.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
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

/// Deployment ids (the history below shows each with its id).
fn ids(ids: &[i64]) -> Markup {
    html! {
        @if ids.is_empty() {
            span.muted { "none" }
        } @else {
            @for (index, id) in ids.iter().enumerate() {
                @if index > 0 { ", " }
                "#" (id)
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
                                @if let Some(by) = episode.recovered_by { " → " (ids(&[by])) } @else { " → not yet" }
                            }
                            @if recovery.episodes.is_empty() { span.muted { "no failures" } }
                        }
                    }
                }
            }
            p.muted {
                "Levels follow the clusters of DORA's " (metrics.report_year) " report. Other periods: "
                code { "slipway environments dora " (metrics.environment) " --days N" } "."
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
                deployments_counted: vec![1, 2, 4],
                ..DoraDeploymentFrequency::default()
            },
            change_failure_rate: DoraChangeFailureRate {
                deployments: 4,
                failures: 1,
                rate: Some(0.25),
                level: Some("low".into()),
                failed_deployments: vec![3],
                ..DoraChangeFailureRate::default()
            },
            failed_deployment_recovery_time: DoraRecoveryTime {
                episodes: vec![
                    DoraRecovery { failed_deployments: vec![3], recovered_by: Some(4), duration_ms: Some(120_000) },
                    DoraRecovery { failed_deployments: vec![5], recovered_by: None, duration_ms: None },
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
        assert!(html.contains("#1, #2, #4"), "{html}");
        assert!(html.contains("25.0%: 1 of 4 deployments failed or needed a rollback"), "{html}");
        assert!(html.contains("no commits with a known time") && html.contains("too little data"), "{html}");
        assert!(html.contains("1 not recovered yet") && html.contains("→ not yet"), "{html}");
        assert!(
            html.contains("DORA's 2024 report") && html.contains("slipway environments dora prod --days N"),
            "{html}"
        );
    }
}
