//! Slipway's engine: what moves runs on, below the server's API and web UI.
//!
//! - [`launch`]: the one way runs are created (from the API, the web UI, a trigger, a re-run):
//!   the revision checked out ([`checkout`]), the pipeline loaded, the run numbered
//!   ([`run_number`]) and queued.
//! - [`orchestrator`]: one task that moves every unfinished run on through the run driver, and
//!   queues the legs it starts as self-contained jobs in the store for agents to lease
//!   ([`agents`]: the jobs' specs and messages, placement by pool and demands, the events agents
//!   send); [`local_agents`]: the server's in-process agents, confined away from the data
//!   directory; [`warden`]: takes back the leases of lost agents.
//! - [`artifacts`] and [`blobs`]: artifacts recorded in the store with their files in a
//!   content-addressed blob store; [`retention`]: the cleanup; [`reruns`]: what re-running a
//!   run needs; [`run_variables`]: the variables a run starts with; [`github_event`]: a GitHub
//!   workflow run's event payload.
//! - [`hooks`]: what the orchestrator asks and tells the delivery rooms (stages that wait for
//!   checks, deployment jobs queued and completed).
//!
//! Everything here works on a [`Core`]: the store, the data directory, and the notifications
//! that wake the orchestrator and idle agents.

#![warn(unreachable_pub)]

pub mod agents;
pub mod artifacts;
pub mod blobs;
pub mod checkout;
mod github_event;
pub mod hooks;
pub mod launch;
pub mod local_agents;
pub mod orchestrator;
pub mod provenance;
pub mod reruns;
pub mod retention;
pub mod run_number;
mod run_variables;
mod warden;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use slipway_store::Store;
use tokio::sync::Notify;

pub use orchestrator::{Engine, EngineConfig, LocalJobs};

/// What the engine's parts share: the store, the data directory, and the notifications that
/// wake the orchestrator (a run was created or cancelled, a job finished) and idle agents (jobs
/// were queued). Cheap to clone.
#[derive(Clone, Debug)]
pub struct Core {
    inner: Arc<CoreInner>,
}

#[derive(Debug)]
struct CoreInner {
    store: Store,
    data_dir: PathBuf,
    wake: Arc<Notify>,
    hub: Arc<agents::Hub>,
}

impl Core {
    /// The engine's parts over `store`, keeping runs in `data_dir`.
    #[must_use]
    pub fn new(store: Store, data_dir: PathBuf) -> Self {
        Self {
            inner: Arc::new(CoreInner {
                store,
                data_dir,
                wake: Arc::new(Notify::new()),
                hub: Arc::new(agents::Hub::default()),
            }),
        }
    }

    /// The store.
    #[must_use]
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// The data directory.
    #[must_use]
    pub fn data_dir(&self) -> &Path {
        &self.inner.data_dir
    }

    /// Wakes the orchestrator: a run was created or cancelled.
    pub fn wake(&self) {
        self.inner.wake.notify_one();
    }

    /// The notification that wakes the orchestrator.
    #[must_use]
    pub fn wake_handle(&self) -> Arc<Notify> {
        Arc::clone(&self.inner.wake)
    }

    /// What agents' lease requests wait on.
    #[must_use]
    pub fn agent_hub(&self) -> &Arc<agents::Hub> {
        &self.inner.hub
    }

    /// Starts the engine on this core.
    ///
    /// # Errors
    /// When the store cannot be used.
    pub async fn start_engine(&self, mut config: EngineConfig) -> Result<Engine, slipway_store::StoreError> {
        config.data_dir = self.inner.data_dir.clone();
        Engine::start(self.store().clone(), config, self.wake_handle(), Arc::clone(&self.inner.hub)).await
    }
}

/// A write whose failure must not go unseen but must not stop what called it either (an audit
/// entry, a line in a job's log, an agent's state): the failure is logged with what was being
/// done.
pub trait LogFailure {
    /// Logs the failure, if it is one, as a warning about `what`.
    fn log_failure(self, what: &str);
}

impl<T, E: std::fmt::Display> LogFailure for Result<T, E> {
    fn log_failure(self, what: &str) {
        if let Err(error) = self {
            tracing::warn!(%error, "{what} failed");
        }
    }
}

/// `count` random bytes as hexadecimal text (names of scratch directories, secrets).
///
/// # Errors
/// When the system's random source fails.
pub fn random_hex(count: usize) -> Result<String, String> {
    let mut bytes = vec![0_u8; count];
    getrandom::fill(&mut bytes).map_err(|error| error.to_string())?;
    Ok(bytes.iter().map(|byte| format!("{byte:02x}")).collect())
}
