//! The team dashboard page, `/team` (readers): over the last days (30 unless `?days=` says
//! otherwise; one pipeline with `?pipeline=`), each pipeline's health (runs, pass rate, median and
//! 90th percentile of durations, with the daily pass rate and median duration drawn as SVG bar
//! charts), the flaky tests (a test that failed and passed on the same commit, with the runs of
//! each), how long jobs waited for an agent per pool (with a daily chart), each agent's and pool's
//! busy time, and DORA's five metrics of every environment. Everything comes from one call,
//! [`slipway_service::team::dashboard`], which `GET /api/v1/team` answers too; the charts are
//! drawn on the server as the `/insights` dashboard's are (a title and a description in each, the
//! values written beside), with no script.

use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use maud::{Markup, html};
use slipway_api::DoraMetrics;
use slipway_api::team::{TeamDashboard, TeamPipeline, TeamQuery, TeamQueue};
use slipway_service::team as service;

use super::{UiError, Viewer, format_duration, format_time, page, short_commit, url_encode};
use crate::AppState;

/// The windows the page offers, in days.
const WINDOWS: [u32; 4] = [7, 14, 30, 90];

/// The routes of this module.
pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/team", get(dashboard))
}

/// `GET /team` (reader): the team dashboard.
async fn dashboard(
    State(state): State<AppState>,
    viewer: Viewer,
    query: Result<Query<TeamQuery>, QueryRejection>,
) -> Result<Response, UiError> {
    let Query(query) = query?;
    let caller = viewer.caller();
    let figures = service::dashboard(&state, &caller, &query).await?;
    let pipelines: Vec<String> =
        state.store().list_pipelines().await?.into_iter().map(|pipeline| pipeline.name).collect();
    let body = dashboard_body(&figures, &pipelines);
    Ok(page("Team", Some(&viewer), &body).into_response())
}

fn percent(rate: Option<f64>) -> String {
    rate.map_or_else(|| "-".to_owned(), |rate| format!("{:.1}%", rate * 100.0))
}

fn duration(milliseconds: Option<i64>) -> String {
    milliseconds.map_or_else(|| "-".to_owned(), format_duration)
}

fn dashboard_body(figures: &TeamDashboard, pipelines: &[String]) -> Markup {
    html! {
        h1 { "Team · pipeline health, flaky tests, queues and agents" }
        p.muted {
            "The last " (figures.days) " days (UTC), from " (format_time(slipway_store::Timestamp(figures.start)))
            @if let Some(pipeline) = &figures.pipeline { ", pipeline " strong { (pipeline) } }
            ". The same figures come from " code { "GET /api/v1/team" } "."
        }
        form.filters method="get" action="/team" {
            label { "Days " select name="days" {
                @for days in WINDOWS {
                    option value=(days) selected[days == figures.days] { (days) }
                }
            } }
            " "
            label { "Pipeline " select name="pipeline" {
                option value="" selected[figures.pipeline.is_none()] { "all" }
                @for pipeline in pipelines {
                    option value=(pipeline) selected[figures.pipeline.as_deref() == Some(pipeline.as_str())] { (pipeline) }
                }
            } }
            " "
            button type="submit" { "Show" }
        }
        (health_section(&figures.pipelines))
        (flaky_section(figures))
        (queue_section(&figures.queues))
        (agents_section(figures))
        (dora_section(&figures.dora))
    }
}

