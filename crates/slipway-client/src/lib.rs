//! Slipway's one client of the server's HTTP API, blocking, for the `slipway` command's client
//! commands and for agents (plain threads, no async runtime).
//!
//! - [`Client`] holds the server's address and a personal access token (sent as
//!   `Authorization: Bearer TOKEN`). Its basics, [`Client::get`], [`Client::post`],
//!   [`Client::put`], [`Client::patch`] and [`Client::delete`], send and read JSON; the typed calls
//!   on top of them ([`Client::pipelines`], [`Client::start_run`], [`Client::runs`], ...) send and
//!   read the API's wire types, [`slipway_api`] (re-exported as [`api`]), the same types the
//!   server's handlers answer with. Reading is lenient: fields a newer server adds are ignored,
//!   and fields an older one lacks take their defaults.
//! - [`agent::AgentClient`] is an agent's side of the agent protocol (`slipway-protocol`'s types).
//! - Both go through one transport: every answer that is not a success becomes a
//!   [`ClientError::Api`] holding the server's `application/problem+json`
//!   [`Problem`](api::Problem) (its `detail` says what went wrong); a server that cannot be
//!   reached is [`ClientError::Unreachable`]; [`ClientError::is_transient`] says whether trying
//!   again may help.
//! - [`Client::follow_logs`] follows a run's live log (`GET /runs/{id}/logs?follow=true`,
//!   server-sent events, read by [`sse::EventStreamReader`]) as [`LogEvent`]s until the run ends.
//!
//! The client does no I/O beyond its HTTP connections, and prints nothing.

pub mod agent;
mod audit;
mod error;
mod events;
mod evidence;
mod http;
mod osv;
pub mod sse;
mod team;

use std::collections::HashMap;
use std::io::BufReader;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
pub use slipway_api as api;
use slipway_api::follow::{self, LogEnd, LogLine, LogShutdown, LogWaiting};
use slipway_api::{
    CreatePipeline, CreateRun, CreatedToken, CreatedUser, Health, Pipeline, PipelineList, QueueStatus, Run, RunDetail,
    RunLogs, RunPage, RunsQuery, User, Variable, VariableGroup, path_segment,
};

pub use agent::AgentClient;
pub use error::ClientError;
use http::{Body, Transport, read_json};
use sse::EventStreamReader;

/// The result of a client call.
pub type Result<T, E = ClientError> = std::result::Result<T, E>;

/// The API's path under the server's address.
pub const API_PREFIX: &str = "/api/v1";

/// How often a log follower tries to reconnect after its stream broke off before the run ended.
const FOLLOW_RECONNECTS: u32 = 5;

/// A connection to one Slipway server, with an optional token. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Client {
    transport: Transport,
    authorization: Option<String>,
}

/// Makes a server address canonical: `http(s)://host[:port][/path]` without a trailing `/` or
/// `/api/v1` (both are accepted, so the address `slipway serve` prints can be pasted).
///
/// # Errors
/// [`ClientError::InvalidServer`] when it is not an `http://` or `https://` URL with a host.
pub fn normalize_server(server: &str) -> Result<String> {
    let invalid = |reason: &str| ClientError::InvalidServer { server: server.to_owned(), reason: reason.to_owned() };
    let trimmed = server.trim();
    let Some((scheme, rest)) = trimmed.split_once("://") else {
        return Err(invalid(&format!("it must start with http:// or https:// (http://{trimmed}?)")));
    };
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return Err(invalid("it must start with http:// or https://"));
    }
    if rest.contains(['?', '#']) || rest.chars().any(char::is_whitespace) {
        return Err(invalid("it must be a plain address, without spaces, a query or a fragment"));
    }
    let mut address = trimmed.trim_end_matches('/').to_owned();
    if let Some(stripped) = address.strip_suffix(API_PREFIX) {
        address = stripped.trim_end_matches('/').to_owned();
    }
    let host = address.split_once("://").map_or("", |(_, rest)| rest.split('/').next().unwrap_or_default());
    if host.is_empty() || host.starts_with(':') || host.contains('@') {
        return Err(invalid("it has no host"));
    }
    Ok(format!("{}{}", scheme.to_ascii_lowercase(), &address[scheme.len()..]))
}

/// Encodes a query-string value.
fn query_value(text: &str) -> String {
    path_segment(text)
}

impl Client {
    /// A client of the server at `server` (`http://host:port`, with or without `/api/v1`), without
    /// a token.
    ///
    /// # Errors
    /// [`ClientError::InvalidServer`] when the address is not an `http(s)://` URL.
    pub fn new(server: &str) -> Result<Self> {
        let server = normalize_server(server)?;
        let transport = Transport::new(server, concat!("slipway/", env!("CARGO_PKG_VERSION")));
        Ok(Self { transport, authorization: None })
    }

