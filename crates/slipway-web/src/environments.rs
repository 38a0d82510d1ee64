//! Environments in the web UI: `/environments` lists them with their last deployment (admins
//! create one there); `/environments/{name}` shows one: what runs where, its services and their
//! slots (see [`super::services`]), its deployment history newest first, and the checks on it,
//! with the admins' forms to add and delete checks, to rename or describe it, and to delete it
//! (its name typed again).
//!
//! Every read and change goes through the functions the API uses
//! ([`slipway_service::environments`]), with the signed-in user as the caller, so roles (readers
//! read, admins change), the reading of a check's settings and the audit log are the same. A form
//! the service refuses (a bad name, a check whose settings are wrong) shows the page again with
//! the service's words beside the form, and what was typed kept.

use axum::Form;
use axum::extract::rejection::{FormRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::{Value as Json, json};
use slipway_events::TaskResult;
use slipway_store::{EnvironmentId, Timestamp, UserRole};

use super::services::{ServiceDrafts, services_section};
use super::{
    UiError, Viewer, badge, csrf_field, format_time, page, short_branch, short_commit, state_label, url_encode,
};
use slipway_api::{Check, CreateEnvironment, Deployment, DeploymentList, Environment, NewCheck, UpdateEnvironment};
use slipway_service::environments as service;
use slipway_service::{AppState, ServiceError};

/// Deployments on one page of an environment's history.
const DEPLOYMENTS_PER_PAGE: i64 = 50;

/// The types of checks the form has fields for, with their names for people.
const CHECK_KINDS: [(&str, &str); 4] = [
    ("approval", "Approval"),
    ("branchControl", "Branch control"),
    ("businessHours", "Business hours"),
    ("exclusiveLock", "Exclusive lock"),
];

/// The names for people of the other types of checks, whose settings the form takes as JSON.
const OTHER_KINDS: [(&str, &str); 3] = [
    ("invokeRestApi", "Invoke REST API"),
    ("queryMetrics", "Query metrics"),
    ("requiredTemplate", "Required template"),
];

/// The form's choice for a check of another type, with its settings as JSON.
const JSON_KIND: &str = "json";

/// The days business hours may name, as the form offers them.
const DAYS: [&str; 7] = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

pub(crate) fn form_error(rejection: &FormRejection) -> UiError {
    UiError::bad_request(rejection.body_text())
}

pub(crate) fn path_error(rejection: &PathRejection) -> UiError {
    UiError::bad_request(rejection.body_text())
}

/// A service error a form shows beside itself (the status and the words), or one that is the
/// whole answer (no permission, nothing there, the server failing).
pub(crate) fn refused(error: ServiceError) -> Result<(StatusCode, String), UiError> {
    match error {
        ServiceError::BadRequest(_) | ServiceError::Unprocessable(_) | ServiceError::Conflict(_) => {
            let error = UiError::from(error);
            Ok((error.status, error.message))
        }
        other => Err(other.into()),
    }
}

/// A time the API gives in milliseconds, for people.
#[must_use]
pub(crate) fn time_of(millis: i64) -> String {
    format_time(Timestamp::from_millis(millis))
}

/// The name of a check's type for people.
#[must_use]
pub(crate) fn kind_label(kind: &str) -> &str {
    CHECK_KINDS.iter().chain(&OTHER_KINDS).find(|(name, _)| *name == kind).map_or(kind, |(_, label)| label)
}

/// A timeout in minutes for people: `30 days`, `2 hours`, `90 minutes`.
#[must_use]
pub(crate) fn format_minutes(minutes: u32) -> String {
    let plural = |count: u32, unit: &str| if count == 1 { format!("1 {unit}") } else { format!("{count} {unit}s") };
    if minutes > 0 && minutes.is_multiple_of(1440) {
        plural(minutes / 1440, "day")
    } else if minutes > 0 && minutes.is_multiple_of(60) {
        plural(minutes / 60, "hour")
    } else {
        plural(minutes, "minute")
    }
}

/// Strings of a settings field: a list, or text separated by commas (as Azure's forms take it).
#[must_use]
pub(crate) fn strings(value: &Json) -> Vec<String> {
    match value {
        Json::Array(items) => items
            .iter()
            .map(|item| match item {
                Json::String(text) => text.trim().to_owned(),
                other => other.to_string(),
            })
            .filter(|item| !item.is_empty())
            .collect(),
        Json::String(text) => {
            text.split(',').map(str::trim).filter(|item| !item.is_empty()).map(str::to_owned).collect()
        }
        _ => Vec::new(),
    }
}

/// A check's settings for people, by type; settings of a type this page does not know are shown
/// as their JSON.
#[must_use]
pub(crate) fn settings_summary(kind: &str, settings: &Json) -> Markup {
    let text = |key: &str| settings.get(key).and_then(Json::as_str).unwrap_or_default().to_owned();
    html! {
        @match kind {
            "approval" => {
                @let approvers = strings(settings.get("approvers").unwrap_or(&Json::Null));
                @let minimum = settings.get("minRequiredApprovers").and_then(Json::as_u64).unwrap_or(0);
                @let instructions = text("instructions");
                ul.settings {
                    li { "Approvers: " (approvers.join(", ")) }
                    li {
                        @if minimum == 0 || minimum >= u64::try_from(approvers.len()).unwrap_or(u64::MAX) {
                            "Every approver must approve"
                        } @else {
                            (minimum) " of " (approvers.len()) " must approve"
                        }
                    }
                    @if settings.get("requesterCannotBeApprover").and_then(Json::as_bool).unwrap_or(false) {
                        li { "The person who started the run may not approve it" }
                    }
                    @if !instructions.is_empty() { li.instructions { "Instructions: " (instructions) } }
                }
            }
            "branchControl" => {
                @let branches = strings(settings.get("allowedBranches").unwrap_or(&Json::Null));
                ul.settings {
                    li {
                        "Allowed branches: "
                        @for (index, branch) in branches.iter().enumerate() {
                            @if index > 0 { ", " }
                            code { (branch) }
                        }
                    }
                }
            }
            "businessHours" => {
                @let days = strings(settings.get("days").unwrap_or(&Json::Null));
                ul.settings {
                    li { "Days: " @if days.is_empty() { "every day" } @else { (days.join(", ")) } }
                    li { "Hours: " (text("startTime")) "–" (text("endTime")) " (" (text("timeZone")) ")" }
                }
            }
            "exclusiveLock" => {
                ul.settings {
                    li { "One run's stage at a time; the pipeline's " code { "lockBehavior" } " says which goes next" }
                }
            }
            _ => { code.settings { (settings.to_string()) } }
        }
    }
}

/// The badge of a deployment: its result, or deploying while it has none.
fn deployment_badge(result: Option<&str>) -> Markup {
    match result {
        Some(text) => match TaskResult::parse(text) {
            Some(result) => badge(state_label(true, false, Some(result))),
            None => html! { span.badge.s-skip { (text) } },
        },
        None => html! { span.badge.s-run { "deploying" } },
    }
}

fn run_link(deployment: &Deployment) -> Markup {
    html! { a href=(format!("/runs/{}", deployment.run)) { "#" (deployment.run_number) } }
}

fn commit_cell(commit: Option<&str>) -> Markup {
    html! { code title=(commit.unwrap_or_default()) { (commit.map(short_commit).unwrap_or_default()) } }
}

// ----- the list -----

/// The last deployment to an environment, for the list.
struct Latest {
    run: i64,
    run_number: String,
    pipeline: String,
    finished_at: Option<Timestamp>,
    queued_at: Timestamp,
    result: Option<TaskResult>,
}

fn list_page(
    viewer: &Viewer,
    environments: &[(Environment, Option<Latest>)],
    problem: Option<&str>,
    draft: (&str, &str),
) -> Markup {
    html! {
        h1 { "Environments" }
        p.meta {
            "Where deployment jobs deploy to (" code { "environment:" } " in a " code { "deployment:" } " job; one is made on first use). "
            "A stage that deploys to an environment waits until the checks on it pass."
        }
        @if environments.is_empty() {
            p.empty { "No environments yet." }
        } @else {
            table.list.environments {
                thead { tr { th { "Environment" } th { "Description" } th { "Last deployment" } th { "Result" } th { "When" } } }
                tbody {
                    @for (environment, latest) in environments {
                        tr {
                            td { a href=(format!("/environments/{}", url_encode(&environment.name))) { (environment.name) } }
                            td.description { (environment.description) }
                            @if let Some(latest) = latest {
                                td { a href=(format!("/runs/{}", latest.run)) { (latest.pipeline) " #" (latest.run_number) } }
                                td {
                                    @match latest.result {
                                        Some(result) => { (badge(state_label(true, false, Some(result)))) }
                                        None => { span.badge.s-run { "deploying" } }
                                    }
                                }
                                td { (format_time(latest.finished_at.unwrap_or(latest.queued_at))) }
                            } @else {
                                td.muted colspan="3" { "never deployed to" }
                            }
                        }
                    }
                }
            }
        }
        @if viewer.user.role == UserRole::Admin {
            section.panel #new-environment {
                h2 { "New environment" }
                @if let Some(problem) = problem { p.problem role="alert" { (problem) } }
                form.grid method="post" action="/environments" {
                    (csrf_field(viewer))
                    label { "Name" input type="text" name="name" required maxlength="256" value=(draft.0); }
                    label { "Description" textarea name="description" rows="2" maxlength="1000" { (draft.1) } }
                    button.primary type="submit" { "Create environment" }
                }
            }
        }
    }
}

