//! Run-time expressions: `condition:` values and `$[ ]` variable values.
//!
//! Parsing and checking are delegated to `slipway-expr`; this module says which named values and
//! host functions each kind of expression may use, turns the expression crate's errors into
//! diagnostics pointing inside the YAML scalar, and checks that a `$[ ]` expression takes the
//! whole value of a variable.

use slipway_diagnostics::{Diagnostic, Span};
use slipway_expr::Expression;
use slipway_yaml::{Node, Style};

use super::values::scalar_text;

/// Named values a run-time expression may start from.
const NAMED_VALUES: &[&str] = &["variables", "dependencies", "stageDependencies", "pipeline", "resources"];

/// The job-status functions conditions may call, with any number of arguments (stage or job names).
/// `substring(text, start[, length])` is not documented, but Azure evaluates it in run-time
/// expressions (ChristopherHX/runner.server#656; used by PokemonAutomation/Arduino-Source), so it
/// is accepted too.
const STATUS_FUNCTIONS: &[(&str, usize, usize)] = &[
    ("always", 0, usize::MAX),
    ("canceled", 0, usize::MAX),
    ("failed", 0, usize::MAX),
    ("succeeded", 0, usize::MAX),
    ("succeededOrFailed", 0, usize::MAX),
    ("substring", 2, 3),
];

/// What a `$[ ]` variable expression may call: the same, and `counter(prefix, seed)`.
const VARIABLE_FUNCTIONS: &[(&str, usize, usize)] = &[
    ("always", 0, usize::MAX),
    ("canceled", 0, usize::MAX),
    ("failed", 0, usize::MAX),
    ("succeeded", 0, usize::MAX),
    ("succeededOrFailed", 0, usize::MAX),
    ("substring", 2, 3),
    ("counter", 2, 2),
];

/// Where a run-time expression is written, which fixes what it may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ExpressionKind {
    /// A `condition:` of a stage, job or step.
    Condition,
    /// The inside of a `$[ ]` variable value.
    Variable,
}

/// One problem the expression crate found, with its place in the expression text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ExpressionProblem {
    /// What is wrong.
    pub message: String,
    /// Characters from the start of the expression text.
    pub offset: usize,
    /// How many characters are concerned.
    pub length: usize,
    /// A close known name, when the problem is an unknown name.
    pub suggestion: Option<String>,
}

/// Parses an expression (syntax only).
pub(crate) fn parse(text: &str) -> Result<Expression, ExpressionProblem> {
    slipway_expr::parse(text).map_err(|error| ExpressionProblem {
        message: error.reason().to_owned(),
        suggestion: None,
        offset: error.offset,
        length: error.length,
    })
}

/// Flags unknown functions, wrong argument counts and unknown named values.
pub(crate) fn check(expression: &Expression, kind: ExpressionKind) -> Vec<ExpressionProblem> {
    let host_functions = match kind {
        ExpressionKind::Condition => STATUS_FUNCTIONS,
        ExpressionKind::Variable => VARIABLE_FUNCTIONS,
    };
    let allowed = slipway_expr::Allowed { named_values: NAMED_VALUES, host_functions };
    slipway_expr::check(expression, &allowed)
        .into_iter()
        .map(|error| ExpressionProblem {
            suggestion: error.unrecognized_name().and_then(|name| {
                let functions =
                    slipway_expr::builtin_functions().chain(host_functions.iter().map(|(function, _, _)| *function));
                slipway_diagnostics::did_you_mean(name, functions.chain(NAMED_VALUES.iter().copied()))
                    .map(str::to_owned)
            }),
            message: error.reason().to_owned(),
            offset: error.offset,
            length: error.length,
        })
        .collect()
}

/// The span of `length` characters at `offset` inside the text of the scalar `node`, when that can
/// be known (a single-line plain or quoted scalar whose text starts `lead` characters in).
pub(crate) fn inner_span(node: &Node, lead: usize, offset: usize, length: usize) -> Span {
    let quote = match node.as_scalar().map(|scalar| scalar.style) {
        Some(Style::SingleQuoted | Style::DoubleQuoted) => 1,
        Some(Style::Literal | Style::Folded) => return node.span,
        _ => 0,
    };
    node.span.narrow(quote + lead + offset, length)
}

