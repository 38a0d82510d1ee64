//! The engine's hooks for environments and checks: a stage that deploys to an environment, or
//! uses a variable group or an agent pool with checks on it, waits at a checkpoint for those
//! checks; deployment jobs are recorded as deployments.
//!
//! A checkpoint is made once per stage (and again after failed jobs are re-run): a copy of the
//! checks of every environment the stage's deployment jobs use, in Azure's order. Each pass of
//! the orchestrator evaluates what is still pending (static checks first, then approvals and
//! dynamic checks, the exclusive lock last) and stores what it found, so a restarted server
//! picks up where the last one was: an approval given while it was down still counts.

use std::sync::Arc;

use slipway_driver::LegId;
use slipway_driver::{Masker, Variables};
use slipway_engine::hooks::{DeliveryHooks, Gate, GateRequest, HookFuture};
use slipway_plan::{DeploymentStrategy, JobKind, Plan, Stage};
use slipway_store::{
    CheckRun, CheckRunState, Checkpoint, CheckpointState, Job, NewCheckRun, NewDeployment, ProtectedResource, Run,
    RunId, Store, StoreError,
};

use crate::checks::CheckSettings;
use crate::evaluate::{RunFacts, Verdict, evaluate};

/// Environments' hooks into the engine.
#[derive(Debug, Clone)]
pub struct EnvironmentHooks {
    store: Store,
    /// The dynamic checks being asked now.
    asking: Arc<std::sync::Mutex<std::collections::HashSet<slipway_store::CheckRunId>>>,
    /// The server's data directory: runs' checkouts are in it (for the commits a deployment
    /// brings).
    data_dir: std::path::PathBuf,
}

impl EnvironmentHooks {
    /// Hooks over `store`, with runs' directories under `data_dir`.
    #[must_use]
    pub fn new(store: Store, data_dir: std::path::PathBuf) -> Arc<Self> {
        Arc::new(Self { store, asking: Arc::default(), data_dir })
    }
}

/// How many commits a deployment's changes list at most.
const MAX_CHANGES: usize = 100;

/// The commits in `checkout` after `previous` up to `current`, newest first; `None` when git
/// cannot tell (the checkout is gone, or `previous` is not in its history).
fn commits_between(checkout: &std::path::Path, previous: &str, current: &str) -> Option<Vec<slipway_store::Change>> {
    if !checkout.is_dir() {
        return None;
    }
    let range = format!("{previous}..{current}");
    let limit = format!("--max-count={MAX_CHANGES}");
    let text =
        slipway_git::text(Some(checkout), "log", &["log", "--format=%H%x1f%ct%x1f%an%x1f%s", &limit, &range]).ok()?;
    Some(
        text.lines()
            .filter_map(|line| {
                let mut fields = line.split('\u{1f}');
                // The subject last: it is the one field that may hold anything.
                let commit = fields.next()?.to_owned();
                let time = fields
                    .next()
                    .and_then(|seconds| seconds.parse::<i64>().ok())
                    .map(|seconds| slipway_store::Timestamp::from_millis(seconds.saturating_mul(1000)));
                let author = fields.next().unwrap_or_default().to_owned();
                let message = fields.collect::<Vec<_>>().join("\u{1f}");
                Some(slipway_store::Change { commit, message, author, time })
            })
            .collect(),
    )
}

/// The environments a stage's deployment jobs name, each once (names compared without regard
/// to case), in the order they appear.
#[must_use]
pub fn stage_environments(stage: &Stage) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for job in &stage.jobs {
        if let JobKind::Deployment(deployment) = &job.kind
            && let Some(environment) = &deployment.environment
            && !names.iter().any(|name| name.eq_ignore_ascii_case(&environment.name))
        {
            names.push(environment.name.clone());
        }
    }
    names
}

/// A strategy's name as Azure writes it.
#[must_use]
pub fn strategy_name(strategy: &DeploymentStrategy) -> &'static str {
    match strategy {
        DeploymentStrategy::RunOnce => "runOnce",
        DeploymentStrategy::Rolling { .. } => "rolling",
        DeploymentStrategy::Canary { .. } => "canary",
    }
}

