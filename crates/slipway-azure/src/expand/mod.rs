//! Compile-time expansion: templates, parameters and `${{ }}` template expressions.
//!
//! [`expand`] reads the entry file, binds the pipeline's parameters, evaluates every template
//! expression (`${{ if }}`, `${{ elseif }}`, `${{ else }}`, `${{ each }}`, `${{ insert }}`,
//! expressions in values and keys), replaces every `template:` reference in `stages`, `jobs`,
//! `steps` and `variables` lists with the template's content, and follows `extends`. Runtime
//! `$[ ]` expressions and `$(macro)` text are left for run time. Every produced node keeps the
//! span it was written at; a node made by an expression carries the expression's span.
//!
//! Diagnostic codes raised here: `T0001`–`T0018` (templates and expressions) and `P0001`–`P0006`
//! (parameters); `docs/diagnostics.md` lists them.

pub mod files;
mod parameters;
pub mod values;

use std::collections::HashMap;
use std::rc::Rc;

use slipway_diagnostics::{Diagnostic, FileId, Position, SourceMap, Span, did_you_mean};
use slipway_expr::{Context, EvalError, Object, Value};
use slipway_yaml::{Node, Style, Value as NodeValue};

pub use parameters::{ParameterDeclaration, declared_parameters};

use files::{FileSystem, Location, ReadError, Reference, resolve};
use parameters::{Bound, Site};
use values::{lookup_path, node_to_value, value_to_node};

/// Azure's limit on the number of files one pipeline may include.
pub const MAX_FILES: usize = 100;
/// Azure's limit on template nesting.
pub const MAX_DEPTH: usize = 20;
/// A bound on the size of the expanded document, in nodes, standing in for Azure's memory limit.
pub const MAX_NODES: usize = 100_000;
/// How deep the expanded document may nest: each file nests at most
/// [`slipway_yaml::MAX_NESTING`] levels, but templates can insert values into values; validation
/// and lowering recurse over the result, so it is bounded too.
pub const MAX_EXPANDED_NESTING: usize = 2 * slipway_yaml::MAX_NESTING;

/// What the caller knows before expansion.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Runtime parameter values (`--param NAME=VALUE`); objects and lists as YAML or JSON text.
    pub parameters: Vec<(String, String)>,
    /// Predefined variables available to template expressions (`Build.SourceBranch`, ...).
    pub variables: Vec<(String, String)>,
}

/// The result of expansion.
#[derive(Debug)]
pub struct Expansion {
    /// Every file read.
    pub sources: SourceMap,
    /// The expanded document; `None` when the entry file could not be read or parsed.
    pub root: Option<Node>,
    /// The pipeline's parameters with their final values.
    pub parameters: Vec<(String, Value)>,
    /// Everything that went wrong.
    pub diagnostics: Vec<Diagnostic>,
    /// The templates the pipeline `extends:`, outermost first.
    pub extended: Vec<Location>,
}

/// Expands the pipeline at `entry`.
pub fn expand(entry: &Location, file_system: &dyn FileSystem, options: &Options) -> Expansion {
    let mut expander = Expander {
        file_system,
        sources: SourceMap::new(),
        locations: Vec::new(),
        loaded: HashMap::new(),
        repositories: Vec::new(),
        diagnostics: Vec::new(),
        nodes: 0,
        too_large: false,
        too_many_files: false,
        extended: Vec::new(),
    };
    let mut predefined = Object::new();
    for (name, value) in &options.variables {
        predefined.insert(name.clone(), Value::String(value.clone()));
    }
    let empty_span = Span::new(FileId(0), Position::new(1, 1), Position::new(1, 1));
    let mut scope = Scope {
        parameters: Rc::new(Bound::empty(empty_span)),
        variables: Rc::new(Value::Object(predefined)),
        locals: Rc::new(Vec::new()),
        chain: Rc::new(Vec::new()),
        file: Rc::new(entry.clone()),
        defer_templates: false,
    };
    let Some(root) = expander.load(entry, None, &scope) else {
        return expander.finish(None, Vec::new());
    };
    let Some(entries) = root.as_mapping() else {
        // Not a mapping (empty, or a list): validation says what is wrong.
        return expander.finish(Some((*root).clone()), Vec::new());
    };
    let declarations = match root.get("parameters") {
        Some(node) => parameters::declarations(node, &mut expander.diagnostics),
        None => parameters::Declarations { parameters: Vec::new(), legacy: false },
    };
    let passed = expander.runtime_parameters(&declarations, &options.parameters);
    let mut diagnostics = Vec::new();
    let bound =
        parameters::bind(&declarations, &passed, &Site::Pipeline, root.span, &expander.sources, &mut diagnostics);
    expander.diagnostics.extend(diagnostics);
    let record = bound.record.clone();
    scope.parameters = Rc::new(bound);
    let body: Vec<(Node, Node)> =
        entries.iter().filter(|(key, _)| key.as_str() != Some("parameters")).cloned().collect();
    let mut expanded = expander.mapping(&body, &scope, None);
    for _ in 0..MAX_DEPTH {
        let Some(position) = expanded.iter().position(|(key, _)| key.as_str() == Some("extends")) else { break };
        let (_, extends) = expanded.remove(position);
        let template_entries = expander.extends(&extends, &scope);
        merge_entries(&mut expanded, template_entries);
    }
    let root = Node::new(NodeValue::Mapping(expanded), root.span);
    expander.finish(Some(root), record)
}

/// Adds the aliases a file declares in `resources.repositories` (or the legacy `resources:`
/// list), including those inside `${{ if }}` blocks: any mapping there with a `repository` key.
fn declared_repositories(root: &Node, into: &mut Vec<String>) {
    fn walk(node: &Node, into: &mut Vec<String>) {
        match &node.value {
            NodeValue::Mapping(entries) => {
                if let Some(alias) = node.get("repository").or_else(|| node.get("repo")).and_then(Node::as_str)
                    && !into.iter().any(|known| known == alias)
                {
                    into.push(alias.to_owned());
                }
                for (_, value) in entries {
                    walk(value, into);
                }
            }
            NodeValue::Sequence(items) => items.iter().for_each(|item| walk(item, into)),
            NodeValue::Scalar(_) => {}
        }
    }
    if let Some(resources) = root.get("resources") {
        walk(resources, into);
    }
}

