//! The agent's side of the protocol over HTTP: blocking requests with `ureq`, one at a time per
//! thread, no async runtime (an idle agent waits in one long-poll request and holds little memory).

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use slipway_protocol::{
    ArtifactManifest, Chunk, ChunkReply, Completion, HeartbeatReply, HelloRequest, HelloResponse, JobMessage,
    LEASE_HEADER, LeaseRequest, MissingBlobs, PROTOCOL_HEADER, PROTOCOL_VERSION, Problem, PublishArtifact,
    RegisterRequest, RegisterResponse, ReportedState, StateRequest, paths,
};
use slipway_runtime::artifacts::ArtifactStore;

use crate::runner::{Uplink, UplinkError};

/// How long a request other than a lease may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server could not be reached, or failed (5xx): trying again later may work.
    #[error("the server at {server} cannot be reached: {reason}")]
    Unreachable {
        /// The server's URL.
        server: String,
        /// What happened.
        reason: String,
    },
    /// The server refused the request (4xx), saying why.
    #[error("the server refused: {detail} (HTTP {status})")]
    Refused {
        /// The HTTP status.
        status: u16,
        /// The problem's detail.
        detail: String,
    },
    /// The server's answer was not what the protocol says.
    #[error("the server's answer is not understood: {0}")]
    Protocol(String),
}

impl ClientError {
    /// Whether trying again later may work.
    #[must_use]
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Unreachable { .. })
    }
}

/// A connection to a Slipway server. Cheap to clone.
#[derive(Clone)]
pub struct Client {
    base: Arc<str>,
    http: ureq::Agent,
    credential: Option<Arc<str>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("Client").field("server", &self.base).finish_non_exhaustive()
    }
}

/// A request's body.
enum Body<'a> {
    None,
    Json(Vec<u8>),
    Reader(&'a mut dyn std::io::Read),
}

impl Client {
    fn run(
        &self,
        request: Result<ureq::http::Request<impl ureq::AsSendBody>, ureq::http::Error>,
        timeout: Duration,
    ) -> Result<ureq::http::Response<ureq::Body>, ClientError> {
        let request = request.map_err(|error| self.unreachable(error))?;
        let request = self.http.configure_request(request).timeout_global(Some(timeout)).build();
        self.http.run(request).map_err(|error| self.unreachable(error))
    }

    /// A client of the server at `server` (`http://host:port`, with or without a trailing `/`).
    #[must_use]
    pub fn new(server: &str) -> Self {
        let http: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(10)))
            .user_agent(format!("slipway-agent/{}", slipway_protocol::SOFTWARE_VERSION))
            .build()
            .into();
        Self { base: Arc::from(server.trim_end_matches('/')), http, credential: None }
    }

    /// The same client, authenticating with an agent credential.
    #[must_use]
    pub fn with_credential(mut self, credential: &str) -> Self {
        self.credential = Some(Arc::from(credential));
        self
    }

    /// The server's URL.
    #[must_use]
    pub fn server(&self) -> &str {
        &self.base
    }

    fn unreachable(&self, reason: impl std::fmt::Display) -> ClientError {
        ClientError::Unreachable { server: self.base.to_string(), reason: reason.to_string() }
    }

    /// Sends a request; gives the response when its status is 2xx.
    fn send(
        &self,
        method: &str,
        path: &str,
        lease: Option<&str>,
        body: Body<'_>,
        timeout: Duration,
    ) -> Result<ureq::http::Response<ureq::Body>, ClientError> {
        let url = format!("{}{path}", self.base);
        let mut request = ureq::http::Request::builder()
            .method(method)
            .uri(&url)
            .header(PROTOCOL_HEADER, PROTOCOL_VERSION.to_string());
        if let Some(credential) = &self.credential {
            request = request.header("authorization", format!("Bearer {credential}"));
        }
        if let Some(lease) = lease {
            request = request.header(LEASE_HEADER, lease);
        }
        let sent = match body {
            Body::None => self.run(request.body(()), timeout),
            Body::Json(bytes) => self.run(request.header("content-type", "application/json").body(bytes), timeout),
            Body::Reader(reader) => self.run(
                request.header("content-type", "application/octet-stream").body(ureq::SendBody::from_reader(reader)),
                timeout,
            ),
        };
        let mut response = sent?;
        let status = response.status().as_u16();
        if (200..300).contains(&status) {
            return Ok(response);
        }
        let text = response.body_mut().read_to_string().unwrap_or_default();
        let detail = serde_json::from_str::<Problem>(&text).map(|problem| problem.detail).unwrap_or(text);
        if status >= 500 || status == 429 || status == 408 {
            Err(self.unreachable(format!("HTTP {status}: {detail}")))
        } else {
            Err(ClientError::Refused { status, detail })
        }
    }

    fn json<T: DeserializeOwned>(
        &self,
        method: &str,
        path: &str,
        lease: Option<&str>,
        body: &impl Serialize,
        timeout: Duration,
    ) -> Result<T, ClientError> {
        let bytes = serde_json::to_vec(body).map_err(|error| ClientError::Protocol(error.to_string()))?;
        let mut response = self.send(method, path, lease, Body::Json(bytes), timeout)?;
        response
            .body_mut()
            .with_config()
            .limit(256 * 1024 * 1024)
            .read_json()
            .map_err(|error| ClientError::Protocol(error.to_string()))
    }

    /// Registers an agent with a one-time registration token.
    ///
    /// # Errors
    /// When the server cannot be reached or refuses (a used token, a taken name, another protocol).
    pub fn register(&self, request: &RegisterRequest) -> Result<RegisterResponse, ClientError> {
        self.json("POST", paths::REGISTER, None, request, REQUEST_TIMEOUT)
    }

    /// Tells the server the agent started, with its version and capabilities.
    ///
    /// # Errors
    /// When the server cannot be reached or refuses.
    pub fn hello(&self, request: &HelloRequest) -> Result<HelloResponse, ClientError> {
        self.json("POST", paths::HELLO, None, request, REQUEST_TIMEOUT)
    }

    /// Waits up to `wait` for a job.
    ///
    /// # Errors
    /// When the server cannot be reached or refuses.
    pub fn lease(&self, wait: Duration) -> Result<Option<JobMessage>, ClientError> {
        let wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX);
        let body = serde_json::to_vec(&LeaseRequest { wait_ms: Some(wait_ms) })
            .map_err(|error| ClientError::Protocol(error.to_string()))?;
        let mut response = self.send("POST", paths::LEASE, None, Body::Json(body), wait + REQUEST_TIMEOUT)?;
        if response.status().as_u16() == 204 {
            return Ok(None);
        }
        response
            .body_mut()
            .with_config()
            .limit(256 * 1024 * 1024)
            .read_json()
            .map(Some)
            .map_err(|error| ClientError::Protocol(error.to_string()))
    }

    /// Tells the server the agent's state.
    ///
    /// # Errors
    /// When the server cannot be reached or refuses.
    pub fn set_state(&self, state: ReportedState) -> Result<(), ClientError> {
        let _: serde_json::Value = self.json("POST", paths::STATE, None, &StateRequest { state }, REQUEST_TIMEOUT)?;
        Ok(())
    }

    /// The uplink of a leased job.
    #[must_use]
    pub fn job_uplink(&self, job: i64, lease_id: &str) -> JobUplink {
        JobUplink { client: self.clone(), job, lease_id: lease_id.to_owned() }
    }
}

