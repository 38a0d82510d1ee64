//! The pipeline and run pages, the "Run pipeline" form, and the forms that create pipelines and
//! cancel or re-run runs.

use std::collections::{BTreeMap, HashMap};

use axum::Form;
use axum::extract::rejection::{FormRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use slipway_diagnostics::FileId;
use slipway_events::TaskResult;
use slipway_store::{
    Artifact, Job, JobId, JobStatus, Pipeline, QueueStatus, RetentionPolicy, Run, RunFilter, RunId, RunStatus, Step,
    StoredCoverage, StoredTestRun, TestTotals, TriggerKind, UserRole,
};

use super::graph::GraphPlan;
use super::session::CsrfForm;
use super::{
    UiError, Viewer, badge, csrf_field, duration_between, format_time, job_label, page, run_label, short_branch,
    short_commit, step_label, url_encode,
};
use slipway_api::{CreatePipeline, CreateRun, RetentionSettings};
use slipway_service::AppState;

/// Runs on one page of a pipeline.
const RUNS_PER_PAGE: u32 = 50;

/// How many failed tests a run page lists.
const FAILED_TESTS_SHOWN: usize = 50;

async fn find_pipeline(state: &AppState, name: Result<Path<String>, PathRejection>) -> Result<Pipeline, UiError> {
    let Path(name) = name?;
    state
        .store()
        .pipeline_by_name(&name)
        .await?
        .ok_or_else(|| UiError::not_found(format!("There is no pipeline named '{name}'.")))
}

async fn find_run(state: &AppState, id: Result<Path<i64>, PathRejection>) -> Result<Run, UiError> {
    let Path(id) = id.map_err(|_| UiError::bad_request("a run's id is a number"))?;
    match state.store().run(RunId(id)).await {
        Ok(run) => Ok(run),
        Err(error) if error.is_not_found() => Err(UiError::not_found(format!("There is no run {id}."))),
        Err(error) => Err(error.into()),
    }
}

// ----- pipelines -----

/// `GET /`: every pipeline with its latest run.
pub(crate) async fn pipelines(State(state): State<AppState>, viewer: Viewer) -> Result<Response, UiError> {
    let store = state.store();
    let pipelines = store.list_pipelines().await?;
    let latest: HashMap<_, Run> = store.latest_runs().await?.into_iter().map(|run| (run.pipeline, run)).collect();
    let now = store.now();
    let body = html! {
        h1 { "Pipelines" }
        @if pipelines.is_empty() {
            p.empty { "No pipelines yet." @if viewer.user.role == UserRole::Admin { " Add one below." } }
        } @else {
            table.list {
                thead { tr { th { "Pipeline" } th { "Latest run" } th { "Result" } th { "Branch" } th { "Started" } th { "Duration" } } }
                tbody {
                    @for pipeline in &pipelines {
                        @let run = latest.get(&pipeline.id);
                        tr {
                            td {
                                a href=(format!("/pipelines/{}", url_encode(&pipeline.name))) { (pipeline.name) }
                                @if pipeline.queue_status == QueueStatus::Disabled { " " span.badge.s-skip { "disabled" } }
                                @if pipeline.triggers.error.is_some() { " " span.badge.s-fail title="the last poll failed; see the pipeline's page" { "triggers failing" } }
                            }
                            @if let Some(run) = run {
                                td { a href=(format!("/runs/{}", run.id)) { "#" (run.run_number) } }
                                td { (badge(run_label(run.status, run.result))) }
                                td { (run.branch.as_deref().map(short_branch).unwrap_or_default()) }
                                td { (format_time(run.created_at)) }
                                td { (duration_between(run.started_at, run.finished_at, now).unwrap_or_default()) }
                            } @else {
                                td.muted colspan="5" { "never run" }
                            }
                        }
                    }
                }
            }
        }
        @if viewer.user.role == UserRole::Admin {
            section.panel {
                h2 { "New pipeline" }
                form.grid method="post" action="/pipelines" {
                    (csrf_field(&viewer))
                    label { "Name" input type="text" name="name" required pattern="[A-Za-z0-9._\\-]{1,100}"; }
                    label { "Repository (local path or git URL)" input type="text" name="repository" required; }
                    label { "Pipeline file" input type="text" name="yaml_path" value="azure-pipelines.yml" required; }
                    label { "Default branch (empty: the repository's)" input type="text" name="default_branch"; }
                    button type="submit" { "Create pipeline" }
                }
            }
        }
    };
    Ok(page("Pipelines", Some(&viewer), &body).into_response())
}

/// The "New pipeline" form.
#[derive(Debug, Deserialize)]
pub(crate) struct NewPipelineForm {
    #[serde(default)]
    csrf: String,
    name: String,
    repository: String,
    #[serde(default)]
    yaml_path: String,
    #[serde(default)]
    default_branch: String,
}

/// `POST /pipelines` (admin): creates a pipeline as the API does.
pub(crate) async fn create_pipeline(
    State(state): State<AppState>,
    viewer: Viewer,
    form: Result<Form<NewPipelineForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Form(form) = form?;
    viewer.check_csrf(&form.csrf)?;
    viewer.require(UserRole::Admin)?;
    let yaml_path = if form.yaml_path.trim().is_empty() { "azure-pipelines.yml".to_owned() } else { form.yaml_path };
    let body = CreatePipeline {
        name: form.name.trim().to_owned(),
        repository: form.repository.trim().to_owned(),
        yaml_path: yaml_path.trim().to_owned(),
        default_branch: form.default_branch.trim().to_owned(),
    };
    let pipeline = slipway_service::pipelines::register_pipeline(&state, body).await?;
    Ok(Redirect::to(&format!("/pipelines/{}", url_encode(&pipeline.name))).into_response())
}

/// The query of a pipeline's page.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct PipelineQuery {
    /// Runs older than this id (the next page).
    before: Option<i64>,
    /// Only runs of this branch.
    branch: Option<String>,
    /// Only runs that ended so.
    result: Option<String>,
    /// Only runs started so.
    trigger: Option<String>,
}

/// The results a pipeline's runs can be filtered by, as the form offers them.
const RESULT_FILTERS: [TaskResult; 4] =
    [TaskResult::Succeeded, TaskResult::SucceededWithIssues, TaskResult::Failed, TaskResult::Canceled];

