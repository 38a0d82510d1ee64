//! Validation of an expanded pipeline against Azure's schema and rules.
//!
//! [`validate`] takes the document left after template expansion (no `${{ }}`, no `template:`
//! references, no `extends`, parameters consumed) and reports every problem at once. Run-time
//! `$[ ]` expressions and `$(macro)` text are legal wherever Azure allows them, and a value holding
//! one is never checked as a literal. The rules follow Microsoft's published schema
//! (`service-schema.json`) and the YAML schema reference; where the two disagree, or Azure is known
//! to accept more, the more permissive reading wins: a false error on a working pipeline is worse
//! than a missed one.
//!
//! | Code    | Meaning |
//! |---------|---------|
//! | `V0001` | Unknown key (with a "did you mean" hint when a known key is close). |
//! | `V0002` | A value of the wrong kind, such as a sequence where a mapping or a string is expected. |
//! | `V0003` | A required key is missing (a schedule without `cron`, a step without an action, an empty pipeline). |
//! | `V0004` | A value outside the allowed set (`workspace.clean: yes`, a bad boolean, an unknown `lockBehavior`); a warning for a checkout's `clean`/`workspaceRepo`, which Azure reads as `false`. |
//! | `V0005` | An invalid stage or job name (letters, digits, `_`, not starting with a digit) or step name (letters, digits, `_`, `-`). |
//! | `V0006` | Warning: a `$[ ]` expression does not take the whole value of a variable, so Azure keeps it as text. |
//! | `V0007` | A condition or `$[ ]` expression that does not parse. |
//! | `V0008` | A condition or `$[ ]` expression naming an unknown function or value, or calling one with the wrong number of arguments. |
//! | `V0009` | Keys that cannot be used together (`stages` and `jobs` at the root, two actions in one step, `matrix` and `parallel`). |
//! | `V0010` | A count or duration that is not a whole number (`timeoutInMinutes: soon`). |
//! | `G0001` | Two stages with the same name. |
//! | `G0002` | Two jobs with the same name in one stage. |
//! | `G0003` | `dependsOn` names a stage or job that does not exist. |
//! | `G0004` | Stages or jobs that depend on each other in a cycle. |
//! | `G0005` | Two steps with the same name in one job. |

pub(crate) mod expressions;
mod graph;
mod pipeline;
pub(crate) mod steps;
#[cfg(test)]
mod tests;
mod triggers;
pub(crate) mod values;

use slipway_diagnostics::{Diagnostic, Span, did_you_mean};
use slipway_yaml::{Node, Scalar, Value};

use values::{azure_boolean, is_deferred, scalar_text, whole_number};

/// Checks an expanded pipeline document and returns every problem found.
#[must_use]
pub fn validate(root: &Node) -> Vec<Diagnostic> {
    let mut validator = Validator::default();
    pipeline::check_pipeline(&mut validator, root);
    graph::check_graph(&mut validator, root);
    validator.diagnostics
}

/// Which kinds of node a key accepts. Null is always accepted: an empty value means "not set".
#[derive(Clone, Copy, Debug)]
pub(crate) struct Accepts {
    scalar: bool,
    sequence: bool,
    mapping: bool,
}

impl Accepts {
    pub(crate) const SCALAR: Self = Self { scalar: true, sequence: false, mapping: false };
    pub(crate) const SEQUENCE: Self = Self { scalar: false, sequence: true, mapping: false };
    pub(crate) const MAPPING: Self = Self { scalar: false, sequence: false, mapping: true };
    pub(crate) const MAPPING_OR_SCALAR: Self = Self { scalar: true, sequence: false, mapping: true };
    pub(crate) const SEQUENCE_OR_SCALAR: Self = Self { scalar: true, sequence: true, mapping: false };
    pub(crate) const SEQUENCE_OR_MAPPING: Self = Self { scalar: false, sequence: true, mapping: true };
    pub(crate) const ANY: Self = Self { scalar: true, sequence: true, mapping: true };

    fn describe(self) -> &'static str {
        match (self.mapping, self.sequence, self.scalar) {
            (true, false, false) => "a mapping",
            (false, true, false) => "a sequence",
            (false, false, true) => "a string",
            (true, false, true) => "a mapping or a string",
            (false, true, true) => "a sequence or a string",
            (true, true, false) => "a mapping or a sequence",
            _ => "a value",
        }
    }
}

