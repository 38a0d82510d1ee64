//! The run driver: the one place a run's scheduling decisions become what the rest of Slipway
//! acts on. `slipway run` hands the legs it starts to threads; the server queues them in its
//! store for agents. Both get the same events (stages started and finished, with durations; the
//! run finished, with its duration), the same job keys and display names, the same jobs that
//! never started, and the same warnings, from [`Driver::poll`].
//!
//! Like the scheduler under it, the driver does no I/O and reads no clock: the caller passes the
//! time (milliseconds since the Unix epoch) to each call. A driver can be built again for a run
//! that is under way (the server after a restart): [`Driver::restore_stage`] tells it which
//! stages already started and finished, so that it neither reports them twice nor loses their
//! start times.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use slipway_events::{Event, TaskResult};
use slipway_plan::{JobKind, Plan};

use crate::counters::Counters;
use crate::scheduler::{Decision, LegId, ScheduleError, Scheduler, Selection};
use crate::variables::{Variable, Variables};

/// The key of a leg, as events, logs and the server's jobs name it: `stage.job`, or
/// `stage.job.leg` for the legs of matrix and parallel jobs (made by [`slipway_plan::job_key`]).
/// Empty when the leg is not in the plan.
#[must_use]
pub fn job_key(plan: &Plan, leg: LegId) -> String {
    let Some(stage) = plan.stages.get(leg.stage) else { return String::new() };
    let Some(job) = stage.jobs.get(leg.job) else { return stage.name.clone() };
    slipway_plan::job_key(&stage.name, &job.name, job.legs.get(leg.leg).and_then(|leg| leg.name.as_deref()))
}

/// A leg to start now.
#[derive(Clone, Debug)]
pub struct LegStart {
    /// Which leg.
    pub leg: LegId,
    /// Its key ([`job_key`]).
    pub key: String,
    /// The stage's name.
    pub stage: String,
    /// The job's name.
    pub job: String,
    /// The leg's name, for the legs of matrix and parallel jobs.
    pub leg_name: Option<String>,
    /// What people see: the leg's display name, or the job's with the leg's name after it.
    pub display_name: String,
    /// The environment a deployment job deploys to.
    pub environment: Option<String>,
    /// Its variables: pipeline, stage, job and leg scopes, runtime expressions evaluated.
    pub variables: Variables,
}

/// A job that ended: all its legs did, or it never started (skipped by its condition or its
/// dependencies, cancelled before it started).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobEnd {
    /// Index of the stage.
    pub stage: usize,
    /// Index of the job.
    pub job: usize,
    /// Its key (`stage.job`).
    pub key: String,
    /// The stage's name.
    pub stage_name: String,
    /// The job's name.
    pub job_name: String,
    /// What people see.
    pub display_name: String,
    /// Its result.
    pub result: TaskResult,
    /// Why, when not obvious.
    pub message: Option<String>,
    /// From the start of its first leg; 0 when it never started.
    pub duration_ms: u64,
    /// Whether any of its legs started.
    pub started: bool,
}

impl JobEnd {
    /// The `jobFinished` event of this job.
    #[must_use]
    pub fn event(&self, time: u64) -> Event {
        Event::JobFinished {
            time,
            job: self.key.clone(),
            result: self.result,
            duration_ms: self.duration_ms,
            message: self.message.clone(),
        }
    }
}

/// What to do next, in order.
#[derive(Clone, Debug)]
pub enum Step {
    /// Record (and show) this event: a stage started or finished, or the run finished.
    Event(Event),
    /// This stage (by index into the plan's stages) waits for its gate: see
    /// [`Driver::gate_stage`].
    StageWaiting(usize),
    /// Start this leg.
    StartLeg(Box<LegStart>),
    /// This job ended.
    JobFinished(JobEnd),
    /// Something about the run's variables people should know (mask it before showing it).
    Warning(String),
}

/// The driver. See the module documentation.
#[derive(Debug)]
pub struct Driver {
    scheduler: Scheduler,
    plan: Arc<Plan>,
    started_ms: u64,
    stage_started: HashMap<usize, u64>,
    /// Stages whose start and end were recorded before the driver was built again.
    restored_started: HashSet<usize>,
    restored_finished: HashSet<usize>,
    job_started: HashMap<(usize, usize), u64>,
    leg_started: HashMap<LegId, u64>,
    result: Option<TaskResult>,
}

