//! The event stream's feeder: the store's outbox of changes turned into CDEvents.
//!
//! Every state change the stream reports writes a change record in the same transaction as the
//! change itself (see `slipway_store::ChangeKind`). The feeder reads the changes after its
//! cursor, builds each one's CDEvent from the records as they are now, and appends the events
//! and moves its cursor forward in one transaction. An event's id is derived from its change's
//! (`slipway-<change>`), and the stream stores a `(source, id)` pair once: a feeder killed
//! between building and storing, or two servers feeding the same database, store each event
//! once, and nothing recorded is lost.
//!
//! What each change becomes:
//!
//! | change | CDEvent |
//! | --- | --- |
//! | run queued, started, finished | `pipelinerun.queued`, `.started`, `.finished` (outcome `success`, `failure`, `cancel`) |
//! | job started, finished (leased jobs only) | `taskrun.started`, `.finished` |
//! | artifact recorded | `artifact.published` (subject: the artifact as a `pkg:generic` purl) |
//! | test results published | `testsuiterun.finished` |
//! | environment created | `environment.created` |
//! | deployment finished | `service.deployed` (the first success of a service in the environment), `service.upgraded` (a later one), `service.rolledback` (rolled back by its delivery tasks, or a manual rollback), or Slipway's `dev.cdeventsx.slipway-deployment.failed.0.1.0` |
//! | deployment outcome set after it finished | `service.rolledback` when rolled back |
//! | approval waiting, decided | Slipway's `dev.cdeventsx.slipway-approval.created.0.1.0`, `.updated.0.1.0` |
//! | work item opened, changed, resolved | `ticket.created`, `.updated`, `.closed`; an incident with an environment `incident.reported` (its work item the ticket) and `incident.resolved` |
//!
//! A change whose subject is gone (a run deleted by retention before the feeder saw it) makes no
//! event.

use std::time::Duration;

use serde_json::{Value, json};
use slipway_events::TaskResult;
use slipway_store::{
    ChangeKind, ChangeRecord, CheckRunId, DeploymentId, EnvironmentId, EventOrigin, JobId, NewStreamEvent, RunId,
    Store, StoreError, WorkItemId, WorkItemKind,
};

use crate::cdevents::{Event, types};

/// The feeder's cursor in the store.
pub const FEEDER_CURSOR: &str = "feeder";
/// Changes read at a time.
const BATCH: i64 = 500;

/// The stream could not be fed.
#[derive(Debug, thiserror::Error)]
#[error("the event stream could not be fed: {0}")]
pub struct FeedError(#[from] StoreError);

/// Where Slipway's events say they come from, and where their links point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedConfig {
    /// The events' `source` (a URI reference): the server's public URL, or `/slipway`.
    pub source: String,
    /// The absolute URL the web UI is reached at (for the events' `uri` fields), without a
    /// trailing slash.
    pub base_url: String,
}

/// Turns the outbox of changes into the event stream.
#[derive(Debug, Clone)]
pub struct Feeder {
    store: Store,
    config: FeedConfig,
    cursor: String,
}

impl Feeder {
    /// A feeder of `store`'s stream.
    #[must_use]
    pub fn new(store: Store, config: FeedConfig) -> Self {
        Self { store, config, cursor: FEEDER_CURSOR.to_owned() }
    }

    /// The same feeder keeping its place under another name (from the first change when the name
    /// is new): feeding again what was fed adds nothing.
    #[must_use]
    pub fn with_cursor(mut self, name: &str) -> Self {
        name.clone_into(&mut self.cursor);
        self
    }

