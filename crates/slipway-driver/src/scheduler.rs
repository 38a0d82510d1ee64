//! The scheduler: a pure state machine that walks a plan's stages and jobs as a graph.
//!
//! It owns the state of a run (what is pending, running, finished, with which result and which
//! output variables) and, each time it is [polled](Scheduler::poll), decides what happens next:
//! stages and jobs whose dependencies are done have their conditions evaluated (the default being
//! `succeeded()`), are skipped or started, and legs are handed out within the `--jobs` limit and
//! each job's `maxParallel`. It does no I/O and knows no clock; the caller tells it when a leg
//! finished ([`Scheduler::leg_finished`]) or the run was cancelled ([`Scheduler::cancel`]).

use std::collections::HashSet;
use std::sync::Arc;

use serde_json::{Map, Value as Json, json};
use slipway_events::TaskResult;
use slipway_plan::{Job, Plan, Variable as PlanVariable};

use crate::counters::Counters;
use crate::expr::{self, Context, Status};
use crate::variables::{Variable, Variables};

/// Identifies one leg of one job of one stage, by index into the plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LegId {
    /// Index of the stage in [`Plan::stages`].
    pub stage: usize,
    /// Index of the job in [`slipway_plan::Stage::jobs`].
    pub job: usize,
    /// Index of the leg in [`Job::legs`].
    pub leg: usize,
}

/// Which stages and jobs to run (`--stage`, `--job`); empty means everything.
#[derive(Clone, Debug, Default)]
pub struct Selection {
    /// Stage names.
    pub stages: Vec<String>,
    /// Job names, either `job` (in any stage) or `stage.job`.
    pub jobs: Vec<String>,
}

/// A plan the scheduler cannot run.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ScheduleError {
    /// A `dependsOn` names something that does not exist.
    #[error("{kind} '{name}' depends on '{dependency}', which does not exist")]
    UnknownDependency {
        /// `stage` or `job`.
        kind: &'static str,
        /// Who depends.
        name: String,
        /// On what.
        dependency: String,
    },
    /// The dependencies go round in a circle.
    #[error("the dependencies of {kind} '{name}' form a cycle")]
    Cycle {
        /// `stage` or `job`.
        kind: &'static str,
        /// One member of the cycle.
        name: String,
    },
    /// `--stage` or `--job` names nothing.
    #[error("there is no {kind} named '{name}' in the pipeline")]
    UnknownSelection {
        /// `stage` or `job`.
        kind: &'static str,
        /// The name given.
        name: String,
    },
    /// The plan has no job to run.
    #[error("the pipeline has no jobs to run")]
    Empty,
}

/// What the caller should do next.
#[derive(Clone, Debug)]
pub enum Decision {
    /// A stage whose conditions hold waits for its gate (the server's checks on the resources it
    /// uses): it starts once [`Scheduler::open_gate`] is called for it, or fails with
    /// [`Scheduler::fail_gate`]. Given once per stage; only for stages made gated with
    /// [`Scheduler::gate_stage`].
    StageWaiting {
        /// Its index.
        stage: usize,
    },
    /// A stage starts.
    StageStarted {
        /// Its index.
        stage: usize,
    },
    /// A stage ended; or it was skipped (without a `StageStarted` before).
    StageFinished {
        /// Its index.
        stage: usize,
        /// Its result.
        result: TaskResult,
        /// Why, when not obvious.
        message: Option<String>,
    },
    /// A leg should be run now with these variables.
    StartLeg {
        /// Which leg.
        leg: LegId,
        /// Its variables: pipeline, stage, job and leg scopes, runtime expressions evaluated.
        variables: Variables,
    },
    /// A job ended (all its legs did); or it was skipped (then no leg was started).
    JobFinished {
        /// Index of the stage.
        stage: usize,
        /// Index of the job.
        job: usize,
        /// Its result.
        result: TaskResult,
        /// Why, when not obvious.
        message: Option<String>,
    },
    /// Everything is done.
    RunFinished {
        /// The run's result.
        result: TaskResult,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Pending,
    Running,
    Done(TaskResult),
}

impl State {
    fn result(self) -> Option<TaskResult> {
        match self {
            Self::Done(result) => Some(result),
            _ => None,
        }
    }
}

#[derive(Debug)]
struct LegNode {
    state: State,
}

#[derive(Debug)]
struct JobNode {
    index: usize,
    deps: Vec<usize>,
    state: State,
    legs: Vec<LegNode>,
    started_after_cancel: bool,
    outputs: Map<String, Json>,
    variables: Option<Variables>,
}

#[derive(Debug)]
struct StageNode {
    index: usize,
    deps: Vec<usize>,
    state: State,
    jobs: Vec<JobNode>,
    variables: Option<Variables>,
}

/// The scheduler. See the module documentation.
#[derive(Debug)]
pub struct Scheduler {
    plan: Arc<Plan>,
    stages: Vec<StageNode>,
    base: Variables,
    max_parallel: usize,
    running: usize,
    canceled: bool,
    finished: bool,
    warnings: Vec<String>,
    counters: std::cell::RefCell<Counters>,
    /// The variables of the variable groups the plan names, by group name in lower case.
    groups: std::collections::BTreeMap<String, Vec<Variable>>,
    /// The gates of gated stages, by index into the plan's stages.
    gates: std::collections::HashMap<usize, Gate>,
}

/// Where a gated stage's gate is.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Gate {
    /// Closed; the caller has not been told yet that the stage waits.
    Closed,
    /// Closed, and the caller was told ([`Decision::StageWaiting`]).
    Waiting,
    /// Open: the stage may start.
    Open,
    /// The stage fails without starting, for this reason.
    Failed(String),
}

fn resolve_names(
    kind: &'static str,
    owner: &str,
    names: &[String],
    candidates: &[&str],
) -> Result<Vec<usize>, ScheduleError> {
    names
        .iter()
        .map(|name| {
            candidates.iter().position(|candidate| candidate.eq_ignore_ascii_case(name)).ok_or_else(|| {
                ScheduleError::UnknownDependency { kind, name: owner.to_owned(), dependency: name.clone() }
            })
        })
        .collect()
}

/// Adds `start` and everything it depends on (transitively) to `keep`.
fn close_over(deps: &[Vec<usize>], start: usize, keep: &mut HashSet<usize>) {
    if keep.insert(start) {
        for &dep in &deps[start] {
            close_over(deps, dep, keep);
        }
    }
}

fn check_acyclic(kind: &'static str, names: &[&str], deps: &[Vec<usize>]) -> Result<(), ScheduleError> {
    // 0 = unvisited, 1 = on the stack, 2 = done.
    fn visit(node: usize, deps: &[Vec<usize>], marks: &mut [u8]) -> Option<usize> {
        match marks[node] {
            1 => return Some(node),
            2 => return None,
            _ => {}
        }
        marks[node] = 1;
        for &dep in &deps[node] {
            if let Some(found) = visit(dep, deps, marks) {
                return Some(found);
            }
        }
        marks[node] = 2;
        None
    }
    let mut marks = vec![0_u8; deps.len()];
    for node in 0..deps.len() {
        if let Some(found) = visit(node, deps, &mut marks) {
            return Err(ScheduleError::Cycle { kind, name: names[found].to_owned() });
        }
    }
    Ok(())
}

