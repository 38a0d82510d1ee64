//! Slipway's progressive delivery room. Its first part is the traffic **router**: a reverse
//! proxy in front of a service whose versions run side by side in slots (`stable`/`canary`,
//! `blue`/`green`), splitting requests between them by weight, keeping a client on its slot with
//! a cookie, letting a header force a slot (smoke tests), streaming bodies and passing WebSockets
//! through, taking new weights at once without dropping a request in flight, and measuring every
//! slot (requests by status class, latency) as Prometheus metrics. [`routing`] chooses a slot
//! (pure), [`router`] is the proxy, [`metrics`] what it measures.
//!
//! [`host`] runs the routers of the server's services (kept in the store) and keeps them in
//! step with it.
//!
//! Not here yet (the progressive delivery issue): strategies driven by Azure's `canary` YAML, analysis and its judges, rollback, nginx as a
//! router, chaos experiments and feature flags.

pub mod host;
pub mod judge;
pub mod metrics;
pub mod nginx;
pub mod router;
pub mod routing;

pub use metrics::Metrics;
pub use router::{Router, serve};
pub use routing::{Routes, Slot};
