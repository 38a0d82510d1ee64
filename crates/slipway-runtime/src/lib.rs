//! Slipway's runtime: runs jobs of a [`slipway_plan::Plan`] on this machine with Azure Pipelines'
//! runtime semantics, for `slipway run`, for agents and for the server's in-process agents.
//!
//! An [`executor::Executor`] runs one job: the [`local::LocalExecutor`] runs steps as processes
//! in their own process groups, with variables and `$(macros)`, logging commands, secret
//! masking, timeouts, retries and deployment lifecycle hooks, and `task:` steps through
//! [`slipway_tasks`]. What to run when is decided by the pure run driver in `slipway-driver`;
//! [`run::execute`] is `slipway run`'s edge of it: it hands the legs the driver starts to
//! threads and reports everything as [`slipway_events::Event`]s.
//!
//! A plan of GitHub Actions workflows runs its jobs with GitHub's semantics instead (the
//! `github` module): `run:` steps with their shell's command line, the expression contexts,
//! environment files and workflow commands, and the common actions built in.

pub mod artifacts;
pub mod delivery;
pub mod executor;
mod github;
pub mod local;
pub mod logcmd;
pub mod process;
pub mod run;
pub mod slots;
pub mod tasks;
pub mod workspace;

pub use executor::{CancelToken, Executor, JobOutcome, JobRequest, RunContext};
pub use github::store::{UNKNOWN_ACTION_CODE, UnknownAction, UnknownKind, unknown_actions};
pub use local::LocalExecutor;
pub use run::{RunError, RunOptions, RunReport, execute};
