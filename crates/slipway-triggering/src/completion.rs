//! Pipeline completion triggers (`resources.pipelines` with `trigger`), from the store: a watcher
//! notices runs that complete, and each other pipeline whose pipeline file on its default branch
//! ("Default branch for manual and scheduled builds", as Azure evaluates them) has a trigger
//! matching the completed run (source name, branches, stages that succeeded, tags) gets a run.
//! When both pipelines use the same repository the new run builds the same branch and commit as
//! the completed one; otherwise the head of its default branch (Azure's "Branch considerations
//! for pipeline completion triggers"). Each completed run triggers each pipeline once, even when
//! seen twice (guarded in the store).
//!
//! A pipeline whose file is a GitHub Actions workflow runs by its `on.workflow_run` instead: the
//! completed run's pipeline named in `workflows` (by the pipeline's name), its branch passing the
//! branch filters, whatever its result, and no more than three levels down a chain of runs
//! started this way. As on GitHub, the run uses the default branch's file and head commit.
//!
//! The watcher never changes the engine: it remembers the newest run it has seen and the runs
//! still in progress, and on each pass looks at what is new and what completed meanwhile.

use std::collections::BTreeSet;

use slipway_events::{Event, TaskResult};
use slipway_store::{
    Pipeline, Run, RunFilter, RunId, RunStatus, StoreError, Timestamp, TriggerDetails, TriggerGuard, TriggerKind,
};
use slipway_triggers::PipelineCompletion;
use slipway_triggers::github::WorkflowRunEvent;

use crate::Triggering;
use crate::git;
use crate::load::Loaded;
use crate::{Decided, Outcome, blocking, mirror, start, triggers_fetching};
use slipway_engine::checkout::Revision;
use slipway_engine::launch::LaunchRequest;

/// Runs that completed this long before the watcher started are still looked at on its first
/// pass (they completed while the server restarted); the store's guard keeps that from
/// triggering twice.
const RESTART_LOOKBACK_MS: i64 = 10 * 60 * 1000;

/// A page of runs.
const PAGE: u32 = 200;

/// Remembers which runs it has seen, to notice those that complete.
#[derive(Debug)]
pub struct CompletionWatcher {
    started: Timestamp,
    newest: Option<RunId>,
    in_progress: BTreeSet<RunId>,
}

impl CompletionWatcher {
    /// A watcher started at `now` (the store's clock).
    #[must_use]
    pub fn new(now: Timestamp) -> Self {
        Self { started: now, newest: None, in_progress: BTreeSet::new() }
    }

    /// Looks for runs that completed since the last pass and handles each; what each gave.
    ///
    /// # Errors
    /// When the store cannot be read.
    pub async fn pass(&mut self, state: &Triggering) -> Result<Vec<Decided>, StoreError> {
        let store = state.store();
        let mut completed = Vec::new();
        // Runs created since the last pass (all of them on the first).
        let mut new_runs = Vec::new();
        let mut before = None;
        'pages: loop {
            let page = store.list_runs(&RunFilter { before, limit: PAGE, ..RunFilter::default() }).await?;
            for run in &page {
                if self.newest.is_some_and(|newest| run.id <= newest) {
                    break 'pages;
                }
                new_runs.push(run.clone());
            }
            match page.last() {
                Some(last) if page.len() == PAGE as usize => before = Some(last.id),
                _ => break,
            }
            if self.newest.is_none() {
                // The first pass needs only the runs in progress and the recently completed.
                let recent =
                    page.iter().any(|run| run.created_at.millis() >= self.started.millis() - RESTART_LOOKBACK_MS);
                if !recent {
                    break;
                }
            }
        }
        let first = self.newest.is_none();
        if let Some(newest) = new_runs.first().map(|run| run.id) {
            self.newest = Some(self.newest.map_or(newest, |known| known.max(newest)));
        } else if first {
            self.newest = Some(RunId(0));
        }
        for run in new_runs {
            if run.status == RunStatus::Completed {
                let recent =
                    run.finished_at.is_some_and(|at| at.millis() >= self.started.millis() - RESTART_LOOKBACK_MS);
                if !first || recent {
                    completed.push(run);
                }
            } else {
                self.in_progress.insert(run.id);
            }
        }
        // Runs in progress older than the first page, and any whose creation committed after a
        // newer one's (PostgreSQL hands out ids before commit).
        for status in [RunStatus::Queued, RunStatus::Running] {
            let filter = RunFilter { status: Some(status), limit: 1000, ..RunFilter::default() };
            self.in_progress.extend(store.list_runs(&filter).await?.into_iter().map(|run| run.id));
        }
        let mut forget = Vec::new();
        for &id in &self.in_progress {
            match store.run(id).await {
                Ok(run) if run.status == RunStatus::Completed => {
                    forget.push(id);
                    completed.push(run);
                }
                Ok(_) => {}
                Err(error) if error.is_not_found() => forget.push(id),
                Err(error) => return Err(error),
            }
        }
        for id in forget {
            self.in_progress.remove(&id);
        }
        let mut decided = Vec::new();
        for run in completed {
            decided.extend(on_completed(state, &run).await);
        }
        Ok(decided)
    }
}

