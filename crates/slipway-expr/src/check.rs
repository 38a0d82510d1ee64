//! Static checks of names and calls against what a place in a pipeline allows.

use crate::Expression;
use crate::functions::{self, check_arity};
use crate::syntax::{Accessor, Expr, ParseError, Span};
use crate::value::eq_ignore_case;

/// What a place in a pipeline allows, beyond the built-in functions (which are always allowed).
#[derive(Clone, Copy, Debug, Default)]
pub struct Allowed<'a> {
    /// Named values (`variables`, `parameters`, `dependencies`, loop variables, ...), matched
    /// case-insensitively.
    pub named_values: &'a [&'a str],
    /// Host functions: name (matched case-insensitively), minimum and maximum argument count
    /// (`usize::MAX` for no limit).
    pub host_functions: &'a [(&'a str, usize, usize)],
}

/// Checks names and calls against what a place allows: unknown functions, wrong argument counts,
/// unknown named values. Returns every problem found, in source order, each with offset/length
/// into the source.
pub fn check(expression: &Expression, allowed: &Allowed<'_>) -> Vec<ParseError> {
    let mut problems = Vec::new();
    walk(&expression.root, allowed, &mut problems);
    problems.sort_by_key(|p| p.offset);
    problems
}

fn problem(message: String, span: Span) -> ParseError {
    ParseError::new(message, span.offset, span.length)
}

fn walk(expr: &Expr, allowed: &Allowed<'_>, problems: &mut Vec<ParseError>) {
    match expr {
        Expr::Literal(_) => {}
        Expr::NamedValue { name, span } => {
            if !allowed.named_values.iter().any(|n| eq_ignore_case(n, name)) {
                problems.push(problem(format!("Unrecognized value: '{name}'"), *span));
            }
        }
        Expr::Call { name, args, span } => {
            let range = functions::builtin(name).map(|b| (b.min, b.max)).or_else(|| {
                allowed.host_functions.iter().find(|(n, ..)| eq_ignore_case(n, name)).map(|&(_, min, max)| (min, max))
            });
            match range {
                Some((min, max)) => {
                    if let Err(message) = check_arity(name, min, max, args.len()) {
                        problems.push(problem(message, *span));
                    }
                }
                None => problems.push(problem(format!("Unrecognized function: '{name}'"), *span)),
            }
            for arg in args {
                walk(arg, allowed, problems);
            }
        }
        Expr::Access { target, path } => {
            walk(target, allowed, problems);
            for accessor in path {
                if let Accessor::Index(index) = accessor {
                    walk(index, allowed, problems);
                }
            }
        }
    }
}