/// A node seen through what a key accepts.
pub(crate) enum Shape<'a> {
    /// Not set.
    Null,
    /// A scalar.
    Scalar(&'a Scalar),
    /// A sequence.
    Sequence(&'a [Node]),
    /// A mapping.
    Mapping(&'a [(Node, Node)]),
}

/// Collects diagnostics while walking the document.
#[derive(Default)]
pub(crate) struct Validator {
    pub(crate) diagnostics: Vec<Diagnostic>,
}

impl Validator {
    /// Records a diagnostic.
    pub(crate) fn push(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    /// Records an error.
    pub(crate) fn error(&mut self, code: &'static str, message: String, span: Span) {
        self.diagnostics.push(Diagnostic::error(code, message, Some(span)));
    }

    /// Looks at `node` as `what` (such as "`pool` in job `build`"), reporting `V0002` when it is of a
    /// kind the key does not accept.
    pub(crate) fn shape<'a>(&mut self, node: &'a Node, accepts: Accepts, what: &str) -> Option<Shape<'a>> {
        let shape = match &node.value {
            _ if node.is_null() => return Some(Shape::Null),
            Value::Scalar(scalar) if accepts.scalar => Shape::Scalar(scalar),
            Value::Sequence(items) if accepts.sequence => Shape::Sequence(items),
            Value::Mapping(entries) if accepts.mapping => Shape::Mapping(entries),
            _ => {
                self.error(
                    "V0002",
                    format!("{what} expects {}, found {}", accepts.describe(), node.kind_name()),
                    node.span,
                );
                return None;
            }
        };
        Some(shape)
    }

    /// The entries of `node` when it is a mapping; `V0002` when it is a scalar or a sequence.
    pub(crate) fn mapping<'a>(&mut self, node: &'a Node, what: &str) -> Option<&'a [(Node, Node)]> {
        match self.shape(node, Accepts::MAPPING, what)? {
            Shape::Mapping(entries) => Some(entries),
            _ => None,
        }
    }

    /// The items of `node` when it is a sequence; `V0002` otherwise.
    pub(crate) fn sequence<'a>(&mut self, node: &'a Node, what: &str) -> Option<&'a [Node]> {
        match self.shape(node, Accepts::SEQUENCE, what)? {
            Shape::Sequence(items) => Some(items),
            _ => None,
        }
    }

    /// Checks that `node` is a scalar (or null).
    pub(crate) fn scalar(&mut self, node: &Node, what: &str) {
        let _ = self.shape(node, Accepts::SCALAR, what);
    }

    /// Checks that `node` is a sequence of scalars, or a single scalar when `single` is allowed.
    pub(crate) fn strings(&mut self, node: &Node, what: &str, single: bool) {
        let accepts = if single { Accepts::SEQUENCE_OR_SCALAR } else { Accepts::SEQUENCE };
        if let Some(Shape::Sequence(items)) = self.shape(node, accepts, what) {
            for item in items {
                self.scalar(item, &format!("an item of {what}"));
            }
        }
    }

    /// Checks that every value of a mapping is a scalar (environment variables, matrix values).
    pub(crate) fn string_map(&mut self, node: &Node, what: &str) {
        if let Some(entries) = self.mapping(node, what) {
            for (key, value) in entries {
                let name = scalar_text(key).unwrap_or_default();
                self.scalar(value, &format!("`{name}` in {what}"));
            }
        }
    }

    /// Reports `V0001` for every key of `entries` not in `allowed`.
    pub(crate) fn keys(&mut self, entries: &[(Node, Node)], allowed: &[&str], what: &str) {
        for (key, _) in entries {
            let Some(name) = scalar_text(key) else {
                self.error("V0002", format!("a key in {what} expects a string, found {}", key.kind_name()), key.span);
                continue;
            };
            if allowed.contains(&name) {
                continue;
            }
            self.unknown_key(key, name, allowed, what);
        }
    }

    /// Reports `V0001` for one key, with a hint.
    pub(crate) fn unknown_key(&mut self, key: &Node, name: &str, allowed: &[&str], what: &str) {
        let mut diagnostic = Diagnostic::error("V0001", format!("unknown key `{name}` in {what}"), Some(key.span));
        if let Some(suggestion) = did_you_mean(name, allowed.iter().copied()) {
            diagnostic = diagnostic.with_hint(format!("did you mean `{suggestion}`?"));
        } else if allowed.len() <= 12 {
            let list = allowed.iter().map(|key| format!("`{key}`")).collect::<Vec<_>>().join(", ");
            diagnostic = diagnostic.with_hint(format!("expected one of {list}"));
        }
        self.push(diagnostic);
    }

    /// Checks an Azure boolean (`true`, `false`, `yes`, `no`, `on`, `off`, `y`, `n`, any case).
    pub(crate) fn boolean(&mut self, node: &Node, what: &str) {
        let Some(Shape::Scalar(scalar)) = self.shape(node, Accepts::SCALAR, what) else {
            return;
        };
        if azure_boolean(&scalar.text).is_none() && !is_deferred(&scalar.text) {
            self.push(
                Diagnostic::error(
                    "V0004",
                    format!("{what} must be a boolean, found `{}`", scalar.text),
                    Some(node.span),
                )
                .with_hint("write `true` or `false`"),
            );
        }
    }

    /// Checks a non-negative whole number (or a value only known at run time).
    pub(crate) fn number(&mut self, node: &Node, what: &str) {
        let Some(Shape::Scalar(scalar)) = self.shape(node, Accepts::SCALAR, what) else {
            return;
        };
        if whole_number(&scalar.text).is_none() && !is_deferred(&scalar.text) {
            self.push(
                Diagnostic::error(
                    "V0010",
                    format!("{what} must be a whole number, found `{}`", scalar.text),
                    Some(node.span),
                )
                .with_hint("write a number such as `60`"),
            );
        }
    }

    /// Checks a value against a fixed set of words, compared without regard to case.
    pub(crate) fn one_of(&mut self, node: &Node, allowed: &[&str], what: &str) {
        let Some(Shape::Scalar(scalar)) = self.shape(node, Accepts::SCALAR, what) else {
            return;
        };
        let text = scalar.text.trim();
        if is_deferred(text) || allowed.iter().any(|word| word.eq_ignore_ascii_case(text)) {
            return;
        }
        let list = allowed.iter().map(|word| format!("`{word}`")).collect::<Vec<_>>().join(", ");
        let mut diagnostic =
            Diagnostic::error("V0004", format!("{what} must be one of {list}, found `{text}`"), Some(node.span));
        if let Some(suggestion) = did_you_mean(text, allowed.iter().copied()) {
            diagnostic = diagnostic.with_hint(format!("did you mean `{suggestion}`?"));
        }
        self.push(diagnostic);
    }
}

/// The text of a mapping key for messages.
pub(crate) fn key_name(key: &Node) -> &str {
    scalar_text(key).unwrap_or("?")
}