    /// This client, sending `token` with every call.
    #[must_use]
    pub fn with_token(mut self, token: impl Into<String>) -> Self {
        self.authorization = Some(format!("Bearer {}", token.into()));
        self
    }

    /// The server's address, canonical (see [`normalize_server`]).
    #[must_use]
    pub fn server(&self) -> &str {
        &self.transport.server
    }

    /// The full URL of an API path (`/runs/1` → `http://host/api/v1/runs/1`).
    #[must_use]
    pub fn api_url(&self, path: &str) -> String {
        format!("{}{API_PREFIX}{path}", self.transport.server)
    }

    /// The address to show people for a run: its page in the server's web UI.
    #[must_use]
    pub fn run_url(&self, run: i64) -> String {
        format!("{}/runs/{run}", self.transport.server)
    }

    /// Sends `method` to an API path with `accept` and the token.
    fn send(&self, method: &str, path: &str, accept: &str, body: Body<'_>) -> Result<ureq::http::Response<ureq::Body>> {
        let mut headers = vec![("accept", accept)];
        if let Some(authorization) = &self.authorization {
            headers.push(("authorization", authorization.as_str()));
        }
        self.transport.send(method, &format!("{API_PREFIX}{path}"), &headers, body, None)
    }

    /// `GET` an API path (`/runs`), reading JSON.
    ///
    /// # Errors
    /// [`ClientError::Unreachable`], [`ClientError::Api`] for a problem answer, or
    /// [`ClientError::Protocol`] when the answer is not the JSON expected.
    pub fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        read_json(self.send("GET", path, "application/json", Body::Empty)?)
    }

    /// `POST` JSON to an API path, reading JSON.
    ///
    /// # Errors
    /// As [`Client::get`].
    pub fn post<B: Serialize + ?Sized, T: DeserializeOwned>(&self, path: &str, body: &B) -> Result<T> {
        read_json(self.send("POST", path, "application/json", Body::json(body)?)?)
    }

    /// `PUT` JSON to an API path, reading JSON (`null` when the answer has no body).
    ///
    /// # Errors
    /// As [`Client::get`].
    pub fn put<B: Serialize + ?Sized, T: DeserializeOwned>(&self, path: &str, body: &B) -> Result<T> {
        read_json(self.send("PUT", path, "application/json", Body::json(body)?)?)
    }

    /// `PATCH` JSON to an API path, reading JSON.
    ///
    /// # Errors
    /// As [`Client::get`].
    pub fn patch<B: Serialize + ?Sized, T: DeserializeOwned>(&self, path: &str, body: &B) -> Result<T> {
        read_json(self.send("PATCH", path, "application/json", Body::json(body)?)?)
    }

    /// `DELETE` an API path; the answer's body, if any, is dropped.
    ///
    /// # Errors
    /// As [`Client::get`].
    pub fn delete(&self, path: &str) -> Result<()> {
        let mut response = self.send("DELETE", path, "application/json", Body::Empty)?;
        let _ = response.body_mut().read_to_string();
        Ok(())
    }

    /// `GET /health`: whether the server is up (needs no token).
    ///
    /// # Errors
    /// As [`Client::get`].
    pub fn health(&self) -> Result<Health> {
        self.get("/health")
    }

    /// `GET /me`: the user the token belongs to.
    ///
    /// # Errors
    /// As [`Client::get`]; 401 for a bad token.
    pub fn me(&self) -> Result<User> {
        self.get("/me")
    }

    /// `GET /pipelines`.
    ///
    /// # Errors
    /// As [`Client::get`].
    pub fn pipelines(&self) -> Result<Vec<Pipeline>> {
        self.get::<PipelineList>("/pipelines").map(|list| list.pipelines)
    }

    /// `POST /pipelines` (admin).
    ///
    /// # Errors
    /// As [`Client::get`].
    pub fn create_pipeline(&self, pipeline: &CreatePipeline) -> Result<Pipeline> {
        self.post("/pipelines", pipeline)
    }

    /// `GET /pipelines/{name}`.
    ///
    /// # Errors
    /// As [`Client::get`].
    pub fn pipeline(&self, name: &str) -> Result<Pipeline> {
        self.get(&format!("/pipelines/{}", path_segment(name)))
    }

    /// `PATCH /pipelines/{name}` with a queue status (admin).
    ///
    /// # Errors
    /// As [`Client::get`].
    pub fn set_queue_status(&self, name: &str, status: QueueStatus) -> Result<Pipeline> {
        let change = api::UpdatePipeline { queue_status: Some(status), ..api::UpdatePipeline::default() };
        self.patch(&format!("/pipelines/{}", path_segment(name)), &change)
    }

    /// `DELETE /pipelines/{name}` (admin): deletes it with its runs.
    ///
    /// # Errors
    /// As [`Client::get`]; a 409 while it has unfinished runs.
    pub fn delete_pipeline(&self, name: &str) -> Result<()> {
        self.delete(&format!("/pipelines/{}", path_segment(name)))
    }

    /// `POST /pipelines/{name}/runs` (contributor): queues a run.
    ///
    /// # Errors
    /// As [`Client::get`].
    pub fn start_run(&self, pipeline: &str, run: &CreateRun) -> Result<Run> {
        self.post(&format!("/pipelines/{}/runs", path_segment(pipeline)), run)
    }

    /// `GET /runs`: a page of runs, newest first.
    ///
    /// # Errors
    /// As [`Client::get`].
    pub fn runs(&self, query: &RunsQuery) -> Result<RunPage> {
        let mut parts = Vec::new();
        if let Some(pipeline) = &query.pipeline {
            parts.push(format!("pipeline={}", query_value(pipeline)));
        }
        if let Some(status) = &query.status {
            parts.push(format!("status={}", query_value(status)));
        }
        if let Some(before) = query.before {
            parts.push(format!("before={before}"));
        }
        if let Some(limit) = query.limit {
            parts.push(format!("limit={limit}"));
        }
        let query = if parts.is_empty() { String::new() } else { format!("?{}", parts.join("&")) };
        self.get(&format!("/runs{query}"))
    }

    /// `GET /runs/{id}`: a run with its jobs.
    ///
    /// # Errors
    /// As [`Client::get`].
    pub fn run(&self, run: i64) -> Result<RunDetail> {
        self.get(&format!("/runs/{run}"))
    }

    /// `GET /runs/{id}/logs`: every job's whole log as it is now.
    ///
    /// # Errors
    /// As [`Client::get`].
    pub fn run_logs(&self, run: i64) -> Result<RunLogs> {
        self.get(&format!("/runs/{run}/logs"))
    }

    /// `POST /runs/{id}/cancel` (contributor).
    ///
    /// # Errors
    /// As [`Client::get`]; 409 when the run already completed.
    pub fn cancel_run(&self, run: i64) -> Result<Run> {
        self.post(&format!("/runs/{run}/cancel"), &serde_json::json!({}))
    }

    /// `POST /runs/{id}/rerun` (contributor): a new run of the same commit, or with `failed_only`
    /// the failed jobs again in the same run (the answer is then that run).
    ///
    /// # Errors
    /// As [`Client::get`].
    pub fn rerun(&self, run: i64, failed_only: bool) -> Result<Run> {
        self.post(&format!("/runs/{run}/rerun"), &api::Rerun { failed_only })
    }

    /// `GET /pipelines/{name}/variables`: a pipeline's variables (secret values are `None`).
    ///
    /// # Errors
    /// As [`Client::get`].
    pub fn variables(&self, pipeline: &str) -> Result<Vec<Variable>> {
        self.get(&format!("/pipelines/{}/variables", path_segment(pipeline)))
    }

    /// `PUT /pipelines/{name}/variables/{var}`: sets a pipeline variable.
    ///
    /// # Errors
    /// As [`Client::get`].
    pub fn set_variable(&self, pipeline: &str, name: &str, value: &str, secret: bool) -> Result<Variable> {
        let path = format!("/pipelines/{}/variables/{}", path_segment(pipeline), path_segment(name));
        self.put(&path, &api::SetVariable { value: value.to_owned(), secret })
    }

    /// `DELETE /pipelines/{name}/variables/{var}`.
    ///
    /// # Errors
    /// As [`Client::get`].
    pub fn delete_variable(&self, pipeline: &str, name: &str) -> Result<()> {
        self.delete(&format!("/pipelines/{}/variables/{}", path_segment(pipeline), path_segment(name)))
    }

    /// `GET /variable-groups`.
    ///
    /// # Errors
    /// As [`Client::get`].
    pub fn variable_groups(&self) -> Result<Vec<VariableGroup>> {
        self.get("/variable-groups")
    }

    /// `POST /variable-groups`.
    ///
    /// # Errors
    /// As [`Client::get`].
    pub fn create_variable_group(&self, name: &str, description: &str) -> Result<VariableGroup> {
        self.post("/variable-groups", &api::CreateGroup { name: name.to_owned(), description: description.to_owned() })
    }

    /// `GET /variable-groups/{group}`: a group with its variables (secret values are `None`).
    ///
    /// # Errors
    /// As [`Client::get`].
    pub fn variable_group(&self, group: &str) -> Result<VariableGroup> {
        self.get(&format!("/variable-groups/{}", path_segment(group)))
    }

    /// `DELETE /variable-groups/{group}`.
    ///
    /// # Errors
    /// As [`Client::get`].
    pub fn delete_variable_group(&self, group: &str) -> Result<()> {
        self.delete(&format!("/variable-groups/{}", path_segment(group)))
    }

    /// `PUT /variable-groups/{group}/variables/{var}`.
    ///
    /// # Errors
    /// As [`Client::get`].
    pub fn set_group_variable(&self, group: &str, name: &str, value: &str, secret: bool) -> Result<Variable> {
        let path = format!("/variable-groups/{}/variables/{}", path_segment(group), path_segment(name));
        self.put(&path, &api::SetVariable { value: value.to_owned(), secret })
    }

    /// `DELETE /variable-groups/{group}/variables/{var}`.
    ///
    /// # Errors
    /// As [`Client::get`].
    pub fn delete_group_variable(&self, group: &str, name: &str) -> Result<()> {
        self.delete(&format!("/variable-groups/{}/variables/{}", path_segment(group), path_segment(name)))
    }

    /// `GET /environments`.
    ///
    /// # Errors
    /// As [`Client::get`].
    pub fn environments(&self) -> Result<api::EnvironmentList> {
        self.get("/environments")
    }

    /// `GET /environments/{name}`.
    ///
    /// # Errors
    /// As [`Client::get`].
    pub fn environment(&self, name: &str) -> Result<api::Environment> {
        self.get(&format!("/environments/{}", path_segment(name)))
    }

    /// `POST /environments` (admin).
    ///
    /// # Errors
    /// As [`Client::get`].
    pub fn create_environment(&self, name: &str, description: &str) -> Result<api::Environment> {
        let body = api::CreateEnvironment { name: name.to_owned(), description: description.to_owned() };
        self.post("/environments", &body)
    }

    /// `PATCH /environments/{name}` (admin): a new name, description, or both.
    ///
    /// # Errors
    /// As [`Client::get`].
    pub fn update_environment(&self, name: &str, update: &api::UpdateEnvironment) -> Result<api::Environment> {
        self.patch(&format!("/environments/{}", path_segment(name)), update)
    }

    /// `DELETE /environments/{name}` (admin).
    ///
    /// # Errors
    /// As [`Client::get`].
    pub fn delete_environment(&self, name: &str) -> Result<()> {
        self.delete(&format!("/environments/{}", path_segment(name)))
    }

    /// `GET /environments/{name}/deployments?limit=N`: the history, newest first, and what runs where.
    ///
    /// # Errors
    /// As [`Client::get`].
    pub fn deployments(&self, name: &str, limit: Option<i64>) -> Result<api::DeploymentList> {
        let mut path = format!("/environments/{}/deployments", path_segment(name));
        if let Some(limit) = limit {
            path.push_str(&format!("?limit={limit}"));
        }
        self.get(&path)
    }

    /// `GET /environments/{name}/dora?days=N`: DORA's four keys of the environment over the last
    /// `days` days (the server's default, 30, when `None`).
    ///
    /// # Errors
    /// As [`Client::get`].
    pub fn dora(&self, name: &str, days: Option<u32>) -> Result<api::DoraMetrics> {
        let mut path = format!("/environments/{}/dora", path_segment(name));
        if let Some(days) = days {
            path.push_str(&format!("?days={days}"));
        }
        self.get(&path)
    }

    /// `GET /dora/metrics?metric=...`: one DORA metric's series in GitLab's DORA API shape, with
    /// the parameters given (the server's defaults for the others).
    ///
    /// # Errors
    /// As [`Client::get`].
    pub fn dora_series(&self, query: &api::DoraSeriesQuery) -> Result<Vec<api::DoraDataPoint>> {
        let parameters = [
            ("metric", &query.metric),
            ("interval", &query.interval),
            ("environment", &query.environment),
            ("start_date", &query.start_date),
            ("end_date", &query.end_date),
        ];
        let parts: Vec<String> = parameters
            .iter()
            .filter_map(|(name, value)| value.as_deref().map(|value| format!("{name}={}", query_value(value))))
            .collect();
        let mut path = "/dora/metrics".to_owned();
        if !parts.is_empty() {
            path.push('?');
            path.push_str(&parts.join("&"));
        }
        self.get(&path)
    }

    /// `GET /{collection}/{name}/checks`: the checks on a protected resource (`collection` is
    /// `environments`, `variable-groups` or `pools`).
    ///
    /// # Errors
    /// As [`Client::get`].
    pub fn checks(&self, collection: &str, name: &str) -> Result<api::CheckList> {
        self.get(&format!("/{collection}/{}/checks", path_segment(name)))
    }

    /// `POST /{collection}/{name}/checks` (admin).
    ///
    /// # Errors
    /// As [`Client::get`].
    pub fn add_check(&self, collection: &str, name: &str, check: &api::NewCheck) -> Result<api::Check> {
        self.post(&format!("/{collection}/{}/checks", path_segment(name)), check)
    }

    /// `DELETE /{collection}/{name}/checks/{id}` (admin).
    ///
    /// # Errors
    /// As [`Client::get`].
    pub fn delete_check(&self, collection: &str, name: &str, id: i64) -> Result<()> {
        self.delete(&format!("/{collection}/{}/checks/{id}", path_segment(name)))
    }

    /// `GET /runs/{id}/checkpoints`: what the run's stages wait or waited for.
    ///
    /// # Errors
    /// As [`Client::get`].
    pub fn checkpoints(&self, run: i64) -> Result<api::CheckpointList> {
        self.get(&format!("/runs/{run}/checkpoints"))
    }

    /// `GET /approvals?state=...&mine=...`.
    ///
    /// # Errors
    /// As [`Client::get`].
    pub fn approvals(&self, state: Option<&str>, mine: bool) -> Result<api::ApprovalList> {
        let mut query = Vec::new();
        if let Some(state) = state {
            query.push(format!("state={}", path_segment(state)));
        }
        if mine {
            query.push("mine=true".to_owned());
        }
        let path = if query.is_empty() { "/approvals".to_owned() } else { format!("/approvals?{}", query.join("&")) };
        self.get(&path)
    }

    /// `POST /approvals/{id}`: approve or reject.
    ///
    /// # Errors
    /// As [`Client::get`].
    pub fn decide_approval(&self, id: i64, decision: &api::DecideApproval) -> Result<api::Approval> {
        self.post(&format!("/approvals/{id}"), decision)
    }

    /// `GET /environments/{name}/flags`: the environment's flag document and its revision.
    ///
    /// # Errors
    /// As [`Client::get`].
    pub fn flags(&self, environment: &str) -> Result<api::FlagSet> {
        self.get(&format!("/environments/{}/flags", path_segment(environment)))
    }

    /// `PUT /environments/{name}/flags`: replaces the whole document (contributor); 422 names
    /// every mistake, 409 when it is not at `put.revision`.
    ///
    /// # Errors
    /// As [`Client::get`].
    pub fn put_flags(&self, environment: &str, put: &api::PutFlags) -> Result<api::FlagSet> {
        self.put(&format!("/environments/{}/flags", path_segment(environment)), put)
    }

    /// `PATCH /environments/{name}/flags/{key}`: one flag's state and/or default variant
    /// (contributor).
    ///
    /// # Errors
    /// As [`Client::get`].
    pub fn set_flag(&self, environment: &str, key: &str, set: &api::SetFlag) -> Result<api::FlagSet> {
        self.patch(&format!("/environments/{}/flags/{}", path_segment(environment), path_segment(key)), set)
    }

    /// `POST /environments/{name}/ofrep/v1/evaluate/flags/{key}`: one flag evaluated for a context
    /// over OFREP. A failed evaluation (unknown flag, targeting that cannot be evaluated) is an
    /// [`ClientError::Api`] whose detail is OFREP's failure body.
    ///
    /// # Errors
    /// As [`Client::get`].
    pub fn evaluate_flag(
        &self,
        environment: &str,
        key: &str,
        request: &api::OfrepRequest,
    ) -> Result<api::OfrepEvaluation> {
        let path = format!("/environments/{}/ofrep/v1/evaluate/flags/{}", path_segment(environment), path_segment(key));
        self.post(&path, request)
    }

    /// `GET /environments/{name}/services`.
    ///
    /// # Errors
    /// As [`Client::get`].
    pub fn services(&self, environment: &str) -> Result<api::ServiceList> {
        self.get(&format!("/environments/{}/services", path_segment(environment)))
    }

    /// `POST /environments/{name}/services` (admin).
    ///
    /// # Errors
    /// As [`Client::get`].
    pub fn create_service(
        &self,
        environment: &str,
        name: &str,
        listen: &str,
        provider: Option<&str>,
    ) -> Result<api::Service> {
        let body = api::CreateService {
            name: name.to_owned(),
            listen: listen.to_owned(),
            provider: provider.map(str::to_owned),
        };
        self.post(&format!("/environments/{}/services", path_segment(environment)), &body)
    }

    /// `DELETE /environments/{name}/services/{service}` (admin).
    ///
    /// # Errors
    /// As [`Client::get`].
    pub fn delete_service(&self, environment: &str, name: &str) -> Result<()> {
        self.delete(&format!("/environments/{}/services/{}", path_segment(environment), path_segment(name)))
    }

    /// `PUT /environments/{name}/services/{service}/slots/{slot}`.
    ///
    /// # Errors
    /// As [`Client::get`].
    pub fn set_slot(
        &self,
        environment: &str,
        name: &str,
        slot: &str,
        upstream: &str,
        weight: u32,
    ) -> Result<api::Service> {
        let path = format!(
            "/environments/{}/services/{}/slots/{}",
            path_segment(environment),
            path_segment(name),
            path_segment(slot)
        );
        self.put(&path, &api::SetSlot { upstream: upstream.to_owned(), weight })
    }

    /// `DELETE /environments/{name}/services/{service}/slots/{slot}`.
    ///
    /// # Errors
    /// As [`Client::get`].
    pub fn delete_slot(&self, environment: &str, name: &str, slot: &str) -> Result<()> {
        self.delete(&format!(
            "/environments/{}/services/{}/slots/{}",
            path_segment(environment),
            path_segment(name),
            path_segment(slot)
        ))
    }

    /// `POST /environments/{name}/services/{service}/traffic`.
    ///
    /// # Errors
    /// As [`Client::get`].
    pub fn set_traffic(&self, environment: &str, name: &str, weights: &api::SetTraffic) -> Result<api::Service> {
        self.post(
            &format!("/environments/{}/services/{}/traffic", path_segment(environment), path_segment(name)),
            weights,
        )
    }

    /// `POST /environments/{name}/services/{service}/swap`.
    ///
    /// # Errors
    /// As [`Client::get`].
    pub fn swap_slots(&self, environment: &str, name: &str, first: &str, second: &str) -> Result<api::Service> {
        let body = api::SwapSlots { slots: [first.to_owned(), second.to_owned()] };
        self.post(&format!("/environments/{}/services/{}/swap", path_segment(environment), path_segment(name)), &body)
    }

    /// `POST /environments/{name}/deployments/{id}/redeploy`: deploys an earlier successful
    /// deployment's version again (the manual rollback); the run, queued again.
    ///
    /// # Errors
    /// As [`Client::get`].
    pub fn redeploy(&self, environment: &str, deployment: i64) -> Result<api::Run> {
        self.post(
            &format!("/environments/{}/deployments/{deployment}/redeploy", path_segment(environment)),
            &serde_json::json!({}),
        )
    }

    /// `GET /analysis-runs/{id}`: an analysis run with its measurements.
    ///
    /// # Errors
    /// As [`Client::get`].
    pub fn analysis_run(&self, id: i64) -> Result<slipway_events::delivery::AnalysisState> {
        self.get(&format!("/analysis-runs/{id}"))
    }

    /// `POST /analysis-runs/{id}/decision`: passes or fails an inconclusive analysis run.
    ///
    /// # Errors
    /// As [`Client::get`].
    pub fn decide_analysis(
        &self,
        id: i64,
        pass: bool,
        comment: Option<&str>,
    ) -> Result<slipway_events::delivery::AnalysisState> {
        let body = api::AnalysisDecision {
            decision: if pass { "pass" } else { "fail" }.to_owned(),
            comment: comment.map(str::to_owned),
        };
        self.post(&format!("/analysis-runs/{id}/decision"), &body)
    }

    /// `POST /users` (admin): a user with a first token.
    ///
    /// # Errors
    /// As [`Client::get`].
    pub fn create_user(&self, name: &str, role: api::UserRole) -> Result<CreatedUser> {
        self.post("/users", &api::CreateUser { name: name.to_owned(), role })
    }

    /// `POST /users/{name}/tokens`: a new personal access token for a user (admin, or the user).
    ///
    /// # Errors
    /// As [`Client::get`].
    pub fn create_token(&self, user: &str, name: Option<&str>) -> Result<CreatedToken> {
        let body = api::CreateToken { name: name.map(str::to_owned) };
        self.post(&format!("/users/{}/tokens", path_segment(user)), &body)
    }

    /// Follows a run's log live (`GET /runs/{id}/logs?follow=true`): each line as it comes, then
    /// the run's end. The follower reconnects when the stream breaks off before the end, skipping
    /// the lines it already gave.
    ///
    /// # Errors
    /// As [`Client::get`], for the first connection.
    pub fn follow_logs(&self, run: i64) -> Result<LogFollower> {
        let mut follower = LogFollower {
            client: self.clone(),
            run,
            stream: None,
            next_line: HashMap::new(),
            finished: false,
            breaks: 0,
        };
        follower.connect()?;
        Ok(follower)
    }

    fn open_stream(&self, path: &str) -> Result<EventStreamReader<BufReader<ureq::BodyReader<'static>>>> {
        let response = self.send("GET", path, "text/event-stream", Body::Empty)?;
        Ok(EventStreamReader::new(BufReader::new(response.into_body().into_reader())))
    }
}