/// Who or what started a run, for a deployment's record.
fn triggered_by(run: &Run) -> String {
    run.requested_by.clone().unwrap_or_else(|| run.trigger.as_str().to_owned())
}

/// Evaluates a dynamic check that asks something outside Slipway, on a blocking thread: what it
/// found, and its retry interval in minutes.
async fn ask(settings: CheckSettings, variables: Variables, masker: Masker) -> (Verdict, u32) {
    let asked = tokio::task::spawn_blocking(move || match &settings {
        CheckSettings::InvokeRestApi(rest) => {
            (crate::dynamic::invoke(rest, &variables, &masker), rest.retry_interval_minutes)
        }
        CheckSettings::QueryMetrics(query) => {
            (crate::dynamic::query_metrics(query, &variables, &masker), query.retry_interval_minutes)
        }
        _ => (crate::dynamic::Outcome::NotYet("not a check that asks".into()), 0),
    })
    .await;
    match asked {
        Ok((crate::dynamic::Outcome::Passed(message), retry)) => (Verdict::Passed(message), retry),
        Ok((crate::dynamic::Outcome::NotYet(message), retry)) => (Verdict::Pending(message), retry),
        Err(error) => (Verdict::Pending(format!("the check could not be evaluated: {error}")), 1),
    }
}

/// The reason a check's end gives its stage.
fn check_reason(check: &CheckRun, message: &str) -> String {
    format!("the {} check on {} '{}': {message}", check.kind, check.resource.kind_label(), check.resource_name)
}

impl EnvironmentHooks {
    /// Asks a dynamic check (a REST API, Prometheus) on a task of its own, once at a time per
    /// check, and stores what it found: passed; failed when it has no retry interval; else
    /// pending until its next evaluation.
    fn ask_in_background(
        &self,
        check: slipway_store::CheckRunId,
        settings: CheckSettings,
        variables: Variables,
        masker: Masker,
    ) {
        {
            let mut asking = self.asking.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if !asking.insert(check) {
                return;
            }
        }
        let store = self.store.clone();
        let asking = Arc::clone(&self.asking);
        tokio::spawn(async move {
            let (found, retry) = ask(settings, variables, masker).await;
            let stored = match found {
                Verdict::Passed(message) => {
                    store.update_check_run(check, CheckRunState::Passed, Some(&message), None).await
                }
                Verdict::Pending(message) if retry == 0 => {
                    store.update_check_run(check, CheckRunState::Failed, Some(&message), None).await
                }
                Verdict::Pending(message) => {
                    let at = store.now().plus(std::time::Duration::from_secs(u64::from(retry) * 60));
                    store.update_check_run(check, CheckRunState::Pending, Some(&message), Some(at)).await
                }
                Verdict::Ended(state, message) => store.update_check_run(check, state, Some(&message), None).await,
            };
            if let Err(error) = stored {
                tracing::warn!(check = check.get(), %error, "what a check found could not be stored; it is asked again");
            }
            asking.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(&check);
        });
    }

