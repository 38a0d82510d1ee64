//! Slipway's run driver: the pure semantics of a run, shared by `slipway run` and the server.
//!
//! A [`scheduler::Scheduler`] walks a plan's stages and jobs as a graph (conditions and results,
//! `--jobs` and `maxParallel`, selection, cancellation, output variables between jobs and
//! stages); the [`driver::Driver`] over it turns its decisions into what both callers act on:
//! events with durations, legs to start with their keys and display names, jobs that ended,
//! warnings. Around them: [`variables`] and their scopes, runtime expressions ([`expr`]), GitHub Actions' contexts and `if` ([`github`]),
//! `counter()` ([`counters`]), run numbers ([`numbering`]), the predefined variables of a run
//! ([`predefined`]) and secret masking ([`mask`]). Nothing here does I/O or reads a clock: the
//! runtime's threads and the server's store are the edges that do.

pub mod counters;
pub mod driver;
pub mod expr;
pub mod github;
pub mod mask;
pub mod numbering;
pub mod predefined;
pub mod scheduler;
pub mod variables;

pub use counters::Counters;
pub use driver::{Driver, JobEnd, LegStart, Step, job_key};
pub use mask::Masker;
pub use numbering::{DEFAULT_RUN_NAME, DateTime, format_run_number};
pub use predefined::{RepositoryInfo, run_variables};
pub use scheduler::{Decision, LegId, ScheduleError, Scheduler, Selection};
pub use variables::{Variable, Variables};
