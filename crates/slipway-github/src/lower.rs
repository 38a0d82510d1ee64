//! Lowering a checked [`Workflow`] into Slipway's neutral [`Plan`], pure.
//!
//! A workflow becomes one implicit stage (`__default`) of jobs: `needs` are the jobs'
//! dependencies, `if` a GitHub [`Condition`] (evaluated by the driver with GitHub's rules),
//! `strategy.matrix` one [`Leg`] per combination (GitHub's product of vectors, then `exclude`,
//! then `include` as GitHub documents it) with the combination kept as the leg's `matrix`, and
//! a job with an `environment` a deployment job (so that the environment's approvals and checks
//! apply). Steps keep their text as written: `${{ }}` in `run`, `env`, `with`, names and
//! working directories is evaluated where the step runs, against the contexts only the runtime
//! has. `run` steps get the exact command line GitHub runs for their `shell`.
//!
//! What cannot run yet is refused here, before anything starts, with the place and the reason:
//! reusable workflow calls, `container` and `services` (no container engine), Docker actions,
//! matrices computed by an expression, and `timeout-minutes` or `continue-on-error` written as
//! an expression that needs more than the matrix.

use serde_json::{Map, Value as Json};
use slipway_diagnostics::{Diagnostic, Span};
use slipway_github_expr::{Object, Piece, Value};
use slipway_plan::{
    Action, Concurrency as PlanConcurrency, Condition, Deployment, DeploymentStrategy, Dialect,
    Environment as PlanEnvironment, GithubExpression, Hook, HookKind, Job as PlanJob, JobKind as PlanJobKind, Leg,
    ParameterValue, Plan, Pool, Stage, Step as PlanStep,
};
use slipway_yaml::{Literal, Node, Value as Yaml};

use crate::dispatch::{DispatchError, DispatchTrigger};
use crate::model::{
    Concurrency, Job, JobKind, Permissions, RunDefaults, Step, StepAction, StepsJob, Text, Workflow, is_true,
};

/// The name of the one stage a workflow's jobs are in (Azure's name for an implicit stage).
pub const STAGE: &str = "__default";

/// GitHub's default `timeout-minutes` of a job.
pub const DEFAULT_TIMEOUT_MINUTES: u32 = 360;

/// The most legs a matrix may make (GitHub: 256 jobs per workflow run).
pub const MAX_LEGS: usize = 256;

/// Lowers `workflow` (read from `files`, the first its own) into a plan, with `inputs` the
/// values given for its `workflow_dispatch` or `workflow_call` inputs (defaults fill the rest).
///
/// # Errors
///
/// Every part of the workflow that cannot become a plan, each with its place and reason.
pub fn lower(workflow: &Workflow, files: Vec<String>, inputs: &[(String, String)]) -> Result<Plan, Vec<Diagnostic>> {
    let mut lowering = Lowering { diagnostics: Vec::new() };
    let parameters = lowering.inputs(workflow, inputs);
    let mut jobs = Vec::new();
    for job in &workflow.jobs {
        if let Some(job) = lowering.job(workflow, job) {
            jobs.push(job);
        }
    }
    if !lowering.diagnostics.is_empty() {
        return Err(lowering.diagnostics);
    }
    let mut plan = Plan::new(Dialect::GithubActions, vec![Stage::new(STAGE, jobs)]);
    plan.files = files;
    // GitHub numbers a workflow's runs 1, 2, 3...: the revision counter alone.
    plan.run_name = Some("$(Rev:r)".to_owned());
    plan.parameters = parameters;
    plan.env = pairs(&workflow.env);
    Ok(plan)
}

