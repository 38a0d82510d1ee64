//! `on.workflow_dispatch`: a run a person asks for, with typed inputs (and `on.workflow_call`'s
//! inputs, whose types are a subset: [`DispatchTrigger::read`] reads either).
//!
//! From *Workflow syntax for GitHub Actions* (`on.workflow_dispatch.inputs`, `.required`, `.type`:
//! "This must be one of: `boolean`, `choice`, `number`, `environment` or `string`") and GitHub's
//! workflow parser (an input without `type` is a `string`; a `choice` needs `options`, and only a
//! `choice` may have them; a boolean's `default` must be a boolean). [`DispatchTrigger::resolve`]
//! takes the inputs a person gives, as text (`gh workflow run -f name=value`, the REST API's
//! `inputs` object), and gives the typed values with defaults applied, or every mistake at once.
//!
//! Inputs left out and without a `default` get the type's empty value: `""` for text, `false` for
//! a boolean, `0` for a number. The documentation states these for `on.workflow_call.inputs` ("If
//! a `default` parameter is not set, the default value of the input is `false` for a boolean, `0`
//! for a number, and `""` for a string"); for `workflow_dispatch` it says nothing, and the same
//! values are used here.

use std::fmt;

use serde_json::{Number, Value as Json};
use slipway_diagnostics::Span;
use slipway_yaml::{Literal, Node};

use crate::Trigger;

/// The type of a dispatch input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InputType {
    /// `string` (and no `type`).
    String,
    /// `boolean`.
    Boolean,
    /// `number`.
    Number,
    /// `choice`, with its `options`.
    Choice(Vec<String>),
    /// `environment`: the name of one of the repository's environments.
    Environment,
}

impl InputType {
    fn name(&self) -> &'static str {
        match self {
            Self::String => "string",
            Self::Boolean => "boolean",
            Self::Number => "number",
            Self::Choice(_) => "choice",
            Self::Environment => "environment",
        }
    }
}

/// One entry of `on.workflow_dispatch.inputs`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DispatchInput {
    /// The input's name.
    pub name: String,
    /// `description`.
    pub description: Option<String>,
    /// `type`.
    pub input_type: InputType,
    /// `required` (default false).
    pub required: bool,
    /// `default`, as written.
    pub default: Option<String>,
    /// Where the input is declared.
    pub span: Span,
}

/// `on.workflow_dispatch`.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct DispatchTrigger {
    /// `inputs`, in order.
    pub inputs: Vec<DispatchInput>,
}

/// A typed input value.
#[derive(Clone, Debug, PartialEq)]
pub enum InputValue {
    /// A `string`, `choice` or `environment` input.
    Text(String),
    /// A `boolean` input.
    Boolean(bool),
    /// A `number` input.
    Number(f64),
}

impl InputValue {
    /// The value as the `inputs` context holds it (booleans and numbers keep their types).
    #[must_use]
    pub fn to_json(&self) -> Json {
        match self {
            Self::Text(text) => Json::String(text.clone()),
            Self::Boolean(value) => Json::Bool(*value),
            Self::Number(value) => Number::from_f64(*value).map_or(Json::Null, Json::Number),
        }
    }
}

impl fmt::Display for InputValue {
    /// The value as `github.event.inputs` holds it: always text.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Text(text) => f.write_str(text),
            Self::Boolean(value) => write!(f, "{value}"),
            Self::Number(value) => write!(f, "{value}"),
        }
    }
}

/// A mistake in the inputs given to a dispatch.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DispatchError {
    /// An input the workflow does not declare.
    #[error("the workflow has no input `{name}`; its inputs are: {known}")]
    Unknown {
        /// The name given.
        name: String,
        /// The declared inputs, listed.
        known: String,
    },
    /// A required input without a value or a default.
    #[error("input `{name}` is required{description}: give it a value, as in `-f {name}=...`")]
    Missing {
        /// The input.
        name: String,
        /// `: ` and its description, when it has one.
        description: String,
    },
    /// A value that is not of the input's type.
    #[error("input `{name}` is a {type_name}, and `{value}` is not one: {expected}")]
    Invalid {
        /// The input.
        name: String,
        /// Its type's name.
        type_name: &'static str,
        /// The value given.
        value: String,
        /// What would be accepted.
        expected: String,
    },
}