/// The triggers a pipeline's runs can be filtered by.
const TRIGGER_FILTERS: [TriggerKind; 5] = [
    TriggerKind::Manual,
    TriggerKind::Push,
    TriggerKind::PullRequest,
    TriggerKind::Schedule,
    TriggerKind::PipelineCompletion,
];

/// How many of a pipeline's latest completed runs its trend shows.
const TREND_RUNS: u32 = 30;

/// A pipeline page's filter, read: the branch, the result and the trigger asked for.
type RunFilters = (Option<String>, Option<TaskResult>, Option<TriggerKind>);

impl PipelineQuery {
    /// The filter's parts, read: a value that is not one gives a clear error.
    fn filters(&self) -> Result<RunFilters, UiError> {
        let given = |value: &Option<String>| {
            value.as_deref().map(str::trim).filter(|value| !value.is_empty()).map(str::to_owned)
        };
        let result = match given(&self.result) {
            None => None,
            Some(text) => Some(
                TaskResult::parse(&text)
                    .ok_or_else(|| {
                        UiError::bad_request(format!(
                            "'{text}' is not a result a run can end with: use Succeeded, SucceededWithIssues, Failed or Canceled"
                        ))
                    })?,
            ),
        };
        let trigger = match given(&self.trigger) {
            None => None,
            Some(text) => Some(TriggerKind::parse(&text).map_err(|_| {
                UiError::bad_request(format!(
                    "'{text}' is not a trigger: use manual, push, pr, schedule or pipeline-completion"
                ))
            })?),
        };
        Ok((given(&self.branch), result, trigger))
    }

    /// The filter as a query string (`&branch=...`), for the links between pages.
    fn filter_query(&self) -> String {
        let mut query = String::new();
        for (name, value) in [("branch", &self.branch), ("result", &self.result), ("trigger", &self.trigger)] {
            if let Some(value) = value.as_deref().filter(|value| !value.trim().is_empty()) {
                query.push_str(&format!("&{name}={}", url_encode(value)));
            }
        }
        query
    }
}

/// A pipeline's trend over its latest completed runs (oldest first): how many succeeded, the
/// average duration, and a bar per run (height by duration, colour by result).
fn trend(runs: &[Run]) -> Markup {
    let timed: Vec<(&Run, i64)> = runs
        .iter()
        .rev()
        .map(|run| {
            let took = match (run.started_at, run.finished_at) {
                (Some(start), Some(end)) => (end.millis() - start.millis()).max(0),
                _ => 0,
            };
            (run, took)
        })
        .collect();
    let passed = runs
        .iter()
        .filter(|run| matches!(run.result, Some(TaskResult::Succeeded | TaskResult::SucceededWithIssues)))
        .count();
    let longest = timed.iter().map(|(_, took)| *took).max().unwrap_or(0).max(1);
    let average = timed.iter().map(|(_, took)| *took).sum::<i64>() / i64::try_from(timed.len().max(1)).unwrap_or(1);
    let height: i64 = 40;
    html! {
        section.panel #trend {
            h2 { "Trend" }
            p.meta {
                span #pass-rate { (passed) " of " (runs.len()) " succeeded" }
                @if !runs.is_empty() {
                    " (" ((passed * 100) / runs.len()) "%) · average duration " span #average-duration { (super::format_duration(average)) }
                    " · the last " (runs.len()) " completed runs"
                }
            }
            @if !timed.is_empty() {
                svg.trend width=(timed.len() * 8) height=(height) role="img" aria-label="Duration and result of the latest runs" {
                    @for (index, (run, took)) in timed.iter().enumerate() {
                        @let bar = ((took * (height - 2)) / longest).max(2);
                        @let (class, word) = run_label(run.status, run.result);
                        rect class=(class) x=(index * 8) y=(height - bar) width="6" height=(bar) {
                            title { "#" (run.run_number) " " (word) " in " (super::format_duration(*took)) }
                        }
                    }
                }
            }
        }
    }
}

