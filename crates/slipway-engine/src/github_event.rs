//! The webhook payload a GitHub Actions workflow's run sees as `github.event` (and in the file
//! at `GITHUB_EVENT_PATH`), made from what Slipway knows about the run: its trigger's details,
//! the commit's facts, the pipeline and the run's inputs. Pure.
//!
//! The shapes follow GitHub's webhook payloads for the events Slipway starts workflows for:
//! `push` (`ref`, `before`, `after`, `created`, `deleted`, `forced`, `head_commit`, `commits`,
//! `pusher`), `pull_request` and `pull_request_target` (`action`, `number`, `pull_request` with
//! `number`, `title`, `draft`, `state`, `head` and `base`), `schedule` (`schedule`: the cron),
//! `workflow_dispatch` (`inputs`, `ref`) and `workflow_run` (`action: completed` and the
//! upstream run's `workflow_run`); each with `repository` and `sender`. What Slipway does not
//! know is left out rather than made up: a pull request's labels (its webhook's labels are not
//! kept), a push's list of commits beyond the head, the forge's numeric ids and URLs.

use serde_json::{Map, Value, json};
use slipway_driver::RepositoryInfo;
use slipway_store::TriggerDetails;

/// What the run's payload is made from.
pub(crate) struct EventFacts<'a> {
    /// What started the run.
    pub(crate) details: &'a TriggerDetails,
    /// The run's parameters (a workflow's inputs), typed, as a JSON object.
    pub(crate) parameters: &'a Value,
    /// Who asked for the run.
    pub(crate) requested_by: Option<&'a str>,
    /// The pipeline's default branch (a name).
    pub(crate) default_branch: &'a str,
    /// The workflow's path in its repository.
    pub(crate) workflow: &'a str,
    /// The repository and commit it checks out.
    pub(crate) repository: &'a RepositoryInfo,
    /// For a run started by another run's completion: that run's result as GitHub names it
    /// (`success`, `failure`, `cancelled`, `skipped`), when it is known.
    pub(crate) upstream_conclusion: Option<&'a str>,
}

/// The `repository` object.
fn repository(facts: &EventFacts<'_>) -> Value {
    slipway_driver::github::repository_payload(facts.repository, facts.default_branch)
}

/// Who sent the event: who asked for the run, else the commit's author.
fn sender_login(facts: &EventFacts<'_>) -> String {
    facts.requested_by.map_or_else(|| facts.repository.author.clone(), str::to_owned)
}

/// The `sender` object.
fn sender(facts: &EventFacts<'_>) -> Value {
    json!({ "login": sender_login(facts) })
}

/// The head commit, as `head_commit` and `commits[]` carry it.
fn commit(details: &TriggerDetails, repository: &RepositoryInfo) -> Value {
    let id = details.commit.clone().unwrap_or_else(|| repository.commit.clone());
    let message = details.message.clone().unwrap_or_else(|| repository.message.clone());
    let name = details.author.clone().unwrap_or_else(|| repository.author.clone());
    let email = details.email.clone().unwrap_or_else(|| repository.email.clone());
    json!({
        "id": id,
        "message": message,
        "author": { "name": name, "email": email },
        "committer": { "name": name, "email": email },
        "distinct": true,
    })
}

/// The all-zero commit id GitHub writes for a ref that did not exist (or no longer does).
const ZERO: &str = "0000000000000000000000000000000000000000";

/// The payload of the run's event, named as [`slipway_driver::github::event_name`] names it.
pub(crate) fn payload(facts: &EventFacts<'_>) -> Value {
    let details = facts.details;
    let reason = details.reason.as_deref().unwrap_or("Manual");
    let mut event = Map::new();
    match slipway_driver::github::event_name(reason) {
        "push" => {
            let reference = details.git_ref.clone().unwrap_or_else(|| facts.repository.branch.clone());
            let head = commit(details, facts.repository);
            let before = details.before.clone().unwrap_or_else(|| ZERO.to_owned());
            event.insert("ref".into(), json!(reference));
            event.insert("before".into(), json!(before));
            event.insert("after".into(), head["id"].clone());
            event.insert("created".into(), json!(before == ZERO));
            event.insert("deleted".into(), json!(false));
            event.insert("forced".into(), json!(false));
            event.insert("base_ref".into(), Value::Null);
            event.insert("pusher".into(), json!({ "name": head["author"]["name"], "email": head["author"]["email"] }));
            event.insert("commits".into(), json!([head.clone()]));
            event.insert("head_commit".into(), head);
        }
        "pull_request" => {
            if let Some(pull) = &details.pull_request {
                let head_sha = if pull.source_commit.is_empty() {
                    facts.repository.commit.clone()
                } else {
                    pull.source_commit.clone()
                };
                let branch = |name: &str| name.strip_prefix("refs/heads/").unwrap_or(name).to_owned();
                event.insert("action".into(), json!(if pull.action.is_empty() { "opened" } else { &pull.action }));
                event.insert("number".into(), json!(pull.number));
                event.insert(
                    "pull_request".into(),
                    json!({
                        "number": pull.number,
                        "title": pull.title.clone().unwrap_or_default(),
                        "state": "open",
                        "draft": pull.draft,
                        "head": { "ref": branch(&pull.source_branch), "sha": head_sha },
                        "base": { "ref": branch(&pull.target_branch), "repo": repository(facts) },
                        "user": sender(facts),
                    }),
                );
            }
        }
        "schedule" => {
            if let Some(schedule) = &details.schedule {
                event.insert("schedule".into(), json!(schedule.cron));
            }
        }
        "workflow_run" => {
            event.insert("action".into(), json!("completed"));
            event.insert(
                "workflow_run".into(),
                json!({
                    "name": details.source_pipeline,
                    "id": details.source_run.map(|run| run.get()),
                    "run_number": details.source_run_number,
                    "head_branch": details.source_branch.as_deref().map(|branch| branch.strip_prefix("refs/heads/").unwrap_or(branch)),
                    "head_sha": details.source_commit,
                    "status": "completed",
                    "conclusion": facts.upstream_conclusion,
                }),
            );
            event.insert("workflow".into(), json!({ "name": details.source_pipeline }));
        }
        _ => {
            let inputs = facts.parameters.as_object().cloned().unwrap_or_default();
            return slipway_driver::github::dispatch_payload(
                inputs,
                facts.repository,
                facts.default_branch,
                facts.workflow,
                &sender_login(facts),
            );
        }
    }
    event.insert("repository".into(), repository(facts));
    event.insert("sender".into(), sender(facts));
    Value::Object(event)
}

