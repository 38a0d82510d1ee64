//! Work items and incidents in the web UI: the list, the board and one item's page.
//!
//! - `/work-items`: the items, newest first, filtered by kind (`?kind=incident` for the
//!   incidents), state (`open` by default, `done`, `all` or one state) and assignee, a page at a
//!   time; contributors open an item there.
//! - `/work-items/board`: the items in four columns, New, Active, Resolved and Closed, as cards.
//! - `/work-items/{id}`: one item: its fields, occurrences, links (runs, deployments,
//!   environments and pipelines as links to their pages) and comments, with contributors' forms
//!   to comment, to change its state, assignee and severity, and to link it.
//!
//! Every read and change goes through the functions the API uses
//! ([`slipway_service::work_items`]) with the signed-in user as the caller, so roles (readers
//! read, contributors change), the checks of every field and the audit log are the same. A form
//! the service refuses shows the page again with the service's words and what was typed.

use axum::extract::rejection::{FormRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use maud::{Markup, html};
use serde::Deserialize;
use slipway_api::{
    AddWorkItemComment, AddWorkItemLinks, CreateWorkItem, NewWorkItemLink, UpdateWorkItem, WorkItem, WorkItemDetails,
    WorkItemLink, WorkItemsQuery,
};
use slipway_service::work_items as service;
use slipway_store::{DeploymentId, PipelineId, UserRole, WorkItemKind, WorkItemSeverity, WorkItemState};

use super::environments::{problem_note, refused, time_of};
use super::{UiError, Viewer, csrf_field, page, short_commit, url_encode};
use crate::AppState;

/// Items on one page of the list, and in one column of the board.
const PER_PAGE: i64 = 100;

/// The routes of these pages.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/work-items", get(list).post(create))
        .route("/work-items/board", get(board))
        .route("/work-items/{id}", get(show))
        .route("/work-items/{id}/update", post(update))
        .route("/work-items/{id}/comments", post(comment))
        .route("/work-items/{id}/links", post(link))
}

/// Whether the viewer may change work items.
fn contributor(viewer: &Viewer) -> bool {
    viewer.user.role != UserRole::Reader
}

/// The CSS class of a state's badge.
fn state_class(state: &str) -> &'static str {
    match state {
        "new" => "s-wait",
        "active" => "s-run",
        "resolved" => "s-ok",
        _ => "s-skip",
    }
}

fn state_badge(state: &str) -> Markup {
    html! { span class=(format!("badge {}", state_class(state))) { (state) } }
}

/// The kind, marked: incidents stand out.
fn kind_badge(kind: &str) -> Markup {
    html! { span class=(format!("badge wi-kind wi-{kind}")) { (kind) } }
}

fn severity_badge(severity: Option<&str>) -> Markup {
    html! { @if let Some(severity) = severity { span class=(format!("badge wi-severity wi-{severity}")) { (severity) } } }
}

fn item_href(id: i64) -> String {
    format!("/work-items/{id}")
}

// ----- the list -----

/// The list's query: the API's filters, with `state` defaulting to `open` (`all`: any).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ListQuery {
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    assignee: Option<String>,
    #[serde(default)]
    before: Option<i64>,
}

impl ListQuery {
    /// The state selected: `open` when none is given.
    fn state(&self) -> &str {
        self.state.as_deref().filter(|state| !state.is_empty()).unwrap_or("open")
    }

    fn api(&self) -> WorkItemsQuery {
        let state = self.state();
        WorkItemsQuery {
            kind: self.kind.clone().filter(|kind| !kind.is_empty()),
            state: (state != "all").then(|| state.to_owned()),
            assignee: self.assignee.clone().filter(|assignee| !assignee.trim().is_empty()),
            before: self.before,
            limit: Some(PER_PAGE),
            ..WorkItemsQuery::default()
        }
    }

    /// The query string of this filter (without paging).
    fn query_string(&self) -> String {
        let mut parts = vec![format!("state={}", url_encode(self.state()))];
        if let Some(kind) = self.kind.as_deref().filter(|kind| !kind.is_empty()) {
            parts.push(format!("kind={}", url_encode(kind)));
        }
        if let Some(assignee) = self.assignee.as_deref().filter(|assignee| !assignee.is_empty()) {
            parts.push(format!("assignee={}", url_encode(assignee)));
        }
        parts.join("&")
    }
}

