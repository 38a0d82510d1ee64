//! Pipeline-level declarations: `trigger`, `pr`, `schedules` and `resources`.

use slipway_diagnostics::Diagnostic;
use slipway_yaml::Node;

use super::values::scalar_text;
use super::{Accepts, Shape, Validator, key_name};

const TRIGGER_KEYS: &[&str] = &["batch", "branches", "paths", "tags"];
const PR_KEYS: &[&str] = &["autoCancel", "branches", "paths", "drafts"];
const SCHEDULE_KEYS: &[&str] = &["cron", "displayName", "branches", "batch", "always"];
const RESOURCE_KINDS: &[&str] = &["builds", "containers", "pipelines", "repositories", "webhooks", "packages"];
const PIPELINE_RESOURCE_KEYS: &[&str] = &["pipeline", "project", "source", "version", "branch", "tags", "trigger"];
const PIPELINE_TRIGGER_KEYS: &[&str] = &["enabled", "branches", "stages", "tags"];
const BUILD_KEYS: &[&str] = &["build", "type", "connection", "source", "version", "branch", "trigger"];
const PACKAGE_KEYS: &[&str] = &["package", "type", "connection", "name", "version", "tag", "trigger"];
const WEBHOOK_KEYS: &[&str] = &["webhook", "connection", "type", "filters"];
const LEGACY_RESOURCE_KEYS: &[&str] = &["repo", "clean", "fetchDepth", "lfs"];
const INCLUDE_EXCLUDE: &[&str] = &["include", "exclude"];

/// A CI trigger (`trigger:` of the pipeline or of a repository resource): `none`, a list of
/// branches, or a mapping with `batch`, `branches`, `paths` and `tags`.
pub(super) fn check_trigger(validator: &mut Validator, node: &Node, what: &str) {
    let Some(Shape::Mapping(entries)) = validator.shape(node, Accepts::ANY, what) else {
        if let Some(items) = node.as_sequence() {
            for item in items {
                validator.scalar(item, &format!("a branch in {what}"));
            }
        }
        return;
    };
    validator.keys(entries, TRIGGER_KEYS, what);
    for (key, value) in entries {
        match key_name(key) {
            "batch" => validator.boolean(value, &format!("`batch` in {what}")),
            name @ ("branches" | "paths" | "tags") => check_filters(validator, value, &format!("`{name}` in {what}")),
            _ => {}
        }
    }
}

/// The PR trigger: `none`, a list of branches, or a mapping.
pub(super) fn check_pr(validator: &mut Validator, node: &Node) {
    let what = "the pipeline's `pr`";
    let Some(Shape::Mapping(entries)) = validator.shape(node, Accepts::ANY, what) else {
        if let Some(items) = node.as_sequence() {
            for item in items {
                validator.scalar(item, &format!("a branch in {what}"));
            }
        }
        return;
    };
    validator.keys(entries, PR_KEYS, what);
    for (key, value) in entries {
        match key_name(key) {
            name @ ("autoCancel" | "drafts") => validator.boolean(value, &format!("`{name}` in {what}")),
            name @ ("branches" | "paths") => check_filters(validator, value, &format!("`{name}` in {what}")),
            _ => {}
        }
    }
}

/// `include`/`exclude` lists (a plain list is accepted as well).
fn check_filters(validator: &mut Validator, node: &Node, what: &str) {
    match validator.shape(node, Accepts::SEQUENCE_OR_MAPPING, what) {
        Some(Shape::Mapping(entries)) => {
            validator.keys(entries, INCLUDE_EXCLUDE, what);
            for (key, value) in entries {
                if INCLUDE_EXCLUDE.contains(&key_name(key)) {
                    validator.strings(value, &format!("`{}` of {what}", key_name(key)), true);
                }
            }
        }
        Some(Shape::Sequence(items)) => {
            for item in items {
                validator.scalar(item, &format!("an item of {what}"));
            }
        }
        _ => {}
    }
}

