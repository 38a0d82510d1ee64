//! Composite actions (`uses: ./path`, or an action of the action store, whose `action.yml` says
//! `runs.using: composite`), run as the runner's composite handler runs them: the action's
//! `inputs` (what `with:` gives, else each input's `default`) are its `inputs` context; its steps
//! (`run:` with a required `shell:`, or `uses:`, with `id`, `name`, `if`, `env`,
//! `working-directory`, `continue-on-error`) run in order with a `steps` context of their own and
//! the using step's `env` under theirs; `success()` and `failure()` look at the action's own
//! steps; `github.action_path` and `GITHUB_ACTION_PATH` name its folder; what its steps write to
//! `GITHUB_ENV` and `GITHUB_PATH` is the job's; its `outputs` are evaluated at its end (also when
//! it failed) and become the using step's. Composite actions nest up to [`MAX_DEPTH`] deep.
use std::path::Path;

use slipway_events::{LogKind, Severity, TaskResult};
use slipway_github_expr::{Object, Value};
use slipway_plan::{Action, Condition, GithubExpression, Step};

use super::actions::{Call, append_pairs};
use super::store::Metadata;
use super::{Attempt, GithubJob, STEP, set_pair};

/// How deep composite actions may nest (GitHub's limit).
const MAX_DEPTH: u32 = 9;

/// A YAML node as JSON, every scalar a string (as the runner reads an action's metadata).
pub(super) fn json_of(node: &slipway_yaml::Node) -> serde_json::Value {
    match &node.value {
        slipway_yaml::Value::Scalar(scalar) => serde_json::Value::String(scalar.text.clone()),
        slipway_yaml::Value::Sequence(items) => serde_json::Value::Array(items.iter().map(json_of).collect()),
        slipway_yaml::Value::Mapping(entries) => serde_json::Value::Object(
            entries
                .iter()
                .filter_map(|(key, value)| match &key.value {
                    slipway_yaml::Value::Scalar(key) => Some((key.text.clone(), json_of(value))),
                    _ => None,
                })
                .collect(),
        ),
    }
}

/// GitHub's command line for a `shell:` on Linux (the same table as the workflow's steps).
pub(super) fn shell_command(shell: &str) -> String {
    match shell {
        "bash" => "bash --noprofile --norc -eo pipefail {0}".to_owned(),
        "sh" => "sh -e {0}".to_owned(),
        "python" => "python {0}".to_owned(),
        "pwsh" => "pwsh -command \". '{0}'\"".to_owned(),
        "powershell" => "powershell -command \". '{0}'\"".to_owned(),
        "cmd" => "cmd /D /E:ON /V:OFF /S /C \"CALL \"{0}\"\"".to_owned(),
        custom => custom.to_owned(),
    }
}

/// An `if` as written in an action (with or without `${{ }}` around it).
pub(super) fn condition(text: &str) -> Result<Condition, String> {
    let trimmed = text.trim();
    let inner = trimmed
        .strip_prefix("${{")
        .and_then(|rest| rest.strip_suffix("}}"))
        .filter(|inner| !inner.contains("${{"))
        .unwrap_or(trimmed);
    let expression = GithubExpression::parse(inner.trim()).map_err(|error| format!("`if: {text}`: {error}"))?;
    Ok(Condition { source: inner.trim().to_owned(), expression: expression.into(), span: None })
}