/// What the "New work item" form holds.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct NewItemForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    severity: String,
    #[serde(default)]
    assignee: String,
    #[serde(default)]
    environment: String,
}

fn filter_form(query: &ListQuery, action: &str, with_state: bool) -> Markup {
    let kind = query.kind.as_deref().unwrap_or_default();
    let state = query.state();
    html! {
        form.inline.wi-filters method="get" action=(action) {
            label { "Kind"
                select name="kind" {
                    option value="" selected[kind.is_empty()] { "all kinds" }
                    @for option in WorkItemKind::ALL {
                        option value=(option.as_str()) selected[kind.eq_ignore_ascii_case(option.as_str())] { (option.as_str()) }
                    }
                }
            }
            @if with_state {
                label { "State"
                    select name="state" {
                        @for (value, label) in [("open", "open"), ("done", "done"), ("all", "all")] {
                            option value=(value) selected[state == value] { (label) }
                        }
                        @for option in WorkItemState::ALL {
                            option value=(option.as_str()) selected[state == option.as_str()] { (option.as_str()) }
                        }
                    }
                }
                label { "Assignee" input type="text" name="assignee" value=(query.assignee.as_deref().unwrap_or_default()) maxlength="100"; }
            }
            button type="submit" { "Filter" }
        }
    }
}

fn items_table(items: &[WorkItem]) -> Markup {
    html! {
        table.list.work-items {
            thead { tr { th { "#" } th { "Kind" } th { "Title" } th { "State" } th { "Severity" } th { "Assignee" } th { "Occurrences" } th { "Updated" } } }
            tbody {
                @for item in items {
                    tr class=(format!("wi-row wi-{}", item.kind)) {
                        td { a href=(item_href(item.id)) { "#" (item.id) } }
                        td { (kind_badge(&item.kind)) }
                        td { a href=(item_href(item.id)) { (item.title) } }
                        td { (state_badge(&item.state)) }
                        td { (severity_badge(item.severity.as_deref())) }
                        td { (item.assignee.as_deref().unwrap_or_default()) }
                        td.num { (item.occurrences) }
                        td { (time_of(item.updated_at)) }
                    }
                }
            }
        }
    }
}

fn new_item_form(viewer: &Viewer, problem: Option<&str>, draft: &NewItemForm) -> Markup {
    html! {
        section.panel #new-work-item {
            h2 { "New work item" }
            (problem_note(problem))
            form.grid method="post" action="/work-items" {
                (csrf_field(viewer))
                label { "Kind"
                    select name="kind" {
                        @for kind in WorkItemKind::ALL {
                            option value=(kind.as_str()) selected[draft.kind == kind.as_str()] { (kind.as_str()) }
                        }
                    }
                }
                label { "Title" input type="text" name="title" required maxlength="500" value=(draft.title); }
                label { "Description" textarea name="description" rows="3" { (draft.description) } }
                label { "Severity"
                    select name="severity" {
                        option value="" { "none" }
                        @for severity in WorkItemSeverity::ALL {
                            option value=(severity.as_str()) selected[draft.severity == severity.as_str()] { (severity.as_str()) }
                        }
                    }
                }
                label { "Assignee" input type="text" name="assignee" maxlength="100" value=(draft.assignee); }
                label { "Environment" input type="text" name="environment" maxlength="256" value=(draft.environment); }
                button.primary type="submit" { "Open work item" }
            }
        }
    }
}

