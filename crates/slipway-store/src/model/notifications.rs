//! Notification subscriptions and their deliveries.
//!
//! A subscription names where to send (Slack, Microsoft Teams, e-mail, a generic webhook) the
//! events of the stream it selects; a delivery is one event for one subscription, kept until it
//! is delivered or has failed for good, and unique by (subscription, event position).

use std::fmt;

use serde::{Deserialize, Serialize};

use super::Timestamp;

/// A subscription's id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SubscriptionId(pub i64);

impl fmt::Display for SubscriptionId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}", self.0)
    }
}

/// A delivery's id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DeliveryId(pub i64);

impl fmt::Display for DeliveryId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}", self.0)
    }
}

named_enum!(
    /// Where a subscription sends.
    NotificationKind {
        /// A Slack incoming webhook (Block Kit).
        Slack = "slack",
        /// A Microsoft Teams Workflows webhook (an Adaptive Card).
        Teams = "teams",
        /// E-mail over SMTP.
        Email = "email",
        /// A generic webhook receiving the CloudEvent, signed with HMAC-SHA256.
        Webhook = "webhook",
    }
);

named_enum!(
    /// Where a delivery is.
    DeliveryState {
        /// Waiting for its next attempt.
        Pending = "pending",
        /// Received by the target.
        Delivered = "delivered",
        /// Given up on: refused, or every attempt failed.
        Failed = "failed",
    }
);

/// Which events a subscription is about, before its filters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "name", rename_all = "camelCase")]
pub enum NotificationScope {
    /// Every event.
    Everything,
    /// The events of the pipeline of that name.
    Pipeline(String),
    /// The events of the environment of that name.
    Environment(String),
}

impl NotificationScope {
    /// The scope's kind as stored: `everything`, `pipeline` or `environment`.
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Everything => "everything",
            Self::Pipeline(_) => "pipeline",
            Self::Environment(_) => "environment",
        }
    }

    /// The pipeline's or environment's name, if it names one.
    #[must_use]
    pub fn name(&self) -> Option<&str> {
        match self {
            Self::Everything => None,
            Self::Pipeline(name) | Self::Environment(name) => Some(name),
        }
    }
}

/// A subscription to create.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewSubscription {
    /// Its name, unique.
    pub name: String,
    /// Where it sends.
    pub kind: NotificationKind,
    /// The URL (Slack, Teams, webhook) or the e-mail address(es) or `smtp://` URL (e-mail).
    pub target: String,
    /// The webhook's HMAC key, sealed when stored and never read back by people.
    pub secret: Option<String>,
    /// Which events, before the filters.
    pub scope: NotificationScope,
    /// Event type prefixes (any when empty).
    pub event_types: Vec<String>,
    /// Branches (any when empty).
    pub branches: Vec<String>,
    /// Results or outcomes (any when empty).
    pub results: Vec<String>,
    /// Whether it sends.
    pub enabled: bool,
    /// Who created it.
    pub created_by: String,
}

/// A stored subscription (its secret only said to be there).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscription {
    /// Its id.
    pub id: SubscriptionId,
    /// Its name.
    pub name: String,
    /// Where it sends.
    pub kind: NotificationKind,
    /// The URL or the e-mail address(es).
    pub target: String,
    /// Whether it has a secret.
    pub has_secret: bool,
    /// Which events, before the filters.
    pub scope: NotificationScope,
    /// Event type prefixes (any when empty).
    pub event_types: Vec<String>,
    /// Branches (any when empty).
    pub branches: Vec<String>,
    /// Results or outcomes (any when empty).
    pub results: Vec<String>,
    /// Whether it sends.
    pub enabled: bool,
    /// Who created it.
    pub created_by: String,
    /// When.
    pub created_at: Timestamp,
}

/// A delivery to queue.
#[derive(Clone, Debug, PartialEq)]
pub struct NewDelivery {
    /// For which subscription.
    pub subscription: SubscriptionId,
    /// The event's position in the stream (none for a test).
    pub event_position: Option<i64>,
    /// The event's id.
    pub event_id: String,
    /// The event's type.
    pub event_type: String,
    /// The event (the structured CloudEvent).
    pub document: serde_json::Value,
}

/// A stored delivery.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    /// Its id.
    pub id: DeliveryId,
    /// For which subscription.
    pub subscription: SubscriptionId,
    /// The event's position in the stream (none for a test).
    pub event_position: Option<i64>,
    /// The event's id.
    pub event_id: String,
    /// The event's type.
    pub event_type: String,
    /// Where it is.
    pub state: DeliveryState,
    /// Attempts made.
    pub attempts: u32,
    /// When to try next (pending only).
    pub next_attempt_at: Option<Timestamp>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// The last answer's HTTP status (or SMTP code).
    pub response_status: Option<u16>,
    /// When it was queued.
    pub created_at: Timestamp,
    /// When it was delivered.
    pub delivered_at: Option<Timestamp>,
}

/// A pending delivery that is due, with what sending it needs.
#[derive(Clone, Debug, PartialEq)]
pub struct DueDelivery {
    /// The delivery.
    pub delivery: Delivery,
    /// Its subscription.
    pub subscription: Subscription,
    /// The subscription's secret, opened.
    pub secret: Option<String>,
    /// The event to send.
    pub document: serde_json::Value,
}

/// What an attempt came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryAttempt {
    /// The state it leaves the delivery in.
    pub state: DeliveryState,
    /// When to try next, when it stays pending.
    pub next_attempt_at: Option<Timestamp>,
    /// Why it failed, when it did.
    pub error: Option<String>,
    /// The answer's HTTP status (or SMTP code).
    pub response_status: Option<u16>,
}

/// Which deliveries to list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryFilter {
    /// Of this subscription only.
    pub subscription: Option<SubscriptionId>,
    /// In this state only.
    pub state: Option<DeliveryState>,
    /// At most this many (1 to 500), newest first.
    pub limit: u32,
}

impl Default for DeliveryFilter {
    fn default() -> Self {
        Self { subscription: None, state: None, limit: 100 }
    }
}