async fn list_with_latest(state: &AppState, viewer: &Viewer) -> Result<Vec<(Environment, Option<Latest>)>, UiError> {
    let environments = service::list(state, &viewer.caller()).await?;
    let mut listed = Vec::with_capacity(environments.len());
    for environment in environments {
        // One query per environment, for its newest deployment (environments are few).
        let latest =
            state.store().list_deployments(EnvironmentId(environment.id), None, 1).await?.into_iter().next().map(
                |deployment| Latest {
                    run: deployment.run.get(),
                    run_number: deployment.run_number,
                    pipeline: deployment.pipeline_name,
                    finished_at: deployment.finished_at,
                    queued_at: deployment.queued_at,
                    result: deployment.result,
                },
            );
        listed.push((environment, latest));
    }
    Ok(listed)
}

/// `GET /environments` (reader): the environments with their last deployment.
pub(crate) async fn environments(State(state): State<AppState>, viewer: Viewer) -> Result<Response, UiError> {
    let listed = list_with_latest(&state, &viewer).await?;
    Ok(page("Environments", Some(&viewer), &list_page(&viewer, &listed, None, ("", ""))).into_response())
}

/// The "New environment" form.
#[derive(Debug, Deserialize)]
pub(crate) struct NewEnvironmentForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
}

