//! The document root, stages, jobs (agent, server, deployment, legacy phases) and the properties
//! they share: pools, containers, strategies, workspaces and variables.

use slipway_diagnostics::Diagnostic;
use slipway_yaml::Node;

use super::expressions::{check_condition, check_variable_value};
use super::values::{is_identifier, scalar_text};
use super::{Accepts, Shape, Validator, key_name, steps, triggers};

/// Keys every pipeline may have at the top level.
const PIPELINE_KEYS: &[&str] = &[
    "name",
    "appendCommitMessageToRunName",
    "trigger",
    "pr",
    "schedules",
    "resources",
    "variables",
    "parameters",
    "lockBehavior",
    "pool",
    "extends",
    "stages",
    "jobs",
    "phases",
    "steps",
];

/// Job keys allowed at the top level when the pipeline lists its steps directly (one implicit job).
const ROOT_JOB_KEYS: &[&str] = &[
    "strategy",
    "continueOnError",
    "container",
    "services",
    "workspace",
    "timeoutInMinutes",
    "cancelTimeoutInMinutes",
    "condition",
    "queue",
    "server",
    "uses",
    "templateContext",
];

/// The ways a pipeline lists its work, at most one of which may be used.
const BODY_KEYS: &[&str] = &["stages", "jobs", "phases", "steps"];

const STAGE_KEYS: &[&str] = &[
    "stage",
    "group",
    "displayName",
    "pool",
    "dependsOn",
    "condition",
    "variables",
    "jobs",
    "lockBehavior",
    "trigger",
    "isSkippable",
    "templateContext",
    "checks",
];

const JOB_KEYS: &[&str] = &[
    "job",
    "displayName",
    "dependsOn",
    "condition",
    "continueOnError",
    "timeoutInMinutes",
    "cancelTimeoutInMinutes",
    "variables",
    "strategy",
    "pool",
    "container",
    "services",
    "workspace",
    "uses",
    "steps",
    "templateContext",
    "queue",
    "server",
];

const DEPLOYMENT_KEYS: &[&str] = &[
    "deployment",
    "displayName",
    "dependsOn",
    "condition",
    "continueOnError",
    "timeoutInMinutes",
    "cancelTimeoutInMinutes",
    "variables",
    "pool",
    "environment",
    "strategy",
    "workspace",
    "uses",
    "container",
    "services",
    "templateContext",
];

const PHASE_KEYS: &[&str] =
    &["phase", "dependsOn", "displayName", "condition", "continueOnError", "queue", "server", "variables", "steps"];

const STRATEGY_KEYS: &[&str] = &["matrix", "maxParallel", "parallel"];
const DEPLOYMENT_STRATEGIES: &[&str] = &["runOnce", "rolling", "canary"];
const HOOKS: &[&str] = &["preDeploy", "deploy", "routeTraffic", "postRouteTraffic", "on"];
const HOOK_KEYS: &[&str] = &["steps", "pool"];
const ENVIRONMENT_KEYS: &[&str] = &["name", "resourceName", "resourceId", "resourceType", "tags"];
const QUEUE_KEYS: &[&str] =
    &["cancelTimeoutInMinutes", "container", "demands", "matrix", "name", "parallel", "timeoutInMinutes", "workspace"];
const SERVER_KEYS: &[&str] = &["cancelTimeoutInMinutes", "matrix", "parallel", "timeoutInMinutes"];

