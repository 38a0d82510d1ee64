//! Parsing YAML text into a [`Node`] tree.

use std::collections::HashMap;

use saphyr_parser::{Event, Marker, Parser, ScalarStyle, Tag};
use slipway_diagnostics::{Diagnostic, FileId, Position, Span};

use crate::{Literal, Node, Scalar, Style, Value};

/// How deep sequences and mappings may nest in one file. Real pipelines nest under 15 levels;
/// the limit keeps every recursive pass over the tree (expansion, validation, lowering, and
/// dropping the tree) far from the end of any thread's stack.
pub const MAX_NESTING: usize = 100;

/// How many nodes aliases may add to one file when [`Options::anchors`] is on: a guard against
/// alias bombs (each alias copies its anchor's tree, so a few lines can ask for billions of
/// nodes). Real workflows add a few hundred.
pub const MAX_ALIAS_NODES: usize = 100_000;

/// Which YAML features a dialect accepts beyond Azure Pipelines' rules. The default is Azure's:
/// no anchors or aliases, and duplicate keys an error.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// Accept anchors (`&name`) and aliases (`*name`), as GitHub Actions does since September
    /// 2025: an alias becomes a copy of its anchor's node, spans and all (so errors in it point
    /// at the anchored text). Merge keys (`<<: *name`) are not special: they stay an ordinary
    /// key named `<<`, which GitHub does not support either.
    pub anchors: bool,
    /// Keep duplicate keys (every entry, in document order) instead of reporting `Y0004`, for a
    /// dialect that judges them itself (GitHub compares keys case-insensitively).
    pub duplicate_keys: bool,
    /// Accept a flow collection's closing `]` or `}` on a line of its own at its key's
    /// indentation (`name: [` ... `]`), which strict YAML refuses and libyaml, and so GitHub,
    /// accepts. The line is read as if indented one space more; nothing else changes.
    pub flow_indentation: bool,
    /// Check explicit tags as GitHub does instead of ignoring them: a core-schema tag (`!!str`,
    /// `!!bool`, `!!int`, `!!float`, `!!null`, `!!seq`, `!!map`) must fit its value (`Y0007`; a
    /// `!!str` scalar is then a string whatever it looks like), and any other tag is refused
    /// (`Y0008`).
    pub tags: bool,
}

/// Parses one YAML document. `file` is the id the text was registered under in the source map.
///
/// An empty document (or one holding only comments) is a null node. Errors: YAML syntax errors
/// (`Y0001`), more than one document (`Y0002`), anchors and aliases (`Y0003`), duplicate keys
/// (`Y0004`), and nesting deeper than [`MAX_NESTING`] (`Y0005`). Duplicate keys are all
/// reported; the first syntax error or a nesting too deep stops the parse.
///
/// # Errors
/// Returns every diagnostic found when the text is not a single valid YAML document.
pub fn load(text: &str, file: FileId) -> Result<Node, Vec<Diagnostic>> {
    load_with(text, file, Options::default())
}

