//! Environments in the web UI: `/environments` lists them with their last deployment (admins
//! create one there); `/environments/{name}` shows one: what runs where, its delivery performance
//! (DORA's four keys, see [`super::insights`]), its services and their
//! slots (see [`super::services`]), its feature flags (see [`super::flags`]), its deployment
//! history newest first, and the checks on it, with the admins' forms to add and delete checks
//! (the section variable groups and agent pools share, see [`super::checks`]), to rename or
//! describe it, and to delete it (its name typed again).
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
use slipway_events::TaskResult;
use slipway_store::{EnvironmentId, Timestamp, UserRole};

use super::checks::{CheckForm, action_base, checks_section};
use super::flags::{FlagDrafts, flag_set, flags_section};
use super::services::{ServiceDrafts, recent, services_section};
use super::{
    UiError, Viewer, badge, csrf_field, format_time, page, short_branch, short_commit, state_label, url_encode,
};
use slipway_api::{CreateEnvironment, Deployment, DeploymentList, Environment, UpdateEnvironment};
use slipway_service::environments as service;
use slipway_service::{AppState, ServiceError};

/// Deployments on one page of an environment's history.
const DEPLOYMENTS_PER_PAGE: i64 = 50;

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
    let Form(form) = form?;
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

/// What the environment page shows beside one of its forms, when the service refused it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FormKind {
    Settings,
    Delete,
}

/// The environment page's state beyond what the store holds: a refused form's words, and what
/// was typed in the forms.
#[derive(Debug, Default)]
pub(crate) struct Drafts {
    problem: Option<(FormKind, String)>,
    check: CheckForm,
    settings: Option<(String, String)>,
    services: ServiceDrafts,
    flags: FlagDrafts,
}

impl Drafts {
    /// The drafts of a refused form of the services section.
    pub(crate) fn with_services(services: ServiceDrafts) -> Self {
        Self { services, ..Self::default() }
    }

    /// The drafts of a refused form of the flags section.
    pub(crate) fn with_flags(flags: FlagDrafts) -> Self {
        Self { flags, ..Self::default() }
    }

    /// The drafts of a refused form that adds a check.
    pub(crate) fn with_check(check: CheckForm) -> Self {
        Self { check, ..Self::default() }
    }

    fn problem(&self, form: FormKind) -> Option<&str> {
        self.problem.as_ref().filter(|(kind, _)| *kind == form).map(|(_, message)| message.as_str())
    }
}