/// `POST /environments` (admin): creates an environment, as `POST /api/v1/environments` does.
pub(crate) async fn create_environment(
    State(state): State<AppState>,
    viewer: Viewer,
    form: Result<Form<NewEnvironmentForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Form(form) = form.map_err(|rejection| form_error(&rejection))?;
    viewer.check_csrf(&form.csrf)?;
    let body = CreateEnvironment { name: form.name.trim().to_owned(), description: form.description.trim().to_owned() };
    match service::create(&state, &viewer.caller(), &body).await {
        Ok(created) => Ok(Redirect::to(&format!("/environments/{}", url_encode(&created.name))).into_response()),
        Err(error) => {
            let (status, message) = refused(error)?;
            let listed = list_with_latest(&state, &viewer).await?;
            let body = list_page(&viewer, &listed, Some(&message), (&form.name, &form.description));
            Ok((status, page("Environments", Some(&viewer), &body)).into_response())
        }
    }
}

// ----- one environment -----

/// What the admin's form to add a check holds: the type, the timeout and the settings of every
/// type (only the chosen type's are read).
#[derive(Clone, Debug)]
struct CheckDraft {
    kind: String,
    timeout: String,
    approvers: String,
    minimum: String,
    requester_cannot_approve: bool,
    instructions: String,
    branches: String,
    time_zone: String,
    days: Vec<String>,
    start: String,
    end: String,
    json_kind: String,
    json_settings: String,
}

impl Default for CheckDraft {
    fn default() -> Self {
        Self {
            kind: "approval".to_owned(),
            timeout: String::new(),
            approvers: String::new(),
            minimum: String::new(),
            requester_cannot_approve: false,
            instructions: String::new(),
            branches: String::new(),
            time_zone: "UTC".to_owned(),
            days: DAYS[..5].iter().map(|day| (*day).to_owned()).collect(),
            start: "09:00".to_owned(),
            end: "17:00".to_owned(),
            json_kind: String::new(),
            json_settings: String::new(),
        }
    }
}

impl CheckDraft {
    /// The draft a posted form holds (a field given more than once: the last counts, but for
    /// `days`, which lists them all).
    fn from_fields(fields: &[(String, String)]) -> Self {
        let field = |name: &str| {
            fields.iter().rev().find(|(key, _)| key == name).map(|(_, value)| value.clone()).unwrap_or_default()
        };
        let kind = field("type").trim().to_owned();
        if kind != "businessHours" {
            // The business hours' fields were not sent (the page's script disables the settings
            // of other types): they keep their defaults.
            let defaults = Self::default();
            return Self {
                kind,
                time_zone: defaults.time_zone,
                days: defaults.days,
                start: defaults.start,
                end: defaults.end,
                ..Self::from_fields_of(fields)
            };
        }
        Self { kind, ..Self::from_fields_of(fields) }
    }

    /// Every field of a posted form, read as it is.
    fn from_fields_of(fields: &[(String, String)]) -> Self {
        let field = |name: &str| {
            fields.iter().rev().find(|(key, _)| key == name).map(|(_, value)| value.clone()).unwrap_or_default()
        };
        Self {
            kind: field("type").trim().to_owned(),
            timeout: field("timeout_minutes"),
            approvers: field("approvers"),
            minimum: field("min_required_approvers"),
            requester_cannot_approve: field("requester_cannot_be_approver") == "true",
            instructions: field("instructions"),
            branches: field("allowed_branches"),
            time_zone: field("time_zone"),
            days: fields.iter().filter(|(key, _)| key == "days").map(|(_, value)| value.trim().to_owned()).collect(),
            start: field("start_time"),
            end: field("end_time"),
            json_kind: field("json_type"),
            json_settings: field("json_settings"),
        }
    }