/// The exact command line GitHub runs a `run` step's script with, `{0}` standing for the
/// script file, for a `shell` as written (`None`: the default on Linux), with the name shown.
///
/// # Errors
///
/// A custom shell that does not name the script file with `{0}`.
pub fn shell_command(shell: Option<&str>) -> Result<(String, String), String> {
    let command = match shell.map(str::trim) {
        None | Some("") => return Ok(("bash".to_owned(), "bash -e {0}".to_owned())),
        Some("bash") => "bash --noprofile --norc -eo pipefail {0}",
        Some("sh") => "sh -e {0}",
        Some("python") => "python {0}",
        Some("pwsh") => "pwsh -command \". '{0}'\"",
        Some("powershell") => "powershell -command \". '{0}'\"",
        Some("cmd") => "%ComSpec% /D /E:ON /V:OFF /S /C \"CALL \"{0}\"\"",
        Some(custom) if custom.contains("{0}") => custom,
        Some(custom) => {
            return Err(format!(
                "the shell `{custom}` is not one of bash, sh, python, pwsh, powershell or cmd, and a custom shell \
                 must name the script file with {{0}} (for example `{custom} {{0}}`)"
            ));
        }
    };
    let name = shell.map(str::trim).unwrap_or_default();
    let name = name.split_whitespace().next().unwrap_or(name);
    Ok((name.to_owned(), command.to_owned()))
}

struct Lowering {
    diagnostics: Vec<Diagnostic>,
}

fn pairs(entries: &[(Text, Text)]) -> Vec<(String, String)> {
    entries.iter().map(|(key, value)| (key.value.clone(), value.value.clone())).collect()
}

fn has_expression(text: &str) -> bool {
    text.contains("${{")
}

/// A scalar or collection of YAML as JSON, scalars typed by YAML 1.2's core schema (as GitHub
/// reads matrix values: `[14, 16]` are numbers, `true` a boolean).
fn to_json(node: &Node) -> Json {
    match &node.value {
        Yaml::Scalar(scalar) => match scalar.literal() {
            Literal::Null => Json::Null,
            Literal::Bool(value) => Json::Bool(value),
            Literal::Number(number) => {
                if number.fract() == 0.0 && number.abs() < 9.0e15 {
                    #[expect(clippy::cast_possible_truncation, reason = "a whole number well inside i64")]
                    Json::from(number as i64)
                } else {
                    serde_json::Number::from_f64(number).map_or(Json::Null, Json::Number)
                }
            }
            Literal::String(text) => Json::String(text.to_owned()),
        },
        Yaml::Sequence(items) => Json::Array(items.iter().map(to_json).collect()),
        Yaml::Mapping(entries) => Json::Object(
            entries.iter().filter_map(|(key, value)| Some((key.as_str()?.to_owned(), to_json(value)))).collect(),
        ),
    }
}

/// A matrix value as GitHub shows it in a leg's name: strings as they are, others as JSON.
fn shown(value: &Json) -> String {
    match value {
        Json::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// A matrix entry or combination: keys and values in the order written (GitHub names legs and
/// orders combinations by it).
pub type Entries = Vec<(String, Json)>;

fn get<'a>(entries: &'a [(String, Json)], key: &str) -> Option<&'a Json> {
    entries.iter().find(|(name, _)| name == key).map(|(_, value)| value)
}

fn set(entries: &mut Entries, key: &str, value: Json) {
    match entries.iter_mut().find(|(name, _)| name == key) {
        Some(entry) => entry.1 = value,
        None => entries.push((key.to_owned(), value)),
    }
}

/// A mapping's entries in order, values as JSON.
fn entries(node: &Node) -> Option<Entries> {
    let mapping = node.as_mapping()?;
    Some(mapping.iter().filter_map(|(key, value)| Some((key.as_str()?.to_owned(), to_json(value)))).collect())
}

/// Whether every key of `pattern` is in `combination` with an equal value (objects matched as
/// subsets, as GitHub matches `exclude` entries).
fn matches(pattern: &[(String, Json)], combination: &[(String, Json)]) -> bool {
    pattern.iter().all(|(key, wanted)| get(combination, key).is_some_and(|value| subset(wanted, value)))
}