/// A step of a composite action as a plan step.
fn step_of(definition: &serde_json::Value, index: usize) -> Result<Step, String> {
    let text = |name: &str| definition.get(name).and_then(serde_json::Value::as_str).map(str::to_owned);
    let action = if let Some(script) = text("run") {
        let Some(shell) = text("shell") else {
            return Err(format!(
                "step {} of the composite action runs a script without `shell:`, which composite actions require",
                index + 1
            ));
        };
        Action::Run { command: shell_command(shell.trim()), shell, script }
    } else if let Some(action) = text("uses") {
        let with = definition
            .get("with")
            .and_then(serde_json::Value::as_object)
            .map(|with| {
                with.iter()
                    .map(|(name, value)| {
                        (name.clone(), value.as_str().map_or_else(|| value.to_string(), str::to_owned))
                    })
                    .collect()
            })
            .unwrap_or_default();
        Action::Uses { action, with }
    } else {
        return Err(format!("step {} of the composite action has neither `run:` nor `uses:`", index + 1));
    };
    let env = definition
        .get("env")
        .and_then(serde_json::Value::as_object)
        .map(|env| {
            env.iter()
                .map(|(name, value)| (name.clone(), value.as_str().map_or_else(|| value.to_string(), str::to_owned)))
                .collect()
        })
        .unwrap_or_default();
    Ok(Step {
        name: text("id"),
        display_name: text("name"),
        condition: text("if").map(|text| condition(&text)).transpose()?,
        continue_on_error: text("continue-on-error").is_some_and(|value| value.trim().eq_ignore_ascii_case("true")),
        env,
        working_directory: text("working-directory"),
        ..Step::new(action)
    })
}

