//! The services of an environment on its page (`/environments/{name}`): each service's router
//! (the address it listens on and its state), its slots with their upstreams, weights and share of
//! the traffic, their requests so far and success rate, and their last minute through the router
//! (success rate, requests per second, 99th percentile latency); the service's last analysis run
//! (its phase, verdict and times, and each metric's measurements as a small chart); contributors
//! set the weights, add, replace, remove and swap slots there; admins create and delete services.
//!
//! Every read and change goes through the functions the API uses
//! ([`slipway_service::delivery`]), with the signed-in user as the caller, so roles, the checks of
//! names, addresses and upstreams, and the audit log are the same. A form the service refuses
//! shows the environment page again with the service's words beside the form, and what was typed
//! kept.

use std::collections::BTreeMap;

use axum::Form;
use axum::extract::rejection::{FormRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use slipway_api::{CreateService, Service, ServiceSlot, SetSlot, SetTraffic, SwapSlots};
use slipway_delivery::metrics::Window;
use slipway_delivery::room::analysis_state;
use slipway_events::delivery::{AnalysisState, MeasurementState, MetricState};
use slipway_service::delivery;
use slipway_service::{AppState, ServiceError};
use slipway_store::{AnalysisRun, RunId, Timestamp, UserRole};

use super::environments::{Drafts, refused, refused_page};
use super::session::CsrfForm;
use super::{UiError, Viewer, csrf_field, format_time, url_encode};

/// The prefix of the traffic form's fields: `weight.SLOT`.
const WEIGHT_FIELD: &str = "weight.";

/// How far back a slot's live numbers look, in seconds.
const LIVE_SECONDS: u64 = 60;

/// How many of a service's analysis runs the page reads: the newest shows whole, the others as
/// their phases.
const ANALYSIS_RUNS: i64 = 5;

/// The size of a metric's chart of measurements, and the margin inside it, in pixels.
const CHART_WIDTH: f64 = 240.0;
const CHART_HEIGHT: f64 = 48.0;
const CHART_MARGIN: f64 = 5.0;

/// The most characters of a measurement's value shown as text.
const VALUE_TEXT_LIMIT: usize = 200;

/// The forms of the services section, to tell which one a refusal belongs beside.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ServiceForm {
    /// The admins' form to create a service.
    Create,
    /// A service's traffic weights.
    Traffic,
    /// A service's form to add or replace a slot.
    Slot,
    /// A slot's remove button.
    RemoveSlot,
    /// A service's swap form.
    Swap,
}

/// What the services section shows beyond the store: a refused form's words, and what was typed.
#[derive(Debug, Default)]
pub(crate) struct ServiceDrafts {
    /// The refused form, the service it was for (empty for a new service) and the words.
    problem: Option<(ServiceForm, String, String)>,
    /// The new service's name and address.
    new_service: (String, String),
    /// The slot form's name, upstream and weight.
    slot: (String, String, String),
    /// The traffic form's weights as typed, by slot.
    traffic: Vec<(String, String)>,
    /// The swap form's two slots.
    swap: (String, String),
}

impl ServiceDrafts {
    fn refused(form: ServiceForm, service: &str, message: String) -> Self {
        Self { problem: Some((form, service.to_owned(), message)), ..Self::default() }
    }

    /// Whether the refused form was `form` of `service`.
    fn is(&self, form: ServiceForm, service: &str) -> bool {
        self.problem.as_ref().is_some_and(|(kind, name, _)| *kind == form && name.eq_ignore_ascii_case(service))
    }

    fn problem(&self, form: ServiceForm, service: &str) -> Option<&str> {
        self.problem.as_ref().filter(|_| self.is(form, service)).map(|(_, _, message)| message.as_str())
    }
}

/// What a service has done lately, beside its slots: each slot's last minute through the router,
/// and the service's last analysis runs.
#[derive(Debug, Default)]
pub(crate) struct Recent {
    /// Each slot's requests over the last [`LIVE_SECONDS`], by slot name.
    windows: Vec<(String, Window)>,
    /// The last analysis runs, newest first.
    analyses: Vec<Analysis>,
}

impl Recent {
    /// A slot's window (an empty one when the router has not seen the slot).
    fn window(&self, slot: &str) -> Window {
        self.windows.iter().find(|(name, _)| name == slot).map(|(_, window)| *window).unwrap_or_default()
    }
}

/// An analysis run as the page shows it.
#[derive(Debug)]
struct Analysis {
    /// Its phase, verdict and metrics with their measurements.
    state: AnalysisState,
    /// Its template's name.
    template: String,
    /// The run (of a pipeline) whose deployment job started it, while it exists.
    run: Option<RunId>,
    started_at: Timestamp,
    finished_at: Option<Timestamp>,
}

impl Analysis {
    fn of(run: &AnalysisRun) -> Self {
        Self {
            state: analysis_state(run),
            template: run.template_name.clone(),
            run: run.run,
            started_at: run.started_at,
            finished_at: run.finished_at,
        }
    }
}

/// What the services have done lately, by service id, read through [`delivery::recent`] as the
/// viewer. A service deleted since `services` was read shows without it.
///
/// # Errors
/// When the service layer refuses or the store fails.
pub(crate) async fn recent(
    state: &AppState,
    viewer: &Viewer,
    environment: &str,
    services: &[Service],
) -> Result<BTreeMap<i64, Recent>, UiError> {
    let caller = viewer.caller();
    let mut recent = BTreeMap::new();
    for service in services {
        match delivery::recent(state, &caller, environment, &service.name, LIVE_SECONDS, ANALYSIS_RUNS).await {
            Ok((windows, runs)) => {
                recent.insert(service.id, Recent { windows, analyses: runs.iter().map(Analysis::of).collect() });
            }
            Err(ServiceError::NotFound(_)) => {}
            Err(error) => return Err(error.into()),
        }
    }
    Ok(recent)
}

fn problem_note(problem: Option<&str>) -> Markup {
    html! { @if let Some(problem) = problem { p.problem role="alert" { (problem) } } }
}

/// `part` of `whole` in tenths of a percent, rounded to the nearest (`round`) or down; `None`
/// when `whole` is 0.
#[must_use]
pub(crate) fn per_mille(part: u128, whole: u128, round: bool) -> Option<u64> {
    if whole == 0 {
        return None;
    }
    let part = part.min(whole);
    let scaled = part * 1000 + if round { whole / 2 } else { 0 };
    u64::try_from(scaled / whole).ok()
}

/// Tenths as a number for people: `33.3`, `50`.
#[must_use]
pub(crate) fn tenths(value: u64) -> String {
    if value.is_multiple_of(10) { format!("{}", value / 10) } else { format!("{}.{}", value / 10, value % 10) }
}