fn list_page(
    viewer: &Viewer,
    query: &ListQuery,
    items: &[WorkItem],
    next: Option<i64>,
    form: (Option<&str>, &NewItemForm),
) -> Markup {
    let incidents = query.kind.as_deref().is_some_and(|kind| kind.eq_ignore_ascii_case("incident"));
    html! {
        h1 { @if incidents { "Incidents" } @else { "Work items" } }
        p.meta {
            "Bugs, tasks and incidents. Failures on protected branches, failed deployments and rollbacks open them; "
            "a commit that says " code { "Fixes AB#123" } " or " code { "Fixes #123" } " resolves one when it reaches the default branch. "
            a href="/work-items/board" { "The board" } " · " a href="/work-items?kind=incident&state=open" { "Open incidents" }
        }
        (filter_form(query, "/work-items", true))
        @if items.is_empty() {
            p.empty { "No work items here." }
        } @else {
            (items_table(items))
        }
        @if let Some(next) = next {
            p { a href=(format!("/work-items?{}&before={next}", query.query_string())) { "Older items" } }
        }
        @if contributor(viewer) {
            (new_item_form(viewer, form.0, form.1))
        }
    }
}

async fn render_list(
    state: &AppState,
    viewer: &Viewer,
    query: &ListQuery,
    form: (Option<&str>, &NewItemForm),
) -> Result<Markup, UiError> {
    let listed = service::list(state, &viewer.caller(), &query.api()).await?;
    Ok(list_page(viewer, query, &listed.work_items, listed.next_before, form))
}

