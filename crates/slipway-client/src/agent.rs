//! The agent protocol's side of the client (`/api/v1/agent/...`, see `docs/agent-protocol.md`):
//! what an agent sends, with the wire types of [`slipway_protocol`]. Every request carries the
//! protocol version ([`PROTOCOL_HEADER`]) and, once registered, the agent's credential; every
//! job-scoped request carries the lease id ([`LEASE_HEADER`]). One request at a time per thread,
//! no async runtime: an idle agent waits in one long-poll request and holds little memory.

use std::time::Duration;

use slipway_protocol::{
    ArtifactManifest, Chunk, ChunkReply, Completion, CompletionReply, HeartbeatReply, HelloRequest, HelloResponse,
    JobMessage, LEASE_HEADER, LeaseRequest, MissingBlobs, PROTOCOL_HEADER, PROTOCOL_VERSION, PublishArtifact,
    PublishReply, RegisterRequest, RegisterResponse, ReportedState, StateReply, StateRequest, paths,
};

use crate::error::ClientError;
use crate::http::{Body, Transport, read_json};

/// How long a request other than a lease or a blob may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// How long a blob's upload or download may take.
const BLOB_TIMEOUT: Duration = Duration::from_secs(3600);

/// An agent's connection to its server. Cheap to clone.
#[derive(Clone)]
pub struct AgentClient {
    transport: Transport,
    credential: Option<String>,
    protocol: String,
}

impl std::fmt::Debug for AgentClient {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("AgentClient").field("server", &self.transport.server).finish_non_exhaustive()
    }
}

impl AgentClient {
    /// A client of the server at `server` (`http://host:port`, with or without a trailing `/` or
    /// `/api/v1`), without a credential yet.
    ///
    /// # Errors
    /// [`ClientError::InvalidServer`] when the address is not an `http(s)://` URL.
    pub fn new(server: &str) -> Result<Self, ClientError> {
        let server = crate::normalize_server(server)?;
        let user_agent = format!("slipway-agent/{}", slipway_protocol::SOFTWARE_VERSION);
        Ok(Self {
            transport: Transport::new(server, &user_agent),
            credential: None,
            protocol: PROTOCOL_VERSION.to_string(),
        })
    }

    /// The same client, authenticating with an agent credential.
    #[must_use]
    pub fn with_credential(mut self, credential: &str) -> Self {
        self.credential = Some(format!("Bearer {credential}"));
        self
    }

    /// The server's address, canonical.
    #[must_use]
    pub fn server(&self) -> &str {
        &self.transport.server
    }

    /// Sends a protocol request; `lease` for job-scoped ones.
    fn send(
        &self,
        method: &str,
        path: &str,
        lease: Option<&str>,
        body: Body<'_>,
        timeout: Duration,
    ) -> Result<ureq::http::Response<ureq::Body>, ClientError> {
        let mut headers = vec![(PROTOCOL_HEADER, self.protocol.as_str())];
        if let Some(credential) = &self.credential {
            headers.push(("authorization", credential.as_str()));
        }
        if let Some(lease) = lease {
            headers.push((LEASE_HEADER, lease));
        }
        self.transport.send(method, path, &headers, body, Some(timeout))
    }

    fn json<T: serde::de::DeserializeOwned>(
        &self,
        method: &str,
        path: &str,
        lease: Option<&str>,
        body: &impl serde::Serialize,
    ) -> Result<T, ClientError> {
        read_json(self.send(method, path, lease, Body::json(body)?, REQUEST_TIMEOUT)?)
    }

    /// Registers an agent with a one-time registration token.
    ///
    /// # Errors
    /// When the server cannot be reached or refuses (a used token, a taken name, another protocol).
    pub fn register(&self, request: &RegisterRequest) -> Result<RegisterResponse, ClientError> {
        self.json("POST", paths::REGISTER, None, request)
    }

    /// Tells the server the agent started, with its version and capabilities.
    ///
    /// # Errors
    /// When the server cannot be reached or refuses.
    pub fn hello(&self, request: &HelloRequest) -> Result<HelloResponse, ClientError> {
        self.json("POST", paths::HELLO, None, request)
    }

