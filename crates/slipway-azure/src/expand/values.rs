//! Moving between YAML nodes and expression values.
//!
//! Parameters and `each` variables are kept both as expression [`Value`]s (for evaluation) and as
//! the YAML [`Node`]s they were written as, so that `${{ parameters.steps }}` inserts the steps
//! with the spans of the file that wrote them, and errors inside them point there.

use slipway_diagnostics::Span;
use slipway_expr::{Object, Value};
use slipway_yaml::{Literal, Node, Value as NodeValue};

/// The expression value of a node: scalars under the YAML core schema, sequences as arrays,
/// mappings as objects (keys by their text).
#[must_use]
pub fn node_to_value(node: &Node) -> Value {
    match &node.value {
        NodeValue::Scalar(scalar) => match scalar.literal() {
            Literal::Null => Value::Null,
            Literal::Bool(value) => Value::Bool(value),
            Literal::Number(value) => Value::Number(value),
            Literal::String(text) => Value::String(text.to_owned()),
        },
        NodeValue::Sequence(items) => Value::Array(items.iter().map(node_to_value).collect()),
        NodeValue::Mapping(entries) => {
            let mut object = Object::new();
            for (key, value) in entries {
                let key = key.as_str().map_or_else(|| node_to_value(key).to_display_string(), str::to_owned);
                object.insert(key, node_to_value(value));
            }
            Value::Object(object)
        }
    }
}

/// A node for a value produced by an expression written at `span`.
#[must_use]
pub fn value_to_node(value: &Value, span: Span) -> Node {
    match value {
        Value::Null => Node::null(span),
        Value::Bool(_) | Value::Number(_) => Node::plain(value.to_display_string(), span),
        Value::String(text) => Node::string(text.clone(), span),
        Value::Version(_) => Node::string(value.to_display_string(), span),
        Value::Array(items) => {
            Node::new(NodeValue::Sequence(items.iter().map(|item| value_to_node(item, span)).collect()), span)
        }
        Value::Object(object) => Node::new(
            NodeValue::Mapping(
                object.iter().map(|(key, item)| (Node::plain(key, span), value_to_node(item, span))).collect(),
            ),
            span,
        ),
    }
}

/// One step of a property path: `.name`, `['name']` or `[0]`.
#[derive(Debug, PartialEq)]
enum PathStep<'a> {
    Name(std::borrow::Cow<'a, str>),
    Index(usize),
}

/// Parses expression text that is only a property path (`parameters.steps`, `step`,
/// `pair.value`, `parameters['x'][0]`), returning the root name and the steps. Anything else
/// (a function call, a wildcard, a computed index) gives `None`, and the caller evaluates the
/// expression normally.
fn parse_path(source: &str) -> Option<(&str, Vec<PathStep<'_>>)> {
    let source = source.trim();
    let is_name_char = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    let root_end = source.find(|c: char| !is_name_char(c)).unwrap_or(source.len());
    let root = &source[..root_end];
    if root.is_empty() || !root.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        return None;
    }
    let mut rest = &source[root_end..];
    let mut steps = Vec::new();
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('.') {
            let end = after.find(|c: char| !is_name_char(c)).unwrap_or(after.len());
            if end == 0 {
                return None;
            }
            steps.push(PathStep::Name(after[..end].into()));
            rest = &after[end..];
        } else if let Some(after) = rest.strip_prefix("['") {
            let mut text = String::new();
            let mut chars = after.char_indices();
            let mut end = None;
            while let Some((index, c)) = chars.next() {
                if c == '\'' {
                    if after[index + 1..].starts_with('\'') {
                        text.push('\'');
                        chars.next();
                        continue;
                    }
                    end = Some(index);
                    break;
                }
                text.push(c);
            }
            let end = end?;
            rest = after[end + 1..].strip_prefix(']')?;
            steps.push(PathStep::Name(text.into()));
        } else if let Some(after) = rest.strip_prefix('[') {
            let end = after.find(']')?;
            let index: usize = after[..end].trim().parse().ok()?;
            steps.push(PathStep::Index(index));
            rest = &after[end + 1..];
        } else {
            return None;
        }
    }
    Some((root, steps))
}

/// If `source` is a plain property path whose root `lookup` knows as a node, follows the path
/// through the nodes. `Some(None)` means the path is valid but leads nowhere (a null result).
pub fn lookup_path<'n>(source: &str, lookup: impl Fn(&str) -> Option<&'n Node>) -> Option<Option<&'n Node>> {
    let (root, steps) = parse_path(source)?;
    let mut node = lookup(root)?;
    for step in steps {
        let next = match step {
            PathStep::Name(name) => node
                .as_mapping()
                .and_then(|entries| {
                    entries.iter().find(|(key, _)| key.as_str().is_some_and(|k| k.eq_ignore_ascii_case(&name)))
                })
                .map(|(_, value)| value),
            PathStep::Index(index) => node.as_sequence().and_then(|items| items.get(index)),
        };
        match next {
            Some(next) => node = next,
            None => return Some(None),
        }
    }
    Some(Some(node))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_property_paths_only() {
        assert_eq!(parse_path("parameters.steps").map(|(r, s)| (r, s.len())), Some(("parameters", 1)));
        assert_eq!(parse_path(" step ").map(|(r, s)| (r, s.len())), Some(("step", 0)));
        assert_eq!(
            parse_path("parameters['it''s'][2]"),
            Some(("parameters", vec![PathStep::Name("it's".into()), PathStep::Index(2)]))
        );
        assert_eq!(parse_path("eq(a, b)"), None);
        assert_eq!(parse_path("a.*.b"), None);
        assert_eq!(parse_path("a[b]"), None);
        assert_eq!(parse_path("'text'"), None);
        assert_eq!(parse_path("1"), None);
    }
}
