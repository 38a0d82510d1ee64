//! Slipway's runtime: runs a [`slipway_plan::Plan`] with Azure Pipelines' runtime semantics.
//!
//! The same code runs pipelines for `slipway run`, and will run them on the server and on agents.
//! A pure [`scheduler::Scheduler`] walks the plan's stages and jobs as a graph (conditions,
//! results, `--jobs` and `maxParallel`, selection, cancellation, output variables between jobs
//! and stages); an [`executor::Executor`] runs one job (the [`local::LocalExecutor`] runs steps as
//! processes in their own process groups, with variables and `$(macros)`, logging commands,
//! secret masking, timeouts, retries and deployment lifecycle hooks); [`run::execute`] ties them
//! together and reports everything as [`slipway_events::Event`]s.

pub mod artifacts;
pub mod counters;
pub mod executor;
mod expr;
pub mod local;
pub mod logcmd;
pub mod mask;
pub mod process;
pub mod run;
pub mod scheduler;
pub mod tasks;
pub mod variables;
pub mod workspace;

pub use executor::{CancelToken, Executor, JobOutcome, JobRequest, RunContext};
pub use local::LocalExecutor;
pub use run::{RunError, RunOptions, RunReport, execute};
pub use scheduler::{Decision, LegId, ScheduleError, Scheduler, Selection};
pub use variables::{Variable, Variables};
