//! Checking a YAML tree against the workflow [`Schema`], as GitHub's template reader does: every
//! key, value and type at once, duplicate keys (case-insensitive), required keys, and each
//! `${{ }}` expression parsed against the contexts and functions its place allows. Every
//! mistake is a [`Diagnostic`] at the node's `file:line:col` (an expression's own column when it
//! sits inside a string); the walk never stops at the first.
//!
//! Messages start with GitHub's own words (lower-cased), so that they can be compared with
//! GitHub's parser, and go on to say where and what was expected.

use std::collections::HashSet;

use slipway_diagnostics::{Diagnostic, Position, Span, did_you_mean};
use slipway_github_expr::{Allowed, ErrorKind, Piece, parse_with, split_template};
use slipway_yaml::{Literal, Node, Style, Value};

use crate::schema::{ANY, Kind, MappingRule, Schema};

/// Step keys that only exist with GitHub's background steps, which are not enabled.
const BACKGROUND_PROPERTIES: [&str; 4] = ["background", "wait", "wait-all", "cancel"];

/// What a scalar is once read: YAML's core schema for plain scalars, a string otherwise, and an
/// expression when it holds `${{ }}`.
#[derive(Debug)]
enum Token<'n> {
    Null,
    Boolean,
    Number,
    String(&'n str),
    /// A string made of (or holding) expressions.
    Expression,
    /// `${{ insert }}`, the whole value.
    Insert,
}

