//! Environments, their checks and deployments, runs' checkpoints and approvals, as people change
//! and read them (checks on any protected resource: environments, variable groups, agent pools):
//! who may (readers read; admins change environments and checks; an
//! approval's approvers decide it) and what the audit log records.

use std::collections::HashMap;

use slipway_api as api;
use slipway_environments::approvals::{self, DecideError, Decision};
use slipway_environments::checks::{CheckSettings, DEFAULT_TIMEOUT_MINUTES, MAX_TIMEOUT_MINUTES};
use slipway_store::{self as store, CheckRunId, CheckRunState, EnvironmentId, RunId, Timestamp, UserRole};

use crate::AppState;
use crate::caller::Caller;
use crate::error::ServiceError;

/// An environment for the API.
#[must_use]
pub fn environment(environment: &store::Environment) -> api::Environment {
    api::Environment {
        id: environment.id.get(),
        name: environment.name.clone(),
        description: environment.description.clone(),
        created_by: environment.created_by.clone(),
        created_at: environment.created_at.millis(),
        updated_at: environment.updated_at.millis(),
    }
}

/// A deployment for the API, in `environment` (its name).
pub(crate) fn deployment(deployment: &store::Deployment, environment: &str) -> api::Deployment {
    api::Deployment {
        id: deployment.id.get(),
        environment: environment.to_owned(),
        resource: deployment.resource.clone(),
        pipeline: deployment.pipeline.get(),
        pipeline_name: deployment.pipeline_name.clone(),
        run: deployment.run.get(),
        run_number: deployment.run_number.clone(),
        job: deployment.job.get(),
        stage: deployment.stage.clone(),
        job_name: deployment.job_name.clone(),
        strategy: deployment.strategy.clone(),
        commit: deployment.commit.clone(),
        branch: deployment.branch.clone(),
        triggered_by: deployment.triggered_by.clone(),
        queued_at: deployment.queued_at.millis(),
        started_at: deployment.started_at.map(Timestamp::millis),
        finished_at: deployment.finished_at.map(Timestamp::millis),
        result: deployment.result.map(|result| result.as_str().to_owned()),
        artifacts: deployment.artifacts.clone(),
        changes: deployment.changes.as_ref().map(|changes| {
            changes
                .iter()
                .map(|change| api::Change {
                    commit: change.commit.clone(),
                    message: change.message.clone(),
                    author: change.author.clone(),
                    time: change.time.map(Timestamp::millis),
                })
                .collect()
        }),
        outcome: deployment.outcome.clone(),
        outcome_detail: deployment.outcome_detail.clone(),
        analysis_run: deployment.analysis_run.map(|id| id.get()),
    }
}

fn check(check: &store::Check, name: &str) -> api::Check {
    api::Check {
        id: check.id.get(),
        resource_type: check.resource.kind().to_owned(),
        resource: name.to_owned(),
        kind: check.kind.clone(),
        settings: check.settings.clone(),
        timeout_minutes: check.timeout_minutes,
        created_by: check.created_by.clone(),
        created_at: check.created_at.millis(),
    }
}

fn decision(decision: &store::ApprovalDecision) -> api::ApprovalDecision {
    api::ApprovalDecision {
        user: decision.user.clone(),
        status: decision.status.clone(),
        comment: decision.comment.clone(),
        decided_at: decision.decided_at.millis(),
        effective_at: decision.effective_at.millis(),
    }
}

/// A checkpoint's check for the API.
#[must_use]
pub fn check_run(check: &store::CheckRun) -> api::CheckRun {
    api::CheckRun {
        id: check.id.get(),
        resource_type: check.resource.kind().to_owned(),
        resource: check.resource_name.clone(),
        kind: check.kind.clone(),
        settings: check.settings.clone(),
        timeout_minutes: check.timeout_minutes,
        state: check.state.as_str().to_owned(),
        message: check.message.clone(),
        created_at: check.created_at.millis(),
        finished_at: check.finished_at.map(Timestamp::millis),
        decisions: check.decisions.iter().map(decision).collect(),
    }
}

