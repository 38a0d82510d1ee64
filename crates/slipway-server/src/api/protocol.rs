//! The agent protocol's endpoints (`/api/v1/agent/...`, see `docs/agent-protocol.md`), with the
//! wire types of [`slipway_protocol`].
//!
//! Agents authenticate with their credential (`Authorization: Bearer slwagent_...`) and send
//! their protocol version in [`PROTOCOL_HEADER`] on every request; an agent whose version this
//! server does not speak gets `426` with a sentence saying which side to upgrade. Job-scoped
//! requests carry the lease id in [`LEASE_HEADER`]; one made without holding the lease gets `409`.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::Json;
use axum::body::Body;
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{DefaultBodyLimit, FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt as _;
use slipway_api as wire;
use slipway_protocol::{
    ArtifactList, Chunk, ChunkReply, Completion, CompletionReply, HeartbeatReply, HelloRequest, HelloResponse,
    LEASE_HEADER, LeaseRequest, MAX_CHUNK_EVENTS, MAX_LONG_POLL_MS, MissingBlobs, PROTOCOL_HEADER, PROTOCOL_VERSION,
    PublishArtifact, PublishReply, RegisterRequest, RegisterResponse, ReportedState, StateReply, StateRequest,
};
use slipway_runtime::artifacts::ArtifactStore;
use slipway_store::{
    Agent, AgentState, Job, JobId, JobStatus, LeaseRequest as StoreLeaseRequest, LeaseToken, NewAgent, StoreError,
};
use tokio::io::AsyncWriteExt as _;

use slipway_engine::LogFailure as _;

use crate::AppState;
use crate::error::ApiError;
use slipway_engine::agents::{self, MessageError};

/// The largest chunk of events an agent may send.
const MAX_CHUNK_BYTES: usize = 16 * 1024 * 1024;

/// The largest blob an agent may upload.
const MAX_BLOB_BYTES: u64 = 8 * 1024 * 1024 * 1024;

/// The agent protocol's routes.
pub(crate) fn routes(routes: super::Routes) -> super::Routes {
    let routes = route!(routes, register);
    let routes = route!(routes, hello);
    let routes = route!(routes, lease);
    let routes = route!(routes, set_state);
    let routes = route!(routes, heartbeat);
    let routes = route!(routes, chunks; layer = DefaultBodyLimit::max(MAX_CHUNK_BYTES));
    let routes = route!(routes, complete);
    let routes = route!(routes, list_run_artifacts);
    let routes = route!(routes, publish_artifact);
    let routes = route!(routes, missing_blobs);
    let routes = route!(routes, delivery);
    route!(routes, upload_blob, download_blob)
}

/// The protocol version an agent sent, checked.
fn check_protocol(parts: &Parts) -> Result<(), ApiError> {
    let Some(value) = parts.headers.get(PROTOCOL_HEADER) else {
        return Err(ApiError::bad_request(format!(
            "agent requests must carry the `{PROTOCOL_HEADER}` header with the agent protocol version"
        )));
    };
    let version: u32 = value
        .to_str()
        .ok()
        .and_then(|text| text.trim().parse().ok())
        .ok_or_else(|| ApiError::bad_request(format!("the `{PROTOCOL_HEADER}` header must be a number")))?;
    let software = parts.headers.get(header::USER_AGENT).and_then(|value| value.to_str().ok()).unwrap_or_default();
    let software = software.strip_prefix("slipway-agent/").unwrap_or("unknown version");
    match slipway_protocol::version_mismatch(version, software) {
        None => Ok(()),
        Some(detail) => Err(ApiError::BadRequest { status: StatusCode::UPGRADE_REQUIRED, detail }),
    }
}

/// The agent making a request, authenticated by its credential.
#[derive(Clone, Debug)]
pub(crate) struct AgentCaller {
    /// The agent.
    pub(crate) agent: Agent,
}

impl AgentCaller {
    fn holder(&self) -> String {
        agents::LeaseHolder::Agent(self.agent.name.clone()).to_string()
    }
}

impl FromRequestParts<AppState> for AgentCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        check_protocol(parts)?;
        let secret = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|text| text.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or_else(|| {
                ApiError::Unauthorized("an `Authorization: Bearer AGENT_CREDENTIAL` header is needed".into())
            })?;
        match state.store().authenticate_agent(secret).await? {
            Some(agent) => Ok(Self { agent }),
            None => Err(ApiError::Unauthorized(
                "the agent credential is unknown (the agent was deleted?): register the agent again with a new \
                 registration token"
                    .into(),
            )),
        }
    }
}