/// `GET /work-items` (reader): the items the filters select, newest first.
async fn list(
    State(state): State<AppState>,
    viewer: Viewer,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Response, UiError> {
    let Query(query) = query?;
    let body = render_list(&state, &viewer, &query, (None, &NewItemForm::default())).await?;
    Ok(page("Work items", Some(&viewer), &body).into_response())
}

/// `POST /work-items` (contributor): opens an item, as `POST /api/v1/work-items` does.
async fn create(
    State(state): State<AppState>,
    viewer: Viewer,
    form: Result<Form<NewItemForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Form(form) = form?;
    viewer.check_csrf(&form.csrf)?;
    let optional = |text: &str| Some(text.trim().to_owned()).filter(|text| !text.is_empty());
    let body = CreateWorkItem {
        kind: form.kind.clone(),
        title: form.title.clone(),
        description: form.description.trim().to_owned(),
        severity: optional(&form.severity),
        assignee: optional(&form.assignee),
        environment: optional(&form.environment),
        ..CreateWorkItem::default()
    };
    match service::create(&state, &viewer.caller(), &body).await {
        Ok(created) => Ok(Redirect::to(&item_href(created.work_item.id)).into_response()),
        Err(error) => {
            let (status, message) = refused(error)?;
            let body = render_list(&state, &viewer, &ListQuery::default(), (Some(&message), &form)).await?;
            Ok((status, page("Work items", Some(&viewer), &body)).into_response())
        }
    }
}

// ----- the board -----

/// `GET /work-items/board` (reader): the items in four columns by state, as cards.
async fn board(
    State(state): State<AppState>,
    viewer: Viewer,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Response, UiError> {
    let Query(query) = query?;
    let mut columns = Vec::with_capacity(WorkItemState::ALL.len());
    for column in WorkItemState::ALL {
        let api = WorkItemsQuery {
            kind: query.kind.clone().filter(|kind| !kind.is_empty()),
            state: Some(column.as_str().to_owned()),
            limit: Some(PER_PAGE),
            ..WorkItemsQuery::default()
        };
        let listed = service::list(&state, &viewer.caller(), &api).await?;
        columns.push((*column, listed.work_items, listed.next_before.is_some()));
    }
    let body = html! {
        h1 { "Board" }
        p.meta { a href="/work-items" { "The list" } " · newest first in each column; done columns show the latest " (PER_PAGE) "." }
        (filter_form(&query, "/work-items/board", false))
        div.wi-board {
            @for (column, items, more) in &columns {
                section class=(format!("wi-column wi-column-{column}")) {
                    h2 { (column_title(*column)) " " span.muted { "(" (items.len()) @if *more { "+" } ")" } }
                    @if items.is_empty() {
                        p.empty { "None." }
                    }
                    @for item in items {
                        article class=(format!("wi-card wi-{}", item.kind)) {
                            p.wi-card-title { a href=(item_href(item.id)) { "#" (item.id) " " (item.title) } }
                            p.wi-card-meta {
                                (kind_badge(&item.kind)) " " (severity_badge(item.severity.as_deref()))
                                @if let Some(assignee) = &item.assignee { " " span.wi-assignee { (assignee) } }
                                @if item.occurrences > 1 { " " span.wi-occurrences title="occurrences" { "×" (item.occurrences) } }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(page("Board", Some(&viewer), &body).into_response())
}

fn column_title(state: WorkItemState) -> &'static str {
    match state {
        WorkItemState::New => "New",
        WorkItemState::Active => "Active",
        WorkItemState::Resolved => "Resolved",
        WorkItemState::Closed => "Closed",
    }
}

// ----- one item -----

/// A link as shown: its words and, when it has one, the page it goes to.
struct ShownLink {
    kind: String,
    text: String,
    href: Option<String>,
    detail: Option<String>,
}

/// Where a link goes: runs, deployments (their environment's page and run), environments and
/// pipelines have pages; commits are shown by id.
async fn shown_link(state: &AppState, link: &WorkItemLink) -> ShownLink {
    let id = link.target.parse::<i64>().ok();
    let mut shown = ShownLink { kind: link.kind.clone(), text: link.target.clone(), href: None, detail: None };
    match (link.kind.as_str(), id) {
        ("run", Some(run)) => {
            shown.text = format!("run {run}");
            shown.href = Some(format!("/runs/{run}"));
        }
        ("deployment", Some(deployment)) => {
            shown.text = format!("deployment {deployment}");
            if let Ok(found) = state.store().deployment(DeploymentId(deployment)).await
                && let Ok(environment) = state.store().environment_by_id(found.environment).await
            {
                shown.href = Some(format!("/environments/{}#history", url_encode(&environment.name)));
                shown.detail =
                    Some(format!("to {} by {} #{}", environment.name, found.pipeline_name, found.run_number));
            }
        }
        ("pipeline", Some(pipeline)) => {
            if let Ok(found) = state.store().pipeline(PipelineId(pipeline)).await {
                shown.text = found.name.clone();
                shown.href = Some(format!("/pipelines/{}", url_encode(&found.name)));
            }
        }
        ("environment", _) => {
            shown.href = Some(format!("/environments/{}", url_encode(&link.target)));
        }
        ("commit", _) => {
            shown.text = short_commit(&link.target).to_owned();
            shown.detail = Some(link.target.clone());
        }
        _ => {}
    }
    shown
}

/// What the item page shows beside its forms, when the service refused one.
#[derive(Debug, Default)]
struct ItemDrafts {
    problem: Option<(&'static str, String)>,
    comment: String,
}

impl ItemDrafts {
    fn problem(&self, form: &str) -> Option<&str> {
        self.problem.as_ref().filter(|(kind, _)| *kind == form).map(|(_, message)| message.as_str())
    }
}

async fn render_item(
    state: &AppState,
    viewer: &Viewer,
    id: i64,
    drafts: &ItemDrafts,
) -> Result<(String, Markup), UiError> {
    let WorkItemDetails { work_item: item, links, comments } = service::get(state, &viewer.caller(), id).await?;
    let mut shown = Vec::with_capacity(links.len());
    for link in &links {
        shown.push(shown_link(state, link).await);
    }
    let about_pipeline = match item.pipeline {
        Some(pipeline) => state.store().pipeline(PipelineId(pipeline)).await.ok().map(|found| found.name),
        None => None,
    };
    let about_deployment = match item.deployment {
        Some(deployment) => Some(
            shown_link(
                state,
                &WorkItemLink { kind: "deployment".into(), target: deployment.to_string(), created_at: 0 },
            )
            .await,
        ),
        None => None,
    };
    let title = format!("#{} {}", item.id, item.title);
    let base = item_href(item.id);
    let body = html! {
        h1 class=(format!("wi-title wi-{}", item.kind)) {
            (kind_badge(&item.kind)) " " (state_badge(&item.state)) " " (severity_badge(item.severity.as_deref())) " "
            "#" (item.id) " " (item.title)
        }
        p.meta { a href="/work-items" { "Work items" } " · " a href="/work-items/board" { "Board" } }
        section.panel.wi-fields {
            dl.wi-fields {
                dt { "Kind" } dd { (item.kind) }
                dt { "State" } dd { (item.state) }
                dt { "Severity" } dd { (item.severity.as_deref().unwrap_or("—")) }
                dt { "Assignee" } dd { (item.assignee.as_deref().unwrap_or("nobody")) }
                dt { "Opened" } dd { (time_of(item.created_at)) " by " (item.created_by) }
                dt { "Updated" } dd { (time_of(item.updated_at)) }
                dt { "Occurrences" } dd.wi-occurrences { (item.occurrences) }
                @if let Some(resolved_at) = item.resolved_at {
                    dt { "Resolved" } dd { (time_of(resolved_at)) @if let Some(resolution) = item.resolution.as_deref().filter(|text| !text.is_empty()) { ": " (resolution) } }
                }
                @if let Some(environment) = &item.environment {
                    dt { "Environment" } dd { a href=(format!("/environments/{}", url_encode(environment))) { (environment) } }
                }
                @if let Some(name) = &about_pipeline {
                    dt { "Pipeline" } dd { a href=(format!("/pipelines/{}", url_encode(name))) { (name) } }
                }
                @if let Some(deployment) = &about_deployment {
                    dt { "Caused by" } dd { (link_markup(deployment)) }
                }
                @if let Some(key) = &item.dedup_key {
                    dt { "Key" } dd { code { (key) } }
                }
            }
            @if !item.description.is_empty() {
                div.wi-description { (item.description) }
            }
        }
        section #links {
            h2 { "Links" }
            @if shown.is_empty() {
                p.empty { "No links." }
            } @else {
                ul.wi-links {
                    @for link in &shown {
                        li { span.muted { (link.kind) " " } (link_markup(link)) }
                    }
                }
            }
            @if contributor(viewer) {
                (problem_note(drafts.problem("link")))
                form.inline.wi-link method="post" action=(format!("{base}/links")) {
                    (csrf_field(viewer))
                    label { "Link to"
                        select name="kind" {
                            @for kind in ["run", "commit", "deployment", "environment", "pipeline"] {
                                option value=(kind) { (kind) }
                            }
                        }
                    }
                    label { "Id or name" input type="text" name="target" required maxlength="256"; }
                    button type="submit" { "Add link" }
                }
            }
        }
        @if contributor(viewer) {
            section.panel #change {
                h2 { "Change" }
                (problem_note(drafts.problem("update")))
                form.inline.wi-update method="post" action=(format!("{base}/update")) {
                    (csrf_field(viewer))
                    label { "State"
                        select name="state" {
                            @for state in WorkItemState::ALL {
                                option value=(state.as_str()) selected[item.state == state.as_str()] { (state.as_str()) }
                            }
                        }
                    }
                    label { "Assignee" input type="text" name="assignee" maxlength="100" value=(item.assignee.as_deref().unwrap_or_default()); }
                    label { "Severity"
                        select name="severity" {
                            option value="" selected[item.severity.is_none()] { "none" }
                            @for severity in WorkItemSeverity::ALL {
                                option value=(severity.as_str()) selected[item.severity.as_deref() == Some(severity.as_str())] { (severity.as_str()) }
                            }
                        }
                    }
                    label { "Resolution" input type="text" name="resolution" maxlength="1000" placeholder="when resolving or closing"; }
                    button.primary type="submit" { "Save" }
                }
            }
        }
        section #comments {
            h2 { "Comments" }
            @if comments.is_empty() {
                p.empty { "No comments yet." }
            } @else {
                ol.wi-comments {
                    @for comment in &comments {
                        li {
                            p.wi-comment-meta { strong { (comment.author) } " · " (time_of(comment.at)) }
                            div.wi-comment-text { (comment.text) }
                        }
                    }
                }
            }
            @if contributor(viewer) {
                (problem_note(drafts.problem("comment")))
                form.grid.wi-comment method="post" action=(format!("{base}/comments")) {
                    (csrf_field(viewer))
                    label { "Comment" textarea name="text" rows="3" required { (drafts.comment) } }
                    button type="submit" { "Add comment" }
                }
            }
        }
    };
    Ok((title, body))
}

fn link_markup(link: &ShownLink) -> Markup {
    html! {
        @match &link.href {
            Some(href) => { a href=(href) { (link.text) } }
            None => { code title=(link.detail.clone().unwrap_or_default()) { (link.text) } }
        }
        @if link.href.is_some() { @if let Some(detail) = &link.detail { " " span.muted { (detail) } } }
    }
}

async fn item_page(
    state: &AppState,
    viewer: &Viewer,
    id: i64,
    drafts: &ItemDrafts,
    status: StatusCode,
) -> Result<Response, UiError> {
    let (title, body) = render_item(state, viewer, id, drafts).await?;
    Ok((status, page(&title, Some(viewer), &body)).into_response())
}

/// `GET /work-items/{id}` (reader): one item with its links and comments.
async fn show(
    State(state): State<AppState>,
    viewer: Viewer,
    id: Result<Path<i64>, PathRejection>,
) -> Result<Response, UiError> {
    let Path(id) = id?;
    item_page(&state, &viewer, id, &ItemDrafts::default(), StatusCode::OK).await
}

/// The "Change" form.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct UpdateForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    assignee: String,
    #[serde(default)]
    severity: String,
    #[serde(default)]
    resolution: String,
}

/// Shows the item page again with the service's words beside the refused form, or the error
/// itself when it is not about what was typed.
async fn refused_form(
    state: &AppState,
    viewer: &Viewer,
    id: i64,
    error: slipway_service::ServiceError,
    form: &'static str,
    comment: String,
) -> Result<Response, UiError> {
    let (status, message) = refused(error)?;
    let drafts = ItemDrafts { problem: Some((form, message)), comment };
    item_page(state, viewer, id, &drafts, status).await
}

/// `POST /work-items/{id}/update` (contributor): changes its state, assignee and severity, as
/// `PATCH /api/v1/work-items/{id}` does.
async fn update(
    State(state): State<AppState>,
    viewer: Viewer,
    id: Result<Path<i64>, PathRejection>,
    form: Result<Form<UpdateForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Path(id) = id?;
    let Form(form) = form?;
    viewer.check_csrf(&form.csrf)?;
    let body = UpdateWorkItem {
        state: Some(form.state.clone()).filter(|state| !state.is_empty()),
        assignee: Some(form.assignee.trim().to_owned()),
        severity: Some(form.severity.trim().to_owned()),
        resolution: Some(form.resolution.trim().to_owned()).filter(|resolution| !resolution.is_empty()),
        ..UpdateWorkItem::default()
    };
    match service::update(&state, &viewer.caller(), id, &body).await {
        Ok(_) => Ok(Redirect::to(&item_href(id)).into_response()),
        Err(error) => refused_form(&state, &viewer, id, error, "update", String::new()).await,
    }
}

/// The "Comment" form.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct CommentForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    text: String,
}

/// `POST /work-items/{id}/comments` (contributor): adds a comment.
async fn comment(
    State(state): State<AppState>,
    viewer: Viewer,
    id: Result<Path<i64>, PathRejection>,
    form: Result<Form<CommentForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Path(id) = id?;
    let Form(form) = form?;
    viewer.check_csrf(&form.csrf)?;
    match service::add_comment(&state, &viewer.caller(), id, &AddWorkItemComment { text: form.text.clone() }).await {
        Ok(_) => Ok(Redirect::to(&format!("{}#comments", item_href(id))).into_response()),
        Err(error) => refused_form(&state, &viewer, id, error, "comment", form.text).await,
    }
}

/// The "Add link" form.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct LinkForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    target: String,
}

/// `POST /work-items/{id}/links` (contributor): links the item to a run, commit, deployment,
/// environment or pipeline.
async fn link(
    State(state): State<AppState>,
    viewer: Viewer,
    id: Result<Path<i64>, PathRejection>,
    form: Result<Form<LinkForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Path(id) = id?;
    let Form(form) = form?;
    viewer.check_csrf(&form.csrf)?;
    let body = AddWorkItemLinks { links: vec![NewWorkItemLink { kind: form.kind, target: form.target }] };
    match service::add_links(&state, &viewer.caller(), id, &body).await {
        Ok(_) => Ok(Redirect::to(&format!("{}#links", item_href(id))).into_response()),
        Err(error) => refused_form(&state, &viewer, id, error, "link", String::new()).await,
    }
}
