//! GitHub Actions' side of the run driver: the contexts a workflow's expressions read (`github`,
//! `needs`, `vars`, `inputs`, and whatever the runtime adds for steps), the job status its status
//! functions see, and its `if` evaluated as GitHub does. The facts come from the same predefined
//! variables as Azure's (`Build.SourceBranch`, `Build.SourceVersion`, ...), so that both dialects
//! run on one driver.

use slipway_events::TaskResult;
use slipway_github_expr::{JobStatus, Object, Value};
use slipway_plan::{GithubExpression, ParameterValue};

use crate::predefined::RepositoryInfo;
use crate::variables::Variables;

/// The variable that carries a GitHub job's dependencies to where its steps run, as the
/// driver's JSON (`{ "build": { "result": "Succeeded", "outputs": { ... } } }`); read it with
/// [`needs_context`].
pub const NEEDS_VARIABLE: &str = "GitHub.Needs";

/// The variable that carries the run's event payload (`github.event`, and the file at
/// `GITHUB_EVENT_PATH`) as JSON; the server makes it from the run's trigger.
pub const EVENT_VARIABLE: &str = "GitHub.Event";

/// A job's or run's result as GitHub names it in `needs.<job>.result` and `job.status`.
#[must_use]
pub fn result_name(result: TaskResult) -> &'static str {
    match result {
        TaskResult::Succeeded | TaskResult::SucceededWithIssues => "success",
        TaskResult::Failed => "failure",
        TaskResult::Canceled => "cancelled",
        TaskResult::Skipped => "skipped",
    }
}

/// The event GitHub would name for a run started for `reason` (Azure's `Build.Reason`).
#[must_use]
pub fn event_name(reason: &str) -> &'static str {
    match reason {
        "IndividualCI" | "BatchedCI" => "push",
        "PullRequest" => "pull_request",
        "Schedule" => "schedule",
        "ResourceTrigger" | "BuildCompletion" => "workflow_run",
        _ => "workflow_dispatch",
    }
}

/// The `github` context from a run's predefined variables: the event, the ref and commit, the
/// repository, the run's id and number, who started it. The runtime adds `job`, `workspace`,
/// `action` and the like where steps run.
#[must_use]
pub fn github_context(variables: &Variables) -> Object {
    let value = |name: &str| variables.value(name).unwrap_or_default().to_owned();
    let reference = value("Build.SourceBranch");
    let (ref_type, ref_name) = match reference.strip_prefix("refs/tags/") {
        Some(tag) => ("tag", tag.to_owned()),
        None => ("branch", reference.strip_prefix("refs/heads/").unwrap_or(&reference).to_owned()),
    };
    let repository = value("Build.Repository.Name");
    let owner = repository.split_once('/').map(|(owner, _)| owner.to_owned()).unwrap_or_default();
    let actor = value("Build.RequestedFor");
    let event = event_name(variables.value("Build.Reason").unwrap_or("Manual"));
    let mut github = Object::new();
    let entries: [(&str, String); 17] = [
        ("event_name", event.to_owned()),
        ("ref", reference.clone()),
        ("ref_name", ref_name),
        ("ref_type", ref_type.to_owned()),
        ("sha", value("Build.SourceVersion")),
        ("repository", repository),
        ("repository_owner", owner),
        ("run_id", value("Build.BuildId")),
        ("run_number", variables.value("Build.BuildNumber").unwrap_or(&value("Build.BuildId")).to_owned()),
        ("run_attempt", "1".to_owned()),
        ("workflow", value("Build.DefinitionName")),
        ("actor", actor.clone()),
        ("triggering_actor", actor),
        ("server_url", value("System.CollectionUri").trim_end_matches('/').to_owned()),
        ("head_ref", value("System.PullRequest.SourceBranch").trim_start_matches("refs/heads/").to_owned()),
        ("base_ref", value("System.PullRequest.TargetBranch").trim_start_matches("refs/heads/").to_owned()),
        ("secret_source", "None".to_owned()),
    ];
    for (name, text) in entries {
        github.insert(name, Value::String(text));
    }
    // The webhook payload, when the edge made one (the server does, from the run's trigger).
    let event = variables
        .value(EVENT_VARIABLE)
        .and_then(|text| serde_json::from_str::<serde_json::Value>(text).ok())
        .filter(serde_json::Value::is_object)
        .map_or_else(|| Value::from(Object::new()), Value::from);
    github.insert("event", event);
    github
}