/// A checkpoint for the API.
#[must_use]
pub fn checkpoint(checkpoint: &store::Checkpoint) -> api::Checkpoint {
    api::Checkpoint {
        id: checkpoint.id.get(),
        stage: checkpoint.stage.clone(),
        state: checkpoint.state.as_str().to_owned(),
        message: checkpoint.message.clone(),
        created_at: checkpoint.created_at.millis(),
        finished_at: checkpoint.finished_at.map(Timestamp::millis),
        checks: checkpoint.checks.iter().map(check_run).collect(),
    }
}

/// Why a waiting stage waits, in one line: its pending checks with what they found, and how
/// to approve.
#[must_use]
pub fn waiting_reason(checkpoint: &store::Checkpoint) -> String {
    let pending: Vec<String> = checkpoint
        .checks
        .iter()
        .filter(|check| check.state == CheckRunState::Pending)
        .map(|check| {
            let found = check.message.as_deref().map_or_else(String::new, |message| format!(": {message}"));
            let how = if check.kind == "approval" {
                format!(" (`slipway approvals approve {}`)", check.id.get())
            } else {
                String::new()
            };
            format!("{} on {} '{}'{found}{how}", check.kind, check.resource.kind_label(), check.resource_name)
        })
        .collect();
    if pending.is_empty() {
        "the stage is about to start: its checks are being evaluated".to_owned()
    } else {
        format!("the stage waits for its checks: {}", pending.join("; "))
    }
}

/// An approval for the API.
#[must_use]
pub fn approval(approval: &store::Approval) -> api::Approval {
    let settings = match CheckSettings::parse(&approval.check.kind, &approval.check.settings) {
        Ok(CheckSettings::Approval(settings)) => Some(settings),
        _ => None,
    };
    let required = settings.as_ref().map_or(0, |settings| u32::try_from(settings.required()).unwrap_or(u32::MAX));
    api::Approval {
        id: approval.check.id.get(),
        state: approval.check.state.as_str().to_owned(),
        resource_type: approval.check.resource.kind().to_owned(),
        resource: approval.check.resource_name.clone(),
        pipeline: approval.pipeline.get(),
        pipeline_name: approval.pipeline_name.clone(),
        run: approval.run.get(),
        run_number: approval.run_number.clone(),
        requested_by: approval.requested_by.clone(),
        stage: approval.stage.clone(),
        approvers: settings.as_ref().map(|settings| settings.approvers.clone()).unwrap_or_default(),
        min_required_approvers: required,
        requester_cannot_be_approver: settings.as_ref().is_some_and(|settings| settings.requester_cannot_be_approver),
        instructions: settings.map(|settings| settings.instructions).unwrap_or_default(),
        created_at: approval.check.created_at.millis(),
        timeout_at: approval
            .check
            .created_at
            .millis()
            .saturating_add(i64::from(approval.check.timeout_minutes).saturating_mul(60_000)),
        message: approval.check.message.clone(),
        decisions: approval.check.decisions.iter().map(decision).collect(),
    }
}

/// The environment named `name`, or a 404 saying how to list them.
pub(crate) async fn find(state: &AppState, name: &str) -> Result<store::Environment, ServiceError> {
    state.store().environment(name).await.map_err(|error| match error {
        store::StoreError::NotFound { .. } => ServiceError::NotFound(format!(
            "there is no environment named '{name}'; `slipway environments list` shows them (a deployment job's first use creates one)"
        )),
        other => other.into(),
    })
}

/// Every environment (reader).
///
/// # Errors
/// When the caller may not read, or the store fails.
pub async fn list(state: &AppState, caller: &Caller) -> Result<Vec<api::Environment>, ServiceError> {
    caller.require(UserRole::Reader)?;
    Ok(state.store().list_environments().await?.iter().map(environment).collect())
}

/// One environment (reader).
///
/// # Errors
/// When there is none of that name.
pub async fn show(state: &AppState, caller: &Caller, name: &str) -> Result<api::Environment, ServiceError> {
    caller.require(UserRole::Reader)?;
    Ok(environment(&find(state, name).await?))
}