impl Driver {
    /// Drives `plan` from the run-wide variables `base` (predefined and queue-time; the plan's
    /// pipeline-level variables are added on top), the stages and jobs `selection` keeps, at most
    /// `max_parallel` legs at once, with `counters` and the variable `groups` the plan may name.
    /// `started_ms` is when the run started, for its duration.
    ///
    /// # Errors
    /// When the plan cannot be scheduled (dependencies that name nothing or go round, a selection
    /// that names nothing, no job at all).
    pub fn new(
        plan: Arc<Plan>,
        base: Variables,
        selection: &Selection,
        max_parallel: usize,
        counters: Counters,
        groups: Vec<(String, Vec<Variable>)>,
        started_ms: u64,
    ) -> Result<Self, ScheduleError> {
        let scheduler =
            Scheduler::with_variable_groups(Arc::clone(&plan), base, selection, max_parallel, counters, groups)?;
        Ok(Self {
            scheduler,
            plan,
            started_ms,
            stage_started: HashMap::new(),
            restored_started: HashSet::new(),
            restored_finished: HashSet::new(),
            job_started: HashMap::new(),
            leg_started: HashMap::new(),
            result: None,
        })
    }

    /// The plan.
    #[must_use]
    pub fn plan(&self) -> &Arc<Plan> {
        &self.plan
    }

    /// The run-wide variables (predefined, queue-time and pipeline-level).
    #[must_use]
    pub fn base_variables(&self) -> &Variables {
        self.scheduler.base_variables()
    }

    /// Sets a run-wide variable after the fact (`Build.BuildNumber`, computed from the
    /// pipeline's variables).
    pub fn set_base_variable(&mut self, variable: Variable) {
        self.scheduler.set_base_variable(variable);
    }

    /// Makes a stage (by index into the plan's stages) wait before it starts, once its
    /// dependencies are done and its condition holds, until [`Driver::open_gate`] or
    /// [`Driver::fail_gate`]; the driver says so with [`Step::StageWaiting`]. The server gates
    /// the stages that use protected resources (environments), whose checks must pass first.
    pub fn gate_stage(&mut self, stage: usize) {
        self.scheduler.gate_stage(stage);
    }

    /// Lets a gated stage start (its checks passed).
    pub fn open_gate(&mut self, stage: usize) {
        self.scheduler.open_gate(stage);
    }

    /// Ends a gated stage as failed without starting it, with `message` as the reason (a check
    /// failed, was rejected or timed out).
    pub fn fail_gate(&mut self, stage: usize, message: String) {
        self.scheduler.fail_gate(stage, message);
    }

    /// The gated stages waiting for their gate now, by index.
    #[must_use]
    pub fn waiting_stages(&self) -> Vec<usize> {
        self.scheduler.waiting_stages()
    }

    /// Tells a driver built again for a run under way that the stage named `name` started at
    /// `started_ms` (`None`: it never started, as a skipped stage or one whose checks failed)
    /// and, when `finished`, ended: neither is reported again, and a gated stage that started
    /// does not wait again.
    pub fn restore_stage(&mut self, name: &str, started_ms: Option<u64>, finished: bool) {
        let Some(index) = self.plan.stages.iter().position(|stage| stage.name == name) else { return };
        if let Some(started_ms) = started_ms {
            self.scheduler.open_gate(index);
            self.stage_started.insert(index, started_ms);
            self.restored_started.insert(index);
        }
        if finished {
            self.restored_finished.insert(index);
        }
    }

    /// The `counter()` prefixes (with their seeds) used without a value: see
    /// [`Counters::allocated`].
    #[must_use]
    pub fn missing_counters(&self) -> Vec<(String, i64)> {
        self.scheduler.missing_counters()
    }

    /// The `counter()` values after this run, to keep for the next one.
    #[must_use]
    pub fn counters(&self) -> BTreeMap<String, i64> {
        self.scheduler.counters()
    }

    /// Whether the run was cancelled.
    #[must_use]
    pub fn is_canceled(&self) -> bool {
        self.scheduler.is_canceled()
    }

    /// How many legs run.
    #[must_use]
    pub fn running(&self) -> usize {
        self.scheduler.running()
    }

    /// The run's result, once it finished.
    #[must_use]
    pub fn result(&self) -> Option<TaskResult> {
        self.result
    }

    /// Records that the run was cancelled (see [`Scheduler::cancel`]).
    pub fn cancel(&mut self) {
        self.scheduler.cancel();
    }

    /// Records that a leg finished with `result` and the output variables it set, at `now_ms`.
    /// For a leg of a matrix or parallel job, gives its `jobFinished` event (a job of one leg is
    /// reported as a whole by [`Driver::poll`]).
    pub fn leg_finished(
        &mut self,
        leg: LegId,
        result: TaskResult,
        outputs: Vec<(String, String)>,
        now_ms: u64,
    ) -> Option<Event> {
        self.scheduler.leg_finished(leg, result, outputs);
        let named = self
            .plan
            .stages
            .get(leg.stage)
            .and_then(|stage| stage.jobs.get(leg.job))
            .is_some_and(|job| job.legs.iter().any(|leg| leg.name.is_some()));
        named.then(|| Event::JobFinished {
            time: now_ms,
            job: job_key(&self.plan, leg),
            result,
            duration_ms: since(self.leg_started.get(&leg), now_ms),
            message: None,
        })
    }

