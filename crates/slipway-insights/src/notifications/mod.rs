//! Notifications: what subscribers are told of the event stream, rendered for Slack, Microsoft
//! Teams, e-mail and generic webhooks, and delivered with retries.
//!
//! A consumer of the stream (its cursor `notifications`) reads each new event, and for every
//! enabled subscription that selects it ([`selects`]: its scope, then its filters on the event
//! type, the branch and the result) queues a delivery; the deliveries of a batch and the cursor
//! are stored in one transaction, and a delivery is unique by (subscription, event position), so
//! an event read twice is queued once. A sender takes the deliveries that are due, sends each
//! ([`render`] says what, `send` how) and records what came of it before taking the next: a
//! delivery is `delivered` once, and never sent again after that is recorded. An attempt that
//! gets no answer, a timeout, 408, 429 or a 5xx is tried again after a back-off that doubles
//! (1 s, 2 s, 4 s ... at most 5 minutes) up to [`NotifierConfig::max_attempts`]; another 4xx
//! fails at once. A server killed between a receiver's answer and the record of it sends that
//! delivery again when it restarts (at least once; the `X-Slipway-Delivery` header of a
//! webhook lets a receiver drop the repeat).

pub mod render;
mod send;

use std::time::Duration;

use slipway_store::{
    DeliveryAttempt, DeliveryState, DueDelivery, EventFilter, NewDelivery, NotificationScope, Store, StoreError,
    StreamEvent, Subscription, Timestamp,
};

use send::Attempt;
pub use send::{SmtpTarget, parse_smtp_target};

/// The consumer's cursor in the store.
pub const NOTIFICATIONS_CURSOR: &str = "notifications";
/// Events read at a time.
const BATCH: u32 = 200;
/// Due deliveries taken at a time.
const SEND_BATCH: u32 = 50;

/// How deliveries are tried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NotifierConfig {
    /// Attempts before a delivery fails for good.
    pub max_attempts: u32,
    /// The wait after the first failed attempt; it doubles after each.
    pub first_backoff: Duration,
    /// The longest wait between attempts.
    pub max_backoff: Duration,
    /// How long one attempt may take.
    pub timeout: Duration,
}

impl Default for NotifierConfig {
    fn default() -> Self {
        Self {
            max_attempts: 8,
            first_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(300),
            timeout: Duration::from_secs(10),
        }
    }
}

impl NotifierConfig {
    /// The wait after the `attempts`-th failed attempt (1 for the first).
    #[must_use]
    pub fn backoff(&self, attempts: u32) -> Duration {
        let doublings = attempts.saturating_sub(1).min(30);
        self.first_backoff.saturating_mul(1 << doublings).min(self.max_backoff)
    }
}

/// The stream's consumer that queues and sends notifications.
#[derive(Debug, Clone)]
pub struct Notifier {
    store: Store,
    config: NotifierConfig,
    /// The HTTP client of every delivery (see [`send::http_agent`]).
    http: ureq::Agent,
}

