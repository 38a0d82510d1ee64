//! GitLab `Push Hook`, `Tag Push Hook` and `Merge Request Hook` deliveries (and the same events
//! sent as a `System Hook`, told apart by `object_kind`).

use super::github::commit_paths;
use super::json::{Field, root};
use super::{
    Headers, Provider, PullRequestEvent, PushEvent, Repository, WebhookError, WebhookEvent, commit_id, sorted_paths,
};
use crate::filter::GitRef;
use crate::triggers::PullRequestAction;

/// GitLab lists at most this many commits in a push payload (`total_commits_count` has the rest).
const MAX_COMMITS: usize = 20;

pub(super) fn parse(headers: &Headers, body: &[u8]) -> Result<WebhookEvent, WebhookError> {
    let event = headers.get("X-Gitlab-Event")?.ok_or(WebhookError::MissingHeader { header: "X-Gitlab-Event" })?;
    let kind = match event {
        "Push Hook" | "Tag Push Hook" => "push",
        "Merge Request Hook" => "merge_request",
        "System Hook" => "system",
        other => return Ok(WebhookEvent::Ignored { event: other.to_owned() }),
    };
    let value = root("GitLab", body)?;
    let payload = Field::root("GitLab", &value);
    let kind = if kind == "system" {
        match payload.get("object_kind").opt_str()?.or(payload.get("event_name").opt_str()?) {
            Some("push" | "tag_push") => "push",
            Some("merge_request") => "merge_request",
            other => {
                return Ok(WebhookEvent::Ignored { event: format!("System Hook: {}", other.unwrap_or("unknown")) });
            }
        }
    } else {
        kind
    };
    if kind == "push" {
        push(&payload).map(|push| WebhookEvent::Push(vec![push]))
    } else {
        merge_request(&payload).map(|pr| WebhookEvent::PullRequest(Box::new(pr)))
    }
}

/// `project` (or the older `repository`): `path_with_namespace`, `git_http_url`, `git_ssh_url`,
/// `web_url`.
fn repository(project: &Field<'_>) -> Result<Repository, WebhookError> {
    let clone_urls = [project.get("git_http_url").opt_str()?, project.get("git_ssh_url").opt_str()?]
        .into_iter()
        .flatten()
        .map(str::to_owned)
        .collect();
    Ok(Repository {
        full_name: project.get("path_with_namespace").str()?.to_owned(),
        clone_urls,
        web_url: project.get("web_url").opt_str()?.map(str::to_owned),
    })
}

fn push(payload: &Field<'_>) -> Result<PushEvent, WebhookError> {
    let before = commit_id(payload.get("before").opt_str()?);
    let after = commit_id(payload.get("after").opt_str()?);
    let commits = payload.get("commits").opt_array()?;
    let total = payload.get("total_commits_count").opt_u64()?;
    let listed_all = match total {
        Some(total) => usize::try_from(total).is_ok_and(|total| total == commits.len()),
        None => commits.len() < MAX_COMMITS,
    };
    let mut head_commit_message = None;
    for commit in &commits {
        if commit_id(commit.get("id").opt_str()?) == after && after.is_some() {
            head_commit_message = commit.get("message").opt_str()?.map(str::to_owned);
        }
    }
    let pusher = match payload.get("user_username").opt_str()? {
        Some(user) => Some(user),
        None => payload.get("user_name").opt_str()?,
    };
    Ok(PushEvent {
        provider: Provider::GitLab,
        repository: repository(&payload.get("project"))?,
        git_ref: GitRef::parse(payload.get("ref").str()?),
        paths_complete: before.is_some() && after.is_some() && listed_all,
        before,
        after,
        changed_paths: sorted_paths(commit_paths(&commits)?),
        head_commit_message,
        pusher: pusher.map(str::to_owned),
    })
}

fn merge_request(payload: &Field<'_>) -> Result<PullRequestEvent, WebhookError> {
    let attributes = payload.get("object_attributes");
    let draft_change = payload.get("changes").get("draft");
    let draft_change = (draft_change.get("previous").opt_bool()?, draft_change.get("current").opt_bool()?);
    let action = match attributes.get("action").opt_str()?.unwrap_or_default() {
        "open" => PullRequestAction::Opened,
        "reopen" => PullRequestAction::Reopened,
        "close" => PullRequestAction::Closed { merged: false },
        "merge" => PullRequestAction::Closed { merged: true },
        // `oldrev` is only present when the update pushed new commits.
        "update" if attributes.get("oldrev").exists() => PullRequestAction::Synchronize,
        "update" => match draft_change {
            (Some(true), Some(false)) => PullRequestAction::ReadyForReview,
            (Some(false), Some(true)) => PullRequestAction::ConvertedToDraft,
            _ => PullRequestAction::Edited,
        },
        other => PullRequestAction::Other(other.to_owned()),
    };
    let draft = match attributes.get("draft").opt_bool()? {
        Some(draft) => draft,
        None => attributes.get("work_in_progress").opt_bool()?.unwrap_or(false),
    };
    let repository = repository(&payload.get("project"))?;
    let source = attributes.get("source");
    let source_repository = if source.get("path_with_namespace").exists() {
        Some(self::repository(&source)?).filter(|source| source.full_name != repository.full_name)
    } else {
        None
    };
    Ok(PullRequestEvent {
        provider: Provider::GitLab,
        repository,
        source_repository,
        number: attributes.get("iid").u64()?,
        action,
        source_branch: attributes.get("source_branch").str()?.to_owned(),
        target_branch: attributes.get("target_branch").str()?.to_owned(),
        head_commit: commit_id(attributes.get("last_commit").get("id").opt_str()?),
        draft,
        title: attributes.get("title").opt_str()?.map(str::to_owned),
    })
}
