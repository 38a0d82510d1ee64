//! Node actions (`runs.using: node20` or `node24`; `node12` and `node16`, which GitHub has
//! retired, with a warning), from the action store or the repository, run as the runner runs
//! them but on the machine's own `node`: `node <runs.main>` in the workspace, with the step's
//! environment, one `INPUT_<NAME>` variable per input (the name upper-cased, spaces made `_`;
//! what `with:` gives, else the input's `default` evaluated like a step's `with`), and
//! `GITHUB_ACTION_PATH` naming the action's folder (`GITHUB_ACTION_REPOSITORY` and
//! `GITHUB_ACTION_REF` come with every step). An input `with:` gives that the action does not
//! declare gets GitHub's "Unexpected input(s)" warning, and a `required` input that is given
//! neither by `with:` nor by a default gets a warning (GitHub leaves the check to the action).
//!
//! `runs.pre` of an action of the store runs at the job's start, before the first step, in step
//! order, when `pre-if` (default `always()`) holds; `runs.post` runs at the job's end, in reverse
//! order, for every step whose main ran, when `post-if` (default `always()`) holds. What `pre`
//! and `main` write to `GITHUB_STATE` (or with `::save-state`) is given to the later phases of
//! the same step as `STATE_<name>` variables, as the runner gives it. Outputs go through
//! `GITHUB_OUTPUT` (or `::set-output`) and workflow commands on the output work as in a `run:`
//! step.

use std::path::{Path, PathBuf};

use slipway_events::{LogKind, Severity};
use slipway_plan::{Action, Condition, ConditionExpression, Step};

use super::actions::{Call, Post};
use super::store::{Metadata, Using};
use super::{Attempt, GithubJob, OutputState, PostStep, STEP, STEP_IF, set_pair};

/// Which part of a node action a step runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) enum Phase {
    /// `runs.pre`, at the job's start.
    Pre,
    /// `runs.main`, at the step.
    #[default]
    Main,
}

/// A node action's `post`, registered when its main ran.
pub(crate) struct NodePost {
    step: Step,
    action: String,
    dir: PathBuf,
    script: String,
    /// The `INPUT_*` variables, as main had them.
    inputs: Vec<(String, String)>,
    /// The step's own `env`, evaluated when main ran.
    step_env: Vec<(String, String)>,
    action_name: String,
    /// What `pre` and `main` saved, by name.
    state: Vec<(String, String)>,
}

/// The environment variable of an input, as the runner names it.
fn input_variable(name: &str) -> String {
    format!("INPUT_{}", name.replace(' ', "_").to_uppercase())
}

/// The variables of saved state.
fn state_variables(state: &[(String, String)]) -> Vec<(String, String)> {
    state.iter().map(|(name, value)| (format!("STATE_{name}"), value.clone())).collect()
}

/// An `if` of an action's metadata (`pre-if`, `post-if`), `always()` when it has none.
fn phase_condition(text: Option<String>) -> Result<Condition, String> {
    super::composite::condition(text.as_deref().unwrap_or("always()"))
}