/// Checks the whole document.
pub(super) fn check_pipeline(validator: &mut Validator, root: &Node) {
    if root.is_null() {
        validator.push(
            Diagnostic::error("V0003", "the pipeline is empty: expected `stages`, `jobs` or `steps`", Some(root.span))
                .with_hint(
                    "a minimal pipeline is `steps:` followed by a list of steps, such as `- script: echo hello`",
                ),
        );
        return;
    }
    let Some(entries) = validator.mapping(root, "the pipeline") else {
        return;
    };
    let bodies: Vec<&Node> =
        entries.iter().filter(|(key, _)| BODY_KEYS.contains(&key_name(key))).map(|(key, _)| key).collect();
    if let Some((first, rest)) = bodies.split_first() {
        for extra in rest {
            validator.push(
                Diagnostic::error(
                    "V0009",
                    format!("`{}` cannot be used together with `{}` in the pipeline", key_name(extra), key_name(first)),
                    Some(extra.span),
                )
                .with_hint("a pipeline lists either `stages`, `jobs` or `steps` at the top level"),
            );
        }
    } else if root.get("extends").is_none() {
        validator.push(
            Diagnostic::error("V0003", "the pipeline has no `stages`, `jobs` or `steps`", Some(root.span))
                .with_hint("list the work under `stages:`, `jobs:` or `steps:`"),
        );
    }
    let body = bodies.first().map(|key| key_name(key));
    let job_keys_allowed = matches!(body, None | Some("steps"));
    for (key, value) in entries {
        let Some(name) = scalar_text(key) else {
            validator.error(
                "V0002",
                format!("a key in the pipeline expects a string, found {}", key.kind_name()),
                key.span,
            );
            continue;
        };
        let what = format!("`{name}` in the pipeline");
        match name {
            "name" => validator.scalar(value, &what),
            "appendCommitMessageToRunName" => validator.boolean(value, &what),
            "trigger" => triggers::check_trigger(validator, value, "the pipeline's `trigger`"),
            "pr" => triggers::check_pr(validator, value),
            "schedules" => triggers::check_schedules(validator, value),
            "resources" => triggers::check_resources(validator, value),
            "variables" => check_variables(validator, value, "the pipeline"),
            "lockBehavior" => validator.one_of(value, &["sequential", "runLatest"], &what),
            "pool" => check_pool(validator, value, &what),
            "parameters" | "extends" => {}
            "stages" => {
                if let Some(stages) = validator.sequence(value, &what) {
                    for (index, stage) in stages.iter().enumerate() {
                        check_stage(validator, stage, index);
                    }
                }
            }
            "jobs" => check_jobs(validator, value, None),
            "phases" => {
                if let Some(phases) = validator.sequence(value, &what) {
                    for (index, phase) in phases.iter().enumerate() {
                        check_phase(validator, phase, index);
                    }
                }
            }
            "steps" => steps::check_steps(validator, value, "the pipeline"),
            _ if ROOT_JOB_KEYS.contains(&name) => {
                if job_keys_allowed {
                    check_job_property(validator, name, value, "the pipeline");
                } else {
                    validator.push(
                        Diagnostic::error("V0001", format!("unknown key `{name}` in the pipeline"), Some(key.span)).with_hint(
                            format!("`{name}` belongs to a job; at the top level it is only allowed when the pipeline lists `steps` directly"),
                        ),
                    );
                }
            }
            _ => {
                let allowed: Vec<&str> = if job_keys_allowed {
                    PIPELINE_KEYS.iter().chain(ROOT_JOB_KEYS).copied().collect()
                } else {
                    PIPELINE_KEYS.to_vec()
                };
                validator.unknown_key(key, name, &allowed, "the pipeline");
            }
        }
    }
}

/// How a stage is called in messages: "stage `Build`", or "stage 2" when it has no name.
pub(crate) fn stage_label(stage: &Node, index: usize) -> String {
    match stage.get("stage").and_then(scalar_text).filter(|name| !name.is_empty()) {
        Some(name) => format!("stage `{name}`"),
        None => format!("stage {}", index + 1),
    }
}

/// How a job is called in messages: "job `build`", "deployment `web`", or "job 2 of stage `A`".
pub(crate) fn job_label(job: &Node, index: usize, stage: Option<&str>) -> String {
    let (word, name) = match (job.get("deployment"), job.get("phase")) {
        (Some(name), _) => ("deployment", scalar_text(name)),
        (None, Some(name)) => ("phase", scalar_text(name)),
        (None, None) => ("job", job.get("job").and_then(scalar_text)),
    };
    match (name.filter(|name| !name.is_empty()), stage) {
        (Some(name), _) => format!("{word} `{name}`"),
        (None, Some(stage)) => format!("{word} {} of {stage}", index + 1),
        (None, None) => format!("{word} {}", index + 1),
    }
}