/// The reader: the schema, the file's lines (to place expressions inside block scalars), and
/// what it found.
pub(crate) struct Reader<'a> {
    schema: &'a Schema,
    lines: Vec<&'a str>,
    pub(crate) diagnostics: Vec<Diagnostic>,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(schema: &'a Schema, text: &'a str) -> Self {
        Self { schema, lines: text.lines().collect(), diagnostics: Vec::new() }
    }

    /// Checks `node` against the definition `definition` (the root: `workflow-root`).
    pub(crate) fn read_root(&mut self, node: &Node, definition: &str) {
        let allowed = self.allowed(&[], definition);
        self.read(node, definition, &allowed, "the workflow");
    }

    /// The contexts a definition's expressions may use: its parent's, plus its own list.
    fn allowed(&self, parent: &[String], definition: &str) -> Vec<String> {
        let own = self.schema.get(definition).map(|d| d.context.as_slice()).unwrap_or_default();
        if own.is_empty() {
            return parent.to_vec();
        }
        let mut out = parent.to_vec();
        for entry in own {
            if !out.iter().any(|seen| seen.eq_ignore_ascii_case(entry)) {
                out.push(entry.clone());
            }
        }
        out
    }

    fn error(&mut self, code: &'static str, message: String, span: Span) -> &mut Diagnostic {
        self.diagnostics.push(Diagnostic::error(code, message, Some(span)));
        let last = self.diagnostics.len() - 1;
        &mut self.diagnostics[last]
    }

    fn read(&mut self, node: &Node, definition: &str, allowed: &[String], path: &str) {
        match &node.value {
            Value::Scalar(_) => {
                let token = self.scalar(node, allowed, definition);
                self.validate(node, &token, definition, allowed, path);
            }
            Value::Sequence(items) => {
                let item = self.schema.sequences(definition).first().map(|item| (*item).to_owned());
                match item {
                    Some(item) => {
                        let item_allowed = self.allowed(allowed, &item);
                        for (index, child) in items.iter().enumerate() {
                            self.read(child, &item, &item_allowed, &format!("{path}[{index}]"));
                        }
                    }
                    None => {
                        let expected = self.expected(definition);
                        self.error(
                            "G0103",
                            format!("a sequence was not expected at {path}: expected {expected}"),
                            node.span,
                        );
                    }
                }
            }
            Value::Mapping(entries) => {
                let mappings = self.schema.mappings(definition);
                if mappings.is_empty() {
                    let expected = self.expected(definition);
                    self.error(
                        "G0104",
                        format!("a mapping was not expected at {path}: expected {expected}"),
                        node.span,
                    );
                    return;
                }
                let mappings: Vec<MappingRule> = mappings.into_iter().cloned().collect();
                if mappings.len() > 1 || !mappings[0].properties.is_empty() || mappings[0].loose_key.is_none() {
                    self.well_known(node, entries, mappings, allowed, path);
                } else {
                    self.loose(entries, &mappings[0], allowed, path);
                }
            }
        }
    }

    fn well_known(
        &mut self,
        node: &Node,
        entries: &[(Node, Node)],
        mut candidates: Vec<MappingRule>,
        allowed: &[String],
        path: &str,
    ) {
        let mut seen: HashSet<String> = HashSet::new();
        let mut has_expression_key = false;
        for (key, value) in entries {
            let Some(name) = self.key(key, allowed) else {
                has_expression_key |= key.as_scalar().is_some();
                if key.as_scalar().is_some() {
                    if allowed.is_empty() {
                        self.error(
                            "G0105",
                            format!("a template expression is not allowed in this context ({path})"),
                            key.span,
                        );
                    } else {
                        let any_allowed = self.allowed(allowed, ANY);
                        self.read(value, ANY, &any_allowed, path);
                    }
                }
                continue;
            };
            if !name.is_empty() && !seen.insert(name.to_uppercase()) {
                self.error("G0106", format!("'{name}' is already defined in {path}"), key.span).hint =
                    Some("keep one of the entries (GitHub compares keys without regard to case)".to_owned());
                continue;
            }
            let child = join(path, &name);
            let matched = candidates.iter().find_map(|rule| rule.property(&name)).map(|p| p.definition.clone());
            if let Some(property) = matched {
                candidates.retain(|rule| rule.property(&name).is_some());
                if BACKGROUND_PROPERTIES.contains(&name.as_str()) {
                    self.error(
                        "G0101",
                        format!("unexpected key '{name}' in {path}: background steps are not available"),
                        key.span,
                    );
                    continue;
                }
                let child_allowed = self.allowed(allowed, &property);
                self.read(value, &property, &child_allowed, &child);
                continue;
            }
            if let (Some(loose_key), Some(loose_value)) =
                (candidates[0].loose_key.clone(), candidates[0].loose_value.clone())
            {
                let key_allowed = self.allowed(allowed, &loose_key);
                self.validate(key, &Token::String(&name), &loose_key, &key_allowed, path);
                let value_allowed = self.allowed(allowed, &loose_value);
                self.read(value, &loose_value, &value_allowed, &child);
                continue;
            }
            let names: Vec<&str> = candidates
                .iter()
                .flat_map(|rule| rule.properties.iter().map(|p| p.name.as_str()))
                .filter(|name| !BACKGROUND_PROPERTIES.contains(name))
                .collect();
            let mut unique: Vec<&str> = Vec::new();
            for name in names {
                if !unique.contains(&name) {
                    unique.push(name);
                }
            }
            let hint = did_you_mean(&name, unique.iter().copied()).map(|close| format!("did you mean '{close}'?"));
            let diagnostic = self.error(
                "G0101",
                format!("unexpected key '{name}' in {path}: expected one of {}", unique.join(", ")),
                key.span,
            );
            diagnostic.hint = hint;
        }
        if candidates.len() > 1 {
            let mut counts: Vec<(&str, usize)> = Vec::new();
            for rule in &candidates {
                for property in &rule.properties {
                    match counts.iter_mut().find(|(name, _)| *name == property.name) {
                        Some((_, count)) => *count += 1,
                        None => counts.push((&property.name, 1)),
                    }
                }
            }
            let mut distinct: Vec<&str> = counts
                .into_iter()
                .filter(|(name, count)| *count == 1 && !["wait", "wait-all", "cancel"].contains(name))
                .map(|(name, _)| name)
                .collect();
            distinct.sort_unstable();
            self.error(
                "G0107",
                format!(
                    "there's not enough info to determine what you meant. Add one of these properties: {} (at {path})",
                    distinct.join(", ")
                ),
                node.span,
            );
        } else if !has_expression_key {
            let missing: Vec<String> = candidates[0]
                .properties
                .iter()
                .filter(|p| p.required && !seen.contains(&p.name.to_uppercase()))
                .map(|p| p.name.clone())
                .collect();
            for name in missing {
                self.error("G0102", format!("required property is missing: {name} (in {path})"), node.span);
            }
        }
    }

    fn loose(&mut self, entries: &[(Node, Node)], rule: &MappingRule, allowed: &[String], path: &str) {
        let (Some(loose_key), Some(loose_value)) = (rule.loose_key.as_deref(), rule.loose_value.as_deref()) else {
            return;
        };
        let key_allowed = self.allowed(allowed, loose_key);
        let value_allowed = self.allowed(allowed, loose_value);
        let mut seen: HashSet<String> = HashSet::new();
        for (key, value) in entries {
            let Some(name) = self.key(key, allowed) else {
                if key.as_scalar().is_some() {
                    if allowed.is_empty() {
                        self.error(
                            "G0105",
                            format!("a template expression is not allowed in this context ({path})"),
                            key.span,
                        );
                    } else {
                        self.read(value, loose_value, &value_allowed, path);
                    }
                }
                continue;
            };
            if !name.is_empty() && !seen.insert(name.to_uppercase()) {
                self.error("G0106", format!("'{name}' is already defined in {path}"), key.span).hint =
                    Some("keep one of the entries (GitHub compares keys without regard to case)".to_owned());
                continue;
            }
            self.validate(key, &Token::String(&name), loose_key, &key_allowed, path);
            self.read(value, loose_value, &value_allowed, &join(path, &name));
        }
    }

    /// A key's text, or `None` for an expression key (reported or accepted by the caller) and
    /// for a key that is not a scalar (reported here).
    fn key(&mut self, key: &Node, allowed: &[String]) -> Option<String> {
        let Some(scalar) = key.as_scalar() else {
            self.error("G0108", format!("a key must be a string, not {}", key.kind_name()), key.span);
            return None;
        };
        match self.scalar(key, allowed, "string") {
            Token::Expression | Token::Insert => None,
            // GitHub reads a null key (`~`, `null`, nothing) as the empty string.
            Token::Null => Some(String::new()),
            _ => Some(scalar.text.clone()),
        }
    }

    /// Reads a scalar: its type, and its expressions checked against `allowed`.
    fn scalar<'n>(&mut self, node: &'n Node, allowed: &[String], definition: &str) -> Token<'n> {
        let Some(scalar) = node.as_scalar() else { return Token::Null };
        let text = scalar.text.as_str();
        if scalar.style == Style::Plain {
            match scalar.literal() {
                Literal::Null => return Token::Null,
                Literal::Bool(_) => return Token::Boolean,
                Literal::Number(_) => return Token::Number,
                Literal::String(_) => {}
            }
        }
        if !text.contains("${{") {
            // `if` values are expressions without the braces.
            if matches!(definition, "job-if" | "step-if" | "snapshot-if") && !text.trim().is_empty() {
                let result = format!("{definition}-result");
                let contexts =
                    if self.schema.get(&result).is_some() { self.allowed(&[], &result) } else { allowed.to_vec() };
                if let Err(error) = parse_with(text, &Allowed::from_schema(&contexts)) {
                    let hint = format!("allowed here: {}", contexts.join(", "));
                    self.error("G0201", lower_first(&error.message), node.span).hint = Some(hint);
                }
            }
            return Token::String(text);
        }
        let pieces = match split_template(text) {
            Ok(pieces) => pieces,
            Err(error) => {
                let span = self.place(node, error.offset, 3);
                self.error("G0201", lower_first(&error.message), span);
                return Token::String(text);
            }
        };
        let whole = pieces.len() == 1;
        // `if: ${{ a }} && b` is text around an expression: a non-empty string, always true.
        if !whole && matches!(definition, "job-if" | "step-if" | "snapshot-if") {
            self.diagnostics.push(
                Diagnostic::warning(
                    "G0204",
                    "this condition is always true: the text around its `${{ }}` makes it a non-empty string",
                    Some(node.span),
                )
                .with_hint("write the whole condition inside one `${{ }}`, or leave the braces out"),
            );
        }
        // GitHub joins a string's pieces into one `format(...)` expression, which has the same
        // length limit as any expression.
        if !whole && text.encode_utf16().count() > slipway_github_expr::MAX_LENGTH {
            self.error(
                "G0203",
                format!("exceeded max expression length {}", slipway_github_expr::MAX_LENGTH),
                node.span,
            )
            .hint = Some("split the value, or move the text into a file the step reads".to_owned());
            return Token::String(text);
        }
        let checker = Allowed::from_schema(allowed);
        let mut failed = false;
        let mut literal_only = None;
        for piece in &pieces {
            let Piece::Expression { text: expression, offset } = piece else { continue };
            let start = text.get(..*offset).and_then(|before| before.rfind("${{")).unwrap_or(0);
            if is_insert(expression) {
                if !whole {
                    self.error(
                        "G0202",
                        "the directive 'insert' is not allowed in this context. Directives are not supported for \
                         expressions that are embedded within a string. Directives are only supported when the \
                         entire value is an expression."
                            .to_owned(),
                        node.span,
                    );
                    return Token::String(text);
                }
                return Token::Insert;
            }
            match parse_with(expression, &checker) {
                Ok(expr) => {
                    if whole {
                        literal_only = expr.as_string_literal().map(str::to_owned);
                    }
                }
                Err(error) => {
                    failed = true;
                    // The whole `${{ ... }}` on its line.
                    let length = text
                        .get(start..)
                        .and_then(|rest| rest.find("}}").map(|end| rest[..end + 2].chars().count()))
                        .unwrap_or(3);
                    let span = self.place(node, start, length);
                    let close = match error.kind {
                        ErrorKind::UnrecognizedContext | ErrorKind::UnrecognizedFunction => {
                            let word = error.message.split('\'').nth(1).unwrap_or_default();
                            let names = allowed.iter().map(|entry| entry.split('(').next().unwrap_or(entry));
                            did_you_mean(word, names).map(|close| format!("did you mean '{close}'? "))
                        }
                        _ => None,
                    };
                    let hint = if allowed.is_empty() {
                        "expressions are not allowed at this key".to_owned()
                    } else {
                        format!("{}allowed here: {}", close.unwrap_or_default(), allowed.join(", "))
                    };
                    self.error("G0201", lower_first(&error.message), span).hint = Some(hint);
                }
            }
        }
        if failed || literal_only.is_some() {
            return Token::String(text);
        }
        Token::Expression
    }

    /// Checks a read scalar against the scalar definitions `definition` stands for.
    fn validate(&mut self, node: &Node, token: &Token<'_>, definition: &str, allowed: &[String], path: &str) {
        let scalars = self.schema.scalars(definition);
        let text = node.as_str().unwrap_or_default();
        match token {
            Token::Expression => {
                if allowed.is_empty() {
                    self.error(
                        "G0105",
                        format!("a template expression is not allowed in this context ({path})"),
                        node.span,
                    );
                }
                return;
            }
            Token::Insert => {
                self.error("G0109", format!("unexpected value '{text}' at {path}"), node.span);
                return;
            }
            _ => {}
        }
        let matches = scalars.iter().any(|kind| match (kind, token) {
            (Kind::Null, Token::Null) | (Kind::Boolean, Token::Boolean) | (Kind::Number, Token::Number) => true,
            (Kind::String(rule), Token::String(value)) => rule.matches(value),
            _ => false,
        });
        if matches {
            return;
        }
        // A null, boolean or number is also its text as a string.
        if !matches!(token, Token::String(_))
            && scalars.iter().any(|kind| matches!(kind, Kind::String(rule) if rule.matches(text)))
        {
            return;
        }
        let expected = self.expected(definition);
        let span = self.empty_value_span(node);
        self.error("G0109", format!("unexpected value '{text}' at {path}: expected {expected}"), span);
    }

    /// An empty value (`image:` with nothing after it) is placed on its key's colon by the YAML
    /// parser; GitHub places it just past the colon, where the value would start.
    fn empty_value_span(&self, node: &Node) -> Span {
        let empty = node.as_scalar().is_some_and(|scalar| scalar.text.is_empty() && scalar.style == Style::Plain);
        let line = self.lines.get((node.span.start.line as usize).saturating_sub(1)).copied().unwrap_or_default();
        let at = line.chars().nth((node.span.start.column as usize).saturating_sub(1));
        if empty && at == Some(':') {
            let mut span = node.span;
            span.start.column += 1;
            span.end.column = span.end.column.max(span.start.column + 1);
            return span;
        }
        node.span
    }

    /// Says what a definition accepts: `one of 'read', 'write', 'none'`, `a boolean`, ...
    fn expected(&self, definition: &str) -> String {
        let mut words: Vec<String> = Vec::new();
        let mut constants: Vec<String> = Vec::new();
        for kind in self.schema.scalars(definition) {
            match kind {
                Kind::Null => words.push("nothing (null)".to_owned()),
                Kind::Boolean => words.push("a boolean".to_owned()),
                Kind::Number => words.push("a number".to_owned()),
                Kind::String(rule) => match &rule.constant {
                    Some(constant) => constants.push(format!("'{constant}'")),
                    None if rule.require_non_empty => words.push("a non-empty string".to_owned()),
                    None => words.push("a string".to_owned()),
                },
                _ => {}
            }
        }
        if !self.schema.sequences(definition).is_empty() {
            words.push("a sequence".to_owned());
        }
        if !self.schema.mappings(definition).is_empty() {
            words.push("a mapping".to_owned());
        }
        if !constants.is_empty() {
            words.insert(0, format!("one of {}", constants.join(", ")));
        }
        words.dedup();
        match words.len() {
            0 => "nothing here".to_owned(),
            1 => words.remove(0),
            _ => {
                let last = words.pop().unwrap_or_default();
                format!("{} or {last}", words.join(", "))
            }
        }
    }

    /// The span of `length` bytes at byte `offset` of a scalar's value: on its line for a
    /// single-line scalar (past its opening quote), found in the source for a block scalar.
    fn place(&self, node: &Node, offset: usize, length: usize) -> Span {
        let Some(scalar) = node.as_scalar() else { return node.span };
        let before = scalar.text.get(..offset).unwrap_or_default();
        match scalar.style {
            Style::Plain | Style::SingleQuoted | Style::DoubleQuoted if node.span.start.line == node.span.end.line => {
                let quote = usize::from(scalar.style != Style::Plain);
                node.span.narrow(before.chars().count() + quote, length)
            }
            Style::Literal => {
                let line_in_value = before.matches('\n').count();
                let column_in_value = before.rsplit('\n').next().unwrap_or_default();
                let line = node.span.start.line as usize + 1 + line_in_value;
                let Some(source) = self.lines.get(line.saturating_sub(1)) else { return node.span };
                let rest = scalar.text.get(offset..).unwrap_or_default();
                let needle: String = rest.chars().take(3).collect();
                let found = source
                    .match_indices(&needle)
                    .map(|(i, _)| source[..i].chars().count())
                    .find(|column| *column >= column_in_value.chars().count())
                    .unwrap_or(0);
                let line = u32::try_from(line).unwrap_or(u32::MAX);
                let column = u32::try_from(found + 1).unwrap_or(u32::MAX);
                Span::new(node.span.file, Position::new(line, column), Position::new(line, column + 3))
            }
            _ => node.span,
        }
    }
}

fn is_insert(expression: &str) -> bool {
    expression == "insert"
        || expression.strip_prefix("insert").is_some_and(|rest| rest.starts_with(char::is_whitespace))
}

fn join(path: &str, key: &str) -> String {
    if path == "the workflow" { key.to_owned() } else { format!("{path}.{key}") }
}

/// GitHub's message with a lower-case first letter, as Slipway's messages are written.
pub(crate) fn lower_first(message: &str) -> String {
    let mut chars = message.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}