/// What following a run's log gives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogEvent {
    /// A line of a job's log.
    Line {
        /// The job's key (`STAGE.JOB` or `STAGE.JOB.LEG`).
        job: String,
        /// The line's number in its job, from 0.
        line: i64,
        /// The line.
        text: String,
    },
    /// The run completed (or was deleted, with status `deleted`); nothing follows.
    End {
        /// The run's status.
        status: String,
        /// Its result.
        result: Option<slipway_events::TaskResult>,
    },
    /// Why a queued job waits for an agent, when that changes (empty when it no longer does).
    Waiting {
        /// The job's key.
        job: String,
        /// Why it waits.
        reason: String,
    },
    /// The server is stopping and closed the stream; the run goes on.
    Shutdown {
        /// Why.
        reason: String,
    },
}

/// A run's live log; an iterator of [`LogEvent`]s that ends after [`LogEvent::End`] or
/// [`LogEvent::Shutdown`].
pub struct LogFollower {
    client: Client,
    run: i64,
    stream: Option<EventStreamReader<BufReader<ureq::BodyReader<'static>>>>,
    next_line: HashMap<String, i64>,
    finished: bool,
    /// How many times in a row the stream broke off without giving an event.
    breaks: u32,
}

impl std::fmt::Debug for LogFollower {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("LogFollower").field("run", &self.run).field("finished", &self.finished).finish()
    }
}

