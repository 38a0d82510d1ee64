//! Work items and incidents as people change and read them: who may (readers read; contributors
//! open items, change them, comment and link) and what the audit log records. Every mistake is a
//! 400 naming the field; what a field names (an assignee, an environment, a pipeline, a
//! deployment, a run) must exist.
//!
//! Automation (items opened, bumped and resolved on failures, deployments and commit
//! references) writes through the store directly; see docs/work-items.md.

use slipway_api as api;
use slipway_store::{
    self as store, DeploymentId, NewWorkItem, NewWorkItemLink, PipelineId, RunId, Timestamp, UserRole, WorkItemFilter,
    WorkItemId, WorkItemKind, WorkItemLinkKind, WorkItemSeverity, WorkItemState, WorkItemStates, WorkItemUpdate,
};

use crate::AppState;
use crate::caller::Caller;
use crate::error::ServiceError;

/// A work item for the API.
#[must_use]
pub fn work_item(item: &store::WorkItem) -> api::WorkItem {
    api::WorkItem {
        id: item.id.get(),
        kind: item.kind.as_str().to_owned(),
        title: item.title.clone(),
        description: item.description.clone(),
        state: item.state.as_str().to_owned(),
        severity: item.severity.map(|severity| severity.as_str().to_owned()),
        assignee: item.assignee.clone(),
        created_by: item.created_by.clone(),
        created_at: item.created_at.millis(),
        updated_at: item.updated_at.millis(),
        resolved_at: item.resolved_at.map(Timestamp::millis),
        resolution: item.resolution.clone(),
        dedup_key: item.dedup_key.clone(),
        occurrences: item.occurrences,
        pipeline: item.pipeline.map(PipelineId::get),
        environment: item.environment.clone(),
        deployment: item.deployment.map(DeploymentId::get),
    }
}

fn link(link: &store::WorkItemLink) -> api::WorkItemLink {
    api::WorkItemLink {
        kind: link.kind.as_str().to_owned(),
        target: link.target.clone(),
        created_at: link.created_at.millis(),
    }
}

fn comment(comment: &store::WorkItemComment) -> api::WorkItemComment {
    api::WorkItemComment {
        id: comment.id,
        at: comment.at.millis(),
        author: comment.author.clone(),
        text: comment.text.clone(),
    }
}

