//! Security in the web UI: a run's Security page (`/runs/{id}/security`) and a pipeline's
//! (`/pipelines/{name}/security`, its newest completed run with security results): the findings
//! of its secret scans, vulnerability scans and policy checks, its SBOMs' component counts, and
//! each artifact's signed-provenance verdict, as the API gives them
//! ([`slipway_service::security`]), with the signed-in user as the caller.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::response::{IntoResponse as _, Response};
use maud::{Markup, html};
use slipway_api::{ArtifactProvenance, RunSecurity, SecurityReport};
use slipway_service::AppState;
use slipway_service::security as service;

use super::{UiError, Viewer, page, url_encode};

/// `GET /runs/{id}/security`.
pub(crate) async fn run_security(
    State(state): State<AppState>,
    viewer: Viewer,
    id: Result<Path<i64>, PathRejection>,
) -> Result<Response, UiError> {
    let Path(id) = id.map_err(|_| UiError::bad_request("a run's id is a number"))?;
    let security = service::run_security(&state, &viewer.caller(), slipway_store::RunId(id)).await?;
    let title = format!("Security: {} #{}", security.pipeline, security.run_number);
    let body = html! {
        div.heading {
            h1 {
                "Security of "
                a href=(format!("/runs/{}", security.run)) { (security.pipeline) " #" (security.run_number) }
            }
        }
        (security_body(&security))
    };
    Ok(page(&title, Some(&viewer), &body).into_response())
}

/// `GET /.well-known/slipway/provenance-keys.json`: the server's public provenance keys, open to
/// anyone (what `slipway verify --keys` reads).
pub(crate) async fn provenance_keys(State(state): State<AppState>) -> Result<Response, UiError> {
    let document = slipway_service::provenance::key_set(&state).await?;
    Ok(([(axum::http::header::CONTENT_TYPE, "application/json")], document).into_response())
}

/// `GET /pipelines/{name}/security`.
pub(crate) async fn pipeline_security(
    State(state): State<AppState>,
    viewer: Viewer,
    name: Result<Path<String>, PathRejection>,
) -> Result<Response, UiError> {
    let Path(name) = name.map_err(|_| UiError::bad_request("a pipeline's name is text"))?;
    let security = service::pipeline_security(&state, &viewer.caller(), &name).await?;
    let title = format!("Security: {}", security.pipeline);
    let body = html! {
        div.heading {
            h1 { "Security of " a href=(format!("/pipelines/{}", url_encode(&security.pipeline))) { (security.pipeline) } }
        }
        @match &security.latest {
            Some(latest) => {
                p.meta { "From its newest completed run with security results: "
                    a href=(format!("/runs/{}/security", latest.run)) { "#" (latest.run_number) } }
                (security_body(latest))
            }
            None => {
                p.muted { "No completed run of this pipeline has published security reports or artifacts yet. "
                    "Add SlipwaySecretScan@1, SlipwaySbom@1, SlipwayVulnScan@1 or SlipwayPolicy@1 steps to its pipeline." }
            }
        }
    };
    Ok(page(&title, Some(&viewer), &body).into_response())
}

/// The totals, then the provenance verdicts, then each report.
fn security_body(security: &RunSecurity) -> Markup {
    let totals = &security.totals;
    let count = |number: usize, bad: bool| {
        let class = if number > 0 && bad { "badge s-fail" } else { "badge s-ok" };
        html! { span class=(class) { (number) } }
    };
    html! {
        section.panel #security-totals {
            h2 { "Summary" }
            table.list {
                tbody {
                    tr { td { "Secrets" } td { (count(totals.secrets, true)) } }
                    tr { td { "Known vulnerabilities" } td { (count(totals.vulnerabilities, true)) } }
                    tr { td { "Policy failures and warnings" } td { (count(totals.policy, true)) } }
                    tr { td { "Other findings" } td { (count(totals.other, true)) } }
                    tr { td { "SBOM components" } td { (totals.components) } }
                    tr { td { "Artifacts with verified provenance" } td { (totals.verified_artifacts) " of " (totals.verified_artifacts + totals.unverified_artifacts) } }
                }
            }
        }
        (provenance_panel(security.run, &security.artifacts))
        @if security.reports.is_empty() {
            p.muted { "This run published no security reports (SARIF, CycloneDX or SPDX files in its artifacts)." }
        }
        @for report in &security.reports {
            (report_panel(security.run, report))
        }
    }
}

fn provenance_panel(run: i64, artifacts: &[ArtifactProvenance]) -> Markup {
    html! {
        section.panel #provenance {
            h2 { "Provenance" }
            @if artifacts.is_empty() {
                p.muted { "This run published no artifacts." }
            } @else {
                table.list {
                    thead { tr { th { "Artifact" } th { "Verdict" } th { "Key" } th { "Checks" } } }
                    tbody {
                        @for artifact in artifacts {
                            tr {
                                td { a href=(format!("/api/v1/runs/{run}/artifacts/{}", url_encode(&artifact.artifact))) download { (artifact.artifact) } }
                                td {
                                    span class=(if artifact.verdict == "verified" { "badge s-ok" } else { "badge s-fail" }) { (artifact.verdict) }
                                    @if let Some(url) = &artifact.provenance_url { " " a href=(url) download { "envelope" } }
                                }
                                td { @if let Some(key) = &artifact.key_id { code title=(key) { (key.chars().take(16).collect::<String>()) } } }
                                td { ul.checks { @for check in &artifact.checks { li { (check) } } } }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn report_panel(run: i64, report: &SecurityReport) -> Markup {
    let heading = match report.category.as_str() {
        "secrets" => "Secrets",
        "vulnerabilities" => "Vulnerabilities",
        "policy" => "Policy",
        _ if report.components.is_some() => "SBOM",
        _ => "Findings",
    };
    html! {
        section.panel.security-report data-category=(report.category) {
            h2 {
                (heading) " "
                span.muted { "— " (report.path) " in "
                    a href=(format!("/api/v1/runs/{run}/artifacts/{}", url_encode(&report.artifact))) download { (report.artifact) }
                    @if let Some(tool) = &report.tool { " (" (tool) ")" } }
            }
            @if let Some(error) = &report.error {
                p.job-message { (error) }
            } @else {
                p {
                    @if let Some(components) = report.components { (components) " components · " }
                    (report.findings_total) " findings"
                    @if report.findings_total > report.findings.len() { " (the first " (report.findings.len()) " shown)" }
                }
                @if !report.findings.is_empty() {
                    table.list {
                        thead { tr { th { "Level" } th { "Rule" } th { "Where" } th { "Message" } } }
                        tbody {
                            @for finding in &report.findings {
                                tr {
                                    td { span class=(level_class(&finding.level)) { (finding.level) } }
                                    td { code { (finding.rule) } }
                                    td { @if let Some(location) = &finding.location { code { (location) } } }
                                    td { (finding.message) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn level_class(level: &str) -> &'static str {
    match level.to_ascii_lowercase().as_str() {
        "error" | "critical" | "high" => "badge s-fail",
        "warning" | "medium" | "moderate" => "badge s-warn",
        _ => "badge",
    }
}