fn check_stage(validator: &mut Validator, stage: &Node, index: usize) {
    let label = stage_label(stage, index);
    let Some(entries) = validator.mapping(stage, &label) else {
        return;
    };
    if stage.get("template").is_some() {
        return;
    }
    for (key, value) in entries {
        let name = key_name(key);
        let what = format!("`{name}` in {label}");
        match name {
            "stage" => check_name(validator, value, "stage"),
            "group" | "displayName" => validator.scalar(value, &what),
            "pool" => check_pool(validator, value, &what),
            "dependsOn" => validator.strings(value, &what, true),
            "condition" => check_condition(value, &label, &mut validator.diagnostics),
            "variables" => check_variables(validator, value, &label),
            "jobs" => check_jobs(validator, value, Some(&label)),
            "lockBehavior" => validator.one_of(value, &["sequential", "runLatest"], &what),
            "trigger" => validator.one_of(value, &["manual", "automatic"], &what),
            "isSkippable" => validator.boolean(value, &what),
            "templateContext" => {}
            "checks" => {
                if let Some(checks) = validator.sequence(value, &what) {
                    for check in checks {
                        if let Some(check_entries) = validator.mapping(check, &format!("a check of {label}")) {
                            validator.keys(check_entries, &["type"], &format!("a check of {label}"));
                        }
                    }
                }
            }
            _ => validator.unknown_key(key, name, STAGE_KEYS, &label),
        }
    }
}

fn check_jobs(validator: &mut Validator, node: &Node, stage: Option<&str>) {
    let what = match stage {
        Some(stage) => format!("`jobs` in {stage}"),
        None => "`jobs` in the pipeline".to_owned(),
    };
    if let Some(jobs) = validator.sequence(node, &what) {
        for (index, job) in jobs.iter().enumerate() {
            check_job(validator, job, index, stage);
        }
    }
}

fn check_job(validator: &mut Validator, job: &Node, index: usize, stage: Option<&str>) {
    let label = job_label(job, index, stage);
    let Some(entries) = validator.mapping(job, &label) else {
        return;
    };
    if job.get("template").is_some() {
        return;
    }
    if let (Some((job_key, _)), Some(_)) = (job.entry("job"), job.get("deployment")) {
        validator.push(
            Diagnostic::error(
                "V0009",
                format!("`job` cannot be used together with `deployment` in {label}"),
                Some(job_key.span),
            )
            .with_hint("a job is either a `job` or a `deployment`"),
        );
        return;
    }
    let deployment = job.get("deployment").is_some();
    let allowed = if deployment { DEPLOYMENT_KEYS } else { JOB_KEYS };
    for (key, value) in entries {
        let name = key_name(key);
        match name {
            "job" | "deployment" => check_name(validator, value, "job"),
            "environment" if deployment => check_environment(validator, value, &label),
            "strategy" if deployment => check_deployment_strategy(validator, value, &label),
            _ if allowed.contains(&name) => check_job_property(validator, name, value, &label),
            _ => validator.unknown_key(key, name, allowed, &label),
        }
    }
}

fn check_phase(validator: &mut Validator, phase: &Node, index: usize) {
    let label = job_label(phase, index, None);
    let Some(entries) = validator.mapping(phase, &label) else {
        return;
    };
    if phase.get("template").is_some() {
        return;
    }
    for (key, value) in entries {
        let name = key_name(key);
        match name {
            "phase" => check_name(validator, value, "phase"),
            _ if PHASE_KEYS.contains(&name) => check_job_property(validator, name, value, &label),
            _ => validator.unknown_key(key, name, PHASE_KEYS, &label),
        }
    }
}

/// Checks one property shared by jobs, phases and the top level of a steps-only pipeline.
fn check_job_property(validator: &mut Validator, name: &str, value: &Node, label: &str) {
    let what = format!("`{name}` in {label}");
    match name {
        "displayName" => validator.scalar(value, &what),
        "dependsOn" => validator.strings(value, &what, true),
        "condition" => check_condition(value, label, &mut validator.diagnostics),
        "continueOnError" => validator.boolean(value, &what),
        "timeoutInMinutes" | "cancelTimeoutInMinutes" => validator.number(value, &what),
        "variables" => check_variables(validator, value, label),
        "strategy" => check_strategy(validator, value, label),
        "pool" => check_pool(validator, value, &what),
        "container" => check_container(validator, value, &what),
        "services" => {
            if let Some(services) = validator.mapping(value, &what) {
                for (service, definition) in services {
                    let service_what = format!("service `{}` in {label}", key_name(service));
                    if let Some(Shape::Mapping(_)) =
                        validator.shape(definition, Accepts::MAPPING_OR_SCALAR, &service_what)
                    {
                        check_container(validator, definition, &service_what);
                    }
                }
            }
        }
        "workspace" => {
            if let Some(entries) = validator.mapping(value, &what) {
                validator.keys(entries, &["clean"], &what);
                if let Some(clean) = value.get("clean") {
                    validator.one_of(clean, &["outputs", "resources", "all"], &format!("`workspace.clean` in {label}"));
                }
            }
        }
        "uses" => {
            if let Some(entries) = validator.mapping(value, &what) {
                validator.keys(entries, &["repositories", "pools"], &what);
                for (key, list) in entries {
                    validator.strings(list, &format!("`uses.{}` in {label}", key_name(key)), false);
                }
            }
        }
        "steps" => steps::check_steps(validator, value, label),
        "queue" => check_legacy_target(validator, value, &what, QUEUE_KEYS),
        "server" => check_legacy_target(validator, value, &what, SERVER_KEYS),
        _ => {}
    }
}

