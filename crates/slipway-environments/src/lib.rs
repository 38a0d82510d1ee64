//! Slipway's environments and checks: the room between "built" and "in production".
//!
//! An environment is where deployment jobs deploy to (created on first use, as Azure does, or
//! by an admin); it keeps the history of its deployments and carries the checks its admins put
//! on it. A stage whose deployment jobs use an environment waits, before it starts and without
//! holding an agent, at a checkpoint until those checks pass, in Azure's order: branch control,
//! approvals, business hours, REST APIs and metrics ([`dynamic`]), then the exclusive lock;
//! the security room's checks (signed provenance, policy as code: [`security_checks`]) are
//! static checks, judged first. [`checks`] reads checks' settings,
//! [`evaluate`] decides one check (pure), [`approvals`] records approvers' decisions with who may
//! decide, and [`EnvironmentHooks`] is what the engine calls: which stages wait, whether one may
//! start, and deployments recorded when deployment jobs are queued and end.

pub mod approvals;
pub mod checks;
pub mod dynamic;
pub mod evaluate;
mod gate;
pub mod machines;
pub mod security_checks;

pub use gate::{EnvironmentHooks, stage_environments, strategy_name};