    /// The protected resources a stage uses, with their names: the environments its deployment
    /// jobs deploy to (made if new), the variable groups the pipeline, the stage and its jobs
    /// name (that exist), and the agent pools its jobs run in. `Err` with the reason when an
    /// environment's name cannot be one.
    async fn stage_resources(
        &self,
        plan: &Plan,
        stage: &Stage,
    ) -> Result<Result<Vec<(ProtectedResource, String)>, String>, StoreError> {
        let mut resources: Vec<(ProtectedResource, String)> = Vec::new();
        for name in stage_environments(stage) {
            match self.store.ensure_environment(&name).await {
                Ok(environment) => resources.push((ProtectedResource::Environment(environment.id), environment.name)),
                Err(StoreError::Invalid { reason, .. }) => {
                    return Ok(Err(format!("environment '{name}' cannot be used: {reason}")));
                }
                Err(error) => return Err(error),
            }
        }
        let declared =
            plan.variables.iter().chain(&stage.variables).chain(stage.jobs.iter().flat_map(|job| &job.variables));
        let mut groups: Vec<&str> = Vec::new();
        for variable in declared {
            if let slipway_plan::Variable::Group { name } = variable
                && !groups.iter().any(|known| known.eq_ignore_ascii_case(name))
            {
                groups.push(name);
            }
        }
        for name in groups {
            if let Some(group) = self.store.variable_group_by_name(name).await? {
                resources.push((ProtectedResource::VariableGroup(group.id), group.name));
            }
        }
        let mut pools: Vec<String> = Vec::new();
        for job in stage.jobs.iter().filter(|job| !matches!(job.kind, JobKind::Server)) {
            let name = slipway_engine::agents::normalize_pool(
                job.pool.as_ref().and_then(|pool| pool.name.as_deref()).unwrap_or(""),
            );
            if !pools.contains(&name) {
                pools.push(name);
            }
        }
        resources.extend(pools.into_iter().map(|name| (ProtectedResource::Pool(name.clone()), name)));
        Ok(Ok(resources))
    }

    async fn gate(&self, request: GateRequest<'_>) -> Result<Gate, StoreError> {
        let GateRequest { run, plan, stage, variables, masker } = request;
        let Some(plan_stage) = plan.stages.get(stage) else { return Ok(Gate::Open) };
        let checkpoint = match self.store.checkpoint(run.id, &plan_stage.name).await? {
            Some(checkpoint) => checkpoint,
            None => {
                let resources = match self.stage_resources(plan, plan_stage).await? {
                    Ok(resources) => resources,
                    Err(reason) => return Ok(Gate::Failed(reason)),
                };
                let mut checks: Vec<(u8, NewCheckRun)> = Vec::new();
                for (resource, name) in &resources {
                    for check in self.store.list_checks(resource).await? {
                        let phase =
                            CheckSettings::parse(&check.kind, &check.settings).map_or(0, |parsed| parsed.phase());
                        checks.push((
                            phase,
                            NewCheckRun {
                                check: check.id,
                                resource: resource.clone(),
                                resource_name: name.clone(),
                                kind: check.kind,
                                settings: check.settings,
                                timeout_minutes: check.timeout_minutes,
                            },
                        ));
                    }
                }
                // A stage that uses no environment and nothing with checks on it starts at once,
                // with no checkpoint kept.
                let deploys =
                    resources.iter().any(|(resource, _)| matches!(resource, ProtectedResource::Environment(_)));
                if checks.is_empty() && !deploys {
                    return Ok(Gate::Open);
                }
                checks.sort_by_key(|(phase, _)| *phase);
                let checks: Vec<NewCheckRun> = checks.into_iter().map(|(_, check)| check).collect();
                self.store.open_checkpoint(run.id, &plan_stage.name, &checks).await?
            }
        };
        match checkpoint.state {
            CheckpointState::Passed => Ok(Gate::Open),
            CheckpointState::Failed | CheckpointState::Canceled => {
                Ok(Gate::Failed(checkpoint.message.unwrap_or_else(|| "its checks did not pass".to_owned())))
            }
            CheckpointState::Waiting => self.evaluate(run, plan, plan_stage, &checkpoint, variables, masker).await,
        }
    }