/// `GET /pipelines/{name}`: the pipeline's runs, newest first, a page at a time.
pub(crate) async fn pipeline(
    State(state): State<AppState>,
    viewer: Viewer,
    name: Result<Path<String>, PathRejection>,
    query: Result<Query<PipelineQuery>, QueryRejection>,
) -> Result<Response, UiError> {
    let Query(query) = query?;
    let pipeline = find_pipeline(&state, name).await?;
    let (branch, result, trigger) = query.filters()?;
    let filtered = branch.is_some() || result.is_some() || trigger.is_some();
    let filter = RunFilter {
        pipeline: Some(pipeline.id),
        branch: branch.as_deref().map(slipway_service::runs::full_branch),
        result,
        trigger,
        before: query.before.map(RunId),
        limit: RUNS_PER_PAGE,
        ..RunFilter::default()
    };
    let runs = state.store().list_runs(&filter).await?;
    let latest = RunFilter {
        pipeline: Some(pipeline.id),
        status: Some(RunStatus::Completed),
        limit: TREND_RUNS,
        ..RunFilter::default()
    };
    let completed = state.store().list_runs(&latest).await?;
    let filter_query = query.filter_query();
    let now = state.store().now();
    let older = (runs.len() == RUNS_PER_PAGE as usize).then(|| runs.last().map(|run| run.id)).flatten();
    let encoded = url_encode(&pipeline.name);
    let body = html! {
        div.heading {
            h1 { (pipeline.name) }
            div.actions {
                a.button href=(format!("/pipelines/{encoded}/variables")) { "Variables" }
                a.button href=(format!("/pipelines/{encoded}/security")) { "Security" }
                @if viewer.user.role != UserRole::Reader {
                    a.button.primary href=(format!("/pipelines/{encoded}/run")) { "Run pipeline" }
                }
            }
        }
        p.meta {
            "Repository " code { (pipeline.repository) } " · file " code { (pipeline.yaml_path) }
            @if !pipeline.default_branch.is_empty() { " · default branch " code { (pipeline.default_branch) } }
            " · " (retention_summary(pipeline.retention))
        }
        @if pipeline.queue_status == QueueStatus::Disabled {
            p.problem #disabled role="status" { "This pipeline is disabled: it takes no new runs, from people or triggers." }
        }
        p.meta #trigger-health {
            @match (&pipeline.triggers.checked_at, &pipeline.triggers.error) {
                (None, _) => { "Triggers: not polled yet." }
                (Some(at), None) => { "Triggers: last poll " (format_time(*at)) ", all well." }
                (Some(at), Some(_)) => { "Triggers: the last poll, " (format_time(*at)) ", failed:" }
            }
        }
        @if let Some(error) = &pipeline.triggers.error {
            pre.problem #trigger-error { (error) }
        }
        p.meta #badge {
            img.status-badge src=(format!("/pipelines/{encoded}/badge.svg")) alt="Status badge";
            " Status badge: " code { "/pipelines/" (pipeline.name) "/badge.svg" } " (add " code { "?branch=NAME" } " for a branch; shown without signing in)"
        }
        (trend(&completed))
        form.filters #run-filters method="get" action=(format!("/pipelines/{encoded}")) {
            label { "Branch " input type="text" name="branch" value=(branch.clone().unwrap_or_default()) placeholder="any"; }
            label { "Result "
                select name="result" {
                    option value="" { "any" }
                    @for choice in RESULT_FILTERS {
                        option value=(choice.as_str()) selected[result == Some(choice)] { (choice.as_str()) }
                    }
                }
            }
            label { "Trigger "
                select name="trigger" {
                    option value="" { "any" }
                    @for choice in TRIGGER_FILTERS {
                        option value=(choice.as_str()) selected[trigger == Some(choice)] { (choice.as_str()) }
                    }
                }
            }
            button type="submit" { "Filter" }
            @if filtered { " " a href=(format!("/pipelines/{encoded}")) { "Clear" } }
        }
        @if runs.is_empty() {
            p.empty #no-runs {
                @if query.before.is_some() { "No older runs." }
                @else if filtered { "No runs match this filter." }
                @else { "No runs yet." }
            }
        } @else {
            table.list.runs {
                thead { tr { th { "Run" } th { "Result" } th { "Branch" } th { "Commit" } th { "Trigger" } th { "Started" } th { "Duration" } } }
                tbody {
                    @for run in &runs {
                        tr {
                            td { a href=(format!("/runs/{}", run.id)) { "#" (run.run_number) } }
                            td { (badge(run_label(run.status, run.result))) }
                            td { (run.branch.as_deref().map(short_branch).unwrap_or_default()) }
                            td { code title=(run.commit.as_deref().unwrap_or_default()) { (run.commit.as_deref().map(short_commit).unwrap_or_default()) } }
                            td {
                                (run.trigger)
                                @if let Some(who) = &run.requested_by { span.muted { " by " (who) } }
                            }
                            td { (format_time(run.created_at)) }
                            td { (duration_between(run.started_at, run.finished_at, now).unwrap_or_default()) }
                        }
                    }
                }
            }
        }
        nav.pages {
            @if query.before.is_some() { a href=(format!("/pipelines/{encoded}?{}", filter_query.trim_start_matches('&'))) { "Newest" } }
            @if let Some(older) = older { a href=(format!("/pipelines/{encoded}?before={older}{filter_query}")) { "Older runs" } }
        }
        @if viewer.user.role == UserRole::Admin {
            (retention_form(&viewer, &pipeline))
            (state_forms(&viewer, &pipeline))
        }
    };
    Ok(page(&pipeline.name, Some(&viewer), &body).into_response())
}

/// The admin's forms to disable or enable a pipeline and to delete it (its name typed again).
fn state_forms(viewer: &Viewer, pipeline: &Pipeline) -> Markup {
    let encoded = url_encode(&pipeline.name);
    let (action, label, explanation) = match pipeline.queue_status {
        QueueStatus::Enabled => (
            "disabled",
            "Disable pipeline",
            "A disabled pipeline takes no new runs, from people or triggers; runs already queued go on.",
        ),
        QueueStatus::Disabled => {
            ("enabled", "Enable pipeline", "Enabled again, it takes runs and its triggers are polled.")
        }
    };
    html! {
        section.panel.pipeline-state {
            h2 { "Queue status" }
            p.muted { (explanation) }
            form.inline method="post" action=(format!("/pipelines/{encoded}/queue-status")) {
                (csrf_field(viewer))
                input type="hidden" name="status" value=(action);
                button type="submit" { (label) }
            }
            h2 { "Delete this pipeline" }
            p.muted { "Deleting removes the pipeline with all its runs, logs, artifacts and variables; it cannot be undone." }
            form.inline method="post" action=(format!("/pipelines/{encoded}/delete")) {
                (csrf_field(viewer))
                label { "Type the pipeline's name to confirm" input type="text" name="confirm" required autocomplete="off"; }
                button.danger type="submit" { "Delete pipeline" }
            }
        }
    }
}

/// The form that enables or disables a pipeline.
#[derive(Debug, Deserialize)]
pub(crate) struct QueueStatusForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    status: String,
}

/// `POST /pipelines/{name}/queue-status` (admin): enables or disables the pipeline as
/// `PATCH /api/v1/pipelines/{name}` does.
pub(crate) async fn set_queue_status(
    State(state): State<AppState>,
    viewer: Viewer,
    name: Result<Path<String>, PathRejection>,
    form: Result<Form<QueueStatusForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Form(form) = form?;
    viewer.check_csrf(&form.csrf)?;
    viewer.require(UserRole::Admin)?;
    let Path(name) = name?;
    let status = QueueStatus::parse(&form.status)
        .map_err(|_| UiError::bad_request(format!("'{}' is not a queue status: enabled or disabled.", form.status)))?;
    let pipeline = slipway_service::pipelines::set_queue_status(&state, &viewer.caller(), &name, status).await?;
    Ok(Redirect::to(&format!("/pipelines/{}", url_encode(&pipeline.name))).into_response())
}

/// The form that deletes a pipeline.
#[derive(Debug, Deserialize)]
pub(crate) struct DeletePipelineForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    confirm: String,
}

/// `POST /pipelines/{name}/delete` (admin): deletes the pipeline as `DELETE
/// /api/v1/pipelines/{name}` does, once its name was typed again.
pub(crate) async fn delete_pipeline(
    State(state): State<AppState>,
    viewer: Viewer,
    name: Result<Path<String>, PathRejection>,
    form: Result<Form<DeletePipelineForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Form(form) = form?;
    viewer.check_csrf(&form.csrf)?;
    viewer.require(UserRole::Admin)?;
    let Path(name) = name?;
    if form.confirm.trim() != name {
        return Err(UiError::bad_request(format!(
            "The pipeline was not deleted: type its name, '{name}', to confirm."
        )));
    }
    slipway_service::pipelines::delete_pipeline(&state, &viewer.caller(), &name).await?;
    Ok(Redirect::to("/").into_response())
}

