//! The store's conformance suite: every test runs against SQLite and against PostgreSQL (a
//! throwaway server started from the machine's binaries by the `slipway-testing` crate). Without
//! PostgreSQL the `::postgres` tests print why and pass, unless `SLIPWAY_REQUIRE_POSTGRES=1`.

mod support;

mod agents;
mod artifacts_and_retention;
mod audit_chain;
mod auth;
mod durability;
mod environments;
mod events;
mod flags;
mod logs;
mod notifications;
mod pipelines;
mod queue;
mod runs;
mod secrets;
mod stream;
mod team;
mod work_items;
