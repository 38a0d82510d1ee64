//! PR triggers, from webhooks: a pull request opened, reopened or given new commits is decided by
//! the `pr` section of the pipeline file of its source commit (Azure: "the version of the
//! pipeline in the source branch for the pull request is used"), with the paths it changes
//! against where it left its target branch. A run checks out the source merged into the target
//! (`refs/pull/N/merge`); with `autoCancel` (the default), new commits cancel the runs of the
//! same pull request still in progress.
//!
//! A pipeline whose file is a GitHub Actions workflow is decided by its `on.pull_request` instead
//! (activity `types`, which may name `closed` or `labeled`; base branch filters; paths of the
//! three-dot diff; `[skip ci]` in the head commit's message), read from the source commit's
//! file; and by its `on.pull_request_target` ([`decide_target`]), read from the default branch's
//! file, whose run builds the default branch's head without merging the pull request.

use slipway_store::{Pipeline, PullRequestDetails, Timestamp, TriggerDetails, TriggerGuard, TriggerKind};
use slipway_triggers::github::{PullRequestEventKind, WorkflowPullRequest, activity_type};
use slipway_triggers::{PrDecision, PrTrigger, Provider, PullRequestAction, PullRequestEvent};

use slipway_engine::LogFailure as _;

use crate::Triggering;
use crate::load::Loaded;
use crate::{Decided, Outcome, blocking, mirror, run_in_progress, start, triggers_at};
use slipway_engine::checkout::Revision;
use slipway_engine::launch::LaunchRequest;

/// The refs a provider keeps a pull request's source commit under, in the target repository.
fn source_refs(event: &PullRequestEvent) -> Vec<String> {
    let number = event.number;
    let mut refs = match event.provider {
        Provider::GitHub | Provider::Gitea => vec![format!("refs/pull/{number}/head")],
        Provider::GitLab => vec![format!("refs/merge-requests/{number}/head")],
        Provider::AzureRepos => Vec::new(),
    };
    refs.push(format!("refs/heads/{}", event.source_branch));
    refs
}

/// The subject of a pull request's outcome.
fn subject(event: &PullRequestEvent) -> String {
    format!("pull request {} ({} into {})", event.number, event.source_branch, event.target_branch)
}

