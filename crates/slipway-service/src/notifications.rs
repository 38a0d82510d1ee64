//! Notification subscriptions as people change and read them, and their delivery log.
//!
//! Admins create and delete subscriptions and send test notifications; readers read them, with
//! targets masked (a Slack or Teams URL is a credential: its path is shown as `***`) and the
//! secret only said to be there. [`run`] runs the notifier (see
//! [`slipway_insights::notifications`]) until the server stops.

use std::time::Duration;

use serde_json::json;
use slipway_api as api;
use slipway_insights::notifications::{Notifier, NotifierConfig, parse_smtp_target, render};
use slipway_store::{
    self as store, DeliveryFilter, DeliveryState, NewDelivery, NewSubscription, NotificationKind, NotificationScope,
    SubscriptionId, UserRole,
};

use crate::AppState;
use crate::caller::Caller;
use crate::error::ServiceError;

/// How often the notifier looks for new events and due deliveries.
pub const NOTIFY_INTERVAL: Duration = Duration::from_millis(250);
/// The type of a test notification's event.
pub const TEST_EVENT_TYPE: &str = "dev.cdeventsx.slipway-notification.test.0.1.0";

/// Queues and sends notifications until the server stops (the event stream's
/// [`crate::events::start`] runs it beside the feeder).
pub fn run(state: &AppState) -> impl Future<Output = ()> + Send + 'static {
    let notifier = Notifier::new(state.store().clone(), NotifierConfig::default());
    notifier.run(NOTIFY_INTERVAL, state.stopping())
}

/// A URL shown with its path and query masked; anything else as it is.
#[must_use]
pub fn masked_target(kind: NotificationKind, target: &str) -> String {
    if kind == NotificationKind::Email {
        return target.to_owned();
    }
    let Some((scheme, rest)) = target.split_once("://") else { return "***".to_owned() };
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = host.rsplit_once('@').map_or(host, |(_, host)| host);
    if rest.len() > host.len() { format!("{scheme}://{host}/***") } else { format!("{scheme}://{host}") }
}

/// A subscription on the wire.
#[must_use]
pub fn subscription(subscription: &store::Subscription) -> api::NotificationSubscription {
    let (pipeline, environment) = match &subscription.scope {
        NotificationScope::Everything => (None, None),
        NotificationScope::Pipeline(name) => (Some(name.clone()), None),
        NotificationScope::Environment(name) => (None, Some(name.clone())),
    };
    api::NotificationSubscription {
        id: subscription.id.0,
        name: subscription.name.clone(),
        kind: subscription.kind.as_str().to_owned(),
        target: masked_target(subscription.kind, &subscription.target),
        secret: subscription.has_secret.then(|| "***".to_owned()),
        pipeline,
        environment,
        types: subscription.event_types.clone(),
        branches: subscription.branches.clone(),
        results: subscription.results.clone(),
        enabled: subscription.enabled,
        created_by: subscription.created_by.clone(),
        created_at: subscription.created_at.millis(),
    }
}

/// A delivery on the wire.
#[must_use]
pub fn delivery(delivery: &store::Delivery) -> api::NotificationDelivery {
    api::NotificationDelivery {
        id: delivery.id.0,
        subscription: delivery.subscription.0,
        event_position: delivery.event_position,
        event_id: delivery.event_id.clone(),
        event_type: delivery.event_type.clone(),
        state: delivery.state.as_str().to_owned(),
        attempts: delivery.attempts,
        next_attempt_at: delivery.next_attempt_at.map(|at| at.millis()),
        last_error: delivery.last_error.clone(),
        response_status: delivery.response_status,
        created_at: delivery.created_at.millis(),
        delivered_at: delivery.delivered_at.map(|at| at.millis()),
    }
}

/// Names the choices of a closed set.
fn choices<T: Copy>(values: &[T], name: fn(T) -> &'static str) -> String {
    values.iter().map(|value| name(*value)).collect::<Vec<_>>().join(", ")
}

/// Checks a filter's values: none blank.
fn filter(field: &str, values: &[String]) -> Result<Vec<String>, ServiceError> {
    values
        .iter()
        .map(|value| {
            let value = value.trim();
            if value.is_empty() {
                Err(ServiceError::bad_request(format!("{field}: a value is empty")))
            } else {
                Ok(value.to_owned())
            }
        })
        .collect()
}

