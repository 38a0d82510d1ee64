//! Azure Repos service hook deliveries: `git.push`, `git.pullrequest.created` and
//! `git.pullrequest.updated` ("Service hooks event reference"). The event is the body's
//! `eventType`; a push lists no changed files, and an update says what changed only in its message.

use super::json::{Field, root};
use super::{Provider, PullRequestEvent, PushEvent, Repository, WebhookError, WebhookEvent, branch_name, commit_id};
use crate::filter::GitRef;
use crate::triggers::PullRequestAction;

const EVENT: &str = "Azure Repos";

pub(super) fn parse(body: &[u8]) -> Result<WebhookEvent, WebhookError> {
    let value = root(EVENT, body)?;
    let payload = Field::root(EVENT, &value);
    match payload.get("eventType").str()? {
        "git.push" => push(&payload).map(WebhookEvent::Push),
        "git.pullrequest.created" => {
            pull_request(&payload, PullRequestAction::Opened).map(|pr| WebhookEvent::PullRequest(Box::new(pr)))
        }
        "git.pullrequest.updated" => {
            let action = updated_action(&payload)?;
            pull_request(&payload, action).map(|pr| WebhookEvent::PullRequest(Box::new(pr)))
        }
        other => Ok(WebhookEvent::Ignored { event: other.to_owned() }),
    }
}

/// `resource.repository`: `name`, `project.name`, `remoteUrl`, `sshUrl`, `webUrl`.
fn repository(repo: &Field<'_>) -> Result<Repository, WebhookError> {
    let name = repo.get("name").str()?;
    let full_name = match repo.get("project").get("name").opt_str()? {
        Some(project) => format!("{project}/{name}"),
        None => name.to_owned(),
    };
    let clone_urls = [repo.get("remoteUrl").str().map(Some)?, repo.get("sshUrl").opt_str()?]
        .into_iter()
        .flatten()
        .map(str::to_owned)
        .collect();
    let web_url = match repo.get("webUrl").opt_str()? {
        Some(url) => Some(url),
        None => repo.get("remoteUrl").opt_str()?,
    };
    Ok(Repository { full_name, clone_urls, web_url: web_url.map(str::to_owned) })
}

fn push(payload: &Field<'_>) -> Result<Vec<PushEvent>, WebhookError> {
    let resource = payload.get("resource");
    let repository = repository(&resource.get("repository"))?;
    let pushed_by = resource.get("pushedBy");
    let pusher = match pushed_by.get("uniqueName").opt_str()? {
        Some(name) => Some(name),
        None => pushed_by.get("displayName").opt_str()?,
    };
    let commits = resource.get("commits").opt_array()?;
    let mut pushes = Vec::new();
    for update in resource.get("refUpdates").array()? {
        let before = commit_id(update.get("oldObjectId").opt_str()?);
        let after = commit_id(update.get("newObjectId").opt_str()?);
        let mut head_commit_message = None;
        for commit in &commits {
            if after.is_some() && commit_id(commit.get("commitId").opt_str()?) == after {
                head_commit_message = commit.get("comment").opt_str()?.map(str::to_owned);
            }
        }
        pushes.push(PushEvent {
            provider: Provider::AzureRepos,
            repository: repository.clone(),
            git_ref: GitRef::parse(update.get("name").str()?),
            before,
            after,
            changed_paths: Vec::new(),
            paths_complete: false,
            head_commit_message,
            pusher: pusher.map(str::to_owned),
        });
    }
    Ok(pushes)
}

/// What a `git.pullrequest.updated` delivery is about: its status, else its message ("updated the
/// source branch" for new commits, which a hook limited to "Source branch updated" always sends).
fn updated_action(payload: &Field<'_>) -> Result<PullRequestAction, WebhookError> {
    let status = payload.get("resource").get("status").opt_str()?.unwrap_or_default();
    let message = payload.get("message").get("text").opt_str()?.unwrap_or_default().to_lowercase();
    Ok(match status {
        "completed" => PullRequestAction::Closed { merged: true },
        "abandoned" => PullRequestAction::Closed { merged: false },
        _ if message.contains("updated the source branch") => PullRequestAction::Synchronize,
        _ if message.contains("reactivated") => PullRequestAction::Reopened,
        _ if message.contains("published") => PullRequestAction::ReadyForReview,
        _ => PullRequestAction::Edited,
    })
}

fn pull_request(payload: &Field<'_>, action: PullRequestAction) -> Result<PullRequestEvent, WebhookError> {
    let resource = payload.get("resource");
    let fork = resource.get("forkSource").get("repository");
    let source_repository = if fork.exists() { Some(repository(&fork)?) } else { None };
    Ok(PullRequestEvent {
        provider: Provider::AzureRepos,
        repository: repository(&resource.get("repository"))?,
        source_repository,
        number: resource.get("pullRequestId").u64()?,
        action,
        source_branch: branch_name(resource.get("sourceRefName").str()?),
        target_branch: branch_name(resource.get("targetRefName").str()?),
        head_commit: commit_id(resource.get("lastMergeSourceCommit").get("commitId").opt_str()?),
        draft: resource.get("isDraft").opt_bool()?.unwrap_or(false),
        title: resource.get("title").opt_str()?.map(str::to_owned),
    })
}
