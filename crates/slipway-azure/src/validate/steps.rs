//! Steps of every kind: `script`, `bash`, `pwsh`, `powershell`, `task`, `checkout`, `download`,
//! `downloadBuild`, `getPackage`, `publish` (and the deprecated `upload`) and `reviewApp`.
//! Task inputs are not checked here.

use slipway_diagnostics::{Diagnostic, did_you_mean};
use slipway_yaml::Node;

use super::expressions::check_condition;
use super::values::{azure_boolean, is_deferred, is_step_name, same_name, scalar_text};
use super::{Accepts, Shape, Validator, key_name};

/// The keys that say what a step does; exactly one must be present.
pub(crate) const STEP_KINDS: &[&str] = &[
    "task",
    "script",
    "bash",
    "pwsh",
    "powershell",
    "checkout",
    "download",
    "downloadBuild",
    "getPackage",
    "publish",
    "upload",
    "reviewApp",
    "template",
];

/// Keys every kind of step accepts.
pub(crate) const COMMON_KEYS: &[&str] = &[
    "condition",
    "continueOnError",
    "displayName",
    "target",
    "enabled",
    "env",
    "name",
    "timeoutInMinutes",
    "retryCountOnTaskFailure",
];

/// Keys only some kinds of step accept.
fn kind_keys(kind: &str) -> &'static [&'static str] {
    match kind {
        "task" => &["inputs"],
        "script" | "bash" => &["failOnStderr", "workingDirectory"],
        "pwsh" | "powershell" => &["errorActionPreference", "failOnStderr", "ignoreLASTEXITCODE", "workingDirectory"],
        "checkout" => &[
            "clean",
            "fetchDepth",
            "fetchFilter",
            "fetchTags",
            "lfs",
            "persistCredentials",
            "submodules",
            "path",
            "sparseCheckoutDirectories",
            "sparseCheckoutPatterns",
            "workspaceRepo",
        ],
        "download" => &["artifact", "patterns", "path"],
        "downloadBuild" => &["artifact", "path", "patterns", "inputs"],
        "getPackage" => &["path"],
        "publish" | "upload" => &["artifact"],
        _ => &[],
    }
}

/// The kind of a step: its first key that names an action.
pub(crate) fn step_kind(step: &Node) -> Option<&str> {
    step.as_mapping()?.iter().map(|(key, _)| key_name(key)).find(|name| STEP_KINDS.contains(name))
}

/// Checks a list of steps belonging to `owner` ("job `build`", "the pipeline", a hook).
pub(super) fn check_steps(validator: &mut Validator, node: &Node, owner: &str) {
    let Some(steps) = validator.sequence(node, &format!("`steps` in {owner}")) else {
        return;
    };
    let mut names: Vec<(&str, &Node)> = Vec::new();
    for (index, step) in steps.iter().enumerate() {
        check_step(validator, step, index, owner);
        let Some(name_node) = step.get("name") else {
            continue;
        };
        let Some(name) = scalar_text(name_node).filter(|name| !name.is_empty()) else {
            continue;
        };
        if names.iter().any(|(seen, _)| same_name(seen, name)) {
            validator.push(
                Diagnostic::error(
                    "G0005",
                    format!("step name `{name}` is used more than once in {owner}"),
                    Some(name_node.span),
                )
                .with_hint("step names must be unique within a job; rename one of the steps"),
            );
        } else {
            names.push((name, name_node));
        }
    }
}

fn step_label(step: &Node, index: usize, kind: Option<&str>, owner: &str) -> String {
    match (step.get("name").and_then(scalar_text).filter(|name| !name.is_empty()), kind) {
        (Some(name), _) => format!("step `{name}` of {owner}"),
        (None, Some(kind)) => format!("step {} (`{kind}`) of {owner}", index + 1),
        (None, None) => format!("step {} of {owner}", index + 1),
    }
}