/// Parses one YAML document as [`load`] does, with the YAML features `options` turns on. With
/// anchors on, aliases that would add more than [`MAX_ALIAS_NODES`] nodes (`Y0006`) and a tree
/// nested deeper than [`MAX_NESTING`] once aliases are copied in (`Y0005`) are errors.
///
/// # Errors
/// Returns every diagnostic found when the text is not a single valid YAML document.
pub fn load_with(text: &str, file: FileId, options: Options) -> Result<Node, Vec<Diagnostic>> {
    let mut relaxed: Option<String> = None;
    for _ in 0..MAX_RELAXATIONS {
        let current = relaxed.as_deref().unwrap_or(text);
        match parse(current, file, options) {
            Err(Failure::QuotedIndentation { line, column }) => match relax_quoted_indentation(current, line, column) {
                Some(next) => relaxed = Some(next),
                None => break,
            },
            Err(Failure::FlowIndentation { line }) => match relax_flow_indentation(current, line) {
                Some(next) => relaxed = Some(next),
                None => break,
            },
            Err(Failure::Diagnostics(diagnostics)) => return Err(diagnostics),
            Ok(node) => return Ok(node),
        }
    }
    match parse(relaxed.as_deref().unwrap_or(text), file, options) {
        Ok(node) => Ok(node),
        Err(Failure::Diagnostics(diagnostics)) => Err(diagnostics),
        Err(Failure::FlowIndentation { line }) => {
            let at = Position::new(line, 1);
            Err(vec![Diagnostic::error(
                "Y0001",
                "invalid YAML: invalid indentation",
                Some(Span::new(file, at, Position::new(line, 2))),
            )])
        }
        Err(Failure::QuotedIndentation { line, column }) => {
            let at = Position::new(line, column);
            Err(vec![Diagnostic::error(
                "Y0001",
                "invalid YAML: invalid indentation in quoted scalar",
                Some(Span::new(file, at, Position::new(line, column + 1))),
            )])
        }
    }
}

/// How many quoted scalars with under-indented continuation lines one file may have.
const MAX_RELAXATIONS: usize = 64;

const QUOTED_INDENTATION: &str = "invalid indentation in quoted scalar";

enum Failure {
    /// A quoted scalar's continuation line is not indented past its parent, which strict YAML
    /// rejects and Azure's parser accepts.
    QuotedIndentation {
        line: u32,
        column: u32,
    },
    /// A flow collection's closing bracket at its key's indentation (with
    /// [`Options::flow_indentation`]).
    FlowIndentation {
        line: u32,
    },
    Diagnostics(Vec<Diagnostic>),
}

/// Indents line `line` (1-based), which starts with a closing `]` or `}`, by one space.
fn relax_flow_indentation(text: &str, line: u32) -> Option<String> {
    let index = usize::try_from(line).ok()?.checked_sub(1)?;
    let mut out = String::with_capacity(text.len() + 1);
    let mut found = false;
    for (i, current) in text.split_inclusive('\n').enumerate() {
        if i == index {
            if !current.trim_start().starts_with([']', '}']) {
                return None;
            }
            out.push(' ');
            found = true;
        }
        out.push_str(current);
    }
    found.then_some(out)
}

/// Indents the continuation lines of the quoted scalar that starts at `line:column` (1-based)
/// past the line it starts on. Leading white space of continuation lines is folded away inside
/// quoted scalars, so the value does not change.
fn relax_quoted_indentation(text: &str, line: u32, column: u32) -> Option<String> {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let start = usize::try_from(line).ok()?.checked_sub(1)?;
    let first = lines.get(start)?;
    let quote_index = first.char_indices().nth(usize::try_from(column).ok()?.checked_sub(1)?)?.0;
    let quote = first[quote_index..].chars().next()?;
    if quote != '"' && quote != '\'' {
        return None;
    }
    let indent = first.len() - first.trim_start_matches(' ').len();
    let pad = " ".repeat(indent + 2);
    // Find where the scalar closes, line by line.
    let mut out: String = lines[..start].concat();
    let mut closed = false;
    let mut escaped = false;
    let mut rest = &first[quote_index + quote.len_utf8()..];
    out.push_str(&first[..quote_index + quote.len_utf8()]);
    let mut index = start;
    loop {
        let mut chars = rest.char_indices().peekable();
        while let Some((_, c)) = chars.next() {
            if escaped {
                escaped = false;
            } else if quote == '"' && c == '\\' {
                escaped = true;
            } else if c == quote {
                if quote == '\'' && chars.peek().is_some_and(|(_, next)| *next == '\'') {
                    chars.next();
                } else {
                    closed = true;
                    break;
                }
            }
        }
        out.push_str(rest);
        if closed {
            break;
        }
        index += 1;
        let next = lines.get(index)?;
        out.push_str(&pad);
        rest = next;
    }
    out.push_str(&lines[index + 1..].concat());
    Some(out)
}

