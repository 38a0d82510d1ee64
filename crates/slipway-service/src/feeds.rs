//! One live feed of each followed run, shared by all its followers (issue 10: every follower
//! polled the store on its own, so 100 followers made a run several times slower).
//!
//! The first follower of a run starts its feed: one task that reads what is new in the store a
//! few times a second (each job's log from its current attempt, the reasons queued jobs wait, the
//! run's end) and broadcasts it. Each follower first catches up from the store on its own, then
//! takes what the feed broadcasts, skipping lines it already has (lines are numbered within their
//! job); a follower that falls behind catches up from the store again. The feed stops when its
//! last follower goes, or after the run's end.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use slipway_api::follow::{LogEnd, LogLine, LogWaiting};
use slipway_store::{JobStatus, RunId, RunStatus, Store, StoreError};
use tokio::sync::broadcast;

/// How often a feed asks the store for what is new.
const POLL: Duration = Duration::from_millis(250);

/// How many lines are read from one job at a time.
const LINES_PER_READ: i64 = 1000;

/// How many batches a follower may fall behind before it catches up from the store.
const BACKLOG: usize = 256;

/// Something that happened in a followed run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FeedEvent {
    /// A new line of a job's log.
    Line(LogLine),
    /// Why a queued job waits changed (empty: it no longer waits for an agent).
    Waiting(LogWaiting),
    /// The run completed and every line was sent, or it was deleted (`status` is `deleted`).
    End(LogEnd),
}

/// An event with its JSON, made once for every follower.
#[derive(Debug)]
pub struct FeedItem {
    /// The event.
    pub event: FeedEvent,
    /// Its data as the API writes it (a `LogLine`, `LogWaiting` or `LogEnd` as JSON).
    pub json: String,
}

impl FeedItem {
    fn new(event: FeedEvent) -> Arc<Self> {
        let json = match &event {
            FeedEvent::Line(line) => serde_json::to_string(line),
            FeedEvent::Waiting(waiting) => serde_json::to_string(waiting),
            FeedEvent::End(end) => serde_json::to_string(end),
        }
        .unwrap_or_default();
        Arc::new(Self { event, json })
    }
}

/// A batch of events, shared by every follower.
type Batch = Arc<Vec<Arc<FeedItem>>>;

/// What one reader of a run has seen: the next line of each job and the waiting reasons sent,
/// by job key (unique in a run).
#[derive(Debug, Default)]
struct Seen {
    next_line: HashMap<String, i64>,
    waiting: HashMap<String, String>,
}

impl Seen {
    /// Reads what is new in the store for `run` and notes it as seen; whether the run completed
    /// (when `None`, it is gone).
    async fn read(
        &mut self,
        store: &Store,
        run: RunId,
        out: &mut Vec<Arc<FeedItem>>,
    ) -> Result<Option<bool>, StoreError> {
        // The status first, so that lines written before completion are read after it.
        let status = match store.run(run).await {
            Ok(record) => record.status,
            Err(error) if error.is_not_found() => return Ok(None),
            Err(error) => return Err(error),
        };
        // Stages waiting for the checks on an environment, by stage name.
        for checkpoint in store.checkpoints_of_run(run).await? {
            let reason = if checkpoint.state == slipway_store::CheckpointState::Waiting {
                crate::environments::waiting_reason(&checkpoint)
            } else {
                String::new()
            };
            if self.waiting.get(&checkpoint.stage).map_or(!reason.is_empty(), |sent| *sent != reason) {
                out.push(FeedItem::new(FeedEvent::Waiting(LogWaiting {
                    job: checkpoint.stage.clone(),
                    reason: reason.clone(),
                })));
                self.waiting.insert(checkpoint.stage.clone(), reason);
            }
        }
        for job in store.jobs_of_run(run).await? {
            let reason = match (&job.status, &job.message) {
                (JobStatus::Queued, Some(message)) => message.clone(),
                _ => String::new(),
            };
            if self.waiting.get(&job.key).map_or(!reason.is_empty(), |sent| *sent != reason) {
                out.push(FeedItem::new(FeedEvent::Waiting(LogWaiting {
                    job: job.key.clone(),
                    reason: reason.clone(),
                })));
                self.waiting.insert(job.key.clone(), reason);
            }
            // An earlier attempt's lines are not the live log of a job run again.
            let mut from = self.next_line.get(&job.key).copied().unwrap_or(job.log_start);
            loop {
                let slice = store.read_log(job.id, from, LINES_PER_READ).await?;
                for (offset, text) in slice.lines.iter().enumerate() {
                    let line = slice.first_line + i64::try_from(offset).unwrap_or(i64::MAX);
                    out.push(FeedItem::new(FeedEvent::Line(LogLine {
                        job: job.key.clone(),
                        line,
                        text: text.clone(),
                    })));
                }
                let next = slice.next_line.max(from);
                let more = !slice.lines.is_empty() && next > from;
                from = next;
                if !more || slice.lines.len() < usize::try_from(LINES_PER_READ).unwrap_or(usize::MAX) {
                    break;
                }
            }
            self.next_line.insert(job.key.clone(), from);
        }
        Ok(Some(status == RunStatus::Completed))
    }
}