/// Merges the entries of an `extends` template into the pipeline's: lists are concatenated,
/// mappings merged, anything else comes from the template.
fn merge_entries(into: &mut Vec<(Node, Node)>, from: Vec<(Node, Node)>) {
    for (key, value) in from {
        let existing =
            into.iter_mut().find(|(existing, _)| existing.as_str().is_some() && existing.as_str() == key.as_str());
        match existing {
            None => into.push((key, value)),
            Some((_, current)) => match (&mut current.value, value.value) {
                (NodeValue::Sequence(items), NodeValue::Sequence(more)) => items.extend(more),
                (NodeValue::Mapping(entries), NodeValue::Mapping(more)) => merge_entries(entries, more),
                (_, other) => *current = Node::new(other, value.span),
            },
        }
    }
}

/// Which list a sequence is, for `template:` references in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Section {
    Stages,
    Jobs,
    Steps,
    Variables,
    Phases,
}

impl Section {
    fn from_key(key: &str) -> Option<Self> {
        match key {
            "stages" => Some(Self::Stages),
            "jobs" => Some(Self::Jobs),
            "steps" => Some(Self::Steps),
            "variables" => Some(Self::Variables),
            "phases" => Some(Self::Phases),
            _ => None,
        }
    }

    fn key(self) -> &'static str {
        match self {
            Self::Stages => "stages",
            Self::Jobs => "jobs",
            Self::Steps => "steps",
            Self::Variables => "variables",
            Self::Phases => "phases",
        }
    }
}

/// What expressions can see at one place of the document.
#[derive(Clone)]
struct Scope {
    parameters: Rc<Bound>,
    variables: Rc<Value>,
    /// `each` loop variables, innermost last: name, value, and the node it came from.
    locals: Rc<Vec<(String, Value, Node)>>,
    /// The template references that led here: the template and the span of its reference.
    chain: Rc<Vec<(Location, Span)>>,
    /// The file being expanded; `template:` paths resolve against it.
    file: Rc<Location>,
    /// Inside the `parameters:` of a template reference: `template:` items there are data, resolved
    /// later against the template that inserts them (as Azure does).
    defer_templates: bool,
}

impl Scope {
    fn with_local(&self, name: &str, value: Value, node: Node) -> Self {
        let mut locals = (*self.locals).clone();
        locals.push((name.to_owned(), value, node));
        Self { locals: Rc::new(locals), ..self.clone() }
    }

    /// The scope with `more` variables. The variables are shared with the scope it came from
    /// until they change, and changed in place when no other scope shares them, so that a list of
    /// variables, each visible to the ones after it, is learned in linear time.
    fn with_variables(mut self, more: Vec<(String, String)>) -> Self {
        if more.is_empty() {
            return self;
        }
        let variables = Rc::make_mut(&mut self.variables);
        if !matches!(variables, Value::Object(_)) {
            *variables = Value::Object(Object::new());
        }
        if let Value::Object(object) = variables {
            for (name, value) in more {
                object.insert(name, Value::String(value));
            }
        }
        self
    }

    fn local(&self, name: &str) -> Option<&(String, Value, Node)> {
        self.locals.iter().rev().find(|(local, _, _)| local.eq_ignore_ascii_case(name))
    }
}

impl Context for Scope {
    fn named_value(&self, name: &str) -> Option<std::borrow::Cow<'_, Value>> {
        if let Some((_, value, _)) = self.local(name) {
            return Some(std::borrow::Cow::Borrowed(value));
        }
        if name.eq_ignore_ascii_case("parameters") {
            return Some(std::borrow::Cow::Borrowed(&self.parameters.value));
        }
        if name.eq_ignore_ascii_case("variables") {
            return Some(std::borrow::Cow::Borrowed(&self.variables));
        }
        None
    }

    fn call(&self, _name: &str, _arguments: &[Value]) -> Option<Result<Value, EvalError>> {
        None
    }
}

/// A template ready to expand: its name, the scope its parameters are bound in, and its
/// top-level entries other than `parameters`.
struct Instance {
    name: String,
    scope: Scope,
    entries: Vec<(Node, Node)>,
}

/// A `${{ }}` key's meaning.
enum Directive {
    If(String, usize),
    ElseIf(String, usize),
    Else,
    Each {
        variable: String,
        source: String,
        offset: usize,
    },
    Insert,
    /// A key with expressions in it that is not a directive: its text is computed.
    Key,
}

struct Expander<'a> {
    file_system: &'a dyn FileSystem,
    sources: SourceMap,
    /// Location of each file, by file id.
    locations: Vec<Location>,
    loaded: HashMap<Location, Option<Rc<Node>>>,
    repositories: Vec<String>,
    diagnostics: Vec<Diagnostic>,
    nodes: usize,
    too_large: bool,
    too_many_files: bool,
    /// The templates `extends:` named, in the order they were followed.
    extended: Vec<Location>,
}