    /// Feeds the stream with every change recorded since the last pass; returns how many events
    /// were added.
    ///
    /// # Errors
    /// When the store fails (the changes are fed again by the next pass).
    pub async fn feed(&self) -> Result<usize, FeedError> {
        let mut added = 0;
        loop {
            let cursor = self.store.event_cursor(&self.cursor).await?.unwrap_or(0);
            let changes = self.store.changes_after(cursor, BATCH).await?;
            let Some(last) = changes.last().map(|change| change.id) else {
                return Ok(added);
            };
            let mut events = Vec::new();
            for change in &changes {
                if let Some(event) = self.event_of(change).await? {
                    events.push(event);
                }
            }
            added += self.store.append_stream_events(&events, Some((&self.cursor, last))).await?.len();
            if changes.len() < usize::try_from(BATCH).unwrap_or(usize::MAX) {
                // The outbox keeps what was fed for a while (for debugging), not for ever.
                if last > PRUNE_AFTER {
                    self.store.prune_changes(last - PRUNE_AFTER).await?;
                }
                return Ok(added);
            }
        }
    }

    /// Feeds the stream every `interval` until `stop` is told, logging (not ending on) failures.
    pub async fn run(self, interval: Duration, mut stop: tokio::sync::watch::Receiver<bool>) {
        loop {
            if let Err(error) = self.feed().await {
                tracing::warn!(%error, "the event stream's feeder failed; it tries again");
            }
            tokio::select! {
                () = tokio::time::sleep(interval) => {}
                changed = stop.changed() => if changed.is_err() || *stop.borrow() { return; },
            }
        }
    }

    fn event(&self, change: &ChangeRecord, event_type: &str, subject: String, content: Value) -> Event {
        Event {
            id: format!("slipway-{}", change.id),
            source: self.config.source.clone(),
            event_type: event_type.to_owned(),
            time_ms: change.at.millis(),
            subject_id: subject,
            content,
            chain_id: None,
            custom_data: None,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.config.base_url)
    }

    /// The event a change makes, if any.
    async fn event_of(&self, change: &ChangeRecord) -> Result<Option<NewStreamEvent>, FeedError> {
        let built = match change.kind {
            ChangeKind::RunQueued | ChangeKind::RunStarted | ChangeKind::RunFinished => self.run_event(change).await,
            ChangeKind::JobStarted | ChangeKind::JobFinished => self.job_event(change).await,
            ChangeKind::ArtifactPublished => self.artifact_event(change).await,
            ChangeKind::TestsPublished => self.tests_event(change).await,
            ChangeKind::EnvironmentCreated => self.environment_event(change).await,
            ChangeKind::DeploymentFinished | ChangeKind::DeploymentOutcome => self.deployment_event(change).await,
            ChangeKind::ApprovalRequested | ChangeKind::ApprovalDecided => self.approval_event(change).await,
            ChangeKind::WorkItemCreated | ChangeKind::WorkItemUpdated | ChangeKind::WorkItemResolved => {
                self.work_item_event(change).await
            }
            ChangeKind::DeploymentQueued => Ok(None),
        };
        match built {
            Ok(event) => Ok(event),
            // Its subject is gone: nothing to tell.
            Err(error) if error.is_not_found() => Ok(None),
            Err(error) => Err(FeedError(error)),
        }
    }