/// Where a feed's broadcast is taken from: empty once the feed ended (so that its followers see
/// the channel close).
type Slot = Arc<Mutex<Option<broadcast::Sender<Batch>>>>;

/// The feed of one run: its broadcast, and the task that fills it.
#[derive(Debug)]
struct RunFeed {
    slot: Slot,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for RunFeed {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The live feeds of the runs being followed.
#[derive(Debug, Default)]
pub struct Feeds {
    runs: Mutex<HashMap<RunId, Weak<RunFeed>>>,
}

/// A follower's place in a run's feed. Holding it keeps the feed going.
#[derive(Debug)]
pub struct Subscription {
    _feed: Arc<RunFeed>,
    receiver: broadcast::Receiver<Batch>,
    seen: Seen,
    caught_up: bool,
    ended: bool,
}

/// Why [`Subscription::next`] gives nothing more.
#[derive(Debug)]
pub enum FeedError {
    /// The store failed.
    Store(StoreError),
}

impl Feeds {
    /// A subscription to `run`'s feed, started if nobody follows the run yet.
    pub fn subscribe(&self, store: &Store, run: RunId) -> Subscription {
        let mut runs = self.runs.lock().unwrap_or_else(PoisonError::into_inner);
        runs.retain(|_, feed| feed.strong_count() > 0);
        let running = runs.get(&run).and_then(Weak::upgrade).and_then(|feed| {
            let receiver =
                feed.slot.lock().unwrap_or_else(PoisonError::into_inner).as_ref().map(broadcast::Sender::subscribe);
            receiver.map(|receiver| (feed, receiver))
        });
        let (feed, receiver) = running.unwrap_or_else(|| {
            let (sender, receiver) = broadcast::channel(BACKLOG);
            let slot: Slot = Arc::new(Mutex::new(Some(sender)));
            let task = tokio::spawn(feed_task(store.clone(), run, Arc::clone(&slot)));
            let feed = Arc::new(RunFeed { slot, task });
            runs.insert(run, Arc::downgrade(&feed));
            (feed, receiver)
        });
        Subscription { _feed: feed, receiver, seen: Seen::default(), caught_up: false, ended: false }
    }
}

/// Reads what is new for `run` and broadcasts it until the run ended (or nobody listens), then
/// closes the broadcast.
async fn feed_task(store: Store, run: RunId, slot: Slot) {
    let Some(sender) = slot.lock().unwrap_or_else(PoisonError::into_inner).clone() else { return };
    let close = || slot.lock().unwrap_or_else(PoisonError::into_inner).take();
    let mut seen = Seen::default();
    loop {
        let mut events = Vec::new();
        let completed = seen.read(&store, run, &mut events).await;
        let done = match completed {
            Ok(Some(true)) if events.is_empty() => true,
            Ok(None) => true,
            Ok(_) => false,
            Err(error) => {
                tracing::warn!(%error, run = run.get(), "reading a followed run failed");
                false
            }
        };
        // In batches of at most a page, so that followers take them a piece at a time.
        let mut rest = events;
        while !rest.is_empty() {
            let tail = rest.split_off(rest.len().min(usize::try_from(LINES_PER_READ).unwrap_or(1000)));
            if sender.send(Arc::new(rest)).is_err() {
                close();
                return;
            }
            rest = tail;
        }
        if done {
            // Followers find the end themselves (they look at the run when the feed closes).
            close();
            return;
        }
        tokio::time::sleep(POLL).await;
    }
}

impl Subscription {
    /// The next events for this follower, waiting for them; empty once the run ended (an `End`
    /// event was given).
    ///
    /// # Errors
    /// When the store fails.
    pub async fn next(&mut self, store: &Store, run: RunId) -> Result<Vec<Arc<FeedItem>>, FeedError> {
        if self.ended {
            return Ok(Vec::new());
        }
        if !self.caught_up {
            self.caught_up = true;
            let mut events = Vec::new();
            let completed = self.seen.read(store, run, &mut events).await.map_err(FeedError::Store)?;
            if !events.is_empty() {
                return Ok(events);
            }
            if let Some(end) = self.end_if_completed(store, run, completed).await? {
                return Ok(vec![end]);
            }
        }
        loop {
            match self.receiver.recv().await {
                Ok(batch) => {
                    let mut events = Vec::new();
                    for item in batch.iter() {
                        match &item.event {
                            FeedEvent::Line(line) => {
                                // A job this follower has not seen yet starts at the feed's first
                                // line of it (its current attempt's).
                                let fresh = match self.seen.next_line.get_mut(&line.job) {
                                    Some(next) if line.line < *next => false,
                                    Some(next) => {
                                        *next = line.line + 1;
                                        true
                                    }
                                    None => {
                                        self.seen.next_line.insert(line.job.clone(), line.line + 1);
                                        true
                                    }
                                };
                                if fresh {
                                    events.push(Arc::clone(item));
                                }
                            }
                            FeedEvent::Waiting(waiting) => {
                                if self.seen.waiting.get(&waiting.job) != Some(&waiting.reason) {
                                    self.seen.waiting.insert(waiting.job.clone(), waiting.reason.clone());
                                    events.push(Arc::clone(item));
                                }
                            }
                            FeedEvent::End(_) => {}
                        }
                    }
                    if !events.is_empty() {
                        return Ok(events);
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    // Fallen behind: catch up from the store.
                    let mut events = Vec::new();
                    self.seen.read(store, run, &mut events).await.map_err(FeedError::Store)?;
                    if !events.is_empty() {
                        return Ok(events);
                    }
                }
                Err(broadcast::error::RecvError::Closed) => {
                    // The feed ended: the run completed or is gone. Read what is left, then end.
                    let mut events = Vec::new();
                    let completed = self.seen.read(store, run, &mut events).await.map_err(FeedError::Store)?;
                    if let Some(end) = self.end_if_completed(store, run, completed).await? {
                        events.push(end);
                    } else if events.is_empty() {
                        // Not completed (the store failed the feed): wait a little, read again.
                        tokio::time::sleep(POLL).await;
                    }
                    if !events.is_empty() {
                        return Ok(events);
                    }
                }
            }
        }
    }

    /// The `End` event once the run completed (or is gone), noting that the follower ended.
    async fn end_if_completed(
        &mut self,
        store: &Store,
        run: RunId,
        completed: Option<bool>,
    ) -> Result<Option<Arc<FeedItem>>, FeedError> {
        let end = match completed {
            None => Some(LogEnd { status: "deleted".into(), result: None }),
            Some(true) => {
                let record = store.run(run).await.map_err(FeedError::Store)?;
                Some(LogEnd { status: record.status.as_str().into(), result: record.result })
            }
            Some(false) => None,
        };
        self.ended = end.is_some();
        Ok(end.map(|end| FeedItem::new(FeedEvent::End(end))))
    }
}