/// The lease a job-scoped request names: its job (from the path) and lease id (from the header).
fn lease_token(parts: &axum::http::HeaderMap, job: i64) -> Result<LeaseToken, ApiError> {
    let lease_id = parts
        .get(LEASE_HEADER)
        .and_then(|value| value.to_str().ok())
        .map(str::trim)
        .filter(|value| !value.is_empty())
        .ok_or_else(|| ApiError::bad_request(format!("job requests must carry the `{LEASE_HEADER}` header")))?;
    Ok(LeaseToken { job: JobId(job), lease_id: lease_id.to_owned() })
}

/// A store error of a job-scoped request: a lost lease is `409`.
fn job_error(error: StoreError) -> ApiError {
    if error.is_lease_lost() {
        ApiError::Conflict(error.to_string())
    } else if matches!(error, StoreError::LogChunkOutOfOrder { .. } | StoreError::LogChunkMismatch { .. }) {
        ApiError::bad_request(error.to_string())
    } else {
        ApiError::from(error)
    }
}

/// The job of a job-scoped request, checked to be running under this agent's lease.
async fn leased_job(state: &AppState, caller: &AgentCaller, job: i64) -> Result<Job, ApiError> {
    let found = state.store().job(JobId(job)).await.map_err(|error| {
        if error.is_not_found() { ApiError::NotFound(format!("no job {job}")) } else { ApiError::from(error) }
    })?;
    if found.status != JobStatus::Running || found.lease_holder.as_deref() != Some(caller.holder().as_str()) {
        return Err(ApiError::Conflict(format!("the lease on job {job} is not held by agent '{}'", caller.agent.name)));
    }
    Ok(found)
}

fn check_agent_name(name: &str) -> Result<(), ApiError> {
    slipway_agent::agent::check_name(name).map_err(ApiError::bad_request)?;
    if name.starts_with(agents::LOCAL_AGENT_PREFIX) {
        return Err(ApiError::bad_request(format!(
            "agent names starting with '{}' are kept for the server's in-process agents",
            agents::LOCAL_AGENT_PREFIX
        )));
    }
    Ok(())
}

pub(crate) fn check_pool_name(pool: &str) -> Result<String, ApiError> {
    Ok(slipway_service::agents::checked_pool_name(pool)?)
}

fn check_capabilities(capabilities: &BTreeMap<String, String>) -> Result<(), ApiError> {
    if capabilities.len() > 1000 {
        return Err(ApiError::bad_request("an agent may have at most 1000 capabilities"));
    }
    for (key, value) in capabilities {
        if key.is_empty() || key.len() > 200 || value.len() > 2000 {
            return Err(ApiError::bad_request(format!("the capability '{key}' is too long or has no name")));
        }
    }
    Ok(())
}

/// Registers an agent with a one-time registration token; answers its credential, shown once.
#[utoipa::path(post, path = "/agent/register", tag = "agent protocol", security(()),
    request_body = slipway_protocol::RegisterRequest, params(("slipway-agent-protocol" = u32, Header, description = "The protocol version the agent speaks.")),
    responses((status = 201, description = "The agent and its credential.", body = RegisterResponse),
        (status = 400, response = wire::Problem), (status = 401, response = wire::Problem),
        (status = 409, response = wire::Problem), (status = 426, response = wire::Problem)))]
async fn register(
    State(state): State<AppState>,
    parts: Parts,
    body: Result<Json<RegisterRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<RegisterResponse>), ApiError> {
    check_protocol(&parts)?;
    let Json(body) = body?;
    let software = body.version.clone();
    if let Some(detail) = slipway_protocol::version_mismatch(body.protocol_version, &software) {
        return Err(ApiError::BadRequest { status: StatusCode::UPGRADE_REQUIRED, detail });
    }
    check_agent_name(&body.name)?;
    let pool = check_pool_name(&body.pool)?;
    check_capabilities(&body.capabilities)?;
    join_environment(&state, &body.capabilities).await?;
    let new = NewAgent { name: body.name.clone(), pool, capabilities: body.capabilities, version: body.version };
    let issued = state.store().register_agent(&body.registration_token, &new).await.map_err(|error| match error {
        StoreError::Conflict { .. } => ApiError::Conflict(format!(
            "an agent named '{}' is registered already: choose another --name, or delete that agent",
            body.name
        )),
        other => ApiError::from(other),
    })?;
    let Some(issued) = issued else {
        return Err(ApiError::Unauthorized("the registration token is unknown, used or expired".into()));
    };
    state
        .store()
        .record_audit(&slipway_store::NewAuditEntry {
            actor: format!("agent:{}", issued.item.name),
            action: "agent.register".into(),
            target: Some(issued.item.name.clone()),
            details: serde_json::json!({ "pool": issued.item.pool }),
        })
        .await
        .log_failure("recording an agent's registration in the audit log");
    Ok((
        StatusCode::CREATED,
        Json(RegisterResponse {
            agent_id: issued.item.id.get(),
            name: issued.item.name,
            pool: issued.item.pool,
            credential: issued.secret,
            protocol_version: PROTOCOL_VERSION,
            server_version: slipway_protocol::SOFTWARE_VERSION.to_owned(),
        }),
    ))
}