impl Scheduler {
    /// Prepares to run `plan`. `base` holds the run-wide variables (predefined and queue-time);
    /// the plan's pipeline-level variables are added on top of them. `max_parallel` bounds how
    /// many legs run at once (at least 1).
    ///
    /// # Errors
    /// When dependencies name unknown stages or jobs, form cycles, or the selection names nothing.
    pub fn new(
        plan: Arc<Plan>,
        base: Variables,
        selection: &Selection,
        max_parallel: usize,
    ) -> Result<Self, ScheduleError> {
        Self::with_counters(plan, base, selection, max_parallel, Counters::default())
    }

    /// Like [`Scheduler::new`], continuing the `counter()` values earlier runs of the same
    /// pipeline left.
    ///
    /// # Errors
    /// As [`Scheduler::new`].
    pub fn with_counters(
        plan: Arc<Plan>,
        base: Variables,
        selection: &Selection,
        max_parallel: usize,
        counters: Counters,
    ) -> Result<Self, ScheduleError> {
        Self::with_variable_groups(plan, base, selection, max_parallel, counters, Vec::new())
    }

    /// Like [`Scheduler::with_counters`], with the variables of the variable groups (Azure's
    /// Library) that the plan may name in `- group: NAME` entries, as `(group name, variables)`:
    /// each entry puts its group's variables (secret ones stay secret) where it stands among the
    /// declared variables, so later entries override them. Group names are compared ignoring
    /// case. A group that is not given is reported as a warning, as without groups.
    ///
    /// # Errors
    /// As [`Scheduler::new`].
    pub fn with_variable_groups(
        plan: Arc<Plan>,
        base: Variables,
        selection: &Selection,
        max_parallel: usize,
        counters: Counters,
        groups: Vec<(String, Vec<Variable>)>,
    ) -> Result<Self, ScheduleError> {
        let stage_names: Vec<&str> = plan.stages.iter().map(|stage| stage.name.as_str()).collect();
        let mut stage_deps = Vec::with_capacity(plan.stages.len());
        let mut job_deps: Vec<Vec<Vec<usize>>> = Vec::with_capacity(plan.stages.len());
        for stage in &plan.stages {
            stage_deps.push(resolve_names("stage", &stage.name, &stage.depends_on, &stage_names)?);
            let job_names: Vec<&str> = stage.jobs.iter().map(|job| job.name.as_str()).collect();
            let mut deps = Vec::with_capacity(stage.jobs.len());
            for job in &stage.jobs {
                deps.push(resolve_names("job", &job.name, &job.depends_on, &job_names)?);
            }
            check_acyclic("job", &job_names, &deps)?;
            job_deps.push(deps);
        }
        check_acyclic("stage", &stage_names, &stage_deps)?;

        // Selection: what was asked for and everything it depends on.
        let everything = selection.stages.is_empty() && selection.jobs.is_empty();
        let mut keep_stages: HashSet<usize> = HashSet::new();
        let mut keep_jobs: HashSet<(usize, usize)> = HashSet::new();
        let mut whole_stages: HashSet<usize> = HashSet::new();
        for name in &selection.stages {
            let index = stage_names
                .iter()
                .position(|stage| stage.eq_ignore_ascii_case(name))
                .ok_or_else(|| ScheduleError::UnknownSelection { kind: "stage", name: name.clone() })?;
            let mut closure = HashSet::new();
            close_over(&stage_deps, index, &mut closure);
            whole_stages.extend(closure.iter().copied());
        }
        for name in &selection.jobs {
            let (stage_filter, job_name) = match name.split_once('.') {
                Some((stage, job)) => (Some(stage), job),
                None => (None, name.as_str()),
            };
            let mut found = false;
            for (s, stage) in plan.stages.iter().enumerate() {
                if stage_filter.is_some_and(|filter| !filter.eq_ignore_ascii_case(&stage.name)) {
                    continue;
                }
                if let Some(j) = stage.jobs.iter().position(|job| job.name.eq_ignore_ascii_case(job_name)) {
                    found = true;
                    let mut jobs = HashSet::new();
                    close_over(&job_deps[s], j, &mut jobs);
                    keep_jobs.extend(jobs.into_iter().map(|job| (s, job)));
                    let mut closure = HashSet::new();
                    close_over(&stage_deps, s, &mut closure);
                    closure.remove(&s);
                    whole_stages.extend(closure);
                    keep_stages.insert(s);
                }
            }
            if !found {
                return Err(ScheduleError::UnknownSelection { kind: "job", name: name.clone() });
            }
        }
        keep_stages.extend(whole_stages.iter().copied());

        let mut stages = Vec::new();
        let mut new_index = vec![usize::MAX; plan.stages.len()];
        for (s, stage) in plan.stages.iter().enumerate() {
            if !everything && !keep_stages.contains(&s) {
                continue;
            }
            let whole = everything || whole_stages.contains(&s);
            let mut jobs = Vec::new();
            let mut job_index = vec![usize::MAX; stage.jobs.len()];
            for (j, job) in stage.jobs.iter().enumerate() {
                if !whole && !keep_jobs.contains(&(s, j)) {
                    continue;
                }
                job_index[j] = jobs.len();
                let legs = job.legs.len().max(1);
                jobs.push(JobNode {
                    index: j,
                    deps: job_deps[s][j].clone(),
                    state: State::Pending,
                    legs: (0..legs).map(|_| LegNode { state: State::Pending }).collect(),
                    started_after_cancel: false,
                    outputs: Map::new(),
                    variables: None,
                });
            }
            for job in &mut jobs {
                job.deps = job.deps.iter().map(|&dep| job_index[dep]).filter(|&dep| dep != usize::MAX).collect();
            }
            new_index[s] = stages.len();
            stages.push(StageNode {
                index: s,
                deps: stage_deps[s].clone(),
                state: State::Pending,
                jobs,
                variables: None,
            });
        }
        for stage in &mut stages {
            stage.deps = stage.deps.iter().map(|&dep| new_index[dep]).filter(|&dep| dep != usize::MAX).collect();
        }
        if stages.iter().all(|stage| stage.jobs.is_empty()) {
            return Err(ScheduleError::Empty);
        }

        let mut scheduler = Self {
            plan: Arc::clone(&plan),
            stages,
            base,
            max_parallel: max_parallel.max(1),
            running: 0,
            canceled: false,
            finished: false,
            warnings: Vec::new(),
            counters: std::cell::RefCell::new(counters),
            groups: groups.into_iter().map(|(name, variables)| (name.to_lowercase(), variables)).collect(),
            gates: std::collections::HashMap::new(),
        };
        let mut base = std::mem::take(&mut scheduler.base);
        let empty = json!({});
        let mut warnings = Vec::new();
        scheduler.add_variables(&mut base, &plan.variables, &empty, &empty, &[], &mut warnings);
        scheduler.base = base;
        scheduler.warnings = warnings;
        Ok(scheduler)
    }

    /// Warnings found while resolving variables (variable groups that cannot be loaded, runtime
    /// expressions that failed). Taken, so each is reported once.
    pub fn take_warnings(&mut self) -> Vec<String> {
        std::mem::take(&mut self.warnings)
    }