/// Decides a pull request event for `pipeline`.
pub(crate) async fn decide(state: &Triggering, pipeline: &Pipeline, event: &PullRequestEvent) -> Decided {
    let commit = event.head_commit.clone();
    let decided = |outcome| Decided { subject: subject(event), commit: commit.clone(), outcome };
    // Events that never build are answered without reading the repository (a workflow's `types`
    // may name any activity).
    let workflow_path = slipway_github::looks_like_workflow(&pipeline.yaml_path, "");
    if !workflow_path
        && matches!(
            event.action,
            PullRequestAction::Closed { .. }
                | PullRequestAction::Edited
                | PullRequestAction::ConvertedToDraft
                | PullRequestAction::Other(_)
        )
        && let PrDecision::Skip(reason) = PrTrigger::default().evaluate(&event.trigger_input(&[]))
    {
        return decided(Outcome::skipped(reason));
    }
    let Some(head) = event.head_commit.clone().filter(|head| super::git::is_commit_id(head)) else {
        return decided(Outcome::skipped("the event does not name the pull request's source commit"));
    };
    if slipway_engine::checkout::check_branch(&event.target_branch).is_err()
        || slipway_engine::checkout::check_branch(&event.source_branch).is_err()
    {
        return decided(Outcome::skipped("the pull request's branch names are not acceptable"));
    }
    let _lock = state.triggers().lock(pipeline.id).await;
    let mirror = match mirror(state, pipeline.id).await {
        Ok(mirror) => mirror,
        Err(error) => return decided(Outcome::error(error)),
    };
    let target_ref = format!("refs/heads/{}", event.target_branch);
    let refs = source_refs(event);
    let found = {
        let (mirror, repository, refs, head, target_ref, number) =
            (mirror.clone(), pipeline.repository.clone(), refs.clone(), head.clone(), target_ref.clone(), event.number);
        blocking(move || {
            mirror.fetch(&repository)?;
            let local = format!("refs/slipway/pull/{number}");
            for remote in &refs {
                if mirror.has_commit(&head) {
                    break;
                }
                let _ = mirror.fetch_ref(&repository, remote, &local);
            }
            if !mirror.has_commit(&head) {
                return Err(super::git::GitError {
                    action: "fetch",
                    detail: format!("the source commit {head} is not in the repository"),
                });
            }
            let message = mirror.commit_info(&head)?.message;
            // A target the repository lacks changes nothing; the branch filters may still skip it.
            let paths = match mirror.resolve(&target_ref) {
                Some(target) => Some(mirror.pull_request_paths(&target, &head)?),
                None => None,
            };
            Ok((paths, message))
        })
        .await
    };
    let (paths, head_message) = match found {
        Ok(found) => found,
        Err(error) => return decided(Outcome::error(error)),
    };
    let source_ref = format!("refs/heads/{}", event.source_branch);
    let input = event.trigger_input(paths.as_deref().unwrap_or_default());
    let decision = match triggers_at(state, pipeline, &mirror, &source_ref, &head).await {
        Loaded::Triggers(triggers) => triggers.pr.evaluate(&input),
        Loaded::Workflow(workflow) => workflow.on_pull_request(
            PullRequestEventKind::PullRequest,
            &WorkflowPullRequest::from_pull_request(&input, Some(&head_message)),
        ),
        Loaded::NoFile => return decided(Outcome::skipped(format!("the source commit has no {}", pipeline.yaml_path))),
        Loaded::Invalid(reason) => {
            return decided(Outcome::skipped(format!("the pipeline file of the source commit is not valid: {reason}")));
        }
    };
    let cancel_in_progress = match decision {
        PrDecision::Start { .. } if paths.is_none() => {
            return decided(Outcome::skipped(format!("the repository has no {target_ref} to merge into")));
        }
        PrDecision::Start { cancel_in_progress } => cancel_in_progress,
        PrDecision::Skip(reason) => return decided(Outcome::skipped(reason)),
    };
    let number = event.number;
    // Earlier commits of the same pull request (not this one: a delivery may come twice).
    let earlier_commit = |run: &slipway_store::Run| {
        run.trigger_details
            .pull_request
            .as_ref()
            .is_some_and(|pull_request| pull_request.number == number && pull_request.source_commit != head)
    };
    if cancel_in_progress {
        match run_in_progress(state, pipeline.id, TriggerKind::PullRequest, None, earlier_commit).await {
            Ok(runs) => {
                for run in runs {
                    state.store().request_cancel(run.id).await.log_failure("cancelling a pull request's earlier run");
                }
                state.wake();
            }
            Err(error) => return decided(Outcome::error(error)),
        }
    }
    let merge_ref = format!("refs/pull/{number}/merge");
    let is_fork = event.source_repository.as_ref().is_some_and(|source| source.full_name != event.repository.full_name);
    let yes_no = |value: bool| if value { "True" } else { "False" };
    let source_uri = event.source_repository.as_ref().unwrap_or(&event.repository).clone_urls.first().cloned();
    let variables = [
        ("Build.Reason", "PullRequest".to_owned()),
        ("System.PullRequest.PullRequestId", number.to_string()),
        ("System.PullRequest.PullRequestNumber", number.to_string()),
        ("System.PullRequest.SourceBranch", source_ref.clone()),
        ("System.PullRequest.TargetBranch", target_ref.clone()),
        ("System.PullRequest.TargetBranchName", event.target_branch.clone()),
        ("System.PullRequest.SourceCommitId", head.clone()),
        ("System.PullRequest.SourceRepositoryURI", source_uri.unwrap_or_default()),
        ("System.PullRequest.IsFork", yes_no(is_fork).to_owned()),
        ("System.PullRequest.isDraft", yes_no(event.draft).to_owned()),
    ];
    let details = TriggerDetails {
        reason: Some("PullRequest".to_owned()),
        pull_request: Some(PullRequestDetails {
            number,
            provider: event.provider.to_string(),
            action: event.action.to_string(),
            title: event.title.clone(),
            source_branch: source_ref.clone(),
            target_branch: target_ref.clone(),
            source_commit: head.clone(),
            is_fork,
            draft: event.draft,
        }),
        variables: variables.into_iter().map(|(name, value)| (name.to_owned(), value)).collect(),
        ..TriggerDetails::default()
    };
    let mut request = LaunchRequest::new(
        pipeline.clone(),
        Revision::Merge {
            target_branch: event.target_branch.clone(),
            source_refs: refs,
            source_commit: head.clone(),
            merge_ref: merge_ref.clone(),
            message: format!("Merge pull request {number} from {} into {}", event.source_branch, event.target_branch),
        },
        TriggerKind::PullRequest,
        details,
    );
    // A delivery sent again (providers retry) starts nothing more.
    request.guard = Some(TriggerGuard::ScheduleFire {
        schedule: format!("pull-request:{number}:{head}:{}", event.action),
        fire_time: Timestamp(0),
    });
    decided(start(state, request, &merge_ref, &head).await)
}