/// An agent that names an environment (`slipway agent --environment`) is one of its resources:
/// the environment is made if it does not exist yet.
async fn join_environment(
    state: &AppState,
    capabilities: &std::collections::BTreeMap<String, String>,
) -> Result<(), ApiError> {
    let Some(name) = capabilities.get(slipway_protocol::capability::ENVIRONMENT) else { return Ok(()) };
    state.store().ensure_environment(name).await.map_err(|error| match error {
        StoreError::Invalid { reason, .. } => {
            ApiError::bad_request(format!("--environment '{name}' cannot be an environment's name: {reason}"))
        }
        other => ApiError::from(other),
    })?;
    Ok(())
}

/// The agent started: its version and capabilities; answers the server's timing.
#[utoipa::path(post, path = "/agent/hello", tag = "agent protocol", security(("agentCredential" = [])),
    request_body = HelloRequest, params(("slipway-agent-protocol" = u32, Header, description = "The protocol version the agent speaks.")),
    responses((status = 200, description = "The agent as registered, and the server's settings.", body = HelloResponse),
        (status = 400, response = wire::Problem), (status = 401, response = wire::Problem),
        (status = 409, response = wire::Problem), (status = 426, response = wire::Problem)))]
async fn hello(
    State(state): State<AppState>,
    caller: AgentCaller,
    body: Result<Json<HelloRequest>, JsonRejection>,
) -> Result<Json<HelloResponse>, ApiError> {
    let Json(body) = body?;
    check_capabilities(&body.capabilities)?;
    join_environment(&state, &body.capabilities).await?;
    let store = state.store();
    store.update_agent(caller.agent.id, &body.capabilities, &body.version).await?;
    let agent = store.agent_seen(caller.agent.id, AgentState::Idle).await?;
    state.agent_hub().set_draining(agent.id, false);
    let timing = state.agent_hub().timing();
    Ok(Json(HelloResponse {
        agent_id: agent.id.get(),
        name: agent.name,
        pool: agent.pool,
        protocol_version: PROTOCOL_VERSION,
        server_version: slipway_protocol::SOFTWARE_VERSION.to_owned(),
        settings: slipway_protocol::AgentSettings {
            lease_duration_ms: agents::millis(timing.lease_duration),
            heartbeat_interval_ms: agents::millis(timing.heartbeat_interval),
            long_poll_ms: agents::millis(timing.long_poll),
        },
    }))
}

/// The agent drains or stops (or is idle again).
#[utoipa::path(post, path = "/agent/state", tag = "agent protocol", security(("agentCredential" = [])),
    request_body = StateRequest, params(("slipway-agent-protocol" = u32, Header, description = "The protocol version the agent speaks.")),
    responses((status = 200, description = "The state recorded.", body = StateReply), (status = 400, response = wire::Problem), (status = 401, response = wire::Problem),
        (status = 409, response = wire::Problem), (status = 426, response = wire::Problem)))]
async fn set_state(
    State(state): State<AppState>,
    caller: AgentCaller,
    body: Result<Json<StateRequest>, JsonRejection>,
) -> Result<Json<StateReply>, ApiError> {
    let Json(body) = body?;
    let stored = match body.state {
        ReportedState::Idle => AgentState::Idle,
        ReportedState::Draining => AgentState::Draining,
        ReportedState::Offline => AgentState::Offline,
    };
    state.store().agent_seen(caller.agent.id, stored).await?;
    state.agent_hub().set_draining(caller.agent.id, stored != AgentState::Idle);
    Ok(Json(StateReply { state: body.state }))
}