impl Expander<'_> {
    /// The expansion's result. A document nested deeper than [`MAX_EXPANDED_NESTING`] (templates
    /// inserting values into values) is refused here, so that no later pass recurses that deep.
    fn finish(mut self, root: Option<Node>, parameters: Vec<(String, Value)>) -> Expansion {
        let root = match root {
            Some(root) => match root.deeper_than(MAX_EXPANDED_NESTING) {
                Some(deep) => {
                    self.diagnostics.push(
                        Diagnostic::error(
                            "T0018",
                            format!(
                                "the expanded pipeline nests deeper than {MAX_EXPANDED_NESTING} levels of lists and mappings"
                            ),
                            Some(deep.span),
                        )
                        .with_hint("templates insert values into values here over and over; flatten the parameters they pass"),
                    );
                    None
                }
                None => Some(root),
            },
            None => None,
        };
        Expansion { sources: self.sources, root, parameters, diagnostics: self.diagnostics, extended: self.extended }
    }

    /// Records a diagnostic raised inside `scope`, noting the template references that led there.
    fn report(&mut self, mut diagnostic: Diagnostic, scope: &Scope) {
        // A mistake inside an `${{ each }}` would otherwise be reported once per iteration.
        if self.diagnostics.iter().any(|known| {
            known.code == diagnostic.code && known.span == diagnostic.span && known.message == diagnostic.message
        }) {
            return;
        }
        for (location, span) in scope.chain.iter().rev() {
            diagnostic.notes.push(format!(
                "in template `{location}`, included from {}:{}:{}",
                self.sources.name(span.file),
                span.start.line,
                span.start.column
            ));
        }
        self.diagnostics.push(diagnostic);
    }

    /// Reads and parses a file once; later calls share the parsed tree.
    fn load(&mut self, location: &Location, referenced_at: Option<Span>, scope: &Scope) -> Option<Rc<Node>> {
        if let Some(loaded) = self.loaded.get(location) {
            return loaded.clone();
        }
        if self.locations.len() >= MAX_FILES {
            if !self.too_many_files {
                self.too_many_files = true;
                let diagnostic = Diagnostic::error(
                    "T0004",
                    format!("the pipeline includes more than {MAX_FILES} files, Azure's limit"),
                    referenced_at,
                )
                .with_hint("merge small templates, or include fewer of them");
                self.report(diagnostic, scope);
            }
            return None;
        }
        let result = match self.file_system.read(location) {
            Ok(text) => {
                let file = self.sources.add(self.file_system.display_name(location), text);
                self.locations.push(location.clone());
                let text = self.sources.get(file).map(|source| source.text.as_str()).unwrap_or_default();
                match slipway_yaml::load(text, file) {
                    Ok(node) => {
                        declared_repositories(&node, &mut self.repositories);
                        Some(Rc::new(node))
                    }
                    Err(diagnostics) => {
                        for diagnostic in diagnostics {
                            self.report(diagnostic, scope);
                        }
                        None
                    }
                }
            }
            Err(error) => {
                let diagnostic = self.read_error(location, error, referenced_at);
                self.report(diagnostic, scope);
                None
            }
        };
        self.loaded.insert(location.clone(), result.clone());
        result
    }

    fn read_error(&self, location: &Location, error: ReadError, span: Option<Span>) -> Diagnostic {
        match error {
            ReadError::NotFound if span.is_none() => Diagnostic::error(
                "T0001",
                format!("pipeline file `{}` was not found", self.file_system.display_name(location)),
                None,
            ),
            ReadError::NotFound => Diagnostic::error("T0001", format!("template `{location}` was not found"), span)
                .with_hint("a template path is relative to the file that references it; start it with `/` for the repository root"),
            ReadError::NoCheckout => {
                let alias = location.repository.clone().unwrap_or_default();
                Diagnostic::error(
                    "T0002",
                    format!("template `{location}` is in repository `{alias}`, which has no local checkout"),
                    span,
                )
                .with_hint(format!("pass `--repo {alias}=PATH` with the path of a checkout of that repository"))
            }
            ReadError::OutsideRepository => Diagnostic::error(
                "T0017",
                format!(
                    "`{}` leads outside its repository through a symbolic link",
                    self.file_system.display_name(location)
                ),
                span,
            )
            .with_hint("pipeline files and templates are read only from inside their repository; commit the file itself instead of a link to it"),
            ReadError::Other(reason) => {
                Diagnostic::error("T0015", format!("`{location}` could not be read: {reason}"), span)
            }
        }
    }

    /// Parses `--param NAME=VALUE` values against the declarations.
    fn runtime_parameters(
        &mut self,
        declarations: &parameters::Declarations,
        given: &[(String, String)],
    ) -> Vec<(String, Node, Span)> {
        let mut passed = Vec::new();
        for (name, text) in given {
            let declared = declarations.parameters.iter().find(|declared| declared.name.eq_ignore_ascii_case(name));
            let file = self.sources.add(format!("--param {name}"), text.clone());
            self.locations.push(Location::local(format!("--param {name}")));
            let span = Span::new(
                file,
                Position::new(1, 1),
                Position::new(1, u32::try_from(text.chars().count() + 1).unwrap_or(u32::MAX)),
            );
            let structured = declared.is_some_and(|declared| {
                !matches!(
                    declared.kind,
                    parameters::Type::String | parameters::Type::Number | parameters::Type::Boolean
                )
            });
            let node = if structured {
                match slipway_yaml::load(text, file) {
                    Ok(node) => node,
                    Err(diagnostics) => {
                        self.diagnostics.extend(diagnostics.into_iter().map(|diagnostic| {
                            diagnostic.with_note(format!("while reading the value of `--param {name}` as YAML"))
                        }));
                        continue;
                    }
                }
            } else {
                Node::string(text.clone(), span)
            };
            passed.push((name.clone(), node, span));
        }
        passed
    }

    fn count(&mut self, span: Span, scope: &Scope) -> bool {
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            if !self.too_large {
                self.too_large = true;
                let diagnostic = Diagnostic::error(
                    "T0007",
                    format!("the expanded pipeline has more than {MAX_NODES} nodes; expansion stopped here"),
                    Some(span),
                )
                .with_hint("look for `${{ each }}` loops that multiply each other");
                self.report(diagnostic, scope);
            }
            return false;
        }
        true
    }

    /// Expands any node.
    fn node(&mut self, node: &Node, scope: &Scope, section: Option<Section>) -> Node {
        if !self.count(node.span, scope) {
            return Node::null(node.span);
        }
        match &node.value {
            NodeValue::Scalar(_) => {
                let expanded = self.scalar(node, scope);
                if matches!(expanded.value, NodeValue::Scalar(_)) {
                    expanded
                } else {
                    self.resolve_templates(expanded, scope, section)
                }
            }
            NodeValue::Sequence(items) => {
                Node::new(NodeValue::Sequence(self.sequence(items, scope, section)), node.span)
            }
            NodeValue::Mapping(entries) => {
                Node::new(NodeValue::Mapping(self.mapping(entries, scope, section)), node.span)
            }
        }
    }

    /// Expands a scalar: a value that is one `${{ }}` becomes the expression's value (which may be
    /// a mapping or sequence); text with expressions in it becomes a string.
    fn scalar(&mut self, node: &Node, scope: &Scope) -> Node {
        let Some(scalar) = node.as_scalar() else { return node.clone() };
        if !scalar.text.contains("${{") {
            return node.clone();
        }
        let segments = match slipway_expr::template::split(&scalar.text, "${{") {
            Ok(segments) => segments,
            Err(error) => {
                let span = inner_span(node, error.offset, error.length);
                self.report(
                    Diagnostic::error("T0010", format!("invalid template expression: {}", error.reason()), Some(span)),
                    scope,
                );
                return node.clone();
            }
        };
        if let [slipway_expr::template::Segment::Expression { source, offset }] = segments.as_slice()
            && scalar.text.trim().starts_with("${{")
            && scalar.text.trim().ends_with("}}")
        {
            return self.whole_value(node, source, *offset, scope);
        }
        let mut text = String::new();
        for segment in &segments {
            match segment {
                slipway_expr::template::Segment::Text(literal) => text.push_str(literal),
                slipway_expr::template::Segment::Expression { source, offset } => {
                    if let Some(value) = self.evaluate(node, source, *offset, scope) {
                        text.push_str(&value.to_display_string());
                    }
                }
            }
        }
        Node::string(text, node.span)
    }

    /// The node for a value written as exactly one expression.
    fn whole_value(&mut self, node: &Node, source: &str, offset: usize, scope: &Scope) -> Node {
        if let Some(found) = self.lookup(source, scope) {
            return found.unwrap_or_else(|| Node::null(node.span));
        }
        match self.evaluate(node, source, offset, scope) {
            Some(value) => value_to_node(&value, inner_span(node, offset, source.chars().count())),
            None => Node::null(node.span),
        }
    }

    /// Follows a plain property path through parameter and loop-variable nodes, keeping spans.
    fn lookup(&self, source: &str, scope: &Scope) -> Option<Option<Node>> {
        lookup_path(source, |root| {
            if let Some((_, _, node)) = scope.local(root) {
                Some(node)
            } else if root.eq_ignore_ascii_case("parameters") {
                Some(&scope.parameters.node)
            } else {
                None
            }
        })
        .map(|found| found.cloned())
    }

    /// Parses and evaluates one expression written inside `node`, reporting failures.
    fn evaluate(&mut self, node: &Node, source: &str, offset: usize, scope: &Scope) -> Option<Value> {
        let expression = match slipway_expr::parse(source) {
            Ok(expression) => expression,
            Err(error) => {
                let span = inner_span(node, offset + error.offset, error.length);
                self.report(
                    Diagnostic::error("T0010", format!("invalid template expression: {}", error.reason()), Some(span)),
                    scope,
                );
                return None;
            }
        };
        match slipway_expr::evaluate(&expression, scope) {
            Ok(value) => Some(value),
            Err(error) => {
                let leading = source.chars().take_while(|c| c.is_whitespace()).count();
                let span = inner_span(node, offset + leading, source.trim().chars().count());
                let mut diagnostic = Diagnostic::error(
                    "T0011",
                    format!("template expression `{}` failed: {}", source.trim(), error.message),
                    Some(span),
                );
                if error.message.contains("Unrecognized value") {
                    diagnostic = diagnostic.with_hint(
                        "template expressions can use `parameters`, `variables` and `${{ each }}` loop variables",
                    );
                }
                self.report(diagnostic, scope);
                None
            }
        }
    }

    /// Reads a directive key.
    fn directive(&mut self, key: &Node, scope: &Scope) -> Option<Directive> {
        let text = key.as_str().unwrap_or_default();
        let trimmed = text.trim();
        let inner = trimmed.strip_prefix("${{").and_then(|rest| rest.strip_suffix("}}"));
        let Some(inner) = inner.filter(|inner| !inner.contains("${{")) else {
            return Some(Directive::Key);
        };
        let leading = text.find("${{").unwrap_or(0) + 3;
        let offset_of =
            |part: &str| leading + (inner.len() - inner.trim_start().len()) + (inner.trim_start().len() - part.len());
        let body = inner.trim();
        let (word, rest) = body.split_once(char::is_whitespace).unwrap_or((body, ""));
        match word {
            "if" | "elseif" => {
                let condition = rest.trim_start();
                if condition.is_empty() {
                    self.report(
                        Diagnostic::error("T0013", format!("`${{{{ {word} }}}}` needs a condition"), Some(key.span))
                            .with_hint(format!("write `${{{{ {word} eq(parameters.name, 'value') }}}}:`")),
                        scope,
                    );
                    return None;
                }
                let offset = offset_of(condition);
                Some(if word == "if" {
                    Directive::If(condition.to_owned(), offset)
                } else {
                    Directive::ElseIf(condition.to_owned(), offset)
                })
            }
            "else" => {
                if !rest.trim().is_empty() {
                    self.report(
                        Diagnostic::error("T0013", "`${{ else }}` takes no condition", Some(key.span))
                            .with_hint("use `${{ elseif condition }}` for another condition"),
                        scope,
                    );
                    return None;
                }
                Some(Directive::Else)
            }
            "insert" if rest.trim().is_empty() => Some(Directive::Insert),
            "each" => {
                let mut parts = rest.trim_start().splitn(2, char::is_whitespace);
                let variable = parts.next().unwrap_or_default();
                let remainder = parts.next().unwrap_or_default().trim_start();
                let collection = remainder.strip_prefix("in").filter(|after| after.starts_with(char::is_whitespace));
                let valid_name = !variable.is_empty()
                    && variable.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                    && variable.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
                match collection {
                    Some(collection) if valid_name && !collection.trim().is_empty() => {
                        let source = collection.trim_start();
                        Some(Directive::Each {
                            variable: variable.to_owned(),
                            source: source.to_owned(),
                            offset: offset_of(source),
                        })
                    }
                    _ => {
                        self.report(
                            Diagnostic::error(
                                "T0013",
                                "`${{ each }}` must be written `${{ each NAME in COLLECTION }}`",
                                Some(key.span),
                            )
                            .with_hint("for example `${{ each step in parameters.steps }}:`"),
                            scope,
                        );
                        None
                    }
                }
            }
            _ => Some(Directive::Key),
        }
    }

    /// Evaluates a directive's condition.
    fn condition(&mut self, key: &Node, source: &str, offset: usize, scope: &Scope) -> bool {
        self.evaluate(key, source, offset, scope).is_some_and(|value| value.is_truthy())
    }

    /// The items an `${{ each }}` walks: `(value, node)` pairs.
    fn iterate(&mut self, key: &Node, source: &str, offset: usize, scope: &Scope) -> Vec<(Value, Node)> {
        if self.too_large {
            return Vec::new();
        }
        let collection = match self.lookup(source, scope) {
            Some(found) => found,
            None => self.evaluate(key, source, offset, scope).map(|value| value_to_node(&value, key.span)),
        };
        let Some(collection) = collection else { return Vec::new() };
        match &collection.value {
            NodeValue::Sequence(items) => items.iter().map(|item| (node_to_value(item), item.clone())).collect(),
            NodeValue::Mapping(entries) => entries
                .iter()
                .map(|(entry_key, entry_value)| {
                    let pair = Node::new(
                        NodeValue::Mapping(vec![
                            (Node::plain("key", entry_key.span), entry_key.clone()),
                            (Node::plain("value", entry_value.span), entry_value.clone()),
                        ]),
                        entry_key.span,
                    );
                    (node_to_value(&pair), pair)
                })
                .collect(),
            NodeValue::Scalar(_) if collection.is_null() => Vec::new(),
            NodeValue::Scalar(_) => {
                self.report(
                    Diagnostic::error(
                        "T0014",
                        format!(
                            "`${{{{ each }}}}` needs a sequence or a mapping, but `{}` is {}",
                            source.trim(),
                            collection.kind_name()
                        ),
                        Some(key.span),
                    ),
                    scope,
                );
                Vec::new()
            }
        }
    }

    /// Expands the entries of a mapping.
    fn mapping(&mut self, entries: &[(Node, Node)], scope: &Scope, section: Option<Section>) -> Vec<(Node, Node)> {
        let mut scope = scope.clone();
        let mut expanded_variables = None;
        if let Some((_, variables)) = entries.iter().find(|(key, _)| key.as_str() == Some("variables")) {
            let expanded = self.node(variables, &scope, Some(Section::Variables));
            scope = scope.with_variables(static_variables(&expanded));
            expanded_variables = Some(expanded);
        }
        let is_reference = entries.iter().any(|(key, _)| key.as_str() == Some("template"));
        let mut out: Vec<(Node, Node)> = Vec::with_capacity(entries.len());
        // `Some(true)` once a branch of the current if/elseif chain was taken.
        let mut chain: Option<bool> = None;
        let mut learned = 0;
        for (key, value) in entries {
            if section == Some(Section::Variables) && learned < out.len() {
                // In the mapping form of `variables:`, each variable can be used by the ones after it.
                scope = scope.with_variables(mapping_variables(&out[learned..]));
                learned = out.len();
            }
            let text = key.as_str().unwrap_or_default();
            if !text.contains("${{") {
                chain = None;
                let expanded = match (text, expanded_variables.take()) {
                    ("variables", Some(expanded)) => expanded,
                    ("parameters", taken) if is_reference => {
                        expanded_variables = taken;
                        let deferred = Scope { defer_templates: true, ..scope.clone() };
                        self.node(value, &deferred, None)
                    }
                    (_, taken) => {
                        expanded_variables = taken;
                        self.node(value, &scope, Section::from_key(text))
                    }
                };
                out.push((key.clone(), expanded));
                continue;
            }
            let Some(directive) = self.directive(key, &scope) else { continue };
            match directive {
                Directive::If(source, offset) => {
                    let taken = self.condition(key, &source, offset, &scope);
                    chain = Some(taken);
                    if taken {
                        let expanded = self.node(value, &scope, section);
                        self.merge_mapping(&mut out, expanded, key, &scope);
                    }
                }
                Directive::ElseIf(source, offset) => match chain {
                    None => self.orphan(key, "elseif", &scope),
                    Some(true) => {}
                    Some(false) => {
                        let taken = self.condition(key, &source, offset, &scope);
                        chain = Some(taken);
                        if taken {
                            let expanded = self.node(value, &scope, section);
                            self.merge_mapping(&mut out, expanded, key, &scope);
                        }
                    }
                },
                Directive::Else => {
                    match chain {
                        None => self.orphan(key, "else", &scope),
                        Some(true) => {}
                        Some(false) => {
                            let expanded = self.node(value, &scope, section);
                            self.merge_mapping(&mut out, expanded, key, &scope);
                        }
                    }
                    chain = None;
                }
                Directive::Each { variable, source, offset } => {
                    chain = None;
                    for (item, item_node) in self.iterate(key, &source, offset, &scope) {
                        if !self.count(key.span, &scope) {
                            break;
                        }
                        let inner = scope.with_local(&variable, item, item_node);
                        let expanded = self.node(value, &inner, section);
                        self.merge_mapping(&mut out, expanded, key, &scope);
                    }
                }
                Directive::Insert => {
                    chain = None;
                    let expanded = self.node(value, &scope, section);
                    self.merge_mapping(&mut out, expanded, key, &scope);
                }
                Directive::Key => {
                    chain = None;
                    let new_key = self.scalar(key, &scope);
                    let Some(new_text) = new_key.as_str().map(str::to_owned) else {
                        self.report(
                            Diagnostic::error(
                                "T0014",
                                format!("a key must be text, but `{text}` gives {}", new_key.kind_name()),
                                Some(key.span),
                            ),
                            &scope,
                        );
                        continue;
                    };
                    let expanded = self.node(value, &scope, Section::from_key(&new_text));
                    out.push((Node::plain(new_text, new_key.span), expanded));
                }
            }
        }
        self.check_duplicates(entries, &out, &scope);
        out
    }

    /// Reports keys that appear twice once directives were applied. Keys written twice in the
    /// same mapping were already reported by the YAML loader.
    fn check_duplicates(&mut self, source: &[(Node, Node)], out: &[(Node, Node)], scope: &Scope) {
        if out.len() < 2 {
            return;
        }
        let literal = |span: Span| source.iter().any(|(key, _)| key.span == span);
        let mut seen: HashMap<&str, Span> = HashMap::new();
        let mut found = Vec::new();
        for (key, _) in out {
            let Some(text) = key.as_str() else { continue };
            match seen.get(text) {
                Some(first) if !(literal(*first) && literal(key.span)) => {
                    found.push((text.to_owned(), *first, key.span))
                }
                Some(_) => {}
                None => {
                    seen.insert(text, key.span);
                }
            }
        }
        for (text, first, second) in found {
            self.report(
                Diagnostic::error(
                    "T0016",
                    format!("key `{text}` is defined twice after template expansion"),
                    Some(second),
                )
                .with_note(format!(
                    "it was first defined at {}:{}:{}",
                    self.sources.name(first.file),
                    first.start.line,
                    first.start.column
                ))
                .with_hint("make the `${{ if }}` branches or inserted mappings set different keys"),
                scope,
            );
        }
    }

    fn orphan(&mut self, key: &Node, word: &str, scope: &Scope) {
        self.report(
            Diagnostic::error(
                "T0012",
                format!("`${{{{ {word} }}}}` must follow an `${{{{ if }}}}` or `${{{{ elseif }}}}`"),
                Some(key.span),
            )
            .with_hint("put it right after the `${{ if }}` entry it belongs to"),
            scope,
        );
    }

    fn merge_mapping(&mut self, out: &mut Vec<(Node, Node)>, expanded: Node, key: &Node, scope: &Scope) {
        match expanded.value {
            NodeValue::Mapping(entries) => out.extend(entries),
            NodeValue::Scalar(_) if expanded.is_null() => {}
            _ => self.report(
                Diagnostic::error(
                    "T0014",
                    format!(
                        "`{}` is inside a mapping, so its content must be key/value pairs, but it is {}",
                        key.as_str().unwrap_or_default().trim(),
                        expanded.kind_name()
                    ),
                    Some(expanded.span),
                )
                .with_hint("indent the content as `key: value` entries, or move the directive into a list"),
                scope,
            ),
        }
    }

    /// Expands the items of a sequence, splicing conditional, looped and inserted items and the
    /// content of templates.
    fn sequence(&mut self, items: &[Node], scope: &Scope, section: Option<Section>) -> Vec<Node> {
        let mut out: Vec<Node> = Vec::with_capacity(items.len());
        let mut chain: Option<bool> = None;
        let mut progressive = scope.clone();
        for item in items {
            // In a `variables:` list, each variable can be used by the ones after it.
            let scope = &progressive;
            let before = out.len();
            if let Some(entries) = item.as_mapping().filter(|entries| all_directives(entries)) {
                let mut pending: Vec<(Node, Node)> = Vec::new();
                for (key, value) in entries {
                    let Some(directive) = self.directive(key, scope) else { continue };
                    let mut produced = Vec::new();
                    match directive {
                        Directive::If(source, offset) => {
                            let taken = self.condition(key, &source, offset, scope);
                            chain = Some(taken);
                            if taken {
                                produced.push(self.node(value, scope, section));
                            }
                        }
                        Directive::ElseIf(source, offset) => match chain {
                            None => self.orphan(key, "elseif", scope),
                            Some(true) => {}
                            Some(false) => {
                                let taken = self.condition(key, &source, offset, scope);
                                chain = Some(taken);
                                if taken {
                                    produced.push(self.node(value, scope, section));
                                }
                            }
                        },
                        Directive::Else => {
                            match chain {
                                None => self.orphan(key, "else", scope),
                                Some(true) => {}
                                Some(false) => produced.push(self.node(value, scope, section)),
                            }
                            chain = None;
                        }
                        Directive::Each { variable, source, offset } => {
                            chain = None;
                            for (element, element_node) in self.iterate(key, &source, offset, scope) {
                                if !self.count(key.span, scope) {
                                    break;
                                }
                                let inner = scope.with_local(&variable, element, element_node);
                                produced.push(self.node(value, &inner, section));
                            }
                        }
                        Directive::Insert | Directive::Key => {
                            chain = None;
                            produced.push(self.node(value, scope, section));
                        }
                    }
                    for node in produced {
                        match node.value {
                            NodeValue::Sequence(more) => out.extend(more),
                            NodeValue::Mapping(more) => pending.extend(more),
                            NodeValue::Scalar(_) if node.is_null() => {}
                            NodeValue::Scalar(_) => out.push(node),
                        }
                    }
                }
                if !pending.is_empty() {
                    out.push(Node::new(NodeValue::Mapping(pending), item.span));
                }
                progressive = self.learn_variables(progressive, section, &out[before..]);
                continue;
            }
            chain = None;
            // An item of a `variables:` list (`- name: x`) is not the mapping form of `variables:`.
            let item_section =
                if section == Some(Section::Variables) && item.as_mapping().is_some() { None } else { section };
            let expanded = self.node(item, scope, item_section);
            let inserted = item.as_str().is_some_and(|text| text.contains("${{"));
            match expanded.value {
                NodeValue::Sequence(more) if inserted => out.extend(more),
                NodeValue::Scalar(_) if inserted && expanded.is_null() => {}
                _ => self.push_item(&mut out, expanded, scope, section),
            }
            progressive = self.learn_variables(progressive, section, &out[before..]);
        }
        out
    }

    /// In a `variables:` list, the scope extended with the variables `added` defines.
    fn learn_variables(&self, scope: Scope, section: Option<Section>, added: &[Node]) -> Scope {
        if section != Some(Section::Variables) {
            return scope;
        }
        scope.with_variables(list_variables(added))
    }

    /// Adds an expanded item to a list, replacing a template reference with the template's items.
    fn push_item(&mut self, out: &mut Vec<Node>, item: Node, scope: &Scope, section: Option<Section>) {
        match section {
            Some(section) if !scope.defer_templates && item.get("template").is_some() => {
                out.extend(self.template_items(&item, scope, section));
            }
            _ => out.push(item),
        }
    }

    /// Replaces the template references in a node that was inserted by an expression (a
    /// `stepList` parameter, an `each` variable). Its expressions were evaluated where it was
    /// written; its `template:` paths resolve here, against the file inserting it.
    fn resolve_templates(&mut self, node: Node, scope: &Scope, section: Option<Section>) -> Node {
        if scope.defer_templates {
            return node;
        }
        match node.value {
            NodeValue::Sequence(items) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    if section.is_some() && item.get("template").is_some() {
                        self.push_item(&mut out, item, scope, section);
                    } else {
                        out.push(self.resolve_templates(item, scope, None));
                    }
                }
                Node::new(NodeValue::Sequence(out), node.span)
            }
            NodeValue::Mapping(entries) if node_is_reference(&entries) => {
                Node::new(NodeValue::Mapping(entries), node.span)
            }
            NodeValue::Mapping(entries) => {
                let entries = entries
                    .into_iter()
                    .map(|(key, value)| {
                        let child = key.as_str().and_then(Section::from_key);
                        let value = self.resolve_templates(value, scope, child);
                        (key, value)
                    })
                    .collect();
                Node::new(NodeValue::Mapping(entries), node.span)
            }
            NodeValue::Scalar(_) => node,
        }
    }

    /// Loads the template a `template:` item names, binds its parameters, expands it and returns
    /// the items of its `section` list.
    fn template_items(&mut self, item: &Node, scope: &Scope, section: Section) -> Vec<Node> {
        let Some(Instance { name: template, scope: template_scope, entries }) = self.instantiate(item, scope) else {
            return Vec::new();
        };
        let expanded = self.mapping(&entries, &template_scope, None);
        let list = expanded.into_iter().find(|(key, _)| key.as_str() == Some(section.key())).map(|(_, value)| value);
        match list {
            Some(Node { value: NodeValue::Sequence(items), .. }) => items,
            Some(Node { value: NodeValue::Mapping(variables), span }) if section == Section::Variables => variables
                .into_iter()
                .map(|(name, value)| {
                    Node::new(
                        NodeValue::Mapping(vec![
                            (Node::plain("name", name.span), name),
                            (Node::plain("value", value.span), value),
                        ]),
                        span,
                    )
                })
                .collect(),
            Some(node) if node.is_null() => Vec::new(),
            Some(node) => {
                self.report(
                    Diagnostic::error(
                        "T0009",
                        format!(
                            "`{}` in template `{template}` must be a list, but it is {}",
                            section.key(),
                            node.kind_name()
                        ),
                        Some(node.span),
                    ),
                    &template_scope,
                );
                Vec::new()
            }
            None => {
                let span = item.get("template").map_or(item.span, |node| node.span);
                self.report(
                    Diagnostic::error(
                        "T0009",
                        format!(
                            "template `{template}` has no `{}:`, so it cannot be used in a `{}:` list",
                            section.key(),
                            section.key()
                        ),
                        Some(span),
                    )
                    .with_hint(format!("a template used here must have `{}:` at its top level", section.key())),
                    scope,
                );
                Vec::new()
            }
        }
    }

    /// Expands the template an `extends:` names and returns its top-level entries.
    fn extends(&mut self, extends: &Node, scope: &Scope) -> Vec<(Node, Node)> {
        if extends.get("template").is_none() {
            self.report(
                Diagnostic::error("T0008", "`extends` needs a `template:`", Some(extends.span))
                    .with_hint("write `extends:` with `template: path.yml` and optional `parameters:`"),
                scope,
            );
            return Vec::new();
        }
        let Some(Instance { scope: template_scope, entries, .. }) = self.instantiate(extends, scope) else {
            return Vec::new();
        };
        self.extended.push((*template_scope.file).clone());
        self.mapping(&entries, &template_scope, None)
    }

    /// Resolves and loads the template a reference names and binds its parameters. Returns the
    /// template's name, the scope to expand it in, and its entries other than `parameters`.
    fn instantiate(&mut self, item: &Node, scope: &Scope) -> Option<Instance> {
        let path_node = item.get("template")?;
        for (key, _) in item.as_mapping().unwrap_or_default() {
            let text = key.as_str().unwrap_or_default();
            if text != "template" && text != "parameters" {
                let mut diagnostic = Diagnostic::error(
                    "T0008",
                    format!("a template reference takes only `template` and `parameters`, not `{text}`"),
                    Some(key.span),
                );
                if let Some(suggestion) = did_you_mean(text, ["parameters"]) {
                    diagnostic = diagnostic.with_hint(format!("did you mean `{suggestion}`?"));
                }
                self.report(diagnostic, scope);
            }
        }
        let Some(reference_text) = path_node.as_str().filter(|text| !text.trim().is_empty()) else {
            self.report(
                Diagnostic::error(
                    "T0008",
                    format!("`template` must be a file path, found {}", path_node.kind_name()),
                    Some(path_node.span),
                ),
                scope,
            );
            return None;
        };
        let reference = Reference::parse(reference_text);
        if let Some(alias) = reference.alias
            && !alias.eq_ignore_ascii_case("self")
            && !self.repositories.iter().any(|known| known == alias)
        {
            let mut diagnostic = Diagnostic::error(
                "T0003",
                format!(
                    "template `{reference_text}` names repository `{alias}`, which `resources.repositories` does not declare"
                ),
                Some(path_node.span),
            );
            diagnostic = match did_you_mean(alias, self.repositories.iter().map(String::as_str)) {
                Some(suggestion) => diagnostic.with_hint(format!("did you mean `@{suggestion}`?")),
                None => diagnostic
                    .with_hint(format!("declare it under `resources: repositories:` as `- repository: {alias}`")),
            };
            self.report(diagnostic, scope);
            return None;
        }
        let location = match resolve(&reference, &scope.file) {
            Ok(location) => location,
            Err(message) => {
                self.report(Diagnostic::error("T0008", message, Some(path_node.span)), scope);
                return None;
            }
        };
        if let Some(index) = scope.chain.iter().position(|(included, _)| *included == location) {
            let mut cycle: Vec<String> =
                scope.chain[index..].iter().map(|(included, _)| included.to_string()).collect();
            cycle.push(location.to_string());
            self.report(
                Diagnostic::error(
                    "T0006",
                    format!("template `{location}` includes itself: {}", cycle.join(" -> ")),
                    Some(path_node.span),
                )
                .with_hint("break the cycle by moving the shared part into a template that includes nothing back"),
                scope,
            );
            return None;
        }
        if scope.chain.len() >= MAX_DEPTH {
            self.report(
                Diagnostic::error(
                    "T0005",
                    format!("templates are nested more than {MAX_DEPTH} levels deep, Azure's limit"),
                    Some(path_node.span),
                )
                .with_hint("flatten the chain of templates that include templates"),
                scope,
            );
            return None;
        }
        let template = self.load(&location, Some(path_node.span), scope)?;
        let mut chain = (*scope.chain).clone();
        chain.push((location.clone(), path_node.span));
        let inner_scope_base = Scope {
            parameters: scope.parameters.clone(),
            variables: scope.variables.clone(),
            locals: Rc::new(Vec::new()),
            chain: Rc::new(chain),
            file: Rc::new(location.clone()),
            defer_templates: false,
        };
        let Some(entries) = template.as_mapping() else {
            if !template.is_null() {
                self.report(
                    Diagnostic::error(
                        "T0008",
                        format!(
                            "template `{location}` must be a mapping at its top level, but it is {}",
                            template.kind_name()
                        ),
                        Some(template.span),
                    ),
                    &inner_scope_base,
                );
            }
            return None;
        };
        let declarations = match template.get("parameters") {
            Some(node) => {
                let mut diagnostics = Vec::new();
                let declarations = parameters::declarations(node, &mut diagnostics);
                for diagnostic in diagnostics {
                    self.report(diagnostic, &inner_scope_base);
                }
                declarations
            }
            // A template that declares no parameters takes whatever it is given, untyped.
            None => parameters::Declarations { parameters: Vec::new(), legacy: true },
        };
        let passed: Vec<(String, Node, Span)> = match item.get("parameters") {
            Some(node) => match &node.value {
                NodeValue::Mapping(entries) => entries
                    .iter()
                    .filter_map(|(key, value)| key.as_str().map(|name| (name.to_owned(), value.clone(), key.span)))
                    .collect(),
                NodeValue::Scalar(_) if node.is_null() => Vec::new(),
                _ => {
                    self.report(
                        Diagnostic::error(
                            "T0008",
                            format!(
                                "`parameters` of a template reference must be a mapping, found {}",
                                node.kind_name()
                            ),
                            Some(node.span),
                        ),
                        scope,
                    );
                    Vec::new()
                }
            },
            None => Vec::new(),
        };
        let template_name = location.to_string();
        let site = Site::Template { template: &template_name, span: path_node.span };
        let mut diagnostics = Vec::new();
        let bound = parameters::bind(&declarations, &passed, &site, template.span, &self.sources, &mut diagnostics);
        for diagnostic in diagnostics {
            self.report(diagnostic, scope);
        }
        let template_scope = Scope { parameters: Rc::new(bound), ..inner_scope_base };
        let body = entries.iter().filter(|(key, _)| key.as_str() != Some("parameters")).cloned().collect();
        Some(Instance { name: template_name, scope: template_scope, entries: body })
    }
}

