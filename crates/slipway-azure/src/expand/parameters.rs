//! Template and pipeline parameters: their declarations (`parameters:` in list form, or the legacy
//! mapping form), the values passed to them, type checks and `values:` checks.

use slipway_diagnostics::{Diagnostic, SourceMap, Span, did_you_mean};
use slipway_expr::{Object, Value};
use slipway_yaml::{Literal, Node, Value as NodeValue};

use super::values::{node_to_value, value_to_node};

/// The parameter types Azure Pipelines knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Type {
    String,
    Number,
    Boolean,
    Object,
    Step,
    StepList,
    Job,
    JobList,
    Deployment,
    DeploymentList,
    Stage,
    StageList,
    /// A parameter of the legacy mapping form, which takes any value.
    Untyped,
}

const TYPE_NAMES: [(&str, Type); 12] = [
    ("string", Type::String),
    ("number", Type::Number),
    ("boolean", Type::Boolean),
    ("object", Type::Object),
    ("step", Type::Step),
    ("stepList", Type::StepList),
    ("job", Type::Job),
    ("jobList", Type::JobList),
    ("deployment", Type::Deployment),
    ("deploymentList", Type::DeploymentList),
    ("stage", Type::Stage),
    ("stageList", Type::StageList),
];

const DECLARATION_KEYS: [&str; 5] = ["name", "displayName", "type", "default", "values"];

impl Type {
    fn name(self) -> &'static str {
        TYPE_NAMES.iter().find(|(_, kind)| *kind == self).map_or("object", |(name, _)| name)
    }
}

/// One declared parameter.
#[derive(Clone, Debug)]
pub(super) struct Declared {
    pub name: String,
    pub kind: Type,
    pub default: Option<Node>,
    pub values: Option<Vec<Node>>,
    pub span: Span,
}

/// The declarations in a `parameters:` node, and whether they use the legacy mapping form.
pub(super) struct Declarations {
    pub parameters: Vec<Declared>,
    pub legacy: bool,
}

/// Reads a `parameters:` node.
pub(super) fn declarations(node: &Node, diagnostics: &mut Vec<Diagnostic>) -> Declarations {
    let mut parameters: Vec<Declared> = Vec::new();
    match &node.value {
        NodeValue::Mapping(entries) => {
            for (key, value) in entries {
                let name = key.as_str().unwrap_or_default().to_owned();
                parameters.push(Declared {
                    name,
                    kind: Type::Untyped,
                    default: Some(value.clone()),
                    values: None,
                    span: key.span,
                });
            }
            return Declarations { parameters, legacy: true };
        }
        NodeValue::Sequence(items) => {
            for item in items {
                if let Some(declared) = declaration(item, diagnostics) {
                    if parameters.iter().any(|other| other.name.eq_ignore_ascii_case(&declared.name)) {
                        diagnostics.push(
                            Diagnostic::error(
                                "P0005",
                                format!("parameter `{}` is declared twice", declared.name),
                                Some(declared.span),
                            )
                            .with_hint("give each parameter a different name"),
                        );
                        continue;
                    }
                    parameters.push(declared);
                }
            }
        }
        NodeValue::Scalar(_) if node.is_null() => {}
        NodeValue::Scalar(_) => diagnostics.push(
            Diagnostic::error(
                "P0005",
                format!("`parameters` must be a list of parameter declarations, found {}", node.kind_name()),
                Some(node.span),
            )
            .with_hint("write `parameters:` followed by items like `- name: example` with `type:` and `default:`"),
        ),
    }
    Declarations { parameters, legacy: false }
}