/// Waits (long-polls) for a job of the agent's pool whose demands it meets.
#[utoipa::path(post, path = "/agent/lease", tag = "agent protocol", security(("agentCredential" = [])),
    request_body = LeaseRequest, params(("slipway-agent-protocol" = u32, Header, description = "The protocol version the agent speaks.")),
    responses((status = 200, description = "A job, leased to the agent.", body = slipway_protocol::JobMessage),
        (status = 204, description = "No job came in time, or the agent drains."), (status = 400, response = wire::Problem), (status = 401, response = wire::Problem),
        (status = 409, response = wire::Problem), (status = 426, response = wire::Problem)))]
async fn lease(
    State(state): State<AppState>,
    caller: AgentCaller,
    body: Result<Json<LeaseRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(body) = body?;
    let store = state.store();
    let hub = state.agent_hub();
    let timing = hub.timing();
    let wait =
        body.wait_ms.map_or(timing.long_poll, Duration::from_millis).min(Duration::from_millis(MAX_LONG_POLL_MS));
    let deadline = tokio::time::Instant::now() + wait;
    let agent = caller.agent.clone();
    if agent.state == AgentState::Draining {
        hub.set_draining(agent.id, true);
    }
    // Heard from: recorded at most every few seconds (an agent asks again after every job).
    let recently = agent.last_seen_at.is_some_and(|seen| seen > store.now().minus(Duration::from_secs(5)));
    if agent.state != AgentState::Draining && !(agent.state == AgentState::Idle && recently) {
        store.agent_seen(agent.id, AgentState::Idle).await?;
    }
    let request = StoreLeaseRequest {
        holder: caller.holder(),
        pool: agent.pool.clone(),
        capabilities: agent.capabilities.clone(),
        duration: timing.lease_duration,
    };
    let mut stopping = state.stopping();
    // An agent that goes away while it waits here (killed, its machine gone) is offline at once:
    // the server drops this request when the connection closes.
    let mut gone = GoneWhileWaiting { store: store.clone(), agent: Some(agent.id) };
    let answer = wait_for_lease(&state, &agent, &request, deadline, &mut stopping).await;
    gone.agent = None;
    answer
}

/// Marks an agent offline if its long poll is dropped before it is answered.
struct GoneWhileWaiting {
    store: slipway_store::Store,
    agent: Option<slipway_store::AgentId>,
}

impl Drop for GoneWhileWaiting {
    fn drop(&mut self) {
        let Some(agent) = self.agent.take() else { return };
        let store = self.store.clone();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                tracing::info!(agent = agent.get(), "an agent went away while waiting for a job");
                store.agent_seen(agent, AgentState::Offline).await.log_failure("marking a vanished agent offline");
            });
        }
    }
}

/// The long poll of [`lease`]: a job leased to `agent`, or 204 at the deadline or when it drains.
async fn wait_for_lease(
    state: &AppState,
    agent: &slipway_store::Agent,
    request: &StoreLeaseRequest,
    deadline: tokio::time::Instant,
    stopping: &mut tokio::sync::watch::Receiver<bool>,
) -> Result<Response, ApiError> {
    let store = state.store();
    let hub = state.agent_hub();
    let timing = hub.timing();
    loop {
        if hub.is_draining(agent.id) || *stopping.borrow() {
            return Ok(StatusCode::NO_CONTENT.into_response());
        }
        let notified = hub.work.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if let Some(leased) = store.lease_job(request).await? {
            match agents::job_message(store, &leased, timing).await {
                Ok(mut message) => {
                    // The server's OSV database, for the agent to keep up to date in its tools
                    // directory.
                    message.osv = slipway_service::osv::version(state).await.map(|version| {
                        slipway_protocol::OsvDatabaseRef { digest: version.digest, bytes: version.bytes }
                    });
                    return Ok(Json(message).into_response());
                }
                Err(MessageError::Unusable(reason)) => {
                    store
                        .complete_job(&leased.token, slipway_events::TaskResult::Failed, Some(&reason))
                        .await
                        .log_failure("failing a job no agent can run");
                    state.wake();
                    continue;
                }
                Err(MessageError::Store(error)) => {
                    // The job goes back to the queue when its lease expires.
                    return Err(ApiError::from(error));
                }
            }
        }
        let now = tokio::time::Instant::now();
        if now >= deadline {
            return Ok(StatusCode::NO_CONTENT.into_response());
        }
        let pause = (deadline - now).min(Duration::from_secs(1));
        tokio::select! {
            () = notified => {}
            () = tokio::time::sleep(pause) => {}
            _ = stopping.changed() => {}
        }
    }
}

