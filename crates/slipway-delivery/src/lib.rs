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
//! [`analysis`] reads Argo Rollouts' analysis templates and judges measurements as Argo does;
//! [`runner`] measures analysis runs (the router's own series, Prometheus, JSON over HTTP) with
//! synthetic load when asked; [`room`] is what deployment jobs' delivery tasks reach (slots,
//! traffic, promotion and rollback, recorded on their deployments); [`judge`] is Kayenta's
//! statistical judge; [`demo`] a small HTTP service for tests and walkthroughs.
//! [`flags`] holds environments' feature flags (flagd documents) and evaluates them as flagd does.
//!
//! Not here yet (the progressive delivery issue): the statistical judge inside analysis runs
//! (baseline slots), deciding an inconclusive analysis by hand, chaos experiments, and
//! Kubernetes as a router.

pub mod analysis;
pub mod chaos;
pub mod demo;
pub mod faults;
pub mod flags;
pub mod host;
pub mod judge;
pub mod metrics;
pub mod nginx;
pub mod room;
pub mod router;
pub mod routing;
pub mod runner;
mod serving;

pub use metrics::Metrics;
pub use router::{Router, serve};
pub use routing::{Routes, Slot};