fn subset(wanted: &Json, value: &Json) -> bool {
    match (wanted, value) {
        (Json::Object(wanted), Json::Object(value)) => {
            wanted.iter().all(|(key, item)| value.get(key).is_some_and(|other| subset(item, other)))
        }
        _ => wanted == value,
    }
}

/// GitHub's matrix: the product of the vectors (in the order written, the first varying
/// slowest), minus the `exclude` entries, then each `include` entry added to every combination
/// whose original values it does not change (or, when it fits none, made a combination of its
/// own). `matrix` holds the matrix's entries; `include` and `exclude` entries are mappings'.
///
/// # Errors
///
/// A message when the matrix makes more than [`MAX_LEGS`] combinations.
pub fn expand_matrix(matrix: &Node) -> Result<Vec<Entries>, String> {
    let Some(mapping) = matrix.as_mapping() else { return Ok(Vec::new()) };
    let list = |key: &str| -> Vec<Entries> {
        matrix
            .get(key)
            .and_then(Node::as_sequence)
            .map(|items| items.iter().filter_map(entries).collect())
            .unwrap_or_default()
    };
    let vectors: Vec<(String, Vec<Json>)> = mapping
        .iter()
        .filter_map(|(key, value)| {
            let key = key.as_str()?;
            if key == "include" || key == "exclude" {
                return None;
            }
            Some((key.to_owned(), value.as_sequence()?.iter().map(to_json).collect()))
        })
        .collect();
    let mut combinations: Vec<Entries> = if vectors.is_empty() { Vec::new() } else { vec![Vec::new()] };
    for (key, values) in &vectors {
        let mut next = Vec::with_capacity(combinations.len().saturating_mul(values.len()));
        for combination in &combinations {
            for value in values {
                let mut extended = combination.clone();
                extended.push((key.clone(), value.clone()));
                next.push(extended);
            }
        }
        if next.len() > MAX_LEGS * 4 {
            return Err(format!("the matrix makes more than {MAX_LEGS} combinations (GitHub's limit)"));
        }
        combinations = next;
    }
    let excludes = list("exclude");
    combinations.retain(|combination| !excludes.iter().any(|exclude| matches(exclude, combination)));
    // Each include entry is matched against the combinations of the vectors only (not those
    // that earlier entries made): it extends every one whose original values it does not
    // change (values added by earlier entries may be overwritten), else it is a combination of
    // its own.
    let original: Vec<&str> = vectors.iter().map(|(key, _)| key.as_str()).collect();
    let base = combinations.len();
    for include in list("include") {
        let mut fitted = false;
        for combination in combinations.iter_mut().take(base) {
            let fits = include
                .iter()
                .all(|(key, value)| !original.contains(&key.as_str()) || get(combination, key) == Some(value));
            if fits {
                fitted = true;
                for (key, value) in &include {
                    if !original.contains(&key.as_str()) {
                        set(combination, key, value.clone());
                    }
                }
            }
        }
        if !fitted {
            combinations.push(include);
        }
    }
    if combinations.len() > MAX_LEGS {
        return Err(format!(
            "the matrix makes {} combinations, more than GitHub's limit of {MAX_LEGS}",
            combinations.len()
        ));
    }
    Ok(combinations)
}

/// Legs' names: the combination's values joined by `_`, made of letters, digits and `_`,
/// unique in the job.
fn leg_names(combinations: &[Entries]) -> Vec<String> {
    let mut names: Vec<String> = Vec::with_capacity(combinations.len());
    for (index, combination) in combinations.iter().enumerate() {
        let joined = combination.iter().map(|(_, value)| shown(value)).collect::<Vec<_>>().join("_");
        let mut name: String =
            joined.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).take(64).collect();
        if name.is_empty() {
            name = format!("leg{}", index + 1);
        }
        if names.contains(&name) {
            name = format!("{name}_{}", index + 1);
        }
        names.push(name);
    }
    names
}

fn object(entries: Entries) -> Json {
    Json::Object(entries.into_iter().collect::<Map<String, Json>>())
}