    /// The run-wide variables (predefined, queue-time and pipeline-level).
    #[must_use]
    pub fn base_variables(&self) -> &Variables {
        &self.base
    }

    /// Sets a run-wide variable after the fact (such as `Build.BuildNumber`, which is computed
    /// from the pipeline's variables).
    pub fn set_base_variable(&mut self, variable: Variable) {
        self.base.force(variable);
    }

    /// The `counter()` values after this run, to keep for the next one.
    #[must_use]
    pub fn counters(&self) -> std::collections::BTreeMap<String, i64> {
        self.counters.borrow().values()
    }

    /// The `counter()` prefixes used that have no value yet (see [`Counters::allocated`]).
    #[must_use]
    pub fn missing_counters(&self) -> Vec<(String, i64)> {
        self.counters.borrow().missing()
    }

    /// Whether the run was cancelled.
    #[must_use]
    pub fn is_canceled(&self) -> bool {
        self.canceled
    }

    /// How many legs are running.
    #[must_use]
    pub fn running(&self) -> usize {
        self.running
    }

    fn add_variables(
        &self,
        target: &mut Variables,
        declared: &[PlanVariable],
        dependencies: &Json,
        stage_dependencies: &Json,
        results: &[(String, TaskResult)],
        warnings: &mut Vec<String>,
    ) {
        for variable in declared {
            match variable {
                PlanVariable::Value { name, value, readonly } => {
                    let value = match expr::runtime_expression(value) {
                        Some(source) => {
                            let context = Context {
                                variables: target,
                                dependencies: Some(dependencies),
                                stage_dependencies: Some(stage_dependencies),
                                status: Status::Dependencies { results, canceled: self.canceled },
                                counters: Some(&self.counters),
                                parameters: &self.plan.parameters,
                            };
                            match expr::runtime_value(source, &context) {
                                Ok(value) => value,
                                Err(error) => {
                                    warnings.push(format!("variable '{name}': {error}"));
                                    String::new()
                                }
                            }
                        }
                        None => value.clone(),
                    };
                    target.force(Variable { name: name.clone(), value, secret: false, readonly: *readonly });
                }
                PlanVariable::Group { name } if self.groups.contains_key(&name.to_lowercase()) => {
                    for variable in self.groups.get(&name.to_lowercase()).into_iter().flatten() {
                        target.force(variable.clone());
                    }
                }
                PlanVariable::Group { name } => {
                    warnings.push(format!(
                        "variable group '{name}' cannot be loaded by a local run; pass its variables with --var or --secret"
                    ));
                }
            }
        }
    }

    /// Records that the run was cancelled: legs not yet started are cancelled, and from now on
    /// only what has a condition that holds after a cancel (`always()`, `canceled()`) starts.
    pub fn cancel(&mut self) {
        self.canceled = true;
    }

    /// Makes the stage at `stage` (an index into the plan's stages) wait, once its dependencies
    /// are done and its condition holds, until its gate is opened or failed.
    pub fn gate_stage(&mut self, stage: usize) {
        self.gates.entry(stage).or_insert(Gate::Closed);
    }

    /// Opens a gated stage's gate: it starts at the next poll (if it still may).
    pub fn open_gate(&mut self, stage: usize) {
        self.gates.insert(stage, Gate::Open);
    }

    /// Fails a gated stage's gate: at the next poll the stage ends as failed, without starting,
    /// with `message` as the reason.
    pub fn fail_gate(&mut self, stage: usize, message: String) {
        if let Some(gate) = self.gates.get_mut(&stage) {
            *gate = Gate::Failed(message);
        }
    }

    /// The gated stages waiting for their gate now.
    #[must_use]
    pub fn waiting_stages(&self) -> Vec<usize> {
        let mut waiting: Vec<usize> =
            self.gates.iter().filter(|(_, gate)| **gate == Gate::Waiting).map(|(&stage, _)| stage).collect();
        waiting.sort_unstable();
        waiting
    }

    /// Records that a leg finished with `result`, and the output variables it set
    /// (`step.var` to value; the leg's name is prefixed here for matrix and parallel legs).
    pub fn leg_finished(&mut self, leg: LegId, result: TaskResult, outputs: Vec<(String, String)>) {
        let plan = Arc::clone(&self.plan);
        let Some(stage) = self.stages.iter_mut().find(|stage| stage.index == leg.stage) else { return };
        let Some(job) = stage.jobs.iter_mut().find(|job| job.index == leg.job) else { return };
        let Some(node) = job.legs.get_mut(leg.leg) else { return };
        if node.state == State::Running {
            self.running = self.running.saturating_sub(1);
        }
        node.state = State::Done(result);
        let leg_name = plan
            .stages
            .get(leg.stage)
            .and_then(|stage| stage.jobs.get(leg.job))
            .and_then(|job| job.legs.get(leg.leg))
            .and_then(|leg| leg.name.clone())
            // GitHub's job outputs are the job's, whichever leg set them last.
            .filter(|_| plan.dialect != slipway_plan::Dialect::GithubActions);
        for (key, value) in outputs {
            let key = match &leg_name {
                Some(prefix) => format!("{prefix}.{key}"),
                None => key,
            };
            job.outputs.insert(key, Json::String(value));
        }
    }

    fn plan_job(&self, stage: usize, job: usize) -> Option<&Job> {
        self.plan.stages.get(stage)?.jobs.get(job)
    }

    /// Decides what happens next. Call after creating the scheduler and after every
    /// [`leg_finished`](Self::leg_finished) or [`cancel`](Self::cancel).
    pub fn poll(&mut self) -> Vec<Decision> {
        let mut out = Vec::new();
        if self.finished {
            return out;
        }
        loop {
            let mut progressed = false;
            for s in 0..self.stages.len() {
                progressed |= self.step_stage(s, &mut out);
            }
            if !progressed {
                break;
            }
        }
        if self.stages.iter().all(|stage| matches!(stage.state, State::Done(_))) {
            self.finished = true;
            let merged = self.stages.iter().filter_map(|stage| stage.state.result()).fold(None, TaskResult::merge);
            let result = if self.canceled {
                TaskResult::Canceled
            } else {
                match merged {
                    None => TaskResult::Succeeded,
                    // A job that timed out is cancelled, but the run, not cancelled, failed.
                    Some(TaskResult::Canceled) => TaskResult::Failed,
                    Some(result) => result,
                }
            };
            out.push(Decision::RunFinished { result });
        }
        out
    }

    /// The `dependencies` and status results for a stage's condition and variables.
    fn stage_context(&self, s: usize) -> (Json, Vec<(String, TaskResult)>) {
        let mut dependencies = Map::new();
        let mut results = Vec::new();
        for &dep in &self.stages[s].deps {
            let node = &self.stages[dep];
            let name = self.plan.stages.get(node.index).map(|stage| stage.name.clone()).unwrap_or_default();
            let result = node.state.result().unwrap_or(TaskResult::Skipped);
            let mut outputs = Map::new();
            for job in &node.jobs {
                let job_name = self.plan_job(node.index, job.index).map(|job| job.name.as_str()).unwrap_or_default();
                for (key, value) in &job.outputs {
                    outputs.insert(format!("{job_name}.{key}"), value.clone());
                }
            }
            dependencies.insert(name.clone(), json!({ "result": result.as_str(), "outputs": outputs }));
            results.push((name, result));
        }
        (Json::Object(dependencies), results)
    }