/// A slot's share of the traffic: the percentage and a bar (an SVG: the page allows no inline
/// styles).
fn share_cell(weight: u32, total: u64) -> Markup {
    match per_mille(u128::from(weight), u128::from(total), true) {
        Some(share) => {
            let percent = tenths(share);
            html! {
                svg.share width="100" height="8" viewBox="0 0 100 8" role="img" aria-label=(format!("{percent}% of the traffic")) {
                    rect.track x="0" y="0" width="100" height="8" {}
                    rect.fill x="0" y="0" width=(percent) height="8" {}
                }
                " " span.percent { (percent) "%" }
            }
        }
        None => html! { span.muted title="No slot has a weight: only requests that name a slot are served" { "—" } },
    }
}

/// A slot's success rate: answers that were no server error among those that were answered or
/// failed (client errors are the clients'), rounded down so that 100% means none failed.
#[must_use]
pub(crate) fn success_rate(slot: &ServiceSlot) -> String {
    let requests = &slot.requests;
    per_mille(u128::from(requests.ok), u128::from(requests.ok) + u128::from(requests.server_errors), false)
        .map_or_else(|| "—".to_owned(), |rate| format!("{}%", tenths(rate)))
}

/// A slot's last [`LIVE_SECONDS`] through the router: its success rate (answers that were no
/// server error among all, as [`Window::success_rate`] and the `slipway` analysis provider count
/// them; rounded down, so that 100% means none failed), requests per second and 99th percentile
/// latency.
#[must_use]
pub(crate) fn live_line(window: &Window) -> String {
    let total = window.total();
    let Some(success) = per_mille(u128::from(total - window.server_errors.min(total)), u128::from(total), false) else {
        return format!("no requests in the last {LIVE_SECONDS} s");
    };
    let latency = window.latency_ms(0.99).map_or_else(|| "—".to_owned(), |ms| format!("{ms:.1} ms"));
    format!("success {}% · {:.1} req/s · p99 {latency} (last {LIVE_SECONDS} s)", tenths(success), window.request_rate())
}

/// The class of an analysis phase (a run's, a metric's or a measurement's): green, red, amber,
/// or grey while it runs, is pending or was terminated.
fn phase_class(phase: &str) -> &'static str {
    match phase {
        "Successful" => "s-ok",
        "Failed" | "Error" => "s-fail",
        "Inconclusive" => "s-warn",
        _ => "s-wait",
    }
}

fn phase_badge(phase: &str) -> Markup {
    html! { span class=(format!("badge {}", phase_class(phase))) { (phase) } }
}

/// The number a measurement's value charts as: a number, or an array's first number.
fn chart_value(value: Option<&serde_json::Value>) -> Option<f64> {
    match value? {
        serde_json::Value::Number(number) => number.as_f64(),
        serde_json::Value::Array(items) => items.iter().find_map(serde_json::Value::as_f64),
        _ => None,
    }
    .filter(|number| number.is_finite())
}

/// A number for people, to four decimals at most: `0.9923`, `12`.
fn short_number(number: f64) -> String {
    let text = format!("{number:.4}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" { "0".to_owned() } else { text.to_owned() }
}

/// A measurement that does not chart, as text: its value (a string as it is, anything else as
/// JSON, cut short), or why there is none.
fn measurement_text(measurement: &MeasurementState) -> String {
    let text = match &measurement.value {
        Some(serde_json::Value::String(text)) => text.clone(),
        Some(value) => value.to_string(),
        None => measurement.message.clone().unwrap_or_else(|| "no value".to_owned()),
    };
    match text.char_indices().nth(VALUE_TEXT_LIMIT) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text,
    }
}

/// A metric's numeric measurements as a chart: one point per measurement, oldest on the left,
/// coloured by its phase, the height scaled from the lowest value to the highest; each point's
/// title tells its value, phase and time (and message).
fn measurement_chart(metric: &str, points: &[(f64, &MeasurementState)]) -> Markup {
    let low = points.iter().map(|(value, _)| *value).fold(f64::INFINITY, f64::min);
    let high = points.iter().map(|(value, _)| *value).fold(f64::NEG_INFINITY, f64::max);
    let last = points.len().saturating_sub(1);
    let inner = (CHART_WIDTH - 2.0 * CHART_MARGIN, CHART_HEIGHT - 2.0 * CHART_MARGIN);
    let placed: Vec<(String, String, &(f64, &MeasurementState))> = points
        .iter()
        .enumerate()
        .map(|(index, point)| {
            #[expect(clippy::cast_precision_loss, reason = "a metric has far fewer than 2^52 measurements")]
            let x = if last == 0 { CHART_WIDTH / 2.0 } else { CHART_MARGIN + inner.0 * index as f64 / last as f64 };
            let y =
                if high > low { CHART_MARGIN + inner.1 * (high - point.0) / (high - low) } else { CHART_HEIGHT / 2.0 };
            (format!("{x:.1}"), format!("{y:.1}"), point)
        })
        .collect();
    let line: Vec<String> = placed.iter().map(|(x, y, _)| format!("{x},{y}")).collect();
    let label = format!(
        "{} measurement{} of {metric}, from {} to {}",
        points.len(),
        if points.len() == 1 { "" } else { "s" },
        short_number(low),
        short_number(high)
    );
    html! {
        svg.measurements width=(CHART_WIDTH) height=(CHART_HEIGHT) viewBox=(format!("0 0 {CHART_WIDTH} {CHART_HEIGHT}")) role="img" aria-label=(label) {
            @if placed.len() > 1 { polyline points=(line.join(" ")) {} }
            @for (x, y, (value, measurement)) in &placed {
                circle class=(format!("point {}", phase_class(&measurement.phase))) cx=(x) cy=(y) r="3.5" {
                    title {
                        (value) " · " (measurement.phase) " · " (format_time(Timestamp::from_millis(measurement.finished_at)))
                        @if let Some(message) = &measurement.message { " · " (message) }
                    }
                }
            }
        }
        " " span.muted.range { (short_number(low)) @if high > low { " to " (short_number(high)) } }
    }
}

/// A series' values, when it is a list of numbers.
fn numbers(value: &serde_json::Value) -> Vec<f64> {
    value.as_array().map(|items| items.iter().filter_map(serde_json::Value::as_f64).collect()).unwrap_or_default()
}

