//! Slipway's agent protocol: the messages that agents and the server exchange over HTTP, as serde
//! types, with the protocol's version. `docs/agent-protocol.md` is the written contract; this
//! crate is its code, shared by the server (`slipway-server`) and the agent (`slipway-agent`).
//!
//! Every request of an agent carries [`PROTOCOL_HEADER`] with [`PROTOCOL_VERSION`]; the server
//! answers an agent it cannot talk to with a clear error ([`version_mismatch`]). JSON bodies use
//! camelCase names. A job leased to an agent comes as one [`JobMessage`] holding everything the
//! job needs; while the job runs, every job-scoped request carries the lease id in
//! [`LEASE_HEADER`].

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
pub use slipway_driver::RepositoryInfo;
pub use slipway_events::{ArtifactFile, ArtifactManifest};
use slipway_events::{Event, TaskResult};
use slipway_plan::Plan;
use utoipa::ToSchema;

/// The version of the protocol this build speaks. Bumped on every incompatible change.
pub const PROTOCOL_VERSION: u32 = 1;

/// The oldest protocol version this build still accepts from the other side.
pub const OLDEST_PROTOCOL_VERSION: u32 = 1;

/// The header every agent request carries, with the agent's [`PROTOCOL_VERSION`].
pub const PROTOCOL_HEADER: &str = "slipway-agent-protocol";

/// The header job-scoped requests carry, with the lease id of the job.
pub const LEASE_HEADER: &str = "slipway-lease";

/// The version of the Slipway software of this build (agents report it, the server shows it).
pub const SOFTWARE_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The longest a lease request may wait for a job, in milliseconds.
pub const MAX_LONG_POLL_MS: u64 = 60_000;

/// The most events one chunk may hold.
pub const MAX_CHUNK_EVENTS: usize = 2_000;

/// The paths of the protocol's requests, under the server's URL.
pub mod paths {
    /// `POST`: a registration token becomes an agent credential ([`super::RegisterRequest`]).
    pub const REGISTER: &str = "/api/v1/agent/register";
    /// `POST`: an agent starts: its version and capabilities ([`super::HelloRequest`]).
    pub const HELLO: &str = "/api/v1/agent/hello";
    /// `POST`: waits for a job ([`super::LeaseRequest`]); `200` with a [`super::JobMessage`] or `204`.
    pub const LEASE: &str = "/api/v1/agent/lease";
    /// `POST`: the agent's state ([`super::StateRequest`]): draining, offline.
    pub const STATE: &str = "/api/v1/agent/state";

    /// `POST`: renews the lease ([`super::HeartbeatReply`]).
    #[must_use]
    pub fn heartbeat(job: i64) -> String {
        format!("/api/v1/agent/jobs/{job}/heartbeat")
    }

    /// `POST`: one [`super::Chunk`] of the job's events.
    #[must_use]
    pub fn chunks(job: i64) -> String {
        format!("/api/v1/agent/jobs/{job}/chunks")
    }

    /// `POST`: the job ended ([`super::Completion`]).
    #[must_use]
    pub fn complete(job: i64) -> String {
        format!("/api/v1/agent/jobs/{job}/complete")
    }

    /// `POST`: a delivery task of the job asks the delivery room
    /// ([`slipway_events::delivery::DeliveryRequest`], answered with a
    /// [`slipway_events::delivery::DeliveryAnswer`]).
    #[must_use]
    pub fn delivery(job: i64) -> String {
        format!("/api/v1/agent/jobs/{job}/delivery")
    }

    /// `GET`: the artifacts of the job's run ([`super::ArtifactList`]).
    #[must_use]
    pub fn artifacts(job: i64) -> String {
        format!("/api/v1/agent/jobs/{job}/artifacts")
    }

    /// `PUT`: records an artifact the job published ([`super::PublishArtifact`]).
    #[must_use]
    pub fn artifact(job: i64, name: &str) -> String {
        format!("/api/v1/agent/jobs/{job}/artifacts/{name}")
    }

    /// `POST`: which of these blobs the server lacks ([`super::MissingBlobs`]).
    #[must_use]
    pub fn missing_blobs(job: i64) -> String {
        format!("/api/v1/agent/jobs/{job}/blobs/missing")
    }

    /// `PUT` (upload) or `GET` (download): one blob of the run's artifact store, by digest.
    #[must_use]
    pub fn blob(job: i64, digest: &str) -> String {
        format!("/api/v1/agent/jobs/{job}/blobs/{digest}")
    }

    /// `GET`: the server's OSV database as one gzip-compressed tar, by its digest
    /// ([`super::OsvDatabaseRef::digest`]); `404` when the server no longer has that version.
    #[must_use]
    pub fn osv(digest: &str) -> String {
        format!("/api/v1/agent/osv/{digest}")
    }
}