/// Checks a subscription's target for its kind.
fn check_target(kind: NotificationKind, target: &str) -> Result<(), ServiceError> {
    let target = target.trim();
    if target.is_empty() {
        return Err(ServiceError::bad_request("target: it is empty"));
    }
    if kind == NotificationKind::Email {
        return parse_smtp_target(target)
            .map(|_| ())
            .map_err(|error| ServiceError::bad_request(format!("target: {error}")));
    }
    let rest = target.strip_prefix("https://").or_else(|| target.strip_prefix("http://")).ok_or_else(|| {
        ServiceError::bad_request(format!("target: a {kind} target must be an http:// or https:// URL"))
    })?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty() || target.chars().any(|character| character.is_whitespace() || character.is_control()) {
        return Err(ServiceError::bad_request("target: it is not a URL (no host, or a space)"));
    }
    Ok(())
}

/// Every subscription, oldest first (reader).
///
/// # Errors
/// 403 for a caller without a role; when the store fails.
pub async fn list(state: &AppState, caller: &Caller) -> Result<Vec<api::NotificationSubscription>, ServiceError> {
    caller.require(UserRole::Reader)?;
    Ok(state.store().list_subscriptions().await?.iter().map(subscription).collect())
}

/// One subscription (reader).
///
/// # Errors
/// 404 when there is none.
pub async fn get(state: &AppState, caller: &Caller, id: i64) -> Result<api::NotificationSubscription, ServiceError> {
    caller.require(UserRole::Reader)?;
    Ok(subscription(&state.store().subscription(SubscriptionId(id)).await?))
}

/// Creates a subscription (admin).
///
/// # Errors
/// 400 naming a bad field (an unknown kind, a target that is not an `http(s)` URL or an
/// `smtp://` target, a secret on another kind than webhook, both a pipeline and an
/// environment, an empty filter value, a blank name); 409 when the name is taken.
pub async fn create(
    state: &AppState,
    caller: &Caller,
    body: &api::CreateNotificationSubscription,
) -> Result<api::NotificationSubscription, ServiceError> {
    caller.require(UserRole::Admin)?;
    if body.name.trim().is_empty() {
        return Err(ServiceError::bad_request("name: it is empty"));
    }
    let kind = NotificationKind::parse(&body.kind).ok_or_else(|| {
        ServiceError::bad_request(format!(
            "kind: '{}' is not a notification kind; use {}",
            body.kind,
            choices(NotificationKind::ALL, NotificationKind::as_str)
        ))
    })?;
    check_target(kind, &body.target)?;
    let secret = body.secret.as_deref().filter(|secret| !secret.is_empty());
    if secret.is_some() && kind != NotificationKind::Webhook {
        return Err(ServiceError::bad_request(format!("secret: only webhooks are signed, not {kind}")));
    }
    if secret.is_some_and(|secret| secret.trim().is_empty()) {
        return Err(ServiceError::bad_request("secret: it is blank"));
    }
    let named = |field: &str, name: &Option<String>| match name.as_deref().map(str::trim) {
        Some("") => Err(ServiceError::bad_request(format!("{field}: it is empty"))),
        other => Ok(other.map(str::to_owned)),
    };
    let scope = match (named("pipeline", &body.pipeline)?, named("environment", &body.environment)?) {
        (Some(_), Some(_)) => {
            return Err(ServiceError::bad_request("pipeline, environment: a subscription names one or neither"));
        }
        (Some(pipeline), None) => NotificationScope::Pipeline(pipeline),
        (None, Some(environment)) => NotificationScope::Environment(environment),
        (None, None) => NotificationScope::Everything,
    };
    let new = NewSubscription {
        name: body.name.trim().to_owned(),
        kind,
        target: body.target.trim().to_owned(),
        secret: secret.map(str::to_owned),
        scope,
        event_types: filter("types", &body.types)?,
        branches: filter("branches", &body.branches)?,
        results: filter("results", &body.results)?,
        enabled: body.enabled.unwrap_or(true),
        created_by: caller.user.name.clone(),
    };
    let created = state.store().create_subscription(&new).await?;
    tracing::info!(id = created.id.0, name = %created.name, kind = %created.kind, by = %caller.user.name, "notification subscription created");
    crate::audit::record(
        state,
        caller,
        "notification.subscribe",
        format!("subscription {}", created.id),
        json!({ "name": created.name, "kind": created.kind.as_str(), "target": masked_target(kind, &created.target) }),
    )
    .await;
    Ok(subscription(&created))
}

