//! The store's records as the API shows them: each function turns one kind of record into its
//! wire type ([`slipway_api`]). The store's model is not the API: a column can be added, renamed
//! or kept private without changing what clients read, and the API's shapes are defined once, in
//! `slipway-api`, for the server, its client and the OpenAPI document.

use slipway_api as api;
use slipway_store as store;

fn millis(time: store::Timestamp) -> i64 {
    time.millis()
}

fn maybe_millis(time: Option<store::Timestamp>) -> Option<i64> {
    time.map(store::Timestamp::millis)
}

/// A retention policy.
#[must_use]
pub fn retention(policy: store::RetentionPolicy) -> api::Retention {
    api::Retention { days: policy.days, runs: policy.runs }
}

/// A queue status.
#[must_use]
pub fn queue_status(status: store::QueueStatus) -> api::QueueStatus {
    match status {
        store::QueueStatus::Enabled => api::QueueStatus::Enabled,
        store::QueueStatus::Disabled => api::QueueStatus::Disabled,
    }
}

/// A queue status as the store keeps it.
#[must_use]
pub fn stored_queue_status(status: api::QueueStatus) -> store::QueueStatus {
    match status {
        api::QueueStatus::Enabled => store::QueueStatus::Enabled,
        api::QueueStatus::Disabled => store::QueueStatus::Disabled,
    }
}

/// A pipeline.
#[must_use]
pub fn pipeline(pipeline: &store::Pipeline) -> api::Pipeline {
    api::Pipeline {
        id: pipeline.id.get(),
        name: pipeline.name.clone(),
        repository: pipeline.repository.clone(),
        yaml_path: pipeline.yaml_path.clone(),
        default_branch: pipeline.default_branch.clone(),
        retention: retention(pipeline.retention),
        queue_status: queue_status(pipeline.queue_status),
        triggers: api::TriggerHealth {
            checked_at: maybe_millis(pipeline.triggers.checked_at),
            error: pipeline.triggers.error.clone(),
        },
        created_at: millis(pipeline.created_at),
        updated_at: millis(pipeline.updated_at),
    }
}

/// What started a run.
#[must_use]
pub fn trigger_kind(kind: store::TriggerKind) -> api::TriggerKind {
    match kind {
        store::TriggerKind::Manual => api::TriggerKind::Manual,
        store::TriggerKind::Push => api::TriggerKind::Push,
        store::TriggerKind::PullRequest => api::TriggerKind::PullRequest,
        store::TriggerKind::Schedule => api::TriggerKind::Schedule,
        store::TriggerKind::PipelineCompletion => api::TriggerKind::PipelineCompletion,
    }
}

/// A run's status.
#[must_use]
pub fn run_status(status: store::RunStatus) -> api::RunStatus {
    match status {
        store::RunStatus::Queued => api::RunStatus::Queued,
        store::RunStatus::Running => api::RunStatus::Running,
        store::RunStatus::Completed => api::RunStatus::Completed,
    }
}

/// A run's status as the store keeps it.
#[must_use]
pub fn stored_run_status(status: api::RunStatus) -> store::RunStatus {
    match status {
        api::RunStatus::Queued => store::RunStatus::Queued,
        api::RunStatus::Running => store::RunStatus::Running,
        api::RunStatus::Completed => store::RunStatus::Completed,
    }
}

/// A job's status.
#[must_use]
pub fn job_status(status: store::JobStatus) -> api::JobStatus {
    match status {
        store::JobStatus::Pending => api::JobStatus::Pending,
        store::JobStatus::Queued => api::JobStatus::Queued,
        store::JobStatus::Running => api::JobStatus::Running,
        store::JobStatus::Completed => api::JobStatus::Completed,
    }
}

/// A run (without its jobs).
#[must_use]
pub fn run(run: &store::Run) -> api::Run {
    api::Run {
        id: run.id.get(),
        pipeline: run.pipeline.get(),
        run_number: run.run_number.clone(),
        trigger: trigger_kind(run.trigger),
        trigger_details: serde_json::to_value(&run.trigger_details).unwrap_or_default(),
        branch: run.branch.clone(),
        commit: run.commit.clone(),
        parameters: run.parameters.clone(),
        variables: run.variables.clone(),
        status: run_status(run.status),
        result: run.result,
        requested_by: run.requested_by.clone(),
        created_at: millis(run.created_at),
        started_at: maybe_millis(run.started_at),
        finished_at: maybe_millis(run.finished_at),
        cancel_requested: run.cancel_requested,
        keep: run.keep,
        retry_of: run.retry_of.map(store::RunId::get),
        upstream_run: run.upstream_run.map(store::RunId::get),
    }
}