impl Lowering {
    fn error(&mut self, code: &'static str, message: impl Into<String>, span: Span, hint: &str) {
        let mut diagnostic = Diagnostic::error(code, message, Some(span));
        if !hint.is_empty() {
            diagnostic = diagnostic.with_hint(hint.to_owned());
        }
        self.diagnostics.push(diagnostic);
    }

    /// The inputs' values: those given, typed by their declaration (`on.workflow_dispatch.inputs`,
    /// then `on.workflow_call.inputs` not declared there) as [`DispatchTrigger::values`] types
    /// them, and the declared defaults; a required input left out gets its type's empty value
    /// (nothing asked for it here; the server's run form and API require it).
    fn inputs(&mut self, workflow: &Workflow, given: &[(String, String)]) -> Vec<ParameterValue> {
        let mut declared = DispatchTrigger::default();
        for trigger in &workflow.on {
            if !matches!(trigger.event.value.as_str(), "workflow_dispatch" | "workflow_call") {
                continue;
            }
            // The schema's and the triggers' checks report what `read` finds wrong.
            let (inputs, _) = DispatchTrigger::read(trigger);
            for input in inputs.inputs {
                if declared.input(&input.name).is_none() {
                    declared.inputs.push(input);
                }
            }
        }
        match declared.values(given) {
            Ok(values) => {
                values.into_iter().map(|(name, value)| ParameterValue { name, value: value.to_json() }).collect()
            }
            Err(errors) => {
                for error in errors {
                    match &error {
                        DispatchError::Unknown { name, .. } => self.error(
                            "G0511",
                            format!("the workflow has no input named `{name}`"),
                            workflow.span,
                            "inputs are declared under `on.workflow_dispatch.inputs` or `on.workflow_call.inputs`",
                        ),
                        DispatchError::Invalid { name, .. } | DispatchError::Missing { name, .. } => {
                            let span = declared.input(name).map_or(workflow.span, |input| input.span);
                            self.error("G0510", error.to_string(), span, "");
                        }
                    }
                }
                Vec::new()
            }
        }
    }

    /// A step's or job's `if`: an expression written bare or inside one `${{ }}`; text around
    /// `${{ }}` makes it a string as GitHub reads it (`format(...)` of the pieces, truthy when
    /// not empty, so usually always true; the check warns about it, `G0204`).
    fn condition(&mut self, text: &Text) -> Option<Condition> {
        let trimmed = text.value.trim();
        let source = match slipway_github_expr::split_template(trimmed) {
            Ok(pieces) if pieces.len() == 1 => match &pieces[0] {
                Piece::Expression { text, .. } => text.trim().to_owned(),
                Piece::Literal { .. } => trimmed.to_owned(),
            },
            Ok(pieces) if !pieces.is_empty() => {
                let mut format = String::new();
                let mut arguments = Vec::new();
                for piece in &pieces {
                    match piece {
                        Piece::Literal { text, .. } => {
                            format.push_str(&text.replace('{', "{{").replace('}', "}}").replace('\'', "''"));
                        }
                        Piece::Expression { text, .. } => {
                            format.push_str(&format!("{{{}}}", arguments.len()));
                            arguments.push(text.trim().to_owned());
                        }
                    }
                }
                format!("format('{format}', {})", arguments.join(", "))
            }
            _ => trimmed.to_owned(),
        };
        match GithubExpression::parse(&source) {
            Ok(expression) => Some(Condition { source, expression: expression.into(), span: Some(text.span) }),
            Err(error) => {
                self.error("G0512", format!("the `if` cannot be read: {error}"), text.span, "");
                None
            }
        }
    }