    async fn run_event(&self, change: &ChangeRecord) -> Result<Option<NewStreamEvent>, StoreError> {
        let run = self.store.run(RunId(change.subject)).await?;
        let pipeline = self.store.pipeline(run.pipeline).await?;
        let uri = self.url(&format!("/runs/{}", run.id.0));
        let (event_type, content) = match change.kind {
            ChangeKind::RunQueued => (types::PIPELINE_RUN_QUEUED, json!({ "pipelineName": pipeline.name, "uri": uri })),
            ChangeKind::RunStarted => {
                (types::PIPELINE_RUN_STARTED, json!({ "pipelineName": pipeline.name, "uri": uri }))
            }
            _ => {
                let result = change.details.get("result").and_then(Value::as_str).map(str::to_owned);
                let result = result.or_else(|| run.result.map(|result| result.as_str().to_owned()));
                let outcome = outcome(result.as_deref());
                let mut content = json!({ "pipelineName": pipeline.name, "uri": uri, "outcome": outcome });
                if outcome == "failure" {
                    let jobs = self.store.jobs_of_run(run.id).await?;
                    let failed: Vec<String> = jobs
                        .iter()
                        .filter(|job| job.result == Some(TaskResult::Failed))
                        .map(|job| match &job.message {
                            Some(message) => format!("{}: {message}", job.key),
                            None => format!("{} failed", job.key),
                        })
                        .collect();
                    if !failed.is_empty() {
                        content["errors"] = json!(failed.join("; "));
                    }
                }
                (types::PIPELINE_RUN_FINISHED, content)
            }
        };
        let mut event = self.event(change, event_type, format!("runs/{}", run.id.0), content);
        event.chain_id = Some(format!("slipway-run-{}", run.id.0));
        event.custom_data = Some(json!({
            "runId": run.id.0,
            "runNumber": run.run_number,
            "branch": run.branch,
            "commit": run.commit,
            "trigger": run.trigger.as_str(),
            "result": run.result.map(TaskResult::as_str),
            "requestedBy": run.requested_by,
        }));
        Ok(Some(stored(&event, Some(pipeline.name), None)))
    }

    async fn job_event(&self, change: &ChangeRecord) -> Result<Option<NewStreamEvent>, StoreError> {
        if change.details.get("leased") == Some(&Value::Bool(false)) {
            // Never ran (skipped, or cancelled before an agent took it).
            return Ok(None);
        }
        let job = self.store.job(JobId(change.subject)).await?;
        let run = self.store.run(job.run).await?;
        let pipeline = self.store.pipeline(run.pipeline).await?;
        let uri = self.url(&format!("/runs/{}#job-{}", run.id.0, job.id.0));
        let pipeline_run = json!({ "id": format!("runs/{}", run.id.0), "source": self.config.source });
        let (event_type, content) = if change.kind == ChangeKind::JobStarted {
            (types::TASK_RUN_STARTED, json!({ "taskName": job.key, "uri": uri, "pipelineRun": pipeline_run }))
        } else {
            let result = change.details.get("result").and_then(Value::as_str);
            let mut content =
                json!({ "taskName": job.key, "uri": uri, "pipelineRun": pipeline_run, "outcome": outcome(result) });
            if let Some(message) = &job.message
                && outcome(result) != "success"
            {
                content["errors"] = json!(message);
            }
            (types::TASK_RUN_FINISHED, content)
        };
        let attempt = change.details.get("attempt").cloned().unwrap_or(Value::Null);
        let mut event = self.event(change, event_type, format!("jobs/{}/attempts/{attempt}", job.id.0), content);
        event.chain_id = Some(format!("slipway-run-{}", run.id.0));
        event.custom_data = Some(json!({
            "runId": run.id.0,
            "jobId": job.id.0,
            "attempt": attempt,
            "stage": job.stage,
            "job": job.job,
            "pool": job.pool,
            "agent": change.details.get("holder"),
        }));
        Ok(Some(stored(&event, Some(pipeline.name), None)))
    }

    async fn artifact_event(&self, change: &ChangeRecord) -> Result<Option<NewStreamEvent>, StoreError> {
        let Some(run) = change.details.get("run").and_then(Value::as_i64) else {
            return Ok(None);
        };
        let artifacts = self.store.artifacts_of_run(RunId(run)).await?;
        let Some(artifact) = artifacts.into_iter().find(|artifact| artifact.id.0 == change.subject) else {
            return Ok(None);
        };
        let run = self.store.run(artifact.run).await?;
        let pipeline = self.store.pipeline(run.pipeline).await?;
        let purl = artifact_purl(&pipeline.name, &artifact.name, &artifact.digest);
        let mut event = self.event(change, types::ARTIFACT_PUBLISHED, purl, json!({}));
        event.chain_id = Some(format!("slipway-run-{}", run.id.0));
        event.custom_data = Some(json!({
            "runId": run.id.0,
            "name": artifact.name,
            "digest": artifact.digest,
            "files": artifact.files,
            "bytes": artifact.bytes,
            "signed": artifact.provenance.is_some(),
            "uri": self.url(&format!("/runs/{}", run.id.0)),
        }));
        Ok(Some(stored(&event, Some(pipeline.name), None)))
    }