/// A job.
#[must_use]
pub fn job(job: &store::Job) -> api::Job {
    api::Job {
        id: job.id.get(),
        run: job.run.get(),
        key: job.key.clone(),
        stage: job.stage.clone(),
        job: job.job.clone(),
        leg: job.leg.clone(),
        display_name: job.display_name.clone(),
        pool: job.pool.clone(),
        demands: job
            .demands
            .iter()
            .map(|demand| api::Demand { name: demand.name.clone(), equals: demand.equals.clone() })
            .collect(),
        status: job_status(job.status),
        result: job.result,
        message: job.message.clone(),
        attempt: job.attempt,
        lease_holder: job.lease_holder.clone(),
        lease_expires_at: maybe_millis(job.lease_expires_at),
        created_at: millis(job.created_at),
        queued_at: maybe_millis(job.queued_at),
        started_at: maybe_millis(job.started_at),
        finished_at: maybe_millis(job.finished_at),
        earlier_attempts: Vec::new(),
    }
}

/// A run with its jobs.
#[must_use]
pub fn run_detail(record: &store::Run, jobs: &[store::Job], attempts: &[store::JobAttempt]) -> api::RunDetail {
    api::RunDetail { run: run(record), jobs: jobs.iter().map(|one| job_with_attempts(one, attempts)).collect() }
}

/// A job with its earlier attempts (found among `attempts`).
#[must_use]
pub fn job_with_attempts(record: &store::Job, attempts: &[store::JobAttempt]) -> api::Job {
    let mut shown = job(record);
    shown.earlier_attempts = attempts.iter().filter(|attempt| attempt.job == record.id).map(job_attempt).collect();
    shown
}

/// An earlier attempt of a job.
#[must_use]
pub fn job_attempt(attempt: &store::JobAttempt) -> api::JobAttempt {
    api::JobAttempt {
        attempt: attempt.attempt,
        result: attempt.result,
        message: attempt.message.clone(),
        lease_holder: attempt.lease_holder.clone(),
        started_at: maybe_millis(attempt.started_at),
        finished_at: maybe_millis(attempt.finished_at),
        log_lines: attempt.line_count,
    }
}

/// A role.
#[must_use]
pub fn role(role: store::UserRole) -> api::UserRole {
    match role {
        store::UserRole::Admin => api::UserRole::Admin,
        store::UserRole::Contributor => api::UserRole::Contributor,
        store::UserRole::Reader => api::UserRole::Reader,
    }
}

/// A role as the store keeps it.
#[must_use]
pub fn stored_role(role: api::UserRole) -> store::UserRole {
    match role {
        api::UserRole::Admin => store::UserRole::Admin,
        api::UserRole::Contributor => store::UserRole::Contributor,
        api::UserRole::Reader => store::UserRole::Reader,
    }
}

/// A user.
#[must_use]
pub fn user(user: &store::User) -> api::User {
    api::User { id: user.id.get(), name: user.name.clone(), role: role(user.role), created_at: millis(user.created_at) }
}

/// A personal access token's record.
#[must_use]
pub fn access_token(token: &store::AccessToken) -> api::AccessToken {
    api::AccessToken {
        id: token.id.get(),
        user: token.user.get(),
        name: token.name.clone(),
        prefix: token.prefix.clone(),
        created_at: millis(token.created_at),
        last_used_at: maybe_millis(token.last_used_at),
        expires_at: maybe_millis(token.expires_at),
        revoked_at: maybe_millis(token.revoked_at),
    }
}

/// A registration token's record.
#[must_use]
pub fn registration_token(token: &store::RegistrationToken) -> api::RegistrationToken {
    api::RegistrationToken {
        id: token.id.get(),
        prefix: token.prefix.clone(),
        created_by: token.created_by.clone(),
        created_at: millis(token.created_at),
        expires_at: maybe_millis(token.expires_at),
        used_at: maybe_millis(token.used_at),
        agent: token.agent.map(store::AgentId::get),
    }
}

/// An agent's state.
#[must_use]
pub fn agent_state(state: store::AgentState) -> api::AgentState {
    match state {
        store::AgentState::Idle => api::AgentState::Idle,
        store::AgentState::Busy => api::AgentState::Busy,
        store::AgentState::Draining => api::AgentState::Draining,
        store::AgentState::Offline => api::AgentState::Offline,
    }
}

/// A pool's settings.
#[must_use]
pub fn pool_settings(settings: &store::PoolSettings) -> api::PoolSettings {
    api::PoolSettings {
        on_agent_lost: match settings.on_agent_lost {
            store::AgentLostAction::Fail => api::AgentLostAction::Fail,
            store::AgentLostAction::Requeue => api::AgentLostAction::Requeue,
        },
        vm_images: settings.vm_images.clone(),
    }
}

