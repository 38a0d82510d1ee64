//! CI triggers from pushes: polling each pipeline's repository with `git ls-remote`, and the push
//! decision that webhooks share.
//!
//! The store keeps, per pipeline, the commit last seen on each branch and tag. A ref whose commit
//! differs is a push: its changed paths are the diff between the stored commit and the new one
//! (for a new branch, the files its own commits change, so that a branch made without commits
//! triggers a pipeline with path filters not at all and one without them always, as Azure's
//! "Behavior of triggers when new branches are created" says), and the pipeline file at the
//! pushed commit decides. A started run moves the stored commit in the same transaction (the
//! guard); a skipped push moves it too; a batched push (`batch: true` with a run of the branch in
//! progress) leaves it, so that when the run completes the next poll starts one run of the newest
//! commit with the changes of every push since.
//!
//! A pipeline file that is a GitHub Actions workflow is decided by its `on.push` with GitHub's
//! rules (branches and tags by short name, a ref kind without filters skipped when the other has
//! them, paths only for branches, `[skip ci]`, more than 1,000 commits passing the path filters);
//! GitHub has no `batch`.

use std::panic::AssertUnwindSafe;

use futures_util::FutureExt as _;
use serde_json::json;
use slipway_store::{Pipeline, QueueStatus, TriggerDetails, TriggerGuard, TriggerKind};
use slipway_triggers::github::WorkflowPush;
use slipway_triggers::{CiTrigger, GitRef, Push, PushDecision};

use crate::Triggering;
use crate::git::{self, Mirror};
use crate::load::Loaded;
use crate::{
    Decided, Outcome, TriggerError, audit, blocking, fetch_unless_present, mirror, run_in_progress, start, triggers_at,
};
use slipway_engine::checkout::Revision;
use slipway_engine::launch::LaunchRequest;

/// Where a push was seen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// By polling.
    Poll,
    /// By a webhook of this provider (`github`, `gitlab`, ...).
    Webhook(String),
}

impl Source {
    fn name(&self) -> String {
        match self {
            Self::Poll => "poll".to_owned(),
            Self::Webhook(provider) => format!("webhook:{provider}"),
        }
    }
}

/// A ref that moved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MovedRef {
    /// The full ref (`refs/heads/main`, `refs/tags/v1`).
    pub git_ref: String,
    /// The commit it pointed at when last seen; `None` for a new ref.
    pub old: Option<String>,
    /// The commit it points at now.
    pub new: String,
    /// Who pushed, when known (webhooks say).
    pub pusher: Option<String>,
    /// Where it was seen.
    pub source: Source,
}

/// Records the current commit of every branch and tag of a new pipeline's repository, as its
/// creation listed them, so that only later pushes trigger it. Best effort: what is not recorded
/// here, the first poll records.
pub async fn record_initial_heads(state: &Triggering, pipeline: &Pipeline, remote: &git::RemoteRefs) {
    let _lock = state.triggers().lock(pipeline.id).await;
    for (git_ref, commit) in &remote.refs {
        if let Err(error) = state.store().set_branch_head(pipeline.id, git_ref, commit).await {
            tracing::warn!(pipeline = %pipeline.name, %error, "the first heads of a new pipeline were not recorded");
            return;
        }
    }
}