impl LogFollower {
    fn connect(&mut self) -> Result<()> {
        self.stream = Some(self.client.open_stream(&format!("/runs/{}/logs?follow=true", self.run))?);
        Ok(())
    }

    /// Reconnects after the stream broke off, a few times with a pause between tries; gives up
    /// when it keeps breaking off without giving anything.
    fn reconnect(&mut self, cause: String) -> Result<()> {
        self.stream = None;
        self.breaks += 1;
        if self.breaks > FOLLOW_RECONNECTS {
            return Err(ClientError::Protocol(cause));
        }
        let mut last = ClientError::Protocol(cause);
        for attempt in 0..FOLLOW_RECONNECTS {
            std::thread::sleep(Duration::from_millis(200 * u64::from(attempt + 1)));
            match self.connect() {
                Ok(()) => return Ok(()),
                Err(error @ ClientError::Api(_)) => return Err(error),
                Err(error) => last = error,
            }
        }
        Err(last)
    }

    /// The next event, waiting for it.
    ///
    /// # Errors
    /// When the stream broke off and could not be opened again, or holds malformed events.
    pub fn next_event(&mut self) -> Result<Option<LogEvent>> {
        loop {
            if self.finished {
                return Ok(None);
            }
            let Some(stream) = self.stream.as_mut() else {
                self.reconnect("the log stream was closed".into())?;
                continue;
            };
            let event = match stream.next_event() {
                Ok(Some(event)) => {
                    self.breaks = 0;
                    event
                }
                Ok(None) => {
                    self.reconnect("the server closed the log stream before the run ended".into())?;
                    continue;
                }
                Err(error) => {
                    self.reconnect(format!("the log stream broke off: {error}"))?;
                    continue;
                }
            };
            match event.event.as_str() {
                follow::LOG => {
                    let LogLine { job, line, text } = data(&event)?;
                    let next = self.next_line.entry(job.clone()).or_insert(0);
                    if line < *next {
                        continue;
                    }
                    *next = line + 1;
                    return Ok(Some(LogEvent::Line { job, line, text }));
                }
                follow::END => {
                    let LogEnd { status, result } = data(&event)?;
                    self.finished = true;
                    return Ok(Some(LogEvent::End { status, result }));
                }
                follow::WAITING => {
                    let LogWaiting { job, reason } = data(&event)?;
                    return Ok(Some(LogEvent::Waiting { job, reason }));
                }
                follow::SHUTDOWN => {
                    let LogShutdown { reason } = data(&event)?;
                    self.finished = true;
                    return Ok(Some(LogEvent::Shutdown { reason }));
                }
                _ => {}
            }
        }
    }
}