/// Decides `pull_request_target` for a pipeline whose file is a GitHub Actions workflow: the
/// default branch's file decides (types, base branch filters, paths; no skip markers), and a run
/// builds the default branch's head, so the pull request's code is not run unless the workflow
/// checks it out itself. `None` when the pipeline is not a workflow or the default branch's file
/// has no `pull_request_target`.
pub(crate) async fn decide_target(
    state: &Triggering,
    pipeline: &Pipeline,
    event: &PullRequestEvent,
) -> Option<Decided> {
    if !slipway_github::looks_like_workflow(&pipeline.yaml_path, "") {
        return None;
    }
    let subject = format!("{} [pull_request_target]", subject(event));
    let commit = event.head_commit.clone();
    let decided = |outcome| Some(Decided { subject: subject.clone(), commit: commit.clone(), outcome });
    let default_ref = match crate::completion::default_branch(state, pipeline).await {
        Ok(default_ref) => default_ref,
        Err(error) => return decided(Outcome::error(error)),
    };
    let _lock = state.triggers().lock(pipeline.id).await;
    let mirror = match mirror(state, pipeline.id).await {
        Ok(mirror) => mirror,
        Err(error) => return decided(Outcome::error(error)),
    };
    let target_ref = format!("refs/heads/{}", event.target_branch);
    let found = {
        let (mirror, repository, refs, head, default_ref, target_ref, number) = (
            mirror.clone(),
            pipeline.repository.clone(),
            source_refs(event),
            event.head_commit.clone().filter(|head| super::git::is_commit_id(head)),
            default_ref.clone(),
            target_ref.clone(),
            event.number,
        );
        blocking(move || {
            mirror.fetch(&repository)?;
            let default_head = mirror.resolve(&default_ref);
            // The paths need the source commit; without it the diff is unknown (and passes).
            let paths = head.and_then(|head| {
                let local = format!("refs/slipway/pull/{number}");
                for remote in &refs {
                    if mirror.has_commit(&head) {
                        break;
                    }
                    let _ = mirror.fetch_ref(&repository, remote, &local);
                }
                let target = mirror.resolve(&target_ref)?;
                mirror.pull_request_paths(&target, &head).ok()
            });
            Ok((default_head, paths))
        })
        .await
    };
    let (default_head, paths) = match found {
        Ok(found) => found,
        Err(error) => return decided(Outcome::error(error)),
    };
    let Some(default_head) = default_head else {
        return decided(Outcome::skipped(format!("the repository has no {default_ref}")));
    };
    let Loaded::Workflow(workflow) = triggers_at(state, pipeline, &mirror, &default_ref, &default_head).await else {
        return None;
    };
    workflow.pull_request_target.as_ref()?;
    let pull_request = WorkflowPullRequest {
        action: &event.action,
        base_branch: &event.target_branch,
        changed_paths: paths.as_deref(),
        head_commit_message: None,
        merge_conflict: false,
    };
    if let PrDecision::Skip(reason) = workflow.on_pull_request(PullRequestEventKind::PullRequestTarget, &pull_request) {
        return decided(Outcome::skipped(reason));
    }
    let number = event.number;
    let source_ref = format!("refs/heads/{}", event.source_branch);
    let head = event.head_commit.clone().unwrap_or_default();
    let is_fork = event.source_repository.as_ref().is_some_and(|source| source.full_name != event.repository.full_name);
    let details = TriggerDetails {
        reason: Some("PullRequest".to_owned()),
        pull_request: Some(PullRequestDetails {
            number,
            provider: event.provider.to_string(),
            action: activity_type(&event.action),
            title: event.title.clone(),
            source_branch: source_ref,
            target_branch: target_ref,
            source_commit: head.clone(),
            is_fork,
            draft: event.draft,
        }),
        ..TriggerDetails::default()
    };
    let mut request = LaunchRequest::new(
        pipeline.clone(),
        Revision::Commit { git_ref: default_ref.clone(), commit: default_head.clone() },
        TriggerKind::PullRequest,
        details,
    );
    request.guard = Some(TriggerGuard::ScheduleFire {
        schedule: format!("pull-request-target:{number}:{head}:{}", event.action),
        fire_time: Timestamp(0),
    });
    decided(start(state, request, &default_ref, &default_head).await)
}