/// The `repository` object of an event payload: the name as `owner/name` when it has an owner;
/// `default_branch` left out when it is not known (empty).
#[must_use]
pub fn repository_payload(repository: &RepositoryInfo, default_branch: &str) -> serde_json::Value {
    let full_name = repository.name.clone();
    let (owner, name) = full_name.rsplit_once('/').map_or((String::new(), full_name.clone()), |(owner, name)| {
        (owner.rsplit('/').next().unwrap_or(owner).to_owned(), name.to_owned())
    });
    let mut payload = serde_json::json!({
        "name": name,
        "full_name": full_name,
        "owner": { "login": owner, "name": owner },
        "clone_url": repository.uri,
    });
    if !default_branch.is_empty() {
        payload["default_branch"] = serde_json::Value::String(default_branch.to_owned());
    }
    payload
}

/// A `workflow_dispatch` event's payload: the `inputs` as given (typed), the ref run, the
/// workflow's file, the repository and who asked (`sender.login`).
#[must_use]
pub fn dispatch_payload(
    inputs: serde_json::Map<String, serde_json::Value>,
    repository: &RepositoryInfo,
    default_branch: &str,
    workflow: &str,
    sender: &str,
) -> serde_json::Value {
    serde_json::json!({
        "inputs": inputs,
        "ref": repository.branch,
        "workflow": workflow,
        "repository": repository_payload(repository, default_branch),
        "sender": { "login": sender },
    })
}

/// The `vars` context: the run's variables that are not predefined (no dot in their name), as
/// configuration variables are on GitHub.
#[must_use]
pub fn vars_context(variables: &Variables) -> Object {
    variables
        .iter()
        .filter(|variable| !variable.secret && !variable.name.contains('.') && variable.name != "TF_BUILD")
        .map(|variable| (variable.name.clone(), Value::String(variable.value.clone())))
        .collect()
}

/// The `inputs` context: a `workflow_dispatch` or `workflow_call` run's inputs, typed.
#[must_use]
pub fn inputs_context(parameters: &[ParameterValue]) -> Object {
    parameters.iter().map(|parameter| (parameter.name.clone(), Value::from(parameter.value.clone()))).collect()
}

/// The `needs` context from the driver's dependencies (`{ "A": { "result": "Succeeded",
/// "outputs": { ... } } }`): GitHub's result names, and each job's outputs by name.
#[must_use]
pub fn needs_context(dependencies: &serde_json::Value) -> Object {
    let Some(jobs) = dependencies.as_object() else { return Object::new() };
    jobs.iter()
        .map(|(name, dependency)| {
            let result = dependency
                .get("result")
                .and_then(serde_json::Value::as_str)
                .and_then(TaskResult::parse)
                .map_or("skipped", result_name);
            let mut need = Object::new();
            need.insert("result", Value::from(result));
            let outputs = dependency.get("outputs").cloned().unwrap_or_else(|| serde_json::json!({}));
            need.insert("outputs", Value::from(outputs));
            (name.clone(), Value::from(need))
        })
        .collect()
}

/// What a job's `if` sees of the jobs it needs: cancelled when the run was, failure when one of
/// them failed (or was cancelled), skipped when one was skipped, else success.
#[must_use]
pub fn dependencies_status(results: &[(String, TaskResult)], canceled: bool) -> JobStatus {
    if canceled {
        JobStatus::Cancelled
    } else if results.iter().any(|(_, result)| matches!(result, TaskResult::Failed | TaskResult::Canceled)) {
        JobStatus::Failure
    } else if results.iter().any(|(_, result)| *result == TaskResult::Skipped) {
        JobStatus::Skipped
    } else {
        JobStatus::Success
    }
}

/// A step's job status as its status functions see it.
#[must_use]
pub fn step_status(job_status: TaskResult, canceled: bool) -> JobStatus {
    if canceled {
        JobStatus::Cancelled
    } else if job_status.is_success() {
        JobStatus::Success
    } else {
        JobStatus::Failure
    }
}

/// `hashFiles(patterns...)` over a workspace: the digest of the matching files, or a message.
pub type HashFiles = Box<dyn Fn(&[String]) -> Result<String, String>>;

/// Named contexts and a status: what a GitHub expression is evaluated against.
pub struct Contexts {
    /// The contexts by name (`github`, `needs`, `matrix`, ...), matched without regard to case.
    pub values: Object,
    /// What `success()`, `failure()` and `cancelled()` look at.
    pub status: JobStatus,
    /// `hashFiles`, where there is a workspace to hash files in.
    pub hash_files: Option<HashFiles>,
}

impl Contexts {
    /// Contexts with nothing in them yet, under `status`.
    #[must_use]
    pub fn new(status: JobStatus) -> Self {
        Self { values: Object::new(), status, hash_files: None }
    }

    /// Sets the context `name`.
    pub fn set(&mut self, name: &str, value: impl Into<Value>) {
        self.values.set(name, value.into());
    }
}