fn health_section(pipelines: &[TeamPipeline]) -> Markup {
    html! {
        section.panel #team-health {
            h2 { "Pipeline health" }
            @if pipelines.is_empty() {
                p.muted { "No run finished in this window." }
            } @else {
                table.list.team-health {
                    caption { "Runs that finished in the window; the pass rate leaves canceled runs out" }
                    thead { tr {
                        th scope="col" { "Pipeline" } th scope="col" { "Runs" } th scope="col" { "Succeeded" }
                        th scope="col" { "Failed" } th scope="col" { "Canceled" } th scope="col" { "Pass rate" }
                        th scope="col" { "Median duration" } th scope="col" { "90th percentile" }
                    } }
                    tbody {
                        @for pipeline in pipelines {
                            tr {
                                th scope="row" { a href=(format!("/pipelines/{}", url_encode(&pipeline.pipeline))) { (pipeline.pipeline) } }
                                td.num { (pipeline.runs) } td.num { (pipeline.succeeded) } td.num { (pipeline.failed) }
                                td.num { (pipeline.canceled) } td.num { (percent(pipeline.pass_rate)) }
                                td.num { (duration(pipeline.median_duration_ms)) } td.num { (duration(pipeline.p90_duration_ms)) }
                            }
                        }
                    }
                }
                @for pipeline in pipelines {
                    @let anchor = format!("pipeline-{}", url_encode(&pipeline.pipeline));
                    @let dates: Vec<&str> = pipeline.daily.iter().map(|day| day.date.as_str()).collect();
                    @let rates: Vec<Option<f64>> = pipeline.daily.iter().map(|day| day.pass_rate.map(|rate| rate * 100.0)).collect();
                    @let durations: Vec<Option<i64>> = pipeline.daily.iter().map(|day| day.median_duration_ms).collect();
                    div.dora-charts id=(anchor) {
                        (chart(&format!("{anchor}-rate"), &format!("{}: pass rate a day", pipeline.pipeline), "%", &dates, &rates))
                        (duration_chart(&format!("{anchor}-duration"), &format!("{}: median duration a day", pipeline.pipeline), &dates, &durations))
                    }
                }
            }
        }
    }
}

fn runs(ids: &[i64]) -> Markup {
    html! {
        @for (index, id) in ids.iter().enumerate() {
            @if index > 0 { ", " }
            a href=(format!("/runs/{id}")) { "#" (id) }
        }
    }
}

