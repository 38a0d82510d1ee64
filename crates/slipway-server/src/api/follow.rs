//! Following a run's logs live: `GET /runs/{id}/logs?follow=true` as server-sent events.
//!
//! Each new log line of any job of the run is one `log` event (data: a [`follow::LogLine`],
//! `line` counting from 0 in its job); when the run has completed and every line was sent, an
//! `end` event (a [`follow::LogEnd`]) closes the stream. When the server stops, a
//! `shutdown` event closes it instead, so that draining does not wait for followers. While a
//! queued job waits for an agent, a `waiting` event (a [`follow::LogWaiting`]) says why whenever
//! the reason changes. All followers of a run share one feed of it
//! ([`slipway_service::feeds`]); a follower that reconnects starts from the beginning.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;

use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use slipway_api::follow;
use slipway_service::feeds::{FeedError, FeedEvent, FeedItem, Subscription};
use slipway_store::RunId;

use crate::AppState;

struct Follower {
    state: AppState,
    run: RunId,
    subscription: Subscription,
    /// What was received and not sent yet (each made into an event as it is sent).
    pending: VecDeque<Arc<FeedItem>>,
    stopping: tokio::sync::watch::Receiver<bool>,
    finished: bool,
}

/// An event named `name` whose data is `data` as JSON.
fn json_event(name: &str, data: &impl serde::Serialize) -> Event {
    Event::default().event(name).data(serde_json::to_string(data).unwrap_or_default())
}

impl Follower {
    /// The next event, waiting for one as long as the run goes on.
    async fn next_event(&mut self) -> Option<Event> {
        loop {
            if let Some(item) = self.pending.pop_front() {
                // The JSON was made once, for every follower.
                let name = match &item.event {
                    FeedEvent::Line(_) => follow::LOG,
                    FeedEvent::Waiting(_) => follow::WAITING,
                    FeedEvent::End(_) => follow::END,
                };
                return Some(Event::default().event(name).data(&item.json));
            }
            if self.finished {
                return None;
            }
            if *self.stopping.borrow() {
                self.finished = true;
                let data = follow::LogShutdown { reason: "the server is stopping".into() };
                return Some(json_event(follow::SHUTDOWN, &data));
            }
            let store = self.state.store().clone();
            let mut stopping = self.stopping.clone();
            let events = tokio::select! {
                events = self.subscription.next(&store, self.run) => events,
                _ = stopping.changed() => continue,
            };
            match events {
                Ok(events) if events.is_empty() => self.finished = true,
                Ok(events) => {
                    self.finished = events.iter().any(|item| matches!(item.event, FeedEvent::End(_)));
                    self.pending.extend(events);
                }
                Err(FeedError::Store(error)) => {
                    tracing::warn!(%error, run = self.run.get(), "following a run failed");
                    tokio::time::sleep(std::time::Duration::from_millis(250)).await;
                }
            }
        }
    }
}

/// The event stream of a run's logs.
pub(crate) fn follow(state: AppState, run: RunId) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let stopping = state.stopping();
    let subscription = state.feeds().subscribe(state.store(), run);
    let follower = Follower { state, run, subscription, pending: VecDeque::new(), stopping, finished: false };
    let stream = futures_util::stream::unfold(follower, |mut follower| async move {
        follower.next_event().await.map(|event| (Ok(event), follower))
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}