/// The names of `values`, for messages: `bug, task or incident`.
fn choices<T: Copy>(values: &[T], name: fn(T) -> &'static str) -> String {
    let names: Vec<&str> = values.iter().map(|value| name(*value)).collect();
    match names.split_last() {
        Some((last, [])) => (*last).to_owned(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    }
}

/// Parses a kind given by a person.
///
/// # Errors
/// A 400 naming the field and the kinds.
pub fn parse_kind(text: &str) -> Result<WorkItemKind, ServiceError> {
    WorkItemKind::parse(text).ok_or_else(|| {
        ServiceError::bad_request(format!(
            "kind: '{text}' is not a work item kind; use {}",
            choices(WorkItemKind::ALL, WorkItemKind::as_str)
        ))
    })
}

/// Parses a state given by a person.
///
/// # Errors
/// A 400 naming the field and the states.
pub fn parse_state(text: &str) -> Result<WorkItemState, ServiceError> {
    WorkItemState::parse(text).ok_or_else(|| {
        ServiceError::bad_request(format!(
            "state: '{text}' is not a work item state; use {}",
            choices(WorkItemState::ALL, WorkItemState::as_str)
        ))
    })
}

/// Parses a severity given by a person.
///
/// # Errors
/// A 400 naming the field and the severities.
pub fn parse_severity(text: &str) -> Result<WorkItemSeverity, ServiceError> {
    WorkItemSeverity::parse(text).ok_or_else(|| {
        ServiceError::bad_request(format!(
            "severity: '{text}' is not a severity; use {}",
            choices(WorkItemSeverity::ALL, WorkItemSeverity::as_str)
        ))
    })
}

/// Parses the states a list selects: a state, `open` or `done`.
///
/// # Errors
/// A 400 naming the field and the choices.
pub fn parse_states(text: &str) -> Result<WorkItemStates, ServiceError> {
    match text.trim().to_ascii_lowercase().as_str() {
        "open" => Ok(WorkItemStates::Open),
        "done" => Ok(WorkItemStates::Done),
        _ => WorkItemState::parse(text).map(WorkItemStates::Is).ok_or_else(|| {
            let mut names: Vec<&str> = WorkItemState::ALL.iter().map(|state| state.as_str()).collect();
            names.push("open");
            ServiceError::bad_request(format!(
                "state: '{text}' is not a work item state; use {} or done",
                names.join(", ")
            ))
        }),
    }
}

/// The id of a work item, as given in a path.
fn item_id(id: i64) -> Result<WorkItemId, ServiceError> {
    if id <= 0 {
        return Err(ServiceError::NotFound(format!("work item '{id}' does not exist")));
    }
    Ok(WorkItemId(id))
}

/// Checks that a user of that name exists (an assignee), giving the name as stored.
async fn existing_user(state: &AppState, name: &str) -> Result<String, ServiceError> {
    let name = name.trim();
    match state.store().user_by_name(name).await? {
        Some(user) => Ok(user.name),
        None => Err(ServiceError::bad_request(format!("assignee: there is no user '{name}'"))),
    }
}

/// Turns a missing thing a field names into a 400 naming the field.
fn named_by(field: &'static str) -> impl FnOnce(store::StoreError) -> ServiceError {
    move |error| {
        if error.is_not_found() {
            ServiceError::bad_request(format!("{field}: {error}"))
        } else {
            ServiceError::from(error)
        }
    }
}

/// Checks a link given by a person: its kind, and that what it points at exists (a commit's
/// id must be 7 to 64 hexadecimal digits). Gives the link as stored.
async fn checked_link(state: &AppState, given: &api::NewWorkItemLink) -> Result<NewWorkItemLink, ServiceError> {
    let kind = WorkItemLinkKind::parse(&given.kind).ok_or_else(|| {
        ServiceError::bad_request(format!(
            "link kind: '{}' is not one; use {}",
            given.kind,
            choices(WorkItemLinkKind::ALL, WorkItemLinkKind::as_str)
        ))
    })?;
    let target = given.target.trim();
    let id =
        || {
            target.parse::<i64>().ok().filter(|id| *id > 0).ok_or_else(|| {
                ServiceError::bad_request(format!("link target: a {kind} link needs an id, not '{target}'"))
            })
        };
    Ok(match kind {
        WorkItemLinkKind::Run => {
            let run = RunId(id()?);
            state.store().run(run).await.map_err(named_by("link target"))?;
            NewWorkItemLink::run(run)
        }
        WorkItemLinkKind::Deployment => {
            let deployment = DeploymentId(id()?);
            state.store().deployment(deployment).await.map_err(named_by("link target"))?;
            NewWorkItemLink::deployment(deployment)
        }
        WorkItemLinkKind::Pipeline => {
            let pipeline = PipelineId(id()?);
            state.store().pipeline(pipeline).await.map_err(named_by("link target"))?;
            NewWorkItemLink::pipeline(pipeline)
        }
        WorkItemLinkKind::Environment => {
            let environment = state.store().environment(target).await.map_err(named_by("link target"))?;
            NewWorkItemLink::environment(&environment.name)
        }
        WorkItemLinkKind::Commit => {
            if !(7..=64).contains(&target.len()) || !target.chars().all(|character| character.is_ascii_hexdigit()) {
                return Err(ServiceError::bad_request(format!(
                    "link target: '{target}' is not a commit id (7 to 64 hexadecimal digits)"
                )));
            }
            NewWorkItemLink::commit(target)
        }
    })
}

async fn checked_links(state: &AppState, given: &[api::NewWorkItemLink]) -> Result<Vec<NewWorkItemLink>, ServiceError> {
    if given.len() > 100 {
        return Err(ServiceError::bad_request("links: at most 100 at a time"));
    }
    let mut links = Vec::with_capacity(given.len());
    for link in given {
        links.push(checked_link(state, link).await?);
    }
    Ok(links)
}

/// The work items the query selects, newest first (reader).
///
/// # Errors
/// 400 for a bad filter; 403 without the reader role (never: every user is one).
pub async fn list(
    state: &AppState,
    caller: &Caller,
    query: &api::WorkItemsQuery,
) -> Result<api::WorkItemPage, ServiceError> {
    caller.require(UserRole::Reader)?;
    let limit = query.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(ServiceError::bad_request(format!("limit: {limit} is not between 1 and 500")));
    }
    let filter = WorkItemFilter {
        kind: query.kind.as_deref().filter(|kind| !kind.is_empty()).map(parse_kind).transpose()?,
        states: query.state.as_deref().filter(|states| !states.is_empty()).map(parse_states).transpose()?,
        assignee: query.assignee.clone().filter(|assignee| !assignee.is_empty()),
        environment: query.environment.clone().filter(|environment| !environment.is_empty()),
        pipeline: query.pipeline.map(PipelineId),
        before: query.before.map(WorkItemId),
        limit,
    };
    let items = state.store().list_work_items(&filter).await?;
    let next_before = (items.len() == usize::try_from(limit).unwrap_or(usize::MAX))
        .then(|| items.last().map(|item| item.id.get()))
        .flatten();
    Ok(api::WorkItemPage { work_items: items.iter().map(work_item).collect(), next_before })
}

