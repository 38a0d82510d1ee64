//! A leased job's reports over HTTP: the runner's [`Uplink`] on [`slipway_client::AgentClient`],
//! the one client of the server's API (the agent protocol's calls, problem+json answers parsed
//! once, transient failures told apart from refusals).

use slipway_client::{AgentClient, ClientError};
use slipway_protocol::{ArtifactManifest, Chunk, Completion, HeartbeatReply};
use slipway_runtime::artifacts::ArtifactStore;

use crate::runner::{Uplink, UplinkError};

/// Reports of one leased job over HTTP.
#[derive(Clone, Debug)]
pub struct JobUplink {
    client: AgentClient,
    job: i64,
    lease_id: String,
}

impl JobUplink {
    /// The uplink of the job `job`, leased as `lease_id`.
    #[must_use]
    pub fn new(client: AgentClient, job: i64, lease_id: &str) -> Self {
        Self { client, job, lease_id: lease_id.to_owned() }
    }
}

/// A failed job-scoped request as the runner sees it: 409 means the lease is lost.
fn uplink_error(error: ClientError) -> UplinkError {
    match error {
        ClientError::Api(problem) if problem.status == 409 => UplinkError::LeaseLost(problem.detail),
        error if error.is_transient() => UplinkError::Transient(error.to_string()),
        other => UplinkError::Refused(other.to_string()),
    }
}

impl Uplink for JobUplink {
    fn heartbeat(&self) -> Result<HeartbeatReply, UplinkError> {
        self.client.heartbeat(self.job, &self.lease_id).map_err(uplink_error)
    }

    fn send_chunk(&self, chunk: &Chunk) -> Result<(), UplinkError> {
        self.client.send_chunk(self.job, &self.lease_id, chunk).map(|_| ()).map_err(uplink_error)
    }

    fn shares_artifact_store(&self) -> bool {
        false
    }

    fn download_blob(&self, digest: &str, store: &ArtifactStore) -> Result<(), UplinkError> {
        self.client
            .download_blob(self.job, &self.lease_id, digest, |reader| {
                store.import_blob(digest, reader).map(|_| ()).map_err(|error| error.to_string())
            })
            .map_err(|error| match error {
                // The blob did not match its digest, or could not be written: worth another try.
                ClientError::Protocol(reason) => UplinkError::Transient(reason),
                other => uplink_error(other),
            })
    }

    fn missing_blobs(&self, digests: &[String]) -> Result<Vec<String>, UplinkError> {
        self.client.missing_blobs(self.job, &self.lease_id, digests).map_err(uplink_error)
    }

    fn upload_blob(&self, digest: &str, store: &ArtifactStore) -> Result<(), UplinkError> {
        let Some(file) = store.existing_blob(digest) else {
            return Err(UplinkError::Refused(format!("the blob {digest} is not in the local artifact store")));
        };
        let mut file = std::fs::File::open(&file).map_err(|error| UplinkError::Refused(error.to_string()))?;
        self.client.upload_blob(self.job, &self.lease_id, digest, &mut file).map_err(uplink_error)
    }

    fn publish_artifact(&self, manifest: &ArtifactManifest) -> Result<(), UplinkError> {
        self.client.publish_artifact(self.job, &self.lease_id, manifest).map(|_| ()).map_err(uplink_error)
    }

    fn complete(&self, completion: &Completion) -> Result<(), UplinkError> {
        self.client.complete(self.job, &self.lease_id, completion).map(|_| ()).map_err(uplink_error)
    }

    fn delivery(
        &self,
        request: &slipway_events::delivery::DeliveryRequest,
    ) -> Result<slipway_events::delivery::DeliveryAnswer, UplinkError> {
        self.client.delivery(self.job, &self.lease_id, request).map_err(|error| match error {
            // The room's refusals (409 included) are the task's failure, not a lost lease.
            ClientError::Api(problem) if problem.status < 500 => UplinkError::Refused(problem.detail),
            other => uplink_error(other),
        })
    }
}
