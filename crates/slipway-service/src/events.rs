//! The event stream as people read it and push into it: pages of the stream (readers, with a
//! long poll for subscribers), CDEvents pushed in (contributors: they count as deployments and
//! incidents like Slipway's own), DevLake's webhook payloads; and starting the feeder that
//! turns the store's changes into events.

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::Value;
use slipway_api as api;
use slipway_insights::automation::Automation;
pub use slipway_insights::cdevents::BinaryAttributes;
use slipway_insights::cdevents::{self, Rejected};
use slipway_insights::devlake;
use slipway_insights::stream::{FeedConfig, Feeder};
use slipway_store::{EventFilter, EventOrigin, NewStreamEvent, StreamEvent, Timestamp, UserRole};

use crate::AppState;
use crate::caller::Caller;
use crate::error::ServiceError;

/// How often the feeder looks for changes.
pub const FEED_INTERVAL: Duration = Duration::from_millis(250);
/// The most events a page holds.
pub const MAX_PAGE: u32 = 1000;
/// The longest long poll, in seconds.
pub const MAX_WAIT: u32 = 60;
/// The most events one push may carry (a CloudEvents batch).
pub const MAX_BATCH: usize = 1000;

/// Starts feeding the stream from the store's changes, keeping work items and incidents from it
/// (see [`slipway_insights::automation`]) and sending notifications (see
/// [`crate::notifications`]) and runs' traces (see [`crate::traces`], when an OTLP endpoint is
/// configured), until the server stops. The events link to the server's public URL
/// when it has one, else to `http://` and `bound`.
#[must_use]
pub fn start(state: &AppState, bound: SocketAddr) -> tokio::task::JoinHandle<()> {
    let base_url = state.public_url().unwrap_or_else(|| format!("http://{bound}"));
    let base_url = base_url.trim_end_matches('/').to_owned();
    let source = if state.public_url().is_some() { base_url.clone() } else { "/slipway".to_owned() };
    let tracing_runs = crate::traces::run(state, &base_url);
    let feeder = Feeder::new(state.store().clone(), FeedConfig { source, base_url });
    let automation = Automation::new(state.store().clone()).with_security(crate::security::automation_reader(state));
    let (feeding, acting) =
        (feeder.run(FEED_INTERVAL, state.stopping()), automation.run(FEED_INTERVAL, state.stopping()));
    let notifying = crate::notifications::run(state);
    tokio::spawn(async move {
        tokio::join!(feeding, acting, notifying, tracing_runs);
    })
}

/// A page of the stream (reader): the events after `query.after` that it selects, oldest first;
/// with `wait`, when there is none yet, up to that many seconds for one.
///
/// # Errors
/// When the caller may not read, a parameter is out of range, or the store fails.
pub async fn list(state: &AppState, caller: &Caller, query: &api::EventsQuery) -> Result<api::EventPage, ServiceError> {
    caller.require(UserRole::Reader)?;
    let limit = query.limit.unwrap_or(100);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ServiceError::bad_request(format!("'limit' is {limit}; it must be between 1 and {MAX_PAGE}")));
    }
    let wait = query.wait.unwrap_or(0);
    if wait > MAX_WAIT {
        return Err(ServiceError::bad_request(format!("'wait' is {wait}; it must be at most {MAX_WAIT} seconds")));
    }
    if let Some(after) = query.after
        && after < 0
    {
        return Err(ServiceError::bad_request(format!("'after' is {after}; it must be a position (0 or more)")));
    }
    let types: Vec<String> = query
        .types
        .as_deref()
        .map(|types| types.split(',').map(str::trim).filter(|kind| !kind.is_empty()).map(str::to_owned).collect())
        .unwrap_or_default();
    let filter = EventFilter {
        after: query.after,
        types,
        environment: query.environment.clone(),
        pipeline: query.pipeline.clone(),
        limit,
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(u64::from(wait));
    let mut stopping = state.stopping();
    loop {
        let events = state.store().list_stream_events(&filter).await?;
        if !events.is_empty() || tokio::time::Instant::now() >= deadline || *stopping.borrow() {
            let next = events.last().map_or(query.after.unwrap_or(0), |event| event.position);
            return Ok(api::EventPage { events: events.into_iter().map(wire).collect(), next });
        }
        tokio::select! {
            () = tokio::time::sleep(FEED_INTERVAL) => {}
            _ = stopping.changed() => {}
        }
    }
}

/// An event of the stream on the wire.
#[must_use]
pub fn wire(event: StreamEvent) -> api::StreamEvent {
    api::StreamEvent {
        position: event.position,
        origin: event.origin.as_str().to_owned(),
        received_at: event.received_at.millis(),
        event: event.document,
    }
}

fn rejected(what: &str, rejected: &Rejected) -> ServiceError {
    ServiceError::bad_request(format!("{what}: {rejected}"))
}

/// Stores events pushed in, each once.
async fn store(
    state: &AppState,
    caller: &Caller,
    events: Vec<NewStreamEvent>,
) -> Result<Vec<api::EventAccepted>, ServiceError> {
    let mut accepted = Vec::with_capacity(events.len());
    for event in events {
        let position = state.store().append_stream_events(std::slice::from_ref(&event), None).await?.first().copied();
        tracing::info!(
            id = event.event_id,
            source = event.source,
            r#type = event.event_type,
            by = caller.user.name,
            duplicate = position.is_none(),
            "an event was pushed into the stream"
        );
        accepted.push(api::EventAccepted {
            id: event.event_id,
            source: event.source,
            event_type: event.event_type,
            position,
            duplicate: position.is_none(),
        });
    }
    Ok(accepted)
}