/// A pool's settings as the store keeps them.
#[must_use]
pub fn stored_pool_settings(settings: &api::PoolSettings) -> store::PoolSettings {
    store::PoolSettings {
        on_agent_lost: match settings.on_agent_lost {
            api::AgentLostAction::Fail => store::AgentLostAction::Fail,
            api::AgentLostAction::Requeue => store::AgentLostAction::Requeue,
        },
        vm_images: settings.vm_images.clone(),
    }
}

/// A variable: a secret's value is never shown.
#[must_use]
pub fn variable(variable: &store::ListedVariable) -> api::Variable {
    api::Variable {
        name: variable.name.clone(),
        value: if variable.is_secret { None } else { variable.value.clone() },
        secret: variable.is_secret,
    }
}

/// A variable group with its variables.
#[must_use]
pub fn variable_group(group: &store::VariableGroup) -> api::VariableGroup {
    api::VariableGroup {
        name: group.name.clone(),
        description: group.description.clone(),
        variables: group.variables.iter().map(variable).collect(),
    }
}

/// Tests' totals.
#[must_use]
pub fn test_totals(totals: store::TestTotals) -> api::TestTotals {
    api::TestTotals { total: totals.total, passed: totals.passed, failed: totals.failed, skipped: totals.skipped }
}

/// A step's test results.
#[must_use]
pub fn test_results(results: &store::StoredTestRun) -> api::TestResults {
    api::TestResults {
        run: results.run.get(),
        job: results.job.clone(),
        step: results.step,
        results: results.results.clone(),
    }
}

/// A step's coverage summary.
#[must_use]
pub fn coverage(coverage: &store::StoredCoverage) -> api::CoverageSummary {
    api::CoverageSummary {
        run: coverage.run.get(),
        job: coverage.job.clone(),
        step: coverage.step,
        coverage: coverage.coverage.clone(),
    }
}

/// What a trigger did with one ref, commit or pull request.
#[must_use]
pub fn decision(decided: &slipway_triggering::Decided) -> api::WebhookDecision {
    use slipway_triggering::Outcome;
    let outcome = match &decided.outcome {
        Outcome::Started { run } => api::DecisionOutcome::Started { run: run.get() },
        Outcome::Failed { run, reason } => api::DecisionOutcome::Failed { run: run.get(), reason: reason.clone() },
        Outcome::Batched => api::DecisionOutcome::Batched,
        Outcome::Skipped { reason } => api::DecisionOutcome::Skipped { reason: reason.clone() },
        Outcome::AlreadyHandled => api::DecisionOutcome::AlreadyHandled,
        Outcome::Error { reason } => api::DecisionOutcome::Error { reason: reason.clone() },
    };
    api::WebhookDecision { subject: decided.subject.clone(), commit: decided.commit.clone(), outcome }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_enum_names_itself_alike_in_the_store_and_on_the_wire() {
        fn wire_name(value: impl serde::Serialize) -> String {
            serde_json::to_value(value).ok().and_then(|value| value.as_str().map(str::to_owned)).unwrap_or_default()
        }
        for kind in [
            store::TriggerKind::Manual,
            store::TriggerKind::Push,
            store::TriggerKind::PullRequest,
            store::TriggerKind::Schedule,
            store::TriggerKind::PipelineCompletion,
        ] {
            assert_eq!(wire_name(trigger_kind(kind)), kind.as_str());
        }
        for status in [store::RunStatus::Queued, store::RunStatus::Running, store::RunStatus::Completed] {
            assert_eq!(wire_name(run_status(status)), status.as_str());
            assert_eq!(stored_run_status(run_status(status)), status);
        }
        for status in [
            store::JobStatus::Pending,
            store::JobStatus::Queued,
            store::JobStatus::Running,
            store::JobStatus::Completed,
        ] {
            assert_eq!(wire_name(job_status(status)), status.as_str());
        }
        for role_ in [store::UserRole::Admin, store::UserRole::Contributor, store::UserRole::Reader] {
            assert_eq!(wire_name(role(role_)), role_.as_str());
            assert_eq!(stored_role(role(role_)), role_);
        }
        for state in
            [store::AgentState::Idle, store::AgentState::Busy, store::AgentState::Draining, store::AgentState::Offline]
        {
            assert_eq!(wire_name(agent_state(state)), state.as_str());
        }
        for status in [store::QueueStatus::Enabled, store::QueueStatus::Disabled] {
            assert_eq!(wire_name(queue_status(status)), status.as_str());
            assert_eq!(stored_queue_status(queue_status(status)), status);
        }
    }

    #[test]
    fn a_secret_value_is_never_on_the_wire() {
        let secret = store::ListedVariable { name: "token".into(), is_secret: true, value: Some("hunter2".into()) };
        assert_eq!(variable(&secret).value, None);
        let plain = store::ListedVariable { name: "mode".into(), is_secret: false, value: Some("fast".into()) };
        assert_eq!(variable(&plain).value.as_deref(), Some("fast"));
    }
}