/// A work item with its links and comments (reader).
///
/// # Errors
/// 404 when there is none.
pub async fn get(state: &AppState, caller: &Caller, id: i64) -> Result<api::WorkItemDetails, ServiceError> {
    caller.require(UserRole::Reader)?;
    details(state, item_id(id)?).await
}

async fn details(state: &AppState, id: WorkItemId) -> Result<api::WorkItemDetails, ServiceError> {
    let item = state.store().work_item(id).await?;
    let links = state.store().work_item_links(id).await?;
    let comments = state.store().work_item_comments(id).await?;
    Ok(api::WorkItemDetails {
        work_item: work_item(&item),
        links: links.iter().map(link).collect(),
        comments: comments.iter().map(comment).collect(),
    })
}

/// Opens a work item by hand (contributor), with its links.
///
/// # Errors
/// 400 naming a bad field (an unknown kind or severity, a blank title, an assignee,
/// environment, pipeline, deployment or link target that does not exist); 403 for a reader.
pub async fn create(
    state: &AppState,
    caller: &Caller,
    body: &api::CreateWorkItem,
) -> Result<api::WorkItemDetails, ServiceError> {
    caller.require(UserRole::Contributor)?;
    let kind = parse_kind(&body.kind)?;
    let severity = body.severity.as_deref().filter(|severity| !severity.is_empty()).map(parse_severity).transpose()?;
    let assignee = match body.assignee.as_deref().filter(|assignee| !assignee.trim().is_empty()) {
        Some(name) => Some(existing_user(state, name).await?),
        None => None,
    };
    let environment = match body.environment.as_deref().filter(|environment| !environment.trim().is_empty()) {
        Some(name) => Some(state.store().environment(name).await.map_err(named_by("environment"))?.name),
        None => None,
    };
    let pipeline = match body.pipeline {
        Some(id) => Some(state.store().pipeline(PipelineId(id)).await.map_err(named_by("pipeline"))?.id),
        None => None,
    };
    let deployment = match body.deployment {
        Some(id) => Some(state.store().deployment(DeploymentId(id)).await.map_err(named_by("deployment"))?.id),
        None => None,
    };
    let links = checked_links(state, &body.links).await?;
    let new = NewWorkItem {
        kind,
        title: body.title.clone(),
        description: body.description.clone(),
        severity,
        assignee,
        created_by: caller.user.name.clone(),
        dedup_key: None,
        pipeline,
        environment,
        deployment,
    };
    let item = state.store().create_work_item(&new, &links).await?;
    tracing::info!(id = item.id.get(), kind = %item.kind, by = %caller.user.name, "work item opened");
    crate::audit::record(
        state,
        caller,
        "workItem.create",
        format!("work item {}", item.id),
        serde_json::json!({ "kind": item.kind.as_str(), "title": item.title }),
    )
    .await;
    details(state, item.id).await
}