pub(crate) fn problem_note(problem: Option<&str>) -> Markup {
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

fn history_section(viewer: &Viewer, name: &str, list: &DeploymentList, older: Option<i64>, paged: bool) -> Markup {
    let encoded = url_encode(name);
    let contributor = viewer.user.role != UserRole::Reader;
    html! {
        section #history {
            h2 { "Deployments" }
            @if list.deployments.is_empty() {
                p.empty { @if paged { "No older deployments." } @else { "No deployments yet." } }
            } @else {
                table.list.deployments {
                    thead { tr {
                        th { "Run" } th { "Pipeline" } th { "Stage" } th { "Job" } th { "Strategy" } th { "Commit" }
                        th { "Branch" } th { "Triggered by" } th { "Queued" } th { "Started" } th { "Finished" } th { "Result" }
                        @if contributor { th { span.visually-hidden { "Actions" } } }
                    } }
                    tbody {
                        @for deployment in &list.deployments {
                            tr {
                                td { (run_link(deployment)) " " (super::evidence::deployment_link(&deployment.environment, deployment.id)) }
                                td { (deployment.pipeline_name) }
                                td { (deployment.stage) }
                                td { (deployment.job_name) @if let Some(resource) = &deployment.resource { span.muted { " on " (resource) } } }
                                td { (deployment.strategy) }
                                td { (commit_cell(deployment.commit.as_deref())) }
                                td { (deployment.branch.as_deref().map(short_branch).unwrap_or_default()) }
                                td { (deployment.triggered_by) }
                                td { (time_of(deployment.queued_at)) }
                                td { (deployment.started_at.map(time_of).unwrap_or_default()) }
                                td { (deployment.finished_at.map(time_of).unwrap_or_default()) }
                                td {
                                    (deployment_badge(deployment.result.as_deref()))
                                    @match deployment.outcome.as_deref() {
                                        Some("promoted") => { " " span.muted { "promoted" } }
                                        Some("rolledBack") => { " " span.muted title=(deployment.outcome_detail.clone().unwrap_or_default()) { "rolled back" } }
                                        Some("redeployed") => { " " span.muted title=(deployment.outcome_detail.clone().unwrap_or_default()) { "redeployed (manual rollback)" } }
                                        Some("failed") => {}
                                        Some(other) => { " " span.muted { (other) } }
                                        None => {}
                                    }
                                }
                                @if contributor {
                                    td {
                                        @if matches!(deployment.result.as_deref(), Some("Succeeded" | "SucceededWithIssues")) {
                                            form.inline method="post" action=(format!("/environments/{encoded}/deployments/{}/redeploy", deployment.id)) {
                                                (csrf_field(viewer))
                                                button type="submit" title="Deploy this version again (the manual rollback): its job runs again in its run" { "Redeploy" }
                                            }
                                        }
                                    }
                                }
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
    let recent = recent(state, viewer, &environment.name, &services).await?;
    let flags = flag_set(state, viewer, &environment.name).await?;
    let dora = slipway_service::insights::dora_metrics(state, &caller, &environment.name, None).await?;
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
        (super::insights::dora_section(&dora))
        (services_section(viewer, &environment.name, &services, &recent, &drafts.services))
        (flags_section(viewer, &environment.name, &flags, &drafts.flags))
        @let resource = service::ResourceRef::Environment(&environment.name);
        (checks_section(viewer, &action_base(resource), resource, &checks, Some(&drafts.check)))
        (history_section(viewer, &environment.name, &list, older, before.is_some()))
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
    let Path(name) = name?;
    let Query(query) = query?;
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
    let Form(form) = form?;
    viewer.check_csrf(&form.csrf)?;
    let Path(name) = name?;
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
    let Form(form) = form?;
    viewer.check_csrf(&form.csrf)?;
    let Path(name) = name?;
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
    use std::collections::BTreeMap;

    use slipway_store::{NewAnalysisRun, SecretKey, Store, StoreOptions};

    use super::*;

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    /// The part of `body` from `start` up to `end`.
    fn between<'a>(body: &'a str, start: &str, end: &str) -> &'a str {
        let from = body.find(start).map_or("", |at| &body[at..]);
        from.find(end).map_or(from, |at| &from[..at])
    }

    fn deployment(id: i64, result: Option<&str>, outcome: Option<&str>) -> Deployment {
        Deployment {
            id,
            environment: "prod".into(),
            pipeline: 1,
            pipeline_name: "web".into(),
            run: id * 10,
            run_number: format!("20261207.{id}"),
            job: id * 100,
            stage: "release".into(),
            job_name: "web".into(),
            strategy: "canary".into(),
            triggered_by: "ann".into(),
            queued_at: 1_000,
            result: result.map(str::to_owned),
            outcome: outcome.map(str::to_owned),
            outcome_detail: outcome.map(|outcome| format!("{outcome}: because")),
            ..Deployment::default()
        }
    }

    #[test]
    fn a_contributor_may_redeploy_a_successful_deployment_and_every_outcome_is_shown() {
        let list = DeploymentList {
            deployments: vec![
                deployment(3, Some("Failed"), Some("rolledBack")),
                deployment(2, Some("Succeeded"), Some("promoted")),
                deployment(1, None, None),
            ],
            current: Vec::new(),
        };
        let cora = Viewer::for_tests("cora", UserRole::Contributor);
        let html = history_section(&cora, "prod", &list, None, false).into_string();
        assert!(html.contains("action=\"/environments/prod/deployments/2/redeploy\""), "{html}");
        assert_eq!(html.matches("/redeploy\"").count(), 1, "only the successful one: {html}");
        assert!(html.contains("rolled back") && html.contains("promoted"), "{html}");
        let reader = Viewer::for_tests("rita", UserRole::Reader);
        assert!(!history_section(&reader, "prod", &list, None, false).into_string().contains("redeploy"));
    }

    #[tokio::test]
    async fn the_page_shows_a_services_live_numbers_and_last_analysis() -> TestResult {
        let directory = tempfile::tempdir()?;
        let location = directory.path().to_str().ok_or("a temporary directory that is not UTF-8")?;
        let store = Store::open(location, StoreOptions::new(SecretKey::from_bytes([7; 32]))).await?;
        let environment = store.create_environment("prod", "", None).await?;
        let shop = store.create_service(environment.id, "shop", "127.0.0.1:9", "router", None).await?;
        store.set_slots(shop.id, &[("blue".to_owned(), "http://127.0.0.1:1".to_owned(), 100)], &[]).await?;
        let quiet = store.create_service(environment.id, "quiet", "127.0.0.1:10", "router", None).await?;
        let yaml = "metrics:\n- name: success-rate\n  count: 2\n  interval: 10s\n  successCondition: result >= 0.95\n  \
                    provider:\n    slipway: {slot: blue, metric: success-rate}\n";
        let template = slipway_delivery::analysis::parse_template(yaml, "inline", &BTreeMap::new())?;
        let new = NewAnalysisRun {
            service: shop.id,
            job: None,
            run: None,
            template_name: "inline".into(),
            template: serde_json::to_value(&template)?,
            load: None,
        };
        let earlier = store.create_analysis_run(&new).await?;
        assert!(store.update_analysis_run(earlier.id, "Successful", None, &serde_json::json!({}), true).await?);
        let run = store.create_analysis_run(&new).await?;
        let measurements = serde_json::json!({"success-rate": [
            {"phase": "successful", "value": 0.99, "startedAt": 1, "finishedAt": 2},
            {"phase": "failed", "value": 0.7, "startedAt": 3, "finishedAt": 4},
        ]});
        let verdict = "metric 'success-rate' Failed: <b>0.7</b> is not >= 0.95";
        assert!(store.update_analysis_run(run.id, "Failed", Some(verdict), &measurements, true).await?);
        let state = AppState::new(store, directory.path().to_path_buf());

        let viewer = Viewer::for_tests("rita", UserRole::Reader);
        let (title, body) = environment_page(&state, &viewer, "prod", None, &Drafts::default())
            .await
            .map_err(|error| format!("{}: {}", error.status, error.message))?;
        assert_eq!(title, "prod");
        let body = body.into_string();
        let part = between(&body, "id=\"service-shop\"", "</section>");
        let blue = part.split("<tr>").find(|row| row.contains(">blue<")).unwrap_or_default();
        assert!(blue.contains("<td class=\"live\">no requests in the last 60 s</td>"), "{part}");
        let last = between(part, "Last analysis", "Before it");
        assert!(last.contains(&format!("#{} <span class=\"badge s-fail\">Failed</span>", run.id)), "{part}");
        assert!(
            last.contains("<p class=\"analysis-message\">metric 'success-rate' Failed: &lt;b&gt;0.7&lt;/b&gt; is not &gt;= 0.95</p>"),
            "{part}"
        );
        assert!(last.contains("· ended "), "{part}");
        let chart = between(last, "<svg", "</svg>");
        assert!(chart.contains("class=\"measurements\""), "{part}");
        assert_eq!(chart.matches("<circle").count(), 2, "{part}");
        assert!(chart.contains("point s-ok") && chart.contains("point s-fail"), "{part}");
        assert!(chart.contains("<title>0.99 · Successful · "), "{part}");
        assert!(
            part.contains(&format!("Before it: #{} <span class=\"badge s-ok\">Successful</span>", earlier.id)),
            "{part}"
        );
        assert!(!body.contains("<b>0.7"), "{body}");
        let quiet = between(&body, &format!("id=\"service-{}\"", quiet.name), "</section>");
        assert!(quiet.contains("No slots yet") && quiet.contains("No analysis runs yet."), "{quiet}");
        Ok(())
    }
}

/// The form of a redeploy: its CSRF token only.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct RedeployForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /environments/{name}/deployments/{id}/redeploy` (contributor): deploys an earlier
/// successful deployment's version again, then shows its run.
pub(crate) async fn redeploy(
    State(state): State<AppState>,
    viewer: Viewer,
    path: Result<Path<(String, i64)>, PathRejection>,
    form: Result<Form<RedeployForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Form(form) = form?;
    viewer.check_csrf(&form.csrf)?;
    let Path((name, id)) = path?;
    viewer.require(UserRole::Contributor)?;
    let run = service::redeploy(&state, &viewer.caller(), &name, id).await?;
    Ok(Redirect::to(&format!("/runs/{}", run.id)).into_response())
}