/// An event's data, as the API defines it for the event's name.
fn data<T: DeserializeOwned>(event: &sse::ServerEvent) -> Result<T> {
    serde_json::from_str(&event.data).map_err(|error| {
        ClientError::Protocol(format!("a '{}' event is not what the API defines: {error}", event.event))
    })
}

impl Iterator for LogFollower {
    type Item = Result<LogEvent>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.next_event() {
            Ok(Some(event)) => Some(Ok(event)),
            Ok(None) => None,
            Err(error) => {
                self.finished = true;
                Some(Err(error))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_addresses_are_made_canonical() {
        assert_eq!(normalize_server("http://127.0.0.1:8080").ok().as_deref(), Some("http://127.0.0.1:8080"));
        assert_eq!(normalize_server("HTTP://host/").ok().as_deref(), Some("http://host"));
        assert_eq!(
            normalize_server("https://ci.example/slipway/api/v1/").ok().as_deref(),
            Some("https://ci.example/slipway")
        );
        for bad in ["127.0.0.1:8080", "ftp://host", "http://", "http://:80", "http://host?x=1", "http://a b"] {
            assert!(normalize_server(bad).is_err(), "{bad}");
        }
    }

    /// A server on 127.0.0.1 that answers each connection, in turn, with one of `answers` (a whole
    /// HTTP response) and closes it.
    fn fake_server(answers: Vec<String>) -> String {
        use std::io::{BufRead as _, Write as _};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|error| panic!("{error}"));
        let address = listener.local_addr().unwrap_or_else(|error| panic!("{error}"));
        std::thread::spawn(move || {
            for (stream, answer) in listener.incoming().map_while(std::result::Result::ok).zip(answers) {
                let mut reader = BufReader::new(&stream);
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|read| read > 2) {
                    line.clear();
                }
                let _ = (&stream).write_all(answer.as_bytes());
            }
        });
        format!("http://{address}")
    }