fn flaky_section(figures: &TeamDashboard) -> Markup {
    html! {
        section.panel #team-flaky {
            h2 { "Flaky tests" }
            p.muted { "A test that failed and passed on the same commit (in two runs, or when a failed job was run again), in runs created in the window; the most failures first." }
            @if figures.flaky_tests.is_empty() {
                p.muted { "No flaky tests in this window." }
            } @else {
                table.list.team-flaky {
                    thead { tr {
                        th scope="col" { "Test" } th scope="col" { "Pipeline" } th scope="col" { "Commit" } th scope="col" { "Job" }
                        th scope="col" { "Failed in" } th scope="col" { "Passed in" } th scope="col" { "Failures" }
                    } }
                    tbody {
                        @for test in &figures.flaky_tests {
                            tr {
                                th scope="row" {
                                    @if let Some(suite) = &test.suite { span.muted { (suite) " · " } }
                                    (test.name)
                                }
                                td { (test.pipeline) }
                                td { code { (short_commit(&test.commit)) } }
                                td { (test.job) }
                                td { (runs(&test.failed_runs)) }
                                td { (runs(&test.passed_runs)) }
                                td.num { (test.count) " of " (test.count + test.passes) }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn queue_section(queues: &[TeamQueue]) -> Markup {
    html! {
        section.panel #team-queues {
            h2 { "Queue times" }
            p.muted { "How long jobs queued in the window waited for an agent, from queued to started, per pool." }
            @if queues.is_empty() {
                p.muted { "No job started in this window." }
            } @else {
                table.list.team-queues {
                    thead { tr { th scope="col" { "Pool" } th scope="col" { "Jobs" } th scope="col" { "Median wait" } th scope="col" { "90th percentile" } } }
                    tbody {
                        @for queue in queues {
                            tr {
                                th scope="row" { (queue.pool) }
                                td.num { (queue.jobs) } td.num { (duration(queue.median_ms)) } td.num { (duration(queue.p90_ms)) }
                            }
                        }
                    }
                }
                div.dora-charts {
                    @for queue in queues {
                        @let dates: Vec<&str> = queue.daily.iter().map(|day| day.date.as_str()).collect();
                        @let waits: Vec<Option<i64>> = queue.daily.iter().map(|day| day.median_ms).collect();
                        (duration_chart(&format!("queue-{}", url_encode(&queue.pool)), &format!("{}: median wait a day", queue.pool), &dates, &waits))
                    }
                }
            }
        }
    }
}

fn agents_section(figures: &TeamDashboard) -> Markup {
    html! {
        section.panel #team-agents {
            h2 { "Agent use" }
            @if figures.agents.is_empty() {
                p.muted { "No agents." }
            } @else {
                table.list.team-agents {
                    caption { "Job attempts started in the window, and the time spent running jobs (its share of the window)" }
                    thead { tr { th scope="col" { "Agent" } th scope="col" { "Pool" } th scope="col" { "Jobs" } th scope="col" { "Busy" } th scope="col" { "Busy share" } } }
                    tbody {
                        @for agent in &figures.agents {
                            tr {
                                th scope="row" { (agent.agent) }
                                td { @match &agent.pool { Some(pool) => { (pool) } None => { span.muted { "not registered" } } } }
                                td.num { (agent.jobs) } td.num { (format_duration(agent.busy_ms)) }
                                td.num { (percent(Some(agent.busy_share))) }
                            }
                        }
                    }
                }
            }
            @if !figures.pools.is_empty() {
                table.list.team-pools {
                    caption { "Per pool: its agents' time spent running its jobs" }
                    thead { tr { th scope="col" { "Pool" } th scope="col" { "Agents" } th scope="col" { "Jobs" } th scope="col" { "Busy" } th scope="col" { "Busy share" } } }
                    tbody {
                        @for pool in &figures.pools {
                            tr {
                                th scope="row" { (pool.pool) }
                                td.num { (pool.agents) } td.num { (pool.jobs) } td.num { (format_duration(pool.busy_ms)) }
                                td.num { (percent(pool.busy_share)) }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn level(level: Option<&str>) -> Markup {
    html! {
        @match level {
            Some(level) => { span class=(format!("badge dora-{level}")) title="DORA performance level" { (level) } }
            None => { span.muted { "too little data" } }
        }
    }
}

fn dora_section(environments: &[DoraMetrics]) -> Markup {
    html! {
        section.panel #team-dora {
            h2 { "Delivery performance (DORA)" }
            @if environments.is_empty() {
                p.muted { "No environments yet: a deployment job's first use creates one." }
            } @else {
                table.list.team-dora {
                    thead { tr {
                        th scope="col" { "Environment" } th scope="col" { "Deployment frequency" } th scope="col" { "Change lead time" }
                        th scope="col" { "Change fail rate" } th scope="col" { "Recovery time" } th scope="col" { "Rework rate" }
                    } }
                    tbody {
                        @for metrics in environments {
                            tr {
                                th scope="row" { a href=(format!("/environments/{}", url_encode(&metrics.environment))) { (metrics.environment) } }
                                td { (metrics.deployment_frequency.deployments) " (" (format!("{:.1}", metrics.deployment_frequency.per_week)) " a week) " (level(metrics.deployment_frequency.level.as_deref())) }
                                td { (duration(metrics.lead_time_for_changes.median_ms)) " " (level(metrics.lead_time_for_changes.level.as_deref())) }
                                td { (percent(metrics.change_failure_rate.rate)) " " (level(metrics.change_failure_rate.level.as_deref())) }
                                td { (duration(metrics.failed_deployment_recovery_time.median_ms)) " " (level(metrics.failed_deployment_recovery_time.level.as_deref())) }
                                td { (percent(metrics.deployment_rework_rate.rate)) }
                            }
                        }
                    }
                }
            }
            p.muted { "Series, levels and DORA's tier table: " a href="/insights" { "Insights" } "." }
        }
    }
}

fn number(value: f64) -> String {
    if (value - value.round()).abs() < 1e-9 { format!("{value:.0}") } else { format!("{value:.1}") }
}

/// A chart of daily durations, in the unit that suits its largest value.
#[expect(clippy::cast_precision_loss, reason = "milliseconds of a duration are far below 2^52")]
fn duration_chart(id: &str, title: &str, dates: &[&str], values: &[Option<i64>]) -> Markup {
    let top = values.iter().flatten().copied().max().unwrap_or(0);
    let (unit, scale) = match top {
        ..120_000 => ("seconds", 1000.0),
        120_000..7_200_000 => ("minutes", 60_000.0),
        _ => ("hours", 3_600_000.0),
    };
    let scaled: Vec<Option<f64>> = values.iter().map(|value| value.map(|value| value as f64 / scale)).collect();
    chart(id, title, unit, dates, &scaled)
}

const CHART_WIDTH: f64 = 320.0;
const CHART_HEIGHT: f64 = 110.0;

/// A bar chart of a daily series, with its values written beside it; a day without a value has a
/// flat mark.
#[expect(clippy::cast_precision_loss, reason = "at most 90 days")]
fn chart(id: &str, title: &str, unit: &str, dates: &[&str], values: &[Option<f64>]) -> Markup {
    let top = values.iter().flatten().copied().fold(0.0_f64, f64::max);
    let highest = top;
    let top = if top > 0.0 { top } else { 1.0 };
    let slot = CHART_WIDTH / dates.len().max(1) as f64;
    let measured = values.iter().flatten().count();
    let first = dates.first().copied().unwrap_or_default();
    let last = dates.last().copied().unwrap_or_default();
    let description = format!(
        "{title} from {first} to {last}, in {unit}: {measured} of {} days measured; highest {}.",
        dates.len(),
        number(highest)
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
                @for (index, (date, value)) in dates.iter().zip(values).enumerate() {
                    @let x = index as f64 * slot + 1.0;
                    @let width = (slot - 2.0).max(1.0);
                    @match value {
                        Some(value) => {
                            @let height = (value / top * (CHART_HEIGHT - 6.0)).max(if *value > 0.0 { 1.0 } else { 0.0 });
                            rect.bar x=(format!("{x:.1}")) y=(format!("{:.1}", CHART_HEIGHT - height))
                                width=(format!("{width:.1}")) height=(format!("{height:.1}")) {
                                title { (date) ": " (show(Some(*value))) }
                            }
                        }
                        None => {
                            rect.missing x=(format!("{x:.1}")) y=(format!("{:.1}", CHART_HEIGHT - 2.0))
                                width=(format!("{width:.1}")) height="2" {
                                title { (date) ": no data" }
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
                        thead { tr { th scope="col" { "Day" } th scope="col" { (unit) } } }
                        tbody {
                            @for (date, value) in dates.iter().zip(values) {
                                @if value.is_some() {
                                    tr { td { (date) } td.num { (show(*value)) } }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use slipway_api::team::{TeamAgent, TeamFlakyTest, TeamPipelineDay};

    use super::*;

    #[test]
    fn the_page_shows_each_figure_and_draws_the_daily_series() {
        let figures = TeamDashboard {
            days: 30,
            start: 0,
            end: 30 * 86_400_000,
            pipelines: vec![TeamPipeline {
                pipeline: "app".into(),
                runs: 6,
                succeeded: 3,
                failed: 2,
                canceled: 1,
                pass_rate: Some(0.6),
                median_duration_ms: Some(180_000),
                p90_duration_ms: Some(600_000),
                daily: vec![
                    TeamPipelineDay { date: "2026-01-01".into(), ..TeamPipelineDay::default() },
                    TeamPipelineDay {
                        date: "2026-01-02".into(),
                        runs: 6,
                        succeeded: 3,
                        failed: 2,
                        pass_rate: Some(0.6),
                        median_duration_ms: Some(180_000),
                    },
                ],
            }],
            flaky_tests: vec![TeamFlakyTest {
                pipeline: "app".into(),
                commit: "0123456789abcdef".into(),
                job: "Build.build".into(),
                suite: Some("app.tests".into()),
                name: "login".into(),
                failed_runs: vec![1],
                passed_runs: vec![2],
                count: 1,
                passes: 1,
                last_seen: 0,
            }],
            agents: vec![TeamAgent { agent: "gone".into(), pool: None, jobs: 2, busy_ms: 90_000, busy_share: 0.25 }],
            ..TeamDashboard::default()
        };
        let html = dashboard_body(&figures, &[]).into_string();
        for expected in [
            "<a href=\"/pipelines/app\">app</a>",
            "<td class=\"num\">60.0%</td><td class=\"num\">3m 00s</td><td class=\"num\">10m 00s</td>",
            "<title id=\"pipeline-app-rate-title\">app: pass rate a day</title>",
            "app: pass rate a day from 2026-01-01 to 2026-01-02, in %: 1 of 2 days measured; highest 60.",
            "2026-01-01: no data",
            "<td>2026-01-02</td><td class=\"num\">3 minutes</td>",
            "<span class=\"muted\">app.tests · </span>login",
            "<code>01234567</code>",
            "<a href=\"/runs/1\">#1</a>",
            "1 of 2",
            "not registered",
            "25.0%",
            "No job started in this window.",
            "No environments yet",
            "<option value=\"30\" selected>30</option>",
        ] {
            assert!(html.contains(expected), "{expected:?} in {html}");
        }
    }
}
