//! Work items and incidents opened, bumped and resolved from the event stream.
//!
//! A consumer of the stream (its cursor `work-items`) that reads each event once it is stored
//! and acts on it, by each pipeline's work-item rules ([`WorkItemRules`]: whether failures open
//! bugs, which branches are protected, the security threshold, whether deployments open
//! incidents, whom new items go to). A protected branch is one the rules name (wildcards
//! allowed), or, when they name none, the pipeline's default branch: the one it names, or `main`
//! or `master` when it names none.
//!
//! | event | what happens |
//! | --- | --- |
//! | a run of a protected branch failed (`pipelinerun.finished`, `failure`) | a **bug** keyed by the pipeline and the jobs that failed (their keys, in order) is opened, or the open one with that key gets a comment and its count goes up |
//! | a run of a protected branch succeeded | the pipeline's open failure bugs are resolved, linked to the fixing run |
//! | a run of a protected branch finished with security reports in its artifacts (SARIF, CycloneDX) | a **bug** per rule (or advisory) whose findings reach the threshold, keyed by the pipeline, the report's category and the rule, is opened or bumped; an open one whose rule the same category's reports no longer find is resolved |
//! | a run of the default branch was queued | the work items its commit's subject names (`AB#12`, `#12`) are linked to the commit and run; those after a closing keyword (`Fixes AB#12`) are resolved, as a merge to the default branch does in Azure Boards and GitHub; a pull request's title links, never resolves |
//! | a deployment failed or was rolled back (`dev.cdeventsx.slipway-deployment.failed`, `service.rolledback`) | an **incident** keyed by the environment and the service is opened (attributed to the deployment) or bumped, unless the rules of the pipeline whose run deployed it say not to |
//! | a later successful deployment of that service there (`service.deployed`, `.upgraded`) | the incident is resolved, linked to the deployment that restored service |
//! | an incident pushed in from outside (`incident.detected`, `.reported`; origin `api` or `devlake`) | an incident keyed by its source and subject is opened or bumped; `incident.resolved` of the same resolves it |
//!
//! Events are acted on at least once: the cursor moves after each event's actions. An action
//! done again after a crash does not count twice where the event names what it is about (a run,
//! a deployment): a repeat whose run or deployment the open item links already is skipped.
//! Slipway's own `incident.*` and `ticket.*` events (made from work items) are not acted on.
//!
//! Security reports are files of a run's artifacts, in the server's blob store, which this crate
//! does not reach: the server gives the automation a [`SecurityReader`] that reads them.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use slipway_events::TaskResult;
use slipway_store::{
    Artifact, DeploymentId, EventFilter, EventOrigin, NewWorkItem, NewWorkItemLink, Pipeline, Run, RunId,
    SecurityThreshold, Store, StoreError, StreamEvent, WorkItemFilter, WorkItemId, WorkItemKind, WorkItemRules,
    WorkItemSeverity, WorkItemStates,
};

use crate::cdevents::types;
use crate::links::{ReferenceSyntax, work_item_references};

/// The consumer's cursor in the store.
pub const AUTOMATION_CURSOR: &str = "work-items";
/// Who the automation acts as.
pub const ACTOR: &str = "slipway";
/// Events read at a time.
const BATCH: u32 = 200;

/// The most findings' locations a security bug's description and comments list.
const LOCATIONS_LISTED: usize = 20;

/// What one of a run's security reports says, as a [`SecurityReader`] reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecurityReport {
    /// What its findings are about: `secrets`, `vulnerabilities`, `policy` or `other`.
    pub category: String,
    /// The tool that wrote it, if it says.
    pub tool: Option<String>,
    /// Its findings.
    pub findings: Vec<SecurityFinding>,
    /// Whether `findings` holds all of them (a report that lists only the first ones cannot
    /// tell that a rule is no longer found).
    pub complete: bool,
}

