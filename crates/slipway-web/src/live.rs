//! The run page's live stream: `GET /runs/{id}/live?job=KEY` as server-sent events.
//!
//! - `status` (`{"html", "status"}`): the live part of the page (graph, jobs, steps, results),
//!   rendered again whenever a status changes (and every few seconds while the run goes on, so
//!   durations move);
//! - `job` (`{"key", "name", "raw"}`): the job whose log follows, when the page did not name one
//!   and one has started;
//! - `log` (`{"ops"}`): new lines of that job's log as folding operations (see [`super::log`]);
//! - `end`: the run completed and every line was sent; `shutdown` when the server stops.
//!
//! Each tick reads the run and the new log lines of the followed job (two queries); its jobs and
//! steps when the run or the log moved, or every third tick; the rest of the page only when a
//! status changed. The plan's graph is read once.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::fmt::Write as _;
use std::time::Duration;

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use slipway_store::{JobId, RunId, RunStatus};

use super::graph::GraphPlan;
use super::log::{Folder, ops_json};
use super::pages::{RunQuery, RunView, default_job, run_live};
use super::{UiError, Viewer, url_encode};
use slipway_service::AppState;

/// How often the store is asked for news.
const TICK: Duration = Duration::from_millis(300);

/// How many log lines one event carries at most.
const LINES_PER_EVENT: i64 = 1000;

/// How often the page is rendered again while the run goes on, when nothing else changed.
const REFRESH_MILLIS: i64 = 5000;

struct Follower {
    state: AppState,
    viewer: Viewer,
    run: RunId,
    graph: GraphPlan,
    job_key: Option<String>,
    job: Option<JobId>,
    next_line: i64,
    folder: Folder,
    fingerprint: String,
    run_state: String,
    ticks: u64,
    pending: VecDeque<Event>,
    stopping: tokio::sync::watch::Receiver<bool>,
    finished: bool,
}

fn json_event(name: &str, data: &serde_json::Value) -> Event {
    Event::default().event(name).data(data.to_string())
}

impl Follower {
    /// Reads what is new and queues its events; whether the stream is complete.
    async fn tick(&mut self) -> Result<bool, UiError> {
        let store = self.state.store().clone();
        let run = match store.run(self.run).await {
            Ok(run) => run,
            Err(error) if error.is_not_found() => {
                self.pending.push_back(json_event("end", &serde_json::json!({ "status": "deleted" })));
                return Ok(true);
            }
            Err(error) => return Err(error.into()),
        };
        let completed = run.status == RunStatus::Completed;
        self.ticks += 1;
        let run_state = format!("{}|{:?}|{}", run.status, run.result, run.cancel_requested);
        // Jobs and steps are read when the run changed, when no job is followed yet, when the
        // followed job's log moved (a step started or finished), and every third tick otherwise.
        let mut progress = None;
        if self.job.is_none() || run_state != self.run_state || self.ticks.is_multiple_of(3) {
            progress = Some((store.jobs_of_run(self.run).await?, store.steps_of_run(self.run).await?));
        }
        self.run_state = run_state;
        if self.job.is_none()
            && let Some((jobs, _)) = &progress
        {
            self.choose_job(jobs);
        }

        // The log before the status, so that a completed page never lacks lines it says are there.
        let mut log_done = self.job.is_none();
        if let Some(job) = self.job {
            let slice = store.read_log(job, self.next_line, LINES_PER_EVENT).await?;
            if slice.lines.is_empty() {
                log_done = true;
            } else {
                let ops = self.folder.fold(slice.first_line, slice.lines.iter().map(String::as_str));
                self.next_line = slice.next_line.max(self.next_line);
                self.pending.push_back(json_event("log", &serde_json::json!({ "ops": ops_json(&ops) })));
                if progress.is_none() {
                    progress = Some((store.jobs_of_run(self.run).await?, store.steps_of_run(self.run).await?));
                }
            }
        }

        if let Some((jobs, steps)) = progress {
            let mut fingerprint = self.run_state.clone();
            if !completed {
                let _ = write!(fingerprint, "|{}", store.now().millis() / REFRESH_MILLIS);
            }
            for job in &jobs {
                let _ = write!(fingerprint, "|{}:{}:{:?}", job.id, job.status, job.result);
            }
            for (job, step) in &steps {
                let _ = write!(fingerprint, "|{job}/{}:{}:{:?}", step.number, step.status, step.result);
            }
            if fingerprint != self.fingerprint {
                self.fingerprint = fingerprint;
                let status = run.status;
                let view = RunView::assemble(&self.state, run, jobs, steps, self.graph.clone()).await?;
                let html = run_live(&view, &self.viewer, self.job_key.as_deref(), store.now()).into_string();
                self.pending.push_back(json_event("status", &serde_json::json!({ "html": html, "status": status })));
            }
        }
        if completed && log_done && !self.fingerprint.is_empty() {
            self.pending.push_back(json_event("end", &serde_json::json!({ "status": "completed" })));
            return Ok(true);
        }
        Ok(false)
    }

