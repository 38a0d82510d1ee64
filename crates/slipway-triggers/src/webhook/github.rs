//! GitHub `push`, `pull_request` and `ping` deliveries.

use std::collections::BTreeSet;

use super::json::{Field, root};
use super::{
    Headers, Provider, PullRequestEvent, PushEvent, Repository, WebhookError, WebhookEvent, commit_id, sorted_paths,
};
use crate::filter::GitRef;
use crate::triggers::PullRequestAction;

/// GitHub lists at most this many commits in a push payload.
const MAX_COMMITS: usize = 2048;

pub(super) fn parse(headers: &Headers, body: &[u8]) -> Result<WebhookEvent, WebhookError> {
    let event = headers.get("X-GitHub-Event")?.ok_or(WebhookError::MissingHeader { header: "X-GitHub-Event" })?;
    match event {
        "push" => {
            let value = root("GitHub push", body)?;
            push(&Field::root("GitHub push", &value)).map(|push| WebhookEvent::Push(vec![push]))
        }
        "pull_request" => {
            let value = root("GitHub pull_request", body)?;
            pull_request(&Field::root("GitHub pull_request", &value)).map(|pr| WebhookEvent::PullRequest(Box::new(pr)))
        }
        "ping" => Ok(WebhookEvent::Ping),
        other => Ok(WebhookEvent::Ignored { event: other.to_owned() }),
    }
}

/// `full_name`, `clone_url`, `ssh_url`, `html_url`.
pub(super) fn repository(repo: &Field<'_>) -> Result<Repository, WebhookError> {
    let clone_urls = [repo.get("clone_url").opt_str()?, repo.get("ssh_url").opt_str()?]
        .into_iter()
        .flatten()
        .map(str::to_owned)
        .collect();
    Ok(Repository {
        full_name: repo.get("full_name").str()?.to_owned(),
        clone_urls,
        web_url: repo.get("html_url").opt_str()?.map(str::to_owned),
    })
}

/// The files of `commits[].added/removed/modified`.
pub(super) fn commit_paths(commits: &[Field<'_>]) -> Result<BTreeSet<String>, WebhookError> {
    let mut paths = BTreeSet::new();
    for commit in commits {
        for key in ["added", "removed", "modified"] {
            paths.extend(commit.get(key).strings()?.into_iter().map(str::to_owned));
        }
    }
    Ok(paths)
}

fn push(payload: &Field<'_>) -> Result<PushEvent, WebhookError> {
    let before = commit_id(payload.get("before").opt_str()?);
    let after = commit_id(payload.get("after").opt_str()?);
    let created = payload.get("created").opt_bool()?.unwrap_or(before.is_none());
    let deleted = payload.get("deleted").opt_bool()?.unwrap_or(after.is_none());
    let forced = payload.get("forced").opt_bool()?.unwrap_or(false);
    let commits = payload.get("commits").opt_array()?;
    Ok(PushEvent {
        provider: Provider::GitHub,
        repository: repository(&payload.get("repository"))?,
        git_ref: GitRef::parse(payload.get("ref").str()?),
        before: if created { None } else { before },
        after: if deleted { None } else { after },
        changed_paths: sorted_paths(commit_paths(&commits)?),
        paths_complete: !created && !deleted && !forced && commits.len() < MAX_COMMITS,
        head_commit_message: payload.get("head_commit").get("message").opt_str()?.map(str::to_owned),
        pusher: payload.get("pusher").get("name").opt_str()?.map(str::to_owned),
    })
}

fn pull_request(payload: &Field<'_>) -> Result<PullRequestEvent, WebhookError> {
    let pr = payload.get("pull_request");
    let merged = pr.get("merged").opt_bool()?.unwrap_or(false);
    let action = match payload.get("action").str()? {
        "opened" => PullRequestAction::Opened,
        "synchronize" => PullRequestAction::Synchronize,
        "reopened" => PullRequestAction::Reopened,
        "closed" => PullRequestAction::Closed { merged },
        "ready_for_review" => PullRequestAction::ReadyForReview,
        "converted_to_draft" => PullRequestAction::ConvertedToDraft,
        "edited" => PullRequestAction::Edited,
        other => PullRequestAction::Other(other.to_owned()),
    };
    let number = match payload.get("number").opt_u64()? {
        Some(number) => number,
        None => pr.get("number").u64()?,
    };
    let repository = repository(&payload.get("repository"))?;
    let head_repo = pr.get("head").get("repo");
    let source_repository = if head_repo.exists() {
        Some(self::repository(&head_repo)?).filter(|source| source.full_name != repository.full_name)
    } else {
        None
    };
    Ok(PullRequestEvent {
        provider: Provider::GitHub,
        repository,
        source_repository,
        number,
        action,
        source_branch: pr.get("head").get("ref").str()?.to_owned(),
        target_branch: pr.get("base").get("ref").str()?.to_owned(),
        head_commit: commit_id(pr.get("head").get("sha").opt_str()?),
        draft: pr.get("draft").opt_bool()?.unwrap_or(false),
        title: pr.get("title").opt_str()?.map(str::to_owned),
    })
}