/// What a pipeline's retention settings keep, for people.
fn retention_summary(retention: RetentionPolicy) -> String {
    match (retention.days, retention.runs) {
        (None, None) => "runs kept forever".to_owned(),
        (Some(days), None) => format!("runs kept {days} days"),
        (None, Some(runs)) => format!("the newest {runs} runs kept"),
        (Some(days), Some(runs)) => format!("runs kept {days} days, and the newest {runs} runs"),
    }
}

fn retention_form(viewer: &Viewer, pipeline: &Pipeline) -> Markup {
    let number = |value: Option<u32>| value.map(|value| value.to_string()).unwrap_or_default();
    html! {
        section.panel.retention {
            h2 { "Retention" }
            p.muted {
                "The cleanup (hourly) deletes a completed run once it is beyond every limit set here: older than the days "
                "and not among the newest runs. It never deletes a run marked keep, the newest successful run of a branch, "
                "or a run that a kept run re-runs or was triggered by. Empty: no limit."
            }
            form.inline method="post" action=(format!("/pipelines/{}/retention", url_encode(&pipeline.name))) {
                (csrf_field(viewer))
                label { "Days" input type="number" name="days" min="1" value=(number(pipeline.retention.days)); }
                label { "Runs" input type="number" name="runs" min="1" value=(number(pipeline.retention.runs)); }
                button type="submit" { "Save retention" }
            }
        }
    }
}

/// The retention form.
#[derive(Debug, Deserialize)]
pub(crate) struct RetentionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    days: String,
    #[serde(default)]
    runs: String,
}

/// A retention limit from a form: empty for none.
fn limit(what: &str, text: &str) -> Result<Option<u32>, UiError> {
    match text.trim() {
        "" => Ok(None),
        text => text.parse().map(Some).map_err(|_| {
            UiError::bad_request(format!("Retention {what} is a whole number, or empty for no limit; not '{text}'."))
        }),
    }
}

/// `POST /pipelines/{name}/retention` (admin): changes the retention settings as
/// `PATCH /api/v1/pipelines/{name}` does.
pub(crate) async fn set_retention(
    State(state): State<AppState>,
    viewer: Viewer,
    name: Result<Path<String>, PathRejection>,
    form: Result<Form<RetentionForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Form(form) = form?;
    viewer.check_csrf(&form.csrf)?;
    viewer.require(UserRole::Admin)?;
    let Path(name) = name?;
    let settings = RetentionSettings { days: limit("days", &form.days)?, runs: limit("runs", &form.runs)? };
    let pipeline = slipway_service::pipelines::set_retention(&state, &viewer.caller(), &name, Some(settings)).await?;
    Ok(Redirect::to(&format!("/pipelines/{}", url_encode(&pipeline.name))).into_response())
}

// ----- the run form -----

/// The query of the run form.
#[derive(Debug, Deserialize)]
pub(crate) struct RunFormQuery {
    /// The branch whose pipeline file declares the parameters.
    branch: Option<String>,
}

/// `GET /pipelines/{name}/run` (contributor): the form to run the pipeline, with an input for
/// each of its `parameters:` as the pipeline file declares them on the branch.
pub(crate) async fn run_form(
    State(state): State<AppState>,
    viewer: Viewer,
    name: Result<Path<String>, PathRejection>,
    query: Result<Query<RunFormQuery>, QueryRejection>,
) -> Result<Response, UiError> {
    viewer.require(UserRole::Contributor)?;
    let Query(query) = query?;
    let pipeline = find_pipeline(&state, name).await?;
    let branch = query
        .branch
        .map(|branch| branch.trim().to_owned())
        .filter(|branch| !branch.is_empty())
        .unwrap_or_else(|| pipeline.default_branch.trim().to_owned());
    let declared = read_parameters(&state, &pipeline, &branch).await;
    let encoded = url_encode(&pipeline.name);
    let body = html! {
        h1 { "Run " a href=(format!("/pipelines/{encoded}")) { (pipeline.name) } }
        form.inline method="get" action=(format!("/pipelines/{encoded}/run")) {
            label { "Branch" input type="text" name="branch" value=(branch) placeholder="the repository's default branch"; }
            button type="submit" { "Read parameters from this branch" }
        }
        @match &declared {
            Err(problem) => p.problem role="alert" { "The parameters could not be read: " (problem) }
            Ok((_, commit)) => p.meta { "Parameters as declared at commit " code { (short_commit(commit)) } "." }
        }
        form.grid #run-form method="post" action=(format!("/pipelines/{encoded}/run")) {
            (csrf_field(&viewer))
            input type="hidden" name="branch" value=(branch);
            @if let Ok((parameters, _)) = &declared {
                @for parameter in parameters { (parameter_input(parameter)) }
                @if parameters.is_empty() { p.muted { "This pipeline declares no parameters." } }
            }
            button.primary type="submit" { "Run" }
        }
    };
    Ok(page(&format!("Run {}", pipeline.name), Some(&viewer), &body).into_response())
}

/// Reads the parameters the pipeline file declares on `branch` (the default branch when empty).
async fn read_parameters(
    state: &AppState,
    pipeline: &Pipeline,
    branch: &str,
) -> Result<(Vec<slipway_azure::ParameterDeclaration>, String), String> {
    let scratch = state.data_dir().join("checkouts").join(slipway_engine::random_hex(12)?);
    let (repository, yaml_path) = (pipeline.repository.clone(), pipeline.yaml_path.clone());
    let branch = (!branch.is_empty()).then(|| short_branch(branch).to_owned());
    tokio::task::spawn_blocking(move || {
        if let Some(parent) = scratch.parent() {
            let _ = std::fs::create_dir_all(parent);
        }
        let (text, commit) =
            slipway_engine::checkout::read_pipeline_file(&repository, branch.as_deref(), &yaml_path, &scratch)
                .map_err(|error| error.to_string())?;
        // A GitHub Actions workflow's parameters are its `workflow_dispatch` inputs.
        if let Some(inputs) = slipway_service::runs::workflow_inputs(&yaml_path, &text) {
            return inputs.map(|inputs| (inputs, commit));
        }
        let declared = slipway_source::contained(|| slipway_azure::declared_parameters(&text, FileId(0)))
            .map_err(|error| error.to_string())?;
        let parameters = declared.map_err(|diagnostics| {
            diagnostics.iter().map(|diagnostic| diagnostic.message.clone()).collect::<Vec<_>>().join("; ")
        })?;
        Ok((parameters, commit))
    })
    .await
    .map_err(|error| error.to_string())?
}