/// Changes a work item's state, assignee, title, description or severity (contributor).
/// Resolving or closing sets when and how; reopening clears both.
///
/// # Errors
/// 400 naming a bad field; 404 when there is no such item; 409 when reopening an automatically
/// opened item while another about the same failure is open; 403 for a reader.
pub async fn update(
    state: &AppState,
    caller: &Caller,
    id: i64,
    body: &api::UpdateWorkItem,
) -> Result<api::WorkItemDetails, ServiceError> {
    caller.require(UserRole::Contributor)?;
    let id = item_id(id)?;
    let assignee = match body.assignee.as_deref().map(str::trim) {
        None => None,
        Some("") => Some(None),
        Some(name) => Some(Some(existing_user(state, name).await?)),
    };
    let update = WorkItemUpdate {
        state: body.state.as_deref().map(parse_state).transpose()?,
        assignee,
        title: body.title.clone(),
        description: body.description.clone(),
        severity: match body.severity.as_deref().map(str::trim) {
            None => None,
            Some("") => Some(None),
            Some(severity) => Some(Some(parse_severity(severity)?)),
        },
        resolution: body.resolution.clone(),
    };
    if update.is_empty() {
        return Err(ServiceError::bad_request(
            "nothing to change: give a state, assignee, title, description, severity or resolution",
        ));
    }
    let item = state.store().update_work_item(id, &update, &caller.user.name).await?;
    crate::audit::record(
        state,
        caller,
        "workItem.update",
        format!("work item {id}"),
        serde_json::json!({
            "state": body.state,
            "assignee": body.assignee,
            "title": body.title,
            "severity": body.severity,
            "descriptionChanged": body.description.is_some(),
        }),
    )
    .await;
    tracing::info!(id = id.get(), state = %item.state, by = %caller.user.name, "work item changed");
    details(state, id).await
}

/// Adds a comment to a work item (contributor).
///
/// # Errors
/// 400 for a blank text; 404 when there is no such item; 403 for a reader.
pub async fn add_comment(
    state: &AppState,
    caller: &Caller,
    id: i64,
    body: &api::AddWorkItemComment,
) -> Result<api::WorkItemComment, ServiceError> {
    caller.require(UserRole::Contributor)?;
    let id = item_id(id)?;
    let added = state.store().add_work_item_comment(id, &caller.user.name, &body.text).await?;
    crate::audit::record(
        state,
        caller,
        "workItem.comment",
        format!("work item {id}"),
        serde_json::json!({ "comment": added.id }),
    )
    .await;
    Ok(comment(&added))
}

/// Links a work item to runs, commits, deployments, environments or pipelines (contributor);
/// links it has already are left as they are.
///
/// # Errors
/// 400 for a bad kind or a target that does not exist; 404 when there is no such item; 403 for a
/// reader.
pub async fn add_links(
    state: &AppState,
    caller: &Caller,
    id: i64,
    body: &api::AddWorkItemLinks,
) -> Result<api::WorkItemDetails, ServiceError> {
    caller.require(UserRole::Contributor)?;
    let id = item_id(id)?;
    if body.links.is_empty() {
        return Err(ServiceError::bad_request("links: give at least one"));
    }
    let links = checked_links(state, &body.links).await?;
    let added = state.store().add_work_item_links(id, &links, &caller.user.name).await?;
    if added > 0 {
        let targets: Vec<String> = links.iter().map(|link| format!("{}:{}", link.kind, link.target)).collect();
        crate::audit::record(
            state,
            caller,
            "workItem.link",
            format!("work item {id}"),
            serde_json::json!({ "links": targets }),
        )
        .await;
    }
    details(state, id).await
}

/// A pipeline's work-item rules for the API.
fn rules_for_api(pipeline: &str, stored: store::StoredWorkItemRules) -> api::WorkItemRules {
    let (updated_by, updated_at) = stored.updated.map_or((None, None), |(by, at)| (Some(by), Some(at.millis())));
    api::WorkItemRules {
        pipeline: pipeline.to_owned(),
        failures: stored.rules.failures,
        branches: stored.rules.branches,
        security: stored.rules.security.as_str().to_owned(),
        incidents: stored.rules.incidents,
        assignee: stored.rules.assignee,
        updated_by,
        updated_at,
    }
}