/// Renews a job's lease; tells whether the run was cancelled.
#[utoipa::path(post, path = "/agent/jobs/{job}/heartbeat", tag = "agent protocol", security(("agentCredential" = [])),
    params(("slipway-agent-protocol" = u32, Header, description = "The protocol version the agent speaks."), ("slipway-lease" = String, Header, description = "The lease's id."), ("job" = i64, Path, description = "The job's id.")),
    responses((status = 200, description = "The lease, renewed.", body = HeartbeatReply), (status = 400, response = wire::Problem), (status = 401, response = wire::Problem),
        (status = 409, response = wire::Problem), (status = 426, response = wire::Problem)))]
async fn heartbeat(
    State(state): State<AppState>,
    caller: AgentCaller,
    job: Result<Path<i64>, PathRejection>,
    headers: axum::http::HeaderMap,
) -> Result<Json<HeartbeatReply>, ApiError> {
    let Path(job) = job?;
    let token = lease_token(&headers, job)?;
    let timing = state.agent_hub().timing();
    let beat = state.store().renew_lease(&token, timing.lease_duration).await.map_err(job_error)?;
    // A draining agent stays draining while it finishes its job.
    let busy = if caller.agent.state == AgentState::Draining { AgentState::Draining } else { AgentState::Busy };
    state.store().agent_seen(caller.agent.id, busy).await.log_failure("recording that an agent is busy");
    Ok(Json(HeartbeatReply {
        lease_remaining_ms: agents::millis(timing.lease_duration),
        cancel_requested: beat.cancel_requested,
    }))
}

/// One numbered chunk of a job's events; a chunk sent again is stored once.
#[utoipa::path(post, path = "/agent/jobs/{job}/chunks", tag = "agent protocol", security(("agentCredential" = [])),
    request_body = Chunk, params(("slipway-agent-protocol" = u32, Header, description = "The protocol version the agent speaks."), ("slipway-lease" = String, Header, description = "The lease's id."), ("job" = i64, Path, description = "The job's id.")),
    responses((status = 200, description = "Stored, or stored before.", body = ChunkReply), (status = 400, response = wire::Problem), (status = 401, response = wire::Problem),
        (status = 409, response = wire::Problem), (status = 426, response = wire::Problem)))]
async fn chunks(
    State(state): State<AppState>,
    caller: AgentCaller,
    job: Result<Path<i64>, PathRejection>,
    headers: axum::http::HeaderMap,
    body: Result<Json<Chunk>, JsonRejection>,
) -> Result<Json<ChunkReply>, ApiError> {
    let Path(job) = job?;
    let token = lease_token(&headers, job)?;
    let Json(chunk) = body?;
    if chunk.sequence < 0 || chunk.events.len() > MAX_CHUNK_EVENTS {
        return Err(ApiError::bad_request(format!(
            "a chunk has a sequence number from 0 and at most {MAX_CHUNK_EVENTS} events"
        )));
    }
    let found = state.store().job(JobId(job)).await.map_err(job_error)?;
    if found.lease_holder.as_deref() != Some(caller.holder().as_str()) && found.status == JobStatus::Running {
        return Err(ApiError::Conflict(format!("the lease on job {job} is not held by agent '{}'", caller.agent.name)));
    }
    let stored = agents::store_chunk(state.store(), &token, found.run, chunk).await.map_err(job_error)?;
    Ok(Json(ChunkReply { stored }))
}

/// The job ended: its result and output variables.
#[utoipa::path(post, path = "/agent/jobs/{job}/complete", tag = "agent protocol", security(("agentCredential" = [])),
    request_body = Completion, params(("slipway-agent-protocol" = u32, Header, description = "The protocol version the agent speaks."), ("slipway-lease" = String, Header, description = "The lease's id."), ("job" = i64, Path, description = "The job's id.")),
    responses((status = 200, description = "The job, completed.", body = CompletionReply), (status = 400, response = wire::Problem), (status = 401, response = wire::Problem),
        (status = 409, response = wire::Problem), (status = 426, response = wire::Problem)))]