fn parse(text: &str, file: FileId, options: Options) -> Result<Node, Failure> {
    let mut builder = Builder {
        file,
        options,
        stack: Vec::new(),
        documents: Vec::new(),
        diagnostics: Vec::new(),
        too_deep: false,
        anchors: HashMap::new(),
        alias_nodes: 0,
    };
    let parser = Parser::new_from_str(text);
    for event in parser {
        match event {
            Ok((event, span)) => {
                builder.event(event, &span.start, &span.end);
                if builder.too_deep {
                    return Err(Failure::Diagnostics(builder.diagnostics));
                }
            }
            Err(error) => {
                let at = position(error.marker());
                if error.info() == QUOTED_INDENTATION {
                    return Err(Failure::QuotedIndentation { line: at.line, column: at.column });
                }
                if options.flow_indentation
                    && error.info() == "invalid indentation"
                    && text
                        .lines()
                        .nth(usize::try_from(at.line).unwrap_or(usize::MAX).saturating_sub(1))
                        .is_some_and(|line| line.trim_start().starts_with([']', '}']))
                {
                    return Err(Failure::FlowIndentation { line: at.line });
                }
                builder.diagnostics.push(
                    Diagnostic::error(
                        "Y0001",
                        format!("invalid YAML: {}", error.info()),
                        Some(Span::new(file, at, Position::new(at.line, at.column + 1))),
                    )
                    .with_hint("check the indentation and quoting around this place"),
                );
                return Err(Failure::Diagnostics(builder.diagnostics));
            }
        }
    }
    let Builder { documents, mut diagnostics, .. } = builder;
    let mut documents = documents.into_iter();
    let first = documents.next();
    if let Some(second) = documents.next() {
        diagnostics.push(
            Diagnostic::error(
                "Y0002",
                "a pipeline file must hold one YAML document, but this one holds more",
                Some(second.span),
            )
            .with_hint("remove the `---` separator and keep one document per file"),
        );
    }
    if !diagnostics.is_empty() {
        return Err(Failure::Diagnostics(diagnostics));
    }
    let origin = Span::new(file, Position::new(1, 1), Position::new(1, 1));
    let root = first.unwrap_or_else(|| Node::null(origin));
    if options.anchors
        && let Some(deep) = root.deeper_than(MAX_NESTING)
    {
        return Err(Failure::Diagnostics(vec![
            Diagnostic::error(
                "Y0005",
                format!("the YAML nests deeper than {MAX_NESTING} levels of lists and mappings once its aliases are copied in"),
                Some(deep.span),
            )
            .with_hint("flatten the structure, or nest fewer aliases inside anchors"),
        ]));
    }
    Ok(root)
}

fn position(marker: &Marker) -> Position {
    let line = u32::try_from(marker.line()).unwrap_or(u32::MAX).max(1);
    let column = u32::try_from(marker.col()).unwrap_or(u32::MAX).saturating_add(1);
    Position::new(line, column)
}

enum Open {
    Sequence {
        start: Position,
        items: Vec<Node>,
        anchor: usize,
    },
    Mapping {
        start: Position,
        entries: Vec<(Node, Node)>,
        pending_key: Option<Node>,
        seen: HashMap<String, Span>,
        anchor: usize,
    },
}

struct Builder {
    file: FileId,
    options: Options,
    /// Anchored nodes by anchor id, when anchors are accepted.
    anchors: HashMap<usize, Node>,
    /// How many nodes aliases have copied in so far.
    alias_nodes: usize,
    stack: Vec<Open>,
    documents: Vec<Node>,
    diagnostics: Vec<Diagnostic>,
    /// A collection opened past [`MAX_NESTING`]: the parse stops.
    too_deep: bool,
}