    /// The check the draft asks for, as the API takes it; numbers that are not numbers are
    /// refused here, everything else by the service (with its words).
    fn check(&self) -> Result<NewCheck, String> {
        let timeout_minutes = match self.timeout.trim() {
            "" => None,
            text => Some(
                text.parse::<u32>()
                    .map_err(|_| format!("The timeout is a whole number of minutes (empty: 30 days), not '{text}'."))?,
            ),
        };
        let list = |text: &str| -> Vec<String> {
            text.split([',', '\n', '\r']).map(str::trim).filter(|item| !item.is_empty()).map(str::to_owned).collect()
        };
        if self.kind == JSON_KIND {
            let kind = self.json_kind.trim();
            if kind.is_empty() {
                return Err(
                    "Name the check's type (such as invokeRestApi), or choose one of the types above.".to_owned()
                );
            }
            let settings = match self.json_settings.trim() {
                "" => json!({}),
                text => serde_json::from_str(text).map_err(|error| format!("The settings are not JSON: {error}."))?,
            };
            return Ok(NewCheck { kind: kind.to_owned(), settings, timeout_minutes });
        }
        let settings = match self.kind.as_str() {
            "approval" => {
                let minimum = match self.minimum.trim() {
                    "" => 0,
                    text => text.parse::<u32>().map_err(|_| {
                        format!(
                            "The number of approvals needed is a whole number (0 or empty: every approver), not '{text}'."
                        )
                    })?,
                };
                let approvers: Vec<String> = self
                    .approvers
                    .split(|character: char| character == ',' || character.is_whitespace())
                    .filter(|name| !name.is_empty())
                    .map(str::to_owned)
                    .collect();
                json!({
                    "approvers": approvers,
                    "minRequiredApprovers": minimum,
                    "requesterCannotBeApprover": self.requester_cannot_approve,
                    "instructions": self.instructions.trim(),
                })
            }
            "branchControl" => json!({ "allowedBranches": list(&self.branches) }),
            "businessHours" => json!({
                "timeZone": self.time_zone.trim(),
                "days": self.days,
                "startTime": self.start.trim(),
                "endTime": self.end.trim(),
            }),
            _ => json!({}),
        };
        Ok(NewCheck { kind: self.kind.clone(), settings, timeout_minutes })
    }
}

/// What the environment page shows beside one of its forms, when the service refused it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FormKind {
    Check,
    Settings,
    Delete,
}

/// The environment page's state beyond what the store holds: a refused form's words, and what
/// was typed in the forms.
#[derive(Debug, Default)]
pub(crate) struct Drafts {
    problem: Option<(FormKind, String)>,
    check: CheckDraft,
    settings: Option<(String, String)>,
    services: ServiceDrafts,
}

impl Drafts {
    /// The drafts of a refused form of the services section.
    pub(crate) fn with_services(services: ServiceDrafts) -> Self {
        Self { services, ..Self::default() }
    }

    fn problem(&self, form: FormKind) -> Option<&str> {
        self.problem.as_ref().filter(|(kind, _)| *kind == form).map(|(_, message)| message.as_str())
    }
}

fn problem_note(problem: Option<&str>) -> Markup {
    html! { @if let Some(problem) = problem { p.problem role="alert" { (problem) } } }
}