fn declaration(item: &Node, diagnostics: &mut Vec<Diagnostic>) -> Option<Declared> {
    let Some(entries) = item.as_mapping() else {
        diagnostics.push(
            Diagnostic::error(
                "P0005",
                format!("a parameter declaration must be a mapping, found {}", item.kind_name()),
                Some(item.span),
            )
            .with_hint("declare a parameter as `- name: example` with optional `type:`, `default:` and `values:`"),
        );
        return None;
    };
    for (key, _) in entries {
        let text = key.as_str().unwrap_or_default();
        if !DECLARATION_KEYS.contains(&text) {
            let mut diagnostic =
                Diagnostic::error("P0005", format!("unknown key `{text}` in a parameter declaration"), Some(key.span));
            diagnostic = match did_you_mean(text, DECLARATION_KEYS) {
                Some(suggestion) => diagnostic.with_hint(format!("did you mean `{suggestion}`?")),
                None => diagnostic
                    .with_hint("a parameter declaration takes `name`, `displayName`, `type`, `default` and `values`"),
            };
            diagnostics.push(diagnostic);
        }
    }
    let Some(name_node) = item.get("name") else {
        diagnostics.push(
            Diagnostic::error("P0005", "a parameter declaration needs a `name`", Some(item.span))
                .with_hint("add `name: example`"),
        );
        return None;
    };
    let name = match name_node.as_scalar().map(|scalar| scalar.literal()) {
        Some(Literal::String(text)) if !text.is_empty() => text.to_owned(),
        _ => {
            diagnostics.push(Diagnostic::error(
                "P0005",
                "a parameter's `name` must be a non-empty string",
                Some(name_node.span),
            ));
            return None;
        }
    };
    let kind = match item.get("type") {
        None => Type::String,
        Some(type_node) => {
            let text = type_node.as_str().unwrap_or_default();
            if let Some((_, kind)) = TYPE_NAMES.iter().find(|(type_name, _)| type_name.eq_ignore_ascii_case(text)) {
                *kind
            } else {
                let mut diagnostic = Diagnostic::error(
                    "P0005",
                    format!("parameter `{name}` has unknown type `{text}`"),
                    Some(type_node.span),
                );
                diagnostic = match did_you_mean(text, TYPE_NAMES.iter().map(|(type_name, _)| *type_name)) {
                    Some(suggestion) => diagnostic.with_hint(format!("did you mean `{suggestion}`?")),
                    None => diagnostic.with_hint(format!(
                        "the types are {}",
                        TYPE_NAMES.iter().map(|(type_name, _)| format!("`{type_name}`")).collect::<Vec<_>>().join(", ")
                    )),
                };
                diagnostics.push(diagnostic);
                Type::Object
            }
        }
    };
    let values = match item.get("values") {
        None => None,
        Some(node) => match node.as_sequence() {
            Some(items) => Some(items.to_vec()),
            None if node.is_null() => None,
            None => {
                diagnostics.push(Diagnostic::error(
                    "P0005",
                    format!("the `values` of parameter `{name}` must be a list"),
                    Some(node.span),
                ));
                None
            }
        },
    };
    Some(Declared { name, kind, default: item.get("default").cloned(), values, span: name_node.span })
}

/// Where parameter values come from, for error messages.
pub(super) enum Site<'a> {
    /// The pipeline itself: values come from `--param`.
    Pipeline,
    /// A template reference at `span` naming `template`.
    Template { template: &'a str, span: Span },
}

/// Parameters bound to values: an object for expressions, and a mapping node that keeps where
/// each value was written.
#[derive(Clone, Debug)]
pub(super) struct Bound {
    pub value: Value,
    pub node: Node,
    pub record: Vec<(String, Value)>,
}

impl Bound {
    pub fn empty(span: Span) -> Self {
        Self {
            value: Value::Object(Object::new()),
            node: Node::new(NodeValue::Mapping(Vec::new()), span),
            record: Vec::new(),
        }
    }
}