/// Reports of one leased job over HTTP.
#[derive(Clone, Debug)]
pub struct JobUplink {
    client: Client,
    job: i64,
    lease_id: String,
}

/// A failed job-scoped request as the runner sees it: 409 means the lease is lost.
fn uplink_error(error: ClientError) -> UplinkError {
    match error {
        ClientError::Unreachable { .. } => UplinkError::Transient(error.to_string()),
        ClientError::Refused { status: 409, detail } => UplinkError::LeaseLost(detail),
        other => UplinkError::Refused(other.to_string()),
    }
}

impl Uplink for JobUplink {
    fn heartbeat(&self) -> Result<HeartbeatReply, UplinkError> {
        let path = paths::heartbeat(self.job);
        self.client
            .json("POST", &path, Some(&self.lease_id), &serde_json::json!({}), REQUEST_TIMEOUT)
            .map_err(uplink_error)
    }

    fn send_chunk(&self, chunk: &Chunk) -> Result<(), UplinkError> {
        let path = paths::chunks(self.job);
        let _: ChunkReply =
            self.client.json("POST", &path, Some(&self.lease_id), chunk, REQUEST_TIMEOUT).map_err(uplink_error)?;
        Ok(())
    }

    fn shares_artifact_store(&self) -> bool {
        false
    }

    fn download_blob(&self, digest: &str, store: &ArtifactStore) -> Result<(), UplinkError> {
        let path = paths::blob(self.job, digest);
        let mut response = self
            .client
            .send("GET", &path, Some(&self.lease_id), Body::None, Duration::from_secs(3600))
            .map_err(uplink_error)?;
        let mut reader = response.body_mut().with_config().limit(u64::MAX).reader();
        store.import_blob(digest, &mut reader).map(|_| ()).map_err(|error| UplinkError::Transient(error.to_string()))
    }

    fn missing_blobs(&self, digests: &[String]) -> Result<Vec<String>, UplinkError> {
        let path = paths::missing_blobs(self.job);
        let answer: MissingBlobs = self
            .client
            .json("POST", &path, Some(&self.lease_id), &MissingBlobs { digests: digests.to_vec() }, REQUEST_TIMEOUT)
            .map_err(uplink_error)?;
        Ok(answer.digests)
    }

    fn upload_blob(&self, digest: &str, store: &ArtifactStore) -> Result<(), UplinkError> {
        let Some(file) = store.existing_blob(digest) else {
            return Err(UplinkError::Refused(format!("the blob {digest} is not in the local artifact store")));
        };
        let mut file = std::fs::File::open(&file).map_err(|error| UplinkError::Refused(error.to_string()))?;
        let path = paths::blob(self.job, digest);
        self.client
            .send("PUT", &path, Some(&self.lease_id), Body::Reader(&mut file), Duration::from_secs(3600))
            .map(|_| ())
            .map_err(uplink_error)
    }

    fn publish_artifact(&self, manifest: &ArtifactManifest) -> Result<(), UplinkError> {
        let path = paths::artifact(self.job, &manifest.name);
        let _: serde_json::Value = self
            .client
            .json("PUT", &path, Some(&self.lease_id), &PublishArtifact { manifest: manifest.clone() }, REQUEST_TIMEOUT)
            .map_err(uplink_error)?;
        Ok(())
    }

    fn complete(&self, completion: &Completion) -> Result<(), UplinkError> {
        let path = paths::complete(self.job);
        let _: serde_json::Value =
            self.client.json("POST", &path, Some(&self.lease_id), completion, REQUEST_TIMEOUT).map_err(uplink_error)?;
        Ok(())
    }
}
