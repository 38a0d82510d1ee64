//! Reading one `task.json` as the agent does: members named in any case, a UTF-8 byte order
//! mark tolerated, version numbers written as numbers or as numeric strings, default values
//! written as strings, booleans or numbers.

use std::path::{Path, PathBuf};

use super::json::Json;
use super::{Handler, TaskFolder};
use crate::{InputKind, InputSpec};

/// What is wrong with a `task.json` (the message follows its path: `DIR/task.json: is not UTF-8
/// text`).
#[derive(Debug, thiserror::Error)]
pub(super) enum ManifestError {
    /// It cannot be read.
    #[error("cannot be read: {0}")]
    Unreadable(#[source] std::io::Error),
    /// It is not UTF-8.
    #[error("is not UTF-8 text")]
    NotUtf8(#[source] std::string::FromUtf8Error),
    /// It is not JSON.
    #[error("is not valid JSON: {0}")]
    NotJson(#[source] serde_json::Error),
    /// It is JSON, but not an object (`kind` says what: `an array`).
    #[error("is {0}, not a JSON object")]
    NotAnObject(&'static str),
    /// Members are missing or of the wrong type: every problem found.
    #[error("{}", .0.join("; "))]
    Members(Vec<String>),
}

/// Reads the task folder whose `task.json` is `manifest`.
///
/// # Errors
/// What is wrong with the file (unreadable, not JSON, a required member missing or of the wrong
/// type), every problem found, joined by `; `.
pub(super) fn read(manifest: &Path) -> Result<TaskFolder, ManifestError> {
    let bytes = std::fs::read(manifest).map_err(ManifestError::Unreadable)?;
    let text = String::from_utf8(bytes).map_err(ManifestError::NotUtf8)?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let json = Json::parse(text).map_err(ManifestError::NotJson)?;
    let directory = manifest.parent().map_or_else(PathBuf::new, Path::to_path_buf);
    parse(&json, directory)
}

/// Reads a parsed `task.json` of the folder `directory`.
fn parse(json: &Json, directory: PathBuf) -> Result<TaskFolder, ManifestError> {
    if !matches!(json, Json::Object(_)) {
        return Err(ManifestError::NotAnObject(json.kind()));
    }
    let mut problems = Vec::new();
    let name = required_text(json, "name", &mut problems);
    let id = required_text(json, "id", &mut problems);
    let friendly_name = json.get("friendlyName").and_then(Json::as_str).map(str::to_owned);
    let version = version(json, &mut problems);
    let inputs = inputs(json, &mut problems);
    let handlers = handlers(json, &directory, &mut problems);
    let output_variables = output_variables(json, &mut problems);
    if !problems.is_empty() {
        return Err(ManifestError::Members(problems));
    }
    let friendly_name = friendly_name.unwrap_or_else(|| name.clone());
    Ok(TaskFolder { name, id, friendly_name, version, directory, inputs, handlers, output_variables })
}

/// A member that must be a non-empty string.
fn required_text(json: &Json, member: &str, problems: &mut Vec<String>) -> String {
    match json.get(member) {
        None | Some(Json::Null) => problems.push(format!("has no `{member}`")),
        Some(Json::String(text)) if !text.trim().is_empty() => return text.trim().to_owned(),
        Some(Json::String(_)) => problems.push(format!("`{member}` is empty")),
        Some(other) => problems.push(format!("`{member}` is {}, not a string", other.kind())),
    }
    String::new()
}

/// `version: {Major, Minor, Patch}`.
fn version(json: &Json, problems: &mut Vec<String>) -> (u32, u32, u32) {
    let Some(version) = json.get("version") else {
        problems.push("has no `version`".to_owned());
        return (0, 0, 0);
    };
    if !matches!(version, Json::Object(_)) {
        problems.push(format!("`version` is {}, not an object with Major, Minor and Patch", version.kind()));
        return (0, 0, 0);
    }
    let mut part = |name: &str| -> u32 {
        let value = version.get(name);
        let number = match value {
            Some(Json::Number(number)) => number.as_u64().and_then(|number| u32::try_from(number).ok()),
            Some(Json::String(text)) => text.trim().parse().ok(),
            _ => None,
        };
        number.unwrap_or_else(|| {
            match value {
                None => problems.push(format!("has no `version.{name}`")),
                Some(value) => problems.push(format!(
                    "`version.{name}` is not a whole number: {}",
                    value.scalar_text().unwrap_or_else(|| value.kind().to_owned())
                )),
            }
            0
        })
    };
    (part("Major"), part("Minor"), part("Patch"))
}

/// `inputs: [{name, aliases, type, defaultValue, required, visibleRule, options, properties}]`.
fn inputs(json: &Json, problems: &mut Vec<String>) -> Vec<InputSpec> {
    let items = match json.get("inputs") {
        None | Some(Json::Null) => return Vec::new(),
        Some(Json::Array(items)) => items,
        Some(other) => {
            problems.push(format!("`inputs` is {}, not a list", other.kind()));
            return Vec::new();
        }
    };
    let mut specs = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let number = index + 1;
        let Some(name) = item.get("name").and_then(Json::as_str).map(str::trim).filter(|name| !name.is_empty()) else {
            problems.push(format!("input {number} has no `name`"));
            continue;
        };
        let aliases = match item.get("aliases") {
            Some(Json::Array(aliases)) => {
                aliases.iter().filter_map(Json::as_str).map(str::trim).map(str::to_owned).collect()
            }
            _ => Vec::new(),
        };
        let type_name = item.get("type").and_then(Json::as_str).map_or("string", str::trim);
        let required = match item.get("required") {
            Some(Json::Bool(required)) => *required,
            Some(Json::String(text)) => text.trim().eq_ignore_ascii_case("true"),
            _ => false,
        };
        specs.push(InputSpec {
            name: name.to_owned(),
            aliases,
            kind: kind(type_name, item),
            default: item.get("defaultValue").and_then(Json::scalar_text),
            required,
            visible_rule: item
                .get("visibleRule")
                .and_then(Json::as_str)
                .map(str::trim)
                .filter(|rule| !rule.is_empty())
                .map(str::to_owned),
        });
    }
    specs
}

/// An input's type.
fn kind(type_name: &str, input: &Json) -> InputKind {
    match type_name.to_ascii_lowercase().as_str() {
        "string" => InputKind::String,
        "boolean" => InputKind::Boolean,
        "filepath" => InputKind::FilePath,
        "multiline" => InputKind::MultiLine,
        "int" | "integer" => InputKind::Integer,
        "picklist" => {
            let options: Vec<String> = input
                .get("options")
                .map_or_else(Vec::new, |options| options.members().iter().map(|(value, _)| value.clone()).collect());
            let editable = input
                .get("properties")
                .and_then(|properties| properties.get("EditableOptions"))
                .and_then(Json::scalar_text)
                .is_some_and(|editable| editable.trim().eq_ignore_ascii_case("true"));
            // A pick list without options is filled from a service at design time: any value goes.
            InputKind::PickList { editable: editable || options.is_empty(), options }
        }
        _ => InputKind::Other(type_name.to_owned()),
    }
}

/// The preference of a Node runtime: its version (`Node` is Node 6), higher first.
pub(super) fn node_rank(runtime: &str) -> Option<(u32, u32)> {
    let rest = runtime.get(..4).filter(|prefix| prefix.eq_ignore_ascii_case("node")).map(|_| &runtime[4..])?;
    if rest.is_empty() {
        return Some((6, 0));
    }
    let (major, minor) = rest.split_once('_').unwrap_or((rest, "0"));
    Some((major.parse().ok()?, minor.parse().ok()?))
}

/// `execution: {Node20_1: {target, argumentFormat}, ...}`, best first.
fn handlers(json: &Json, directory: &Path, problems: &mut Vec<String>) -> Vec<Handler> {
    let execution = match json.get("execution") {
        None | Some(Json::Null) => return Vec::new(),
        Some(execution @ Json::Object(_)) => execution,
        Some(other) => {
            problems.push(format!("`execution` is {}, not an object", other.kind()));
            return Vec::new();
        }
    };
    let mut handlers = Vec::new();
    for (key, data) in execution.members() {
        let mut target = || -> Option<PathBuf> {
            let target = data.get("target").and_then(Json::as_str).map(str::trim).filter(|target| !target.is_empty());
            if target.is_none() {
                problems.push(format!("the {key} handler has no `target`"));
            }
            target.map(|target| resolve_target(directory, target))
        };
        let handler = if node_rank(key).is_some() {
            target().map(|target| Handler::Node { runtime: key.clone(), target })
        } else if key.eq_ignore_ascii_case("PowerShell3") || key.eq_ignore_ascii_case("Pwsh") {
            target().map(|target| Handler::PowerShell3 { target })
        } else if key.eq_ignore_ascii_case("Process") {
            let arguments = data.get("argumentFormat").and_then(Json::as_str).unwrap_or_default().trim().to_owned();
            target().map(|target| Handler::Process { target, arguments })
        } else {
            Some(Handler::Unsupported(key.clone()))
        };
        handlers.extend(handler);
    }
    handlers.sort_by_key(|handler| std::cmp::Reverse(preference(handler)));
    handlers
}

/// How much a handler is preferred: Node (newest first), then PowerShell, then a process.
fn preference(handler: &Handler) -> (u32, u32, u32) {
    match handler {
        Handler::Node { runtime, .. } => {
            let (major, minor) = node_rank(runtime).unwrap_or_default();
            (3, major, minor)
        }
        Handler::PowerShell3 { .. } => (2, 0, 0),
        Handler::Process { .. } => (1, 0, 0),
        Handler::Unsupported(_) => (0, 0, 0),
    }
}

/// A handler's `target` as a path: relative to the task folder (a leading `$(currentDirectory)`,
/// as older tasks write it, is the task folder too), with `\` read as a separator off Windows.
fn resolve_target(directory: &Path, target: &str) -> PathBuf {
    let target = if cfg!(windows) { target.to_owned() } else { target.replace('\\', "/") };
    let macro_name = "$(currentDirectory)";
    let target = match target.get(..macro_name.len()) {
        Some(prefix) if prefix.eq_ignore_ascii_case(macro_name) => {
            target[macro_name.len()..].trim_start_matches(['/', '\\']).to_owned()
        }
        _ => target,
    };
    directory.join(target)
}

/// `outputVariables: [{name, description}]`.
fn output_variables(json: &Json, problems: &mut Vec<String>) -> Vec<String> {
    match json.get("outputVariables") {
        None | Some(Json::Null) => Vec::new(),
        Some(Json::Array(items)) => items
            .iter()
            .filter_map(|item| item.get("name").and_then(Json::as_str))
            .map(str::trim)
            .filter(|name| !name.is_empty())
            .map(str::to_owned)
            .collect(),
        Some(other) => {
            problems.push(format!("`outputVariables` is {}, not a list", other.kind()));
            Vec::new()
        }
    }
}
