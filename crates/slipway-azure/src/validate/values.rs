//! How Azure Pipelines reads scalar values, shared by validation and lowering.
//!
//! Azure reads every scalar of an expanded pipeline as a string and converts it where a property
//! needs a boolean or a number. These helpers do the same conversions, so that what `validate`
//! accepts is exactly what `lower` can read.

use slipway_yaml::{Node, Value};

/// The text of a scalar node, `""` for null; `None` for sequences and mappings.
pub(crate) fn scalar_text(node: &Node) -> Option<&str> {
    match &node.value {
        Value::Scalar(scalar) => Some(if node.is_null() { "" } else { scalar.text.as_str() }),
        Value::Sequence(_) | Value::Mapping(_) => None,
    }
}

/// Whether the text holds a `$(macro)` or `$[ runtime ]` expression, whose value is only known
/// when the pipeline runs; such values are accepted wherever a literal is checked.
pub(crate) fn is_deferred(text: &str) -> bool {
    text.contains("$(") || text.contains("$[")
}

/// Azure's boolean spellings (`true | y | yes | on | false | n | no | off`, any case), as the
/// `boolean` definition of the YAML schema reference lists them.
pub(crate) fn azure_boolean(text: &str) -> Option<bool> {
    let lower = text.trim().to_ascii_lowercase();
    match lower.as_str() {
        "true" | "y" | "yes" | "on" => Some(true),
        "false" | "n" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// A non-negative whole number written in decimal digits.
pub(crate) fn whole_number(text: &str) -> Option<u64> {
    let trimmed = text.trim();
    if trimmed.is_empty() || !trimmed.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    trimmed.parse().ok()
}

/// Whether `name` is a valid stage or job name: ASCII letters, digits and `_`, not starting with a
/// digit. Azure's own message: "Valid names may only contain alphanumeric characters and '_' and
/// may not start with a number."
pub(crate) fn is_identifier(name: &str) -> bool {
    let mut characters = name.chars();
    characters.next().is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
        && characters.all(|character| character.is_ascii_alphanumeric() || character == '_')
}

/// Whether `name` is a valid step name. The schema reference gives `[-_A-Za-z0-9]*` for step names.
pub(crate) fn is_step_name(name: &str) -> bool {
    !name.is_empty()
        && name.chars().all(|character| character.is_ascii_alphanumeric() || matches!(character, '_' | '-'))
}

/// A node as JSON, the way Azure sees it: every scalar is its text (null stays null).
pub(crate) fn to_json(node: &Node) -> serde_json::Value {
    match &node.value {
        Value::Scalar(scalar) => {
            if node.is_null() {
                serde_json::Value::Null
            } else {
                serde_json::Value::String(scalar.text.clone())
            }
        }
        Value::Sequence(items) => serde_json::Value::Array(items.iter().map(to_json).collect()),
        Value::Mapping(entries) => {
            let mut object = serde_json::Map::new();
            for (key, value) in entries {
                let name = scalar_text(key).map_or_else(|| to_json(key).to_string(), str::to_owned);
                object.insert(name, to_json(value));
            }
            serde_json::Value::Object(object)
        }
    }
}

/// A node as a string value: a scalar's text, anything else as compact JSON.
pub(crate) fn to_text(node: &Node) -> String {
    scalar_text(node).map_or_else(|| to_json(node).to_string(), str::to_owned)
}

/// Stage and job names compare without regard to case in Azure.
pub(crate) fn same_name(left: &str, right: &str) -> bool {
    left.eq_ignore_ascii_case(right)
}