/// One finding of a [`SecurityReport`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecurityFinding {
    /// The rule or advisory id.
    pub rule: String,
    /// SARIF's level (`error`, `warning`, `note`) or a severity (`critical`, `high`, ...).
    pub level: String,
    /// What it says.
    pub message: String,
    /// Where: `file:line`, or the component it affects.
    pub location: Option<String>,
}

/// What a [`SecurityReader`] calls: the reports among a run's artifacts.
type ReadReports = dyn Fn(&[Artifact]) -> Vec<SecurityReport> + Send + Sync;

/// Reads the security reports among a run's artifacts (blocking: it reads files).
#[derive(Clone)]
pub struct SecurityReader(Arc<ReadReports>);

impl SecurityReader {
    /// A reader that calls `read`.
    pub fn new(read: impl Fn(&[Artifact]) -> Vec<SecurityReport> + Send + Sync + 'static) -> Self {
        Self(Arc::new(read))
    }
}

impl fmt::Debug for SecurityReader {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("SecurityReader")
    }
}

/// The stream's consumer that keeps work items and incidents.
#[derive(Debug, Clone)]
pub struct Automation {
    store: Store,
    security: Option<SecurityReader>,
}

/// The automation could not act.
#[derive(Debug, thiserror::Error)]
#[error("work items could not be kept from the event stream: {0}")]
pub struct AutomationError(#[from] StoreError);

impl Automation {
    /// The automation over `store`'s stream and work items.
    #[must_use]
    pub fn new(store: Store) -> Self {
        Self { store, security: None }
    }

    /// The same, reading runs' security reports with `reader` (without one, security findings
    /// open no work items).
    #[must_use]
    pub fn with_security(self, reader: SecurityReader) -> Self {
        Self { security: Some(reader), ..self }
    }

    /// Acts on every event stored since the last pass; returns how many were read.
    ///
    /// # Errors
    /// When the store fails (the event is acted on again by the next pass).
    pub async fn pass(&self) -> Result<usize, AutomationError> {
        let mut read = 0;
        loop {
            let after = self.store.event_cursor(AUTOMATION_CURSOR).await?;
            let filter = EventFilter { after, limit: BATCH, ..EventFilter::default() };
            let events = self.store.list_stream_events(&filter).await?;
            if events.is_empty() {
                return Ok(read);
            }
            for event in &events {
                match self.act(event).await {
                    Ok(()) => {}
                    // What the event is about is gone (deleted since): nothing to do.
                    Err(error) if error.is_not_found() => {}
                    Err(error) => return Err(AutomationError(error)),
                }
                self.store.set_event_cursor(AUTOMATION_CURSOR, event.position).await?;
                read += 1;
            }
        }
    }

    /// Acts every `interval` until `stop` is told, logging (not ending on) failures.
    pub async fn run(self, interval: Duration, mut stop: tokio::sync::watch::Receiver<bool>) {
        loop {
            if let Err(error) = self.pass().await {
                tracing::warn!(%error, "keeping work items from the event stream failed; it tries again");
            }
            tokio::select! {
                () = tokio::time::sleep(interval) => {}
                changed = stop.changed() => if changed.is_err() || *stop.borrow() { return; },
            }
        }
    }

    async fn act(&self, event: &StreamEvent) -> Result<(), StoreError> {
        let document = &event.document;
        let data = &document["data"];
        let custom = &data["customData"];
        let content = &data["subject"]["content"];
        match (event.event_type.as_str(), event.origin) {
            (types::PIPELINE_RUN_FINISHED, EventOrigin::Slipway) => {
                let Some(run) = custom["runId"].as_i64() else { return Ok(()) };
                self.run_finished(RunId(run), content["outcome"].as_str().unwrap_or_default()).await
            }
            (types::PIPELINE_RUN_QUEUED, EventOrigin::Slipway) => {
                let Some(run) = custom["runId"].as_i64() else { return Ok(()) };
                self.run_queued(RunId(run)).await
            }
            (types::DEPLOYMENT_FAILED | types::SERVICE_ROLLED_BACK, _) => self.deployment_failed(event).await,
            (types::SERVICE_DEPLOYED | types::SERVICE_UPGRADED, _) => self.deployment_succeeded(event).await,
            (types::INCIDENT_DETECTED | types::INCIDENT_REPORTED, EventOrigin::Api | EventOrigin::DevLake) => {
                self.external_incident(event).await
            }
            (types::INCIDENT_RESOLVED, EventOrigin::Api | EventOrigin::DevLake) => {
                let key = external_key(event);
                let resolution = format!("resolved, as {} reported at {}", event.source, time_of(event));
                self.store.resolve_work_item_by_key(&key, &resolution, ACTOR, &[]).await.map(|_| ())
            }
            _ => Ok(()),
        }
    }

    /// Whether `branch` is the pipeline's default branch: the one it names, or `main` or
    /// `master` when it names none (it follows the repository's HEAD, which is not read here).
    fn on_default_branch(branch: Option<&str>, default_branch: &str) -> bool {
        let Some(branch) = branch.map(short_branch) else { return false };
        match short_branch(default_branch) {
            "" => branch == "main" || branch == "master",
            named => branch == named,
        }
    }

    /// Whether `branch` is protected by `rules`: one of the branches they name (wildcards
    /// allowed), or the pipeline's default branch when they name none.
    fn protected(branch: Option<&str>, rules: &WorkItemRules, default_branch: &str) -> bool {
        if rules.branches.is_empty() {
            return Self::on_default_branch(branch, default_branch);
        }
        let Some(branch) = branch.map(short_branch) else { return false };
        rules.branches.iter().any(|pattern| slipway_triggers::wildcard_match(short_branch(pattern), branch))
    }

    async fn run_finished(&self, run: RunId, outcome: &str) -> Result<(), StoreError> {
        let run = self.store.run(run).await?;
        let pipeline = self.store.pipeline(run.pipeline).await?;
        let rules = self.store.work_item_rules(pipeline.id).await?.rules;
        if !Self::protected(run.branch.as_deref(), &rules, &pipeline.default_branch) {
            return Ok(());
        }
        if rules.failures {
            self.failure_bugs(&run, &pipeline, &rules, outcome).await?;
        }
        if rules.security != SecurityThreshold::Off
            && let Some(reader) = &self.security
        {
            self.security_bugs(&run, &pipeline, &rules, reader).await?;
        }
        Ok(())
    }

    /// Opens or bumps the bug of a failed run; resolves the pipeline's failure bugs on success.
    async fn failure_bugs(
        &self,
        run: &Run,
        pipeline: &Pipeline,
        rules: &WorkItemRules,
        outcome: &str,
    ) -> Result<(), StoreError> {
        let prefix = format!("pipeline:{}:failed:", pipeline.id.0);
        match outcome {
            "failure" => {
                let jobs = self.store.jobs_of_run(run.id).await?;
                let failed: Vec<_> = jobs.iter().filter(|job| job.result == Some(TaskResult::Failed)).collect();
                let keys: Vec<&str> = failed.iter().map(|job| job.key.as_str()).collect();
                let signature = if keys.is_empty() { "run".to_owned() } else { keys.join(",") };
                let key = format!("{prefix}{signature}");
                if self.already_linked(&NewWorkItemLink::run(run.id), &key).await? {
                    return Ok(());
                }
                let branch = short_branch(run.branch.as_deref().unwrap_or_default());
                let what = if keys.is_empty() { "the run".to_owned() } else { keys.join(", ") };
                let mut item =
                    NewWorkItem::new(WorkItemKind::Bug, format!("{} failed on {branch}: {what}", pipeline.name), ACTOR);
                item.description = failed
                    .iter()
                    .map(|job| format!("{}: {}", job.key, job.message.as_deref().unwrap_or("failed")))
                    .collect::<Vec<_>>()
                    .join("\n");
                item.dedup_key = Some(key);
                item.pipeline = Some(pipeline.id);
                item.assignee.clone_from(&rules.assignee);
                let comment = format!("Run {} ({}) failed.", run.run_number, run.id.0);
                let mut links = vec![NewWorkItemLink::run(run.id), NewWorkItemLink::pipeline(pipeline.id)];
                links.extend(run.commit.as_deref().map(NewWorkItemLink::commit));
                let (item, created) = self.store.open_or_bump_work_item(&item, &comment, &links).await?;
                tracing::info!(item = item.id.get(), created, occurrences = item.occurrences, "a failed run's bug");
            }
            "success" => {
                let filter = WorkItemFilter {
                    pipeline: Some(pipeline.id),
                    states: Some(WorkItemStates::Open),
                    limit: 500,
                    ..WorkItemFilter::default()
                };
                let open = self.store.list_work_items(&filter).await?;
                let mut links = vec![NewWorkItemLink::run(run.id)];
                links.extend(run.commit.as_deref().map(NewWorkItemLink::commit));
                for item in open {
                    let Some(key) = item.dedup_key.as_deref().filter(|key| key.starts_with(&prefix)) else {
                        continue;
                    };
                    let resolution = format!("Fixed: run {} ({}) succeeded.", run.run_number, run.id.0);
                    self.store.resolve_work_item_by_key(key, &resolution, ACTOR, &links).await?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Opens or bumps a bug per rule whose findings in `run`'s security reports reach the
    /// threshold, and resolves the open ones whose rule the same category's complete reports no
    /// longer find.
    async fn security_bugs(
        &self,
        run: &Run,
        pipeline: &Pipeline,
        rules: &WorkItemRules,
        reader: &SecurityReader,
    ) -> Result<(), StoreError> {
        let artifacts = self.store.artifacts_of_run(run.id).await?;
        if artifacts.is_empty() {
            return Ok(());
        }
        let read = reader.0.clone();
        let reports = match tokio::task::spawn_blocking(move || read(&artifacts)).await {
            Ok(reports) => reports,
            Err(error) => {
                tracing::error!(%error, run = run.id.0, "reading a run's security reports failed; its findings open no work items");
                return Ok(());
            }
        };
        // Per (category, rule): its findings that reach the threshold, and the highest level.
        let mut found: BTreeMap<(String, String), Vec<&SecurityFinding>> = BTreeMap::new();
        let mut complete: BTreeSet<&str> = BTreeSet::new();
        let mut incomplete: BTreeSet<&str> = BTreeSet::new();
        for report in &reports {
            if report.complete {
                complete.insert(&report.category);
            } else {
                incomplete.insert(&report.category);
            }
            for finding in report.findings.iter().filter(|finding| rules.security.reached_by(&finding.level)) {
                found.entry((report.category.clone(), finding.rule.clone())).or_default().push(finding);
            }
        }
        let prefix = format!("security:{}:", pipeline.id.0);
        let branch = short_branch(run.branch.as_deref().unwrap_or_default());
        let mut links = vec![NewWorkItemLink::run(run.id), NewWorkItemLink::pipeline(pipeline.id)];
        links.extend(run.commit.as_deref().map(NewWorkItemLink::commit));
        for ((category, rule), findings) in &found {
            let key = format!("{prefix}{category}:{rule}");
            if self.already_linked(&NewWorkItemLink::run(run.id), &key).await? {
                continue;
            }
            let places = locations(findings);
            let count = findings.len();
            let noun = if count == 1 { "finding" } else { "findings" };
            let mut item = NewWorkItem::new(
                WorkItemKind::Bug,
                format!("{}: {rule} ({category}) found on {branch}", pipeline.name),
                ACTOR,
            );
            item.severity = Some(severity_of(findings));
            item.description = format!("{count} {noun} of {rule} in run {} ({}):\n{places}", run.run_number, run.id.0);
            item.dedup_key = Some(key);
            item.pipeline = Some(pipeline.id);
            item.assignee.clone_from(&rules.assignee);
            let comment = format!("Run {} ({}) found it again: {count} {noun}:\n{places}", run.run_number, run.id.0);
            let (item, created) = self.store.open_or_bump_work_item(&item, &comment, &links).await?;
            tracing::info!(item = item.id.get(), created, rule = %rule, "a security finding's bug");
        }
        // Resolve what the same categories' complete reports no longer find.
        let filter = WorkItemFilter {
            pipeline: Some(pipeline.id),
            states: Some(WorkItemStates::Open),
            limit: 500,
            ..WorkItemFilter::default()
        };
        for item in self.store.list_work_items(&filter).await? {
            let Some(key) = item.dedup_key.as_deref() else { continue };
            let Some((category, rule)) = key.strip_prefix(&prefix).and_then(|rest| rest.split_once(':')) else {
                continue;
            };
            if !complete.contains(category)
                || incomplete.contains(category)
                || found.contains_key(&(category.to_owned(), rule.to_owned()))
            {
                continue;
            }
            let resolution = format!(
                "Fixed: run {} ({}) no longer finds {rule} at or above {}.",
                run.run_number, run.id.0, rules.security
            );
            self.store.resolve_work_item_by_key(key, &resolution, ACTOR, &links).await?;
        }
        Ok(())
    }

    async fn run_queued(&self, run: RunId) -> Result<(), StoreError> {
        let run = self.store.run(run).await?;
        let pipeline = self.store.pipeline(run.pipeline).await?;
        let details = &run.trigger_details;
        let merged =
            details.pull_request.is_none() && Self::on_default_branch(run.branch.as_deref(), &pipeline.default_branch);
        let mut texts: Vec<(&str, bool)> = Vec::new();
        if let Some(message) = details.message.as_deref() {
            texts.push((message, merged));
        }
        if let Some(title) = details.pull_request.as_ref().and_then(|pull| pull.title.as_deref()) {
            texts.push((title, false));
        }
        let mut links = vec![NewWorkItemLink::run(run.id)];
        links.extend(run.commit.as_deref().map(NewWorkItemLink::commit));
        for (text, may_resolve) in texts {
            for reference in work_item_references(text) {
                let id = WorkItemId(reference.id);
                let item = match self.store.work_item(id).await {
                    Ok(item) => item,
                    // `#12` of a GitHub issue that is no work item here.
                    Err(error) if error.is_not_found() => continue,
                    Err(error) => return Err(error),
                };
                if reference.resolves && may_resolve && !item.state.is_done() {
                    let syntax = match reference.syntax {
                        ReferenceSyntax::AzureBoards => "AB#",
                        ReferenceSyntax::GitHub => "#",
                    };
                    let commit =
                        run.commit.as_deref().map_or("its commit", |commit| commit.get(..12).unwrap_or(commit));
                    let branch = short_branch(run.branch.as_deref().unwrap_or_default());
                    let resolution = format!("Resolved by {commit} ({syntax}{} on {branch}).", reference.id);
                    self.store.resolve_work_item(id, &resolution, ACTOR, &links).await?;
                } else {
                    self.store.add_work_item_links(id, &links, ACTOR).await?;
                }
            }
        }
        Ok(())
    }

    /// Whether an open item with `key` links `link` already (the event was acted on).
    async fn already_linked(&self, link: &NewWorkItemLink, key: &str) -> Result<bool, StoreError> {
        let linked = self.store.open_work_items_linked_to(link).await?;
        Ok(linked.iter().any(|item| item.dedup_key.as_deref() == Some(key)))
    }

    async fn deployment_failed(&self, event: &StreamEvent) -> Result<(), StoreError> {
        let (environment, service) = deployment_target(event);
        let key = format!("deployment:{}:{service}", environment.to_lowercase());
        let custom = &event.document["data"]["customData"];
        let deployment = custom["deploymentId"].as_i64().filter(|_| event.origin == EventOrigin::Slipway);
        let run = custom["runId"].as_i64().filter(|_| event.origin == EventOrigin::Slipway).map(RunId);
        let mut assignee = None;
        if let Some(run) = run {
            let rules = match self.store.run(run).await {
                Ok(run) => self.store.work_item_rules(run.pipeline).await?.rules,
                Err(error) if error.is_not_found() => WorkItemRules::default(),
                Err(error) => return Err(error),
            };
            if !rules.incidents {
                return Ok(());
            }
            assignee = rules.assignee;
        }
        if let Some(deployment) = deployment
            && self.already_linked(&NewWorkItemLink::deployment(DeploymentId(deployment)), &key).await?
        {
            return Ok(());
        }
        let rolled_back = event.event_type == types::SERVICE_ROLLED_BACK;
        let what = if rolled_back { "was rolled back" } else { "failed to deploy" };
        let mut item = NewWorkItem::new(WorkItemKind::Incident, format!("{service} {what} in {environment}"), ACTOR);
        item.severity = Some(WorkItemSeverity::High);
        item.dedup_key = Some(key);
        item.environment = Some(environment.clone());
        item.deployment = deployment.map(DeploymentId);
        item.assignee = assignee;
        item.description = custom["outcomeDetail"].as_str().map(str::to_owned).unwrap_or_default();
        let mut links = vec![NewWorkItemLink::environment(&environment)];
        if let Some(deployment) = deployment {
            links.push(NewWorkItemLink::deployment(DeploymentId(deployment)));
        }
        if let Some(run) = run {
            links.push(NewWorkItemLink::run(run));
        }
        let run_number = custom["runNumber"].as_str().map(|number| format!(" (run {number})")).unwrap_or_default();
        let comment = format!("The deployment{run_number} {what} at {}.", time_of(event));
        self.store.open_or_bump_work_item(&item, &comment, &links).await?;
        Ok(())
    }

    async fn deployment_succeeded(&self, event: &StreamEvent) -> Result<(), StoreError> {
        let (environment, service) = deployment_target(event);
        let key = format!("deployment:{}:{service}", environment.to_lowercase());
        let custom = &event.document["data"]["customData"];
        let mut links = Vec::new();
        let restored_by = match custom["deploymentId"].as_i64().filter(|_| event.origin == EventOrigin::Slipway) {
            Some(deployment) => {
                links.push(NewWorkItemLink::deployment(DeploymentId(deployment)));
                format!("deployment {deployment}")
            }
            None => format!("a deployment {} reported", event.source),
        };
        let resolution = format!("Service restored by {restored_by} at {}.", time_of(event));
        self.store.resolve_work_item_by_key(&key, &resolution, ACTOR, &links).await?;
        Ok(())
    }

    async fn external_incident(&self, event: &StreamEvent) -> Result<(), StoreError> {
        let data = &event.document["data"];
        let content = &data["subject"]["content"];
        let custom = &data["customData"];
        let environment = content["environment"]["id"].as_str().unwrap_or("production").to_owned();
        let title = custom["title"]
            .as_str()
            .or_else(|| content["description"].as_str())
            .map_or_else(|| format!("Incident {} from {}", event.subject, event.source), str::to_owned);
        let mut item = NewWorkItem::new(WorkItemKind::Incident, title, ACTOR);
        item.severity = Some(WorkItemSeverity::High);
        item.dedup_key = Some(external_key(event));
        item.environment = Some(environment.clone());
        item.description = custom["description"].as_str().map(str::to_owned).unwrap_or_default();
        let comment = format!("{} reported it at {}.", event.source, time_of(event));
        self.store.open_or_bump_work_item(&item, &comment, &[NewWorkItemLink::environment(&environment)]).await?;
        Ok(())
    }
}

/// A branch's short name: `refs/heads/` taken off, spaces trimmed.
fn short_branch(name: &str) -> &str {
    let name = name.trim();
    name.strip_prefix("refs/heads/").unwrap_or(name)
}

/// The locations of `findings` (at most [`LOCATIONS_LISTED`]), one per line with the message.
fn locations(findings: &[&SecurityFinding]) -> String {
    let mut lines: Vec<String> = findings
        .iter()
        .take(LOCATIONS_LISTED)
        .map(|finding| {
            let place = finding.location.as_deref().unwrap_or("(no location)");
            format!("- {place}: {}", finding.message.lines().next().unwrap_or_default())
        })
        .collect();
    if findings.len() > LOCATIONS_LISTED {
        lines.push(format!("- and {} more", findings.len() - LOCATIONS_LISTED));
    }
    lines.join("\n")
}

/// The work item severity of the highest level among `findings`.
fn severity_of(findings: &[&SecurityFinding]) -> WorkItemSeverity {
    let reaches = |threshold: SecurityThreshold| findings.iter().any(|finding| threshold.reached_by(&finding.level));
    if reaches(SecurityThreshold::Critical) {
        WorkItemSeverity::Critical
    } else if reaches(SecurityThreshold::High) {
        WorkItemSeverity::High
    } else if reaches(SecurityThreshold::Medium) {
        WorkItemSeverity::Medium
    } else {
        WorkItemSeverity::Low
    }
}

/// The key of an incident pushed in from outside: its source and subject.
fn external_key(event: &StreamEvent) -> String {
    format!("incident:{}:{}", event.source, event.subject)
}

/// A deployment event's environment and service.
fn deployment_target(event: &StreamEvent) -> (String, String) {
    let content = &event.document["data"]["subject"]["content"];
    let environment = content["environment"]["id"].as_str().unwrap_or("production").to_owned();
    let service = event.subject.strip_prefix("services/").unwrap_or(&event.subject).to_owned();
    (environment, service)
}

fn time_of(event: &StreamEvent) -> String {
    event.document["time"].as_str().map_or_else(|| event.time.millis().to_string(), str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protected_branches_are_the_rules_patterns_or_the_default_branch() {
        let defaults = WorkItemRules::default();
        assert!(Automation::protected(Some("refs/heads/main"), &defaults, ""));
        assert!(!Automation::protected(Some("refs/heads/release/1.2"), &defaults, ""));
        let rules = WorkItemRules { branches: vec!["refs/heads/release/*".into(), "trunk".into()], ..defaults };
        assert!(Automation::protected(Some("refs/heads/release/1.2"), &rules, "main"));
        assert!(Automation::protected(Some("trunk"), &rules, "main"));
        assert!(!Automation::protected(Some("refs/heads/main"), &rules, "main"), "patterns replace the default branch");
        assert!(!Automation::protected(None, &rules, "main"));
    }

    #[test]
    fn security_bugs_list_places_and_take_the_highest_severity() {
        let finding = |level: &str, location: &str| SecurityFinding {
            rule: "aws-access-key-id".into(),
            level: level.into(),
            message: "AWS key AKIA****\nsecond line".into(),
            location: Some(location.into()),
        };
        let findings: Vec<SecurityFinding> =
            (0..22).map(|n| finding(if n == 3 { "critical" } else { "error" }, &format!("a.env:{n}"))).collect();
        let refs: Vec<&SecurityFinding> = findings.iter().collect();
        assert_eq!(severity_of(&refs), WorkItemSeverity::Critical);
        assert_eq!(severity_of(&refs[4..6]), WorkItemSeverity::High);
        let text = locations(&refs);
        assert!(text.starts_with("- a.env:0: AWS key AKIA****\n- a.env:1:"), "{text}");
        assert!(text.ends_with("- and 2 more"), "{text}");
        assert_eq!(text.lines().count(), 21);
    }

    #[test]
    fn default_branches_compare_without_refs_heads() {
        assert!(Automation::on_default_branch(Some("refs/heads/main"), "main"));
        assert!(Automation::on_default_branch(Some("main"), "refs/heads/main"));
        assert!(!Automation::on_default_branch(Some("refs/heads/feature"), "main"));
        assert!(!Automation::on_default_branch(None, "main"));
        assert!(Automation::on_default_branch(Some("refs/heads/master"), ""));
        assert!(!Automation::on_default_branch(Some("refs/heads/develop"), ""));
    }
}
