//! What a job's delivery tasks reach through the runtime: the server's delivery room (through
//! the agent's link to it, [`DeliveryRemote`]) and this machine's supervisor of slot processes
//! ([`crate::slots::SlotSupervisor`]), which keeps the versions the job starts running after it
//! ends. `slipway run` has neither, and its delivery tasks say so.

use std::path::PathBuf;
use std::sync::Arc;

use slipway_events::delivery::{DeliveryAnswer, DeliveryRequest};

use crate::slots::SlotSupervisor;

/// The server's delivery room, as the agent running the job reaches it (with the job's lease).
pub trait DeliveryRemote: Send + Sync {
    /// Asks the room.
    ///
    /// # Errors
    /// The server's refusal, or why it could not be asked.
    fn call(&self, request: &DeliveryRequest) -> Result<DeliveryAnswer, String>;
}

/// A job's way to the delivery room and to the agent's slot processes.
pub struct DeliveryLink {
    /// The server's delivery room.
    pub remote: Arc<dyn DeliveryRemote>,
    /// The agent's slot processes.
    pub slots: Arc<SlotSupervisor>,
    /// Where the slot processes' output goes.
    pub log_directory: PathBuf,
}

impl std::fmt::Debug for DeliveryLink {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("DeliveryLink").field("log_directory", &self.log_directory).finish_non_exhaustive()
    }
}