/// Creates an environment (admin; audited).
///
/// # Errors
/// When the caller is no admin, the name is taken or not valid.
pub async fn create(
    state: &AppState,
    caller: &Caller,
    body: &api::CreateEnvironment,
) -> Result<api::Environment, ServiceError> {
    caller.require(UserRole::Admin)?;
    let created =
        state.store().create_environment(&body.name, &body.description, Some(&caller.user.name)).await.map_err(
            |error| match error {
                store::StoreError::Conflict { .. } => {
                    ServiceError::Conflict(format!("an environment named '{}' exists already", body.name.trim()))
                }
                other => other.into(),
            },
        )?;
    crate::audit::record(
        state,
        caller,
        "environment.create",
        created.name.clone(),
        serde_json::json!({ "description": created.description }),
    )
    .await;
    Ok(environment(&created))
}

/// Renames an environment or changes its description (admin; audited).
///
/// # Errors
/// When the caller is no admin, there is no such environment, or the new name is taken.
pub async fn update(
    state: &AppState,
    caller: &Caller,
    name: &str,
    body: &api::UpdateEnvironment,
) -> Result<api::Environment, ServiceError> {
    caller.require(UserRole::Admin)?;
    if body.name.is_none() && body.description.is_none() {
        return Err(ServiceError::bad_request("give a new 'name', a new 'description', or both"));
    }
    let found = find(state, name).await?;
    let updated =
        state.store().update_environment(found.id, body.name.as_deref(), body.description.as_deref()).await.map_err(
            |error| match error {
                store::StoreError::Conflict { .. } => ServiceError::Conflict(format!(
                    "an environment named '{}' exists already",
                    body.name.as_deref().unwrap_or_default().trim()
                )),
                other => other.into(),
            },
        )?;
    crate::audit::record(
        state,
        caller,
        "environment.update",
        found.name.clone(),
        serde_json::json!({ "name": updated.name, "description": updated.description }),
    )
    .await;
    Ok(environment(&updated))
}

/// Deletes an environment with its checks and history (admin; audited).
///
/// # Errors
/// When the caller is no admin or there is no such environment.
pub async fn delete(state: &AppState, caller: &Caller, name: &str) -> Result<(), ServiceError> {
    caller.require(UserRole::Admin)?;
    let found = find(state, name).await?;
    state.store().delete_environment(found.id).await?;
    crate::audit::record(state, caller, "environment.delete", found.name.clone(), serde_json::json!({})).await;
    Ok(())
}

/// How many deployments a page holds at most.
const DEPLOYMENTS_PAGE: i64 = 100;

/// An environment's deployments, newest first, and what runs where (reader).
///
/// # Errors
/// When there is no such environment.
pub async fn deployments(
    state: &AppState,
    caller: &Caller,
    name: &str,
    before: Option<i64>,
    limit: Option<i64>,
) -> Result<api::DeploymentList, ServiceError> {
    caller.require(UserRole::Reader)?;
    let found = find(state, name).await?;
    let limit = limit.unwrap_or(DEPLOYMENTS_PAGE);
    if !(1..=1000).contains(&limit) {
        return Err(ServiceError::bad_request(format!("'limit' is {limit}; it must be between 1 and 1000")));
    }
    let store = state.store();
    let listed = store.list_deployments(found.id, before.map(store::DeploymentId), limit).await?;
    Ok(api::DeploymentList {
        deployments: listed.iter().map(|item| deployment(item, &found.name)).collect(),
        current: current(state, found.id, &found.name).await?,
    })
}

/// What runs where in an environment: per resource, the last successful deployment and the one
/// before it.
async fn current(
    state: &AppState,
    environment: EnvironmentId,
    name: &str,
) -> Result<Vec<api::CurrentDeployment>, ServiceError> {
    let successful = state.store().successful_deployments(environment, 2000).await?;
    let mut by_resource: HashMap<Option<String>, Vec<&store::Deployment>> = HashMap::new();
    let mut order: Vec<Option<String>> = Vec::new();
    for item in &successful {
        let key = item.resource.as_ref().map(|resource| resource.to_lowercase());
        let entry = by_resource.entry(key.clone()).or_default();
        if entry.is_empty() {
            order.push(key);
        }
        // Legs of one run's job count once: the previous deployment is another run's.
        if entry.len() < 2 && entry.iter().all(|known| known.run != item.run) {
            entry.push(item);
        }
    }
    Ok(order
        .into_iter()
        .filter_map(|key| {
            let items = by_resource.get(&key)?;
            let latest = items.first()?;
            Some(api::CurrentDeployment {
                resource: latest.resource.clone(),
                deployment: deployment(latest, name),
                previous: items.get(1).map(|item| deployment(item, name)),
            })
        })
        .collect())
}