impl Builder {
    fn span(&self, start: Position, end: Position) -> Span {
        Span::new(self.file, start, end)
    }

    fn event(&mut self, event: Event<'_>, start: &Marker, end: &Marker) {
        let (start, end) = (position(start), position(end));
        match event {
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentStart(_) | Event::DocumentEnd => {}
            Event::Alias(id) if self.options.anchors => self.alias(id, start, end),
            Event::Alias(_) => {
                self.anchor_error(start, end, "aliases (`*name`) are not supported in Azure Pipelines YAML");
                // Keep the tree well-formed so later errors can still be found.
                self.push(Node::null(self.span(start, end)));
            }
            Event::Scalar(text, style, anchor, tag) => {
                if anchor != 0 && !self.options.anchors {
                    self.anchor_error(start, end, "anchors (`&name`) are not supported in Azure Pipelines YAML");
                }
                let style = match style {
                    ScalarStyle::Plain => Style::Plain,
                    ScalarStyle::SingleQuoted => Style::SingleQuoted,
                    ScalarStyle::DoubleQuoted => Style::DoubleQuoted,
                    ScalarStyle::Literal => Style::Literal,
                    ScalarStyle::Folded => Style::Folded,
                };
                let mut node = Node::scalar(Scalar { text: text.into_owned(), style }, self.span(start, end));
                if self.options.tags
                    && let Some(tag) = tag
                {
                    self.scalar_tag(&tag, &mut node);
                }
                self.anchored(anchor, &node);
                self.push(node);
            }
            Event::SequenceStart(anchor, tag) => {
                if self.options.tags
                    && let Some(tag) = tag
                {
                    self.collection_tag(&tag, "seq", start, end);
                }
                if anchor != 0 && !self.options.anchors {
                    self.anchor_error(start, end, "anchors (`&name`) are not supported in Azure Pipelines YAML");
                }
                self.stack.push(Open::Sequence { start, items: Vec::new(), anchor });
                self.check_nesting(start, end);
            }
            Event::MappingStart(anchor, tag) => {
                if self.options.tags
                    && let Some(tag) = tag
                {
                    self.collection_tag(&tag, "map", start, end);
                }
                if anchor != 0 && !self.options.anchors {
                    self.anchor_error(start, end, "anchors (`&name`) are not supported in Azure Pipelines YAML");
                }
                self.stack.push(Open::Mapping {
                    start,
                    entries: Vec::new(),
                    pending_key: None,
                    seen: HashMap::new(),
                    anchor,
                });
                self.check_nesting(start, end);
            }
            Event::SequenceEnd => {
                if let Some(Open::Sequence { start, items, anchor }) = self.stack.pop() {
                    let span = self.span(start, end.max(start));
                    let node = Node::new(Value::Sequence(items), span);
                    self.anchored(anchor, &node);
                    self.push(node);
                }
            }
            Event::MappingEnd => {
                if let Some(Open::Mapping { start, entries, anchor, .. }) = self.stack.pop() {
                    let span = self.span(start, end.max(start));
                    let node = Node::new(Value::Mapping(entries), span);
                    self.anchored(anchor, &node);
                    self.push(node);
                }
            }
        }
    }

