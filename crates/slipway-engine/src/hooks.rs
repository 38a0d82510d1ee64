//! The engine's narrow hooks for the delivery rooms beside it (environments and their checks):
//! the orchestrator asks them which stages wait for checks and whether a waiting stage may start,
//! and tells them when a deployment job was queued and when it ended. The engine knows nothing
//! of environments, approvals or deployments beyond these calls; `slipway-server` gives it the
//! rooms' implementation ([`EngineConfig::hooks`](crate::EngineConfig::hooks)).

use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;

use slipway_driver::{LegId, Masker, Variables};
use slipway_plan::Plan;
use slipway_store::{Job, Run, StoreError};

/// A future the hooks return.
pub type HookFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// Whether a waiting stage may start.
#[derive(Clone, Debug, PartialEq)]
pub enum Gate {
    /// Its checks passed: it starts.
    Open,
    /// Its checks are not decided yet: it keeps waiting (without holding an agent).
    Waiting,
    /// A check failed, was rejected or timed out: the stage fails without starting, with this
    /// reason.
    Failed(String),
    /// The checks passed, and the stage's jobs need this plan instead (its deployment jobs'
    /// legs placed on the environment's virtual machines): the orchestrator stores it and
    /// builds the run's driver again from it, then asks again.
    Replan(Box<Plan>),
}

/// A stage that waits, as the orchestrator asks about it.
#[derive(Clone, Copy, Debug)]
pub struct GateRequest<'a> {
    /// The run.
    pub run: &'a Run,
    /// Its plan.
    pub plan: &'a Plan,
    /// The stage, by index into the plan's stages.
    pub stage: usize,
    /// The run's variables (predefined, queue-time, pipeline-level and its variable groups'),
    /// for checks that substitute `$(variables)`.
    pub variables: &'a Variables,
    /// The run's secrets, to mask in what checks record.
    pub masker: &'a Masker,
}

/// What the orchestrator asks and tells the delivery rooms. Every call may be made again for
/// the same thing (after a restart the orchestrator builds a run's driver again from the store
/// and replays what it finds): implementations keep what they decided and answer the same.
pub trait DeliveryHooks: Send + Sync + Debug {
    /// The stages of `plan` (indexes) that wait for checks before they start.
    fn gated_stages(&self, plan: &Plan) -> Vec<usize>;

    /// Decides (again) whether a waiting stage of a run may start now.
    fn stage_gate<'a>(&'a self, request: GateRequest<'a>) -> HookFuture<'a, Gate>;

    /// A leg of the run's job was queued as `job` (the store's job, not completed).
    fn job_queued<'a>(&'a self, run: &'a Run, plan: &'a Plan, leg: LegId, job: &'a Job) -> HookFuture<'a, ()>;

    /// The leg `job` of the run completed (it may have been told before).
    fn job_completed<'a>(&'a self, run: &'a Run, plan: &'a Plan, leg: LegId, job: &'a Job) -> HookFuture<'a, ()>;

    /// A stage of the run ended (or the run did, with `stage` `None`): what it held is given up.
    fn stage_finished<'a>(&'a self, run: &'a Run, stage: Option<&'a str>) -> HookFuture<'a, ()>;
}

/// No delivery rooms: no stage waits, nothing is recorded.
#[derive(Debug, Default)]
pub struct NoHooks;

impl DeliveryHooks for NoHooks {
    fn gated_stages(&self, _plan: &Plan) -> Vec<usize> {
        Vec::new()
    }

    fn stage_gate<'a>(&'a self, _request: GateRequest<'a>) -> HookFuture<'a, Gate> {
        Box::pin(async { Ok(Gate::Open) })
    }

    fn job_queued<'a>(&'a self, _run: &'a Run, _plan: &'a Plan, _leg: LegId, _job: &'a Job) -> HookFuture<'a, ()> {
        Box::pin(async { Ok(()) })
    }

    fn job_completed<'a>(&'a self, _run: &'a Run, _plan: &'a Plan, _leg: LegId, _job: &'a Job) -> HookFuture<'a, ()> {
        Box::pin(async { Ok(()) })
    }

    fn stage_finished<'a>(&'a self, _run: &'a Run, _stage: Option<&'a str>) -> HookFuture<'a, ()> {
        Box::pin(async { Ok(()) })
    }
}

/// Why the delivery room refused what a job asked.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryRefusal {
    /// What it names does not exist (a service, a slot, an analysis run).
    #[error("{0}")]
    NotFound(String),
    /// The job may not ask it (not a deployment job, another environment's service).
    #[error("{0}")]
    Forbidden(String),
    /// What was asked is not valid (a weight over 100, a template with mistakes).
    #[error("{0}")]
    Invalid(String),
    /// It cannot be done in the state things are in (retiring the slot that has the traffic).
    #[error("{0}")]
    Conflict(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A future the delivery operator returns.
pub type OperatorFuture<'a> =
    Pin<Box<dyn Future<Output = Result<slipway_events::delivery::DeliveryAnswer, DeliveryRefusal>> + Send + 'a>>;

/// The delivery room (services, slots, traffic, analysis), as a running deployment job reaches
/// it through its agent: the server's API hands it the requests of remote agents' jobs, and the
/// in-process agents' jobs call it directly. `job` is the job holding the lease the request came
/// with.
pub trait DeliveryOperator: Send + Sync + Debug {
    /// Does what the job asks.
    fn operate<'a>(&'a self, job: &'a Job, request: slipway_events::delivery::DeliveryRequest) -> OperatorFuture<'a>;
}

/// No delivery room: every request is refused, saying so.
#[derive(Debug, Default)]
pub struct NoDelivery;

impl DeliveryOperator for NoDelivery {
    fn operate<'a>(&'a self, _job: &'a Job, _request: slipway_events::delivery::DeliveryRequest) -> OperatorFuture<'a> {
        Box::pin(async {
            Err(DeliveryRefusal::Conflict(
                "this server runs without the delivery room (services, slots and analysis)".into(),
            ))
        })
    }
}
