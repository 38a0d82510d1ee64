//! The one HTTP transport under both clients: blocking `ureq` requests to one server, with a
//! per-request timeout, answers that are not a success turned into the server's
//! [`Problem`](slipway_api::Problem) once, here, and JSON read with a size limit.

use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use slipway_api::Problem;
use ureq::http::Response;

use crate::error::{ClientError, describe_transport};

/// How long connecting to the server may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The largest JSON answer read (a run's whole logs can be large).
const MAX_ANSWER_BYTES: u64 = 512 * 1024 * 1024;

/// A request's body.
pub(crate) enum Body<'a> {
    /// None.
    Empty,
    /// JSON, already written.
    Json(Vec<u8>),
    /// Bytes streamed from a reader (`application/octet-stream`).
    Stream(&'a mut dyn std::io::Read),
}

impl Body<'_> {
    /// A JSON body.
    pub(crate) fn json<B: Serialize + ?Sized>(body: &B) -> Result<Self, ClientError> {
        serde_json::to_vec(body)
            .map(Body::Json)
            .map_err(|error| ClientError::Protocol(format!("the request cannot be written: {error}")))
    }
}

/// A connection to one server. Cheap to clone.
#[derive(Clone, Debug)]
pub(crate) struct Transport {
    /// The server's address, canonical (no trailing `/`).
    pub(crate) server: String,
    agent: ureq::Agent,
}

impl Transport {
    /// A transport to `server` (canonical already), naming itself `user_agent`.
    pub(crate) fn new(server: String, user_agent: &str) -> Self {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(CONNECT_TIMEOUT))
            .user_agent(user_agent)
            .build();
        Self { server, agent: config.into() }
    }

    /// The error for a request that did not get an answer.
    pub(crate) fn unreachable(&self, reason: String) -> ClientError {
        ClientError::Unreachable { server: self.server.clone(), reason }
    }

    /// Sends `method` to `url_path` (from the server's root) with `headers` and `body`, waiting
    /// at most `timeout` (none: no limit but the connection's); gives the answer when its status
    /// is a success, else the server's problem.
    pub(crate) fn send(
        &self,
        method: &str,
        url_path: &str,
        headers: &[(&str, &str)],
        body: Body<'_>,
        timeout: Option<Duration>,
    ) -> Result<Response<ureq::Body>, ClientError> {
        let mut request = ureq::http::Request::builder().method(method).uri(format!("{}{url_path}", self.server));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let sent = match body {
            Body::Empty => self.run(request.body(()), timeout),
            Body::Json(bytes) => self.run(request.header("content-type", "application/json").body(bytes), timeout),
            Body::Stream(reader) => self.run(
                request.header("content-type", "application/octet-stream").body(ureq::SendBody::from_reader(reader)),
                timeout,
            ),
        };
        let mut response = sent?;
        if response.status().is_success() {
            return Ok(response);
        }
        let status = response.status().as_u16();
        let text = response.body_mut().with_config().limit(1024 * 1024).read_to_string().unwrap_or_default();
        Err(ClientError::Api(Problem::from_answer(status, &text)))
    }

    fn run(
        &self,
        request: Result<ureq::http::Request<impl ureq::AsSendBody>, ureq::http::Error>,
        timeout: Option<Duration>,
    ) -> Result<Response<ureq::Body>, ClientError> {
        let request = request.map_err(|error| self.unreachable(error.to_string()))?;
        let request = self.agent.configure_request(request).timeout_global(timeout).build();
        self.agent.run(request).map_err(|error| self.unreachable(describe_transport(&error)))
    }
}

/// Reads an answer's JSON (`null` for an empty body).
///
/// # Errors
/// [`ClientError::Protocol`] when it breaks off or is not the JSON expected.
pub(crate) fn read_json<T: DeserializeOwned>(mut response: Response<ureq::Body>) -> Result<T, ClientError> {
    let text = response
        .body_mut()
        .with_config()
        .limit(MAX_ANSWER_BYTES)
        .read_to_string()
        .map_err(|error| ClientError::Protocol(format!("the answer broke off: {}", describe_transport(&error))))?;
    let text = if text.trim().is_empty() { "null" } else { &text };
    serde_json::from_str(text)
        .map_err(|error| ClientError::Protocol(format!("the answer is not what was expected: {error}")))
}
