//! Slipway's agent: a process on any machine that leases jobs from a Slipway server over HTTP and
//! runs them with the same runtime as `slipway run`, so that a team scales out by adding machines.
//!
//! - [`agent`] is the agent's life: registration (a one-time registration token becomes the
//!   agent's own credential, kept in its work directory with mode 0600), then leasing jobs one at
//!   a time by long polling, until it is drained (SIGTERM, `--drain`).
//! - [`runner`] runs one leased job whatever carries its reports (the [`runner::Uplink`]): remote
//!   agents use the HTTP [`client`] (over `slipway-client`'s `AgentClient`), the server's
//!   in-process agents write to its store directly.
//! - [`capabilities`] detects what this machine offers jobs, matched against Azure's demands.
//! - A run's exact commit is fetched with `slipway-git`'s `checkout_commit`, as the server does.
//! - [`osv`] keeps the server's offline OSV database in the tools directory (`_tool/osv`), fetched
//!   again only when a job names another version.
//!
//! Everything here is blocking code on plain threads (HTTP through `slipway-client`): no async runtime, so that
//! an idle agent holds little memory. The messages are those of `slipway-protocol`; the written
//! contract is `docs/agent-protocol.md`.

pub mod agent;
pub mod capabilities;
pub mod client;
pub mod confine;
pub mod osv;
pub mod runner;

pub use agent::{AgentError, AgentNotice, AgentOptions, Control};
pub use runner::{AgentIdentity, JobPlace, JobReport, Uplink, UplinkError};