fn check_step(validator: &mut Validator, step: &Node, index: usize, owner: &str) {
    let kind = step_kind(step);
    let label = step_label(step, index, kind, owner);
    let Some(entries) = validator.mapping(step, &label) else {
        return;
    };
    let kinds: Vec<&Node> =
        entries.iter().filter(|(key, _)| STEP_KINDS.contains(&key_name(key))).map(|(key, _)| key).collect();
    let Some(kind) = kind else {
        let misspelled = entries.iter().find_map(|(key, _)| {
            let name = key_name(key);
            did_you_mean(name, STEP_KINDS.iter().copied()).map(|suggestion| (key, name, suggestion))
        });
        match misspelled {
            Some((key, name, suggestion)) => validator.push(
                Diagnostic::error("V0001", format!("unknown key `{name}` in {label}"), Some(key.span))
                    .with_hint(format!("did you mean `{suggestion}`?")),
            ),
            None => validator.push(
                Diagnostic::error("V0003", format!("{label} does not say what to run"), Some(step.span)).with_hint(
                    "a step needs one of `script`, `bash`, `pwsh`, `powershell`, `task`, `checkout`, `download`, `publish`, `downloadBuild`, `getPackage` or `reviewApp`",
                ),
            ),
        }
        return;
    };
    for extra in kinds.iter().skip(1) {
        validator.push(
            Diagnostic::error(
                "V0009",
                format!("`{}` cannot be used together with `{kind}` in {label}", key_name(extra)),
                Some(extra.span),
            )
            .with_hint("each step does one thing; split it into two steps"),
        );
    }
    if kind == "template" {
        return;
    }
    let allowed: Vec<&str> =
        std::iter::once(kind).chain(COMMON_KEYS.iter().copied()).chain(kind_keys(kind).iter().copied()).collect();
    for (key, value) in entries {
        let name = key_name(key);
        if !allowed.contains(&name) {
            if !STEP_KINDS.contains(&name) {
                validator.unknown_key(key, name, &allowed, &label);
            }
            continue;
        }
        let what = format!("`{name}` in {label}");
        match name {
            "name" => check_step_name(validator, value, &label),
            "condition" => check_condition(value, &label, &mut validator.diagnostics),
            "continueOnError" | "enabled" | "failOnStderr" | "ignoreLASTEXITCODE" | "lfs" | "persistCredentials"
            | "fetchTags" => validator.boolean(value, &what),
            "timeoutInMinutes" | "retryCountOnTaskFailure" | "fetchDepth" => validator.number(value, &what),
            "env" => validator.string_map(value, &what),
            "inputs" => {
                let _ = validator.mapping(value, &what);
            }
            "target" => check_target(validator, value, &what),
            "clean" | "workspaceRepo" => check_checkout_flag(validator, value, &what),
            _ => validator.scalar(value, &what),
        }
    }
}

/// `clean` and `workspaceRepo` of a checkout: the agent reads them as booleans when the step runs
/// and takes anything else as `false` (real pipelines write `clean: all`), so other values are
/// warnings.
fn check_checkout_flag(validator: &mut Validator, node: &Node, what: &str) {
    let Some(Shape::Scalar(scalar)) = validator.shape(node, Accepts::SCALAR, what) else {
        return;
    };
    if azure_boolean(&scalar.text).is_some() || is_deferred(&scalar.text) {
        return;
    }
    validator.push(
        Diagnostic::warning(
            "V0004",
            format!("{what} should be `true` or `false`, found `{}`, which Azure reads as `false`", scalar.text),
            Some(node.span),
        )
        .with_hint("write `true` or `false`"),
    );
}

fn check_step_name(validator: &mut Validator, node: &Node, label: &str) {
    let Some(Shape::Scalar(scalar)) = validator.shape(node, Accepts::SCALAR, &format!("`name` in {label}")) else {
        return;
    };
    if !is_step_name(&scalar.text) {
        validator.push(
            Diagnostic::error("V0005", format!("step name `{}` is invalid", scalar.text), Some(node.span))
                .with_hint("step names may only contain letters, digits, `_` and `-`"),
        );
    }
}

/// `target`: a container name, or a mapping with `container`, `commands` and `settableVariables`.
fn check_target(validator: &mut Validator, node: &Node, what: &str) {
    let Some(Shape::Mapping(entries)) = validator.shape(node, Accepts::MAPPING_OR_SCALAR, what) else {
        return;
    };
    validator.keys(entries, &["container", "commands", "settableVariables"], what);
    for (key, value) in entries {
        let name = key_name(key);
        let key_what = format!("`{name}` in {what}");
        match name {
            "container" => validator.scalar(value, &key_what),
            "commands" => validator.one_of(value, &["any", "restricted"], &key_what),
            "settableVariables" => match validator.shape(value, Accepts::SEQUENCE_OR_SCALAR, &key_what) {
                Some(Shape::Scalar(_)) => validator.one_of(value, &["none"], &key_what),
                Some(Shape::Sequence(items)) => {
                    for item in items {
                        validator.scalar(item, &format!("an item of {key_what}"));
                    }
                }
                _ => {}
            },
            _ => {}
        }
    }
}
