//! Agents, pools and registration tokens, as admins see them (the agent protocol's own messages
//! are `slipway-protocol`'s).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What an agent is doing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AgentState {
    /// Waiting for a job.
    #[default]
    Idle,
    /// Running a job.
    Busy,
    /// Finishing its job, then stopping.
    Draining,
    /// Not heard from.
    Offline,
}

/// The job an agent runs.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct CurrentJob {
    /// The job's id.
    pub id: i64,
    /// Its run's id.
    pub run: i64,
    /// `stage.job`.
    pub key: String,
    /// When the lease runs out unless renewed.
    pub lease_expires_at: Option<i64>,
}

/// An agent.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct Agent {
    /// Its id.
    pub id: i64,
    /// Its unique name.
    pub name: String,
    /// The pool it serves.
    pub pool: String,
    /// Its software's version.
    pub version: String,
    /// What it is doing, as its lease and heartbeat say.
    pub state: AgentState,
    /// Whether it runs inside the server (`local-N`).
    pub in_process: bool,
    /// The job it runs.
    pub current_job: Option<CurrentJob>,
    /// What it has (`Agent.OS`, tools and their versions, `--capability`).
    pub capabilities: BTreeMap<String, String>,
    /// When it registered.
    pub created_at: i64,
    /// When it was last heard from.
    pub last_seen_at: Option<i64>,
}

/// `GET /agents`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct AgentList {
    /// Every agent.
    pub agents: Vec<Agent>,
}

/// What becomes of a job whose agent stops renewing its lease.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AgentLostAction {
    /// It fails with "agent lost".
    #[default]
    Fail,
    /// It goes back in the queue for another agent.
    Requeue,
}

/// A pool's settings.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PoolSettings {
    /// What becomes of a job whose agent is lost.
    #[serde(default)]
    pub on_agent_lost: AgentLostAction,
    /// The demands a `vmImage` stands for, by image.
    #[serde(default)]
    pub vm_images: BTreeMap<String, Vec<String>>,
}

/// A pool with its settings.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct Pool {
    /// Its name.
    pub name: String,
    /// Its settings.
    pub settings: PoolSettings,
    /// How many agents serve it.
    pub agents: usize,
}

/// `GET /pools`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct PoolList {
    /// Every pool.
    pub pools: Vec<Pool>,
}

/// A one-time token that registers one agent (never its secret).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct RegistrationToken {
    /// Its id.
    pub id: i64,
    /// The first characters of the token.
    pub prefix: String,
    /// Who created it.
    pub created_by: Option<String>,
    /// When.
    pub created_at: i64,
    /// When it stops working.
    pub expires_at: Option<i64>,
    /// When an agent used it.
    pub used_at: Option<i64>,
    /// The agent that used it.
    pub agent: Option<i64>,
}

/// `GET /registration-tokens`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct RegistrationTokenList {
    /// Every registration token.
    pub registration_tokens: Vec<RegistrationToken>,
}

/// The body of `POST /registration-tokens` (optional).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateRegistrationToken {
    /// Hours until the token stops working (1 to 8760); it never does when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in_hours: Option<u32>,
}

/// A new registration token, shown this once.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct CreatedRegistrationToken {
    /// Its record.
    #[serde(flatten)]
    pub record: RegistrationToken,
    /// The token: `slipway agent --token TOKEN`.
    pub token: String,
}