    fn stream(body: &str) -> String {
        format!("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n{body}")
    }

    fn log(job: &str, line: i64, text: &str) -> String {
        format!("event: log\ndata: {}\n\n", serde_json::json!({ "job": job, "line": line, "text": text }))
    }

    #[test]
    fn a_follower_reconnects_and_skips_what_it_gave() {
        let first = stream(&format!(": keep-alive\n\n{}{}", log("A", 0, "one"), log("A", 1, "two")));
        let second = stream(&format!(
            "{}{}{}event: end\ndata: {{\"status\":\"completed\",\"result\":\"Failed\"}}\n\n",
            log("A", 0, "one"),
            log("A", 1, "two"),
            log("B", 0, "three")
        ));
        let server = fake_server(vec![first, second]);
        let client = Client::new(&server).map(|client| client.with_token("slw_x"));
        let events: Vec<LogEvent> = client
            .and_then(|client| client.follow_logs(4))
            .map(|follower| follower.filter_map(std::result::Result::ok).collect())
            .unwrap_or_default();
        let line = |job: &str, line, text: &str| LogEvent::Line { job: job.into(), line, text: text.into() };
        assert_eq!(
            events,
            vec![
                line("A", 0, "one"),
                line("A", 1, "two"),
                line("B", 0, "three"),
                LogEvent::End { status: "completed".into(), result: Some(slipway_events::TaskResult::Failed) },
            ]
        );
    }

    #[test]
    fn problems_and_unreachable_servers() {
        let body = r#"{"type":"/problems/not-found","title":"Not Found","status":404,"detail":"no run 4"}"#;
        let answer = format!(
            "HTTP/1.1 404 Not Found\r\nContent-Type: application/problem+json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        let server = fake_server(vec![answer]);
        let error = Client::new(&server).and_then(|client| client.run(4)).err();
        assert_eq!(error.as_ref().and_then(ClientError::status), Some(404));
        assert_eq!(error.map(|error| error.to_string()).as_deref(), Some("no run 4"));
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .map(|address| address.port())
            .unwrap_or(9);
        let unreachable = Client::new(&format!("http://127.0.0.1:{port}")).and_then(|client| client.health()).err();
        assert!(
            matches!(&unreachable, Some(ClientError::Unreachable { reason, .. }) if reason == "connection refused"),
            "{unreachable:?}"
        );
    }
}