/// `schedules`: a list of cron schedules.
pub(super) fn check_schedules(validator: &mut Validator, node: &Node) {
    let Some(schedules) = validator.sequence(node, "`schedules` in the pipeline") else {
        return;
    };
    for (index, schedule) in schedules.iter().enumerate() {
        let what = format!("schedule {}", index + 1);
        let Some(entries) = validator.mapping(schedule, &what) else {
            continue;
        };
        require(validator, schedule, &["cron"], &what);
        validator.keys(entries, SCHEDULE_KEYS, &what);
        for (key, value) in entries {
            let name = key_name(key);
            match name {
                "cron" | "displayName" => validator.scalar(value, &format!("`{name}` in {what}")),
                "branches" => check_filters(validator, value, &format!("`branches` in {what}")),
                "batch" | "always" => validator.boolean(value, &format!("`{name}` in {what}")),
                _ => {}
            }
        }
    }
}

/// Reports `V0003` for each key of `required` that `node` lacks.
fn require(validator: &mut Validator, node: &Node, required: &[&str], what: &str) {
    for key in required {
        if node.get(key).is_none() {
            validator.push(
                Diagnostic::error("V0003", format!("{what} is missing the required key `{key}`"), Some(node.span))
                    .with_hint(format!("add `{key}:`")),
            );
        }
    }
}

/// `resources`: a mapping of resource lists, or the legacy list form (`- repo: self`).
pub(super) fn check_resources(validator: &mut Validator, node: &Node) {
    let what = "`resources` in the pipeline";
    match validator.shape(node, Accepts::SEQUENCE_OR_MAPPING, what) {
        Some(Shape::Sequence(items)) => {
            for (index, item) in items.iter().enumerate() {
                let item_what = format!("resource {}", index + 1);
                if let Some(entries) = validator.mapping(item, &item_what) {
                    validator.keys(entries, LEGACY_RESOURCE_KEYS, &item_what);
                    for (key, value) in entries {
                        let name = key_name(key);
                        let key_what = format!("`{name}` in {item_what}");
                        match name {
                            "repo" => validator.one_of(value, &["self"], &key_what),
                            "clean" => validator.one_of(value, &["true", "false"], &key_what),
                            "fetchDepth" => validator.number(value, &key_what),
                            "lfs" => validator.boolean(value, &key_what),
                            _ => {}
                        }
                    }
                }
            }
        }
        Some(Shape::Mapping(entries)) => {
            validator.keys(entries, RESOURCE_KINDS, what);
            for (key, value) in entries {
                let kind = key_name(key);
                if !RESOURCE_KINDS.contains(&kind) {
                    continue;
                }
                let Some(items) = validator.sequence(value, &format!("`resources.{kind}` in the pipeline")) else {
                    continue;
                };
                for (index, item) in items.iter().enumerate() {
                    check_resource(validator, kind, item, index);
                }
            }
        }
        _ => {}
    }
}

