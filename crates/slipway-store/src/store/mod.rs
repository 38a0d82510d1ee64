//! [`Store`], the facade: its type, its options, and what its backends share. Its methods are in one
//! file per domain beside this one, each forwarding with `dispatch!` to a function (mostly of the
//! same name) in the file of the same name under `src/backend/`.

use std::sync::Arc;
use std::time::Duration;

use crate::clock::{Clock, SystemClock};
use crate::crypto::SecretKey;
#[cfg(doc)]
use crate::error::StoreError;
use crate::model::Timestamp;

/// Calls backend function `module::function` (of `src/backend/module.rs`) on the store's backend,
/// with its pools, its context and the arguments.
macro_rules! dispatch {
    ($store:ident, $module:ident :: $function:ident ( $($argument:expr),* $(,)? )) => {
        match &$store.inner.backend {
            $crate::store::Backend::Sqlite(pools) => {
                $crate::backend::sqlite::$module::$function(pools, &$store.inner.context, $($argument),*).await
            }
            $crate::store::Backend::Postgres(pools) => {
                $crate::backend::postgres::$module::$function(pools, &$store.inner.context, $($argument),*).await
            }
        }
    };
}

mod agents;
mod artifacts;
mod audit;
mod auth;
mod environments;
mod events;
mod flags;
mod jobs;
mod logs;
mod notifications;
mod open;
mod pipelines;
mod queue;
mod retention;
mod runs;
mod services;
mod team;
mod telemetry;
mod variables;
mod work_items;

pub(crate) use variables::VariableScope;

/// How to open a store.
#[derive(Clone, Debug)]
pub struct StoreOptions {
    /// The key secret values are encrypted with. It must stay the same for the life of the data:
    /// opening a store with another key fails with [`StoreError::WrongSecretKey`].
    pub secret_key: SecretKey,
    /// Where times come from.
    pub clock: Arc<dyn Clock>,
    /// Connections to PostgreSQL, or read-only connections to SQLite (which also has one writer).
    pub max_connections: u32,
    /// How long a call waits for a free connection (and SQLite for a lock held by another process).
    pub acquire_timeout: Duration,
}

impl StoreOptions {
    /// Options with this key, the system clock, 8 connections and a 30-second wait.
    #[must_use]
    pub fn new(secret_key: SecretKey) -> Self {
        Self { secret_key, clock: Arc::new(SystemClock), max_connections: 8, acquire_timeout: Duration::from_secs(30) }
    }

    /// The same options with another clock.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }
}

/// The server's storage. Cheap to clone: clones share the connections.
#[derive(Clone, Debug)]
pub struct Store {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    backend: Backend,
    context: Context,
}

/// The database a store is on, with its connections.
#[derive(Debug)]
enum Backend {
    Sqlite(Pools<sqlx::Sqlite>),
    Postgres(Pools<sqlx::Postgres>),
}

/// What the backends share: the key and the clock.
#[derive(Debug)]
pub(crate) struct Context {
    pub(crate) key: SecretKey,
    clock: Arc<dyn Clock>,
}

impl Context {
    /// The current time on the store's clock.
    pub(crate) fn now(&self) -> Timestamp {
        self.clock.now()
    }
}

/// The connections of one backend: one pool for writing and one for reading (the same pool on
/// PostgreSQL).
#[derive(Debug)]
pub(crate) struct Pools<D: sqlx::Database> {
    pub(crate) writer: sqlx::Pool<D>,
    pub(crate) reader: sqlx::Pool<D>,
}