    /// Checks a scalar's explicit tag (with [`Options::tags`]); `!!str` makes it a string.
    fn scalar_tag(&mut self, tag: &Tag, node: &mut Node) {
        let name = format!("{}{}", tag.handle, tag.suffix);
        let Some(scalar) = node.as_scalar() else { return };
        let literal = scalar.literal();
        // `!!bool` and the verbatim `!<tag:yaml.org,2002:bool>` alike.
        let core = name.strip_prefix("tag:yaml.org,2002:");
        let fits = match (core.is_some(), core.unwrap_or_default()) {
            (true, "str") => {
                if let Value::Scalar(scalar) = &mut node.value
                    && scalar.style == Style::Plain
                {
                    scalar.style = Style::SingleQuoted;
                }
                return;
            }
            (true, "bool") => matches!(literal, Literal::Bool(_)),
            (true, "null") => matches!(literal, Literal::Null),
            (true, "float") => matches!(literal, Literal::Number(_)),
            (true, "int") => matches!(literal, Literal::Number(n) if n.fract() == 0.0) && !scalar.text.contains('.'),
            _ => {
                self.diagnostics.push(
                    Diagnostic::error("Y0008", format!("unexpected tag '{name}'"), Some(node.span))
                        .with_hint("remove the tag; write the value as a string"),
                );
                return;
            }
        };
        if !fits {
            let (line, column) = (node.span.start.line, node.span.start.column);
            self.diagnostics.push(
                Diagnostic::error(
                    "Y0007",
                    format!(
                        "the value '{}' on line {line} and column {column} is invalid for the type '{name}'",
                        scalar.text
                    ),
                    Some(node.span),
                )
                .with_hint("remove the tag, or give a value of that type"),
            );
        }
    }

    /// Checks a sequence's or mapping's explicit tag (with [`Options::tags`]).
    fn collection_tag(&mut self, tag: &Tag, expected: &str, start: Position, end: Position) {
        if format!("{}{}", tag.handle, tag.suffix).strip_prefix("tag:yaml.org,2002:") == Some(expected) {
            return;
        }
        let span = self.span(start, end.max(Position::new(start.line, start.column + 1)));
        self.diagnostics.push(
            Diagnostic::error("Y0008", format!("unexpected tag '{}{}'", tag.handle, tag.suffix), Some(span))
                .with_hint("remove the tag"),
        );
    }

    /// Remembers an anchored node for the aliases after it (anchor ids start at 1).
    fn anchored(&mut self, anchor: usize, node: &Node) {
        if anchor != 0 && self.options.anchors {
            self.anchors.insert(anchor, node.clone());
        }
    }

    /// Copies an anchor's node in place of an alias, within [`MAX_ALIAS_NODES`].
    fn alias(&mut self, id: usize, start: Position, end: Position) {
        let Some(node) = self.anchors.get(&id) else {
            // The parser refuses unknown aliases itself; keep the tree well-formed regardless.
            self.push(Node::null(self.span(start, end)));
            return;
        };
        self.alias_nodes = self.alias_nodes.saturating_add(count_nodes(node));
        if self.alias_nodes > MAX_ALIAS_NODES {
            self.too_deep = true;
            self.diagnostics.push(
                Diagnostic::error(
                    "Y0006",
                    format!("the YAML's aliases copy in more than {MAX_ALIAS_NODES} nodes"),
                    Some(self.span(start, end)),
                )
                .with_hint("aliases nested inside anchors multiply; repeat less, or write the content out"),
            );
            return;
        }
        let node = node.clone();
        self.push(node);
    }

    /// Refuses a collection opened past [`MAX_NESTING`].
    fn check_nesting(&mut self, start: Position, end: Position) {
        if self.stack.len() > MAX_NESTING {
            self.too_deep = true;
            self.diagnostics.push(
                Diagnostic::error(
                    "Y0005",
                    format!("the YAML nests deeper than {MAX_NESTING} levels of lists and mappings"),
                    Some(self.span(start, end.max(Position::new(start.line, start.column + 1)))),
                )
                .with_hint("flatten the structure; pipelines need far fewer levels"),
            );
        }
    }

    fn anchor_error(&mut self, start: Position, end: Position, message: &str) {
        let span = self.span(start, end);
        self.diagnostics.push(
            Diagnostic::error("Y0003", message, Some(span))
                .with_hint("repeat the content, or use a template with parameters to share it"),
        );
    }