/// The pipeline named `name`, or a 404.
async fn pipeline_named(state: &AppState, name: &str) -> Result<store::Pipeline, ServiceError> {
    state
        .store()
        .pipeline_by_name(name)
        .await?
        .ok_or_else(|| ServiceError::NotFound(format!("no pipeline named '{name}'")))
}

/// Pipeline `name`'s rules for the work items its runs open (reader).
///
/// # Errors
/// 404 when there is no such pipeline; 403 without a role.
pub async fn rules(state: &AppState, caller: &Caller, name: &str) -> Result<api::WorkItemRules, ServiceError> {
    caller.require(UserRole::Reader)?;
    let pipeline = pipeline_named(state, name).await?;
    let stored = state.store().work_item_rules(pipeline.id).await?;
    Ok(rules_for_api(&pipeline.name, stored))
}

/// Changes pipeline `name`'s work-item rules (admin); fields left out stay as they are.
///
/// # Errors
/// 400 naming a bad field (an unknown threshold, a blank branch pattern, an assignee who is no
/// user); 404 when there is no such pipeline; 403 for anyone but an admin.
pub async fn update_rules(
    state: &AppState,
    caller: &Caller,
    name: &str,
    body: &api::UpdateWorkItemRules,
) -> Result<api::WorkItemRules, ServiceError> {
    caller.require(UserRole::Admin)?;
    let pipeline = pipeline_named(state, name).await?;
    let mut rules = state.store().work_item_rules(pipeline.id).await?.rules;
    if let Some(failures) = body.failures {
        rules.failures = failures;
    }
    if let Some(branches) = &body.branches {
        rules.branches = branches.iter().map(|branch| branch.trim().to_owned()).collect();
    }
    if let Some(security) = body.security.as_deref() {
        rules.security = store::SecurityThreshold::parse(security).ok_or_else(|| {
            ServiceError::bad_request(format!(
                "security: '{security}' is not a threshold; use {}",
                choices(store::SecurityThreshold::ALL, store::SecurityThreshold::as_str)
            ))
        })?;
    }
    if let Some(incidents) = body.incidents {
        rules.incidents = incidents;
    }
    match body.assignee.as_deref().map(str::trim) {
        None => {}
        Some("") => rules.assignee = None,
        Some(assignee) => rules.assignee = Some(existing_user(state, assignee).await?),
    }
    let stored = state.store().set_work_item_rules(pipeline.id, &rules, &caller.user.name).await?;
    crate::audit::record(
        state,
        caller,
        "pipeline.workItemRules",
        format!("pipeline {}", pipeline.name),
        serde_json::json!({
            "failures": rules.failures,
            "branches": rules.branches,
            "security": rules.security.as_str(),
            "incidents": rules.incidents,
            "assignee": rules.assignee,
        }),
    )
    .await;
    tracing::info!(pipeline = %pipeline.name, by = %caller.user.name, "work-item rules changed");
    Ok(rules_for_api(&pipeline.name, stored))
}

#[cfg(test)]
mod tests {
    use super::{parse_kind, parse_severity, parse_state, parse_states};
    use slipway_store::{WorkItemKind, WorkItemState, WorkItemStates};

    #[test]
    fn names_parse_and_mistakes_name_the_field_and_the_choices() -> Result<(), Box<dyn std::error::Error>> {
        assert_eq!(parse_kind("Incident")?, WorkItemKind::Incident);
        assert_eq!(parse_states("open")?, WorkItemStates::Open);
        assert_eq!(parse_states("done")?, WorkItemStates::Done);
        assert_eq!(parse_states("active")?, WorkItemStates::Is(WorkItemState::Active));
        let error = parse_kind("epic").err().ok_or("epic is no kind")?;
        assert_eq!(error.to_string(), "kind: 'epic' is not a work item kind; use bug, task or incident");
        let error = parse_state("open").err().ok_or("open is no state to set")?;
        assert_eq!(error.to_string(), "state: 'open' is not a work item state; use new, active, resolved or closed");
        let error = parse_severity("urgent").err().ok_or("urgent is no severity")?;
        assert_eq!(error.to_string(), "severity: 'urgent' is not a severity; use critical, high, medium or low");
        Ok(())
    }
}