    /// Chooses the job whose log to follow, among the run's jobs so far.
    fn choose_job(&mut self, jobs: &[slipway_store::Job]) {
        let found = match &self.job_key {
            Some(key) => jobs.iter().find(|job| &job.key == key),
            None => default_job(jobs),
        };
        let Some(job) = found else { return };
        self.job = Some(job.id);
        // The current attempt's log; earlier attempts are listed on the page.
        self.next_line = self.next_line.max(job.log_start);
        if self.job_key.is_none() {
            let data = serde_json::json!({
                "key": job.key,
                "name": job.display_name,
                "raw": format!("/runs/{}/log?job={}", self.run, url_encode(&job.key)),
            });
            self.pending.push_back(json_event("job", &data));
            self.job_key = Some(job.key.clone());
        }
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
                return Some(json_event("shutdown", &serde_json::json!({ "reason": "the server is stopping" })));
            }
            let before = self.next_line;
            match self.tick().await {
                Ok(true) => self.finished = true,
                Ok(false) if self.next_line - before >= LINES_PER_EVENT => {}
                Ok(false) => self.wait().await,
                Err(error) => {
                    tracing::warn!(run = self.run.get(), error = %error.message, "following a run for the web UI failed");
                    self.wait().await;
                }
            }
        }
    }

    async fn wait(&self) {
        let mut stopping = self.stopping.clone();
        tokio::select! {
            () = tokio::time::sleep(TICK) => {}
            _ = stopping.changed() => {}
        }
    }
}

/// `GET /runs/{id}/live`: the run page's event stream.
///
/// # Errors
/// A 404 for an unknown run.
pub(crate) async fn live(
    State(state): State<AppState>,
    viewer: Viewer,
    id: Result<Path<i64>, PathRejection>,
    query: Result<Query<RunQuery>, QueryRejection>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, UiError> {
    let Path(id) = id.map_err(|_| UiError::bad_request("a run's id is a number"))?;
    let Query(query) = query?;
    let run = match state.store().run(RunId(id)).await {
        Ok(run) => run,
        Err(error) if error.is_not_found() => return Err(UiError::not_found(format!("There is no run {id}."))),
        Err(error) => return Err(error.into()),
    };
    let graph = state.store().run_plan(run.id).await?.map(|plan| GraphPlan::from_plan(&plan)).unwrap_or_default();
    let stopping = state.stopping();
    let follower = Follower {
        state,
        viewer,
        run: run.id,
        graph,
        job_key: query.job.filter(|key| !key.is_empty()),
        job: None,
        next_line: 0,
        folder: Folder::default(),
        fingerprint: String::new(),
        run_state: String::new(),
        ticks: 0,
        pending: VecDeque::new(),
        stopping,
        finished: false,
    };
    let stream = futures_util::stream::unfold(follower, |mut follower| async move {
        follower.next_event().await.map(|event| (Ok(event), follower))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}