/// Why the two sides cannot talk, as a sentence for the person who runs the agent; `None` when
/// `agent_protocol` is one this build accepts. `agent_software` is the agent's Slipway version.
#[must_use]
pub fn version_mismatch(agent_protocol: u32, agent_software: &str) -> Option<String> {
    if agent_protocol < OLDEST_PROTOCOL_VERSION {
        Some(format!(
            "this agent (Slipway {agent_software}) speaks agent protocol {agent_protocol}, which is too old for this \
             server (Slipway {SOFTWARE_VERSION}, protocol {OLDEST_PROTOCOL_VERSION} to {PROTOCOL_VERSION}): upgrade \
             the agent to Slipway {SOFTWARE_VERSION}"
        ))
    } else if agent_protocol > PROTOCOL_VERSION {
        Some(format!(
            "this agent (Slipway {agent_software}) speaks agent protocol {agent_protocol}, which is too new for this \
             server (Slipway {SOFTWARE_VERSION}, protocol {OLDEST_PROTOCOL_VERSION} to {PROTOCOL_VERSION}): upgrade \
             the server, or run an agent of Slipway {SOFTWARE_VERSION}"
        ))
    } else {
        None
    }
}

/// `POST /api/v1/agent/register`: an agent registers with a one-time registration token.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RegisterRequest {
    /// The agent's [`PROTOCOL_VERSION`].
    pub protocol_version: u32,
    /// The registration token an admin created; used up by this registration.
    pub registration_token: String,
    /// The agent's name, unique on the server: letters, digits, `.`, `_` and `-`.
    pub name: String,
    /// The pool it serves.
    pub pool: String,
    /// The agent's Slipway version.
    pub version: String,
    /// Its capabilities (detected and given by the user).
    pub capabilities: BTreeMap<String, String>,
}

impl fmt::Debug for RegisterRequest {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("RegisterRequest")
            .field("protocol_version", &self.protocol_version)
            .field("name", &self.name)
            .field("pool", &self.pool)
            .finish_non_exhaustive()
    }
}

/// The answer to a registration: the agent's own credential, shown this once.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RegisterResponse {
    /// The agent's id.
    pub agent_id: i64,
    /// Its name.
    pub name: String,
    /// Its pool.
    pub pool: String,
    /// The credential it authenticates with from now on (`Authorization: Bearer ...`).
    pub credential: String,
    /// The server's [`PROTOCOL_VERSION`].
    pub protocol_version: u32,
    /// The server's Slipway version.
    pub server_version: String,
}

impl fmt::Debug for RegisterResponse {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("RegisterResponse")
            .field("agent_id", &self.agent_id)
            .field("name", &self.name)
            .field("pool", &self.pool)
            .finish_non_exhaustive()
    }
}

/// `POST /api/v1/agent/hello`: an agent starts (or starts again) and says what it is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HelloRequest {
    /// The agent's Slipway version.
    pub version: String,
    /// Its capabilities now.
    pub capabilities: BTreeMap<String, String>,
}

/// What the server asks of its agents' timing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AgentSettings {
    /// How long a lease lasts unless renewed.
    pub lease_duration_ms: u64,
    /// How often a busy agent renews its lease (and hears about cancels).
    pub heartbeat_interval_ms: u64,
    /// How long a lease request waits for a job before answering `204`.
    pub long_poll_ms: u64,
}

/// The answer to a hello.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HelloResponse {
    /// The agent's id.
    pub agent_id: i64,
    /// Its name.
    pub name: String,
    /// Its pool.
    pub pool: String,
    /// The server's [`PROTOCOL_VERSION`].
    pub protocol_version: u32,
    /// The server's Slipway version.
    pub server_version: String,
    /// Timing.
    pub settings: AgentSettings,
}

/// `POST /api/v1/agent/lease`: the agent waits for a job.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LeaseRequest {
    /// How long to wait at most; the server's [`AgentSettings::long_poll_ms`] when absent, and never
    /// more than [`MAX_LONG_POLL_MS`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_ms: Option<u64>,
}

/// What an agent is doing, as it tells the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ReportedState {
    /// Waiting for work.
    Idle,
    /// Finishing its current job and taking no more.
    Draining,
    /// Stopped.
    Offline,
}

/// `POST /api/v1/agent/state`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StateRequest {
    /// The new state.
    pub state: ReportedState,
}

/// A job's lease: who holds the job until when.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LeaseGrant {
    /// The job's id.
    pub job: i64,
    /// The lease's id: every job-scoped request carries it in [`LEASE_HEADER`].
    pub lease_id: String,
    /// How long the lease lasts unless renewed.
    pub duration_ms: u64,
    /// How often to renew it.
    pub heartbeat_interval_ms: u64,
}