    fn job(&mut self, workflow: &Workflow, job: &Job) -> Option<PlanJob> {
        let steps_job = match &job.kind {
            JobKind::Steps(steps) => steps,
            JobKind::Workflow(call) => {
                self.error(
                    "G0501",
                    format!(
                        "the job `{}` calls the reusable workflow `{}`, which Slipway cannot run yet",
                        job.id.value, call.uses.value
                    ),
                    call.uses.span,
                    "copy the called workflow's jobs into this workflow for now",
                );
                return None;
            }
        };
        if let Some(container) = &steps_job.container {
            self.error(
                "G0502",
                format!("the job `{}` runs in a container, and no container engine is available", job.id.value),
                container.span,
                "remove `container:` to run the steps on the agent itself",
            );
        }
        if let Some(services) = &steps_job.services {
            self.error(
                "G0502",
                format!("the job `{}` has service containers, and no container engine is available", job.id.value),
                services.span,
                "start the services another way (a step, or a service the agent's machine runs)",
            );
        }
        let (legs, fail_fast, max_parallel) = self.legs(job);
        let mut plan_job = PlanJob::new(job.id.value.clone(), Vec::new());
        plan_job.display_name = job.name.as_ref().map(|name| name.value.clone());
        plan_job.depends_on = job.needs.iter().map(|need| need.value.clone()).collect();
        plan_job.condition = job.condition.as_ref().and_then(|condition| self.condition(condition));
        plan_job.fail_fast = fail_fast;
        plan_job.max_parallel = max_parallel;
        plan_job.env = pairs(&steps_job.env);
        plan_job.outputs = pairs(&steps_job.outputs);
        plan_job.span = Some(job.span);
        plan_job.timeout_minutes = Some(DEFAULT_TIMEOUT_MINUTES);
        if let Some(timeout) = &steps_job.timeout_minutes {
            plan_job.timeout_minutes = self.minutes(timeout);
        }
        let mut legs = legs;
        if let Some(continue_on_error) = &steps_job.continue_on_error {
            if has_expression(&continue_on_error.value) {
                for leg in &mut legs {
                    leg.continue_on_error = self.matrix_flag(continue_on_error, leg.matrix.as_ref());
                }
            } else {
                plan_job.continue_on_error = is_true(continue_on_error);
            }
        }
        plan_job.legs = legs;
        plan_job.pool = Some(pool(steps_job));
        plan_job.concurrency = job.concurrency.as_ref().or(workflow.concurrency.as_ref()).map(concurrency);
        plan_job.permissions = permissions(job.permissions.as_ref().or(workflow.permissions.as_ref()));
        let defaults = steps_job.defaults.as_ref().or(workflow.defaults.as_ref());
        let steps: Vec<PlanStep> = steps_job.steps.iter().filter_map(|step| self.step(step, defaults)).collect();
        match &steps_job.environment {
            Some(environment) => {
                plan_job.kind = PlanJobKind::Deployment(Deployment {
                    environment: Some(PlanEnvironment {
                        name: environment.name.value.clone(),
                        resource_name: None,
                        resource_type: None,
                        tags: Vec::new(),
                    }),
                    strategy: DeploymentStrategy::RunOnce,
                    hooks: vec![Hook { kind: HookKind::Deploy, pool: None, steps }],
                });
                if has_expression(&environment.name.value) {
                    self.error(
                        "G0505",
                        format!(
                            "the environment of the job `{}` is an expression, which Slipway cannot resolve before the run yet",
                            job.id.value
                        ),
                        environment.name.span,
                        "name the environment as plain text",
                    );
                }
            }
            None => plan_job.steps = steps,
        }
        Some(plan_job)
    }

    /// `timeout-minutes` as a whole number of minutes (GitHub allows fractions; Slipway rounds
    /// up to the next minute).
    fn minutes(&mut self, text: &Text) -> Option<u32> {
        if has_expression(&text.value) {
            self.error(
                "G0504",
                "`timeout-minutes` written as an expression cannot be resolved before the run yet",
                text.span,
                "write the number of minutes",
            );
            return None;
        }
        match text.value.trim().parse::<f64>() {
            #[expect(clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "bounded to u32 just before")]
            Ok(minutes) if minutes > 0.0 && minutes <= f64::from(u32::MAX) => Some(minutes.ceil() as u32),
            _ => {
                self.error(
                    "G0504",
                    format!("`timeout-minutes` must be a positive number of minutes, not `{}`", text.value),
                    text.span,
                    "",
                );
                None
            }
        }
    }