fn check_resource(validator: &mut Validator, kind: &str, item: &Node, index: usize) {
    let (word, alias_key) = match kind {
        "builds" => ("build", "build"),
        "containers" => ("container", "container"),
        "pipelines" => ("pipeline", "pipeline"),
        "repositories" => ("repository", "repository"),
        "webhooks" => ("webhook", "webhook"),
        _ => ("package", "package"),
    };
    let what = match item.get(alias_key).and_then(scalar_text).filter(|alias| !alias.is_empty()) {
        Some(alias) => format!("{word} resource `{alias}`"),
        None => format!("{word} resource {}", index + 1),
    };
    let Some(entries) = validator.mapping(item, &what) else {
        return;
    };
    match kind {
        "repositories" => {
            require(validator, item, &["repository"], &what);
            for (key, value) in entries {
                let name = key_name(key);
                let key_what = format!("`{name}` in {what}");
                match name {
                    "repository" | "endpoint" | "name" | "ref" => validator.scalar(value, &key_what),
                    "type" => validator.one_of(value, &["git", "github", "githubenterprise", "bitbucket"], &key_what),
                    "trigger" => check_trigger(validator, value, &key_what),
                    "checkoutOptions" => {
                        let _ = validator.mapping(value, &key_what);
                    }
                    _ => {}
                }
            }
        }
        "containers" => {
            require(validator, item, &["container"], &what);
            for (key, value) in entries {
                let name = key_name(key);
                let key_what = format!("`{name}` in {what}");
                match name {
                    "env" => validator.string_map(value, &key_what),
                    "ports" | "volumes" => validator.strings(value, &key_what, false),
                    "mapDockerSocket" | "localImage" => validator.boolean(value, &key_what),
                    "trigger" => {
                        if let Some(Shape::Mapping(trigger)) =
                            validator.shape(value, Accepts::MAPPING_OR_SCALAR, &key_what)
                        {
                            validator.keys(trigger, &["enabled", "tags"], &key_what);
                            for (trigger_key, trigger_value) in trigger {
                                match key_name(trigger_key) {
                                    "enabled" => validator.boolean(trigger_value, &format!("`enabled` in {key_what}")),
                                    "tags" => check_filters(validator, trigger_value, &format!("`tags` in {key_what}")),
                                    _ => {}
                                }
                            }
                        }
                    }
                    "container" | "image" | "type" | "endpoint" | "options" | "azureSubscription" | "resourceGroup"
                    | "registry" | "repository" => validator.scalar(value, &key_what),
                    _ => {}
                }
            }
        }
        "pipelines" => {
            require(validator, item, &["pipeline"], &what);
            validator.keys(entries, PIPELINE_RESOURCE_KEYS, &what);
            for (key, value) in entries {
                let name = key_name(key);
                let key_what = format!("`{name}` in {what}");
                match name {
                    "tags" => validator.strings(value, &key_what, false),
                    "trigger" => {
                        if let Some(Shape::Mapping(trigger)) =
                            validator.shape(value, Accepts::MAPPING_OR_SCALAR, &key_what)
                        {
                            validator.keys(trigger, PIPELINE_TRIGGER_KEYS, &key_what);
                            for (trigger_key, trigger_value) in trigger {
                                let trigger_name = key_name(trigger_key);
                                let trigger_what = format!("`{trigger_name}` in {key_what}");
                                match trigger_name {
                                    "enabled" => validator.boolean(trigger_value, &trigger_what),
                                    "branches" => check_filters(validator, trigger_value, &trigger_what),
                                    "stages" | "tags" => validator.strings(trigger_value, &trigger_what, false),
                                    _ => {}
                                }
                            }
                        }
                    }
                    _ if PIPELINE_RESOURCE_KEYS.contains(&name) => validator.scalar(value, &key_what),
                    _ => {}
                }
            }
        }
        "builds" => {
            require(validator, item, &["build", "type", "connection", "source"], &what);
            validator.keys(entries, BUILD_KEYS, &what);
            for (key, value) in entries {
                validator.scalar(value, &format!("`{}` in {what}", key_name(key)));
            }
        }
        "webhooks" => {
            require(validator, item, &["webhook", "connection"], &what);
            validator.keys(entries, WEBHOOK_KEYS, &what);
            for (key, value) in entries {
                let name = key_name(key);
                if name != "filters" {
                    validator.scalar(value, &format!("`{name}` in {what}"));
                    continue;
                }
                let Some(filters) = validator.sequence(value, &format!("`filters` in {what}")) else {
                    continue;
                };
                for (filter_index, filter) in filters.iter().enumerate() {
                    let filter_what = format!("filter {} of {what}", filter_index + 1);
                    if let Some(filter_entries) = validator.mapping(filter, &filter_what) {
                        require(validator, filter, &["path", "value"], &filter_what);
                        validator.keys(filter_entries, &["path", "value"], &filter_what);
                    }
                }
            }
        }
        _ => {
            require(validator, item, &["package", "type", "connection", "name"], &what);
            validator.keys(entries, PACKAGE_KEYS, &what);
            for (key, value) in entries {
                validator.scalar(value, &format!("`{}` in {what}", key_name(key)));
            }
        }
    }
}