/// Whether a mapping is a `template:` reference.
fn node_is_reference(entries: &[(Node, Node)]) -> bool {
    entries.iter().any(|(key, _)| key.as_str() == Some("template"))
}

/// Whether every key of a mapping is an `${{ }}` directive (`if`, `elseif`, `else`, `each`, `insert`).
fn all_directives(entries: &[(Node, Node)]) -> bool {
    !entries.is_empty()
        && entries.iter().all(|(key, _)| {
            key.as_str().is_some_and(|text| {
                let text = text.trim();
                let Some(inner) = text.strip_prefix("${{").and_then(|rest| rest.strip_suffix("}}")) else {
                    return false;
                };
                let word = inner.trim().split(char::is_whitespace).next().unwrap_or_default();
                matches!(word, "if" | "elseif" | "else" | "each" | "insert")
            })
        })
}

/// The variables a `variables:` node defines with literal values, for template expressions.
fn static_variables(node: &Node) -> Vec<(String, String)> {
    match &node.value {
        NodeValue::Mapping(entries) => mapping_variables(entries),
        NodeValue::Sequence(items) => list_variables(items),
        NodeValue::Scalar(_) => Vec::new(),
    }
}

/// The variables of the mapping form of `variables:` (`name: value`).
fn mapping_variables(entries: &[(Node, Node)]) -> Vec<(String, String)> {
    entries.iter().filter_map(|(key, value)| Some((key.as_str()?.to_owned(), value.as_str()?.to_owned()))).collect()
}

/// The variables of the list form of `variables:` (`- name: N` with `value: V`).
fn list_variables(items: &[Node]) -> Vec<(String, String)> {
    items
        .iter()
        .filter_map(|item| {
            let name = item.get("name").and_then(Node::as_str)?;
            let value = item.get("value")?;
            Some((name.to_owned(), value.as_str().unwrap_or_default().to_owned()))
        })
        .collect()
}

/// The span of text `offset..offset+length` (in characters) inside a scalar node, when it can
/// be known (single-line plain or quoted scalars); otherwise the node's span.
fn inner_span(node: &Node, offset: usize, length: usize) -> Span {
    match node.as_scalar().map(|scalar| scalar.style) {
        Some(Style::Plain) => node.span.narrow(offset, length),
        Some(Style::SingleQuoted | Style::DoubleQuoted) => node.span.narrow(offset + 1, length),
        _ => node.span,
    }
}
