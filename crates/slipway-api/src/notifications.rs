//! Notification subscriptions and their deliveries.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// A subscription to the event stream: where its events go and which.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct NotificationSubscription {
    /// Its id.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// `slack`, `teams`, `email` or `webhook`.
    pub kind: String,
    /// Where it sends, masked: a URL's path (a Slack or Teams URL is a credential) shown as
    /// `***`; an e-mail target in full.
    pub target: String,
    /// `***` when it has a secret (a webhook's HMAC key, never shown), else none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// The pipeline whose events it takes, when it names one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pipeline: Option<String>,
    /// The environment whose events it takes, when it names one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// Event type prefixes (any when empty).
    pub types: Vec<String>,
    /// Branches (any when empty).
    pub branches: Vec<String>,
    /// Results or outcomes (any when empty).
    pub results: Vec<String>,
    /// Whether it sends.
    pub enabled: bool,
    /// Who created it.
    pub created_by: String,
    /// When (Unix milliseconds).
    pub created_at: i64,
}

/// A subscription to create.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateNotificationSubscription {
    /// Its name, unique.
    pub name: String,
    /// `slack`, `teams`, `email` or `webhook`.
    pub kind: String,
    /// An `http(s)` URL (Slack, Teams, webhook) or, for e-mail,
    /// `smtp://HOST:PORT/TO[,TO...][?from=ADDRESS]` (plain SMTP).
    pub target: String,
    /// A webhook's HMAC-SHA256 key (webhooks only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// Only this pipeline's events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pipeline: Option<String>,
    /// Only this environment's events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// Only events whose type starts with one of these (the full type, or without
    /// `dev.cdevents.`, as `pipelinerun.finished`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub types: Vec<String>,
    /// Only events of these branches.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub branches: Vec<String>,
    /// Only events with these results (`Succeeded`, `Failed`...) or outcomes (`success`,
    /// `failure`...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub results: Vec<String>,
    /// Whether it sends (true when left out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
}

/// One event sent (or to be sent) to one subscription.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct NotificationDelivery {
    /// Its id.
    pub id: i64,
    /// The subscription's id.
    pub subscription: i64,
    /// The event's position in the stream (none for a test).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_position: Option<i64>,
    /// The event's id.
    pub event_id: String,
    /// The event's type.
    pub event_type: String,
    /// `pending`, `delivered` or `failed`.
    pub state: String,
    /// Attempts made.
    pub attempts: u32,
    /// When it is tried next (pending; Unix milliseconds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_attempt_at: Option<i64>,
    /// Why the last attempt failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// The last answer's HTTP status or SMTP code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_status: Option<u16>,
    /// When it was queued (Unix milliseconds).
    pub created_at: i64,
    /// When it was delivered (Unix milliseconds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivered_at: Option<i64>,
}

/// The query of `GET /notifications/deliveries`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct NotificationDeliveriesQuery {
    /// Only of this subscription.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscription: Option<i64>,
    /// Only in this state: `pending`, `delivered` or `failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// At most this many (1 to 500; 100 when left out), newest first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}