/// Notifications could not be queued or recorded.
#[derive(Debug, thiserror::Error)]
#[error("notifications could not be kept: {0}")]
pub struct NotifyError(#[from] StoreError);

/// Whether `event`'s `value` (a branch, a result) is one of `wanted` (any when empty).
fn one_of(wanted: &[String], values: &[Option<String>]) -> bool {
    wanted.is_empty()
        || values.iter().flatten().any(|value| wanted.iter().any(|wanted| wanted.trim().eq_ignore_ascii_case(value)))
}

/// Whether `subscription` selects `event`: it is enabled; the event is of its pipeline or
/// environment (names compared without regard to case) when it names one; its type starts with
/// one of the type prefixes (the full type, or its short form without `dev.cdevents.` or
/// `dev.cdeventsx.`, as `pipelinerun.finished`); its branch (`customData.branch`, without
/// `refs/heads/`) is one of the branches; its result (`customData.result`, as `Failed`, or the
/// CDEvents outcome, as `failure`) is one of the results. An empty filter takes any event; an
/// event without a branch or result is not taken by a filter on it.
#[must_use]
pub fn selects(subscription: &Subscription, event: &StreamEvent) -> bool {
    if !subscription.enabled {
        return false;
    }
    let same = |wanted: &str, actual: Option<&String>| actual.is_some_and(|actual| actual.eq_ignore_ascii_case(wanted));
    let in_scope = match &subscription.scope {
        NotificationScope::Everything => true,
        NotificationScope::Pipeline(name) => same(name, event.pipeline.as_ref()),
        NotificationScope::Environment(name) => same(name, event.environment.as_ref()),
    };
    if !in_scope {
        return false;
    }
    let short = event
        .event_type
        .strip_prefix("dev.cdevents.")
        .or_else(|| event.event_type.strip_prefix("dev.cdeventsx."))
        .unwrap_or(&event.event_type);
    let typed = subscription.event_types.is_empty()
        || subscription
            .event_types
            .iter()
            .any(|prefix| event.event_type.starts_with(prefix.trim()) || short.starts_with(prefix.trim()));
    let data = &event.document["data"];
    let text = |value: &serde_json::Value| value.as_str().map(str::to_owned);
    let branch = text(&data["customData"]["branch"])
        .map(|branch| branch.strip_prefix("refs/heads/").map_or(branch.clone(), str::to_owned));
    let results = [text(&data["customData"]["result"]), text(&data["subject"]["content"]["outcome"])];
    typed && one_of(&subscription.branches, &[branch]) && one_of(&subscription.results, &results)
}

impl Notifier {
    /// The notifier over `store`'s stream and subscriptions.
    #[must_use]
    pub fn new(store: Store, config: NotifierConfig) -> Self {
        Self { http: send::http_agent(config.timeout), store, config }
    }

    /// Queues a delivery of every event stored since the last pass for each subscription that
    /// selects it; returns how many events were read.
    ///
    /// # Errors
    /// When the store fails (the batch is read again by the next pass; nothing is queued twice).
    pub async fn queue(&self) -> Result<usize, NotifyError> {
        let mut read = 0;
        loop {
            let after = self.store.event_cursor(NOTIFICATIONS_CURSOR).await?;
            let filter = EventFilter { after, limit: BATCH, ..EventFilter::default() };
            let events = self.store.list_stream_events(&filter).await?;
            let Some(last) = events.last().map(|event| event.position) else { return Ok(read) };
            let subscriptions = self.store.list_subscriptions().await?;
            let deliveries: Vec<NewDelivery> = events
                .iter()
                .flat_map(|event| {
                    subscriptions.iter().filter(|subscription| selects(subscription, event)).map(|subscription| {
                        NewDelivery {
                            subscription: subscription.id,
                            event_position: Some(event.position),
                            event_id: event.event_id.clone(),
                            event_type: event.event_type.clone(),
                            document: event.document.clone(),
                        }
                    })
                })
                .collect();
            match self.store.queue_deliveries(&deliveries, Some((NOTIFICATIONS_CURSOR, last))).await {
                Ok(queued) if queued > 0 => tracing::debug!(queued, "notifications queued"),
                Ok(_) => {}
                // A subscription deleted since it was read: read the batch again without it.
                Err(error) if is_missing_subscription(&error) => continue,
                Err(error) => return Err(error.into()),
            }
            read += events.len();
        }
    }

    /// Sends the deliveries that are due, recording each attempt before the next; returns how
    /// many attempts were made.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn send_due(&self) -> Result<usize, NotifyError> {
        let mut made = 0;
        // Each delivery is tried at most once a pass, whatever the store answers.
        let mut tried = std::collections::HashSet::new();
        loop {
            let due: Vec<DueDelivery> = self
                .store
                .due_deliveries(SEND_BATCH)
                .await?
                .into_iter()
                .filter(|due| tried.insert(due.delivery.id))
                .collect();
            if due.is_empty() {
                return Ok(made);
            }
            for delivery in due {
                self.attempt(delivery).await?;
                made += 1;
            }
        }
    }

    async fn attempt(&self, due: DueDelivery) -> Result<(), NotifyError> {
        let id = due.delivery.id;
        let attempts = due.delivery.attempts + 1;
        let subscription = due.subscription.name.clone();
        let kind = due.subscription.kind;
        let timeout = self.config.timeout;
        let http = self.http.clone();
        let attempt = tokio::task::spawn_blocking(move || send::send(&due, &http, timeout))
            .await
            .unwrap_or_else(|error| Attempt::Retry(None, format!("the sender failed: {error}")));
        let record = match attempt {
            Attempt::Delivered(status) => {
                tracing::info!(delivery = id.0, %subscription, %kind, attempts, "notification delivered");
                DeliveryAttempt {
                    state: DeliveryState::Delivered,
                    next_attempt_at: None,
                    error: None,
                    response_status: status,
                }
            }
            Attempt::Retry(status, error) if attempts < self.config.max_attempts => {
                let wait = self.config.backoff(attempts);
                tracing::info!(delivery = id.0, %subscription, %kind, attempts, %error, ?wait, "notification not delivered; it is tried again");
                let now = self.store.now().millis();
                let wait = i64::try_from(wait.as_millis()).unwrap_or(i64::MAX);
                DeliveryAttempt {
                    state: DeliveryState::Pending,
                    next_attempt_at: Some(Timestamp(now.saturating_add(wait))),
                    error: Some(error),
                    response_status: status,
                }
            }
            Attempt::Retry(status, error) | Attempt::Refused(status, error) => {
                tracing::warn!(delivery = id.0, %subscription, %kind, attempts, %error, "notification failed");
                DeliveryAttempt {
                    state: DeliveryState::Failed,
                    next_attempt_at: None,
                    error: Some(error),
                    response_status: status,
                }
            }
        };
        match self.store.record_delivery_attempt(id, &record).await {
            // Its subscription deleted meanwhile: nothing to record.
            Err(error) if error.is_not_found() => Ok(()),
            other => other.map(|_| ()).map_err(NotifyError),
        }
    }

    /// Queues and sends every `interval` until `stop` is told, logging (not ending on) failures.
    pub async fn run(self, interval: Duration, mut stop: tokio::sync::watch::Receiver<bool>) {
        loop {
            if let Err(error) = self.queue().await {
                tracing::warn!(%error, "queuing notifications failed; it tries again");
            }
            if let Err(error) = self.send_due().await {
                tracing::warn!(%error, "sending notifications failed; it tries again");
            }
            tokio::select! {
                () = tokio::time::sleep(interval) => {}
                changed = stop.changed() => if changed.is_err() || *stop.borrow() { return; },
            }
        }
    }
}