/// Checks a stage or job name.
fn check_name(validator: &mut Validator, node: &Node, kind: &str) {
    let Some(Shape::Scalar(scalar)) = validator.shape(node, Accepts::SCALAR, &format!("the {kind} name")) else {
        return;
    };
    if !is_identifier(&scalar.text) {
        validator.push(
            Diagnostic::error("V0005", format!("{kind} name `{}` is invalid", scalar.text), Some(node.span))
                .with_hint("valid names may only contain letters, digits and `_`, and may not start with a digit"),
        );
    }
}

/// `pool`: a pool name, or a mapping with `name`, `vmImage` and `demands` (other keys are pool
/// properties that Azure passes on, so they are accepted).
pub(super) fn check_pool(validator: &mut Validator, node: &Node, what: &str) {
    let Some(Shape::Mapping(entries)) = validator.shape(node, Accepts::MAPPING_OR_SCALAR, what) else {
        return;
    };
    for (key, value) in entries {
        match key_name(key) {
            "name" | "vmImage" => validator.scalar(value, &format!("`{}` in {what}", key_name(key))),
            "demands" => validator.strings(value, &format!("`demands` in {what}"), true),
            _ => {}
        }
    }
}

/// `container` of a job, or one service container: an image or resource name, or a mapping.
fn check_container(validator: &mut Validator, node: &Node, what: &str) {
    let Some(Shape::Mapping(entries)) = validator.shape(node, Accepts::MAPPING_OR_SCALAR, what) else {
        return;
    };
    if node.get("alias").is_none() && node.get("image").is_none() {
        validator.push(
            Diagnostic::error("V0003", format!("{what} is missing the required key `image`"), Some(node.span))
                .with_hint("give the container's `image`, or the `alias` of a container resource"),
        );
    }
    for (key, value) in entries {
        let name = key_name(key);
        let key_what = format!("`{name}` in {what}");
        match name {
            "alias" | "endpoint" | "image" | "options" => validator.scalar(value, &key_what),
            "env" => validator.string_map(value, &key_what),
            "mapDockerSocket" => validator.boolean(value, &key_what),
            "ports" | "volumes" => validator.strings(value, &key_what, false),
            "mountReadOnly" => {
                if let Some(mounts) = validator.mapping(value, &key_what) {
                    validator.keys(mounts, &["work", "externals", "tools", "tasks"], &key_what);
                    for (mount, flag) in mounts {
                        validator.boolean(flag, &format!("`{}` in {key_what}", key_name(mount)));
                    }
                }
            }
            _ => {}
        }
    }
}

/// `strategy` of an agent job: `matrix` (with `maxParallel`) or `parallel`.
fn check_strategy(validator: &mut Validator, node: &Node, label: &str) {
    let what = format!("`strategy` in {label}");
    let Some(entries) = validator.mapping(node, &what) else {
        return;
    };
    if let (Some(_), Some((parallel_key, _))) = (node.get("matrix"), node.entry("parallel")) {
        validator.push(
            Diagnostic::error(
                "V0009",
                format!("`parallel` cannot be used together with `matrix` in {what}"),
                Some(parallel_key.span),
            )
            .with_hint("a job runs either once per matrix entry or `parallel` times"),
        );
    }
    for (key, value) in entries {
        let name = key_name(key);
        match name {
            "matrix" => check_matrix(validator, value, label),
            "maxParallel" | "parallel" => validator.number(value, &format!("`strategy.{name}` in {label}")),
            _ => validator.unknown_key(key, name, STRATEGY_KEYS, &what),
        }
    }
}