    async fn tests_event(&self, change: &ChangeRecord) -> Result<Option<NewStreamEvent>, StoreError> {
        let run = self.store.run(RunId(change.subject)).await?;
        let pipeline = self.store.pipeline(run.pipeline).await?;
        let job = change.details.get("job").and_then(Value::as_str).unwrap_or_default().to_owned();
        let step = change.details.get("step").and_then(Value::as_i64).unwrap_or_default();
        let failed = change.details.get("failed").and_then(Value::as_u64).unwrap_or_default();
        let jobs = self.store.jobs_of_run(run.id).await?;
        let pool = jobs.iter().find(|candidate| candidate.key == job).map_or("slipway", |found| found.pool.as_str());
        let content = json!({
            "environment": { "id": pool, "source": self.config.source },
            "testSuite": { "id": format!("{}/{job}", pipeline.name), "name": job, "uri": self.url(&format!("/runs/{}", run.id.0)) },
            "outcome": if failed > 0 { "failure" } else { "success" },
        });
        let mut event = self.event(
            change,
            types::TEST_SUITE_RUN_FINISHED,
            format!("runs/{}/tests/{job}/{step}", run.id.0),
            content,
        );
        event.chain_id = Some(format!("slipway-run-{}", run.id.0));
        event.custom_data = Some(json!({
            "runId": run.id.0,
            "total": change.details.get("total"),
            "passed": change.details.get("passed"),
            "failed": failed,
            "skipped": change.details.get("skipped"),
            "commit": run.commit,
        }));
        Ok(Some(stored(&event, Some(pipeline.name), None)))
    }

    async fn environment_event(&self, change: &ChangeRecord) -> Result<Option<NewStreamEvent>, StoreError> {
        let environment = self.store.environment_by_id(EnvironmentId(change.subject)).await?;
        let uri = self.url(&format!("/environments/{}", path_segment(&environment.name)));
        let content = json!({ "name": environment.name, "uri": uri });
        let event =
            self.event(change, types::ENVIRONMENT_CREATED, format!("environments/{}", environment.name), content);
        Ok(Some(stored(&event, None, Some(environment.name))))
    }