/// The canary's series against the baseline's, one line each, the height scaled over both.
fn comparison_chart(metric: &str, baseline: &[f64], canary: &[f64]) -> Markup {
    let all = baseline.iter().chain(canary).copied().filter(|value| value.is_finite());
    let (low, high) =
        all.fold((f64::INFINITY, f64::NEG_INFINITY), |(low, high), value| (low.min(value), high.max(value)));
    let inner = (CHART_WIDTH - 2.0 * CHART_MARGIN, CHART_HEIGHT - 2.0 * CHART_MARGIN);
    let line = |values: &[f64]| -> String {
        let last = values.len().saturating_sub(1);
        values
            .iter()
            .enumerate()
            .map(|(index, value)| {
                #[expect(clippy::cast_precision_loss, reason = "a series has at most a few thousand samples")]
                let x = if last == 0 { CHART_WIDTH / 2.0 } else { CHART_MARGIN + inner.0 * index as f64 / last as f64 };
                let y = if high > low {
                    CHART_MARGIN + inner.1 * (high - value) / (high - low)
                } else {
                    CHART_HEIGHT / 2.0
                };
                format!("{x:.1},{y:.1}")
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let label = format!(
        "{metric}: the canary's {} samples (blue) against the baseline's {} (grey), from {} to {}",
        canary.len(),
        baseline.len(),
        short_number(low),
        short_number(high)
    );
    html! {
        svg.measurements.comparison width=(CHART_WIDTH) height=(CHART_HEIGHT) viewBox=(format!("0 0 {CHART_WIDTH} {CHART_HEIGHT}")) role="img" aria-label=(label) {
            title { (label) }
            polyline.baseline points=(line(baseline)) {}
            polyline.canary points=(line(canary)) {}
        }
        " " span.muted.range { (short_number(low)) @if high > low { " to " (short_number(high)) } }
    }
}

/// A statistical judge's measurement: the score and outcome, and per metric its
/// classification, the shift's estimate and interval, and the canary against the baseline.
fn verdict_part(value: &serde_json::Value) -> Markup {
    let verdict = &value["verdict"];
    let score = value["score"].as_f64().map(short_number).unwrap_or_else(|| "?".to_owned());
    let outcome = value["outcome"].as_str().unwrap_or("?");
    let empty = Vec::new();
    let metrics = verdict["metrics"].as_array().unwrap_or(&empty);
    html! {
        div.verdict {
            "Score " strong { (score) } " (" (outcome) "; pass at " (verdict["config"]["pass"]) ", fail below " (verdict["config"]["marginal"]) ")"
            table.judge {
                thead { tr { th { "Metric" } th { "Classification" } th { "Shift (canary − baseline)" } th { "Samples" } th { "Canary against baseline" } } }
                tbody {
                    @for metric in metrics {
                        @let name = metric["name"].as_str().unwrap_or("?");
                        @let series = &value["series"][name];
                        tr {
                            td { code { (name) } @if metric["critical"] == true { " " span.muted { "critical" } } }
                            td { span class=(if metric["failed"] == true { "phase failed" } else { "phase successful" }) { (metric["classification"].as_str().unwrap_or("?")) } }
                            td {
                                @if let Some(estimate) = metric["estimate"].as_f64() {
                                    (short_number(estimate))
                                    @if let (Some(low), Some(high)) = (metric["interval"][0].as_f64(), metric["interval"][1].as_f64()) {
                                        " [" (short_number(low)) ", " (short_number(high)) "]"
                                    }
                                } @else { span.muted { "none" } }
                            }
                            td { (metric["samples"][1]) " / " (metric["samples"][0]) }
                            td { (comparison_chart(name, &numbers(&series["baseline"]), &numbers(&series["canary"]))) }
                        }
                    }
                }
            }
        }
    }
}

/// A metric's measurements: the numeric ones as a chart, a statistical judge's verdicts as
/// their comparison, the others (objects, strings, none) listed as text.
fn measurements_cell(metric: &MetricState) -> Markup {
    let mut points = Vec::new();
    let mut others = Vec::new();
    let mut verdicts = Vec::new();
    for measurement in &metric.measurements {
        if let Some(value) = measurement.value.as_ref().filter(|value| value.get("verdict").is_some()) {
            verdicts.push((value, measurement));
            continue;
        }
        match chart_value(measurement.value.as_ref()) {
            Some(value) => points.push((value, measurement)),
            None => others.push(measurement),
        }
    }
    html! {
        @if metric.measurements.is_empty() {
            span.muted { "not measured yet" }
        }
        @if !points.is_empty() {
            (measurement_chart(&metric.name, &points))
        }
        @for (value, measurement) in &verdicts {
            div {
                span class=(format!("phase {}", phase_class(&measurement.phase))) { (measurement.phase) }
                span.muted { " " (format_time(Timestamp::from_millis(measurement.finished_at))) }
            }
            (verdict_part(value))
        }
        @if !others.is_empty() {
            ul.measurement-values {
                @for measurement in &others {
                    li {
                        span class=(format!("phase {}", phase_class(&measurement.phase))) { (measurement.phase) } " "
                        code { (measurement_text(measurement)) }
                        span.muted { " " (format_time(Timestamp::from_millis(measurement.finished_at))) }
                    }
                }
            }
        }
    }
}

/// A service's last analysis run whole, and the phases of the ones before it.
#[cfg(test)]
fn analyses_part(analyses: &[Analysis]) -> Markup {
    analyses_part_for(None, analyses)
}

/// [`analyses_part`], with the decision form on an inconclusive run for a contributor (the
/// viewer and the environment's name).
fn analyses_part_for(decider: Option<(&Viewer, &str)>, analyses: &[Analysis]) -> Markup {
    html! {
        h4 { "Last analysis" }
        @if let Some((last, earlier)) = analyses.split_first() {
            @let state = &last.state;
            div.analysis {
                p.analysis-head {
                    "#" (state.id) " " (phase_badge(&state.phase))
                    " " span.muted { "template " } code { (last.template) }
                    @if let Some(run) = last.run { " " span.muted { "from run " } a href=(format!("/runs/{run}")) { "#" (run) } }
                    span.muted {
                        " · started " (format_time(last.started_at))
                        @match last.finished_at {
                            Some(finished) => { " · ended " (format_time(finished)) }
                            None => { " · still measuring" }
                        }
                    }
                }
                @if let Some(message) = &state.message {
                    p.analysis-message { (message) }
                }
                @if let (Some((viewer, environment)), "Inconclusive") = (decider, state.phase.as_str()) {
                    form.inline.decide-analysis method="post" action=(format!("/analysis-runs/{}/decision", state.id)) {
                        (csrf_field(viewer))
                        input type="hidden" name="environment" value=(environment);
                        "A deployment waits for a decision: "
                        input type="text" name="comment" placeholder="why (for the audit log)";
                        " "
                        button type="submit" name="decision" value="pass" { "Pass it" }
                        " "
                        button type="submit" name="decision" value="fail" { "Fail it" }
                    }
                }
                @if state.metrics.is_empty() {
                    p.empty { "No metrics (its template could not be read)." }
                } @else {
                    table.list.analysis-metrics {
                        thead { tr { th { "Metric" } th { "Phase" } th { "Measurements" } } }
                        tbody {
                            @for metric in &state.metrics {
                                tr {
                                    td.metric-name { (metric.name) }
                                    td { (phase_badge(&metric.phase)) }
                                    td.measurements { (measurements_cell(metric)) }
                                }
                            }
                        }
                    }
                }
                @if !earlier.is_empty() {
                    p.muted.earlier-analyses {
                        "Before it: "
                        @for analysis in earlier { "#" (analysis.state.id) " " (phase_badge(&analysis.state.phase)) " " }
                    }
                }
            }
        } @else {
            p.empty { "No analysis runs yet." }
        }
    }
}

/// The badge of a service's router.
fn router_badge(state: &str) -> Markup {
    let class = match state {
        "listening" | "applied" => "s-ok",
        "failed" => "s-fail",
        "starting" => "s-wait",
        _ => "s-skip",
    };
    html! { span class=(format!("badge {class}")) { (state) } }
}

/// The address of a service's forms.
fn service_path(environment: &str, service: &str) -> String {
    format!("/environments/{}/services/{}", url_encode(environment), url_encode(service))
}

/// The id of a service's part of the page.
fn anchor(service: &str) -> String {
    format!("service-{}", url_encode(service))
}

/// The services section of the environment page.
#[must_use]
pub(crate) fn services_section(
    viewer: &Viewer,
    environment: &str,
    services: &[Service],
    recent: &BTreeMap<i64, Recent>,
    drafts: &ServiceDrafts,
) -> Markup {
    let admin = viewer.user.role == UserRole::Admin;
    let nothing = Recent::default();
    let encoded = url_encode(environment);
    html! {
        section.panel #services {
            h2 { "Services" }
            p.meta {
                "A service's router listens on its address and splits the requests between the service's slots "
                "(versions side by side) by weight; a client stays on its slot (a cookie), and the "
                code { "x-slipway-slot" } " header sends a request to the slot it names."
            }
            @if services.is_empty() {
                p.empty { "No services." }
            }
            @for service in services {
                (service_part(viewer, environment, service, recent.get(&service.id).unwrap_or(&nothing), drafts))
            }
            @if admin {
                h3 { "New service" }
                (problem_note(drafts.problem(ServiceForm::Create, "")))
                form.inline #new-service method="post" action=(format!("/environments/{encoded}/services")) {
                    (csrf_field(viewer))
                    label { "Name" input type="text" name="name" required maxlength="100" value=(drafts.new_service.0) autocomplete="off"; }
                    label { "Listen on (IP:port)" input type="text" name="listen" required value=(drafts.new_service.1) placeholder="127.0.0.1:9000" autocomplete="off"; }
                    button.primary type="submit" { "Create service" }
                }
            }
        }
    }
}

fn service_part(
    viewer: &Viewer,
    environment: &str,
    service: &Service,
    recent: &Recent,
    drafts: &ServiceDrafts,
) -> Markup {
    let contributor = viewer.user.role != UserRole::Reader;
    let admin = viewer.user.role == UserRole::Admin;
    let path = service_path(environment, &service.name);
    let total: u64 = service.slots.iter().map(|slot| u64::from(slot.weight)).sum();
    let name = service.name.as_str();
    let typed_weight = |slot: &str| {
        drafts
            .traffic
            .iter()
            .find(|(typed, _)| typed == slot)
            .filter(|_| drafts.is(ServiceForm::Traffic, name))
            .map(|(_, weight)| weight.clone())
    };
    let slot_draft = drafts.is(ServiceForm::Slot, name).then_some(&drafts.slot);
    let swap_draft = drafts.is(ServiceForm::Swap, name).then_some(&drafts.swap);
    let first =
        swap_draft.map_or_else(|| service.slots.first().map(|slot| slot.name.clone()), |(one, _)| Some(one.clone()));
    let second =
        swap_draft.map_or_else(|| service.slots.get(1).map(|slot| slot.name.clone()), |(_, two)| Some(two.clone()));
    html! {
        section.service id=(anchor(name)) {
            h3 {
                (name) " " code.listen { (service.listen) } " " (router_badge(&service.router))
                @if service.provider == "nginx" { " " span.muted { "through nginx" } }
            }
            @if let Some(message) = &service.message {
                p.router-message { (message) }
            }
            (problem_note(drafts.problem(ServiceForm::RemoveSlot, name)))
            @if service.slots.is_empty() {
                p.empty { "No slots yet: the router answers 503 until a slot takes traffic." }
            } @else {
                table.list.slots {
                    thead { tr {
                        th { "Slot" } th { "Upstream" } th { "Weight" } th { "Share" } th { "Requests" } th { "Success rate" } th { "Live" }
                        @if contributor { th { "" } }
                    } }
                    tbody {
                        @for slot in &service.slots {
                            @let requests = &slot.requests;
                            tr {
                                td.slot-name { (slot.name) }
                                td { code { (slot.upstream) } }
                                td.num { (slot.weight) }
                                td.share { (share_cell(slot.weight, total)) }
                                td.num.requests {
                                    (requests.ok.saturating_add(requests.client_errors).saturating_add(requests.server_errors))
                                    span.muted { " (" (requests.ok) " ok, " (requests.client_errors) " 4xx, " (requests.server_errors) " 5xx)" }
                                }
                                td.num.success { (success_rate(slot)) }
                                td.live { (live_line(&recent.window(&slot.name))) }
                                @if contributor {
                                    td {
                                        form.inline method="post" action=(format!("{path}/slots/{}/delete", url_encode(&slot.name))) {
                                            (csrf_field(viewer))
                                            button.danger type="submit" { "Remove" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            (analyses_part_for(contributor.then_some((viewer, environment)), &recent.analyses))
            @if contributor {
                @if !service.slots.is_empty() {
                    h4 { "Traffic" }
                    (problem_note(drafts.problem(ServiceForm::Traffic, name)))
                    form.inline.traffic method="post" action=(format!("{path}/traffic")) {
                        (csrf_field(viewer))
                        @for slot in &service.slots {
                            label {
                                (slot.name)
                                input type="number" name=(format!("{WEIGHT_FIELD}{}", slot.name)) min="0" max=(u32::MAX) step="1" required
                                    value=(typed_weight(&slot.name).unwrap_or_else(|| slot.weight.to_string()));
                            }
                        }
                        button type="submit" { "Set weights" }
                    }
                }
                @if service.slots.len() >= 2 {
                    h4 { "Swap two slots' versions" }
                    p.muted { "Each slot keeps its name and weight and takes the other's upstream (a blue-green swap)." }
                    (problem_note(drafts.problem(ServiceForm::Swap, name)))
                    form.inline.swap method="post" action=(format!("{path}/swap")) {
                        (csrf_field(viewer))
                        label { "Slot" (slot_select("first", &service.slots, first.as_deref())) }
                        label { "with" (slot_select("second", &service.slots, second.as_deref())) }
                        button type="submit" { "Swap" }
                    }
                }
                h4 { "Add or replace a slot" }
                (problem_note(drafts.problem(ServiceForm::Slot, name)))
                form.inline.set-slot method="post" action=(format!("{path}/slots")) {
                    (csrf_field(viewer))
                    label { "Name" input type="text" name="slot" required maxlength="64" value=(slot_draft.map(|draft| draft.0.as_str()).unwrap_or_default()) autocomplete="off"; }
                    label { "Upstream" input type="text" name="upstream" required value=(slot_draft.map(|draft| draft.1.as_str()).unwrap_or_default()) placeholder="http://127.0.0.1:8080" autocomplete="off"; }
                    label { "Weight" input type="number" name="weight" min="0" max=(u32::MAX) step="1" value=(slot_draft.map_or("0", |draft| draft.2.as_str())); }
                    button type="submit" { "Set slot" }
                }
            }
            @if admin {
                form.inline.delete-service method="post" action=(format!("{path}/delete")) {
                    (csrf_field(viewer))
                    button.danger type="submit" { "Delete service " (name) }
                }
            }
        }
    }
}

fn slot_select(name: &str, slots: &[ServiceSlot], chosen: Option<&str>) -> Markup {
    html! {
        select name=(name) {
            @for slot in slots {
                option value=(slot.name) selected[chosen.is_some_and(|chosen| chosen.eq_ignore_ascii_case(&slot.name))] { (slot.name) }
            }
        }
    }
}

/// Where a change of `service` goes back to.
fn back_to(environment: &str, service: Option<&str>) -> Response {
    let fragment = service.map_or_else(|| "services".to_owned(), anchor);
    Redirect::to(&format!("/environments/{}#{fragment}", url_encode(environment))).into_response()
}

/// The environment page again with a refused services form beside its words.
async fn show_refusal(
    state: &AppState,
    viewer: &Viewer,
    environment: &str,
    status: StatusCode,
    drafts: ServiceDrafts,
) -> Result<Response, UiError> {
    refused_page(state, viewer, environment, status, &Drafts::with_services(drafts)).await
}

/// A whole number of weight, or the words for a form.
fn weight(text: &str, what: &str) -> Result<u32, String> {
    match text.trim() {
        "" => Ok(0),
        text => {
            text.parse::<u32>().map_err(|_| format!("{what} is a whole number from 0 to {}, not '{text}'.", u32::MAX))
        }
    }
}

/// The form that creates a service.
#[derive(Debug, Deserialize)]
pub(crate) struct NewServiceForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    listen: String,
}

/// `POST /environments/{name}/services` (admin): creates a service, as
/// `POST /api/v1/environments/{name}/services` does.
pub(crate) async fn create_service(
    State(state): State<AppState>,
    viewer: Viewer,
    name: Result<Path<String>, PathRejection>,
    form: Result<Form<NewServiceForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Form(form) = form?;
    viewer.check_csrf(&form.csrf)?;
    let Path(name) = name?;
    viewer.require(UserRole::Admin)?;
    let body =
        CreateService { name: form.name.trim().to_owned(), listen: form.listen.trim().to_owned(), provider: None };
    match delivery::create(&state, &viewer.caller(), &name, &body).await {
        Ok(created) => Ok(back_to(&name, Some(&created.name))),
        Err(error) => {
            let (status, message) = refused(error)?;
            let drafts = ServiceDrafts {
                new_service: (form.name, form.listen),
                ..ServiceDrafts::refused(ServiceForm::Create, "", message)
            };
            show_refusal(&state, &viewer, &name, status, drafts).await
        }
    }
}

/// `POST /environments/{name}/services/{service}/delete` (admin): deletes a service and stops its
/// router, as `DELETE /api/v1/environments/{name}/services/{service}` does.
pub(crate) async fn delete_service(
    State(state): State<AppState>,
    viewer: Viewer,
    path: Result<Path<(String, String)>, PathRejection>,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Form(form) = form?;
    viewer.check_csrf(&form.csrf)?;
    let Path((name, service)) = path?;
    delivery::delete(&state, &viewer.caller(), &name, &service).await?;
    Ok(back_to(&name, None))
}

/// The form that adds or replaces a slot.
#[derive(Debug, Deserialize)]
pub(crate) struct SlotForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    slot: String,
    #[serde(default)]
    upstream: String,
    #[serde(default)]
    weight: String,
}

/// `POST /environments/{name}/services/{service}/slots` (contributor): adds or replaces the slot
/// the form names, as `PUT /api/v1/environments/{name}/services/{service}/slots/{slot}` does.
pub(crate) async fn set_slot(
    State(state): State<AppState>,
    viewer: Viewer,
    path: Result<Path<(String, String)>, PathRejection>,
    form: Result<Form<SlotForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Form(form) = form?;
    viewer.check_csrf(&form.csrf)?;
    let Path((name, service)) = path?;
    viewer.require(UserRole::Contributor)?;
    let outcome = match weight(&form.weight, "The weight") {
        Ok(weight) => {
            let body = SetSlot { upstream: form.upstream.trim().to_owned(), weight };
            match delivery::set_slot(&state, &viewer.caller(), &name, &service, &form.slot, &body).await {
                Ok(_) => None,
                Err(error) => Some(refused(error)?),
            }
        }
        Err(message) => Some((StatusCode::BAD_REQUEST, message)),
    };
    match outcome {
        None => Ok(back_to(&name, Some(&service))),
        Some((status, message)) => {
            let drafts = ServiceDrafts {
                slot: (form.slot, form.upstream, form.weight),
                ..ServiceDrafts::refused(ServiceForm::Slot, &service, message)
            };
            show_refusal(&state, &viewer, &name, status, drafts).await
        }
    }
}

/// `POST /environments/{name}/services/{service}/slots/{slot}/delete` (contributor): removes a
/// slot, as `DELETE /api/v1/environments/{name}/services/{service}/slots/{slot}` does.
pub(crate) async fn delete_slot(
    State(state): State<AppState>,
    viewer: Viewer,
    path: Result<Path<(String, String, String)>, PathRejection>,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Form(form) = form?;
    viewer.check_csrf(&form.csrf)?;
    let Path((name, service, slot)) = path?;
    match delivery::delete_slot(&state, &viewer.caller(), &name, &service, &slot).await {
        Ok(_) => Ok(back_to(&name, Some(&service))),
        Err(error) => {
            let (status, message) = refused(error)?;
            let drafts = ServiceDrafts::refused(ServiceForm::RemoveSlot, &service, message);
            show_refusal(&state, &viewer, &name, status, drafts).await
        }
    }
}

/// `POST /environments/{name}/services/{service}/traffic` (contributor): sets the weights of the
/// slots the form names (`weight.SLOT` fields), as
/// `POST /api/v1/environments/{name}/services/{service}/traffic` does.
pub(crate) async fn set_traffic(
    State(state): State<AppState>,
    viewer: Viewer,
    path: Result<Path<(String, String)>, PathRejection>,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Result<Response, UiError> {
    let Form(fields) = form?;
    let csrf = fields.iter().rev().find(|(key, _)| key == "csrf").map(|(_, value)| value.as_str());
    viewer.check_csrf(csrf.unwrap_or_default())?;
    let Path((name, service)) = path?;
    viewer.require(UserRole::Contributor)?;
    let typed: Vec<(String, String)> = fields
        .iter()
        .filter_map(|(key, value)| key.strip_prefix(WEIGHT_FIELD).map(|slot| (slot.to_owned(), value.clone())))
        .collect();
    let mut weights = BTreeMap::new();
    let mut problem = None;
    for (slot, text) in &typed {
        match weight(text, &format!("The weight of slot '{slot}'")) {
            Ok(weight) => {
                weights.insert(slot.clone(), weight);
            }
            Err(message) => {
                problem = Some(message);
                break;
            }
        }
    }
    if weights.is_empty() && problem.is_none() {
        problem = Some("The form names no slot's weight.".to_owned());
    }
    let outcome = match problem {
        Some(message) => Some((StatusCode::BAD_REQUEST, message)),
        None => match delivery::set_traffic(&state, &viewer.caller(), &name, &service, &SetTraffic { weights }).await {
            Ok(_) => None,
            Err(error) => Some(refused(error)?),
        },
    };
    match outcome {
        None => Ok(back_to(&name, Some(&service))),
        Some((status, message)) => {
            let drafts =
                ServiceDrafts { traffic: typed, ..ServiceDrafts::refused(ServiceForm::Traffic, &service, message) };
            show_refusal(&state, &viewer, &name, status, drafts).await
        }
    }
}

/// The form that swaps two slots.
#[derive(Debug, Deserialize)]
pub(crate) struct SwapForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    first: String,
    #[serde(default)]
    second: String,
}

/// `POST /environments/{name}/services/{service}/swap` (contributor): swaps two slots' versions,
/// as `POST /api/v1/environments/{name}/services/{service}/swap` does.
pub(crate) async fn swap(
    State(state): State<AppState>,
    viewer: Viewer,
    path: Result<Path<(String, String)>, PathRejection>,
    form: Result<Form<SwapForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Form(form) = form?;
    viewer.check_csrf(&form.csrf)?;
    let Path((name, service)) = path?;
    viewer.require(UserRole::Contributor)?;
    let body = SwapSlots { slots: [form.first.clone(), form.second.clone()] };
    match delivery::swap(&state, &viewer.caller(), &name, &service, &body).await {
        Ok(_) => Ok(back_to(&name, Some(&service))),
        Err(error) => {
            let (status, message) = refused(error)?;
            let drafts = ServiceDrafts {
                swap: (form.first, form.second),
                ..ServiceDrafts::refused(ServiceForm::Swap, &service, message)
            };
            show_refusal(&state, &viewer, &name, status, drafts).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use slipway_api::SlotRequests;
    use slipway_delivery::Metrics;
    use slipway_events::delivery::{AnalysisState, MeasurementState, MetricState};

    #[test]
    fn a_judges_verdict_shows_each_metric_and_the_canary_against_the_baseline() {
        let baseline: std::collections::BTreeMap<String, Vec<f64>> =
            [("latency-p50".to_owned(), (0..20).map(|i| 0.001 + f64::from(i % 3) * 0.0001).collect())].into();
        let canary: std::collections::BTreeMap<String, Vec<f64>> =
            [("latency-p50".to_owned(), (0..20).map(|i| 0.025 + f64::from(i % 3) * 0.0001).collect())].into();
        let mut config = slipway_delivery::judge::JudgeConfig::default();
        config.metrics.insert(
            "latency-p50".into(),
            slipway_delivery::judge::MetricConfig {
                direction: slipway_delivery::judge::Direction::Increase,
                critical: true,
                ..Default::default()
            },
        );
        let verdict = slipway_delivery::judge::judge(&baseline, &canary, &config);
        let value = serde_json::json!({
            "score": verdict.score, "outcome": verdict.outcome, "verdict": verdict,
            "series": {"latency-p50": {"baseline": baseline["latency-p50"], "canary": canary["latency-p50"]}},
        });
        let metric = MetricState {
            name: "judge".into(),
            phase: "Failed".into(),
            measurements: vec![MeasurementState {
                phase: "Failed".into(),
                value: Some(value),
                message: None,
                finished_at: 1_000,
            }],
        };
        let html = measurements_cell(&metric).into_string();
        assert!(html.contains("Score <strong>0</strong> (fail"), "{html}");
        assert!(html.contains("<code>latency-p50</code>") && html.contains("critical"), "{html}");
        assert!(html.contains("phase failed\">high"), "{html}");
        assert!(html.contains("20 / 20"), "{html}");
        assert_eq!(html.matches("<polyline").count(), 2, "{html}");
        assert!(html.contains("class=\"baseline\"") && html.contains("class=\"canary\""), "{html}");
    }

    fn slot(name: &str, weight: u32, ok: u64, client_errors: u64, server_errors: u64) -> ServiceSlot {
        ServiceSlot {
            name: name.to_owned(),
            upstream: format!("http://127.0.0.1:1/{name}"),
            weight,
            requests: SlotRequests { ok, client_errors, server_errors },
        }
    }

    fn service(slots: Vec<ServiceSlot>) -> Service {
        Service {
            id: 1,
            environment: "prod".to_owned(),
            name: "shop".to_owned(),
            listen: "127.0.0.1:9000".to_owned(),
            provider: "router".to_owned(),
            router: "failed".to_owned(),
            message: Some("<b>address in use</b>".to_owned()),
            slots,
        }
    }

    #[test]
    fn shares_and_rates_read_well() {
        assert_eq!(per_mille(1, 3, true).map(tenths).as_deref(), Some("33.3"));
        assert_eq!(per_mille(2, 3, true).map(tenths).as_deref(), Some("66.7"));
        assert_eq!(per_mille(50, 100, true).map(tenths).as_deref(), Some("50"));
        assert_eq!(per_mille(0, 0, true), None);
        assert_eq!(per_mille(u128::from(u64::MAX), u128::from(u64::MAX), false), Some(1000));
        assert_eq!(per_mille(9999, 10_000, false).map(tenths).as_deref(), Some("99.9"), "rates round down");
        assert_eq!(success_rate(&slot("a", 1, 0, 0, 0)), "—");
        assert_eq!(success_rate(&slot("a", 1, 0, 5, 0)), "—", "client errors alone say nothing of the slot");
        assert_eq!(success_rate(&slot("a", 1, 3, 7, 1)), "75%");
        assert_eq!(success_rate(&slot("a", 1, u64::MAX, 0, u64::MAX)), "50%");
        assert_eq!(weight(" 7 ", "x"), Ok(7));
        assert_eq!(weight("", "x"), Ok(0));
        assert!(weight("-1", "The weight").is_err_and(|message| message.contains("not '-1'")));
        assert!(weight("4294967296", "The weight").is_err());
    }

    #[test]
    fn services_show_escaped_and_forms_by_role() {
        let shown = |role: UserRole| {
            let viewer = Viewer::for_tests("ana", role);
            let services = [service(vec![slot("blue", 1, 3, 0, 1), slot("green", 3, 0, 0, 0)])];
            services_section(&viewer, "prod <1>", &services, &BTreeMap::new(), &ServiceDrafts::default()).into_string()
        };
        let reader = shown(UserRole::Reader);
        assert!(!reader.contains("<form"), "{reader}");
        assert!(reader.contains("&lt;b&gt;address in use&lt;/b&gt;") && !reader.contains("<b>address"), "{reader}");
        assert!(reader.contains("<span class=\"badge s-fail\">failed</span>"), "{reader}");
        assert!(reader.contains("25%") && reader.contains("75%"), "{reader}");
        assert!(reader.contains("width=\"25\"") && reader.contains("width=\"75\""), "{reader}");
        let contributor = shown(UserRole::Contributor);
        for action in [
            "/environments/prod%20%3C1%3E/services/shop/traffic",
            "/environments/prod%20%3C1%3E/services/shop/swap",
            "/environments/prod%20%3C1%3E/services/shop/slots",
            "/environments/prod%20%3C1%3E/services/shop/slots/blue/delete",
        ] {
            assert!(contributor.contains(&format!("action=\"{action}\"")), "{action}: {contributor}");
        }
        assert!(contributor.contains("name=\"weight.green\""), "{contributor}");
        assert!(!contributor.contains("Delete service") && !contributor.contains("new-service"), "{contributor}");
        let admin = shown(UserRole::Admin);
        assert!(admin.contains("id=\"new-service\"") && admin.contains("services/shop/delete"), "{admin}");
        assert_eq!(admin.matches("<form").count(), admin.matches("name=\"csrf\"").count(), "{admin}");
    }

    #[test]
    fn a_refused_form_keeps_what_was_typed_beside_its_words() {
        let viewer = Viewer::for_tests("ana", UserRole::Admin);
        let services = [service(vec![slot("blue", 0, 0, 0, 0)])];
        let drafts = ServiceDrafts {
            slot: ("red".to_owned(), "file:///\"x\"".to_owned(), "x".to_owned()),
            ..ServiceDrafts::refused(ServiceForm::Slot, "SHOP", "no <good>".to_owned())
        };
        let shown = services_section(&viewer, "prod", &services, &BTreeMap::new(), &drafts).into_string();
        let after = shown.split("Add or replace a slot").nth(1).unwrap_or_default();
        assert!(after.contains("no &lt;good&gt;") && after.contains("value=\"file:///&quot;x&quot;\""), "{shown}");
        assert_eq!(shown.matches("role=\"alert\"").count(), 1, "{shown}");
        assert!(shown.contains("—"), "no weight at all: {shown}");
    }

    #[test]
    fn live_numbers_read_well() {
        let metrics = Metrics::new();
        assert_eq!(live_line(&metrics.window("prod/shop", "blue", LIVE_SECONDS)), "no requests in the last 60 s");
        assert_eq!(live_line(&Window::default()), "no requests in the last 60 s", "no router on this server");
        for _ in 0..10 {
            metrics.record("prod/shop", "blue", 200, 0.004);
        }
        metrics.record("prod/shop", "blue", 404, 0.002);
        metrics.record("prod/shop", "blue", 503, 0.2);
        let window = metrics.window("prod/shop", "blue", LIVE_SECONDS);
        let line = live_line(&window);
        assert!(line.starts_with("success 91.6% · 0.2 req/s · p99 "), "11 of 12 were no server error: {line}");
        assert!(line.ends_with(" ms (last 60 s)"), "{line}");
        let rounded = window.success_rate().map(|rate| format!("{:.1}", (rate * 1000.0).floor() / 10.0));
        assert_eq!(rounded.as_deref(), Some("91.6"), "the same rate as analysis measures");
        for _ in 0..120 {
            metrics.record("prod/shop", "green", 200, 0.001);
        }
        let green = live_line(&metrics.window("prod/shop", "green", LIVE_SECONDS));
        assert!(green.starts_with("success 100% · 2.0 req/s · p99 "), "{green}");
    }

    fn measured(phase: &str, value: Option<serde_json::Value>, message: Option<&str>, at: i64) -> MeasurementState {
        MeasurementState { phase: phase.to_owned(), value, message: message.map(str::to_owned), finished_at: at }
    }

    fn metric(measurements: Vec<MeasurementState>) -> MetricState {
        MetricState { name: "success-rate".to_owned(), phase: "Failed".to_owned(), measurements }
    }

    #[test]
    fn numbers_chart_and_other_values_list_as_text() {
        let shown = measurements_cell(&metric(vec![
            measured("Successful", Some(serde_json::json!(0.99)), None, 1_000),
            measured("Failed", Some(serde_json::json!([0.7, 0.1])), Some("<i>low</i>"), 2_000),
            measured("Inconclusive", Some(serde_json::json!({"a": "<b>"})), None, 3_000),
            measured("Successful", Some(serde_json::json!("<b>up</b>")), None, 4_000),
            measured("Error", None, Some("no series <yet>"), 5_000),
            measured("Error", Some(serde_json::json!(["x"])), None, 6_000),
        ]))
        .into_string();
        let chart = shown.split("</svg>").next().unwrap_or_default();
        assert_eq!(chart.matches("<circle").count(), 2, "{shown}");
        assert!(chart.contains("aria-label=\"2 measurements of success-rate, from 0.7 to 0.99\""), "{shown}");
        assert!(
            chart.contains("<circle class=\"point s-ok\" cx=\"5.0\" cy=\"5.0\" r=\"3.5\">"),
            "the highest at the top: {shown}"
        );
        assert!(chart.contains("<circle class=\"point s-fail\" cx=\"235.0\" cy=\"43.0\" r=\"3.5\">"), "{shown}");
        assert!(chart.contains("<title>0.99 · Successful · 1970-01-01 00:00:01 UTC</title>"), "{shown}");
        assert!(chart.contains("0.7 · Failed · 1970-01-01 00:00:02 UTC · &lt;i&gt;low&lt;/i&gt;"), "{shown}");
        assert!(chart.contains("<polyline points=\"5.0,5.0 235.0,43.0\">"), "{shown}");
        let listed = shown.split("</svg>").nth(1).unwrap_or_default();
        assert_eq!(listed.matches("<li>").count(), 4, "{shown}");
        for text in [
            "{&quot;a&quot;:&quot;&lt;b&gt;&quot;}",
            "<code>&lt;b&gt;up&lt;/b&gt;</code>",
            "no series &lt;yet&gt;",
            "[&quot;x&quot;]",
        ] {
            assert!(listed.contains(text), "{text}: {shown}");
        }
        assert!(listed.contains("<span class=\"phase s-warn\">Inconclusive</span>"), "{shown}");
        assert!(!shown.contains("<b>") && !shown.contains("<i>"), "{shown}");
    }

    #[test]
    fn one_value_or_equal_values_chart_in_the_middle() {
        let one =
            measurements_cell(&metric(vec![measured("Successful", Some(serde_json::json!(3)), None, 0)])).into_string();
        assert!(one.contains("cx=\"120.0\" cy=\"24.0\"") && !one.contains("<polyline"), "{one}");
        assert!(one.contains("aria-label=\"1 measurement of success-rate, from 3 to 3\""), "{one}");
        let flat = measurements_cell(&metric(vec![
            measured("Successful", Some(serde_json::json!(1)), None, 0),
            measured("Inconclusive", Some(serde_json::json!(1.0)), None, 0),
        ]))
        .into_string();
        assert_eq!(flat.matches("cy=\"24.0\"").count(), 2, "{flat}");
        assert!(flat.contains("point s-warn") && !flat.contains("<ul"), "{flat}");
        let none = measurements_cell(&metric(Vec::new())).into_string();
        assert!(none.contains("not measured yet") && !none.contains("<svg"), "{none}");
    }

    #[test]
    fn phases_and_values_read_well() {
        for (phase, class) in [
            ("Successful", "s-ok"),
            ("Failed", "s-fail"),
            ("Error", "s-fail"),
            ("Inconclusive", "s-warn"),
            ("Running", "s-wait"),
            ("Terminated", "s-wait"),
            ("Pending", "s-wait"),
            ("<odd>", "s-wait"),
        ] {
            assert_eq!(phase_class(phase), class, "{phase}");
        }
        assert_eq!(short_number(0.99), "0.99");
        assert_eq!(short_number(12.0), "12");
        assert_eq!(short_number(1.234_56), "1.2346");
        assert_eq!(short_number(-0.000_01), "0");
        assert_eq!(short_number(-2.5), "-2.5");
        assert_eq!(chart_value(Some(&serde_json::json!([null, "a", 4, 5]))), Some(4.0), "an array's first number");
        assert_eq!(chart_value(Some(&serde_json::json!(true))), None);
        assert_eq!(chart_value(None), None);
        let long = measured("Successful", Some(serde_json::json!("é".repeat(300))), None, 0);
        assert_eq!(measurement_text(&long), format!("{}…", "é".repeat(VALUE_TEXT_LIMIT)));
    }

    #[test]
    fn an_inconclusive_analysis_offers_a_contributor_the_decision() {
        let runs = [analysis(7, "Inconclusive", Some(60_000))];
        let cora = Viewer::for_tests("cora", UserRole::Contributor);
        let html = analyses_part_for(Some((&cora, "prod & co")), &runs).into_string();
        assert!(html.contains("action=\"/analysis-runs/7/decision\""), "{html}");
        assert!(html.contains("value=\"prod &amp; co\""), "{html}");
        assert!(html.contains("value=\"pass\"") && html.contains("value=\"fail\""), "{html}");
        assert!(!analyses_part_for(None, &runs).into_string().contains("decision"), "readers get no form");
        let decided = [analysis(8, "Successful", Some(60_000))];
        assert!(!analyses_part_for(Some((&cora, "prod")), &decided).into_string().contains("decision"));
    }

    fn analysis(id: i64, phase: &str, finished: Option<i64>) -> Analysis {
        Analysis {
            state: AnalysisState {
                id,
                phase: phase.to_owned(),
                message: Some(format!("run {id}: <verdict>")),
                metrics: vec![metric(vec![measured("Failed", Some(serde_json::json!(0.5)), None, 0)])],
            },
            template: "<inline>".to_owned(),
            run: Some(RunId(42)),
            started_at: Timestamp::from_millis(60_000),
            finished_at: finished.map(Timestamp::from_millis),
        }
    }

    #[test]
    fn the_last_analysis_shows_whole_and_the_ones_before_it_as_phases() {
        let shown =
            analyses_part(&[analysis(7, "Inconclusive", None), analysis(6, "Successful", Some(0))]).into_string();
        assert!(shown.contains("#7 <span class=\"badge s-warn\">Inconclusive</span>"), "{shown}");
        assert!(shown.contains("<code>&lt;inline&gt;</code>") && shown.contains("href=\"/runs/42\""), "{shown}");
        assert!(shown.contains("started 1970-01-01 00:01:00 UTC · still measuring"), "{shown}");
        assert!(shown.contains("<p class=\"analysis-message\">run 7: &lt;verdict&gt;</p>"), "{shown}");
        assert!(!shown.contains("run 6: "), "only the last run's verdict: {shown}");
        assert!(
            shown.contains("<td class=\"metric-name\">success-rate</td><td><span class=\"badge s-fail\">Failed</span>"),
            "{shown}"
        );
        assert!(shown.contains("Before it: #6 <span class=\"badge s-ok\">Successful</span>"), "{shown}");
        let ended = analyses_part(&[analysis(8, "Terminated", Some(120_000))]).into_string();
        assert!(ended.contains("s-wait\">Terminated") && ended.contains("ended 1970-01-01 00:02:00 UTC"), "{ended}");
        assert!(!ended.contains("Before it"), "{ended}");
        assert!(analyses_part(&[]).into_string().contains("No analysis runs yet."));
    }
}

/// The form deciding an inconclusive analysis run.
#[derive(Debug, Deserialize)]
pub(crate) struct DecisionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    environment: String,
    #[serde(default)]
    decision: String,
    #[serde(default)]
    comment: String,
}

/// `POST /analysis-runs/{id}/decision` (contributor): passes or fails an inconclusive analysis
/// run, then goes back to its environment's page.
pub(crate) async fn decide_analysis(
    State(state): State<AppState>,
    viewer: Viewer,
    path: Result<Path<i64>, PathRejection>,
    form: Result<Form<DecisionForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Form(form) = form?;
    viewer.check_csrf(&form.csrf)?;
    let Path(id) = path?;
    viewer.require(UserRole::Contributor)?;
    let pass = match form.decision.as_str() {
        "pass" => true,
        "fail" => false,
        other => {
            return Err(slipway_service::ServiceError::bad_request(format!(
                "the decision is `pass` or `fail`, not `{other}`"
            ))
            .into());
        }
    };
    let comment = Some(form.comment.as_str()).filter(|comment| !comment.trim().is_empty());
    delivery::decide_analysis(&state, &viewer.caller(), id, pass, comment).await?;
    let back = if form.environment.is_empty() {
        "/environments".to_owned()
    } else {
        format!("/environments/{}#services", url_encode(&form.environment))
    };
    Ok(Redirect::to(&back).into_response())
}