/// The stages of a run that succeeded, from its events.
async fn succeeded_stages(state: &Triggering, run: RunId) -> Result<Vec<String>, StoreError> {
    let mut stages = Vec::new();
    let mut after = 0;
    loop {
        let events = state.store().read_events(run, after, 1000).await?;
        let Some(last) = events.last() else { break };
        after = last.sequence;
        for stored in &events {
            if let Ok(Event::StageFinished {
                stage,
                result: TaskResult::Succeeded | TaskResult::SucceededWithIssues,
                ..
            }) = stored.event()
            {
                stages.push(stage);
            }
        }
        if events.len() < 1000 {
            break;
        }
    }
    Ok(stages)
}

/// Starts the runs that a completed run triggers.
pub async fn on_completed(state: &Triggering, run: &Run) -> Vec<Decided> {
    if run.trigger == TriggerKind::Push {
        // A batched branch may be waiting for this run.
        state.triggers().poke();
    }
    let store = state.store();
    let Ok(source) = store.pipeline(run.pipeline).await else { return Vec::new() };
    let stages = match succeeded_stages(state, run.id).await {
        Ok(stages) => stages,
        Err(error) => return vec![decided(run, Outcome::error(error))],
    };
    let succeeded = matches!(run.result, Some(TaskResult::Succeeded | TaskResult::SucceededWithIssues));
    let Ok(pipelines) = store.list_pipelines().await else { return Vec::new() };
    let mut results = Vec::new();
    for pipeline in pipelines.iter().filter(|pipeline| pipeline.id != source.id) {
        if let Some(outcome) = trigger_pipeline(state, pipeline, &source, run, &stages, succeeded).await {
            results.push(Decided {
                subject: format!("{} after run {}", pipeline.name, run.id),
                commit: run.commit.clone(),
                outcome,
            });
        }
    }
    results
}

fn decided(run: &Run, outcome: Outcome) -> Decided {
    Decided { subject: format!("run {}", run.id), commit: run.commit.clone(), outcome }
}

/// The default branch of a pipeline as a ref: its setting, or its repository's `HEAD` (asked once).
pub(crate) async fn default_branch(state: &Triggering, pipeline: &Pipeline) -> Result<String, super::TriggerError> {
    let branch = pipeline.default_branch.trim();
    if branch.starts_with("refs/") {
        return Ok(branch.to_owned());
    }
    if !branch.is_empty() {
        return Ok(format!("refs/heads/{branch}"));
    }
    if let Some(known) = state.triggers().default_branch(pipeline.id) {
        return Ok(known);
    }
    let repository = pipeline.repository.clone();
    let remote = blocking(move || git::ls_remote(&repository)).await?;
    let head = remote.head.unwrap_or_else(|| "refs/heads/main".to_owned());
    state.triggers().remember_default_branch(pipeline.id, head.clone());
    Ok(head)
}

/// How deep a run is in a chain of runs started by completed runs: 0 for a run something else
/// started (GitHub refuses `workflow_run` past the third level).
async fn chain_depth(state: &Triggering, run: &Run) -> Result<usize, StoreError> {
    let mut depth = 0;
    let mut current = run.clone();
    while current.trigger == TriggerKind::PipelineCompletion
        && depth <= slipway_triggers::github::WORKFLOW_RUN_MAX_DEPTH
    {
        let Some(upstream) = current.upstream_run.or(current.trigger_details.source_run) else { break };
        depth += 1;
        match state.store().run(upstream).await {
            Ok(run) => current = run,
            Err(error) if error.is_not_found() => break,
            Err(error) => return Err(error),
        }
    }
    Ok(depth)
}

/// The commit a branch of a pipeline's repository points at now.
async fn remote_head(pipeline: &Pipeline, branch_ref: &str) -> Result<Option<String>, super::TriggerError> {
    let repository = pipeline.repository.clone();
    let remote = blocking(move || git::ls_remote(&repository)).await?;
    Ok(remote.refs.get(branch_ref).cloned())
}