    /// Decides what happens next, at `now_ms`. Call after building the driver and after every
    /// [`leg_finished`](Self::leg_finished) or [`cancel`](Self::cancel).
    pub fn poll(&mut self, now_ms: u64) -> Vec<Step> {
        let decisions = self.scheduler.poll();
        let mut steps: Vec<Step> = self.scheduler.take_warnings().into_iter().map(Step::Warning).collect();
        for decision in decisions {
            match decision {
                Decision::StageWaiting { stage } => steps.push(Step::StageWaiting(stage)),
                Decision::StageStarted { stage } => {
                    if !self.restored_started.contains(&stage) {
                        self.stage_started.insert(stage, now_ms);
                        let (name, display_name) = self.stage_names(stage);
                        steps.push(Step::Event(Event::StageStarted { time: now_ms, stage: name, display_name }));
                    }
                }
                Decision::StageFinished { stage, result, message } => {
                    if !self.restored_finished.contains(&stage) {
                        let (name, _) = self.stage_names(stage);
                        steps.push(Step::Event(Event::StageFinished {
                            time: now_ms,
                            stage: name,
                            result,
                            duration_ms: since(self.stage_started.get(&stage), now_ms),
                            message,
                        }));
                    }
                }
                Decision::StartLeg { leg, variables } => {
                    self.leg_started.insert(leg, now_ms);
                    self.job_started.entry((leg.stage, leg.job)).or_insert(now_ms);
                    steps.push(Step::StartLeg(Box::new(self.leg_start(leg, variables))));
                }
                Decision::JobFinished { stage, job, result, message } => {
                    let started = self.job_started.get(&(stage, job));
                    let plan_stage = self.plan.stages.get(stage);
                    let plan_job = plan_stage.and_then(|plan_stage| plan_stage.jobs.get(job));
                    let stage_name = plan_stage.map(|stage| stage.name.clone()).unwrap_or_default();
                    let job_name = plan_job.map(|job| job.name.clone()).unwrap_or_default();
                    steps.push(Step::JobFinished(JobEnd {
                        stage,
                        job,
                        key: format!("{stage_name}.{job_name}"),
                        display_name: plan_job
                            .map(|job| job.display_name.clone().unwrap_or_else(|| job.name.clone()))
                            .unwrap_or_default(),
                        stage_name,
                        job_name,
                        result,
                        message,
                        duration_ms: since(started, now_ms),
                        started: started.is_some(),
                    }));
                }
                Decision::RunFinished { result } => {
                    self.result = Some(result);
                    let duration_ms = now_ms.saturating_sub(self.started_ms);
                    steps.push(Step::Event(Event::RunFinished { time: now_ms, result, duration_ms }));
                }
            }
        }
        steps
    }

    fn stage_names(&self, stage: usize) -> (String, String) {
        self.plan
            .stages
            .get(stage)
            .map(|stage| (stage.name.clone(), stage.display_name.clone().unwrap_or_else(|| stage.name.clone())))
            .unwrap_or_default()
    }

    fn leg_start(&self, leg: LegId, variables: Variables) -> LegStart {
        let stage = self.plan.stages.get(leg.stage);
        let job = stage.and_then(|stage| stage.jobs.get(leg.job));
        let plan_leg = job.and_then(|job| job.legs.get(leg.leg));
        let job_display =
            job.map(|job| job.display_name.clone().unwrap_or_else(|| job.name.clone())).unwrap_or_default();
        let display_name = match plan_leg {
            Some(plan_leg) => plan_leg.display_name.clone().unwrap_or_else(|| match &plan_leg.name {
                Some(name) => format!("{job_display} {name}"),
                None => job_display.clone(),
            }),
            None => job_display,
        };
        LegStart {
            leg,
            key: job_key(&self.plan, leg),
            stage: stage.map(|stage| stage.name.clone()).unwrap_or_default(),
            job: job.map(|job| job.name.clone()).unwrap_or_default(),
            leg_name: plan_leg.and_then(|plan_leg| plan_leg.name.clone()),
            display_name,
            environment: job.and_then(|job| match &job.kind {
                JobKind::Deployment(deployment) => {
                    deployment.environment.as_ref().map(|environment| environment.name.clone())
                }
                _ => None,
            }),
            variables,
        }
    }
}

/// Milliseconds from `start` to `now`; 0 without a start.
fn since(start: Option<&u64>, now: u64) -> u64 {
    start.map_or(0, |start| now.saturating_sub(*start))
}

#[cfg(test)]
mod tests;