impl fmt::Debug for LeaseGrant {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("LeaseGrant")
            .field("job", &self.job)
            .field("duration_ms", &self.duration_ms)
            .finish_non_exhaustive()
    }
}

/// The run a job belongs to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RunInfo {
    /// `Build.BuildId`.
    pub id: i64,
    /// `Build.BuildNumber`.
    pub number: String,
    /// The pipeline's name.
    pub pipeline: String,
}

/// The job itself, as the server names it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JobInfo {
    /// Its id.
    pub id: i64,
    /// `STAGE.JOB` or `STAGE.JOB.LEG`, as events name it.
    pub key: String,
    /// The stage's name.
    pub stage: String,
    /// The job's name.
    pub name: String,
    /// The leg's name, for matrix and parallel legs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leg: Option<String>,
    /// The display name.
    pub display_name: String,
    /// How many times it was leased, this time included.
    pub attempt: i64,
}

/// Which leg of [`JobWork::plan`] to run, by position.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LegRef {
    /// The stage's position in the plan.
    pub stage: usize,
    /// The job's position in its stage.
    pub job: usize,
    /// The leg's position in its job.
    pub leg: usize,
}

/// A variable of a job. Its `Debug` hides secret values.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JobVariable {
    /// The name.
    pub name: String,
    /// The value.
    pub value: String,
    /// Whether it is secret: masked in logs, not put in the environment.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub secret: bool,
    /// Whether steps may not change it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub readonly: bool,
}

impl fmt::Debug for JobVariable {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let value = if self.secret { "***" } else { self.value.as_str() };
        formatter.debug_struct("JobVariable").field("name", &self.name).field("value", &value).finish_non_exhaustive()
    }
}

/// The part of a job decided when it became ready: its piece of the plan and its variables. The
/// server stores it (sealed) with the job, so that any server process can hand the job out.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JobWork {
    /// The plan cut down to the job's stage and the job: one stage, one job, all its legs.
    #[schema(value_type = Object)]
    pub plan: Plan,
    /// The leg to run in that plan.
    pub leg: LegRef,
    /// Its variables: pipeline, stage, job and leg scopes resolved, output variables of the jobs
    /// it depends on, and the secrets of those scopes (only those).
    pub variables: Vec<JobVariable>,
}

/// An artifact of a run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ArtifactRecord {
    /// Its name.
    pub name: String,
    /// The manifest's digest.
    pub digest: String,
    /// The manifest.
    #[schema(value_type = Object)]
    pub manifest: ArtifactManifest,
}

/// `GET /api/v1/agent/jobs/{job}/artifacts`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ArtifactList {
    /// The run's artifacts, by name.
    pub artifacts: Vec<ArtifactRecord>,
}

/// `PUT /api/v1/agent/jobs/{job}/artifacts/{name}`: the job published an artifact; every blob it
/// references was uploaded first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PublishArtifact {
    /// The manifest.
    #[schema(value_type = Object)]
    pub manifest: ArtifactManifest,
}

/// `POST /api/v1/agent/jobs/{job}/blobs/missing`: the question and the answer.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MissingBlobs {
    /// Digests (`sha256:<hex>`): asked about, or (in the answer) missing.
    pub digests: Vec<String>,
}

/// How the agent must time the job.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JobTimeouts {
    /// Time between SIGTERM and SIGKILL when a step is stopped.
    pub kill_grace_ms: u64,
}

/// A job handed to an agent: everything it needs to run it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JobMessage {
    /// The server's [`PROTOCOL_VERSION`].
    pub protocol_version: u32,
    /// The lease.
    pub lease: LeaseGrant,
    /// The run.
    pub run: RunInfo,
    /// The job.
    pub job: JobInfo,
    /// The repository and commit to check out, with the commit's facts.
    #[schema(value_type = Object)]
    pub repository: RepositoryInfo,
    /// Its piece of the plan and its variables.
    pub work: JobWork,
    /// The run's artifacts when the job was leased (ask again with
    /// [`paths::artifacts`] for newer ones).
    pub artifacts: Vec<ArtifactRecord>,
    /// Timing.
    pub timeouts: JobTimeouts,
    /// The server's offline OSV database, when it has one: the agent keeps a copy in its tools
    /// directory (`_tool/osv`, where `SlipwayVulnScan` looks) and downloads it again
    /// ([`paths::osv`]) only when the digest changed. Added within protocol 1: an older agent
    /// ignores it, and an older server sends none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub osv: Option<OsvDatabaseRef>,
}

/// Which version of the server's OSV database a job's agent should have.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OsvDatabaseRef {
    /// The SHA-256 (hex) of the database's archive: its version.
    pub digest: String,
    /// The archive's size in bytes.
    pub bytes: u64,
}