impl slipway_github_expr::Context for Contexts {
    fn get(&self, name: &str) -> Option<Value> {
        self.values.get(name).cloned()
    }

    fn status(&self) -> JobStatus {
        self.status
    }

    fn hash_files(&self, patterns: &[String]) -> Result<String, String> {
        match &self.hash_files {
            Some(hash) => hash(patterns),
            None => Err("hashFiles is not available here: there is no workspace to hash files in".to_owned()),
        }
    }
}

/// Evaluates a GitHub `if` as GitHub does.
///
/// # Errors
///
/// The evaluation's error message (a function that failed, memory exceeded).
pub fn condition(expression: &GithubExpression, contexts: &Contexts) -> Result<bool, String> {
    slipway_github_expr::evaluate_condition(&expression.root, contexts).map_err(|error| error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::variables::Variable;

    #[test]
    fn needs_reads_the_drivers_dependencies_with_githubs_names() {
        let dependencies = serde_json::json!({
            "build": { "result": "Succeeded", "outputs": { "version": "1.2" } },
            "lint": { "result": "Failed", "outputs": {} },
            "docs": { "result": "Skipped" }
        });
        let needs = Value::from(needs_context(&dependencies));
        let mut contexts = Contexts::new(JobStatus::Success);
        contexts.set("needs", needs);
        let eval = |text: &str| condition(&GithubExpression::parse(text).expect("parses"), &contexts);
        assert_eq!(eval("needs.build.outputs.version == '1.2'"), Ok(true));
        assert_eq!(eval("needs.lint.result == 'failure' && needs.docs.result == 'skipped'"), Ok(true));
        assert_eq!(eval("contains(needs.*.result, 'failure')"), Ok(true));
    }

    #[test]
    fn a_skipped_dependency_is_neither_success_nor_failure() {
        let results = [("a".to_owned(), TaskResult::Succeeded), ("b".to_owned(), TaskResult::Skipped)];
        let status = dependencies_status(&results, false);
        assert_eq!(status, JobStatus::Skipped);
        let contexts = Contexts::new(status);
        let eval = |text: &str| condition(&GithubExpression::parse(text).expect("parses"), &contexts);
        assert_eq!(eval("success()"), Ok(false));
        assert_eq!(eval("failure()"), Ok(false));
        assert_eq!(eval("always()"), Ok(true));
        assert_eq!(eval("true"), Ok(false), "no status function means success() && (...)");
        let failed = [("a".to_owned(), TaskResult::Failed), ("b".to_owned(), TaskResult::Skipped)];
        assert_eq!(dependencies_status(&failed, false), JobStatus::Failure);
        assert_eq!(dependencies_status(&failed, true), JobStatus::Cancelled);
    }

    #[test]
    fn the_github_context_comes_from_the_predefined_variables() {
        let mut variables = Variables::new();
        for (name, value) in [
            ("Build.SourceBranch", "refs/tags/v1.0"),
            ("Build.SourceVersion", "abc123"),
            ("Build.Repository.Name", "octo/app"),
            ("Build.Reason", "IndividualCI"),
            ("Build.BuildId", "7"),
            ("Build.RequestedFor", "ada"),
            ("release", "yes"),
        ] {
            variables.force(Variable::new(name, value));
        }
        let github = github_context(&variables);
        let text = |name: &str| github.get(name).map(Value::to_display_string);
        assert_eq!(text("ref_type").as_deref(), Some("tag"));
        assert_eq!(text("ref_name").as_deref(), Some("v1.0"));
        assert_eq!(text("event_name").as_deref(), Some("push"));
        assert_eq!(text("repository_owner").as_deref(), Some("octo"));
        assert_eq!(text("run_number").as_deref(), Some("7"));
        let vars = vars_context(&variables);
        assert_eq!(vars.len(), 1);
        assert!(vars.get("RELEASE").is_some(), "names are matched without regard to case");
        let event = |github: &Object| github.get("event").map(Value::to_json_compact);
        assert_eq!(event(&github).as_deref(), Some("{}"), "no payload: an empty event");

        variables.force(Variable::readonly(EVENT_VARIABLE, r#"{"pull_request": {"number": 42, "draft": false}}"#));
        let github = github_context(&variables);
        let contexts = {
            let mut contexts = Contexts::new(JobStatus::Success);
            contexts.set("github", github.clone());
            contexts
        };
        let eval = |text: &str| condition(&GithubExpression::parse(text).expect("parses"), &contexts);
        assert_eq!(eval("github.event.pull_request.number == 42 && !github.event.pull_request.draft"), Ok(true));
        assert_eq!(vars_context(&variables).len(), 1, "the payload is not a configuration variable");
    }
}