    /// Evaluates a waiting checkpoint's pending checks and decides it if it can.
    async fn evaluate(
        &self,
        run: &Run,
        plan: &Plan,
        stage: &Stage,
        checkpoint: &Checkpoint,
        variables: &Variables,
        masker: &Masker,
    ) -> Result<Gate, StoreError> {
        let facts = RunFacts {
            branch: run.branch.clone(),
            requested_by: run.requested_by.clone(),
            extends: crate::evaluate::ExtendedTemplate::of(plan, run.branch.as_deref()),
        };
        let now = self.store.now().millis();
        let mut failure: Option<String> = checkpoint
            .checks
            .iter()
            .find(|check| check.state.is_final() && check.state != CheckRunState::Passed)
            .map(|check| check_reason(check, check.message.as_deref().unwrap_or("it did not pass")));
        let mut all_passed = true;
        for phase in 0..=crate::checks::LAST_PHASE {
            if failure.is_some() {
                break;
            }
            // A category is asked once every check before it passed (Azure's order).
            let earlier_passed = all_passed;
            for check in &checkpoint.checks {
                if check.state != CheckRunState::Pending {
                    continue;
                }
                let settings = match CheckSettings::parse(&check.kind, &check.settings) {
                    Ok(settings) => settings,
                    Err(error) if phase == 0 => {
                        let message = error.to_string();
                        self.store.update_check_run(check.id, CheckRunState::Failed, Some(&message), None).await?;
                        failure = Some(check_reason(check, &message));
                        continue;
                    }
                    Err(_) => continue,
                };
                if settings.phase() != phase {
                    continue;
                }
                if phase > 0 && !earlier_passed {
                    all_passed = false;
                    let waits = "waits for the checks before it";
                    if check.message.is_none() {
                        self.store.update_check_run(check.id, CheckRunState::Pending, Some(waits), None).await?;
                    }
                    continue;
                }
                let mut verdict = evaluate(
                    &settings,
                    check.timeout_minutes,
                    check.created_at.millis(),
                    &check.decisions,
                    &facts,
                    now,
                );
                let next_at = check.next_at;
                if let (Verdict::Ended(CheckRunState::TimedOut, _), Some(last)) = (&verdict, &check.message)
                    && matches!(settings, CheckSettings::InvokeRestApi(_) | CheckSettings::QueryMetrics(_))
                {
                    verdict = Verdict::Ended(
                        CheckRunState::TimedOut,
                        format!(
                            "did not pass within its timeout of {} (last: {last})",
                            crate::evaluate::minutes_text(check.timeout_minutes)
                        ),
                    );
                }
                if matches!(verdict, Verdict::Pending(_)) {
                    match &settings {
                        CheckSettings::ExclusiveLock(_) => {
                            verdict = self.exclusive_lock(run.id, stage, checkpoint, check).await?;
                        }
                        CheckSettings::VerifyProvenance(settings) => {
                            verdict = self.security_subject(run, stage, check).verify_provenance(settings).await?;
                        }
                        CheckSettings::Policy(settings) => {
                            verdict = self.security_subject(run, stage, check).policy(settings).await?;
                        }
                        CheckSettings::InvokeRestApi(_) | CheckSettings::QueryMetrics(_) => {
                            // Asked in the background (an answer may take up to 30 seconds, and
                            // the orchestrator must not wait for it); what it finds is stored
                            // and read at a later pass.
                            all_passed = false;
                            if check.next_at.is_none_or(|at| at.millis() <= now) {
                                self.ask_in_background(check.id, settings.clone(), variables.clone(), masker.clone());
                            }
                            continue;
                        }
                        _ => {}
                    }
                }
                match verdict {
                    Verdict::Passed(message) => {
                        self.store.update_check_run(check.id, CheckRunState::Passed, Some(&message), None).await?;
                    }
                    Verdict::Pending(message) => {
                        all_passed = false;
                        if check.message.as_deref() != Some(message.as_str()) || next_at != check.next_at {
                            self.store
                                .update_check_run(check.id, CheckRunState::Pending, Some(&message), next_at)
                                .await?;
                        }
                    }
                    Verdict::Ended(state, message) => {
                        self.store.update_check_run(check.id, state, Some(&message), None).await?;
                        failure = Some(check_reason(check, &message));
                    }
                }
            }
        }
        if let Some(reason) = failure {
            self.store.finish_checkpoint(checkpoint.id, CheckpointState::Failed, Some(&reason)).await?;
            // A lock it may have taken on the way is given up.
            self.store.release_locks(run.id, Some(&stage.name)).await?;
            return Ok(Gate::Failed(reason));
        }
        if all_passed {
            // The stage's virtual-machine deployment jobs are placed on the machines there are
            // now (stored in the plan before the checkpoint passes, so a restart keeps them).
            let index = plan.stages.iter().position(|candidate| candidate.name == stage.name).unwrap_or(0);
            let agents =
                if crate::machines::wants_machines(stage) { self.store.list_agents().await? } else { Vec::new() };
            match crate::machines::place(plan, index, &agents) {
                crate::machines::Placed::Unchanged => {}
                crate::machines::Placed::Replan(plan) => return Ok(Gate::Replan(plan)),
                crate::machines::Placed::NoResource(reason) => {
                    self.store.finish_checkpoint(checkpoint.id, CheckpointState::Failed, Some(&reason)).await?;
                    self.store.release_locks(run.id, Some(&stage.name)).await?;
                    return Ok(Gate::Failed(reason));
                }
            }
            self.store.finish_checkpoint(checkpoint.id, CheckpointState::Passed, None).await?;
            return Ok(Gate::Open);
        }
        Ok(Gate::Waiting)
    }