/// Polls every enabled pipeline once; what each moved ref gave, by pipeline name. What went
/// wrong is recorded on the pipeline ([`slipway_store::Store::record_trigger_check`]) and tried
/// again next time: a repository that cannot be reached, a pipeline file that cannot be loaded,
/// even a panic (a bug) while polling one pipeline, which never stops the others.
pub async fn poll_all(state: &Triggering) -> Vec<(String, Result<Vec<Decided>, TriggerError>)> {
    let pipelines = match state.store().list_pipelines().await {
        Ok(pipelines) => pipelines,
        Err(error) => {
            tracing::warn!(%error, "polling: the pipelines could not be listed");
            return Vec::new();
        }
    };
    let mut results = Vec::new();
    for pipeline in pipelines.into_iter().filter(|pipeline| pipeline.queue_status == QueueStatus::Enabled) {
        let polled = AssertUnwindSafe(poll_pipeline(state, &pipeline)).catch_unwind().await;
        let result = polled.unwrap_or_else(|panic| {
            let message = panic
                .downcast_ref::<&str>()
                .map(|text| (*text).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic".to_owned());
            Err(TriggerError::Join(format!("polling failed inside Slipway ({message}); this is a bug")))
        });
        let problem = match &result {
            Err(error) => Some(error.to_string()),
            Ok(decided) => decided.iter().find_map(|decided| match &decided.outcome {
                Outcome::Failed { reason, .. } | Outcome::Error { reason } => {
                    Some(format!("{}: {reason}", decided.subject))
                }
                _ => None,
            }),
        };
        if let Some(problem) = &problem {
            tracing::warn!(pipeline = %pipeline.name, %problem, "polling found a problem");
        }
        if let Err(error) = state.store().record_trigger_check(pipeline.id, problem.as_deref()).await {
            tracing::warn!(pipeline = %pipeline.name, %error, "the result of a poll was not recorded");
        }
        results.push((pipeline.name.clone(), result));
    }
    results
}

/// Polls one pipeline's repository and decides every ref that moved since it was last seen.
///
/// # Errors
/// When the repository cannot be listed or fetched, or the store fails.
pub async fn poll_pipeline(state: &Triggering, pipeline: &Pipeline) -> Result<Vec<Decided>, TriggerError> {
    let _lock = state.triggers().lock(pipeline.id).await;
    let repository = pipeline.repository.clone();
    let remote = blocking(move || git::ls_remote(&repository)).await?;
    let stored: std::collections::HashMap<String, String> =
        state.store().branch_heads(pipeline.id).await?.into_iter().map(|head| (head.branch, head.commit)).collect();
    if stored.is_empty() {
        // Never seen (the repository was unreachable when the pipeline was created): what is
        // there now is the starting point.
        for (git_ref, commit) in &remote.refs {
            state.store().set_branch_head(pipeline.id, git_ref, commit).await?;
        }
        return Ok(Vec::new());
    }
    let moved: Vec<MovedRef> = remote
        .refs
        .iter()
        .filter(|(git_ref, commit)| stored.get(*git_ref) != Some(*commit))
        .map(|(git_ref, commit)| MovedRef {
            git_ref: git_ref.clone(),
            old: stored.get(git_ref).cloned(),
            new: commit.clone(),
            pusher: None,
            source: Source::Poll,
        })
        .collect();
    if moved.is_empty() {
        return Ok(Vec::new());
    }
    let mirror = mirror(state, pipeline.id).await?;
    let (fetching, repository) = (mirror.clone(), pipeline.repository.clone());
    blocking(move || fetching.fetch(&repository)).await?;
    let mut decided = Vec::new();
    for moved in moved {
        let outcome = decide_push(state, pipeline, &mirror, &moved).await;
        decided.push(Decided { subject: moved.git_ref.clone(), commit: Some(moved.new.clone()), outcome });
    }
    Ok(decided)
}

/// Decides a push delivered by a webhook: the same decision as polling, from the commit last seen
/// on the ref to the pushed one.
pub async fn webhook_push(
    state: &Triggering,
    pipeline: &Pipeline,
    git_ref: &GitRef,
    after: Option<&str>,
    pusher: Option<&str>,
    provider: &str,
) -> Decided {
    let subject = git_ref.full_name();
    let Some(after) = after else {
        return Decided { subject, commit: None, outcome: Outcome::skipped(slipway_triggers::SkipReason::RefDeleted) };
    };
    let commit = Some(after.to_owned());
    if !git::is_commit_id(after) {
        return Decided { subject, commit, outcome: Outcome::skipped(format!("'{after}' is not a commit id")) };
    }
    let _lock = state.triggers().lock(pipeline.id).await;
    let stored = match state.store().branch_heads(pipeline.id).await {
        Ok(heads) => heads.into_iter().find(|head| head.branch == subject).map(|head| head.commit),
        Err(error) => return Decided { subject, commit, outcome: Outcome::error(error) },
    };
    if stored.as_deref() == Some(after) {
        return Decided { subject, commit, outcome: Outcome::AlreadyHandled };
    }
    let mirror = match mirror(state, pipeline.id).await {
        Ok(mirror) => mirror,
        Err(error) => return Decided { subject, commit, outcome: Outcome::error(error) },
    };
    if let Err(error) = fetch_unless_present(&mirror, &pipeline.repository, vec![after.to_owned()]).await {
        return Decided { subject, commit, outcome: Outcome::error(error) };
    }
    let moved = MovedRef {
        git_ref: subject.clone(),
        old: stored,
        new: after.to_owned(),
        pusher: pusher.map(str::to_owned),
        source: Source::Webhook(provider.to_owned()),
    };
    let outcome = decide_push(state, pipeline, &mirror, &moved).await;
    Decided { subject, commit, outcome }
}

/// The triggers a pushed commit's pipeline file has.
enum Definition {
    /// An Azure pipeline's.
    Azure(Box<slipway_triggers::PipelineTriggers>),
    /// A GitHub Actions workflow's.
    Workflow(Box<slipway_triggers::WorkflowTriggers>),
}

/// Decides one moved ref (the pipeline's lock is held and the mirror has the new commit).
async fn decide_push(state: &Triggering, pipeline: &Pipeline, mirror: &Mirror, moved: &MovedRef) -> Outcome {
    let store = state.store();
    let git_ref = GitRef::parse(&moved.git_ref);
    let advance = || async {
        match store.set_branch_head(pipeline.id, &moved.git_ref, &moved.new).await {
            Ok(()) => None,
            Err(error) => Some(Outcome::error(error)),
        }
    };
    if let GitRef::Other(_) = git_ref {
        return Outcome::skipped(format!("`{}` is neither a branch nor a tag", moved.git_ref));
    }
    if !mirror.has_commit(&moved.new) {
        return Outcome::error(format!("commit {} is not in the repository", moved.new));
    }
    let loaded = triggers_at(state, pipeline, mirror, &moved.git_ref, &moved.new).await;
    let request_for = |reason: &str| {
        let mut request = LaunchRequest::new(
            pipeline.clone(),
            Revision::Commit { git_ref: moved.git_ref.clone(), commit: moved.new.clone() },
            TriggerKind::Push,
            TriggerDetails {
                git_ref: Some(moved.git_ref.clone()),
                before: moved.old.clone(),
                commit: Some(moved.new.clone()),
                source: Some(moved.source.name()),
                ..TriggerDetails::reason(reason)
            },
        );
        request.requested_by.clone_from(&moved.pusher);
        request.guard = Some(TriggerGuard::BranchHead {
            branch: moved.git_ref.clone(),
            previous: moved.old.clone(),
            commit: moved.new.clone(),
        });
        request
    };
    let definition = match loaded {
        Loaded::Triggers(triggers) => Definition::Azure(triggers),
        Loaded::Workflow(workflow) => Definition::Workflow(workflow),
        Loaded::NoFile => {
            if let Some(error) = advance().await {
                return error;
            }
            return Outcome::skipped(format!("the commit has no {}", pipeline.yaml_path));
        }
        Loaded::Invalid(reason) => {
            // A run records the problem where people look; the guard moves the ref on.
            let request = request_for("IndividualCI");
            return match slipway_engine::launch::record_failed_run(state, &request, &moved.git_ref, &moved.new, &reason)
                .await
            {
                Ok(Some(run)) => Outcome::Failed { run: run.id, reason },
                Ok(None) => Outcome::AlreadyHandled,
                Err(error) => Outcome::error(error),
            };
        }
    };
    let (mirror_for_paths, old, new, branch_ref) =
        (mirror.clone(), moved.old.clone(), moved.new.clone(), moved.git_ref.clone());
    let is_tag = matches!(git_ref, GitRef::Tag(_));
    let count = matches!(definition, Definition::Workflow(_)) && !is_tag;
    let found = blocking(move || {
        let info = mirror_for_paths.commit_info(&new)?;
        let old = old.filter(|old| mirror_for_paths.has_commit(old));
        let paths = match &old {
            // Path filters do not apply to tags.
            _ if is_tag => Vec::new(),
            Some(old) => mirror_for_paths.changed_paths(old, &new)?,
            None => mirror_for_paths.new_branch_paths(&new, &branch_ref)?,
        };
        // GitHub's "more than 1,000 commits" rule needs the count: one `git rev-list --count` in
        // the mirror, cheap. A new branch counts none (its paths are its own commits' already).
        let commits = match &old {
            Some(old) if count => Some(mirror_for_paths.count_commits(old, &new)?),
            _ => None,
        };
        Ok((paths, info.message, commits))
    })
    .await;
    let (paths, message, commits) = match found {
        Ok(found) => found,
        Err(error) => return Outcome::error(error),
    };
    let mut batch = false;
    let decision = match &definition {
        Definition::Workflow(workflow) => workflow.on_push(&WorkflowPush {
            git_ref: &git_ref,
            changed_paths: Some(&paths),
            deleted: false,
            head_commit_message: Some(&message),
            commits,
        }),
        Definition::Azure(triggers) => {
            batch = matches!(&triggers.ci, CiTrigger::Enabled(filters) if filters.batch);
            let in_progress = if batch {
                match run_in_progress(state, pipeline.id, TriggerKind::Push, Some(&moved.git_ref), |_| true).await {
                    Ok(runs) => !runs.is_empty(),
                    Err(error) => return Outcome::error(error),
                }
            } else {
                false
            };
            triggers.ci.evaluate(&Push {
                git_ref: &git_ref,
                changed_paths: &paths,
                deleted: false,
                head_commit_message: Some(&message),
                run_in_progress: in_progress,
            })
        }
    };
    match decision {
        PushDecision::Start => {
            let reason = if batch { "BatchedCI" } else { "IndividualCI" };
            start(state, request_for(reason), &moved.git_ref, &moved.new).await
        }
        PushDecision::Batch => Outcome::Batched,
        PushDecision::Skip(reason) => {
            if let Some(error) = advance().await {
                return error;
            }
            if moved.source != Source::Poll {
                audit(
                    state,
                    pipeline,
                    "trigger.skipped",
                    json!({ "ref": moved.git_ref, "commit": moved.new, "reason": reason.to_string() }),
                )
                .await;
            }
            Outcome::skipped(reason)
        }
    }
}