    fn push(&mut self, node: Node) {
        let file = self.file;
        match self.stack.last_mut() {
            None => self.documents.push(node),
            Some(Open::Sequence { items, .. }) => items.push(node),
            Some(Open::Mapping { entries, pending_key, seen, .. }) => match pending_key.take() {
                None => {
                    *pending_key = Some(node);
                }
                Some(key) => {
                    if !self.options.duplicate_keys
                        && let Some(text) = key.as_str()
                    {
                        // Expression keys (`${{ if }}`, `${{ insert }}`) may repeat; they are not literal keys.
                        if !text.contains("${{") {
                            if let Some(first) = seen.get(text) {
                                let diagnostic =
                                    Diagnostic::error("Y0004", format!("duplicate key `{text}`"), Some(key.span))
                                        .with_note(format!(
                                            "`{text}` was first defined at line {}, column {}",
                                            first.start.line, first.start.column
                                        ))
                                        .with_hint("keep one of the two entries");
                                let _ = file;
                                self.diagnostics.push(diagnostic);
                            } else {
                                seen.insert(text.to_owned(), key.span);
                            }
                        }
                    }
                    entries.push((key, node));
                }
            },
        }
    }
}

/// How many nodes a tree holds, walked without recursion.
fn count_nodes(node: &Node) -> usize {
    let mut count = 0usize;
    let mut pending = vec![node];
    while let Some(node) = pending.pop() {
        count += 1;
        match &node.value {
            Value::Scalar(_) => {}
            Value::Sequence(items) => pending.extend(items),
            Value::Mapping(entries) => pending.extend(entries.iter().flat_map(|(key, value)| [key, value])),
        }
    }
    count
}

#[cfg(test)]
mod tests {
    use slipway_diagnostics::{SourceMap, render_all};

    use super::*;

    fn errors(text: &str) -> String {
        let mut sources = SourceMap::new();
        let file = sources.add("test.yml", text);
        match load(text, file) {
            Ok(node) => panic!("expected an error, got {node:?}"),
            Err(diagnostics) => render_all(&diagnostics, &sources),
        }
    }

    #[test]
    fn spans_are_one_based() {
        let node = load("steps:\n- script: echo hi\n", FileId(0)).expect("valid");
        let (key, value) = &node.as_mapping().expect("mapping")[0];
        assert_eq!(key.span.start, Position::new(1, 1));
        assert_eq!(key.span.end, Position::new(1, 6));
        let step = &value.as_sequence().expect("sequence")[0];
        let script = step.get("script").expect("script");
        assert_eq!(script.span.start, Position::new(2, 11));
        assert_eq!(script.as_str(), Some("echo hi"));
    }

    #[test]
    fn empty_document_is_null() {
        assert!(load("# only a comment\n", FileId(0)).expect("valid").is_null());
        assert!(load("", FileId(0)).expect("valid").is_null());
    }