impl GithubJob<'_> {
    /// The `INPUT_*` variables of a call of an action (with GitHub's warnings about inputs, when
    /// `warn`).
    fn input_environment(
        &self,
        call: &Call<'_>,
        metadata: &Metadata,
        warn: bool,
    ) -> Result<Vec<(String, String)>, String> {
        let declared = metadata.json.get("inputs").and_then(serde_json::Value::as_object);
        let mut env = Vec::new();
        let mut unexpected = Vec::new();
        for (name, value) in call.inputs {
            set_pair(&mut env, &input_variable(name), value.clone());
            if declared.is_some_and(|declared| !declared.keys().any(|key| key.eq_ignore_ascii_case(name))) {
                unexpected.push(name.clone());
            }
        }
        if warn && !unexpected.is_empty() {
            let valid: Vec<String> =
                declared.into_iter().flat_map(|declared| declared.keys()).map(|key| format!("'{key}'")).collect();
            let message =
                format!("Unexpected input(s) '{}', valid inputs are [{}]", unexpected.join("', '"), valid.join(", "));
            self.issue(Some(call.number), Severity::Warning, &message);
        }
        let contexts = self.contexts(STEP, Some(call.step_env));
        for (name, declaration) in declared.into_iter().flatten() {
            if call.inputs.iter().any(|(given, _)| given.eq_ignore_ascii_case(name)) {
                continue;
            }
            match declaration.get("default").and_then(serde_json::Value::as_str) {
                Some(default) => {
                    let value = self
                        .template(default, &contexts)
                        .map_err(|error| format!("the default of the input '{name}': {error}"))?;
                    set_pair(&mut env, &input_variable(name), value);
                }
                None => {
                    let required = declaration
                        .get("required")
                        .and_then(serde_json::Value::as_str)
                        .is_some_and(|value| value.trim().eq_ignore_ascii_case("true"));
                    if warn && required {
                        let message = format!(
                            "Input required and not supplied: {name} (the action '{}' declares it required and it has no default)",
                            call.action
                        );
                        self.issue(Some(call.number), Severity::Warning, &message);
                    }
                }
            }
        }
        Ok(env)
    }

    /// Runs the `main` (or, at the job's start, the `pre`) of a node action.
    pub(super) fn node_action(
        &mut self,
        call: &Call<'_>,
        dir: &Path,
        metadata: &Metadata,
        using: &str,
        state: &mut OutputState,
    ) -> Attempt {
        let number = call.number;
        let phase = self.phase;
        let key = if phase == Phase::Pre { "pre" } else { "main" };
        let Some(script) = metadata.runs(key) else {
            return self.fail(number, &format!("the action '{}' has no `runs.{key}`", call.action));
        };
        if phase == Phase::Main && matches!(using, "node12" | "node16") {
            let message = format!(
                "the action '{}' declares `runs.using: {using}`, which GitHub has retired; Slipway runs it on the installed node",
                call.action
            );
            self.issue(Some(number), Severity::Warning, &message);
        }
        let inputs = match self.input_environment(call, metadata, phase == Phase::Main) {
            Ok(inputs) => inputs,
            Err(error) => return self.fail(number, &format!("the action '{}': {error}", call.action)),
        };
        let slot = if self.depth == 0 { self.current } else { None };
        let earlier = match (phase, slot) {
            (Phase::Main, Some(slot)) => self.pre_state.remove(&slot).unwrap_or_default(),
            _ => Vec::new(),
        };
        let mut environment = call.environment.clone();
        for (name, value) in inputs.iter().chain(&state_variables(&earlier)) {
            set_pair(&mut environment, name, value.clone());
        }
        set_pair(&mut environment, "GITHUB_ACTION_PATH", dir.display().to_string());
        let attempt = self.run_node(call.step, number, call.action, dir, &script, environment, state);

        // What this phase saved, after what earlier phases saved.
        let mut saved = earlier;
        let written = std::fs::read_to_string(&call.files.state).unwrap_or_default();
        match super::files::parse_pairs(&written) {
            Ok(pairs) => {
                for (name, value) in pairs {
                    set_pair(&mut state.saved_state, &name, value);
                }
            }
            Err(error) => {
                self.issue(Some(number), Severity::Error, "Unable to process file command 'state' successfully.");
                self.issue(Some(number), Severity::Error, &error.to_string());
            }
        }
        for (name, value) in std::mem::take(&mut state.saved_state) {
            set_pair(&mut saved, &name, value);
        }
        match phase {
            Phase::Pre => {
                if let Some(slot) = slot {
                    self.pre_state.insert(slot, saved);
                }
            }
            Phase::Main => {
                if let Some(post) = metadata.runs("post") {
                    match phase_condition(metadata.runs("post-if")) {
                        Ok(condition) => {
                            let action_name = self.action_base(call.step);
                            self.post_steps.push(PostStep {
                                display_name: format!("Post {}", self.display(call.step)),
                                only_on_success: false,
                                condition: Some(condition),
                                kind: Post::Node(Box::new(NodePost {
                                    step: call.step.clone(),
                                    action: call.action.to_owned(),
                                    dir: dir.to_path_buf(),
                                    script: post,
                                    inputs,
                                    step_env: call.step_env.to_vec(),
                                    action_name,
                                    state: saved,
                                })),
                            });
                        }
                        Err(error) => {
                            return self.fail(number, &format!("the `post-if` of '{}': {error}", call.action));
                        }
                    }
                }
            }
        }
        attempt
    }

    /// Runs `node SCRIPT` of the action in `dir`, in the workspace.
    #[expect(clippy::too_many_arguments, reason = "one node process with everything it runs in")]
    fn run_node(
        &mut self,
        step: &Step,
        number: u32,
        action: &str,
        dir: &Path,
        script: &str,
        environment: Vec<(String, String)>,
        state: &mut OutputState,
    ) -> Attempt {
        let path = environment.iter().find(|(name, _)| name == "PATH").map(|(_, value)| value.clone());
        let Some(node) = super::find_program("node", path.as_deref()) else {
            return self.fail(
                number,
                &format!(
                    "the action '{action}' is a node action and needs Node.js, but `node` was not found on PATH; install Node.js 20 or later (from https://nodejs.org, or `apt-get install nodejs`) and run again"
                ),
            );
        };
        let file = dir.join(script);
        if !file.is_file() {
            return self.fail(
                number,
                &format!(
                    "the action '{action}' has no file {}; put the action's whole repository, with its built files, in its folder",
                    file.display()
                ),
            );
        }
        if !self.workspace.is_dir()
            && let Err(error) = std::fs::create_dir_all(&self.workspace)
        {
            return self.fail(number, &format!("could not create {}: {error}", self.workspace.display()));
        }
        self.log(Some(number), LogKind::Command, &format!("{} {}", node.display(), file.display()));
        state.allow_unsecure = environment
            .iter()
            .any(|(name, value)| name == "ACTIONS_ALLOW_UNSECURE_COMMANDS" && value.eq_ignore_ascii_case("true"));
        let spec = crate::process::ProcessSpec {
            program: node,
            args: vec![file.display().to_string()],
            cwd: self.workspace.clone(),
            env: environment,
        };
        let exit = self.run_process(&spec, step, number, state);
        self.exit_attempt(exit, step, number)
    }

    /// Runs the `pre` of every step whose action (from the store) has one, at the job's start.
    pub(super) fn run_pre_steps(&mut self, steps: &[Step]) {
        let Some(store) = self.action_store() else { return };
        for (index, step) in steps.iter().enumerate() {
            let Action::Uses { action, .. } = &step.action else { continue };
            if action.starts_with("./") || action.starts_with("../") || action.starts_with("docker://") {
                continue;
            }
            let Some(dir) = super::store::find(&store, action) else { continue };
            let Ok(metadata) = super::store::read_metadata(&dir) else { continue };
            if !matches!(metadata.using, Using::Node(_)) || metadata.runs("pre").is_none() {
                continue;
            }
            self.check_cancel();
            let display = format!("Pre {}", self.display(step));
            let marker = Step::new(Action::Uses { action: String::new(), with: Vec::new() });
            let holds = phase_condition(metadata.runs("pre-if")).and_then(|condition| self.condition_holds(&condition));
            match holds {
                Ok(true) => {}
                Ok(false) => {
                    self.skip(&marker, display, "its `pre-if` was false");
                    continue;
                }
                Err(error) => {
                    self.step_number += 1;
                    let number = self.step_number;
                    self.start_event(&marker, number, &display);
                    let attempt = self.fail(number, &format!("the `pre-if` of '{action}': {error}"));
                    self.finish(&marker, number, &display, std::time::Instant::now(), attempt, Vec::new());
                    continue;
                }
            }
            self.step_number += 1;
            let number = self.step_number;
            let started = std::time::Instant::now();
            self.start_event(&marker, number, &display);
            self.phase = Phase::Pre;
            self.current = Some(index);
            let action_name = self.action_base(step);
            let (attempt, _outputs) = self.attempt(step, number, &action_name);
            self.phase = Phase::Main;
            self.current = None;
            self.finish(&marker, number, &display, started, attempt, Vec::new());
        }
    }

    /// Whether an `if` of an action's metadata holds now.
    pub(super) fn condition_holds(&self, condition: &Condition) -> Result<bool, String> {
        let contexts = self.contexts(STEP_IF, None);
        match &condition.expression {
            ConditionExpression::Github(expression) => slipway_driver::github::condition(expression, &contexts),
            ConditionExpression::Azure(_) => Err(format!("'{}' is not a GitHub expression", condition.source)),
        }
    }

    /// Runs a node action's `post`.
    pub(super) fn node_post(&mut self, number: u32, post: &NodePost) -> Attempt {
        let files = match self.step_files() {
            Ok(files) => files,
            Err(message) => return self.fail(number, &message),
        };
        let mut environment = self.environment(&post.step_env, &files, &post.action_name, &post.step);
        for (name, value) in post.inputs.iter().chain(&state_variables(&post.state)) {
            set_pair(&mut environment, name, value.clone());
        }
        set_pair(&mut environment, "GITHUB_ACTION_PATH", post.dir.display().to_string());
        let mut state = OutputState { echo: self.debug, ..OutputState::default() };
        let attempt = self.run_node(&post.step, number, &post.action, &post.dir, &post.script, environment, &mut state);
        let (attempt, _outputs) = self.read_files(number, &files, attempt, &mut state);
        attempt
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_and_state_are_named_as_the_runner_names_them() {
        assert_eq!(input_variable("who to greet"), "INPUT_WHO_TO_GREET");
        assert_eq!(input_variable("node-version"), "INPUT_NODE-VERSION");
        assert_eq!(state_variables(&[("pid".into(), "42".into())]), [("STATE_pid".to_owned(), "42".to_owned())]);
        assert!(phase_condition(None).is_ok_and(|condition| condition.source == "always()"));
        assert!(
            phase_condition(Some("${{ success() }}".into())).is_ok_and(|condition| condition.source == "success()")
        );
    }
}