    /// A flag written with `${{ }}` that reads only `matrix` (and `strategy`), evaluated for
    /// one leg.
    fn matrix_flag(&mut self, text: &Text, matrix: Option<&Json>) -> Option<bool> {
        let mut contexts = Object::new();
        contexts.insert("matrix", matrix.cloned().map_or(Value::Null, Value::from));
        match slipway_github_expr::evaluate_template(&text.value, &contexts) {
            Ok(value) => Some(matches!(value.trim(), "true")),
            Err(error) => {
                self.error(
                    "G0504",
                    format!("`continue-on-error` cannot be resolved before the run: {error}"),
                    text.span,
                    "Slipway resolves it from `matrix` only, for now",
                );
                None
            }
        }
    }

    fn legs(&mut self, job: &Job) -> (Vec<Leg>, bool, Option<u32>) {
        let Some(strategy) = &job.strategy else { return (vec![Leg::single()], false, None) };
        let fail_fast = strategy.fail_fast.as_ref().is_none_or(is_true);
        let max_parallel = strategy.max_parallel.as_ref().and_then(|text| text.value.trim().parse::<u32>().ok());
        let Some(matrix) = &strategy.matrix else { return (vec![Leg::single()], fail_fast, max_parallel) };
        let expression = |node: &Node| node.as_str().is_some_and(has_expression);
        let computed = expression(matrix)
            || matrix.as_mapping().is_some_and(|entries| entries.iter().any(|(_, value)| expression(value)));
        if computed {
            self.error(
                "G0503",
                format!(
                    "the matrix of the job `{}` is computed by an expression, which Slipway cannot expand yet",
                    job.id.value
                ),
                matrix.span,
                "write the matrix's values in the workflow",
            );
            return (vec![Leg::single()], fail_fast, max_parallel);
        }
        let combinations = match expand_matrix(matrix) {
            Ok(combinations) => combinations,
            Err(message) => {
                self.error("G0506", message, matrix.span, "");
                return (vec![Leg::single()], fail_fast, max_parallel);
            }
        };
        if combinations.is_empty() {
            self.error(
                "G0507",
                format!("the matrix of the job `{}` has no combinations left", job.id.value),
                matrix.span,
                "check the `exclude` entries: GitHub fails a job whose matrix is empty",
            );
            return (vec![Leg::single()], fail_fast, max_parallel);
        }
        let shown_name = job.name.as_ref().map_or(job.id.value.as_str(), |name| name.value.as_str());
        let names = leg_names(&combinations);
        let legs = combinations
            .into_iter()
            .zip(names)
            .map(|(combination, name)| {
                let values = combination.iter().map(|(_, value)| shown(value)).collect::<Vec<_>>().join(", ");
                let matrix = object(combination);
                let display_name = if has_expression(shown_name) {
                    let mut contexts = Object::new();
                    contexts.insert("matrix", Value::from(matrix.clone()));
                    slipway_github_expr::evaluate_template(shown_name, &contexts)
                        .unwrap_or_else(|_| format!("{shown_name} ({values})"))
                } else {
                    format!("{shown_name} ({values})")
                };
                Leg { name: Some(name), display_name: Some(display_name), matrix: Some(matrix), ..Leg::single() }
            })
            .collect();
        (legs, fail_fast, max_parallel)
    }