async fn complete(
    State(state): State<AppState>,
    _caller: AgentCaller,
    job: Result<Path<i64>, PathRejection>,
    headers: axum::http::HeaderMap,
    body: Result<Json<Completion>, JsonRejection>,
) -> Result<Json<CompletionReply>, ApiError> {
    let Path(job) = job?;
    let token = lease_token(&headers, job)?;
    let Json(completion) = body?;
    if completion.outputs.len() > 10_000 {
        return Err(ApiError::bad_request("a job may set at most 10000 output variables"));
    }
    let done = agents::complete(state.store(), &token, &completion).await.map_err(job_error)?;
    state.wake();
    Ok(Json(CompletionReply { job: done.id.get(), result: done.result }))
}

/// A delivery task of the job asks the delivery room: slots, traffic, analysis. Only the job's
/// lease holder may, for a deployment job, and only for services of its own environment.
#[utoipa::path(post, path = "/agent/jobs/{job}/delivery", tag = "agent protocol", security(("agentCredential" = [])),
    request_body(content = Object, description = "A delivery request (`op`: `service`, `setSlot`, `route`, `swap`, `promote`, `rollback`, `retire`, `startAnalysis`, `analysis`, `stopAnalysis`)."),
    params(("slipway-agent-protocol" = u32, Header, description = "The protocol version the agent speaks."), ("slipway-lease" = String, Header, description = "The lease's id."), ("job" = i64, Path, description = "The job's id.")),
    responses((status = 200, description = "The service or analysis run afterwards.", body = Object), (status = 400, response = wire::Problem), (status = 401, response = wire::Problem),
        (status = 403, response = wire::Problem), (status = 404, response = wire::Problem), (status = 409, response = wire::Problem),
        (status = 422, response = wire::Problem), (status = 426, response = wire::Problem)))]
async fn delivery(
    State(state): State<AppState>,
    caller: AgentCaller,
    job: Result<Path<i64>, PathRejection>,
    headers: axum::http::HeaderMap,
    body: Result<Json<slipway_events::delivery::DeliveryRequest>, JsonRejection>,
) -> Result<Json<slipway_events::delivery::DeliveryAnswer>, ApiError> {
    let Path(job) = job?;
    let token = lease_token(&headers, job)?;
    let Json(request) = body?;
    let found = leased_job(&state, &caller, job).await?;
    // The lease's id too, not only its holder: a job leased again is another lease.
    state.store().renew_lease(&token, state.agent_hub().timing().lease_duration).await.map_err(job_error)?;
    state.delivery().operate(&found, request).await.map(Json).map_err(|refusal| {
        use slipway_engine::hooks::DeliveryRefusal;
        match refusal {
            DeliveryRefusal::NotFound(detail) => ApiError::NotFound(detail),
            DeliveryRefusal::Forbidden(detail) => ApiError::Forbidden(detail),
            DeliveryRefusal::Invalid(detail) => ApiError::Unprocessable(detail),
            DeliveryRefusal::Conflict(detail) => ApiError::Conflict(detail),
            DeliveryRefusal::Store(error) => ApiError::from(error),
        }
    })
}

/// The artifacts of the job's run.
#[utoipa::path(get, path = "/agent/jobs/{job}/artifacts", tag = "agent protocol", security(("agentCredential" = [])),
    params(("slipway-agent-protocol" = u32, Header, description = "The protocol version the agent speaks."), ("job" = i64, Path, description = "The job's id.")),
    responses((status = 200, description = "The run's artifacts.", body = ArtifactList), (status = 400, response = wire::Problem), (status = 401, response = wire::Problem),
        (status = 409, response = wire::Problem), (status = 426, response = wire::Problem)))]
async fn list_run_artifacts(
    State(state): State<AppState>,
    caller: AgentCaller,
    job: Result<Path<i64>, PathRejection>,
) -> Result<Json<ArtifactList>, ApiError> {
    let Path(job) = job?;
    let found = leased_job(&state, &caller, job).await?;
    Ok(Json(ArtifactList { artifacts: agents::run_artifacts(state.store(), found.run).await? }))
}

/// Records an artifact the job published; every blob it references was uploaded first.
#[utoipa::path(put, path = "/agent/jobs/{job}/artifacts/{name}", tag = "agent protocol",
    security(("agentCredential" = [])), request_body = PublishArtifact,
    params(("slipway-agent-protocol" = u32, Header, description = "The protocol version the agent speaks."), ("slipway-lease" = String, Header, description = "The lease's id."), ("job" = i64, Path, description = "The job's id."), ("name" = String, Path, description = "The artifact's name.")),
    responses((status = 200, description = "Recorded.", body = PublishReply), (status = 400, response = wire::Problem), (status = 401, response = wire::Problem),
        (status = 409, response = wire::Problem), (status = 426, response = wire::Problem)))]