/// Decides whether `pipeline` runs after `run` of `source` completed; `None` when it has no
/// trigger for it. The pipeline file is read at the default branch's head last seen (without
/// the network); only a pipeline that runs asks its repository for the newest head.
async fn trigger_pipeline(
    state: &Triggering,
    pipeline: &Pipeline,
    source: &Pipeline,
    run: &Run,
    stages: &[String],
    succeeded: bool,
) -> Option<Outcome> {
    let _lock = state.triggers().lock(pipeline.id).await;
    let found = async {
        let branch_ref = default_branch(state, pipeline).await?;
        let known = state.store().branch_heads(pipeline.id).await?;
        let head = match known.into_iter().find(|head| head.branch == branch_ref) {
            Some(head) => Some(head.commit),
            None => remote_head(pipeline, &branch_ref).await?,
        };
        let Some(head) = head else { return Ok(None) };
        let mirror = mirror(state, pipeline.id).await?;
        let loaded = triggers_fetching(state, pipeline, &mirror, &branch_ref, &head).await?;
        Ok::<_, super::TriggerError>(Some((branch_ref, loaded)))
    };
    let (branch_ref, loaded) = match found.await {
        Ok(Some(found)) => found,
        Ok(None) => return None,
        Err(error) => return Some(Outcome::error(error)),
    };
    let source_branch = run.branch.clone().unwrap_or_default();
    let (alias, is_workflow) = match loaded {
        Loaded::Triggers(triggers) => {
            let trigger = triggers.pipelines.iter().find(|trigger| {
                // Every pipeline of this server is in one project: a `project` names it.
                trigger.matches(&PipelineCompletion {
                    pipeline: &source.name,
                    project: trigger.project.as_deref(),
                    branch: &source_branch,
                    tags: &[],
                    completed_stages: stages,
                    succeeded,
                })
            })?;
            (trigger.alias.clone(), false)
        }
        Loaded::Workflow(workflow) => {
            workflow.workflow_run.as_ref()?;
            let depth = match chain_depth(state, run).await {
                Ok(depth) => depth,
                Err(error) => return Some(Outcome::error(error)),
            };
            let completion = PipelineCompletion {
                pipeline: &source.name,
                project: None,
                branch: &source_branch,
                tags: &[],
                completed_stages: stages,
                succeeded,
            };
            if !workflow.on_workflow_run(&WorkflowRunEvent::completed(&completion, depth)) {
                return None;
            }
            (source.name.clone(), true)
        }
        Loaded::NoFile | Loaded::Invalid(_) => return None,
    };
    let same_repository = pipeline.repository == source.repository && !is_workflow;
    let (git_ref, commit) = match (&run.branch, &run.commit) {
        (Some(branch), Some(commit)) if same_repository => (branch.clone(), commit.clone()),
        _ => match remote_head(pipeline, &branch_ref).await {
            Ok(Some(head)) => (branch_ref.clone(), head),
            Ok(None) => return Some(Outcome::skipped(format!("the repository has no {branch_ref}"))),
            Err(error) => return Some(Outcome::error(error)),
        },
    };
    let prefix = format!("resources.pipeline.{alias}");
    let mut variables = std::collections::BTreeMap::new();
    for (name, value) in [
        ("Build.Reason".to_owned(), "ResourceTrigger".to_owned()),
        ("resources.triggeringAlias".to_owned(), alias.clone()),
        ("resources.triggeringCategory".to_owned(), "pipeline".to_owned()),
        ("Build.TriggeredBy.BuildId".to_owned(), run.id.get().to_string()),
        ("Build.TriggeredBy.BuildNumber".to_owned(), run.run_number.clone()),
        ("Build.TriggeredBy.DefinitionId".to_owned(), source.id.get().to_string()),
        ("Build.TriggeredBy.DefinitionName".to_owned(), source.name.clone()),
        (format!("{prefix}.pipelineName"), source.name.clone()),
        (format!("{prefix}.pipelineID"), source.id.get().to_string()),
        (format!("{prefix}.runName"), run.run_number.clone()),
        (format!("{prefix}.runID"), run.id.get().to_string()),
        (format!("{prefix}.sourceBranch"), source_branch.clone()),
        (format!("{prefix}.sourceCommit"), run.commit.clone().unwrap_or_default()),
        (format!("{prefix}.sourceProvider"), "Git".to_owned()),
        (format!("{prefix}.requestedFor"), run.requested_by.clone().unwrap_or_default()),
    ] {
        variables.insert(name, value);
    }
    let details = TriggerDetails {
        reason: Some("ResourceTrigger".to_owned()),
        alias: Some(alias.clone()),
        source_pipeline: Some(source.name.clone()),
        source_run: Some(run.id),
        source_run_number: Some(run.run_number.clone()),
        source_branch: Some(source_branch.clone()),
        source_commit: run.commit.clone(),
        variables,
        ..TriggerDetails::default()
    };
    let mut request = LaunchRequest::new(
        pipeline.clone(),
        Revision::Commit { git_ref: git_ref.clone(), commit: commit.clone() },
        TriggerKind::PipelineCompletion,
        details,
    );
    request.requested_by.clone_from(&run.requested_by);
    request.upstream_run = Some(run.id);
    request.guard = Some(TriggerGuard::ScheduleFire {
        schedule: format!("pipeline-completion:{}", run.id.get()),
        fire_time: Timestamp(0),
    });
    Some(start(state, request, &git_ref, &commit).await)
}