    fn step(&mut self, step: &Step, defaults: Option<&RunDefaults>) -> Option<PlanStep> {
        let action = match &step.action {
            StepAction::Run { run, shell, working_directory } => {
                let shell_text = shell.as_ref().or_else(|| defaults.and_then(|defaults| defaults.shell.as_ref()));
                let (shell_name, command) = match shell_command(shell_text.map(|text| text.value.as_str())) {
                    Ok(pair) => pair,
                    Err(message) => {
                        self.error("G0508", message, shell_text.map_or(step.span, |text| text.span), "");
                        return None;
                    }
                };
                let directory = working_directory
                    .as_ref()
                    .or_else(|| defaults.and_then(|defaults| defaults.working_directory.as_ref()))
                    .map(|text| text.value.clone());
                let mut lowered = PlanStep::new(Action::Run { shell: shell_name, command, script: run.value.clone() });
                lowered.working_directory = directory;
                lowered
            }
            StepAction::Uses { uses, with } => {
                if uses.value.starts_with("docker://") {
                    self.error(
                        "G0502",
                        format!(
                            "the step uses the Docker action `{}`, and no container engine is available",
                            uses.value
                        ),
                        uses.span,
                        "run the tool with a `run:` step instead",
                    );
                    return None;
                }
                PlanStep::new(Action::Uses { action: uses.value.clone(), with: pairs(with) })
            }
        };
        let mut lowered = action;
        lowered.name = step.id.as_ref().map(|id| id.value.clone());
        lowered.display_name = step.name.as_ref().map(|name| name.value.clone());
        lowered.condition = step.condition.as_ref().and_then(|condition| self.condition(condition));
        lowered.env = pairs(&step.env);
        lowered.span = Some(step.span);
        if let Some(timeout) = &step.timeout_minutes {
            lowered.timeout_minutes = self.minutes(timeout);
        }
        if let Some(continue_on_error) = &step.continue_on_error {
            if has_expression(&continue_on_error.value) {
                self.error(
                    "G0504",
                    "a step's `continue-on-error` written as an expression cannot be resolved before the run yet",
                    continue_on_error.span,
                    "write `true` or `false`, or set `continue-on-error` on the job from the matrix",
                );
            } else {
                lowered.continue_on_error = is_true(continue_on_error);
            }
        }
        Some(lowered)
    }
}

/// Where a job runs, from `runs-on`: a hosted image label (`ubuntu-latest`) is the pool's
/// image, `linux`/`windows`/`macos` and `x64`/`arm64` are the agent's operating system and
/// architecture, `self-hosted` says nothing more, and any other label is a capability the agent
/// must have.
fn pool(job: &StepsJob) -> Pool {
    let mut image = None;
    let mut demands = Vec::new();
    for label in &job.runs_on.labels {
        let text = label.value.trim();
        let lower = text.to_ascii_lowercase();
        if has_expression(text) || lower == "self-hosted" {
            continue;
        }
        match lower.as_str() {
            "linux" => demands.push("Agent.OS -equals Linux".to_owned()),
            "windows" => demands.push("Agent.OS -equals Windows_NT".to_owned()),
            "macos" => demands.push("Agent.OS -equals Darwin".to_owned()),
            "x64" => demands.push("Agent.OSArchitecture -equals X64".to_owned()),
            "arm64" => demands.push("Agent.OSArchitecture -equals ARM64".to_owned()),
            _ if ["ubuntu-", "windows-", "macos-"].iter().any(|prefix| lower.starts_with(prefix)) => {
                image.get_or_insert_with(|| text.to_owned());
            }
            _ => demands.push(text.to_owned()),
        }
    }
    Pool { name: job.runs_on.group.as_ref().map(|group| group.value.clone()), image, demands }
}

fn concurrency(concurrency: &Concurrency) -> PlanConcurrency {
    PlanConcurrency {
        group: concurrency.group.value.clone(),
        cancel_in_progress: concurrency
            .cancel_in_progress
            .as_ref()
            .map_or_else(|| "false".to_owned(), |text| text.value.clone()),
    }
}

fn permissions(permissions: Option<&Permissions>) -> Vec<(String, String)> {
    match permissions {
        None => Vec::new(),
        Some(Permissions::Shorthand(text)) => vec![("*".to_owned(), text.value.clone())],
        Some(Permissions::Scopes(scopes)) => pairs(scopes),
    }
}

#[cfg(test)]
mod tests;
