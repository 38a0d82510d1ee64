//! The event stream: CDEvents as structured CloudEvents, read and pushed in.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Which events of the stream to read (`GET /events`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, IntoParams, ToSchema)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// Only events after this position (the `next` of the previous page); from the start when
    /// absent.
    pub after: Option<i64>,
    /// Only events whose type starts with one of these prefixes, comma-separated
    /// (`dev.cdevents.service.,dev.cdevents.incident.`).
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub types: Option<String>,
    /// Only events about this environment.
    pub environment: Option<String>,
    /// Only events about this pipeline.
    pub pipeline: Option<String>,
    /// At most this many (default 100, at most 1,000).
    pub limit: Option<u32>,
    /// When no event is there yet, wait up to this many seconds for one (at most 60): a long
    /// poll, for subscribers.
    pub wait: Option<u32>,
}

/// An event of the stream.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StreamEvent {
    /// Its position in the stream.
    pub position: i64,
    /// Where it came from: `slipway` (made by Slipway from its own records), `api` (pushed in as
    /// a CDEvent), `devlake` (pushed in as a DevLake webhook payload).
    pub origin: String,
    /// When the stream stored it (milliseconds since the epoch).
    pub received_at: i64,
    /// The structured CloudEvent (`specversion`, `id`, `source`, `type`, `subject`, `time`,
    /// `datacontenttype`, and the CDEvent as `data`).
    #[schema(value_type = Object)]
    pub event: serde_json::Value,
}

/// A page of the stream.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventPage {
    /// The events, oldest first.
    pub events: Vec<StreamEvent>,
    /// The position to read after next (`?after=`): the last event's, or the one asked for when
    /// there was none.
    pub next: i64,
}

/// What became of an event pushed in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventAccepted {
    /// The event's id.
    pub id: String,
    /// Its source.
    pub source: String,
    /// Its type.
    #[serde(rename = "type")]
    pub event_type: String,
    /// Its position in the stream; that of the event stored before when it is a duplicate.
    pub position: Option<i64>,
    /// Whether an event with the same source and id was there already (nothing was added).
    pub duplicate: bool,
}

/// The body of DevLake's "close issue" (`POST /events/devlake/incidents/{key}/close`), optional.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct DevLakeClose {
    /// When it was resolved (RFC 3339); now when absent.
    pub resolution_date: Option<String>,
}