    /// `stageDependencies` for the jobs of a stage: the jobs of the stages it depends on.
    fn stage_dependencies(&self, s: usize) -> Json {
        let mut stages = Map::new();
        for &dep in &self.stages[s].deps {
            let node = &self.stages[dep];
            let Some(stage) = self.plan.stages.get(node.index) else { continue };
            let mut jobs = Map::new();
            for job in &node.jobs {
                let name = self.plan_job(node.index, job.index).map(|job| job.name.clone()).unwrap_or_default();
                let result = job.state.result().unwrap_or(TaskResult::Skipped);
                jobs.insert(name, json!({ "result": result.as_str(), "outputs": job.outputs }));
            }
            stages.insert(stage.name.clone(), Json::Object(jobs));
        }
        Json::Object(stages)
    }

    fn step_stage(&mut self, s: usize, out: &mut Vec<Decision>) -> bool {
        match self.stages[s].state {
            State::Done(_) => false,
            State::Pending => {
                let deps_done = self.stages[s].deps.iter().all(|&dep| matches!(self.stages[dep].state, State::Done(_)));
                if !deps_done {
                    return false;
                }
                let index = self.stages[s].index;
                let plan = Arc::clone(&self.plan);
                let Some(stage) = plan.stages.get(index) else { return false };
                let (dependencies, results) = self.stage_context(s);
                let stage_dependencies = self.stage_dependencies(s);
                let context = Context {
                    variables: &self.base,
                    dependencies: Some(&dependencies),
                    stage_dependencies: Some(&stage_dependencies),
                    status: Status::Dependencies { results: &results, canceled: self.canceled },
                    counters: None,
                    parameters: &plan.parameters,
                };
                match expr::condition(stage.condition.as_ref(), &context) {
                    Ok(true) if self.gates.get(&index).is_some_and(|gate| *gate != Gate::Open) => {
                        return self.step_gate(s, index, out);
                    }
                    Ok(true) => {
                        let mut variables = self.base.clone();
                        let mut warnings = Vec::new();
                        self.add_variables(
                            &mut variables,
                            &stage.variables,
                            &dependencies,
                            &stage_dependencies,
                            &results,
                            &mut warnings,
                        );
                        self.warnings.extend(warnings);
                        self.stages[s].variables = Some(variables);
                        self.stages[s].state = State::Running;
                        out.push(Decision::StageStarted { stage: index });
                    }
                    Ok(false) => {
                        self.stages[s].state = State::Done(TaskResult::Skipped);
                        let message = stage.condition.as_ref().map_or_else(
                            || "a dependency did not succeed".to_owned(),
                            |c| format!("condition '{}' was false", c.source),
                        );
                        out.push(Decision::StageFinished {
                            stage: index,
                            result: TaskResult::Skipped,
                            message: Some(message),
                        });
                    }
                    Err(error) => {
                        self.stages[s].state = State::Done(TaskResult::Failed);
                        out.push(Decision::StageFinished {
                            stage: index,
                            result: TaskResult::Failed,
                            message: Some(format!("the condition could not be evaluated: {error}")),
                        });
                    }
                }
                true
            }
            State::Running => {
                let mut progressed = false;
                for j in 0..self.stages[s].jobs.len() {
                    progressed |= self.step_job(s, j, out);
                }
                let stage = &self.stages[s];
                if stage.jobs.iter().all(|job| matches!(job.state, State::Done(_))) {
                    let result = stage
                        .jobs
                        .iter()
                        .filter_map(|job| job.state.result())
                        .fold(None, TaskResult::merge)
                        .unwrap_or(TaskResult::Skipped);
                    let index = stage.index;
                    self.stages[s].state = State::Done(result);
                    out.push(Decision::StageFinished { stage: index, result, message: None });
                    progressed = true;
                }
                progressed
            }
        }
    }

    /// A stage whose condition holds at its closed gate: says that it waits (once), ends it when
    /// the gate failed or the run was cancelled meanwhile.
    fn step_gate(&mut self, s: usize, index: usize, out: &mut Vec<Decision>) -> bool {
        let Some(gate) = self.gates.get_mut(&index) else { return false };
        let ended = match gate {
            Gate::Open => return false,
            Gate::Closed if !self.canceled => {
                *gate = Gate::Waiting;
                out.push(Decision::StageWaiting { stage: index });
                return true;
            }
            Gate::Waiting if !self.canceled => return false,
            Gate::Closed | Gate::Waiting => {
                (TaskResult::Canceled, "the run was cancelled while the stage waited for its checks".to_owned())
            }
            Gate::Failed(message) => (TaskResult::Failed, message.clone()),
        };
        *gate = Gate::Open;
        let (result, message) = ended;
        self.stages[s].state = State::Done(result);
        for job in &mut self.stages[s].jobs {
            job.state = State::Done(TaskResult::Skipped);
            out.push(Decision::JobFinished {
                stage: index,
                job: job.index,
                result: TaskResult::Skipped,
                message: Some(format!("the stage did not start: {message}")),
            });
        }
        out.push(Decision::StageFinished { stage: index, result, message: Some(message) });
        true
    }