/// Checks a `condition:` value. `what` names its owner, such as "job `build`".
pub(crate) fn check_condition(node: &Node, what: &str, diagnostics: &mut Vec<Diagnostic>) {
    let Some(text) = scalar_text(node) else {
        return;
    };
    if text.trim().is_empty() {
        return;
    }
    check_text(node, text, 0, ExpressionKind::Condition, &format!("the condition of {what}"), diagnostics);
}

/// Parses and checks `text`, which starts `lead` characters into the scalar `node`.
fn check_text(
    node: &Node,
    text: &str,
    lead: usize,
    kind: ExpressionKind,
    what: &str,
    diagnostics: &mut Vec<Diagnostic>,
) {
    match parse(text) {
        Err(problem) => diagnostics.push(
            Diagnostic::error(
                "V0007",
                format!("{what} is not a valid expression: {}", problem.message),
                Some(inner_span(node, lead, problem.offset, problem.length)),
            )
            .with_hint(syntax_hint(kind)),
        ),
        Ok(expression) => {
            for problem in check(&expression, kind) {
                let hint = match &problem.suggestion {
                    Some(suggestion) => format!("did you mean `{suggestion}`?"),
                    None => names_hint(kind).to_owned(),
                };
                diagnostics.push(
                    Diagnostic::error(
                        "V0008",
                        format!("{what} cannot be evaluated: {}", problem.message),
                        Some(inner_span(node, lead, problem.offset, problem.length)),
                    )
                    .with_hint(hint),
                );
            }
        }
    }
}

fn syntax_hint(kind: ExpressionKind) -> &'static str {
    match kind {
        ExpressionKind::Condition => {
            "conditions are expressions such as `and(succeeded(), eq(variables['Build.Reason'], 'Manual'))`"
        }
        ExpressionKind::Variable => {
            "a run-time variable value looks like `$[ eq(variables['Build.Reason'], 'Manual') ]`"
        }
    }
}

fn names_hint(kind: ExpressionKind) -> &'static str {
    match kind {
        ExpressionKind::Condition => {
            "conditions may use `variables`, `dependencies`, `stageDependencies`, `pipeline` and `resources`, the built-in functions and `succeeded`, `failed`, `succeededOrFailed`, `always`, `canceled`"
        }
        ExpressionKind::Variable => {
            "run-time expressions may use `variables`, `dependencies`, `stageDependencies`, `pipeline` and `resources`, the built-in functions, the status functions and `counter(prefix, seed)`"
        }
    }
}

/// Checks a variable value for `$[ ]` expressions: one that takes the whole value is parsed and
/// checked; one inside other text is not evaluated by Azure, which is reported as a warning.
pub(crate) fn check_variable_value(node: &Node, name: &str, diagnostics: &mut Vec<Diagnostic>) {
    let Some(text) = scalar_text(node) else {
        return;
    };
    let Some(start) = text.find("$[") else {
        return;
    };
    let trimmed = text.trim();
    if trimmed.starts_with("$[") && trimmed.ends_with(']') && trimmed.len() >= 3 {
        let leading = text.len() - text.trim_start().len();
        let inner = &trimmed[2..trimmed.len() - 1];
        let lead = text[..leading].chars().count() + 2;
        check_text(
            node,
            inner,
            lead,
            ExpressionKind::Variable,
            &format!("the run-time expression of variable `{name}`"),
            diagnostics,
        );
        return;
    }
    let offset = text[..start].chars().count();
    diagnostics.push(
        Diagnostic::warning(
            "V0006",
            format!("the run-time expression in variable `{name}` does not take the whole value, so Azure keeps it as literal text"),
            Some(inner_span(node, 0, offset, 2)),
        )
        .with_hint("a `$[ ]` expression must be the entire value, such as `$[ variables['other'] ]`; use `$(other)` to insert a variable into text"),
    );
}