async fn publish_artifact(
    State(state): State<AppState>,
    caller: AgentCaller,
    path: Result<Path<(i64, String)>, PathRejection>,
    headers: axum::http::HeaderMap,
    body: Result<Json<PublishArtifact>, JsonRejection>,
) -> Result<Json<PublishReply>, ApiError> {
    let Path((job, name)) = path?;
    lease_token(&headers, job)?;
    let Json(body) = body?;
    if body.manifest.name != name {
        return Err(ApiError::bad_request(format!("the manifest names '{}', the path '{name}'", body.manifest.name)));
    }
    let found = leased_job(&state, &caller, job).await?;
    let data_dir = state.data_dir().to_path_buf();
    let manifest = body.manifest.clone();
    let run = found.run;
    tokio::task::spawn_blocking(move || agents::install_manifest(&data_dir, run, &manifest))
        .await
        .map_err(|error| ApiError::Internal(error.to_string()))?
        .map_err(ApiError::bad_request)?;
    let root = agents::run_artifact_dir(state.data_dir(), found.run);
    slipway_engine::artifacts::ingest_local_store(
        state.store(),
        &slipway_engine::blobs::BlobStore::new(state.data_dir()),
        found.run,
        Some(found.id),
        &root,
    )
    .await
    .map_err(|error| ApiError::Internal(error.to_string()))?;
    Ok(Json(PublishReply { name }))
}

/// Which of these blobs the run's store lacks (the others need no upload).
#[utoipa::path(post, path = "/agent/jobs/{job}/blobs/missing", tag = "agent protocol",
    security(("agentCredential" = [])), request_body = MissingBlobs, params(("slipway-agent-protocol" = u32, Header, description = "The protocol version the agent speaks."), ("job" = i64, Path, description = "The job's id.")),
    responses((status = 200, description = "The missing ones.", body = MissingBlobs), (status = 400, response = wire::Problem), (status = 401, response = wire::Problem),
        (status = 409, response = wire::Problem), (status = 426, response = wire::Problem)))]
async fn missing_blobs(
    State(state): State<AppState>,
    caller: AgentCaller,
    job: Result<Path<i64>, PathRejection>,
    body: Result<Json<MissingBlobs>, JsonRejection>,
) -> Result<Json<MissingBlobs>, ApiError> {
    let Path(job) = job?;
    let Json(body) = body?;
    let found = leased_job(&state, &caller, job).await?;
    if let Some(bad) = body.digests.iter().find(|digest| !ArtifactStore::is_digest(digest)) {
        return Err(ApiError::bad_request(format!("'{bad}' is not a blob digest (sha256:<64 hex digits>)")));
    }
    // Blobs the server keeps already (from this run or another) are copied into the run's store.
    let store = ArtifactStore::new(agents::run_artifact_dir(state.data_dir(), found.run));
    let blobs = slipway_engine::blobs::BlobStore::new(state.data_dir());
    let digests = tokio::task::spawn_blocking(move || {
        body.digests
            .into_iter()
            .filter(|digest| {
                store.existing_blob(digest).is_none()
                    && !blobs.path(digest).is_some_and(|kept| {
                        std::fs::File::open(kept).is_ok_and(|mut file| store.import_blob(digest, &mut file).is_ok())
                    })
            })
            .collect()
    })
    .await
    .map_err(|error| ApiError::Internal(error.to_string()))?;
    Ok(Json(MissingBlobs { digests }))
}

/// Uploads one blob, its content checked against its digest.
#[utoipa::path(put, path = "/agent/jobs/{job}/blobs/{digest}", tag = "agent protocol",
    security(("agentCredential" = [])),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The blob."),
    params(("slipway-agent-protocol" = u32, Header, description = "The protocol version the agent speaks."), ("job" = i64, Path, description = "The job's id."), ("digest" = String, Path, description = "sha256:<64 hex digits>")),
    responses((status = 201, description = "Stored."), (status = 204, description = "Stored before."),
        (status = 413, response = wire::Problem), (status = 400, response = wire::Problem), (status = 401, response = wire::Problem),
        (status = 409, response = wire::Problem), (status = 426, response = wire::Problem)))]