    /// What the security room's checks on `check`'s resource judge.
    fn security_subject<'a>(
        &'a self,
        run: &'a Run,
        stage: &'a Stage,
        check: &'a CheckRun,
    ) -> crate::security_checks::Subject<'a> {
        crate::security_checks::Subject {
            store: &self.store,
            data_dir: &self.data_dir,
            run,
            stage: &stage.name,
            environment: &check.resource_name,
        }
    }

    /// The exclusive lock on the check's environment: taken when free (runs in the order they
    /// ask); with `lockBehavior: runLatest`, a run that waits while a newer one asks gives way.
    async fn exclusive_lock(
        &self,
        run: RunId,
        stage: &Stage,
        checkpoint: &Checkpoint,
        check: &CheckRun,
    ) -> Result<Verdict, StoreError> {
        if stage.lock_behavior.as_deref() == Some("runLatest") {
            let requests = self.store.pending_lock_requests(&check.resource).await?;
            if let Some((_, newer, _)) =
                requests.iter().filter(|(_, other, _)| *other > run).max_by_key(|(_, other, _)| *other)
            {
                return Ok(Verdict::Ended(
                    CheckRunState::Canceled,
                    format!(
                        "run {} asks for the exclusive lock too, and the stage's lockBehavior is runLatest: \
                         the newest run deploys, older waiting ones give way",
                        newer.get()
                    ),
                ));
            }
        }
        if self.store.acquire_lock(&check.resource, checkpoint.id, run, &stage.name).await? {
            return Ok(Verdict::Passed("holds the exclusive lock".into()));
        }
        let holder = self.store.lock_holder(&check.resource).await?;
        Ok(Verdict::Pending(match holder {
            Some((_, holder_run, holder_stage)) => {
                format!("waiting for the exclusive lock, held by run {} (stage {holder_stage})", holder_run.get())
            }
            None => "waiting for the exclusive lock".to_owned(),
        }))
    }

    async fn queued(&self, run: &Run, plan: &Plan, leg: LegId, job: &Job) -> Result<(), StoreError> {
        let Some(stage) = plan.stages.get(leg.stage) else { return Ok(()) };
        let Some(plan_job) = stage.jobs.get(leg.job) else { return Ok(()) };
        let JobKind::Deployment(deployment) = &plan_job.kind else { return Ok(()) };
        let Some(environment) = &deployment.environment else { return Ok(()) };
        let found = match self.store.ensure_environment(&environment.name).await {
            Ok(found) => found,
            Err(StoreError::Invalid { reason, .. }) => {
                tracing::warn!(run = run.id.get(), environment = %environment.name, %reason, "a deployment to an environment that cannot be one is not recorded");
                return Ok(());
            }
            Err(error) => return Err(error),
        };
        let resource = plan_job
            .legs
            .get(leg.leg)
            .and_then(|leg| leg.target.as_ref())
            .map(|target| target.agent.clone())
            .or_else(|| environment.resource_name.clone());
        let artifacts = self.store.artifacts_of_run(run.id).await?.into_iter().map(|artifact| artifact.name).collect();
        // The commits since the last successful deployment to the same resource, from the run's
        // checkout.
        let same = |other: &Option<String>| match (other, &resource) {
            (Some(other), Some(resource)) => other.eq_ignore_ascii_case(resource),
            (None, None) => true,
            _ => false,
        };
        let previous = self
            .store
            .successful_deployments(found.id, 500)
            .await?
            .into_iter()
            .find(|earlier| earlier.run != run.id && same(&earlier.resource))
            .and_then(|earlier| earlier.commit);
        let changes = match (previous, run.commit.clone()) {
            (Some(previous), Some(current)) if previous == current => Some(Vec::new()),
            (Some(previous), Some(current)) => {
                let checkout = slipway_engine::orchestrator::run_directory(&self.data_dir, run.id).join("source");
                tokio::task::spawn_blocking(move || commits_between(&checkout, &previous, &current))
                    .await
                    .ok()
                    .flatten()
            }
            _ => None,
        };
        self.store
            .record_deployment(&NewDeployment {
                environment: found.id,
                resource,
                run: run.id,
                job: job.id,
                stage: job.stage.clone(),
                job_name: match &job.leg {
                    Some(leg) => format!("{}.{leg}", job.job),
                    None => job.job.clone(),
                },
                strategy: strategy_name(&deployment.strategy).to_owned(),
                triggered_by: triggered_by(run),
                artifacts,
                changes,
            })
            .await
    }
}

