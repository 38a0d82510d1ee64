//! Steps: scripts, checkout, publish and download, tasks, and everything else kept as JSON.

use slipway_plan::{Action, Shell, Step};
use slipway_yaml::Node;

use super::Lowerer;
use super::jobs::{flag, minutes};
use super::text_of;
use crate::validate::steps::{STEP_KINDS, step_kind};
use crate::validate::values::{scalar_text, to_json, to_text};

/// Keys every step may have; the rest of a `checkout` step's keys are its options.
use crate::validate::steps::COMMON_KEYS;

impl Lowerer {
    /// The steps of a job or hook.
    pub(crate) fn steps(&mut self, node: Option<&Node>) -> Vec<Step> {
        node.and_then(Node::as_sequence)
            .unwrap_or_default()
            .iter()
            .filter(|step| step.as_mapping().is_some())
            .map(|step| self.step(step))
            .collect()
    }

    fn step(&mut self, node: &Node) -> Step {
        let kind = step_kind(node).unwrap_or("");
        let value = node.get(kind).map(to_text).unwrap_or_default();
        let action = match kind {
            "script" => Action::Script { shell: Shell::Default, script: value },
            "bash" => Action::Script { shell: Shell::Bash, script: value },
            "pwsh" => Action::Script { shell: Shell::Pwsh, script: value },
            "powershell" => Action::Script { shell: Shell::PowerShell, script: value },
            "checkout" => Action::Checkout {
                repository: value,
                options: node
                    .as_mapping()
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|(key, option)| {
                        let name = scalar_text(key)?;
                        (name != "checkout" && !COMMON_KEYS.contains(&name)).then(|| (name.to_owned(), to_text(option)))
                    })
                    .collect(),
            },
            "publish" | "upload" => Action::Publish { path: value, artifact: text_of(node.get("artifact")) },
            "download" => Action::Download {
                source: value,
                artifact: text_of(node.get("artifact")),
                path: text_of(node.get("path")),
                patterns: text_of(node.get("patterns")),
            },
            "task" => {
                let reference = value.trim();
                let (name, version) = match reference.rsplit_once('@') {
                    Some((name, version)) => (name.trim().to_owned(), Some(version.trim().to_owned())),
                    None => (reference.to_owned(), None),
                };
                Action::Task {
                    name,
                    version,
                    inputs: node
                        .get("inputs")
                        .and_then(Node::as_mapping)
                        .unwrap_or_default()
                        .iter()
                        .filter_map(|(key, input)| Some((scalar_text(key)?.to_owned(), to_text(input))))
                        .collect(),
                }
            }
            _ => Action::Other {
                kind: if STEP_KINDS.contains(&kind) {
                    kind.to_owned()
                } else {
                    node.as_mapping()
                        .and_then(|entries| entries.first())
                        .map(|(key, _)| to_text(key))
                        .unwrap_or_default()
                },
                definition: to_json(node),
            },
        };
        Step {
            name: text_of(node.get("name")),
            display_name: text_of(node.get("displayName")),
            action,
            condition: self.condition(node.get("condition")),
            continue_on_error: flag(node.get("continueOnError"), false),
            enabled: flag(node.get("enabled"), true),
            env: node
                .get("env")
                .and_then(Node::as_mapping)
                .unwrap_or_default()
                .iter()
                .filter_map(|(key, value)| Some((scalar_text(key)?.to_owned(), to_text(value))))
                .collect(),
            working_directory: text_of(node.get("workingDirectory")),
            timeout_minutes: node.get("timeoutInMinutes").and_then(minutes),
            retry_count: node.get("retryCountOnTaskFailure").and_then(minutes).unwrap_or(0),
            fail_on_stderr: flag(node.get("failOnStderr"), false),
            span: Some(node.span),
        }
    }
}
