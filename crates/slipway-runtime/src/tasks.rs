//! What the runtime needs to know about `task:` steps before it runs them: every task step of a
//! plan (deployment hooks included), and whether its task is available, built in or from a task
//! folder, with the reason when it is not.

use slipway_plan::{Action, JobKind, Plan, Step};
use slipway_tasks::TaskReference;
use slipway_tasks::folder::TaskFolder;

/// The code of the issue (and diagnostic) about a task that is not available.
pub const UNKNOWN_TASK_CODE: &str = "R0001";

/// A `task:` step of a plan.
#[derive(Clone, Copy, Debug)]
pub struct TaskStep<'a> {
    /// The step.
    pub step: &'a Step,
    /// The task's name (or id) as written.
    pub name: &'a str,
    /// The version as written (`2` in `CopyFiles@2`).
    pub version: Option<&'a str>,
}

impl TaskStep<'_> {
    /// The task reference, `NAME@MAJOR`.
    #[must_use]
    pub fn reference(&self) -> TaskReference {
        TaskReference::new(self.name, self.version)
    }
}

/// Every `task:` step of the plan, in plan order: each job's steps, then its deployment
/// lifecycle hooks' steps.
#[must_use]
pub fn task_steps(plan: &Plan) -> Vec<TaskStep<'_>> {
    let mut found = Vec::new();
    for stage in &plan.stages {
        for job in &stage.jobs {
            let hooks = match &job.kind {
                JobKind::Deployment(deployment) => deployment.hooks.iter().flat_map(|hook| &hook.steps).collect(),
                JobKind::Agent | JobKind::Server => Vec::new(),
            };
            for step in job.steps.iter().chain(hooks) {
                if let Action::Task { name, version, .. } = &step.action {
                    found.push(TaskStep { step, name, version: version.as_deref() });
                }
            }
        }
    }
    found
}

/// Why the task of `reference` cannot run here, or `None` when a task folder or a built-in task
/// provides it. A task that is built in with other major versions says which exist.
#[must_use]
pub fn unavailable(reference: &TaskReference, folders: &[TaskFolder]) -> Option<String> {
    if slipway_tasks::resolve(reference, folders).is_some() {
        return None;
    }
    if let Some(builtin) = slipway_tasks::builtin::other_versions(reference) {
        let versions: Vec<String> = builtin.majors.iter().map(|major| format!("{}@{major}", builtin.name)).collect();
        return Some(format!(
            "the task `{reference}` is not available: Slipway has {} built in, and no task folder has this version",
            versions.join(" and ")
        ));
    }
    Some(format!("the task `{reference}` is neither built in nor found in a task folder"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn other_major_versions_of_built_in_tasks_are_named() {
        assert_eq!(unavailable(&TaskReference::new("Bash", Some("3")), &[]), None);
        assert_eq!(
            unavailable(&TaskReference::new("bash", Some("2")), &[]).as_deref(),
            Some(
                "the task `bash@2` is not available: Slipway has Bash@3 built in, and no task folder has this version"
            )
        );
        assert_eq!(
            unavailable(&TaskReference::new("NoSuchTask", Some("1")), &[]).as_deref(),
            Some("the task `NoSuchTask@1` is neither built in nor found in a task folder")
        );
    }
}