/// Deletes a subscription and its deliveries (admin).
///
/// # Errors
/// 404 when there is none; 403 for others than admins.
pub async fn delete(state: &AppState, caller: &Caller, id: i64) -> Result<(), ServiceError> {
    caller.require(UserRole::Admin)?;
    let existing = state.store().subscription(SubscriptionId(id)).await?;
    state.store().delete_subscription(existing.id).await?;
    tracing::info!(id, name = %existing.name, by = %caller.user.name, "notification subscription deleted");
    crate::audit::record(
        state,
        caller,
        "notification.unsubscribe",
        format!("subscription {id}"),
        json!({ "name": existing.name }),
    )
    .await;
    Ok(())
}

/// Queues a test notification for a subscription (admin): an event of type
/// [`TEST_EVENT_TYPE`] that is not on the stream, sent as the subscription sends any.
///
/// # Errors
/// 404 when there is no such subscription.
pub async fn test(state: &AppState, caller: &Caller, id: i64) -> Result<api::NotificationDelivery, ServiceError> {
    caller.require(UserRole::Admin)?;
    let existing = state.store().subscription(SubscriptionId(id)).await?;
    let now = state.store().now();
    let base = state.public_url().unwrap_or_default();
    let base = base.trim_end_matches('/');
    let source = if base.is_empty() { "/slipway".to_owned() } else { base.to_owned() };
    let event_id = format!("slipway-notification-test-{id}-{}", now.millis());
    let time = jiff::Timestamp::from_millisecond(now.millis()).map(|time| time.to_string()).unwrap_or_default();
    let subject = format!("notifications/{id}");
    let uri = if base.is_empty() { None } else { Some(format!("{base}/notifications")) };
    let document = json!({
        "specversion": "1.0",
        "id": event_id,
        "source": source,
        "type": TEST_EVENT_TYPE,
        "subject": subject,
        "time": time,
        "datacontenttype": "application/json",
        "data": {
            "context": { "specversion": "0.5.1", "id": event_id, "source": source, "type": TEST_EVENT_TYPE, "timestamp": time },
            "subject": { "id": subject, "source": source, "content": {
                "summary": format!("Test notification of subscription '{}', sent by {}", existing.name, caller.user.name),
                "uri": uri,
            } },
        },
    });
    debug_assert!(!render::summarize(&document).title.is_empty());
    let queued = state
        .store()
        .queue_test_delivery(&NewDelivery {
            subscription: existing.id,
            event_position: None,
            event_id,
            event_type: TEST_EVENT_TYPE.to_owned(),
            document,
        })
        .await?;
    crate::audit::record(
        state,
        caller,
        "notification.test",
        format!("subscription {id}"),
        json!({ "name": existing.name }),
    )
    .await;
    Ok(delivery(&queued))
}

/// The delivery log, newest first (reader).
///
/// # Errors
/// 400 for an unknown state or a limit out of range.
pub async fn deliveries(
    state: &AppState,
    caller: &Caller,
    query: &api::NotificationDeliveriesQuery,
) -> Result<Vec<api::NotificationDelivery>, ServiceError> {
    caller.require(UserRole::Reader)?;
    let delivery_state = match query.state.as_deref().map(str::trim).filter(|text| !text.is_empty()) {
        Some(text) => Some(DeliveryState::parse(text).ok_or_else(|| {
            ServiceError::bad_request(format!(
                "state: '{text}' is not a delivery state; use {}",
                choices(DeliveryState::ALL, DeliveryState::as_str)
            ))
        })?),
        None => None,
    };
    let limit = query.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(ServiceError::bad_request(format!("limit: {limit} is not between 1 and 500")));
    }
    let filter = DeliveryFilter { subscription: query.subscription.map(SubscriptionId), state: delivery_state, limit };
    Ok(state.store().list_deliveries(&filter).await?.iter().map(delivery).collect())
}
