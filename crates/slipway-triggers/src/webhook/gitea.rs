//! Gitea and Forgejo `push` and `pull_request` deliveries (the payloads follow GitHub's shape;
//! the pull request actions are Gitea's: `synchronized`, `label_updated`, `reviewed`...).

use super::github::{commit_paths, repository};
use super::json::{Field, root};
use super::{Headers, Provider, PullRequestEvent, PushEvent, WebhookError, WebhookEvent, commit_id, sorted_paths};
use crate::filter::GitRef;
use crate::triggers::PullRequestAction;

pub(super) fn parse(headers: &Headers, body: &[u8]) -> Result<WebhookEvent, WebhookError> {
    let event = match headers.get("X-Forgejo-Event")? {
        Some(event) => event,
        None => headers.get("X-Gitea-Event")?.ok_or(WebhookError::MissingHeader { header: "X-Gitea-Event" })?,
    };
    match event {
        "push" => {
            let value = root("Gitea push", body)?;
            push(&Field::root("Gitea push", &value)).map(|push| WebhookEvent::Push(vec![push]))
        }
        "pull_request" => {
            let value = root("Gitea pull_request", body)?;
            pull_request(&Field::root("Gitea pull_request", &value)).map(|pr| WebhookEvent::PullRequest(Box::new(pr)))
        }
        other => Ok(WebhookEvent::Ignored { event: other.to_owned() }),
    }
}

fn push(payload: &Field<'_>) -> Result<PushEvent, WebhookError> {
    let before = commit_id(payload.get("before").opt_str()?);
    let after = commit_id(payload.get("after").opt_str()?);
    let commits = payload.get("commits").opt_array()?;
    let listed_all = payload
        .get("total_commits")
        .opt_u64()?
        .is_none_or(|total| usize::try_from(total).is_ok_and(|total| total == commits.len()));
    let pusher = payload.get("pusher");
    let pusher = match pusher.get("login").opt_str()? {
        Some(login) => Some(login),
        None => pusher.get("username").opt_str()?,
    };
    Ok(PushEvent {
        provider: Provider::Gitea,
        repository: repository(&payload.get("repository"))?,
        git_ref: GitRef::parse(payload.get("ref").str()?),
        paths_complete: before.is_some() && after.is_some() && listed_all,
        before,
        after,
        changed_paths: sorted_paths(commit_paths(&commits)?),
        head_commit_message: payload.get("head_commit").get("message").opt_str()?.map(str::to_owned),
        pusher: pusher.map(str::to_owned),
    })
}

/// Gitea's default `WORK_IN_PROGRESS_PREFIXES`, for versions whose payload has no `draft`.
fn work_in_progress(title: &str) -> bool {
    let lower = title.trim_start().to_lowercase();
    lower.starts_with("wip:") || lower.starts_with("[wip]")
}

fn pull_request(payload: &Field<'_>) -> Result<PullRequestEvent, WebhookError> {
    let pr = payload.get("pull_request");
    let merged = pr.get("merged").opt_bool()?.unwrap_or(false);
    let action = match payload.get("action").str()? {
        "opened" => PullRequestAction::Opened,
        "synchronized" => PullRequestAction::Synchronize,
        "reopened" => PullRequestAction::Reopened,
        "closed" => PullRequestAction::Closed { merged },
        "edited" => PullRequestAction::Edited,
        other => PullRequestAction::Other(other.to_owned()),
    };
    let title = pr.get("title").opt_str()?;
    let draft = match pr.get("draft").opt_bool()? {
        Some(draft) => draft,
        None => title.is_some_and(work_in_progress),
    };
    let number = match payload.get("number").opt_u64()? {
        Some(number) => number,
        None => pr.get("number").u64()?,
    };
    let repository = repository(&payload.get("repository"))?;
    let head_repo = pr.get("head").get("repo");
    let source_repository = if head_repo.exists() {
        Some(super::github::repository(&head_repo)?).filter(|source| source.full_name != repository.full_name)
    } else {
        None
    };
    Ok(PullRequestEvent {
        provider: Provider::Gitea,
        repository,
        source_repository,
        number,
        action,
        source_branch: pr.get("head").get("ref").str()?.to_owned(),
        target_branch: pr.get("base").get("ref").str()?.to_owned(),
        head_commit: commit_id(pr.get("head").get("sha").opt_str()?),
        draft,
        title: title.map(str::to_owned),
    })
}
