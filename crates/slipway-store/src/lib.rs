//! Slipway's server storage: everything the server keeps, behind one interface with two backends.
//!
//! [`Store::open`] takes a path (or a `sqlite:` URL) for an embedded SQLite database, the default,
//! or a `postgres://` URL for PostgreSQL; both hold the same data with the same behaviour, and one
//! conformance test suite runs against both. The store keeps pipelines and their trigger state,
//! runs with their plan, jobs and the job queue that workers (in-process slots, remote agents)
//! lease jobs from, steps, logs, run events, artifact records, test results and coverage, variable
//! groups and secrets (encrypted at rest), users, tokens, sessions, agents and the audit log, and
//! applies retention.
//!
//! Durability: every change is one transaction, committed before the call returns. SQLite runs in
//! WAL mode with `synchronous = FULL` (every commit is fsync'd) through a single writer connection
//! (so writers queue instead of failing with "database is locked") and a pool of read-only
//! connections; PostgreSQL commits durably by default. The schema is created and upgraded by
//! migrations embedded in the crate and applied at open, each recorded with a checksum.
//!
//! State changes that must not happen twice are compare-and-set updates: a queued job is leased by
//! exactly one worker (`FOR UPDATE SKIP LOCKED` on PostgreSQL; the single writer on SQLite), a
//! lease is only renewed or completed by its holder, a trigger creates its run in the same
//! transaction that records it, and a log chunk sent twice is stored once. Times come from the
//! store's [`Clock`], not the database server.
//!
//! The code is laid out by domain. `src/store/` holds [`Store`]'s methods, one file per domain:
//! `pipelines.rs` (with their trigger state), `runs.rs`, `jobs.rs`, `queue.rs` (leases and agent
//! pools), `logs.rs` (steps, logs, events), `artifacts.rs` (with test results and coverage),
//! `variables.rs` (with variable groups and secrets), `auth.rs` (users, tokens, sessions),
//! `agents.rs`, `audit.rs` and `retention.rs`, and `open.rs` for opening the store. Each method
//! forwards to a function (mostly of the same name) in the file of the same name under
//! `src/backend/` (`schema.rs` for `open.rs`), which holds its SQL and the rows it reads and is
//! compiled once for SQLite and once for PostgreSQL. `model.rs` has the public types;
//! `migrations.rs` and `migrations/` the schema.

mod backend;
mod clock;
mod crypto;
mod error;
mod migrations;
mod model;
mod store;

pub use clock::{Clock, ManualClock, ShiftedClock, SystemClock};
pub use crypto::SecretKey;
pub use error::{Result, StoreError};
pub use model::*;
pub use store::{Store, StoreOptions};

/// The name of the SQLite database file that [`Store::open`] uses inside a directory.
pub const SQLITE_FILE_NAME: &str = "slipway.db";

/// The schema version this build migrates a database to (its newest migration).
pub const SCHEMA_VERSION: i64 = 17;

/// How many lines [`Store::read_whole_log`] reads at a time.
pub const WHOLE_LOG_PAGE: i64 = 10_000;