#[cfg(test)]
mod tests {
    use super::*;
    use slipway_store::{PullRequestDetails, RunId, ScheduleDetails};

    fn repository() -> RepositoryInfo {
        RepositoryInfo {
            name: "team/app".into(),
            branch: "refs/heads/main".into(),
            commit: "c".repeat(40),
            message: "Fix the login page".into(),
            author: "Ada".into(),
            email: "ada@example.com".into(),
            uri: "/srv/git/team/app".into(),
        }
    }

    fn payload_with(details: &TriggerDetails, parameters: &Value, by: Option<&str>, conclusion: Option<&str>) -> Value {
        let repository = repository();
        payload(&EventFacts {
            details,
            parameters,
            requested_by: by,
            default_branch: "main",
            workflow: ".github/workflows/ci.yml",
            repository: &repository,
            upstream_conclusion: conclusion,
        })
    }

    fn payload_of(details: &TriggerDetails) -> Value {
        payload_with(details, &json!({}), None, None)
    }

    #[test]
    fn a_push_carries_its_refs_and_head_commit() {
        let mut details = TriggerDetails::reason("IndividualCI");
        details.git_ref = Some("refs/heads/main".into());
        details.before = Some("b".repeat(40));
        let event = payload_of(&details);
        assert_eq!(event["ref"], "refs/heads/main");
        assert_eq!(event["before"], "b".repeat(40));
        assert_eq!(event["after"], "c".repeat(40));
        assert_eq!(event["created"], false);
        assert_eq!(event["head_commit"]["message"], "Fix the login page");
        assert_eq!(event["head_commit"]["author"]["email"], "ada@example.com");
        assert_eq!(event["commits"].as_array().map(Vec::len), Some(1));
        assert_eq!(event["repository"]["full_name"], "team/app");
        assert_eq!(event["repository"]["owner"]["login"], "team");
        assert_eq!(event["repository"]["default_branch"], "main");
        assert_eq!(event["sender"]["login"], "Ada");

        let new_branch = payload_of(&TriggerDetails::reason("IndividualCI"));
        assert_eq!((&new_branch["before"], &new_branch["created"]), (&json!(ZERO), &json!(true)));
    }

    #[test]
    fn a_pull_request_carries_its_number_branches_and_draft() {
        let mut details = TriggerDetails::reason("PullRequest");
        details.pull_request = Some(PullRequestDetails {
            number: 42,
            provider: "github".into(),
            action: "synchronize".into(),
            title: Some("Faster login".into()),
            source_branch: "refs/heads/topic".into(),
            target_branch: "refs/heads/main".into(),
            source_commit: "d".repeat(40),
            is_fork: false,
            draft: true,
        });
        let event = payload_of(&details);
        assert_eq!((&event["action"], &event["number"]), (&json!("synchronize"), &json!(42)));
        let pull = &event["pull_request"];
        assert_eq!(
            (&pull["number"], &pull["title"], &pull["draft"]),
            (&json!(42), &json!("Faster login"), &json!(true))
        );
        assert_eq!((&pull["head"]["ref"], &pull["head"]["sha"]), (&json!("topic"), &json!("d".repeat(40))));
        assert_eq!(pull["base"]["ref"], "main");
        assert!(pull.get("labels").is_none(), "labels are not known and must not be made up");
    }

    #[test]
    fn dispatch_schedule_and_workflow_run_payloads() {
        let inputs = json!({ "version": "1.2.3", "dry-run": true });
        let event = payload_with(&TriggerDetails::reason("Manual"), &inputs, Some("grace"), None);
        assert_eq!(event["inputs"], inputs);
        assert_eq!((&event["ref"], &event["sender"]["login"]), (&json!("refs/heads/main"), &json!("grace")));
        assert_eq!(event["workflow"], ".github/workflows/ci.yml");

        let mut details = TriggerDetails::reason("Schedule");
        details.schedule = Some(ScheduleDetails { cron: "0 5 * * 1".into(), ..ScheduleDetails::default() });
        assert_eq!(payload_of(&details)["schedule"], "0 5 * * 1");

        let mut details = TriggerDetails::reason("ResourceTrigger");
        details.source_pipeline = Some("build".into());
        details.source_run = Some(RunId(3));
        details.source_branch = Some("refs/heads/main".into());
        let event = payload_with(&details, &json!({}), None, Some("failure"));
        assert_eq!(event["action"], "completed");
        assert_eq!(event["workflow_run"]["conclusion"], "failure");
        assert_eq!((&event["workflow_run"]["name"], &event["workflow_run"]["id"]), (&json!("build"), &json!(3)));
        assert_eq!(event["workflow_run"]["head_branch"], "main");
    }
}