    fn step_job(&mut self, s: usize, j: usize, out: &mut Vec<Decision>) -> bool {
        let stage_index = self.stages[s].index;
        let job_index = self.stages[s].jobs[j].index;
        let plan = Arc::clone(&self.plan);
        let Some(job) = plan.stages.get(stage_index).and_then(|stage| stage.jobs.get(job_index)) else {
            return false;
        };
        match self.stages[s].jobs[j].state {
            State::Done(_) => false,
            State::Pending => {
                let node = &self.stages[s].jobs[j];
                if !node.deps.iter().all(|&dep| matches!(self.stages[s].jobs[dep].state, State::Done(_))) {
                    return false;
                }
                let mut dependencies = Map::new();
                let mut results = Vec::new();
                for &dep in &node.deps {
                    let dep_node = &self.stages[s].jobs[dep];
                    let name =
                        self.plan_job(stage_index, dep_node.index).map(|job| job.name.clone()).unwrap_or_default();
                    let result = dep_node.state.result().unwrap_or(TaskResult::Skipped);
                    dependencies
                        .insert(name.clone(), json!({ "result": result.as_str(), "outputs": dep_node.outputs }));
                    results.push((name, result));
                }
                let dependencies = Json::Object(dependencies);
                let stage_dependencies = self.stage_dependencies(s);
                let empty = Variables::new();
                let stage_variables = self.stages[s].variables.as_ref().unwrap_or(&empty);
                let context = Context {
                    variables: stage_variables,
                    dependencies: Some(&dependencies),
                    stage_dependencies: Some(&stage_dependencies),
                    status: Status::Dependencies { results: &results, canceled: self.canceled },
                    counters: None,
                    parameters: &plan.parameters,
                };
                match expr::condition(job.condition.as_ref(), &context) {
                    Ok(true) => {
                        let mut variables = stage_variables.clone();
                        let mut warnings = Vec::new();
                        self.add_variables(
                            &mut variables,
                            &job.variables,
                            &dependencies,
                            &stage_dependencies,
                            &results,
                            &mut warnings,
                        );
                        self.warnings.extend(warnings);
                        if plan.dialect == slipway_plan::Dialect::GithubActions {
                            // GitHub's `needs` context, for the job's steps wherever they run.
                            variables
                                .force(Variable::readonly(crate::github::NEEDS_VARIABLE, dependencies.to_string()));
                        }
                        let canceled = self.canceled;
                        let node = &mut self.stages[s].jobs[j];
                        node.variables = Some(variables);
                        node.state = State::Running;
                        node.started_after_cancel = canceled;
                    }
                    Ok(false) => {
                        self.stages[s].jobs[j].state = State::Done(TaskResult::Skipped);
                        let message = job.condition.as_ref().map_or_else(
                            || "a dependency did not succeed".to_owned(),
                            |c| format!("condition '{}' was false", c.source),
                        );
                        out.push(Decision::JobFinished {
                            stage: stage_index,
                            job: job_index,
                            result: TaskResult::Skipped,
                            message: Some(message),
                        });
                    }
                    Err(error) => {
                        self.stages[s].jobs[j].state = State::Done(TaskResult::Failed);
                        out.push(Decision::JobFinished {
                            stage: stage_index,
                            job: job_index,
                            result: TaskResult::Failed,
                            message: Some(format!("the condition could not be evaluated: {error}")),
                        });
                    }
                }
                true
            }
            State::Running => {
                let mut progressed = false;
                let limit = job.max_parallel.map_or(usize::MAX, |limit| (limit as usize).max(1));
                let canceled = self.canceled;
                let node = &mut self.stages[s].jobs[j];
                let mut job_running = node.legs.iter().filter(|leg| leg.state == State::Running).count();
                // A rolling deployment stops at the first target that fails.
                let stopped = job.stop_on_failure
                    && node
                        .legs
                        .iter()
                        .any(|leg| matches!(leg.state, State::Done(TaskResult::Failed | TaskResult::Canceled)));
                for (l, leg) in node.legs.iter_mut().enumerate() {
                    if leg.state != State::Pending {
                        continue;
                    }
                    if canceled && !node.started_after_cancel {
                        leg.state = State::Done(TaskResult::Canceled);
                        progressed = true;
                        continue;
                    }
                    if stopped {
                        leg.state = State::Done(TaskResult::Skipped);
                        progressed = true;
                        continue;
                    }
                    if self.running >= self.max_parallel || job_running >= limit {
                        break;
                    }
                    leg.state = State::Running;
                    self.running += 1;
                    job_running += 1;
                    let mut variables = node.variables.clone().unwrap_or_default();
                    if let Some(plan_leg) = job.legs.get(l) {
                        for (name, value) in &plan_leg.variables {
                            variables.force(Variable::new(name.clone(), value.clone()));
                        }
                    }
                    out.push(Decision::StartLeg {
                        leg: LegId { stage: stage_index, job: job_index, leg: l },
                        variables,
                    });
                    progressed = true;
                }
                if node.legs.iter().all(|leg| matches!(leg.state, State::Done(_))) {
                    // A failed leg that continues on error (the job's setting, or the leg's
                    // own) counts as succeeded with issues.
                    let result = node
                        .legs
                        .iter()
                        .enumerate()
                        .filter_map(|(l, leg)| {
                            let result = leg.state.result()?;
                            let continues =
                                job.legs.get(l).and_then(|leg| leg.continue_on_error).unwrap_or(job.continue_on_error);
                            Some(if continues && result == TaskResult::Failed {
                                TaskResult::SucceededWithIssues
                            } else {
                                result
                            })
                        })
                        .fold(None, TaskResult::merge)
                        .unwrap_or(TaskResult::Skipped);
                    node.state = State::Done(result);
                    out.push(Decision::JobFinished { stage: stage_index, job: job_index, result, message: None });
                    progressed = true;
                }
                progressed
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::VecDeque;

    use slipway_plan::{Action, Condition, Dialect, Leg, Shell, Stage, Step};

    use super::*;

    pub(crate) fn cond(text: &str) -> Condition {
        let expression = slipway_expr::parse(text).unwrap_or_else(|error| panic!("{text}: {error}"));
        Condition { source: text.to_owned(), expression: expression.into(), span: None }
    }

    #[expect(dead_code, reason = "kept beside the other plan builders for tests that need steps")]
    pub(crate) fn script(text: &str) -> Step {
        Step::new(Action::Script { shell: Shell::Bash, script: text.to_owned() })
    }

    pub(crate) fn job(name: &str, depends_on: &[&str], steps: Vec<Step>) -> Job {
        Job { depends_on: depends_on.iter().map(|&d| d.to_owned()).collect(), ..Job::new(name, steps) }
    }

    pub(crate) fn stage(name: &str, depends_on: &[&str], jobs: Vec<Job>) -> Stage {
        Stage { depends_on: depends_on.iter().map(|&d| d.to_owned()).collect(), ..Stage::new(name, jobs) }
    }

    pub(crate) fn plan(stages: Vec<Stage>) -> Plan {
        Plan::new(Dialect::AzurePipelines, stages)
    }

    pub(crate) fn var(name: &str, value: &str) -> PlanVariable {
        PlanVariable::Value { name: name.to_owned(), value: value.to_owned(), readonly: false }
    }

    /// What happened, in words, while driving a scheduler with a fake executor.
    struct Trace {
        lines: Vec<String>,
        max_running: usize,
        variables: Vec<(String, Variables)>,
        result: Option<TaskResult>,
    }

    fn name_of(plan: &Plan, leg: LegId) -> String {
        crate::job_key(plan, leg)
    }

    type Fake<'a> = &'a dyn Fn(&str) -> (TaskResult, Vec<(String, String)>);

    /// Runs the scheduler to the end: legs finish in the order they started, with the result and
    /// outputs `fake` gives; `cancel_after` cancels once that many legs finished.
    fn drive(plan: Plan, selection: &Selection, max: usize, cancel_after: Option<usize>, fake: Fake<'_>) -> Trace {
        let plan = Arc::new(plan);
        let mut scheduler =
            Scheduler::new(Arc::clone(&plan), Variables::new(), selection, max).unwrap_or_else(|e| panic!("{e}"));
        let mut trace = Trace { lines: Vec::new(), max_running: 0, variables: Vec::new(), result: None };
        let mut running: VecDeque<LegId> = VecDeque::new();
        let mut finished = 0;
        loop {
            for decision in scheduler.poll() {
                match decision {
                    Decision::StageWaiting { stage } => {
                        trace.lines.push(format!("stage {} waits", plan.stages[stage].name))
                    }
                    Decision::StageStarted { stage } => {
                        trace.lines.push(format!("stage {} started", plan.stages[stage].name))
                    }
                    Decision::StageFinished { stage, result, .. } => {
                        trace.lines.push(format!("stage {} {result}", plan.stages[stage].name));
                    }
                    Decision::StartLeg { leg, variables } => {
                        let name = name_of(&plan, leg);
                        trace.lines.push(format!("start {name}"));
                        trace.variables.push((name, variables));
                        running.push_back(leg);
                        trace.max_running = trace.max_running.max(running.len());
                    }
                    Decision::JobFinished { stage, job, result, .. } => trace.lines.push(format!(
                        "job {}.{} {result}",
                        plan.stages[stage].name, plan.stages[stage].jobs[job].name
                    )),
                    Decision::RunFinished { result } => trace.result = Some(result),
                }
            }
            if trace.result.is_some() {
                return trace;
            }
            let Some(leg) = running.pop_front() else { panic!("stuck: {:?}", trace.lines) };
            let (result, outputs) = fake(&name_of(&plan, leg));
            scheduler.leg_finished(leg, result, outputs);
            finished += 1;
            if cancel_after == Some(finished) {
                scheduler.cancel();
            }
        }
    }

    fn ok(_: &str) -> (TaskResult, Vec<(String, String)>) {
        (TaskResult::Succeeded, Vec::new())
    }

    #[test]
    fn default_and_custom_conditions_after_a_failure() {
        let mut on_failure = job("OnFailure", &["A"], vec![]);
        on_failure.condition = Some(cond("failed()"));
        let mut always = job("Always", &["B"], vec![]);
        always.condition = Some(cond("always()"));
        let mut named = job("Named", &["A", "B"], vec![]);
        named.condition = Some(cond("and(failed('A'), eq(dependencies.B.result, 'Skipped'))"));
        let p = plan(vec![stage(
            "S",
            &[],
            vec![job("A", &[], vec![]), job("B", &["A"], vec![]), on_failure, always, job("C", &["B"], vec![]), named],
        )]);
        let trace = drive(p, &Selection::default(), 4, None, &|name| {
            if name == "S.A" { (TaskResult::Failed, vec![]) } else { ok(name) }
        });
        assert_eq!(
            trace.lines,
            [
                "stage S started",
                "start S.A",
                "job S.A Failed",
                "job S.B Skipped",
                "job S.C Skipped",
                "start S.OnFailure",
                "start S.Always",
                "start S.Named",
                "job S.OnFailure Succeeded",
                "job S.Always Succeeded",
                "job S.Named Succeeded",
                "stage S Failed"
            ]
        );
        assert_eq!(trace.result, Some(TaskResult::Failed));
    }

    #[test]
    fn stages_wait_for_and_skip_after_their_dependencies() {
        let mut cleanup = stage("Cleanup", &["Deploy"], vec![job("C", &[], vec![])]);
        cleanup.condition = Some(cond("always()"));
        let p = plan(vec![
            stage("Build", &[], vec![job("A", &[], vec![])]),
            stage("Deploy", &["Build"], vec![job("D", &[], vec![])]),
            cleanup,
        ]);
        let trace = drive(p, &Selection::default(), 2, None, &|_| (TaskResult::Failed, vec![]));
        assert_eq!(
            trace.lines,
            [
                "stage Build started",
                "start Build.A",
                "job Build.A Failed",
                "stage Build Failed",
                "stage Deploy Skipped",
                "stage Cleanup started",
                "start Cleanup.C",
                "job Cleanup.C Failed",
                "stage Cleanup Failed"
            ]
        );
    }

    /// The decisions of one poll, in words.
    fn words(plan: &Plan, decisions: Vec<Decision>) -> Vec<String> {
        decisions
            .into_iter()
            .map(|decision| match decision {
                Decision::StageWaiting { stage } => format!("stage {} waits", plan.stages[stage].name),
                Decision::StageStarted { stage } => format!("stage {} started", plan.stages[stage].name),
                Decision::StageFinished { stage, result, message } => {
                    format!("stage {} {result} {}", plan.stages[stage].name, message.unwrap_or_default())
                }
                Decision::StartLeg { leg, .. } => format!("start {}", name_of(plan, leg)),
                Decision::JobFinished { stage, job, result, .. } => {
                    format!("job {}.{} {result}", plan.stages[stage].name, plan.stages[stage].jobs[job].name)
                }
                Decision::RunFinished { result } => format!("run {result}"),
            })
            .collect()
    }

    #[test]
    fn a_gated_stage_waits_for_its_gate_once_then_starts_or_fails() {
        let p = Arc::new(plan(vec![
            stage("Build", &[], vec![job("A", &[], vec![])]),
            stage("Deploy", &["Build"], vec![job("D", &[], vec![])]),
        ]));
        let mut scheduler = Scheduler::new(Arc::clone(&p), Variables::new(), &Selection::default(), 4)
            .unwrap_or_else(|e| panic!("{e}"));
        scheduler.gate_stage(1);
        assert_eq!(words(&p, scheduler.poll()), ["stage Build started", "start Build.A"]);
        assert!(scheduler.waiting_stages().is_empty(), "a stage waits only once its dependencies are done");
        scheduler.leg_finished(LegId { stage: 0, job: 0, leg: 0 }, TaskResult::Succeeded, vec![]);
        assert_eq!(
            words(&p, scheduler.poll()),
            ["job Build.A Succeeded", "stage Build Succeeded ", "stage Deploy waits"]
        );
        assert_eq!(scheduler.waiting_stages(), [1]);
        assert!(scheduler.poll().is_empty(), "the wait is said once");
        let mut failing = Scheduler::new(Arc::clone(&p), Variables::new(), &Selection::default(), 4)
            .unwrap_or_else(|e| panic!("{e}"));
        failing.gate_stage(1);
        let _ = failing.poll();
        failing.leg_finished(LegId { stage: 0, job: 0, leg: 0 }, TaskResult::Succeeded, vec![]);
        let _ = failing.poll();
        scheduler.open_gate(1);
        assert_eq!(words(&p, scheduler.poll()), ["stage Deploy started", "start Deploy.D"]);
        failing.fail_gate(1, "the approval was rejected".to_owned());
        assert_eq!(
            words(&p, failing.poll()),
            ["job Deploy.D Skipped", "stage Deploy Failed the approval was rejected", "run Failed"]
        );
    }

    #[test]
    fn a_cancel_ends_a_waiting_stage_and_an_open_gate_is_not_asked() {
        let mut cleanup = stage("Cleanup", &[], vec![job("C", &[], vec![])]);
        cleanup.condition = Some(cond("always()"));
        let p = Arc::new(plan(vec![cleanup, stage("Other", &[], vec![job("O", &[], vec![])])]));
        let mut scheduler = Scheduler::new(Arc::clone(&p), Variables::new(), &Selection::default(), 4)
            .unwrap_or_else(|e| panic!("{e}"));
        scheduler.gate_stage(0);
        scheduler.gate_stage(1);
        // A stage that already started before a restart has its gate opened first.
        scheduler.open_gate(1);
        assert_eq!(words(&p, scheduler.poll()), ["stage Cleanup waits", "stage Other started", "start Other.O"]);
        scheduler.cancel();
        assert_eq!(
            words(&p, scheduler.poll()),
            [
                "job Cleanup.C Skipped",
                "stage Cleanup Canceled the run was cancelled while the stage waited for its checks"
            ]
        );
    }

    #[test]
    fn a_job_that_stops_on_failure_starts_no_leg_after_one_failed() {
        let mut rolling = job("ship", &[], vec![]);
        rolling.legs = ["vm1", "vm2", "vm3", "vm4"]
            .iter()
            .map(|&n| Leg {
                name: Some(n.into()),
                display_name: None,
                variables: vec![],
                target: None,
                matrix: None,
                continue_on_error: None,
            })
            .collect();
        rolling.max_parallel = Some(1);
        rolling.stop_on_failure = true;
        let trace = drive(plan(vec![stage("Deploy", &[], vec![rolling])]), &Selection::default(), 4, None, &|name| {
            if name == "Deploy.ship.vm2" { (TaskResult::Failed, vec![]) } else { ok(name) }
        });
        assert_eq!(
            trace.lines,
            [
                "stage Deploy started",
                "start Deploy.ship.vm1",
                "start Deploy.ship.vm2",
                "job Deploy.ship Failed",
                "stage Deploy Failed"
            ]
        );
    }

    #[test]
    fn continue_on_error_jobs_let_dependents_run() {
        let mut flaky = job("Flaky", &[], vec![]);
        flaky.continue_on_error = true;
        let p = plan(vec![stage("S", &[], vec![flaky, job("Next", &["Flaky"], vec![])])]);
        let trace = drive(p, &Selection::default(), 2, None, &|name| {
            if name == "S.Flaky" { (TaskResult::Failed, vec![]) } else { ok(name) }
        });
        assert!(trace.lines.contains(&"job S.Flaky SucceededWithIssues".to_owned()));
        assert!(trace.lines.contains(&"start S.Next".to_owned()));
        assert_eq!(trace.result, Some(TaskResult::SucceededWithIssues));
    }

    #[test]
    fn jobs_limit_and_max_parallel_bound_running_legs() {
        let jobs: Vec<Job> = (0..6).map(|i| job(&format!("J{i}"), &[], vec![])).collect();
        let trace = drive(plan(vec![stage("S", &[], jobs)]), &Selection::default(), 2, None, &ok);
        assert_eq!(trace.max_running, 2);

        let mut matrix = job("M", &[], vec![]);
        matrix.legs = ["a", "b", "c"]
            .iter()
            .map(|&name| Leg {
                name: Some(name.into()),
                display_name: None,
                variables: vec![("os".into(), name.into())],
                target: None,
                matrix: None,
                continue_on_error: None,
            })
            .collect();
        matrix.max_parallel = Some(1);
        let trace = drive(plan(vec![stage("S", &[], vec![matrix])]), &Selection::default(), 8, None, &ok);
        assert_eq!(trace.max_running, 1);
        assert_eq!(trace.lines.iter().filter(|line| line.starts_with("start")).count(), 3);
        assert_eq!(trace.variables[2].1.value("os"), Some("c"));
    }

    #[test]
    fn selection_runs_what_the_selected_jobs_depend_on() {
        let p = plan(vec![
            stage("One", &[], vec![job("X", &[], vec![]), job("Unrelated", &[], vec![])]),
            stage("Two", &["One"], vec![job("A", &[], vec![]), job("B", &["A"], vec![]), job("C", &[], vec![])]),
            stage("Three", &[], vec![job("Z", &[], vec![])]),
        ]);
        let selection = Selection { stages: vec![], jobs: vec!["Two.B".into()] };
        let trace = drive(p.clone(), &selection, 1, None, &ok);
        let started: Vec<&String> = trace.lines.iter().filter(|line| line.starts_with("start")).collect();
        assert_eq!(started, ["start One.X", "start One.Unrelated", "start Two.A", "start Two.B"]);

        let selection = Selection { stages: vec!["Three".into()], jobs: vec![] };
        let trace = drive(p.clone(), &selection, 1, None, &ok);
        assert_eq!(trace.lines.iter().filter(|line| line.starts_with("start")).count(), 1);

        let bad = Selection { stages: vec!["Nope".into()], jobs: vec![] };
        assert!(matches!(
            Scheduler::new(Arc::new(p), Variables::new(), &bad, 1),
            Err(ScheduleError::UnknownSelection { .. })
        ));
    }

    #[test]
    fn cancel_cancels_pending_legs_and_runs_always_jobs() {
        let mut always = job("Cleanup", &["B"], vec![]);
        always.condition = Some(cond("always()"));
        let mut when_canceled = job("OnCancel", &["B"], vec![]);
        when_canceled.condition = Some(cond("canceled()"));
        let mut matrix = job("B", &["A"], vec![]);
        matrix.legs = ["x", "y"]
            .iter()
            .map(|&n| Leg {
                name: Some(n.into()),
                display_name: None,
                variables: vec![],
                target: None,
                matrix: None,
                continue_on_error: None,
            })
            .collect();
        matrix.max_parallel = Some(1);
        let p = plan(vec![stage(
            "S",
            &[],
            vec![job("A", &[], vec![]), matrix, job("After", &["B"], vec![]), always, when_canceled],
        )]);
        let trace = drive(p, &Selection::default(), 4, Some(2), &|name| {
            if name == "S.B.x" { (TaskResult::Canceled, vec![]) } else { ok(name) }
        });
        assert!(trace.lines.contains(&"job S.B Canceled".to_owned()), "{:?}", trace.lines);
        assert!(!trace.lines.contains(&"start S.B.y".to_owned()));
        assert!(trace.lines.contains(&"job S.After Skipped".to_owned()));
        assert!(trace.lines.contains(&"start S.Cleanup".to_owned()));
        assert!(trace.lines.contains(&"start S.OnCancel".to_owned()));
        assert_eq!(trace.result, Some(TaskResult::Canceled));
    }

    #[test]
    fn output_variables_flow_to_jobs_and_stages() {
        let mut matrix = job("M", &[], vec![]);
        matrix.legs = vec![Leg {
            name: Some("linux".into()),
            display_name: None,
            variables: vec![],
            target: None,
            matrix: None,
            continue_on_error: None,
        }];
        let mut b = job("B", &["A", "M"], vec![]);
        b.variables = vec![
            var("fromA", "$[ dependencies.A.outputs['setter.version'] ]"),
            var("fromLeg", "$[dependencies.M.outputs['linux.setter.version']]"),
        ];
        let mut later = job("L", &[], vec![]);
        later.variables = vec![var("crossStage", "$[ stageDependencies.First.A.outputs['setter.version'] ]")];
        let mut second = stage("Second", &["First"], vec![later]);
        second.condition = Some(cond("eq(dependencies.First.outputs['A.setter.version'], '1.2')"));
        let p = plan(vec![stage("First", &[], vec![job("A", &[], vec![]), matrix, b]), second]);
        let trace = drive(p, &Selection::default(), 2, None, &|name| match name {
            "First.A" => (TaskResult::Succeeded, vec![("setter.version".into(), "1.2".into())]),
            "First.M.linux" => (TaskResult::Succeeded, vec![("setter.version".into(), "leg".into())]),
            _ => ok(name),
        });
        let vars = |job: &str| {
            trace.variables.iter().find(|(name, _)| name == job).map(|(_, v)| v.clone()).unwrap_or_default()
        };
        assert_eq!(vars("First.B").value("fromA"), Some("1.2"));
        assert_eq!(vars("First.B").value("fromLeg"), Some("leg"));
        assert_eq!(vars("Second.L").value("crossStage"), Some("1.2"));
        assert!(trace.lines.contains(&"stage Second started".to_owned()));
    }

    #[test]
    fn variables_follow_azure_scopes() {
        let mut p = plan(vec![]);
        p.variables = vec![var("where", "pipeline"), var("pipelineOnly", "p")];
        let mut s = stage("S", &[], vec![]);
        s.variables = vec![var("where", "stage")];
        let mut j = job("J", &[], vec![]);
        j.variables = vec![var("where", "job")];
        j.legs = vec![Leg {
            name: Some("l".into()),
            display_name: None,
            variables: vec![("where".into(), "leg".into())],
            target: None,
            matrix: None,
            continue_on_error: None,
        }];
        let mut k = job("K", &[], vec![]);
        k.variables = vec![var("where", "job")];
        s.jobs = vec![j, k];
        p.stages = vec![s];
        let mut base = Variables::new();
        base.force(Variable::new("where", "queue"));
        base.force(Variable::new("queueOnly", "q"));
        let plan = Arc::new(p);
        let mut scheduler = Scheduler::new(plan, base, &Selection::default(), 4).unwrap_or_else(|e| panic!("{e}"));
        let legs: Vec<Variables> = scheduler
            .poll()
            .into_iter()
            .filter_map(|d| match d {
                Decision::StartLeg { variables, .. } => Some(variables),
                _ => None,
            })
            .collect();
        assert_eq!(legs[0].value("where"), Some("leg"));
        assert_eq!(legs[1].value("where"), Some("job"));
        assert_eq!(legs[1].value("pipelineOnly"), Some("p"));
        assert_eq!(legs[1].value("queueOnly"), Some("q"));
    }

    #[test]
    fn variable_groups_stand_where_they_are_named() {
        let group = |name: &str| PlanVariable::Group { name: name.to_owned() };
        let mut p = plan(vec![]);
        p.variables = vec![var("fromGroup", "overridden before"), group("shared"), var("after", "yaml")];
        let mut j = job("J", &[], vec![]);
        j.variables = vec![group("Job Group")];
        let k = job("K", &[], vec![]);
        p.stages = vec![stage("S", &[], vec![j, k])];
        let groups = vec![
            (
                "Shared".to_owned(),
                vec![
                    Variable::new("fromGroup", "group"),
                    Variable::new("after", "group"),
                    Variable::secret("token", "hush"),
                ],
            ),
            ("job group".to_owned(), vec![Variable::new("jobOnly", "yes")]),
        ];
        let counters = crate::counters::Counters::default();
        let mut scheduler =
            Scheduler::with_variable_groups(Arc::new(p), Variables::new(), &Selection::default(), 4, counters, groups)
                .unwrap_or_else(|e| panic!("{e}"));
        assert!(scheduler.take_warnings().is_empty());
        let legs: Vec<Variables> = scheduler
            .poll()
            .into_iter()
            .filter_map(|d| match d {
                Decision::StartLeg { variables, .. } => Some(variables),
                _ => None,
            })
            .collect();
        assert_eq!(legs[0].value("fromGroup"), Some("group"));
        assert_eq!(legs[0].value("after"), Some("yaml"));
        assert!(legs[0].get("token").is_some_and(|token| token.secret && token.value == "hush"));
        assert_eq!(legs[0].value("jobOnly"), Some("yes"));
        assert_eq!(legs[1].value("jobOnly"), None);
        // Without the group's variables, the entry is a warning.
        let mut p = plan(vec![stage("S", &[], vec![job("J", &[], vec![])])]);
        p.variables = vec![group("missing")];
        let mut scheduler =
            Scheduler::new(Arc::new(p), Variables::new(), &Selection::default(), 1).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(scheduler.take_warnings().len(), 1);
    }

    #[test]
    fn rejects_unknown_dependencies_and_cycles() {
        let p = plan(vec![stage("S", &[], vec![job("A", &["Nope"], vec![])])]);
        assert!(matches!(
            Scheduler::new(Arc::new(p), Variables::new(), &Selection::default(), 1),
            Err(ScheduleError::UnknownDependency { .. })
        ));
        let p = plan(vec![stage("S", &[], vec![job("A", &["B"], vec![]), job("B", &["A"], vec![])])]);
        assert!(matches!(
            Scheduler::new(Arc::new(p), Variables::new(), &Selection::default(), 1),
            Err(ScheduleError::Cycle { .. })
        ));
        let p = plan(vec![
            stage("S", &["T"], vec![job("A", &[], vec![])]),
            stage("T", &["S"], vec![job("B", &[], vec![])]),
        ]);
        assert!(matches!(
            Scheduler::new(Arc::new(p), Variables::new(), &Selection::default(), 1),
            Err(ScheduleError::Cycle { .. })
        ));
    }

    fn github_if(text: &str) -> Condition {
        let expression = slipway_plan::GithubExpression::parse(text).unwrap_or_else(|error| panic!("{text}: {error}"));
        Condition { source: text.to_owned(), expression: expression.into(), span: None }
    }

    #[test]
    fn github_jobs_follow_githubs_if_and_see_their_needs() {
        let mut matrix = job("build", &[], vec![]);
        matrix.legs = ["a", "b"]
            .iter()
            .map(|&name| Leg {
                name: Some(name.into()),
                matrix: Some(serde_json::json!({ "os": name })),
                ..Leg::single()
            })
            .collect();
        let lint = job("lint", &[], vec![]);
        let mut docs = job("docs", &["lint"], vec![]);
        docs.condition = Some(github_if("github.ref == 'refs/heads/nowhere'"));
        let after_docs = job("after-docs", &["docs"], vec![]);
        let mut always = job("report", &["docs", "build"], vec![]);
        always.condition = Some(github_if("always() && needs.build.outputs.version == '2'"));
        let mut on_failure = job("on-failure", &["lint"], vec![]);
        on_failure.condition = Some(github_if("failure()"));
        let mut p = plan(vec![stage("__default", &[], vec![matrix, lint, docs, after_docs, always, on_failure])]);
        p.dialect = Dialect::GithubActions;
        let trace = drive(p, &Selection::default(), 4, None, &|name| match name {
            "__default.build.a" => (TaskResult::Succeeded, vec![("version".into(), "1".into())]),
            "__default.build.b" => (TaskResult::Succeeded, vec![("version".into(), "2".into())]),
            _ => ok(name),
        });
        let lines = &trace.lines;
        assert!(lines.contains(&"job __default.docs Skipped".to_owned()), "{lines:?}");
        assert!(lines.contains(&"job __default.after-docs Skipped".to_owned()), "a skipped need skips: {lines:?}");
        assert!(lines.contains(&"job __default.on-failure Skipped".to_owned()), "{lines:?}");
        assert!(lines.contains(&"start __default.report".to_owned()), "{lines:?}");
        let needs = trace
            .variables
            .iter()
            .find(|(name, _)| name == "__default.report")
            .and_then(|(_, variables)| variables.value(crate::github::NEEDS_VARIABLE).map(str::to_owned))
            .expect("the needs variable");
        let needs: serde_json::Value = serde_json::from_str(&needs).expect("JSON");
        assert_eq!(needs["build"]["outputs"]["version"], "2", "the last leg's output, unprefixed");
        assert_eq!(needs["docs"]["result"], "Skipped");
    }
}