fn current_section(list: &DeploymentList) -> Markup {
    html! {
        section.panel #current {
            h2 { "What runs where" }
            @if list.current.is_empty() {
                p.empty { "Nothing has been deployed here successfully yet." }
            } @else {
                table.list.current {
                    thead { tr { th { "Resource" } th { "Run" } th { "Pipeline" } th { "Commit" } th { "Branch" } th { "Finished" } th { "Replaced" } } }
                    tbody {
                        @for current in &list.current {
                            @let deployment = &current.deployment;
                            tr {
                                td { @if let Some(resource) = &current.resource { (resource) } @else { span.muted { "the whole environment" } } }
                                td { (run_link(deployment)) }
                                td { (deployment.pipeline_name) }
                                td { (commit_cell(deployment.commit.as_deref())) }
                                td { (deployment.branch.as_deref().map(short_branch).unwrap_or_default()) }
                                td { (deployment.finished_at.map(time_of).unwrap_or_default()) }
                                td {
                                    @if let Some(previous) = &current.previous {
                                        (run_link(previous)) " " (commit_cell(previous.commit.as_deref()))
                                    } @else { span.muted { "nothing before" } }
                                }
                            }
                            @if let Some(changes) = deployment.changes.as_ref().filter(|changes| !changes.is_empty()) {
                                tr.changes {
                                    td colspan="7" {
                                        details {
                                            summary { (changes.len()) @if changes.len() == 1 { " change" } @else { " changes" } " since the deployment it replaced" }
                                            ul {
                                                @for change in changes {
                                                    li { code title=(change.commit) { (short_commit(&change.commit)) } " " (change.message) span.muted { " — " (change.author) } }
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn history_section(name: &str, list: &DeploymentList, older: Option<i64>, paged: bool) -> Markup {
    let encoded = url_encode(name);
    html! {
        section #history {
            h2 { "Deployments" }
            @if list.deployments.is_empty() {
                p.empty { @if paged { "No older deployments." } @else { "No deployments yet." } }
            } @else {
                table.list.deployments {
                    thead { tr {
                        th { "Run" } th { "Pipeline" } th { "Stage" } th { "Job" } th { "Strategy" } th { "Commit" }
                        th { "Branch" } th { "Triggered by" } th { "Queued" } th { "Finished" } th { "Result" }
                    } }
                    tbody {
                        @for deployment in &list.deployments {
                            tr {
                                td { (run_link(deployment)) }
                                td { (deployment.pipeline_name) }
                                td { (deployment.stage) }
                                td { (deployment.job_name) @if let Some(resource) = &deployment.resource { span.muted { " on " (resource) } } }
                                td { (deployment.strategy) }
                                td { (commit_cell(deployment.commit.as_deref())) }
                                td { (deployment.branch.as_deref().map(short_branch).unwrap_or_default()) }
                                td { (deployment.triggered_by) }
                                td { (time_of(deployment.queued_at)) }
                                td { (deployment.finished_at.map(time_of).unwrap_or_default()) }
                                td { (deployment_badge(deployment.result.as_deref())) }
                            }
                        }
                    }
                }
            }
            nav.pages {
                @if paged { a href=(format!("/environments/{encoded}")) { "Newest" } }
                @if let Some(older) = older { a href=(format!("/environments/{encoded}?before={older}#history")) { "Older deployments" } }
            }
        }
    }
}

fn checks_section(viewer: &Viewer, name: &str, checks: &[Check], drafts: &Drafts) -> Markup {
    let admin = viewer.user.role == UserRole::Admin;
    let encoded = url_encode(name);
    let draft = &drafts.check;
    html! {
        section.panel #checks {
            h2 { "Checks" }
            p.meta {
                "A stage that deploys here waits until every check passes, in Azure's order: branch control, approvals, "
                "business hours, then the exclusive lock. A check that fails, is rejected or times out fails the stage."
            }
            @if checks.is_empty() {
                p.empty { "No checks: stages deploy here without waiting." }
            } @else {
                table.list.checks {
                    thead { tr { th { "Type" } th { "Settings" } th { "Timeout" } th { "Added" } @if admin { th { "" } } } }
                    tbody {
                        @for check in checks {
                            tr {
                                td { (kind_label(&check.kind)) }
                                td { (settings_summary(&check.kind, &check.settings)) }
                                td { (format_minutes(check.timeout_minutes)) }
                                td { (time_of(check.created_at)) @if let Some(who) = &check.created_by { span.muted { " by " (who) } } }
                                @if admin {
                                    td {
                                        form.inline method="post" action=(format!("/environments/{encoded}/checks/{}/delete", check.id)) {
                                            (csrf_field(viewer))
                                            button.danger type="submit" { "Delete" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if admin {
                h3 { "Add a check" }
                (problem_note(drafts.problem(FormKind::Check)))
                form.grid #add-check method="post" action=(format!("/environments/{encoded}/checks")) {
                    (csrf_field(viewer))
                    label { "Type"
                        select name="type" {
                            @for (kind, label) in CHECK_KINDS {
                                option value=(kind) selected[draft.kind == kind] { (label) }
                            }
                            option value=(JSON_KIND) selected[draft.kind == JSON_KIND] { "Another type (settings as JSON)" }
                        }
                    }
                    fieldset data-type="approval" {
                        legend { "Approval" }
                        label { "Approvers (user names, separated by commas)" input type="text" name="approvers" value=(draft.approvers) autocomplete="off"; }
                        label { "Approvals needed (empty or 0: every approver)" input type="number" name="min_required_approvers" min="0" value=(draft.minimum); }
                        div.check { label { input type="checkbox" name="requester_cannot_be_approver" value="true" checked[draft.requester_cannot_approve]; " The person who started the run may not approve it" } }
                        label { "Instructions for the approvers" textarea name="instructions" rows="2" maxlength="4000" { (draft.instructions) } }
                    }
                    fieldset data-type="branchControl" {
                        legend { "Branch control" }
                        label { "Allowed branches (separated by commas; " code { "*" } " is a wildcard, such as " code { "refs/heads/release/*" } ")"
                            input type="text" name="allowed_branches" value=(draft.branches) autocomplete="off";
                        }
                    }
                    fieldset data-type="businessHours" {
                        legend { "Business hours" }
                        label { "Time zone (IANA, such as Europe/Berlin)" input type="text" name="time_zone" value=(draft.time_zone); }
                        div.days {
                            @for day in DAYS {
                                label.check { input type="checkbox" name="days" value=(day) checked[draft.days.iter().any(|chosen| chosen == day)]; " " (day) }
                            }
                        }
                        label { "From (HH:MM)" input type="text" name="start_time" value=(draft.start) placeholder="09:00"; }
                        label { "Until (HH:MM)" input type="text" name="end_time" value=(draft.end) placeholder="17:00"; }
                    }
                    fieldset data-type="exclusiveLock" {
                        legend { "Exclusive lock" }
                        p.muted { "No settings: one run's stage at a time; the pipeline's " code { "lockBehavior" } " (sequential or runLatest) says which goes next." }
                    }
                    fieldset data-type=(JSON_KIND) {
                        legend { "Another type" }
                        label { "Type (as the API names it, such as " code { "invokeRestApi" } ")"
                            input type="text" name="json_type" list="check-types" value=(draft.json_kind) autocomplete="off";
                        }
                        datalist #check-types { @for (kind, _) in OTHER_KINDS { option value=(kind) {} } }
                        label { "Settings (a JSON object, as the API takes them)"
                            textarea name="json_settings" rows="4" { (draft.json_settings) }
                        }
                    }
                    label { "Timeout in minutes (empty: 30 days)" input type="number" name="timeout_minutes" min="1" value=(draft.timeout); }
                    button.primary type="submit" { "Add check" }
                }
            }
        }
    }
}

fn admin_sections(viewer: &Viewer, environment: &Environment, drafts: &Drafts) -> Markup {
    let encoded = url_encode(&environment.name);
    let (name, description) =
        drafts.settings.clone().unwrap_or_else(|| (environment.name.clone(), environment.description.clone()));
    html! {
        section.panel #settings {
            h2 { "Name and description" }
            (problem_note(drafts.problem(FormKind::Settings)))
            form.grid method="post" action=(format!("/environments/{encoded}/update")) {
                (csrf_field(viewer))
                label { "Name" input type="text" name="name" required maxlength="256" value=(name); }
                label { "Description" textarea name="description" rows="2" maxlength="1000" { (description) } }
                button type="submit" { "Save" }
            }
        }
        section.panel.danger-zone #delete {
            h2 { "Delete this environment" }
            p.muted { "Deleting removes the environment with its checks and its deployment history; it cannot be undone. A deployment job that names it again makes a new one, without checks." }
            (problem_note(drafts.problem(FormKind::Delete)))
            form.inline method="post" action=(format!("/environments/{encoded}/delete")) {
                (csrf_field(viewer))
                label { "Type the environment's name to confirm" input type="text" name="confirm" required autocomplete="off"; }
                button.danger type="submit" { "Delete environment" }
            }
        }
    }
}

/// The query of an environment's page.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct EnvironmentQuery {
    /// Deployments older than this id (the next page).
    before: Option<i64>,
}

/// The environment page, with `drafts` (what a refused form held).
async fn environment_page(
    state: &AppState,
    viewer: &Viewer,
    name: &str,
    before: Option<i64>,
    drafts: &Drafts,
) -> Result<(String, Markup), UiError> {
    let caller = viewer.caller();
    let environment = service::show(state, &caller, name).await?;
    let list = service::deployments(state, &caller, &environment.name, before, Some(DEPLOYMENTS_PER_PAGE)).await?;
    let checks = service::checks(state, &caller, service::ResourceRef::Environment(&environment.name)).await?;
    let services = slipway_service::delivery::list(state, &caller, &environment.name).await?;
    let older = (list.deployments.len() == usize::try_from(DEPLOYMENTS_PER_PAGE).unwrap_or(usize::MAX))
        .then(|| list.deployments.last().map(|deployment| deployment.id))
        .flatten();
    let body = html! {
        h1 { a href="/environments" { "Environments" } " · " (environment.name) }
        @if environment.description.is_empty() {
            p.muted { "No description." }
        } @else {
            p.description { (environment.description) }
        }
        p.meta {
            "Created " (time_of(environment.created_at))
            @match &environment.created_by {
                Some(who) => { " by " (who) }
                None => { " by a deployment job's first use" }
            }
            @if environment.updated_at != environment.created_at { " · changed " (time_of(environment.updated_at)) }
        }
        (current_section(&list))
        (services_section(viewer, &environment.name, &services, &drafts.services))
        (checks_section(viewer, &environment.name, &checks, drafts))
        (history_section(&environment.name, &list, older, before.is_some()))
        @if viewer.user.role == UserRole::Admin {
            (admin_sections(viewer, &environment, drafts))
        }
    };
    Ok((environment.name, body))
}

/// `GET /environments/{name}` (reader).
pub(crate) async fn environment(
    State(state): State<AppState>,
    viewer: Viewer,
    name: Result<Path<String>, PathRejection>,
    query: Result<Query<EnvironmentQuery>, QueryRejection>,
) -> Result<Response, UiError> {
    let Path(name) = name.map_err(|rejection| path_error(&rejection))?;
    let Query(query) = query.map_err(|rejection| UiError::bad_request(rejection.body_text()))?;
    let (title, body) = environment_page(&state, &viewer, &name, query.before, &Drafts::default()).await?;
    Ok(page(&title, Some(&viewer), &body).into_response())
}

/// The environment page again, with the refused form's words and what it held, answered with
/// the refusal's status.
pub(crate) async fn refused_page(
    state: &AppState,
    viewer: &Viewer,
    name: &str,
    status: StatusCode,
    drafts: &Drafts,
) -> Result<Response, UiError> {
    let (title, body) = environment_page(state, viewer, name, None, drafts).await?;
    Ok((status, page(&title, Some(viewer), &body)).into_response())
}

/// `POST /environments/{name}/checks` (admin): adds a check built from the form, as
/// `POST /api/v1/environments/{name}/checks` does; a check the service refuses shows its words
/// beside the form.
pub(crate) async fn add_check(
    State(state): State<AppState>,
    viewer: Viewer,
    name: Result<Path<String>, PathRejection>,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Result<Response, UiError> {
    let Form(fields) = form.map_err(|rejection| form_error(&rejection))?;
    let csrf = fields.iter().rev().find(|(key, _)| key == "csrf").map(|(_, value)| value.as_str());
    viewer.check_csrf(csrf.unwrap_or_default())?;
    let Path(name) = name.map_err(|rejection| path_error(&rejection))?;
    viewer.require(UserRole::Admin)?;
    let draft = CheckDraft::from_fields(&fields);
    let outcome = match draft.check() {
        Ok(check) => {
            match service::add_check(&state, &viewer.caller(), service::ResourceRef::Environment(&name), &check).await {
                Ok(_) => None,
                Err(error) => Some(refused(error)?),
            }
        }
        Err(message) => Some((StatusCode::BAD_REQUEST, message)),
    };
    match outcome {
        None => Ok(Redirect::to(&format!("/environments/{}#checks", url_encode(&name))).into_response()),
        Some((status, message)) => {
            let drafts = Drafts { problem: Some((FormKind::Check, message)), check: draft, ..Drafts::default() };
            refused_page(&state, &viewer, &name, status, &drafts).await
        }
    }
}

/// `POST /environments/{name}/checks/{id}/delete` (admin): removes a check, as
/// `DELETE /api/v1/environments/{name}/checks/{id}` does.
pub(crate) async fn delete_check(
    State(state): State<AppState>,
    viewer: Viewer,
    path: Result<Path<(String, i64)>, PathRejection>,
    form: Result<Form<super::session::CsrfForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Form(form) = form.map_err(|rejection| form_error(&rejection))?;
    viewer.check_csrf(&form.csrf)?;
    let Path((name, id)) =
        path.map_err(|_| UiError::bad_request("the address names an environment and a check's id (a number)"))?;
    service::delete_check(&state, &viewer.caller(), service::ResourceRef::Environment(&name), id).await?;
    Ok(Redirect::to(&format!("/environments/{}#checks", url_encode(&name))).into_response())
}

/// The form that renames or describes an environment.
#[derive(Debug, Deserialize)]
pub(crate) struct UpdateForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
}

/// `POST /environments/{name}/update` (admin): renames the environment or changes its
/// description, as `PATCH /api/v1/environments/{name}` does.
pub(crate) async fn update_environment(
    State(state): State<AppState>,
    viewer: Viewer,
    name: Result<Path<String>, PathRejection>,
    form: Result<Form<UpdateForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Form(form) = form.map_err(|rejection| form_error(&rejection))?;
    viewer.check_csrf(&form.csrf)?;
    let Path(name) = name.map_err(|rejection| path_error(&rejection))?;
    viewer.require(UserRole::Admin)?;
    let current = service::show(&state, &viewer.caller(), &name).await?;
    let new_name = form.name.trim();
    let body = UpdateEnvironment {
        name: (new_name != current.name).then(|| new_name.to_owned()),
        description: Some(form.description.trim().to_owned()),
    };
    match service::update(&state, &viewer.caller(), &current.name, &body).await {
        Ok(updated) => Ok(Redirect::to(&format!("/environments/{}", url_encode(&updated.name))).into_response()),
        Err(error) => {
            let (status, message) = refused(error)?;
            let drafts = Drafts {
                problem: Some((FormKind::Settings, message)),
                settings: Some((form.name, form.description)),
                ..Drafts::default()
            };
            refused_page(&state, &viewer, &current.name, status, &drafts).await
        }
    }
}

/// The form that deletes an environment.
#[derive(Debug, Deserialize)]
pub(crate) struct DeleteForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    confirm: String,
}

/// `POST /environments/{name}/delete` (admin): deletes the environment, as
/// `DELETE /api/v1/environments/{name}` does, once its name was typed again (in any case).
pub(crate) async fn delete_environment(
    State(state): State<AppState>,
    viewer: Viewer,
    name: Result<Path<String>, PathRejection>,
    form: Result<Form<DeleteForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Form(form) = form.map_err(|rejection| form_error(&rejection))?;
    viewer.check_csrf(&form.csrf)?;
    let Path(name) = name.map_err(|rejection| path_error(&rejection))?;
    viewer.require(UserRole::Admin)?;
    let found = service::show(&state, &viewer.caller(), &name).await?;
    if form.confirm.trim().to_lowercase() != found.name.to_lowercase() {
        let message = format!("The environment was not deleted: type its name, '{}', to confirm.", found.name);
        let drafts = Drafts { problem: Some((FormKind::Delete, message)), ..Drafts::default() };
        return refused_page(&state, &viewer, &found.name, StatusCode::BAD_REQUEST, &drafts).await;
    }
    service::delete(&state, &viewer.caller(), &found.name).await?;
    Ok(Redirect::to("/environments").into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(key, value)| ((*key).to_owned(), (*value).to_owned())).collect()
    }

    #[test]
    fn timeouts_read_well() {
        assert_eq!(format_minutes(43_200), "30 days");
        assert_eq!(format_minutes(1440), "1 day");
        assert_eq!(format_minutes(120), "2 hours");
        assert_eq!(format_minutes(90), "90 minutes");
        assert_eq!(format_minutes(1), "1 minute");
    }

    #[test]
    fn the_check_form_builds_the_settings_of_its_type() -> Result<(), String> {
        let approval = CheckDraft::from_fields(&fields(&[
            ("type", "approval"),
            ("approvers", "ana, bo\ncarl"),
            ("min_required_approvers", "2"),
            ("requester_cannot_be_approver", "true"),
            ("instructions", " look first "),
            ("allowed_branches", "ignored"),
            ("timeout_minutes", "60"),
        ]))
        .check()?;
        assert_eq!(approval.kind, "approval");
        assert_eq!(approval.timeout_minutes, Some(60));
        assert_eq!(
            approval.settings,
            json!({"approvers": ["ana", "bo", "carl"], "minRequiredApprovers": 2, "requesterCannotBeApprover": true, "instructions": "look first"})
        );
        let hours = CheckDraft::from_fields(&fields(&[
            ("type", "businessHours"),
            ("time_zone", "Europe/Berlin"),
            ("days", "Monday"),
            ("days", "Friday"),
            ("start_time", "08:00"),
            ("end_time", "18:00"),
        ]))
        .check()?;
        assert_eq!(
            hours.settings,
            json!({"timeZone": "Europe/Berlin", "days": ["Monday", "Friday"], "startTime": "08:00", "endTime": "18:00"})
        );
        assert_eq!(hours.timeout_minutes, None);
        let branches =
            CheckDraft::from_fields(&fields(&[("type", "branchControl"), ("allowed_branches", "main, release/*,")]))
                .check()?;
        assert_eq!(branches.settings, json!({"allowedBranches": ["main", "release/*"]}));
        let bad = CheckDraft::from_fields(&fields(&[("type", "approval"), ("timeout_minutes", "soon")])).check();
        assert!(bad.is_err_and(|message| message.contains("'soon'")));
        let other = CheckDraft::from_fields(&fields(&[
            ("type", "json"),
            ("json_type", " invokeRestApi "),
            ("json_settings", r#"{"url": "https://example.com"}"#),
        ]))
        .check()?;
        assert_eq!((other.kind.as_str(), other.settings), ("invokeRestApi", json!({"url": "https://example.com"})));
        let empty = CheckDraft::from_fields(&fields(&[("type", "json"), ("json_type", "exclusiveLock")])).check()?;
        assert_eq!(empty.settings, json!({}));
        let bad = CheckDraft::from_fields(&fields(&[("type", "json"), ("json_type", "x"), ("json_settings", "[")]));
        assert!(bad.check().is_err_and(|message| message.starts_with("The settings are not JSON")));
        Ok(())
    }

    #[test]
    fn settings_are_shown_for_people() {
        let shown = settings_summary(
            "approval",
            &json!({"approvers": ["ana", "<b>bo</b>"], "minRequiredApprovers": 1, "requesterCannotBeApprover": true}),
        )
        .into_string();
        assert!(shown.contains("Approvers: ana, &lt;b&gt;bo&lt;/b&gt;"), "{shown}");
        assert!(shown.contains("1 of 2 must approve") && shown.contains("may not approve"), "{shown}");
        let shown = settings_summary("branchControl", &json!({"allowedBranches": "main, release/*"})).into_string();
        assert!(shown.contains("<code>main</code>, <code>release/*</code>"), "{shown}");
        let shown = settings_summary(
            "businessHours",
            &json!({"timeZone": "UTC", "days": [], "startTime": "09:00", "endTime": "17:00"}),
        )
        .into_string();
        assert!(shown.contains("every day") && shown.contains("09:00–17:00 (UTC)"), "{shown}");
        assert!(settings_summary("future", &json!({"a": 1})).into_string().contains("{&quot;a&quot;:1}"));
    }
}
