//! The predefined variables of a run, from what the edge learnt about its repository (from git,
//! the server's store): the same for `slipway run` and the server.

use serde::{Deserialize, Serialize};

use crate::variables::{Variable, Variables};

/// The repository a run checks out, at its exact commit, with the commit's facts: gathered at
/// the edge (from `git` for `slipway run`, from the store on the server) and sent to agents in
/// their job message as it is.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RepositoryInfo {
    /// `Build.Repository.Name`.
    pub name: String,
    /// `Build.SourceBranch`, such as `refs/heads/main`.
    pub branch: String,
    /// `Build.SourceVersion`: the commit.
    pub commit: String,
    /// `Build.SourceVersionMessage`: the commit's subject.
    pub message: String,
    /// `Build.RequestedFor` and `Build.QueuedBy`.
    pub author: String,
    /// `Build.RequestedForEmail`.
    pub email: String,
    /// `Build.Repository.Uri`: where `git` fetches it from (a URL, or a path on the server's
    /// machine).
    pub uri: String,
}

fn set(variables: &mut Variables, name: &str, value: impl Into<String>) {
    variables.force(Variable::readonly(name, value));
}

/// The run-wide predefined variables (`Build.*`, `System.*`, `TF_BUILD`, `System.Debug`); the
/// `Agent.*` ones are the agent's, set where the job runs.
#[must_use]
pub fn run_variables(run_id: u64, pipeline: &str, repository: &RepositoryInfo) -> Variables {
    let mut variables = Variables::new();
    let branch_name = repository.branch.rsplit('/').next().unwrap_or_default().to_owned();
    let entries: Vec<(&str, String)> = vec![
        ("Build.BuildId", run_id.to_string()),
        ("Build.BuildUri", format!("vstfs:///Build/Build/{run_id}")),
        ("Build.DefinitionName", pipeline.to_owned()),
        ("Build.DefinitionVersion", "1".into()),
        ("Build.Reason", "Manual".into()),
        ("Build.QueuedBy", repository.author.clone()),
        ("Build.QueuedById", "00000000-0000-0000-0000-000000000000".into()),
        ("Build.RequestedFor", repository.author.clone()),
        ("Build.RequestedForEmail", repository.email.clone()),
        ("Build.RequestedForId", "00000000-0000-0000-0000-000000000000".into()),
        ("Build.SourceBranch", repository.branch.clone()),
        ("Build.SourceBranchName", branch_name),
        ("Build.SourceVersion", repository.commit.clone()),
        ("Build.SourceVersionMessage", repository.message.clone()),
        ("Build.Repository.Name", repository.name.clone()),
        ("Build.Repository.Provider", "Git".into()),
        ("Build.Repository.Uri", repository.uri.clone()),
        ("Build.Repository.ID", repository.name.clone()),
        ("Build.Repository.Clean", "false".into()),
        ("Build.ContainerId", run_id.to_string()),
        ("System.TeamProject", "local".into()),
        ("System.TeamProjectId", "00000000-0000-0000-0000-000000000000".into()),
        ("System.CollectionUri", "http://localhost/".into()),
        ("System.TeamFoundationCollectionUri", "http://localhost/".into()),
        ("System.TeamFoundationServerUri", "http://localhost/".into()),
        ("System.CollectionId", "00000000-0000-0000-0000-000000000000".into()),
        ("System.DefinitionId", "1".into()),
        ("System.DefinitionName", pipeline.to_owned()),
        ("System.HostType", "build".into()),
        ("System.PlanId", format!("00000000-0000-0000-0000-{run_id:012}")),
        ("System.TimelineId", format!("00000000-0000-0000-0000-{run_id:012}")),
        ("System.PullRequest.IsFork", "False".into()),
        ("System.ServerType", "Hosted".into()),
        ("System.IsScheduled", "False".into()),
        ("TF_BUILD", "True".into()),
    ];
    for (name, value) in entries {
        set(&mut variables, name, value);
    }
    variables.force(Variable::new("System.Debug", "false"));
    variables
}
