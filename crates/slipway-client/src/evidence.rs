//! Evidence bundles: a run's or deployment's signed tar.gz, and the server's public provenance
//! keys that check its signature.

use crate::http::Body;
use crate::{Client, ClientError, Result, api};

/// The most bytes of a bundle or key set read.
const MAX_BUNDLE_BYTES: u64 = 1024 * 1024 * 1024;

impl Client {
    /// `GET /runs/{id}/evidence` (reader): run `id`'s evidence bundle (a gzip-compressed tar).
    ///
    /// # Errors
    /// As [`Client::get`].
    pub fn run_evidence(&self, id: i64) -> Result<Vec<u8>> {
        self.bundle(&format!("/runs/{id}/evidence"))
    }

    /// `GET /environments/{name}/deployments/{id}/evidence` (reader): deployment `id` of
    /// environment `environment`'s evidence bundle.
    ///
    /// # Errors
    /// As [`Client::get`].
    pub fn deployment_evidence(&self, environment: &str, id: i64) -> Result<Vec<u8>> {
        self.bundle(&format!("/environments/{}/deployments/{id}/evidence", api::path_segment(environment)))
    }

    /// `GET /.well-known/slipway/provenance-keys.json` (anyone): the server's public provenance
    /// keys, the document `slipway verify --keys` and `slipway evidence verify --keys` read.
    ///
    /// # Errors
    /// As [`Client::get`].
    pub fn provenance_keys(&self) -> Result<Vec<u8>> {
        let response = self.transport.send(
            "GET",
            "/.well-known/slipway/provenance-keys.json",
            &[("accept", "application/json")],
            Body::Empty,
            None,
        )?;
        read_bytes(response)
    }

    fn bundle(&self, path: &str) -> Result<Vec<u8>> {
        read_bytes(self.send("GET", path, api::evidence::EVIDENCE_MEDIA_TYPE, Body::Empty)?)
    }
}

/// The whole body of an answer.
fn read_bytes(mut response: ureq::http::Response<ureq::Body>) -> Result<Vec<u8>> {
    response
        .body_mut()
        .with_config()
        .limit(MAX_BUNDLE_BYTES)
        .read_to_vec()
        .map_err(|error| ClientError::Protocol(format!("the answer broke off: {error}")))
}