    async fn deployment_event(&self, change: &ChangeRecord) -> Result<Option<NewStreamEvent>, StoreError> {
        let deployment = self.store.deployment(DeploymentId(change.subject)).await?;
        let Some(finished_at) = deployment.finished_at else {
            // Still running: its end tells.
            return Ok(None);
        };
        let outcome = deployment.outcome.as_deref();
        let event_type = if change.kind == ChangeKind::DeploymentOutcome {
            // An outcome set while the deployment ran is told by its end.
            if finished_at > change.at || outcome != Some("rolledBack") {
                return Ok(None);
            }
            types::SERVICE_ROLLED_BACK
        } else {
            let succeeded = matches!(deployment.result, Some(TaskResult::Succeeded | TaskResult::SucceededWithIssues));
            match outcome {
                Some("rolledBack" | "redeployed") => types::SERVICE_ROLLED_BACK,
                _ if !succeeded => types::DEPLOYMENT_FAILED,
                _ => {
                    let earlier = self.store.successful_deployments(deployment.environment, 50).await?;
                    let first = !earlier.iter().any(|other| {
                        other.id.get() < deployment.id.get()
                            && other.resource.as_deref().map(str::to_lowercase)
                                == deployment.resource.as_deref().map(str::to_lowercase)
                    });
                    if first { types::SERVICE_DEPLOYED } else { types::SERVICE_UPGRADED }
                }
            }
        };
        let environment = self.store.environment_by_id(deployment.environment).await?;
        let service = deployment.resource.clone().unwrap_or_else(|| deployment.pipeline_name.clone());
        let version = deployment.commit.clone().unwrap_or_else(|| deployment.run_number.clone());
        let content = json!({
            "environment": { "id": environment.name, "source": self.config.source },
            "artifactId": format!("pkg:generic/{}@{}", purl_name(&deployment.pipeline_name), purl_name(&version)),
        });
        let mut event = self.event(change, event_type, format!("services/{service}"), content);
        event.chain_id = Some(format!("slipway-run-{}", deployment.run.get()));
        event.custom_data = Some(json!({
            "deploymentId": deployment.id.get(),
            "runId": deployment.run.get(),
            "runNumber": deployment.run_number,
            "stage": deployment.stage,
            "job": deployment.job_name,
            "strategy": deployment.strategy,
            "resource": deployment.resource,
            "commit": deployment.commit,
            "branch": deployment.branch,
            "result": deployment.result.map(TaskResult::as_str),
            "outcome": deployment.outcome,
            "outcomeDetail": deployment.outcome_detail,
            "queuedAt": deployment.queued_at.millis(),
            "finishedAt": finished_at.millis(),
            "changes": deployment.changes.as_ref().map(|changes| changes
                .iter()
                .map(|change| json!({ "commit": change.commit, "message": change.message, "time": change.time.map(|time| time.millis()) }))
                .collect::<Vec<_>>()),
            "uri": self.url(&format!("/environments/{}", path_segment(&environment.name))),
        }));
        Ok(Some(stored(&event, Some(deployment.pipeline_name), Some(environment.name))))
    }

    async fn approval_event(&self, change: &ChangeRecord) -> Result<Option<NewStreamEvent>, StoreError> {
        let approval = self.store.approval(CheckRunId(change.subject)).await?;
        let (event_type, mut content) = if change.kind == ChangeKind::ApprovalRequested {
            (types::APPROVAL_CREATED, json!({ "state": "waiting" }))
        } else {
            (
                types::APPROVAL_UPDATED,
                json!({
                    "decision": change.details.get("status"),
                    "by": change.details.get("user"),
                    "comment": change.details.get("comment"),
                }),
            )
        };
        content["run"] = json!({ "id": format!("runs/{}", approval.run.0), "source": self.config.source });
        content["stage"] = json!(approval.stage);
        content["resource"] = json!(approval.check.resource_name);
        content["uri"] = json!(self.url(&format!("/approvals#approval-{}", change.subject)));
        let mut event = self.event(change, event_type, format!("approvals/{}", change.subject), content);
        event.chain_id = Some(format!("slipway-run-{}", approval.run.0));
        event.custom_data = Some(json!({
            "runNumber": approval.run_number,
            "requestedBy": approval.requested_by,
            "instructions": approval.check.settings.get("instructions"),
            "approvers": approval.check.settings.get("approvers"),
        }));
        let environment =
            (approval.check.resource.kind() == "environment").then(|| approval.check.resource_name.clone());
        Ok(Some(stored(&event, Some(approval.pipeline_name), environment)))
    }
}