/// Pushes CDEvents into the stream (contributor): a structured CloudEvent, a CDEvent in binary
/// mode (`attributes` from the `ce-` headers), a bare CDEvent, or a JSON array of those (a
/// CloudEvents batch). Nothing is stored unless every event is valid; an event whose source and
/// id are there already is not stored again.
///
/// # Errors
/// When the caller may not push, an event is not a valid CDEvent of 0.5.1 (every problem named
/// at its JSON pointer, with the event's index in a batch), or the store fails.
pub async fn push(
    state: &AppState,
    caller: &Caller,
    body: &Value,
    attributes: &BinaryAttributes,
) -> Result<Vec<api::EventAccepted>, ServiceError> {
    caller.require(UserRole::Contributor)?;
    let items: Vec<&Value> = match body {
        Value::Array(items) if attributes.any() => {
            return Err(ServiceError::bad_request(format!(
                "a batch of {} events came with ce- headers: a batch is sent as application/cloudevents-batch+json \
                 without them",
                items.len()
            )));
        }
        Value::Array(items) => items.iter().collect(),
        single => vec![single],
    };
    if items.is_empty() {
        return Err(ServiceError::bad_request("the batch is empty: send at least one event"));
    }
    if items.len() > MAX_BATCH {
        return Err(ServiceError::bad_request(format!(
            "the batch holds {} events; at most {MAX_BATCH} at a time",
            items.len()
        )));
    }
    let batch = matches!(body, Value::Array(_));
    let mut events = Vec::with_capacity(items.len());
    for (index, item) in items.into_iter().enumerate() {
        let accepted = cdevents::accept(item, attributes).map_err(|error| {
            if batch { rejected(&format!("event {index} of the batch"), &error) } else { rejected("the event", &error) }
        })?;
        events.push(NewStreamEvent {
            event_id: accepted.id,
            source: accepted.source,
            event_type: accepted.event_type,
            subject: accepted.subject,
            time: Timestamp(accepted.time_ms),
            origin: EventOrigin::Api,
            pipeline: accepted.pipeline,
            environment: accepted.environment,
            document: accepted.document,
        });
    }
    store(state, caller, events).await
}

fn devlake_event(event: &cdevents::Event) -> NewStreamEvent {
    let environment = event
        .content
        .get("environment")
        .and_then(|environment| environment.get("id"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    NewStreamEvent {
        event_id: event.id.clone(),
        source: event.source.clone(),
        event_type: event.event_type.clone(),
        subject: event.subject_id.clone(),
        time: Timestamp(event.time_ms),
        origin: EventOrigin::DevLake,
        pipeline: None,
        environment,
        document: event.cloudevent(),
    }
}

async fn one(state: &AppState, caller: &Caller, event: &cdevents::Event) -> Result<api::EventAccepted, ServiceError> {
    let mut accepted = store(state, caller, vec![devlake_event(event)]).await?;
    accepted.pop().ok_or_else(|| ServiceError::Internal("the event was not stored".into()))
}

/// A deployment in DevLake's webhook payload (contributor), stored as a CDEvent.
///
/// # Errors
/// When the caller may not push, the payload is not DevLake's (every field named), or the store
/// fails.
pub async fn devlake_deployment(
    state: &AppState,
    caller: &Caller,
    payload: &Value,
) -> Result<api::EventAccepted, ServiceError> {
    caller.require(UserRole::Contributor)?;
    let event = devlake::deployment(payload).map_err(|error| rejected("the DevLake deployment", &error))?;
    one(state, caller, &event).await
}

/// An incident in DevLake's webhook payload (contributor), stored as a CDEvent.
///
/// # Errors
/// When the caller may not push, the payload is not DevLake's (every field named), or the store
/// fails.
pub async fn devlake_incident(
    state: &AppState,
    caller: &Caller,
    payload: &Value,
) -> Result<api::EventAccepted, ServiceError> {
    caller.require(UserRole::Contributor)?;
    let event = devlake::incident(payload).map_err(|error| rejected("the DevLake incident", &error))?;
    one(state, caller, &event).await
}

/// DevLake's "close issue" for the incident `key` (contributor).
///
/// # Errors
/// When the caller may not push, the key is empty, the date is not RFC 3339, or the store fails.
pub async fn devlake_close(
    state: &AppState,
    caller: &Caller,
    key: &str,
    close: &api::DevLakeClose,
) -> Result<api::EventAccepted, ServiceError> {
    caller.require(UserRole::Contributor)?;
    if key.trim().is_empty() {
        return Err(ServiceError::bad_request("the incident's key is empty"));
    }
    let time = match &close.resolution_date {
        None => state.store().now().millis(),
        Some(text) => text.parse::<jiff::Timestamp>().map(|time| time.as_millisecond()).map_err(|_| {
            ServiceError::bad_request(format!(
                "'resolutionDate' is '{text}', not an RFC 3339 time such as 2026-01-01T12:00:00+00:00"
            ))
        })?,
    };
    one(state, caller, &devlake::close_incident(key, time)).await
}