/// A protected resource as people name it.
#[derive(Clone, Copy, Debug)]
pub enum ResourceRef<'a> {
    /// An environment, by name.
    Environment(&'a str),
    /// A variable group, by name.
    VariableGroup(&'a str),
    /// An agent pool, by name.
    Pool(&'a str),
}

/// The resource named, with its name as stored.
async fn find_resource(
    state: &AppState,
    resource: ResourceRef<'_>,
) -> Result<(store::ProtectedResource, String), ServiceError> {
    match resource {
        ResourceRef::Environment(name) => {
            let found = find(state, name).await?;
            Ok((store::ProtectedResource::Environment(found.id), found.name))
        }
        ResourceRef::VariableGroup(name) => match state.store().variable_group_by_name(name).await? {
            Some(group) => Ok((store::ProtectedResource::VariableGroup(group.id), group.name)),
            None => Err(ServiceError::NotFound(format!(
                "there is no variable group named '{name}'; `slipway groups list` shows them"
            ))),
        },
        ResourceRef::Pool(name) => {
            let name = crate::agents::checked_pool_name(name)?;
            Ok((store::ProtectedResource::Pool(name.clone()), name))
        }
    }
}

/// How a resource is named in the audit log: `environment production`.
fn audit_target(resource: &store::ProtectedResource, name: &str) -> String {
    format!("{} {name}", resource.kind_label())
}

/// The checks on a resource (reader).
///
/// # Errors
/// When there is no such resource.
pub async fn checks(
    state: &AppState,
    caller: &Caller,
    resource: ResourceRef<'_>,
) -> Result<Vec<api::Check>, ServiceError> {
    caller.require(UserRole::Reader)?;
    let (found, name) = find_resource(state, resource).await?;
    Ok(state.store().list_checks(&found).await?.iter().map(|item| check(item, &name)).collect())
}

/// Adds a check to a resource (admin; audited): its settings are read as its type defines them,
/// and refused with what is wrong.
///
/// # Errors
/// When the caller is no admin, there is no such resource, or the check is not valid.
pub async fn add_check(
    state: &AppState,
    caller: &Caller,
    resource: ResourceRef<'_>,
    body: &api::NewCheck,
) -> Result<api::Check, ServiceError> {
    caller.require(UserRole::Admin)?;
    let (found, name) = find_resource(state, resource).await?;
    let settings = CheckSettings::parse(&body.kind, &body.settings)
        .map_err(|error| ServiceError::Unprocessable(error.to_string()))?;
    let timeout = body.timeout_minutes.unwrap_or(DEFAULT_TIMEOUT_MINUTES);
    if !(1..=MAX_TIMEOUT_MINUTES).contains(&timeout) {
        return Err(ServiceError::Unprocessable(format!(
            "'timeoutMinutes' is {timeout}; it must be between 1 and {MAX_TIMEOUT_MINUTES} (a year)"
        )));
    }
    let added = state
        .store()
        .add_check(
            &found,
            &store::NewCheck {
                kind: settings.kind().to_owned(),
                settings: settings.settings_json(),
                timeout_minutes: timeout,
                created_by: Some(caller.user.name.clone()),
            },
        )
        .await?;
    crate::audit::record(
        state,
        caller,
        "check.add",
        audit_target(&found, &name),
        serde_json::json!({ "id": added.id.get(), "type": added.kind, "settings": added.settings, "timeoutMinutes": timeout }),
    )
    .await;
    Ok(check(&added, &name))
}

/// Removes a check from a resource (admin; audited). Stages already waiting keep the copy they
/// took.
///
/// # Errors
/// When the caller is no admin, or there is no such resource or check.
pub async fn delete_check(
    state: &AppState,
    caller: &Caller,
    resource: ResourceRef<'_>,
    id: i64,
) -> Result<(), ServiceError> {
    caller.require(UserRole::Admin)?;
    let (found, name) = find_resource(state, resource).await?;
    state.store().delete_check(&found, store::CheckId(id)).await.map_err(|error| match error {
        store::StoreError::NotFound { .. } => {
            ServiceError::NotFound(format!("{} '{name}' has no check {id}", found.kind_label()))
        }
        other => other.into(),
    })?;
    crate::audit::record(state, caller, "check.delete", audit_target(&found, &name), serde_json::json!({ "id": id }))
        .await;
    Ok(())
}

/// A run's checkpoints: what its stages wait or waited for (reader).
///
/// # Errors
/// When there is no such run.
pub async fn run_checkpoints(
    state: &AppState,
    caller: &Caller,
    run: i64,
) -> Result<Vec<api::Checkpoint>, ServiceError> {
    caller.require(UserRole::Reader)?;
    let store = state.store();
    store.run(RunId(run)).await?;
    Ok(store.checkpoints_of_run(RunId(run)).await?.iter().map(checkpoint).collect())
}

/// Approvals, newest first: in `state_filter` (`pending`, `passed`, `rejected`, `timedOut`,
/// `canceled`, `failed`) if given; only those `caller` may decide with `mine` (reader).
///
/// # Errors
/// When the filter names no state.
pub async fn list_approvals(
    state: &AppState,
    caller: &Caller,
    state_filter: Option<&str>,
    mine: bool,
) -> Result<Vec<api::Approval>, ServiceError> {
    caller.require(UserRole::Reader)?;
    let filter = state_filter
        .map(|text| {
            CheckRunState::parse(text).map_err(|_| {
                ServiceError::bad_request(format!(
                    "'state' is '{text}'; it must be one of pending, passed, rejected, timedOut, canceled, failed"
                ))
            })
        })
        .transpose()?;
    let found = state.store().list_approvals(filter, 500).await?;
    let mut listed = Vec::with_capacity(found.len());
    for item in &found {
        // "Mine": what the caller may decide now (a post-check approval only once it is asked).
        if mine
            && (approvals::may_decide(item, &caller.user.name).is_err()
                || !approvals::asked(state.store(), item).await?)
        {
            continue;
        }
        listed.push(approval(item));
    }
    Ok(listed)
}

/// One approval (reader).
///
/// # Errors
/// When there is none.
pub async fn show_approval(state: &AppState, caller: &Caller, id: i64) -> Result<api::Approval, ServiceError> {
    caller.require(UserRole::Reader)?;
    Ok(approval(&state.store().approval(CheckRunId(id)).await?))
}

/// Approves or rejects an approval as `caller` (one of its approvers), with a comment; audited,
/// and the waiting stage is looked at again at once.
///
/// # Errors
/// When the caller may not decide it, it is decided already, or the body is not valid.
pub async fn decide(
    state: &AppState,
    caller: &Caller,
    id: i64,
    body: &api::DecideApproval,
) -> Result<api::Approval, ServiceError> {
    caller.require(UserRole::Reader)?;
    let decision = match body.status.as_str() {
        "approved" => Decision::Approve,
        "rejected" => Decision::Reject,
        other => {
            return Err(ServiceError::bad_request(format!(
                "'status' is '{other}'; it must be 'approved' or 'rejected'"
            )));
        }
    };
    if body.comment.len() > 4096 {
        return Err(ServiceError::bad_request("'comment' is longer than 4096 bytes"));
    }
    if decision == Decision::Reject && body.deferred_until.is_some() {
        return Err(ServiceError::bad_request("only an approval can be deferred; leave 'deferredUntil' out to reject"));
    }
    let decided = approvals::decide(
        state.store(),
        CheckRunId(id),
        &caller.user.name,
        decision,
        &body.comment,
        body.deferred_until.map(Timestamp),
    )
    .await
    .map_err(|error| match error {
        DecideError::NotFound(_) => ServiceError::NotFound(error.to_string()),
        DecideError::NotAnApprover { .. } | DecideError::OwnRun { .. } => ServiceError::Forbidden(error.to_string()),
        DecideError::Decided { .. } | DecideError::AlreadyDecided { .. } | DecideError::NotAskedYet { .. } => {
            ServiceError::Conflict(error.to_string())
        }
        DecideError::DeferralInThePast => ServiceError::bad_request(error.to_string()),
        DecideError::Store(error) => error.into(),
    })?;
    crate::audit::record(
        state,
        caller,
        match decision {
            Decision::Approve => "approval.approve",
            Decision::Reject => "approval.reject",
        },
        format!("approval {id}"),
        serde_json::json!({
            "run": decided.run.get(),
            "stage": decided.stage,
            "resource": audit_target(&decided.check.resource, &decided.check.resource_name),
            "comment": body.comment,
            "deferredUntil": body.deferred_until,
        }),
    )
    .await;
    state.wake();
    Ok(approval(&decided))
}

/// Deploys an earlier successful deployment's version again: its job runs again in its run, in
/// place (the run's checkout and artifacts put back), as Azure's "redeploy" re-runs a stage.
/// This is the manual rollback, recorded as one on the new deployment (contributor; audited).
/// Gives the run, queued again.
///
/// # Errors
/// 403 for a caller without the role, 404 for a deployment not in the environment, 409 for a
/// deployment that did not succeed or a run that has not completed, 422 when its commit cannot
/// be checked out again.
pub async fn redeploy(
    state: &AppState,
    caller: &Caller,
    name: &str,
    deployment_id: i64,
) -> Result<api::Run, ServiceError> {
    caller.require(UserRole::Contributor)?;
    let found = find(state, name).await?;
    let store = state.store();
    let missing = || ServiceError::NotFound(format!("environment '{name}' has no deployment {deployment_id}"));
    let earlier = store
        .deployment(store::DeploymentId(deployment_id))
        .await
        .map_err(|error| if error.is_not_found() { missing() } else { error.into() })?;
    if earlier.environment != found.id {
        return Err(missing());
    }
    if !earlier.result.is_some_and(slipway_events::TaskResult::is_success) {
        return Err(ServiceError::Conflict(format!(
            "deployment {deployment_id} did not succeed ({}): only a version that was deployed can be deployed again",
            earlier.result.map_or("still running", |result| result.as_str())
        )));
    }
    let run = store.run(earlier.run).await?;
    crate::runs::check_rerun(caller, &run)?;
    slipway_engine::reruns::prepare_run_directory(state, &run).await.map_err(crate::runs::rerun_error)?;
    let job = store.job(earlier.job).await?;
    // The new deployment is recorded now, with why; the engine's own record of the job being
    // queued again finds it there.
    store
        .record_deployment(&store::NewDeployment {
            environment: found.id,
            resource: earlier.resource.clone(),
            run: run.id,
            job: job.id,
            stage: earlier.stage.clone(),
            job_name: earlier.job_name.clone(),
            strategy: earlier.strategy.clone(),
            triggered_by: caller.user.name.clone(),
            artifacts: earlier.artifacts.clone(),
            changes: None,
        })
        .await?;
    let detail = format!(
        "manual rollback: deployment {deployment_id} (run {} #{}, commit {}) deployed again by {}",
        earlier.pipeline_name,
        earlier.run_number,
        earlier.commit.as_deref().map_or("unknown", |commit| &commit[..commit.len().min(8)]),
        caller.user.name
    );
    store.set_deployment_outcome(job.id, "redeployed", Some(&detail), None).await?;
    let updated = store.rerun_jobs(run.id, &[job.id]).await?;
    let line = slipway_events::LogKind::Section.line(&format!("Attempt {} of this job: {detail}", job.attempt + 1));
    if let Err(error) = store.append_log_lines(job.id, &[line]).await {
        tracing::warn!(%error, "could not note a redeploy in the job's log");
    }
    crate::audit::record(
        state,
        caller,
        "deployment.redeploy",
        format!("{name}/{deployment_id}"),
        serde_json::json!({ "run": run.id.get(), "job": job.id.get() }),
    )
    .await;
    state.wake();
    Ok(crate::wire::run(&updated))
}