impl DeliveryHooks for EnvironmentHooks {
    fn gated_stages(&self, plan: &Plan) -> Vec<usize> {
        // Every stage: whether one uses a resource with checks is known only when it is about
        // to start (checks may be added meanwhile); one that does not starts at once.
        (0..plan.stages.len()).collect()
    }

    fn stage_gate<'a>(&'a self, request: GateRequest<'a>) -> HookFuture<'a, Gate> {
        Box::pin(self.gate(request))
    }

    fn job_queued<'a>(&'a self, run: &'a Run, plan: &'a Plan, leg: LegId, job: &'a Job) -> HookFuture<'a, ()> {
        Box::pin(self.queued(run, plan, leg, job))
    }

    fn job_completed<'a>(&'a self, _run: &'a Run, plan: &'a Plan, leg: LegId, job: &'a Job) -> HookFuture<'a, ()> {
        Box::pin(async move {
            let deploys = plan
                .stages
                .get(leg.stage)
                .and_then(|stage| stage.jobs.get(leg.job))
                .is_some_and(|job| matches!(job.kind, JobKind::Deployment(_)));
            match job.result {
                Some(result) if deploys => self.store.finish_deployment(job.id, result).await,
                _ => Ok(()),
            }
        })
    }

    fn stage_finished<'a>(&'a self, run: &'a Run, stage: Option<&'a str>) -> HookFuture<'a, ()> {
        Box::pin(async move {
            match stage {
                Some(stage) => {
                    // Only a stage that had a checkpoint can hold a lock or still wait: most stages
                    // cost one read here, no write.
                    let Some(checkpoint) = self.store.checkpoint(run.id, stage).await? else { return Ok(()) };
                    self.store.release_locks(run.id, Some(stage)).await?;
                    if checkpoint.state == CheckpointState::Waiting {
                        self.store
                            .finish_checkpoint(
                                checkpoint.id,
                                CheckpointState::Canceled,
                                Some("the stage ended without starting"),
                            )
                            .await?;
                    }
                    Ok(())
                }
                None => {
                    self.store.release_locks(run.id, None).await?;
                    self.store.cancel_waiting_checkpoints(run.id, "the run ended").await
                }
            }
        })
    }
}