/// A matrix: configuration names to variables, or a `$[ ]` expression producing them.
fn check_matrix(validator: &mut Validator, node: &Node, label: &str) {
    let what = format!("`strategy.matrix` in {label}");
    let Some(Shape::Mapping(legs)) = validator.shape(node, Accepts::MAPPING_OR_SCALAR, &what) else {
        return;
    };
    // The docs restrict configuration names to letters, digits and `_`, but Azure runs matrices
    // whose names hold spaces, `-` and `+` (microsoft/mimalloc, microsoft/snmalloc), so names are
    // not checked.
    for (leg, variables) in legs {
        validator.string_map(variables, &format!("matrix configuration `{}` in {label}", key_name(leg)));
    }
}

/// The legacy `queue:` and `server:` targets of phases.
fn check_legacy_target(validator: &mut Validator, node: &Node, what: &str, allowed: &[&str]) {
    let Some(Shape::Mapping(entries)) = validator.shape(node, Accepts::MAPPING_OR_SCALAR, what) else {
        return;
    };
    for (key, value) in entries {
        let name = key_name(key);
        let key_what = format!("`{name}` in {what}");
        match name {
            "cancelTimeoutInMinutes" | "timeoutInMinutes" | "parallel" => validator.number(value, &key_what),
            "container" | "name" => validator.scalar(value, &key_what),
            "demands" => validator.strings(value, &key_what, true),
            "matrix" => {
                if let Some(Shape::Mapping(legs)) = validator.shape(value, Accepts::MAPPING_OR_SCALAR, &key_what) {
                    for (leg, variables) in legs {
                        validator.string_map(variables, &format!("matrix configuration `{}` in {what}", key_name(leg)));
                    }
                }
            }
            "workspace" => {
                if let Some(workspace) = validator.mapping(value, &key_what) {
                    validator.keys(workspace, &["clean"], &key_what);
                    if let Some(clean) = value.get("clean") {
                        validator.one_of(
                            clean,
                            &["outputs", "resources", "all"],
                            &format!("`workspace.clean` in {what}"),
                        );
                    }
                }
            }
            _ => validator.unknown_key(key, name, allowed, what),
        }
    }
}

/// `environment` of a deployment job: `name`, `name.resource`, or a mapping.
fn check_environment(validator: &mut Validator, node: &Node, label: &str) {
    let what = format!("`environment` in {label}");
    let Some(Shape::Mapping(entries)) = validator.shape(node, Accepts::MAPPING_OR_SCALAR, &what) else {
        return;
    };
    if node.get("name").is_none() {
        validator.push(
            Diagnostic::error("V0003", format!("{what} is missing the required key `name`"), Some(node.span))
                .with_hint("name the environment to deploy to, such as `name: production`"),
        );
    }
    validator.keys(entries, ENVIRONMENT_KEYS, &what);
    for (key, value) in entries {
        let name = key_name(key);
        match name {
            "tags" => validator.strings(value, &format!("`environment.tags` in {label}"), true),
            _ if ENVIRONMENT_KEYS.contains(&name) => {
                validator.scalar(value, &format!("`environment.{name}` in {label}"))
            }
            _ => {}
        }
    }
}

/// `strategy` of a deployment job: exactly one of `runOnce`, `rolling`, `canary`.
fn check_deployment_strategy(validator: &mut Validator, node: &Node, label: &str) {
    let what = format!("`strategy` in {label}");
    let Some(entries) = validator.mapping(node, &what) else {
        return;
    };
    let mut seen: Option<&str> = None;
    for (key, value) in entries {
        let name = key_name(key);
        if !DEPLOYMENT_STRATEGIES.contains(&name) {
            validator.unknown_key(key, name, DEPLOYMENT_STRATEGIES, &what);
            continue;
        }
        if let Some(first) = seen {
            validator.push(
                Diagnostic::error(
                    "V0009",
                    format!("`{name}` cannot be used together with `{first}` in {what}"),
                    Some(key.span),
                )
                .with_hint("a deployment uses exactly one strategy: `runOnce`, `rolling` or `canary`"),
            );
        }
        seen.get_or_insert(name);
        let strategy_what = format!("`strategy.{name}` in {label}");
        let Some(hooks) = validator.mapping(value, &strategy_what) else {
            continue;
        };
        let extra: &[&str] = match name {
            "rolling" => &["maxParallel"],
            "canary" => &["increments"],
            _ => &[],
        };
        let allowed: Vec<&str> = HOOKS.iter().chain(extra).copied().collect();
        for (hook_key, hook) in hooks {
            let hook_name = key_name(hook_key);
            match hook_name {
                "maxParallel" if name == "rolling" => {
                    validator.scalar(hook, &format!("`maxParallel` in {strategy_what}"));
                }
                "increments" if name == "canary" => {
                    let increments_what = format!("`increments` in {strategy_what}");
                    if let Some(items) = validator.sequence(hook, &increments_what) {
                        for item in items {
                            validator.number(item, &format!("an increment in {strategy_what}"));
                        }
                    }
                }
                "on" => {
                    let on_what = format!("`on` in {strategy_what}");
                    if let Some(outcomes) = validator.mapping(hook, &on_what) {
                        for (outcome_key, outcome) in outcomes {
                            let outcome_name = key_name(outcome_key);
                            if matches!(outcome_name, "failure" | "success") {
                                check_hook(validator, outcome, &format!("the `on.{outcome_name}` hook of {label}"));
                            } else {
                                validator.unknown_key(outcome_key, outcome_name, &["failure", "success"], &on_what);
                            }
                        }
                    }
                }
                _ if HOOKS.contains(&hook_name) => {
                    check_hook(validator, hook, &format!("the `{hook_name}` hook of {label}"))
                }
                _ => validator.unknown_key(hook_key, hook_name, &allowed, &strategy_what),
            }
        }
    }
}