/// Reads a boolean as GitHub's form and `gh workflow run -f` send it.
fn boolean(text: &str) -> Option<bool> {
    match text {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

/// Reads a number: a finite decimal, in the JSON number syntax GitHub's API expects.
fn number(text: &str) -> Option<f64> {
    let trimmed = text.trim();
    let json_like = !trimmed.is_empty()
        && trimmed.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E'));
    json_like.then(|| trimmed.parse::<f64>().ok()).flatten().filter(|value| value.is_finite())
}

impl DispatchInput {
    /// The typed value of `text` for this input.
    ///
    /// # Errors
    ///
    /// A value that is not of the input's type, saying what was expected.
    pub fn typed(&self, text: &str) -> Result<InputValue, DispatchError> {
        let invalid = |expected: String| DispatchError::Invalid {
            name: self.name.clone(),
            type_name: self.input_type.name(),
            value: text.to_owned(),
            expected,
        };
        match &self.input_type {
            InputType::String | InputType::Environment => Ok(InputValue::Text(text.to_owned())),
            InputType::Boolean => {
                boolean(text).map(InputValue::Boolean).ok_or_else(|| invalid("write `true` or `false`".to_owned()))
            }
            InputType::Number => number(text)
                .map(InputValue::Number)
                .ok_or_else(|| invalid("write a number, such as `3` or `2.5`".to_owned())),
            InputType::Choice(options) => {
                if options.iter().any(|option| option == text) {
                    Ok(InputValue::Text(text.to_owned()))
                } else {
                    let listed = options.iter().map(|option| format!("`{option}`")).collect::<Vec<_>>().join(", ");
                    Err(invalid(format!("choose one of {listed}")))
                }
            }
        }
    }

    /// The value when the input is left out and has no `default`.
    fn empty(&self) -> InputValue {
        match self.input_type {
            InputType::Boolean => InputValue::Boolean(false),
            InputType::Number => InputValue::Number(0.0),
            _ => InputValue::Text(String::new()),
        }
    }
}

impl DispatchTrigger {
    /// The input called `name`.
    #[must_use]
    pub fn input(&self, name: &str) -> Option<&DispatchInput> {
        self.inputs.iter().find(|input| input.name == name)
    }

    /// Checks the inputs a person gave (name and text) and gives every declared input's typed
    /// value, in declaration order, with defaults applied.
    ///
    /// # Errors
    ///
    /// Every mistake at once: inputs the workflow does not declare, required inputs without a
    /// value or default, and values not of their input's type.
    pub fn resolve(&self, given: &[(String, String)]) -> Result<Vec<(String, InputValue)>, Vec<DispatchError>> {
        let mut errors = Vec::new();
        for (name, _) in given {
            if self.input(name).is_none() {
                let known = if self.inputs.is_empty() {
                    "none".to_owned()
                } else {
                    self.inputs.iter().map(|input| format!("`{}`", input.name)).collect::<Vec<_>>().join(", ")
                };
                errors.push(DispatchError::Unknown { name: name.clone(), known });
            }
        }
        let mut values = Vec::new();
        for input in &self.inputs {
            // The last value given for a name wins, as a form or a JSON object would keep it.
            let text = given.iter().rev().find(|(name, _)| *name == input.name).map(|(_, text)| text.as_str());
            let value = match (text, &input.default) {
                (Some(text), _) => input.typed(text),
                (None, Some(default)) => input.typed(default),
                (None, None) if input.required => Err(DispatchError::Missing {
                    name: input.name.clone(),
                    description: input.description.as_ref().map(|d| format!(" ({d})")).unwrap_or_default(),
                }),
                (None, None) => Ok(input.empty()),
            };
            match value {
                Ok(value) => values.push((input.name.clone(), value)),
                Err(error) => errors.push(error),
            }
        }
        if errors.is_empty() { Ok(values) } else { Err(errors) }
    }
}

impl DispatchTrigger {
    /// Reads the `inputs` of a `workflow_dispatch` or `workflow_call` trigger of a checked
    /// workflow, with what the schema cannot say: a `choice` without `options` (the input is left
    /// out), `options` on another type, a boolean's `default` that is not a boolean; each with
    /// its place.
    #[must_use]
    pub fn read(trigger: &Trigger) -> (Self, Vec<(Span, String)>) {
        let mut errors = Vec::new();
        let Some(inputs) = trigger.config.as_ref().and_then(|config| config.get("inputs")).and_then(Node::as_mapping)
        else {
            return (Self::default(), errors);
        };
        let mut read = Vec::new();
        for (key, body) in inputs {
            let Some(name) = key.as_str().map(str::to_owned) else { continue };
            let text = |field: &str| body.get(field).filter(|node| !node.is_null()).and_then(Node::as_str);
            let options: Option<Vec<String>> = body
                .get("options")
                .and_then(Node::as_sequence)
                .map(|items| items.iter().filter_map(Node::as_str).map(str::to_owned).collect());
            let input_type = match text("type").unwrap_or("string") {
                "boolean" => InputType::Boolean,
                "number" => InputType::Number,
                "environment" => InputType::Environment,
                "choice" => match &options {
                    Some(options) if !options.is_empty() => InputType::Choice(options.clone()),
                    _ => {
                        errors.push((
                            body.span,
                            format!(
                                "input `{name}` is a `choice` without `options`: list the values a person may choose \
                                 under `options`"
                            ),
                        ));
                        continue;
                    }
                },
                _ => InputType::String,
            };
            if options.is_some() && !matches!(input_type, InputType::Choice(_)) {
                let span = body.get("options").map_or(body.span, |node| node.span);
                errors.push((
                    span,
                    format!(
                        "input `{name}` has `options` but is not a `choice`: add `type: choice`, or remove `options`"
                    ),
                ));
            }
            let default_node = body.get("default").filter(|node| !node.is_null());
            if let Some(node) = default_node
                && input_type == InputType::Boolean
                && !matches!(node.as_scalar().map(slipway_yaml::Scalar::literal), Some(Literal::Bool(_)))
            {
                errors.push((
                    node.span,
                    format!("the `default` of the boolean input `{name}` must be `true` or `false`"),
                ));
            }
            let required = body
                .get("required")
                .and_then(Node::as_scalar)
                .is_some_and(|scalar| matches!(scalar.literal(), Literal::Bool(true)));
            read.push(DispatchInput {
                name,
                description: text("description").map(str::to_owned),
                input_type,
                required,
                default: default_node.and_then(Node::as_str).map(str::to_owned),
                span: body.span,
            });
        }
        (Self { inputs: read }, errors)
    }

    /// Every declared input's typed value, as [`DispatchTrigger::resolve`] gives them, except that
    /// a required input left out gets its type's empty value instead of an error: for a run that
    /// no person asked for with inputs (a push, a plan printed without them).
    ///
    /// # Errors
    ///
    /// Inputs the workflow does not declare and values not of their input's type, all at once.
    pub fn values(&self, given: &[(String, String)]) -> Result<Vec<(String, InputValue)>, Vec<DispatchError>> {
        let lenient = Self {
            inputs: self.inputs.iter().map(|input| DispatchInput { required: false, ..input.clone() }).collect(),
        };
        lenient.resolve(given)
    }
}

#[cfg(test)]
mod tests {
    use slipway_diagnostics::{FileId, Position};

    use super::*;

    fn input(name: &str, input_type: InputType, required: bool, default: Option<&str>) -> DispatchInput {
        DispatchInput {
            name: name.to_owned(),
            description: None,
            input_type,
            required,
            default: default.map(str::to_owned),
            span: Span::new(FileId(0), Position::new(1, 1), Position::new(1, 1)),
        }
    }

    fn given(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())).collect()
    }

    /// The example of *Events that trigger workflows*, `workflow_dispatch` ("Providing inputs"),
    /// and the `gh workflow run run-tests.yml -f logLevel=warning -f tags=false -f
    /// environment=staging` command it shows.
    fn documented() -> DispatchTrigger {
        let options = vec!["info".to_owned(), "warning".to_owned(), "debug".to_owned()];
        DispatchTrigger {
            inputs: vec![
                DispatchInput {
                    description: Some("Log level".to_owned()),
                    ..input("logLevel", InputType::Choice(options), true, Some("warning"))
                },
                input("tags", InputType::Boolean, false, None),
                input("environment", InputType::Environment, true, None),
            ],
        }
    }

    #[test]
    fn the_documented_command_gives_typed_values() {
        let values = documented()
            .resolve(&given(&[("logLevel", "warning"), ("tags", "false"), ("environment", "staging")]))
            .unwrap_or_else(|errors| panic!("{errors:?}"));
        assert_eq!(
            values,
            vec![
                ("logLevel".to_owned(), InputValue::Text("warning".to_owned())),
                ("tags".to_owned(), InputValue::Boolean(false)),
                ("environment".to_owned(), InputValue::Text("staging".to_owned())),
            ]
        );
        assert_eq!(values[1].1.to_json(), serde_json::json!(false));
        assert_eq!(values[1].1.to_string(), "false");
    }

    #[test]
    fn defaults_and_empty_values() {
        let values = documented()
            .resolve(&given(&[("environment", "production")]))
            .unwrap_or_else(|errors| panic!("{errors:?}"));
        assert_eq!(values[0].1, InputValue::Text("warning".to_owned()), "the default of a required input");
        assert_eq!(values[1].1, InputValue::Boolean(false), "an optional boolean without a default");
        let numbers = DispatchTrigger {
            inputs: vec![input("n", InputType::Number, false, None), input("s", InputType::String, false, None)],
        };
        let values = numbers.resolve(&[]).unwrap_or_else(|errors| panic!("{errors:?}"));
        assert_eq!(
            values,
            vec![("n".to_owned(), InputValue::Number(0.0)), ("s".to_owned(), InputValue::Text(String::new()))]
        );
        assert_eq!(numbers.resolve(&given(&[("n", "2.5")])).map(|v| v[0].1.to_json()), Ok(serde_json::json!(2.5)));
    }

    #[test]
    fn every_mistake_at_once() {
        let mut trigger = documented();
        trigger.inputs.push(input("count", InputType::Number, false, None));
        let errors = trigger
            .resolve(&given(&[("logLevel", "verbose"), ("tags", "yes"), ("count", "three"), ("colour", "red")]))
            .err()
            .unwrap_or_default();
        let messages: Vec<String> = errors.iter().map(ToString::to_string).collect();
        insta::assert_snapshot!(messages.join("\n"), @r"
        the workflow has no input `colour`; its inputs are: `logLevel`, `tags`, `environment`, `count`
        input `logLevel` is a choice, and `verbose` is not one: choose one of `info`, `warning`, `debug`
        input `tags` is a boolean, and `yes` is not one: write `true` or `false`
        input `environment` is required: give it a value, as in `-f environment=...`
        input `count` is a number, and `three` is not one: write a number, such as `3` or `2.5`
        ");
    }

    #[test]
    fn numbers_and_booleans_are_strict() {
        let trigger = DispatchTrigger {
            inputs: vec![input("n", InputType::Number, false, None), input("b", InputType::Boolean, false, None)],
        };
        for bad in ["", "NaN", "inf", "1e999", "0x10", "1,5"] {
            assert!(trigger.resolve(&given(&[("n", bad)])).is_err(), "{bad}");
        }
        for good in ["0", "-3", "1e3", "2.50"] {
            assert!(trigger.resolve(&given(&[("n", good)])).is_ok(), "{good}");
        }
        for bad in ["True", "1", "yes", ""] {
            assert!(trigger.resolve(&given(&[("b", bad)])).is_err(), "{bad}");
        }
    }
}