/// Binds declared parameters to the values passed (`name`, value node, span of the name).
pub(super) fn bind(
    declarations: &Declarations,
    passed: &[(String, Node, Span)],
    site: &Site<'_>,
    origin: Span,
    sources: &SourceMap,
    diagnostics: &mut Vec<Diagnostic>,
) -> Bound {
    let place = |span: Span| format!("{}:{}:{}", sources.name(span.file), span.start.line, span.start.column);
    let mut object = Object::new();
    let mut entries = Vec::new();
    let mut record = Vec::new();
    for declared in &declarations.parameters {
        let given =
            passed.iter().find(|(name, _, _)| name.eq_ignore_ascii_case(&declared.name)).map(|(_, node, _)| node);
        let Some(node) = given.or(declared.default.as_ref()) else {
            let (code, message, span, hint) = match site {
                Site::Pipeline => (
                    "P0001",
                    format!("a value for parameter `{}` must be provided", declared.name),
                    declared.span,
                    format!("pass it with `--param {}=VALUE`, or give it a `default:`", declared.name),
                ),
                Site::Template { template, span } => (
                    "P0007",
                    format!("template `{template}` needs a value for parameter `{}`", declared.name),
                    *span,
                    format!("add `{}:` under `parameters:` of this template reference", declared.name),
                ),
            };
            diagnostics.push(
                Diagnostic::error(code, message, Some(span))
                    .with_note(format!("`{}` is declared without a default at {}", declared.name, place(declared.span)))
                    .with_hint(hint),
            );
            continue;
        };
        match coerce(declared, node) {
            Ok(value) => {
                if let Some(allowed) = &declared.values {
                    check_values(declared, node, &value, allowed, diagnostics);
                }
                let value_node = match declared.kind {
                    Type::String | Type::Number | Type::Boolean => value_to_node(&value, node.span),
                    _ => node.clone(),
                };
                entries.push((Node::plain(declared.name.clone(), declared.span), value_node));
                record.push((declared.name.clone(), value.clone()));
                object.insert(declared.name.clone(), value);
            }
            Err(expected) => diagnostics.push(
                Diagnostic::error(
                    "P0002",
                    format!("parameter `{}` expects {expected}, but the value is {}", declared.name, node.kind_name()),
                    Some(node.span),
                )
                .with_note(format!(
                    "`{}` is declared as `{}` at {}",
                    declared.name,
                    declared.kind.name(),
                    place(declared.span)
                )),
            ),
        }
    }
    for (name, node, span) in passed {
        if declarations.parameters.iter().any(|declared| declared.name.eq_ignore_ascii_case(name)) {
            continue;
        }
        if declarations.legacy {
            // Legacy templates see every value they are given.
            let value = node_to_value(node);
            entries.push((Node::plain(name.clone(), *span), node.clone()));
            record.push((name.clone(), value.clone()));
            object.insert(name.clone(), value);
            continue;
        }
        let known = declarations.parameters.iter().map(|declared| declared.name.as_str());
        let (code, message) = match site {
            Site::Pipeline => ("P0006", format!("`--param {name}` names no parameter of this pipeline")),
            Site::Template { template, .. } => ("P0004", format!("template `{template}` has no parameter `{name}`")),
        };
        let mut diagnostic =
            Diagnostic::error(code, message, if matches!(site, Site::Pipeline) { None } else { Some(*span) });
        diagnostic = match did_you_mean(name, known) {
            Some(suggestion) => diagnostic.with_hint(format!("did you mean `{suggestion}`?")),
            None if declarations.parameters.is_empty() => diagnostic.with_hint("it declares no parameters"),
            None => diagnostic.with_hint(format!(
                "it declares {}",
                declarations
                    .parameters
                    .iter()
                    .map(|declared| format!("`{}`", declared.name))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        };
        diagnostics.push(diagnostic);
    }
    Bound { value: Value::Object(object), node: Node::new(NodeValue::Mapping(entries), origin), record }
}

/// Converts a value node to the declared type, or says what was expected.
fn coerce(declared: &Declared, node: &Node) -> Result<Value, &'static str> {
    let literal = node.as_scalar().map(slipway_yaml::Scalar::literal);
    match declared.kind {
        Type::Untyped | Type::Object => Ok(node_to_value(node)),
        Type::String => match (&node.value, literal) {
            (_, Some(Literal::Null)) => Ok(Value::String(String::new())),
            (NodeValue::Scalar(scalar), _) => Ok(Value::String(scalar.text.clone())),
            _ => Err("a string"),
        },
        Type::Number => match literal {
            Some(Literal::Number(number)) => Ok(Value::Number(number)),
            Some(Literal::String(text)) => match slipway_yaml::core_schema(text.trim()) {
                Literal::Number(number) => Ok(Value::Number(number)),
                _ => Err("a number"),
            },
            _ => Err("a number"),
        },
        Type::Boolean => match literal {
            Some(Literal::Bool(value)) => Ok(Value::Bool(value)),
            Some(Literal::String(text)) if text.trim().eq_ignore_ascii_case("true") => Ok(Value::Bool(true)),
            Some(Literal::String(text)) if text.trim().eq_ignore_ascii_case("false") => Ok(Value::Bool(false)),
            _ => Err("a boolean (`true` or `false`)"),
        },
        Type::Step | Type::Job | Type::Deployment | Type::Stage => match &node.value {
            NodeValue::Mapping(_) => Ok(node_to_value(node)),
            _ => Err(match declared.kind {
                Type::Step => "a step (a mapping such as `script: ...`)",
                Type::Job => "a job (a mapping such as `job: ...`)",
                Type::Deployment => "a deployment job (a mapping such as `deployment: ...`)",
                _ => "a stage (a mapping such as `stage: ...`)",
            }),
        },
        Type::StepList | Type::JobList | Type::DeploymentList | Type::StageList => match &node.value {
            NodeValue::Sequence(items) if items.iter().all(|item| item.as_mapping().is_some()) => {
                Ok(node_to_value(node))
            }
            NodeValue::Scalar(_) if node.is_null() => Ok(Value::Array(Vec::new())),
            _ => Err(match declared.kind {
                Type::StepList => "a list of steps",
                Type::JobList => "a list of jobs",
                Type::DeploymentList => "a list of deployment jobs",
                _ => "a list of stages",
            }),
        },
    }
}

fn check_values(declared: &Declared, node: &Node, value: &Value, allowed: &[Node], diagnostics: &mut Vec<Diagnostic>) {
    let text = value.to_display_string();
    let allowed_texts: Vec<String> = allowed
        .iter()
        .map(|candidate| candidate.as_str().map_or_else(|| node_to_value(candidate).to_display_string(), str::to_owned))
        .collect();
    if matches!(value, Value::Array(_) | Value::Object(_))
        || allowed_texts.iter().any(|candidate| candidate.eq_ignore_ascii_case(&text))
    {
        return;
    }
    let list = allowed_texts.iter().map(|candidate| format!("`{candidate}`")).collect::<Vec<_>>().join(", ");
    let mut diagnostic = Diagnostic::error(
        "P0003",
        format!("`{text}` is not an allowed value of parameter `{}`", declared.name),
        Some(node.span),
    )
    .with_note(format!("the allowed values are {list}"));
    if let Some(suggestion) = did_you_mean(&text, allowed_texts.iter().map(String::as_str)) {
        diagnostic = diagnostic.with_hint(format!("did you mean `{suggestion}`?"));
    }
    diagnostics.push(diagnostic);
}

/// A runtime parameter as a pipeline declares it, for a form that asks for its value.
#[derive(Clone, Debug, PartialEq)]
pub struct ParameterDeclaration {
    /// The parameter's name.
    pub name: String,
    /// Its `displayName`, if it has one.
    pub display_name: Option<String>,
    /// Its type as written in YAML (`string`, `number`, `boolean`, `object`, `stepList`, ...);
    /// `object` for the legacy mapping form, which takes any value.
    pub kind: &'static str,
    /// Its default value as JSON, if it has one.
    pub default: Option<serde_json::Value>,
    /// Its default value as YAML text, for values a person edits as text (objects and lists).
    pub default_yaml: Option<String>,
    /// The values it may take (`values:`), as JSON; empty when any value of its type is allowed.
    pub values: Vec<serde_json::Value>,
}

/// The runtime parameters declared at the top of the pipeline file `text` (`parameters:`), in
/// declaration order. Templates are not read: a pipeline's runtime parameters are those of its
/// entry file.
///
/// # Errors
/// The diagnostics, when the text is not YAML or its `parameters:` cannot be read.
pub fn declared_parameters(
    text: &str,
    file: slipway_diagnostics::FileId,
) -> Result<Vec<ParameterDeclaration>, Vec<Diagnostic>> {
    let root = slipway_yaml::load(text, file)?;
    let Some(node) = root.get("parameters") else { return Ok(Vec::new()) };
    let mut diagnostics = Vec::new();
    let declarations = declarations(node, &mut diagnostics);
    if diagnostics.iter().any(Diagnostic::is_error) {
        return Err(diagnostics);
    }
    let items = node.as_sequence().unwrap_or_default();
    let found = declarations
        .parameters
        .iter()
        .map(|declared| {
            let display_name = items
                .iter()
                .find(|item| item.get("name").and_then(Node::as_str) == Some(declared.name.as_str()))
                .and_then(|item| item.get("displayName"))
                .and_then(Node::as_str)
                .map(str::to_owned);
            ParameterDeclaration {
                name: declared.name.clone(),
                display_name,
                kind: if declared.kind == Type::Untyped { "object" } else { declared.kind.name() },
                default: declared.default.as_ref().map(|default| node_to_value(default).to_json()),
                default_yaml: declared
                    .default
                    .as_ref()
                    .map(|default| slipway_yaml::emit(default).trim_end().to_owned()),
                values: declared.values.iter().flatten().map(|value| node_to_value(value).to_json()).collect(),
            }
        })
        .collect();
    Ok(found)
}

#[cfg(test)]
mod declared_tests {
    use super::*;

    #[test]
    fn declarations_are_read_for_a_form() {
        let text = "\
parameters:
- name: environment
  displayName: Where to deploy
  values: [dev, prod]
  default: dev
- name: dryRun
  type: boolean
  default: true
- name: count
  type: number
- name: targets
  type: object
  default: [linux, windows]
steps:
- script: echo hi
";
        let found = declared_parameters(text, slipway_diagnostics::FileId(0)).unwrap_or_default();
        let names: Vec<&str> = found.iter().map(|parameter| parameter.name.as_str()).collect();
        assert_eq!(names, ["environment", "dryRun", "count", "targets"]);
        assert_eq!(found[0].display_name.as_deref(), Some("Where to deploy"));
        assert_eq!(found[0].kind, "string");
        assert_eq!(found[0].values, [serde_json::json!("dev"), serde_json::json!("prod")]);
        assert_eq!(found[1].kind, "boolean");
        assert_eq!(found[1].default, Some(serde_json::json!(true)));
        assert_eq!(found[2].kind, "number");
        assert_eq!(found[2].default, None);
        assert_eq!(found[3].kind, "object");
        assert_eq!(found[3].default_yaml.as_deref(), Some("- linux\n- windows"));
    }

    #[test]
    fn no_parameters_and_bad_yaml() {
        assert_eq!(
            declared_parameters("steps: []\n", slipway_diagnostics::FileId(0)).map(|found| found.len()).ok(),
            Some(0)
        );
        assert!(declared_parameters("parameters: [\n", slipway_diagnostics::FileId(0)).is_err());
        assert!(declared_parameters("parameters: 3\n", slipway_diagnostics::FileId(0)).is_err());
    }
}