/// The answer to a heartbeat.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HeartbeatReply {
    /// Milliseconds the lease lasts from now unless renewed again.
    pub lease_remaining_ms: u64,
    /// The run was cancelled: stop the job as `slipway run` stops one.
    pub cancel_requested: bool,
}

/// `POST /api/v1/agent/jobs/{job}/chunks`: the job's events, in order. Chunks are numbered from 0
/// for each lease; a chunk sent again (after a network error) with the same number and the same
/// events is stored once. The server derives the job's log lines, steps, test results and
/// coverage from the events; log texts are already masked.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Chunk {
    /// Its number.
    pub sequence: i64,
    /// The events, in the order they happened.
    #[schema(value_type = Vec<Object>)]
    pub events: Vec<Event>,
}

/// The answer to a chunk.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChunkReply {
    /// `false` when the chunk had been stored before (a retry).
    pub stored: bool,
}

/// An output variable of a job (`isOutput=true`), `step.name` to value.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OutputVariable {
    /// `step.name`.
    pub name: String,
    /// The value.
    pub value: String,
    /// Whether it is secret.
    #[serde(default)]
    pub secret: bool,
}

impl fmt::Debug for OutputVariable {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let value = if self.secret { "***" } else { self.value.as_str() };
        formatter.debug_struct("OutputVariable").field("name", &self.name).field("value", &value).finish()
    }
}

/// `POST /api/v1/agent/jobs/{job}/complete`: the job ended. Sent after its last chunk was stored
/// and its artifacts were published; sending it again is harmless.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Completion {
    /// The job's result.
    #[schema(value_type = String)]
    pub result: TaskResult,
    /// Why it ended this way, when that is not obvious.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Its output variables.
    #[serde(default)]
    pub outputs: Vec<OutputVariable>,
}

/// The answer to `POST /api/v1/agent/state`: the state the server recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StateReply {
    /// The state.
    pub state: ReportedState,
}

/// The answer to a [`Completion`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CompletionReply {
    /// The job.
    pub job: i64,
    /// Its result as recorded (the first completion's, when it was sent again).
    #[schema(value_type = Option<String>)]
    pub result: Option<TaskResult>,
}

/// The answer to a [`PublishArtifact`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PublishReply {
    /// The artifact's name.
    pub name: String,
}

/// An error answer (`application/problem+json`, RFC 9457), as every route of the server gives.
pub use slipway_api::Problem;

/// Names of the capabilities agents detect.
pub mod capability {
    /// The agent's name.
    pub const NAME: &str = "Agent.Name";
    /// The environment an agent is a virtual-machine resource of (`slipway agent --environment`).
    pub const ENVIRONMENT: &str = "Slipway.Environment";
    /// Its tags in that environment, separated by commas (`slipway agent --tag`).
    pub const TAGS: &str = "Slipway.Tags";
    /// The agent's Slipway version.
    pub const VERSION: &str = "Agent.Version";
    /// `Linux`, `Darwin` or `Windows_NT`, as Azure names them.
    pub const OS: &str = "Agent.OS";
    /// `X64`, `ARM64`, ... as Azure names them.
    pub const ARCHITECTURE: &str = "Agent.OSArchitecture";
    /// The machine's name.
    pub const COMPUTER_NAME: &str = "Agent.ComputerName";
    /// Tools looked for on the `PATH`; each found one is a capability named after it, with its
    /// version (or its path when it tells none).
    pub const TOOLS: &[&str] = &["bash", "pwsh", "python3", "node", "dotnet", "java", "go", "git", "docker"];
}

/// Azure's name of an operating system (`std::env::consts::OS`).
#[must_use]
pub fn azure_os_name(os: &str) -> &'static str {
    match os {
        "macos" => "Darwin",
        "windows" => "Windows_NT",
        _ => "Linux",
    }
}

/// Azure's name of an architecture (`std::env::consts::ARCH`).
#[must_use]
pub fn azure_architecture_name(arch: &str) -> &'static str {
    match arch {
        "aarch64" => "ARM64",
        "arm" => "ARM",
        "x86" => "X86",
        _ => "X64",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_outside_the_range_are_explained() {
        assert_eq!(version_mismatch(PROTOCOL_VERSION, "0.1.0"), None);
        let too_new = version_mismatch(PROTOCOL_VERSION + 1, "9.0.0").unwrap_or_default();
        assert!(too_new.contains("too new") && too_new.contains("upgrade the server"), "{too_new}");
        let too_old = version_mismatch(0, "0.0.1").unwrap_or_default();
        assert!(too_old.contains("too old") && too_old.contains("upgrade the agent"), "{too_old}");
    }

    #[test]
    fn secrets_do_not_print() {
        let variable = JobVariable { name: "token".into(), value: "hunter2".into(), secret: true, readonly: false };
        assert!(!format!("{variable:?}").contains("hunter2"));
    }
}