    #[test]
    fn duplicate_keys_are_reported_with_both_places() {
        insta::assert_snapshot!(errors("jobs:\n- job: A\n  pool: x\n  pool: y\n"), @r"
        error[Y0004]: duplicate key `pool`
         --> test.yml:4:3
          |
        4 |   pool: y
          |   ^^^^
          = note: `pool` was first defined at line 3, column 3
          = hint: keep one of the two entries

        1 error and 0 warnings
        ");
    }

    #[test]
    fn expression_keys_may_repeat() {
        let text = "steps:\n- ${{ if true }}:\n  - script: a\n- x:\n    ${{ insert }}: a\n    ${{ insert }}: b\n";
        assert!(load(text, FileId(0)).is_ok());
    }

    #[test]
    fn anchors_and_aliases_are_rejected() {
        insta::assert_snapshot!(errors("a: &x 1\nb: *x\n"), @r"
        error[Y0003]: anchors (`&name`) are not supported in Azure Pipelines YAML
         --> test.yml:1:4
          |
        1 | a: &x 1
          |    ^^^^
          = hint: repeat the content, or use a template with parameters to share it

        error[Y0003]: aliases (`*name`) are not supported in Azure Pipelines YAML
         --> test.yml:2:4
          |
        2 | b: *x
          |    ^^
          = hint: repeat the content, or use a template with parameters to share it

        2 errors and 0 warnings
        ");
    }

    #[test]
    fn syntax_errors_name_the_place() {
        insta::assert_snapshot!(errors("steps:\n  - script: echo\n - bash: x\n"), @"
        error[Y0001]: invalid YAML: while parsing a block mapping, did not find expected key
         --> test.yml:3:2
          |
        3 |  - bash: x
          |  ^
          = hint: check the indentation and quoting around this place

        1 error and 0 warnings
        ");
    }

    #[test]
    fn quoted_scalars_may_continue_at_their_parent_indentation() {
        let text = "env:\n  URL: \"http://user:pass\\\n  @host:9091/rpc\"\n  NEXT: 'a\n  b'\n";
        let node = load(text, FileId(0)).expect("accepted as Azure accepts it");
        let env = node.get("env").expect("env");
        assert_eq!(env.get("URL").and_then(Node::as_str), Some("http://user:pass@host:9091/rpc"));
        assert_eq!(env.get("NEXT").and_then(Node::as_str), Some("a b"));
    }

    #[test]
    fn nesting_past_the_limit_is_refused_where_it_happens() {
        let deep = format!("steps:\n{}x\n", "- ".repeat(MAX_NESTING + 1));
        insta::assert_snapshot!(errors(&deep).lines().take(2).collect::<Vec<_>>().join("\n"), @"
        error[Y0005]: the YAML nests deeper than 100 levels of lists and mappings
         --> test.yml:2:199
        ");
        let flow = format!("a: {}1{}\n", "[".repeat(MAX_NESTING + 5), "]".repeat(MAX_NESTING + 5));
        assert!(errors(&flow).contains("Y0005"));
        // A bomb far past the limit stops at once, with one error.
        let bomb = format!("steps:\n{}x\n", "- ".repeat(100_000));
        assert_eq!(errors(&bomb).matches("error[").count(), 1);
        // At the limit, it loads.
        let fine = format!("steps:\n{}x\n", "- ".repeat(MAX_NESTING - 1));
        assert!(load(&fine, FileId(0)).is_ok());
    }

    #[test]
    fn several_documents_are_rejected() {
        insta::assert_snapshot!(errors("a: 1\n---\nb: 2\n"), @"
        error[Y0002]: a pipeline file must hold one YAML document, but this one holds more
         --> test.yml:3:1
          |
        3 | b: 2
          | ^^^^
          = hint: remove the `---` separator and keep one document per file

        1 error and 0 warnings
        ");
    }

    fn github() -> Options {
        Options { anchors: true, duplicate_keys: true, flow_indentation: true, tags: true }
    }

    #[test]
    fn tags_are_checked_when_asked() {
        let text = "a: !!bool test\nb: !!int 12\nc: !!str 12\nd: !!timestamp 2022-10-26\ne: !!bool true\n";
        let mut sources = SourceMap::new();
        let file = sources.add("tags.yml", text);
        let errors = load_with(text, file, github()).expect_err("two wrong tags");
        insta::assert_snapshot!(render_all(&errors, &sources), @"
        error[Y0007]: the value 'test' on line 1 and column 4 is invalid for the type 'tag:yaml.org,2002:bool'
         --> tags.yml:1:4
          |
        1 | a: !!bool test
          |    ^^^^^^^^^^^
          = hint: remove the tag, or give a value of that type

        error[Y0008]: unexpected tag 'tag:yaml.org,2002:timestamp'
         --> tags.yml:4:4
          |
        4 | d: !!timestamp 2022-10-26
          |    ^^^^^^^^^^^^^^^^^^^^^^
          = hint: remove the tag; write the value as a string

        2 errors and 0 warnings
        ");
        let fine = load_with("c: !!str 12\nn: !!null ~\nv: !<tag:yaml.org,2002:bool> true\n", FileId(0), github())
            .expect("fitting tags");
        assert_eq!(fine.get("c").and_then(Node::as_scalar).map(Scalar::literal), Some(Literal::String("12")));
        // Azure's rules are unchanged: tags are ignored.
        assert!(load(text, FileId(0)).is_ok());
    }

    #[test]
    fn a_closing_bracket_at_its_keys_indentation_is_accepted_when_asked() {
        let text = "job:\n  matrix:\n    name: [\n      \"a\",\n\n      \"b\",\n    ]\n    os: [x]\n";
        let node = load_with(text, FileId(0), github()).expect("accepted as libyaml accepts it");
        let matrix = node.get("job").and_then(|job| job.get("matrix")).expect("matrix");
        assert_eq!(matrix.get("name").and_then(Node::as_sequence).map(<[Node]>::len), Some(2));
        assert!(matrix.get("os").is_some());
        // Azure's rules are unchanged.
        assert!(load(text, FileId(0)).is_err());
    }

    #[test]
    fn anchors_and_aliases_are_copied_when_accepted() {
        let text = "env: &env\n  A: 1\njobs:\n  a:\n    env: *env\n    name: &n x\n  b:\n    name: *n\n";
        let node = load_with(text, FileId(0), github()).expect("anchors accepted");
        let jobs = node.get("jobs").expect("jobs");
        let env = jobs.get("a").and_then(|a| a.get("env")).expect("env copied");
        assert_eq!(env.get("A").and_then(Node::as_str), Some("1"));
        // The copy keeps the anchored node's span (a block mapping's starts at its anchor).
        assert_eq!(env.span.start, Position::new(1, 6));
        assert_eq!(jobs.get("b").and_then(|b| b.get("name")).and_then(Node::as_str), Some("x"));
        // Azure's rules are unchanged.
        assert!(load(text, FileId(0)).is_err());
    }

    #[test]
    fn merge_keys_stay_ordinary_keys() {
        let node = load_with("base: &b\n  x: 1\njob:\n  <<: *b\n", FileId(0), github()).expect("valid");
        let job = node.get("job").expect("job");
        assert!(job.get("<<").and_then(Node::as_mapping).is_some());
        assert!(job.get("x").is_none());
    }

    #[test]
    fn duplicate_keys_are_kept_when_the_dialect_judges_them() {
        let node = load_with("a: 1\na: 2\n", FileId(0), github()).expect("kept");
        assert_eq!(node.as_mapping().map(<[_]>::len), Some(2));
        let anchors_only = Options { anchors: true, ..Options::default() };
        assert!(load_with("a: 1\na: 2\n", FileId(0), anchors_only).is_err());
    }

    #[test]
    fn alias_bombs_are_refused() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for level in 1..10 {
            let previous = level - 1;
            text.push_str(&format!("a{level}: &a{level} [*a{previous}, *a{previous}, *a{previous}, *a{previous}, *a{previous}, *a{previous}, *a{previous}, *a{previous}, *a{previous}, *a{previous}]\n"));
        }
        let mut sources = SourceMap::new();
        let file = sources.add("bomb.yml", text.as_str());
        let errors = load_with(&text, file, github()).expect_err("refused");
        assert_eq!(errors.len(), 1);
        assert!(render_all(&errors, &sources).contains("Y0006"), "{}", render_all(&errors, &sources));
    }

    #[test]
    fn aliases_nested_past_the_limit_are_refused() {
        let mut text = String::new();
        let depth = MAX_NESTING / 2 + 1;
        let open = "[".repeat(depth);
        let close = "]".repeat(depth);
        text.push_str(&format!("a: &a {open}1{close}\n"));
        text.push_str(&format!("b: {open}*a{close}\n"));
        let errors = load_with(&text, FileId(0), github()).expect_err("too deep");
        assert_eq!(errors[0].code, "Y0005");
    }
}
