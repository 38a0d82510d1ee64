//! Services in environments, fronted by the traffic router, and their slots.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A slot's requests through the router since the server started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct SlotRequests {
    /// Answered 1xx to 3xx.
    pub ok: u64,
    /// Answered 4xx.
    pub client_errors: u64,
    /// Answered 5xx, or not reached.
    pub server_errors: u64,
}

/// A slot: a version of a service.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct ServiceSlot {
    /// Its name.
    pub name: String,
    /// Where the version listens.
    pub upstream: String,
    /// Its share of the traffic.
    pub weight: u32,
    /// Its requests so far.
    pub requests: SlotRequests,
}

/// A service in an environment.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct Service {
    /// Its id.
    pub id: i64,
    /// The environment's name.
    pub environment: String,
    /// Its name.
    pub name: String,
    /// Where its router listens.
    pub listen: String,
    /// Which router fronts it: `router` (Slipway's) or `nginx`.
    pub provider: String,
    /// `listening`, `applied` (nginx took its configuration), `failed` or `starting`.
    pub router: String,
    /// Why the router does not listen, when it failed.
    pub message: Option<String>,
    /// Its slots, by name.
    pub slots: Vec<ServiceSlot>,
}

/// The services of an environment.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct ServiceList {
    /// By name.
    pub services: Vec<Service>,
}

/// A service to create.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateService {
    /// Its name: letters, digits, `-`, `_`, `.`.
    pub name: String,
    /// Where its router listens: `HOST:PORT` (such as `127.0.0.1:9000`).
    pub listen: String,
    /// `router` (Slipway's, the default) or `nginx` (the server's nginx, `slipway serve
    /// --nginx-config`); requests are counted only by Slipway's router.
    #[serde(default)]
    pub provider: Option<String>,
}

/// A slot to set.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SetSlot {
    /// Where its version listens: `http://HOST:PORT`.
    pub upstream: String,
    /// Its share of the traffic (0 when not given: it takes only requests forced to it).
    #[serde(default)]
    pub weight: u32,
}

/// New traffic weights for some slots (the others keep theirs).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SetTraffic {
    /// Weight by slot name.
    pub weights: BTreeMap<String, u32>,
}

/// Two slots whose versions change places (a blue-green swap): each keeps its name and weight
/// and takes the other's upstream.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SwapSlots {
    /// The two slots.
    pub slots: [String; 2],
}

/// A person's decision on an inconclusive analysis run.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AnalysisDecision {
    /// `pass` or `fail`.
    pub decision: String,
    /// Why, for the run's message and the audit log.
    #[serde(default)]
    pub comment: Option<String>,
}
