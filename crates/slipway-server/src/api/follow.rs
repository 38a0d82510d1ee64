//! Following a run's logs live: `GET /runs/{id}/logs?follow=true` as server-sent events.
//!
//! Each new log line of any job of the run is one `log` event (data: a [`follow::LogLine`],
//! `line` counting from 0 in its job); when the run has completed and every line was sent, an
//! `end` event (a [`follow::LogEnd`]) closes the stream. When the server stops, a
//! `shutdown` event closes it instead, so that draining does not wait for followers. The store is
//! polled; a follower that reconnects starts from the beginning. While a queued job waits for an
//! agent, a `waiting` event (a [`follow::LogWaiting`]) says why whenever the reason changes.

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::time::Duration;

use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use slipway_api::follow;
use slipway_store::{JobId, JobStatus, RunId, RunStatus};

use crate::AppState;

/// How often the store is asked for new lines.
const POLL: Duration = Duration::from_millis(250);

/// How many lines are read from one job at a time.
const LINES_PER_READ: i64 = 1000;

struct Follower {
    state: AppState,
    run: RunId,
    next_line: HashMap<JobId, i64>,
    /// The waiting reason last sent for each job.
    waiting: HashMap<JobId, String>,
    pending: VecDeque<Event>,
    stopping: tokio::sync::watch::Receiver<bool>,
    finished: bool,
}

/// An event named `name` whose data is `data` as JSON.
fn json_event(name: &str, data: &impl serde::Serialize) -> Event {
    Event::default().event(name).data(serde_json::to_string(data).unwrap_or_default())
}

impl Follower {
    /// Reads what is new; whether anything was.
    async fn read_new(&mut self) -> Result<bool, slipway_store::StoreError> {
        let store = self.state.store().clone();
        let mut any = false;
        for job in store.jobs_of_run(self.run).await? {
            let reason = match (&job.status, &job.message) {
                (JobStatus::Queued, Some(message)) => message.clone(),
                _ => String::new(),
            };
            if self.waiting.get(&job.id).map_or(!reason.is_empty(), |sent| *sent != reason) {
                let data = follow::LogWaiting { job: job.key.clone(), reason: reason.clone() };
                self.pending.push_back(json_event(follow::WAITING, &data));
                self.waiting.insert(job.id, reason);
            }
            // An earlier attempt's lines are not the live log of a job run again.
            let from = self.next_line.get(&job.id).copied().unwrap_or(job.log_start);
            let slice = store.read_log(job.id, from, LINES_PER_READ).await?;
            for (offset, text) in slice.lines.iter().enumerate() {
                let line = slice.first_line + i64::try_from(offset).unwrap_or(i64::MAX);
                let data = follow::LogLine { job: job.key.clone(), line, text: text.clone() };
                self.pending.push_back(json_event(follow::LOG, &data));
                any = true;
            }
            self.next_line.insert(job.id, slice.next_line.max(from));
        }
        Ok(any)
    }

    /// The next event, waiting for one as long as the run goes on.
    async fn next_event(&mut self) -> Option<Event> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Some(event);
            }
            if self.finished {
                return None;
            }
            if *self.stopping.borrow() {
                self.finished = true;
                let data = follow::LogShutdown { reason: "the server is stopping".into() };
                return Some(json_event(follow::SHUTDOWN, &data));
            }
            // The status is read before the lines, so that lines written before completion are sent.
            let run = self.state.store().run(self.run).await;
            let read = self.read_new().await;
            match (run, read) {
                (Ok(run), Ok(false)) if run.status == RunStatus::Completed => {
                    self.finished = true;
                    let data = follow::LogEnd { status: run.status.as_str().into(), result: run.result };
                    return Some(json_event(follow::END, &data));
                }
                (Ok(_), Ok(true)) => {}
                (Err(error), _) | (_, Err(error)) if error.is_not_found() => {
                    self.finished = true;
                    return Some(json_event(follow::END, &follow::LogEnd { status: "deleted".into(), result: None }));
                }
                _ => {
                    let mut stopping = self.stopping.clone();
                    tokio::select! {
                        () = tokio::time::sleep(POLL) => {}
                        _ = stopping.changed() => {}
                    }
                }
            }
        }
    }
}

/// The event stream of a run's logs.
pub(crate) fn follow(state: AppState, run: RunId) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let stopping = state.stopping();
    let follower = Follower {
        state,
        run,
        next_line: HashMap::new(),
        waiting: HashMap::new(),
        pending: VecDeque::new(),
        stopping,
        finished: false,
    };
    let stream = futures_util::stream::unfold(follower, |mut follower| async move {
        follower.next_event().await.map(|event| (Ok(event), follower))
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}