/// A lifecycle hook: `steps` and an optional `pool`.
fn check_hook(validator: &mut Validator, node: &Node, label: &str) {
    let Some(entries) = validator.mapping(node, label) else {
        return;
    };
    for (key, value) in entries {
        match key_name(key) {
            "steps" => steps::check_steps(validator, value, label),
            "pool" => check_pool(validator, value, &format!("`pool` in {label}")),
            other => validator.unknown_key(key, other, HOOK_KEYS, label),
        }
    }
}

/// `variables` in mapping form (`name: value`) or list form (`- name:`/`value:`/`readonly:`,
/// `- group:`).
pub(super) fn check_variables(validator: &mut Validator, node: &Node, owner: &str) {
    let what = format!("`variables` in {owner}");
    match validator.shape(node, Accepts::SEQUENCE_OR_MAPPING, &what) {
        Some(Shape::Mapping(entries)) => {
            for (key, value) in entries {
                let name = key_name(key);
                validator.scalar(value, &format!("variable `{name}` in {owner}"));
                check_variable_value(value, name, &mut validator.diagnostics);
            }
        }
        Some(Shape::Sequence(items)) => {
            for (index, item) in items.iter().enumerate() {
                check_variable_item(validator, item, index, owner);
            }
        }
        _ => {}
    }
}

fn check_variable_item(validator: &mut Validator, item: &Node, index: usize, owner: &str) {
    let what = format!("variable {} in {owner}", index + 1);
    let Some(entries) = validator.mapping(item, &what) else {
        return;
    };
    if item.get("template").is_some() {
        return;
    }
    if let (Some(_), Some((group_key, _))) = (item.get("name"), item.entry("group")) {
        validator.push(
            Diagnostic::error(
                "V0009",
                format!("`group` cannot be used together with `name` in {what}"),
                Some(group_key.span),
            )
            .with_hint("list a variable group and a variable as two separate items"),
        );
        return;
    }
    if let Some(group) = item.get("group") {
        validator.keys(entries, &["group"], &format!("variable group {} in {owner}", index + 1));
        validator.scalar(group, &format!("`group` in {what}"));
        return;
    }
    let name = item.get("name").and_then(scalar_text).unwrap_or_default();
    let label = if name.is_empty() { what.clone() } else { format!("variable `{name}` in {owner}") };
    if item.get("name").is_none() {
        validator.push(
            Diagnostic::error("V0003", format!("{what} is missing the required key `name`"), Some(item.span))
                .with_hint("a variable in list form is `- name: NAME` with `value: VALUE`, or `- group: GROUP`"),
        );
    }
    validator.keys(entries, &["name", "value", "readonly"], &label);
    for (key, value) in entries {
        match key_name(key) {
            "name" => validator.scalar(value, &format!("`name` in {label}")),
            "value" => {
                validator.scalar(value, &format!("`value` in {label}"));
                check_variable_value(value, name, &mut validator.diagnostics);
            }
            "readonly" => validator.boolean(value, &format!("`readonly` in {label}")),
            _ => {}
        }
    }
}