async fn upload_blob(
    State(state): State<AppState>,
    caller: AgentCaller,
    path: Result<Path<(i64, String)>, PathRejection>,
    body: Body,
) -> Result<StatusCode, ApiError> {
    let Path((job, digest)) = path?;
    if !ArtifactStore::is_digest(&digest) {
        return Err(ApiError::bad_request(format!("'{digest}' is not a blob digest (sha256:<64 hex digits>)")));
    }
    let found = leased_job(&state, &caller, job).await?;
    let directory = agents::run_artifact_dir(state.data_dir(), found.run);
    let store = ArtifactStore::new(directory.clone());
    if store.existing_blob(&digest).is_some() {
        return Ok(StatusCode::NO_CONTENT);
    }
    let uploads = directory.join("uploads");
    tokio::fs::create_dir_all(&uploads).await.map_err(|error| ApiError::Internal(error.to_string()))?;
    let temporary = uploads.join(slipway_engine::random_hex(12).map_err(ApiError::Internal)?);
    let written = async {
        let mut file =
            tokio::fs::File::create(&temporary).await.map_err(|error| ApiError::Internal(error.to_string()))?;
        let mut stream = body.into_data_stream();
        let mut size = 0_u64;
        while let Some(piece) = stream.next().await {
            let piece = piece.map_err(|error| ApiError::bad_request(format!("the upload broke off: {error}")))?;
            size += piece.len() as u64;
            if size > MAX_BLOB_BYTES {
                return Err(ApiError::BadRequest {
                    status: StatusCode::PAYLOAD_TOO_LARGE,
                    detail: format!("a blob may hold at most {MAX_BLOB_BYTES} bytes"),
                });
            }
            file.write_all(&piece).await.map_err(|error| ApiError::Internal(error.to_string()))?;
        }
        file.flush().await.map_err(|error| ApiError::Internal(error.to_string()))?;
        Ok(())
    }
    .await;
    let imported = match written {
        Ok(()) => {
            let (temporary, digest) = (temporary.clone(), digest.clone());
            tokio::task::spawn_blocking(move || {
                let mut file = std::fs::File::open(&temporary)?;
                store.import_blob(&digest, &mut file).map_err(std::io::Error::other)
            })
            .await
            .map_err(|error| ApiError::Internal(error.to_string()))
            .and_then(|imported| imported.map_err(|error| ApiError::bad_request(error.to_string())))
        }
        Err(error) => Err(error),
    };
    let _ = tokio::fs::remove_file(&temporary).await;
    imported.map(|_| StatusCode::CREATED)
}

/// Downloads one blob of the run's artifact store.
#[utoipa::path(get, path = "/agent/jobs/{job}/blobs/{digest}", tag = "agent protocol",
    security(("agentCredential" = [])),
    params(("slipway-agent-protocol" = u32, Header, description = "The protocol version the agent speaks."), ("job" = i64, Path, description = "The job's id."), ("digest" = String, Path, description = "sha256:<64 hex digits>")),
    responses((status = 200, description = "The blob.", content_type = "application/octet-stream"),
        (status = 404, response = wire::Problem), (status = 400, response = wire::Problem), (status = 401, response = wire::Problem),
        (status = 409, response = wire::Problem), (status = 426, response = wire::Problem)))]
async fn download_blob(
    State(state): State<AppState>,
    caller: AgentCaller,
    path: Result<Path<(i64, String)>, PathRejection>,
) -> Result<Response, ApiError> {
    let Path((job, digest)) = path?;
    let found = leased_job(&state, &caller, job).await?;
    let store = ArtifactStore::new(agents::run_artifact_dir(state.data_dir(), found.run));
    let kept = slipway_engine::blobs::BlobStore::new(state.data_dir()).path(&digest).filter(|path| path.is_file());
    let Some(file) = store.existing_blob(&digest).or(kept) else {
        return Err(ApiError::NotFound(format!("the run has no blob {digest}")));
    };
    let file = tokio::fs::File::open(&file).await.map_err(|error| ApiError::Internal(error.to_string()))?;
    let stream = futures_util::stream::unfold(file, |mut file| async move {
        use tokio::io::AsyncReadExt as _;
        let mut buffer = vec![0_u8; 256 * 1024];
        match file.read(&mut buffer).await {
            Ok(0) => None,
            Ok(count) => {
                buffer.truncate(count);
                Some((Ok::<_, std::io::Error>(axum::body::Bytes::from(buffer)), file))
            }
            Err(error) => Some((Err(error), file)),
        }
    });
    Ok(([(header::CONTENT_TYPE, "application/octet-stream")], Body::from_stream(stream)).into_response())
}