impl GithubJob<'_> {
    /// Runs a composite action from its `action.yml` text.
    pub(super) fn composite(&mut self, call: &Call<'_>, dir: &Path, metadata: &Metadata) -> Attempt {
        let number = call.number;
        if self.depth >= MAX_DEPTH {
            return self.fail(
                number,
                &format!(
                    "composite actions nest more than {MAX_DEPTH} deep at '{}'; GitHub allows {MAX_DEPTH}",
                    call.action
                ),
            );
        }
        let metadata = &metadata.json;
        let definitions =
            metadata.pointer("/runs/steps").and_then(serde_json::Value::as_array).cloned().unwrap_or_default();
        let mut steps = Vec::new();
        for (index, definition) in definitions.iter().enumerate() {
            match step_of(definition, index) {
                Ok(step) => steps.push(step),
                Err(message) => return self.fail(number, &format!("the action '{}': {message}", call.action)),
            }
        }

        // The action's inputs: what `with:` gives, else the defaults (which may hold expressions).
        let mut inputs = Object::new();
        for (name, value) in call.inputs {
            inputs.set(name.clone(), Value::String(value.clone()));
        }
        if let Some(declared) = metadata.get("inputs").and_then(serde_json::Value::as_object) {
            let contexts = self.contexts(STEP, Some(call.step_env));
            for (name, declaration) in declared {
                if inputs.get(name).is_some() {
                    continue;
                }
                let default = declaration.get("default").and_then(serde_json::Value::as_str).unwrap_or_default();
                let value = match self.template(default, &contexts) {
                    Ok(value) => value,
                    Err(error) => return self.fail(number, &format!("the default of the input '{name}': {error}")),
                };
                inputs.set(name.clone(), Value::String(value));
            }
        }

        // Into the action's scope.
        let outer_steps = std::mem::take(&mut self.steps);
        let outer_inputs = self.base.get("inputs").cloned();
        let outer_github = self.base.get("github").cloned();
        let mut scope_env = self.scope_env.clone();
        for (name, value) in call.step_env {
            set_pair(&mut scope_env, name, value.clone());
        }
        let outer_env = std::mem::replace(&mut self.scope_env, scope_env);
        let outer_failed = self.scope_failed.replace(false);
        let outer_generated = std::mem::take(&mut self.generated);
        self.depth += 1;
        self.base.set("inputs", Value::from(inputs));
        if let Some(Value::Object(github)) = &outer_github {
            let mut github = (**github).clone();
            github.set("action_path", Value::from(dir.display().to_string()));
            self.base.set("github", Value::from(github));
        }
        let action_path = dir.display().to_string();
        set_pair(&mut self.scope_env, "GITHUB_ACTION_PATH", action_path);

        for step in &steps {
            self.run_inner_step(step, number);
        }

        // The outputs, against the action's steps.
        let contexts = self.contexts(STEP, None);
        let mut outputs = Vec::new();
        let mut output_error = None;
        if let Some(declared) = metadata.get("outputs").and_then(serde_json::Value::as_object) {
            for (name, declaration) in declared {
                let text = declaration.get("value").and_then(serde_json::Value::as_str).unwrap_or_default();
                match self.template(text, &contexts) {
                    Ok(value) => outputs.push((name.clone(), value)),
                    Err(error) => output_error = Some(format!("the output '{name}' of '{}': {error}", call.action)),
                }
            }
        }
        let failed = self.scope_failed == Some(true);

        // Back out.
        self.depth -= 1;
        self.steps = outer_steps;
        self.scope_env = outer_env;
        self.scope_failed = outer_failed;
        self.generated = outer_generated;
        if let Some(inputs) = outer_inputs {
            self.base.set("inputs", inputs);
        }
        if let Some(github) = outer_github {
            self.base.set("github", github);
        }
        let pairs: Vec<(&str, String)> = outputs.iter().map(|(name, value)| (name.as_str(), value.clone())).collect();
        if let Err(error) = append_pairs(&call.files.output, &pairs) {
            return self.fail(number, &format!("could not write the action's outputs: {error}"));
        }
        if let Some(message) = output_error {
            return self.fail(number, &message);
        }
        if failed {
            return Attempt {
                result: TaskResult::Failed,
                exit_code: None,
                message: Some(format!("a step of the composite action '{}' failed", call.action)),
            };
        }
        Attempt::succeeded()
    }

    /// Runs one step of a composite action, inside the step that uses it.
    fn run_inner_step(&mut self, step: &Step, number: u32) {
        self.check_cancel();
        let action_name = self.action_name(step);
        let display = self.display(step);
        match self.should_run(step) {
            Ok(true) => {}
            Ok(false) => {
                self.log(Some(number), LogKind::Debug, &format!("Skipping '{display}': its condition was false"));
                self.record(step.name.as_deref(), Vec::new(), "skipped", "skipped");
                return;
            }
            Err(error) => {
                self.issue(
                    Some(number),
                    Severity::Error,
                    &format!("the `if` of '{display}' could not be evaluated: {error}"),
                );
                self.record(step.name.as_deref(), Vec::new(), "failure", "failure");
                self.scope_failed = Some(true);
                return;
            }
        }
        self.log(Some(number), LogKind::Group, &display);
        let (attempt, outputs) = self.attempt(step, number, &action_name);
        self.log(Some(number), LogKind::EndGroup, "");
        let outcome = match attempt.result {
            TaskResult::Failed => "failure",
            TaskResult::Canceled => "cancelled",
            TaskResult::Skipped => "skipped",
            TaskResult::Succeeded | TaskResult::SucceededWithIssues => "success",
        };
        let conclusion = if outcome == "failure" && step.continue_on_error { "success" } else { outcome };
        if conclusion == "failure" {
            self.scope_failed = Some(true);
        }
        self.record(step.name.as_deref(), outputs, outcome, conclusion);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_of_an_action_become_plan_steps() -> Result<(), String> {
        let step = step_of(
            &serde_json::json!({
                "id": "x", "name": "Build", "if": "${{ inputs.go == 'yes' }}", "run": "make",
                "shell": "bash", "env": { "A": "1" }, "working-directory": "src", "continue-on-error": "true"
            }),
            0,
        )?;
        assert_eq!(step.name.as_deref(), Some("x"));
        assert_eq!(step.condition.as_ref().map(|condition| condition.source.as_str()), Some("inputs.go == 'yes'"));
        assert!(step.continue_on_error);
        assert_eq!(step.working_directory.as_deref(), Some("src"));
        assert!(
            matches!(&step.action, Action::Run { command, .. } if command == "bash --noprofile --norc -eo pipefail {0}")
        );
        let uses = step_of(&serde_json::json!({ "uses": "./other", "with": { "n": "1" } }), 1)?;
        assert!(matches!(&uses.action, Action::Uses { action, with } if action == "./other" && with.len() == 1));
        let error = step_of(&serde_json::json!({ "run": "x" }), 2).map(|_| ()).expect_err("no shell");
        assert!(error.contains("step 3"), "{error}");
        assert_eq!(shell_command("sh"), "sh -e {0}");
        assert_eq!(shell_command("perl {0}"), "perl {0}");
        Ok(())
    }
}