    /// Waits up to `wait` for a job.
    ///
    /// # Errors
    /// When the server cannot be reached or refuses.
    pub fn lease(&self, wait: Duration) -> Result<Option<JobMessage>, ClientError> {
        let wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX);
        let body = Body::json(&LeaseRequest { wait_ms: Some(wait_ms) })?;
        let response = self.send("POST", paths::LEASE, None, body, wait + REQUEST_TIMEOUT)?;
        if response.status().as_u16() == 204 {
            return Ok(None);
        }
        read_json(response).map(Some)
    }

    /// Tells the server the agent's state.
    ///
    /// # Errors
    /// When the server cannot be reached or refuses.
    pub fn set_state(&self, state: ReportedState) -> Result<StateReply, ClientError> {
        self.json("POST", paths::STATE, None, &StateRequest { state })
    }

    /// Renews a job's lease; tells whether its run was cancelled.
    ///
    /// # Errors
    /// When the server cannot be reached or refuses (409: the lease is lost).
    pub fn heartbeat(&self, job: i64, lease: &str) -> Result<HeartbeatReply, ClientError> {
        self.json("POST", &paths::heartbeat(job), Some(lease), &serde_json::json!({}))
    }

    /// Sends one numbered chunk of a job's events.
    ///
    /// # Errors
    /// As [`AgentClient::heartbeat`].
    pub fn send_chunk(&self, job: i64, lease: &str, chunk: &Chunk) -> Result<ChunkReply, ClientError> {
        self.json("POST", &paths::chunks(job), Some(lease), chunk)
    }

    /// Which of these blobs the job's run lacks.
    ///
    /// # Errors
    /// As [`AgentClient::heartbeat`].
    pub fn missing_blobs(&self, job: i64, lease: &str, digests: &[String]) -> Result<Vec<String>, ClientError> {
        let question = MissingBlobs { digests: digests.to_vec() };
        let answer: MissingBlobs = self.json("POST", &paths::missing_blobs(job), Some(lease), &question)?;
        Ok(answer.digests)
    }

    /// Uploads one blob, read from `content`.
    ///
    /// # Errors
    /// As [`AgentClient::heartbeat`].
    pub fn upload_blob(
        &self,
        job: i64,
        lease: &str,
        digest: &str,
        content: &mut dyn std::io::Read,
    ) -> Result<(), ClientError> {
        self.send("PUT", &paths::blob(job, digest), Some(lease), Body::Stream(content), BLOB_TIMEOUT).map(|_| ())
    }

    /// Downloads one blob of the job's run into `sink` (which checks it against its digest).
    ///
    /// # Errors
    /// As [`AgentClient::heartbeat`]; what `sink` fails with is [`ClientError::Protocol`].
    pub fn download_blob<T>(
        &self,
        job: i64,
        lease: &str,
        digest: &str,
        sink: impl FnOnce(&mut dyn std::io::Read) -> Result<T, String>,
    ) -> Result<T, ClientError> {
        let mut response = self.send("GET", &paths::blob(job, digest), Some(lease), Body::Empty, BLOB_TIMEOUT)?;
        let mut reader = response.body_mut().with_config().limit(u64::MAX).reader();
        sink(&mut reader).map_err(ClientError::Protocol)
    }

    /// Downloads version `digest` of the server's OSV database (a gzip-compressed tar) into
    /// `sink` (which checks it against the digest).
    ///
    /// # Errors
    /// As [`AgentClient::heartbeat`] (`404` when the server no longer has that version); what
    /// `sink` fails with is [`ClientError::Protocol`].
    pub fn download_osv<T>(
        &self,
        digest: &str,
        sink: impl FnOnce(&mut dyn std::io::Read) -> Result<T, String>,
    ) -> Result<T, ClientError> {
        let mut response = self.send("GET", &paths::osv(digest), None, Body::Empty, BLOB_TIMEOUT)?;
        let mut reader = response.body_mut().with_config().limit(u64::MAX).reader();
        sink(&mut reader).map_err(ClientError::Protocol)
    }

    /// Records an artifact the job published; every blob it references was uploaded first.
    ///
    /// # Errors
    /// As [`AgentClient::heartbeat`].
    pub fn publish_artifact(
        &self,
        job: i64,
        lease: &str,
        manifest: &ArtifactManifest,
    ) -> Result<PublishReply, ClientError> {
        let body = PublishArtifact { manifest: manifest.clone() };
        self.json("PUT", &paths::artifact(job, &manifest.name), Some(lease), &body)
    }

    /// Tells the server the job ended.
    ///
    /// # Errors
    /// As [`AgentClient::heartbeat`].
    pub fn complete(&self, job: i64, lease: &str, completion: &Completion) -> Result<CompletionReply, ClientError> {
        self.json("POST", &paths::complete(job), Some(lease), completion)
    }

    /// Asks the delivery room for what a delivery task of the job needs.
    ///
    /// # Errors
    /// As [`AgentClient::heartbeat`]; the room's refusals are [`ClientError::Api`].
    pub fn delivery(
        &self,
        job: i64,
        lease: &str,
        request: &slipway_events::delivery::DeliveryRequest,
    ) -> Result<slipway_events::delivery::DeliveryAnswer, ClientError> {
        self.json("POST", &paths::delivery(job), Some(lease), request)
    }
}