/// Whether `error` is a foreign key refused: a delivery's subscription deleted meanwhile.
fn is_missing_subscription(error: &StoreError) -> bool {
    let text = error.to_string().to_ascii_lowercase();
    text.contains("foreign key")
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use slipway_store::{EventOrigin, NotificationKind, SubscriptionId};

    use super::*;
    use crate::cdevents::types;

    fn subscription() -> Subscription {
        Subscription {
            id: SubscriptionId(1),
            name: "ops".into(),
            kind: NotificationKind::Webhook,
            target: "http://127.0.0.1:1/".into(),
            has_secret: false,
            scope: NotificationScope::Everything,
            event_types: vec![],
            branches: vec![],
            results: vec![],
            enabled: true,
            created_by: "admin".into(),
            created_at: Timestamp(0),
        }
    }

    fn event() -> StreamEvent {
        StreamEvent {
            position: 3,
            event_id: "e".into(),
            source: "/slipway".into(),
            event_type: types::PIPELINE_RUN_FINISHED.into(),
            subject: "runs/1".into(),
            time: Timestamp(0),
            received_at: Timestamp(0),
            origin: EventOrigin::Slipway,
            pipeline: Some("App".into()),
            environment: None,
            document: json!({ "data": {
                "subject": { "content": { "outcome": "failure" } },
                "customData": { "branch": "refs/heads/main", "result": "Failed" },
            } }),
        }
    }

    #[test]
    fn subscriptions_select_by_scope_and_filters() {
        let event = event();
        assert!(selects(&subscription(), &event));
        assert!(!selects(&Subscription { enabled: false, ..subscription() }, &event));
        assert!(selects(&Subscription { scope: NotificationScope::Pipeline("app".into()), ..subscription() }, &event));
        assert!(!selects(&Subscription { scope: NotificationScope::Pipeline("web".into()), ..subscription() }, &event));
        assert!(!selects(
            &Subscription { scope: NotificationScope::Environment("prod".into()), ..subscription() },
            &event
        ));
        assert!(selects(&Subscription { event_types: vec!["pipelinerun.".into()], ..subscription() }, &event));
        assert!(selects(
            &Subscription { event_types: vec!["dev.cdevents.pipelinerun.finished".into()], ..subscription() },
            &event
        ));
        assert!(!selects(&Subscription { event_types: vec!["taskrun.".into()], ..subscription() }, &event));
        assert!(selects(&Subscription { branches: vec!["main".into()], ..subscription() }, &event));
        assert!(!selects(&Subscription { branches: vec!["dev".into()], ..subscription() }, &event));
        assert!(selects(&Subscription { results: vec!["failure".into()], ..subscription() }, &event));
        assert!(selects(&Subscription { results: vec!["failed".into()], ..subscription() }, &event));
        assert!(!selects(&Subscription { results: vec!["success".into()], ..subscription() }, &event));
    }

    #[test]
    fn back_off_doubles_up_to_its_cap() {
        let config = NotifierConfig { max_backoff: Duration::from_secs(5), ..NotifierConfig::default() };
        let waits: Vec<u64> = (1..=5).map(|attempt| config.backoff(attempt).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 5, 5]);
        assert_eq!(config.backoff(200), Duration::from_secs(5));
    }
}