/// The input of one parameter. Its name says how its value is read back: `p.TYPE.NAME`.
fn parameter_input(parameter: &slipway_azure::ParameterDeclaration) -> Markup {
    let label = parameter.display_name.as_deref().unwrap_or(&parameter.name);
    let text = |value: &serde_json::Value| match value {
        serde_json::Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    let default_text = parameter.default.as_ref().map(text).unwrap_or_default();
    html! {
        @match parameter.kind {
            "boolean" => {
                @let field = format!("p.boolean.{}", parameter.name);
                div.check {
                    input type="hidden" name=(field) value="false";
                    label { input type="checkbox" name=(field) value="true" checked[parameter.default == Some(serde_json::Value::Bool(true))]; " " (label) }
                }
            }
            "number" if parameter.values.is_empty() => {
                label { (label) input type="number" step="any" name=(format!("p.number.{}", parameter.name)) value=(default_text); }
            }
            "string" | "number" => {
                @let field = format!("p.{}.{}", parameter.kind, parameter.name);
                label {
                    (label)
                    @if parameter.values.is_empty() {
                        input type="text" name=(field) value=(default_text);
                    } @else {
                        select name=(field) {
                            @for value in &parameter.values {
                                @let value = text(value);
                                option value=(value) selected[value == default_text] { (value) }
                            }
                        }
                    }
                }
            }
            _ => {
                label {
                    (label) span.muted { " (" (parameter.kind) ", as YAML or JSON)" }
                    textarea name=(format!("p.object.{}", parameter.name)) rows="4" { (parameter.default_yaml.as_deref().unwrap_or_default()) }
                }
            }
        }
    }
}

/// The parameter values of a posted run form, typed by their field names (`p.TYPE.NAME`); for a
/// name given more than once (a checkbox after its hidden `false`), the last value counts.
///
/// # Errors
/// A 400 for a number that is not one.
pub(crate) fn form_parameters(fields: &[(String, String)]) -> Result<BTreeMap<String, serde_json::Value>, UiError> {
    let mut parameters = BTreeMap::new();
    for (field, value) in fields {
        let Some(rest) = field.strip_prefix("p.") else { continue };
        let Some((kind, name)) = rest.split_once('.') else { continue };
        if name.is_empty() {
            continue;
        }
        let value = match kind {
            "boolean" => serde_json::Value::Bool(value == "true"),
            "number" if value.trim().is_empty() => {
                parameters.remove(name);
                continue;
            }
            "number" => {
                let number: f64 =
                    value.trim().parse().ok().filter(|number: &f64| number.is_finite()).ok_or_else(|| {
                        UiError::bad_request(format!("Parameter '{name}' must be a number, not '{value}'."))
                    })?;
                if number.fract() == 0.0 && number.abs() < 9_007_199_254_740_992.0 {
                    #[expect(clippy::cast_possible_truncation, reason = "integral and below 2^53, so exact")]
                    serde_json::Value::from(number as i64)
                } else {
                    serde_json::Number::from_f64(number).map_or(serde_json::Value::Null, serde_json::Value::Number)
                }
            }
            _ => serde_json::Value::String(value.clone()),
        };
        parameters.insert(name.to_owned(), value);
    }
    Ok(parameters)
}

/// `POST /pipelines/{name}/run` (contributor): starts a run as `POST /api/v1/pipelines/{name}/runs`
/// does, then shows it.
pub(crate) async fn start_run(
    State(state): State<AppState>,
    viewer: Viewer,
    name: Result<Path<String>, PathRejection>,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Result<Response, UiError> {
    let Form(fields) = form?;
    let field = |name: &str| fields.iter().rev().find(|(key, _)| key == name).map(|(_, value)| value.as_str());
    viewer.check_csrf(field("csrf").unwrap_or_default())?;
    viewer.require(UserRole::Contributor)?;
    let pipeline = find_pipeline(&state, name).await?;
    let branch = field("branch").map(str::trim).filter(|branch| !branch.is_empty()).map(str::to_owned);
    let body = CreateRun { branch, parameters: form_parameters(&fields)?, ..CreateRun::default() };
    let run = slipway_service::runs::queue_manual_run(&state, &viewer.user.name, &pipeline.name, body).await?;
    Ok(Redirect::to(&format!("/runs/{}", run.id)).into_response())
}

// ----- the run page -----

/// The query of the run page and its live stream.
#[derive(Debug, Deserialize)]
pub(crate) struct RunQuery {
    /// The job whose log is shown (`STAGE.JOB` or `STAGE.JOB.LEG`).
    pub job: Option<String>,
}

/// Everything the run page shows but the log.
#[derive(Debug)]
pub(crate) struct RunView {
    /// The run.
    pub run: Run,
    /// Its pipeline's name.
    pub pipeline: String,
    /// Its jobs.
    pub jobs: Vec<Job>,
    /// Their steps.
    pub steps: Vec<(JobId, Step)>,
    /// The shape of its graph.
    pub graph: GraphPlan,
    /// Test totals.
    pub totals: TestTotals,
    /// Test runs.
    pub tests: Vec<StoredTestRun>,
    /// Coverage summaries.
    pub coverage: Vec<StoredCoverage>,
    /// Artifacts.
    pub artifacts: Vec<Artifact>,
    /// The earlier attempts of jobs run again.
    pub attempts: Vec<slipway_store::JobAttempt>,
}

impl RunView {
    /// Reads everything about `run` with one query per kind of thing.
    ///
    /// # Errors
    /// When the store fails.
    pub(crate) async fn load(state: &AppState, run: Run) -> Result<Self, UiError> {
        let store = state.store();
        let graph = store.run_plan(run.id).await?.map(|plan| GraphPlan::from_plan(&plan)).unwrap_or_default();
        let jobs = store.jobs_of_run(run.id).await?;
        let steps = store.steps_of_run(run.id).await?;
        Self::assemble(state, run, jobs, steps, graph).await
    }

    /// Reads the rest of what the page shows about `run`, given its jobs, steps and graph.
    ///
    /// # Errors
    /// When the store fails.
    pub(crate) async fn assemble(
        state: &AppState,
        run: Run,
        jobs: Vec<Job>,
        steps: Vec<(JobId, Step)>,
        graph: GraphPlan,
    ) -> Result<Self, UiError> {
        let store = state.store();
        let pipeline = store.pipeline(run.pipeline).await.map(|pipeline| pipeline.name).unwrap_or_default();
        let totals = store.test_totals(run.id).await?;
        let tests = if totals.total > 0 { store.test_runs(run.id).await? } else { Vec::new() };
        let coverage = store.coverage_summaries(run.id).await?;
        let artifacts = store.artifacts_of_run(run.id).await?;
        let attempts = store.job_attempts_of_run(run.id).await?;
        Ok(Self { run, pipeline, jobs, steps, graph, totals, tests, coverage, artifacts, attempts })
    }

    /// The job whose log to show: the one asked for, else a running one, else a failed one, else
    /// the first.
    #[must_use]
    pub(crate) fn selected_job(&self, asked: Option<&str>) -> Option<&Job> {
        match asked {
            Some(asked) => self.jobs.iter().find(|job| job.key == asked),
            None => default_job(&self.jobs),
        }
    }
}

/// The job whose log a run page shows when none is asked for: a running one, else a failed one,
/// else the first.
#[must_use]
pub(crate) fn default_job(jobs: &[Job]) -> Option<&Job> {
    jobs.iter()
        .find(|job| job.status == JobStatus::Running)
        .or_else(|| jobs.iter().find(|job| job.result == Some(slipway_events::TaskResult::Failed)))
        .or_else(|| jobs.first())
}

/// `GET /runs/{id}`: the run's graph, jobs, steps, results, what its stages wait for
/// (checkpoints, with the approval buttons) and log.
pub(crate) async fn run(
    State(state): State<AppState>,
    viewer: Viewer,
    id: Result<Path<i64>, PathRejection>,
    query: Result<Query<RunQuery>, QueryRejection>,
) -> Result<Response, UiError> {
    let Query(query) = query?;
    let run = find_run(&state, id).await?;
    let view = RunView::load(&state, run).await?;
    let selected = view.selected_job(query.job.as_deref()).map(|job| job.key.clone()).or(query.job);
    let live = run_live(&view, &viewer, selected.as_deref(), state.store().now());
    let run_id = view.run.id;
    let job_name = selected
        .as_deref()
        .and_then(|key| view.jobs.iter().find(|job| job.key == key))
        .map(|job| job.display_name.clone());
    let raw = selected.as_deref().map(|key| format!("/runs/{run_id}/log?job={}", url_encode(key)));
    // Outside the live part, which is rendered again as the run goes on: a comment being typed
    // into an approval's form is kept.
    let checkpoints = super::approvals::checkpoints_panel(&state, &viewer, &view.run).await?;
    let body = html! {
        div #run-live data-run=(run_id) data-job=(selected.as_deref().unwrap_or_default())
            data-done=(if view.run.status == RunStatus::Completed { "true" } else { "false" }) {
            (live)
        }
        (checkpoints)
        section.panel.log-panel {
            div.log-head {
                h2 { "Log" span #log-job { (job_name.as_deref().or(selected.as_deref()).map(|name| format!(": {name}")).unwrap_or_default()) } }
                input #log-search type="search" placeholder="Search the log" aria-label="Search the log";
                a #log-raw href=(raw.as_deref().unwrap_or("#")) download { "Raw log" }
            }
            div #log.log aria-live="polite" {
                p.muted #log-empty { "Waiting for the log…" }
            }
            noscript { p { "The log streams with JavaScript; without it, open the raw log." } }
        }
    };
    let title = format!("{} #{}", view.pipeline, view.run.run_number);
    Ok(page(&title, Some(&viewer), &body).into_response())
}

/// The live part of the run page (replaced as the run moves on): header, actions, graph, jobs
/// and steps, tests, coverage and artifacts.
#[must_use]
pub(crate) fn run_live(
    view: &RunView,
    viewer: &Viewer,
    selected: Option<&str>,
    now: slipway_store::Timestamp,
) -> Markup {
    let run = &view.run;
    let completed = run.status == RunStatus::Completed;
    let mut steps_by_job: HashMap<JobId, Vec<&Step>> = HashMap::new();
    for (job, step) in &view.steps {
        steps_by_job.entry(*job).or_default().push(step);
    }
    let failed_jobs = completed && slipway_engine::reruns::has_failed_jobs(run, &view.jobs);
    html! {
        div.heading {
            h1 {
                a href=(format!("/pipelines/{}", url_encode(&view.pipeline))) { (view.pipeline) }
                " #" (run.run_number) " "
                span #run-status { (badge(run_label(run.status, run.result))) }
                @if run.cancel_requested && !completed { " " span.badge.s-cancel { "cancelling" } }
                @if run.keep { " " span.badge.s-kept title="Retention keeps this run" { "kept" } }
            }
            @if viewer.user.role != UserRole::Reader {
                div.actions {
                    @if !completed && !run.cancel_requested {
                        form method="post" action=(format!("/runs/{}/cancel", run.id)) {
                            (csrf_field(viewer))
                            button.danger type="submit" { "Cancel" }
                        }
                    }
                    form method="post" action=(format!("/runs/{}/keep", run.id)) {
                        (csrf_field(viewer))
                        input type="hidden" name="keep" value=(if run.keep { "false" } else { "true" });
                        button type="submit" title="Whether retention must keep this run" { (if run.keep { "Unkeep" } else { "Keep" }) }
                    }
                    @if completed {
                        form method="post" action=(format!("/runs/{}/rerun", run.id)) {
                            (csrf_field(viewer))
                            input type="hidden" name="failed_only" value="false";
                            button type="submit" { "Re-run" }
                        }
                        @if failed_jobs {
                            form method="post" action=(format!("/runs/{}/rerun", run.id)) {
                                (csrf_field(viewer))
                                input type="hidden" name="failed_only" value="true";
                                button type="submit" { "Re-run failed jobs" }
                            }
                        }
                    }
                }
            }
        }
        p.meta {
            @if let Some(branch) = &run.branch { "Branch " code { (short_branch(branch)) } " · " }
            @if let Some(commit) = &run.commit { "commit " code title=(commit) { (short_commit(commit)) } " · " }
            @if let Some(message) = run.trigger_details.message.as_deref().filter(|message| !message.is_empty()) {
                "“" (message) "” · "
            }
            (run.trigger) @if let Some(who) = &run.requested_by { " by " (who) }
            " · queued " (format_time(run.created_at))
            @if let Some(duration) = duration_between(run.started_at, run.finished_at, now) { " · ran " (duration) }
            @if let Some(retry_of) = run.retry_of { " · re-run of " a href=(format!("/runs/{retry_of}")) { "run " (retry_of) } }
            " · " a href=(format!("/runs/{}/security", run.id)) { "Security" } " · " (super::evidence::run_link(run.id.get()))
        }
        @if let Some(parameters) = run.parameters.as_object().filter(|parameters| !parameters.is_empty()) {
            dl.parameters {
                @for (name, value) in parameters {
                    dt { (name) }
                    dd { code { (match value { serde_json::Value::String(text) => text.clone(), other => other.to_string() }) } }
                }
            }
        }
        section.panel.graph {
            (super::graph::svg(&view.graph, &view.jobs, run.id, completed, selected))
        }
        section.panel.jobs {
            h2 { "Jobs" }
            @if view.jobs.is_empty() { p.muted { "No job has started yet." } }
            @for job in &view.jobs {
                div class=(if Some(job.key.as_str()) == selected { "job selected" } else { "job" }) {
                    h3 {
                        a href=(format!("/runs/{}?job={}", run.id, url_encode(&job.key))) { (job.display_name) }
                        " " (badge(job_label(job.status, job.result)))
                        @if let Some(holder) = &job.lease_holder { " " span.agent.muted { "on " (slipway_engine::agents::holder_agent_name(holder)) } }
                        @if job.attempt > 1 { " " span.attempt title="Leased this many times: re-runs and restarts" { "attempt " (job.attempt) } }
                        @if let Some(duration) = duration_between(job.started_at, job.finished_at, now) { span.muted { " " (duration) } }
                    }
                    @if let Some(message) = &job.message { p.job-message { (message) } }
                    @let earlier: Vec<&slipway_store::JobAttempt> = view.attempts.iter().filter(|attempt| attempt.job == job.id).collect();
                    @if !earlier.is_empty() {
                        ul.attempts {
                            @for (number, attempt) in earlier.iter().enumerate() {
                                li {
                                    "Attempt " (number + 1) " "
                                    (badge(job_label(slipway_store::JobStatus::Completed, attempt.result)))
                                    @if let Some(holder) = &attempt.lease_holder { " " span.agent.muted { "on " (slipway_engine::agents::holder_agent_name(holder)) } }
                                    @if let Some(duration) = duration_between(attempt.started_at, attempt.finished_at, now) { span.muted { " " (duration) } }
                                    @if let Some(message) = &attempt.message { " " span.muted { "— " (message) } }
                                }
                            }
                        }
                    }
                    @if let Some(steps) = steps_by_job.get(&job.id) {
                        ol.steps {
                            @for step in steps {
                                li {
                                    (badge(step_label(step.status, step.result)))
                                    " " span.step-name { (step.display_name) }
                                    @if let Some(duration) = duration_between(step.started_at, step.finished_at, now) { span.muted { " " (duration) } }
                                    @if let Some(message) = &step.message { div.step-message { (message) } }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if view.totals.total > 0 || !view.tests.is_empty() {
            (tests_panel(view))
        }
        @if !view.coverage.is_empty() {
            section.panel.coverage {
                h2 { "Code coverage" }
                table.list {
                    thead { tr { th { "Job" } th { "Format" } th { "Lines" } th { "Branches" } } }
                    tbody {
                        @for summary in &view.coverage {
                            tr {
                                td { (job_name(&view.jobs, &summary.job)) }
                                td { (summary.coverage.format) }
                                td { (counter(summary.coverage.lines)) }
                                td { (counter(summary.coverage.branches)) }
                            }
                        }
                    }
                }
            }
        }
        @if !view.artifacts.is_empty() {
            section.panel.artifacts {
                h2 { "Artifacts" }
                ul {
                    @for artifact in &view.artifacts {
                        li {
                            a href=(format!("/api/v1/runs/{}/artifacts/{}", run.id, url_encode(&artifact.name))) download { (artifact.name) }
                            span.muted { " " (artifact.files) " files, " (format_bytes(artifact.bytes)) }
                        }
                    }
                }
            }
        }
    }
}

fn tests_panel(view: &RunView) -> Markup {
    let totals = view.totals;
    let failed: Vec<_> = view
        .tests
        .iter()
        .flat_map(|run| run.results.tests.iter().map(move |case| (run, case)))
        .filter(|(_, case)| matches!(case.outcome, slipway_events::TestOutcome::Failed))
        .take(FAILED_TESTS_SHOWN)
        .collect();
    let class = if totals.failed > 0 { "s-fail" } else { "s-ok" };
    html! {
        section.panel.tests #tests {
            h2 { "Tests" }
            p.test-totals {
                span class=(format!("badge {class}")) { (totals.passed) " of " (totals.total) " passed" }
                " · " (totals.failed) " failed · " (totals.skipped) " skipped"
            }
            table.list {
                thead { tr { th { "Test run" } th { "Job" } th { "Format" } th { "Passed" } th { "Failed" } th { "Skipped" } th { "Duration" } } }
                tbody {
                    @for test_run in &view.tests {
                        tr {
                            td { (test_run.results.title) }
                            td { (job_name(&view.jobs, &test_run.job)) }
                            td { (test_run.results.format) }
                            td { (test_run.results.passed) }
                            td { (test_run.results.failed) }
                            td { (test_run.results.skipped) }
                            td { (super::format_duration(i64::try_from(test_run.results.duration_ms).unwrap_or(i64::MAX))) }
                        }
                    }
                }
            }
            @if !failed.is_empty() {
                h3 { "Failed tests" }
                ul.failed-tests {
                    @for (_, case) in &failed {
                        li {
                            strong { (case.name) }
                            @if let Some(message) = &case.message { pre { (message) } }
                        }
                    }
                }
            }
        }
    }
}

/// The display name of the job with `key`, or the key.
fn job_name<'a>(jobs: &'a [Job], key: &'a str) -> &'a str {
    jobs.iter().find(|job| job.key == key).map_or(key, |job| job.display_name.as_str())
}

fn counter(counter: Option<slipway_events::CoverageCounter>) -> String {
    match counter {
        Some(counter) if counter.total > 0 => {
            #[expect(clippy::cast_precision_loss, reason = "a percentage for people")]
            let percent = counter.covered as f64 * 100.0 / counter.total as f64;
            format!("{percent:.1}% ({}/{})", counter.covered, counter.total)
        }
        Some(_) => "—".to_owned(),
        None => String::new(),
    }
}

/// A size for people.
#[must_use]
pub(crate) fn format_bytes(bytes: i64) -> String {
    #[expect(clippy::cast_precision_loss, reason = "a size for people")]
    let value = bytes as f64;
    if bytes < 1024 {
        format!("{bytes} B")
    } else if bytes < 1_048_576 {
        format!("{:.1} KiB", value / 1024.0)
    } else if bytes < 1_073_741_824 {
        format!("{:.1} MiB", value / 1_048_576.0)
    } else {
        format!("{:.1} GiB", value / 1_073_741_824.0)
    }
}

/// `GET /runs/{id}/log?job=KEY`: a job's whole log as text, to download.
pub(crate) async fn raw_log(
    State(state): State<AppState>,
    _viewer: Viewer,
    id: Result<Path<i64>, PathRejection>,
    query: Result<Query<RunQuery>, QueryRejection>,
) -> Result<Response, UiError> {
    let Query(query) = query?;
    let run = find_run(&state, id).await?;
    let Some(key) = query.job else { return Err(UiError::bad_request("say which job's log: ?job=STAGE.JOB")) };
    let store = state.store();
    let job = store
        .jobs_of_run(run.id)
        .await?
        .into_iter()
        .find(|job| job.key == key)
        .ok_or_else(|| UiError::not_found(format!("Run {} has no job '{key}'.", run.id)))?;
    let text = store.read_whole_log(&job).await?;
    let file: String = format!("run-{}-{key}.log", run.id)
        .chars()
        .map(|character| if character.is_ascii_alphanumeric() || ".-_".contains(character) { character } else { '_' })
        .collect();
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{file}\""))
        .unwrap_or_else(|_| HeaderValue::from_static("attachment"));
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8")),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        text,
    )
        .into_response())
}

/// `POST /runs/{id}/cancel` (contributor).
pub(crate) async fn cancel(
    State(state): State<AppState>,
    viewer: Viewer,
    id: Result<Path<i64>, PathRejection>,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Form(form) = form?;
    viewer.check_csrf(&form.csrf)?;
    viewer.require(UserRole::Contributor)?;
    let run = find_run(&state, id).await?;
    slipway_service::runs::cancel(&state, &run).await?;
    Ok(Redirect::to(&format!("/runs/{}", run.id)).into_response())
}

/// The keep form.
#[derive(Debug, Deserialize)]
pub(crate) struct KeepForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    keep: String,
}

/// `POST /runs/{id}/keep` (contributor): marks the run to be kept by retention (`keep=true`),
/// or not, as `POST /api/v1/runs/{id}/keep` does.
pub(crate) async fn keep(
    State(state): State<AppState>,
    viewer: Viewer,
    id: Result<Path<i64>, PathRejection>,
    form: Result<Form<KeepForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Form(form) = form?;
    viewer.check_csrf(&form.csrf)?;
    viewer.require(UserRole::Contributor)?;
    let keep = match form.keep.as_str() {
        "true" => true,
        "false" => false,
        other => return Err(UiError::bad_request(format!("keep is true or false, not '{other}'."))),
    };
    let run = find_run(&state, id).await?;
    slipway_service::runs::keep(&state, &viewer.caller(), run.id, keep).await?;
    Ok(Redirect::to(&format!("/runs/{}", run.id)).into_response())
}

/// The re-run form.
#[derive(Debug, Deserialize)]
pub(crate) struct RerunForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    failed_only: String,
}

/// `POST /runs/{id}/rerun` (contributor): with `failed_only=true`, runs the failed jobs again in
/// place and shows the run; else queues a new run of the same commit, parameters and variables
/// (numbered by the pipeline's `name:`, marked as a re-run) and shows it. Both as the API's
/// `POST /api/v1/runs/{id}/rerun` does.
pub(crate) async fn rerun(
    State(state): State<AppState>,
    viewer: Viewer,
    id: Result<Path<i64>, PathRejection>,
    form: Result<Form<RerunForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Form(form) = form?;
    viewer.check_csrf(&form.csrf)?;
    viewer.require(UserRole::Contributor)?;
    let run = find_run(&state, id).await?;
    let shown = if form.failed_only == "true" {
        slipway_service::runs::rerun_failed(&state, &viewer.caller(), &run).await?
    } else {
        slipway_service::runs::rerun_whole(&state, &viewer.caller(), &run).await?
    };
    Ok(Redirect::to(&format!("/runs/{}", shown.id)).into_response())
}

#[cfg(test)]
mod tests {
    use axum::http::StatusCode;

    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(key, value)| ((*key).to_owned(), (*value).to_owned())).collect()
    }

    #[test]
    fn form_fields_become_typed_parameters() -> Result<(), String> {
        let posted = fields(&[
            ("csrf", "x"),
            ("p.boolean.dryRun", "false"),
            ("p.boolean.dryRun", "true"),
            ("p.boolean.verbose", "false"),
            ("p.number.count", "3"),
            ("p.number.ratio", "0.5"),
            ("p.number.empty", " "),
            ("p.string.environment", "prod"),
            ("p.object.targets", "[linux, windows]"),
            ("p.", "ignored"),
        ]);
        let parameters = form_parameters(&posted).map_err(|error| error.message)?;
        assert_eq!(
            serde_json::to_value(&parameters).map_err(|error| error.to_string())?,
            serde_json::json!({
                "count": 3, "dryRun": true, "environment": "prod", "ratio": 0.5,
                "targets": "[linux, windows]", "verbose": false
            })
        );
        let bad = form_parameters(&fields(&[("p.number.count", "three")]));
        assert!(bad.is_err_and(|error| error.status == StatusCode::BAD_REQUEST && error.message.contains("count")));
        Ok(())
    }

    #[test]
    fn sizes_read_well() {
        assert_eq!(format_bytes(512), "512 B");
        assert_eq!(format_bytes(2048), "2.0 KiB");
        assert_eq!(format_bytes(5 * 1_048_576), "5.0 MiB");
    }
}