impl Feeder {
    async fn work_item_event(&self, change: &ChangeRecord) -> Result<Option<NewStreamEvent>, StoreError> {
        let item = self.store.work_item(WorkItemId(change.subject)).await?;
        let uri = self.url(&format!("/work-items/{}", item.id.get()));
        let by = change.details.get("by").and_then(Value::as_str).unwrap_or(&item.created_by).to_owned();
        let incident_environment = item.environment.clone().filter(|_| item.kind == WorkItemKind::Incident);
        let (event_type, content) = match (change.kind, &incident_environment) {
            (ChangeKind::WorkItemCreated, Some(environment)) => (
                types::INCIDENT_REPORTED,
                json!({ "description": item.title, "environment": { "id": environment }, "ticketURI": uri }),
            ),
            (ChangeKind::WorkItemResolved, Some(environment)) => {
                (types::INCIDENT_RESOLVED, json!({ "description": item.title, "environment": { "id": environment } }))
            }
            (ChangeKind::WorkItemCreated, None) => {
                let mut content = json!({
                    "summary": item.title,
                    "ticketType": item.kind.as_str(),
                    "creator": item.created_by,
                    "uri": uri,
                });
                if let Some(severity) = item.severity {
                    content["priority"] = json!(severity.as_str());
                }
                if let Some(assignee) = &item.assignee {
                    content["assignees"] = json!([assignee]);
                }
                (types::TICKET_CREATED, content)
            }
            (ChangeKind::WorkItemResolved, None) => (
                types::TICKET_CLOSED,
                json!({ "summary": item.title, "ticketType": item.kind.as_str(), "uri": uri, "resolution": "completed", "updatedBy": by }),
            ),
            _ => (
                types::TICKET_UPDATED,
                json!({ "summary": item.title, "ticketType": item.kind.as_str(), "uri": uri, "updatedBy": by }),
            ),
        };
        let mut event = self.event(change, event_type, format!("work-items/{}", item.id.get()), content);
        event.custom_data = Some(json!({
            "workItemId": item.id.get(),
            "kind": item.kind.as_str(),
            "state": change.details.get("state"),
            "severity": item.severity.map(|severity| severity.as_str()),
            "occurrences": item.occurrences,
            "dedupKey": item.dedup_key,
            "deploymentId": item.deployment.map(|deployment| deployment.get()),
            "resolution": item.resolution,
        }));
        let pipeline = match item.pipeline {
            Some(pipeline) => Some(self.store.pipeline(pipeline).await?.name),
            None => None,
        };
        Ok(Some(stored(&event, pipeline, item.environment.clone())))
    }
}

/// How many fed changes the outbox keeps.
const PRUNE_AFTER: i64 = 10_000;

/// A stored task result as CDEvents' outcome.
fn outcome(result: Option<&str>) -> &'static str {
    match result {
        Some("Succeeded" | "SucceededWithIssues" | "Skipped") => "success",
        Some("Canceled") => "cancel",
        Some("Failed") => "failure",
        _ => "error",
    }
}

/// An artifact as a generic package URL: the pipeline's namespace, its name and digest.
fn artifact_purl(pipeline: &str, name: &str, digest: &str) -> String {
    format!("pkg:generic/{}/{}?checksum={}", purl_name(pipeline), purl_name(name), purl_name(digest))
}

/// Percent-encodes what a purl component may not hold as is.
fn purl_name(text: &str) -> String {
    let mut encoded = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'-' | b'_' | b'~' | b':') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

/// A path segment of the web UI's URLs.
fn path_segment(text: &str) -> String {
    purl_name(text)
}

/// The stream's record of an event Slipway made.
fn stored(event: &Event, pipeline: Option<String>, environment: Option<String>) -> NewStreamEvent {
    NewStreamEvent {
        event_id: event.id.clone(),
        source: event.source.clone(),
        event_type: event.event_type.clone(),
        subject: event.subject_id.clone(),
        time: slipway_store::Timestamp(event.time_ms),
        origin: EventOrigin::Slipway,
        pipeline,
        environment,
        document: event.cloudevent(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_follow_cdevents_names() {
        assert_eq!(outcome(Some("Succeeded")), "success");
        assert_eq!(outcome(Some("SucceededWithIssues")), "success");
        assert_eq!(outcome(Some("Failed")), "failure");
        assert_eq!(outcome(Some("Canceled")), "cancel");
        assert_eq!(outcome(None), "error");
    }

    #[test]
    fn artifacts_are_generic_purls() {
        assert_eq!(artifact_purl("web app", "drop", "sha256:ab"), "pkg:generic/web%20app/drop?checksum=sha256:ab");
    }
}
